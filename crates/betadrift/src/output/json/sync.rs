//! The plan `betadrift sync --dry-run --json` prints (see docs/json.md),
//! and the held-back object `check` and `report` share.

use serde::{Deserialize, Serialize};

use super::held_back::{HeldBack, held_back};
use super::status::UpstreamRef;
use crate::model::stack::Stack;
use crate::rebase::check::CheckReport;
use crate::rebase::forward::HeldBack as Found;
use crate::rewrite::{Change, Plan};

/// Version of the JSON document.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncPlan {
    pub schema_version: u32,
    pub repo: String,
    pub path: String,
    pub branch: String,
    pub head: String,
    /// The upstream asked for.
    pub upstream: UpstreamRef,
    pub merge_base: String,
    /// Upstream commits since the merge base.
    pub behind: usize,
    /// The upstream commit the stack will sit on: the target, or U' when
    /// the rebase onto the target would stop.
    pub onto: String,
    /// Upstream commits since the merge base that `onto` brings.
    pub taken: usize,
    /// What holds the rest back, when `onto` is not the target.
    pub held_back: Option<HeldBack>,
    /// The patches kept, oldest first, with their new trees.
    pub kept: Vec<Kept>,
    pub dropped: Vec<Dropped>,
    pub snapshot_tag: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kept {
    pub commit: String,
    pub tree: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dropped {
    pub position: usize,
    pub commit: String,
    pub subject: String,
    pub change_id: Option<String>,
    pub why: String,
}

/// The plan document for `report`'s repository: `target` is the stack as
/// asked (onto the target), `held` what holds it back when the plan goes
/// only as far as U', and `plan` the rewrite (none when nothing can move).
pub fn to_wire(plan: Option<&Plan>, report: &CheckReport, target: &Stack, held: Option<&Found>) -> SyncPlan {
    SyncPlan {
        schema_version: SCHEMA_VERSION,
        repo: report.repo_name.clone(),
        path: report.repo_path.clone(),
        branch: target.head.name.clone(),
        head: target.head.oid.to_string(),
        upstream: UpstreamRef { name: target.upstream.name.clone(), commit: target.upstream.oid.to_string() },
        merge_base: target.merge_base.to_string(),
        behind: target.behind,
        onto: held.map_or(target.upstream.oid, |h| h.onto).to_string(),
        taken: held.map_or(target.behind, |h| h.taken),
        held_back: held.map(|h| held_back(h, target)),
        kept: match plan.map(|p| &p.change) {
            Some(Change::Commits { commits, .. }) => {
                commits.iter().map(|c| Kept { commit: c.original.to_string(), tree: c.tree.to_string() }).collect()
            }
            _ => Vec::new(),
        },
        dropped: plan
            .map(|p| &p.removed[..])
            .unwrap_or_default()
            .iter()
            .map(|r| Dropped {
                position: r.position,
                commit: r.commit.clone(),
                subject: r.subject.clone(),
                change_id: r.change_id.clone(),
                why: r.why.clone(),
            })
            .collect(),
        snapshot_tag: plan.and_then(|p| p.snapshot_tag.clone()),
    }
}
