//! The verdicts: merged, merged with other content, reverted, or pending.
//!
//! A Change-Id match says upstream has *a* version of the change; whether it
//! is this version (same content, or same patch-id), and whether a later
//! revert (not itself reverted) undid it, decides what the admin should do
//! with the local copy. `git rebase`'s own cherry-pick detection, by
//! patch-id alone, is answered here too, for the rebase prediction.

use git2::Oid;

use super::index::{UpCommit, UpstreamIndex};
use super::tree_diff::{changed_paths, changes_exactly};
use super::{LocalChange, MatchedBy, UpstreamMatch, UpstreamState};
use crate::error::Result;
use crate::git::objects::lookup_path;
use crate::git::repo::Repo;
use betadrift_engine::patchid::{patch_id, patch_shape};

impl UpstreamIndex {
    /// Decides the upstream state of every local patch: by Change-Id, else
    /// by patch-id.
    pub fn classify(&self, repo: &Repo, patches: &[LocalChange]) -> Result<Vec<UpstreamMatch>> {
        let mut out = vec![UpstreamMatch::default(); patches.len()];
        let mut need_patch_id = Vec::new();
        for (i, p) in patches.iter().enumerate() {
            if p.is_merge {
                continue;
            }
            let hits = p.change_id.as_ref().and_then(|id| self.by_change_id.get(id));
            match hits.and_then(|h| h.last()) {
                Some(&u) => out[i] = self.verdict(repo, p, u, MatchedBy::ChangeId)?,
                None => need_patch_id.push(i),
            }
        }
        let t = crate::support::timing::phase("classify: patch-id scan");
        let found = self.match_patch_ids(repo, patches, &need_patch_id)?;
        drop(t);
        let _t = crate::support::timing::phase("classify: verdicts");
        for (i, u) in found {
            out[i] = self.verdict(repo, &patches[i], u, MatchedBy::PatchId)?;
        }
        Ok(out)
    }

    fn verdict(&self, repo: &Repo, p: &LocalChange, u: usize, by: MatchedBy) -> Result<UpstreamMatch> {
        let up = &self.commits[u];
        let reverted_by = self.effective_revert(u);
        let state = if reverted_by.is_some() {
            UpstreamState::Reverted
        } else if by == MatchedBy::PatchId || same_content(repo, p, up)? || same_patch(repo, p, up)? {
            UpstreamState::Merged
        } else {
            UpstreamState::MergedDiffers
        };
        Ok(UpstreamMatch {
            state,
            commit: Some(up.oid),
            reverted_by: reverted_by.map(|r| self.commits[r].oid),
            matched_by: Some(by),
            before_base: up.before_base,
        })
    }

    /// The revert that undid commit `u`, unless that revert was itself reverted.
    fn effective_revert(&self, u: usize) -> Option<usize> {
        let reverts = self.reverted_by.get(&self.commits[u].oid)?;
        let last = *reverts.iter().filter(|&&r| r > u).max()?;
        match self.effective_revert(last) {
            Some(_) => None, // the revert was reverted: the change is back
            None => Some(last),
        }
    }

    /// `git rebase`'s cherry-pick detection: for each local commit, the
    /// upstream commit after the merge base with the same patch-id, if any.
    /// A commit that starts empty is never skipped: `rev-list --cherry-pick`
    /// marks it when upstream has an empty commit too (both have git's null
    /// patch-id), but the sequencer keeps commits that start empty
    /// (`sequencer_make_script` tests `is_original_commit_empty` first).
    pub fn cherry_picked(&self, repo: &Repo, patches: &[LocalChange]) -> Result<Vec<Option<Oid>>> {
        let mut out = vec![None; patches.len()];
        let empty_tree = betadrift_engine::objects::empty_tree();
        let candidates: Vec<usize> = (0..patches.len())
            .filter(|&i| !patches[i].is_merge && patches[i].parent_tree.unwrap_or(empty_tree) != patches[i].tree)
            .collect();
        for (i, u) in self.match_patch_ids(repo, patches, &candidates)? {
            out[i] = Some(self.commits[u].oid);
        }
        Ok(out)
    }

    /// What [`Self::cherry_picked`] answers for `git rebase <tip>`, `tip`
    /// being one of the index's commits after the merge base: only the
    /// upstream commits `tip` reaches count. `full` is the answer for the
    /// whole index, from which most patches are settled at once: no match
    /// anywhere, or the oldest match reached. Only a patch whose oldest match
    /// lies on a side branch `tip` does not reach is looked for again.
    pub fn cherry_picked_upto(
        &self,
        repo: &Repo,
        patches: &[LocalChange],
        full: &[Option<Oid>],
        tip: Oid,
    ) -> Result<Vec<Option<Oid>>> {
        let reached = self.reachable_from(tip);
        let at = self.positions();
        let newest = reached.iter().rposition(|&r| r).unwrap_or(0);
        let pickable = |u: usize| reached[u] && !self.commits[u].is_merge;
        let mut out = vec![None; patches.len()];
        let mut unsure = Vec::new();
        // Commits that start empty are never skipped ([`Self::cherry_picked`]),
        // so `full` has no match for them either.
        for i in (0..patches.len()).filter(|&i| !patches[i].is_merge) {
            let Some(u) = full.get(i).copied().flatten().and_then(|m| at.get(&m).copied()) else { continue };
            if reached[u] {
                out[i] = Some(self.commits[u].oid);
            } else if u < newest {
                unsure.push(i);
            }
        }
        if !unsure.is_empty() {
            let range: Vec<usize> = (0..self.commits.len()).filter(|&u| pickable(u)).collect();
            for (i, u) in self.match_patch_ids_in(repo, patches, &unsure, &range)? {
                out[i] = Some(self.commits[u].oid);
            }
        }
        Ok(out)
    }
}

/// Whether the two commits make the same change (equal patch-ids).
fn same_patch(repo: &Repo, p: &LocalChange, up: &UpCommit) -> Result<bool> {
    if patch_shape(repo, p.parent_tree, p.tree)? != patch_shape(repo, up.parent_tree, up.tree)? {
        return Ok(false);
    }
    Ok(patch_id(repo, p.parent_tree, p.tree)? == patch_id(repo, up.parent_tree, up.tree)?)
}

/// Whether the upstream commit leaves every path the local patch touches
/// exactly as the local patch leaves it.
fn same_content(repo: &Repo, p: &LocalChange, up: &UpCommit) -> Result<bool> {
    let local = changed_paths(repo, p.parent_tree, p.tree)?;
    if !changes_exactly(repo, up.parent_tree, up.tree, &local)? {
        return Ok(false);
    }
    for path in &local {
        let a = lookup_path(repo, p.tree, path)?;
        let b = lookup_path(repo, up.tree, path)?;
        if a.map(|e| (e.mode, e.oid)) != b.map(|e| (e.mode, e.oid)) {
            return Ok(false);
        }
    }
    Ok(true)
}
