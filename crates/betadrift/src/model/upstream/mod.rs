//! What upstream already has of each local patch.
//!
//! A patch on the puppetmaster is usually a Gerrit change under test. Once the
//! change is merged upstream the local copy should go: if it is the same
//! content, the next rebase drops it by itself; if it is an older or newer
//! patchset, it lingers (or conflicts); if upstream reverted it, the local
//! copy is the only thing still applying it. This module finds those cases
//! by Change-Id and, like `git rebase`, by patch-id.
//!
//! Cost matters: upstream may be thousands of commits ahead. Change-Ids come
//! from commit messages (cheap); patch-ids are only computed for upstream
//! commits that touch exactly the paths of a local patch, found by comparing
//! tree ids along those paths only.
//!
//! Here are the verdicts and the local side ([`LocalChange`]); `index`
//! holds the upstream side, `classify` decides the verdicts, `scan` is
//! the patch-id scan, `trie` the projection of trees onto the paths the
//! scan follows, and `tree_diff` the exact comparison of changed files.

mod classify;
mod index;
mod scan;
mod tree_diff;
mod trie;

use git2::Oid;
use serde::Serialize;

pub use index::{PathChange, Side, UpstreamIndex, lookback};
pub use tree_diff::{changed_paths, changes_exactly};

/// How upstream relates to a local patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpstreamState {
    /// Upstream has none of it.
    Pending,
    /// Upstream has the same change (same Change-Id or patch-id, same content).
    Merged,
    /// Upstream merged the same Change-Id with other content (another patchset).
    MergedDiffers,
    /// Upstream merged it, then reverted it.
    Reverted,
}

impl UpstreamState {
    /// All states, in display order.
    pub const ALL: [UpstreamState; 4] =
        [UpstreamState::Pending, UpstreamState::Merged, UpstreamState::MergedDiffers, UpstreamState::Reverted];

    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamState::Pending => "pending",
            UpstreamState::Merged => "merged",
            UpstreamState::MergedDiffers => "merged-differs",
            UpstreamState::Reverted => "reverted",
        }
    }
}

/// How a match was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchedBy {
    ChangeId,
    PatchId,
}

/// The verdict for one patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamMatch {
    pub state: UpstreamState,
    /// The upstream commit that has the change.
    pub commit: Option<Oid>,
    /// The upstream commit that reverted it.
    pub reverted_by: Option<Oid>,
    pub matched_by: Option<MatchedBy>,
    /// Whether the matching upstream commit is already below the merge base
    /// (the local copy survived an earlier rebase).
    pub before_base: bool,
}

impl Default for UpstreamMatch {
    /// Upstream has none of it.
    fn default() -> Self {
        UpstreamMatch {
            state: UpstreamState::Pending,
            commit: None,
            reverted_by: None,
            matched_by: None,
            before_base: false,
        }
    }
}

/// A local commit as upstream matching and the rebase replay see it.
#[derive(Debug, Clone)]
pub struct LocalChange {
    pub oid: Oid,
    pub tree: Oid,
    pub parent_tree: Option<Oid>,
    pub change_id: Option<String>,
    pub is_merge: bool,
    /// The subject the sequencer labels the pick with
    /// ([`crate::git::commit::sequencer_subject`]).
    pub label_subject: Vec<u8>,
}

/// A small deterministic generator for the tests' random cases, so that a
/// failure names its case.
#[cfg(test)]
fn bits(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *seed >> 33
}
