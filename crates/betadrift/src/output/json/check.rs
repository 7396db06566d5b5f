//! The document of `betadrift check --json` (see docs/json.md).

use serde::{Deserialize, Serialize};

use super::common::{Culprit, Person};
use super::status::UpstreamRef;
use crate::rebase::check::{CheckReport, ConflictDetail};
use crate::rebase::predict::PickOutcome;
use crate::support::escape::lossy;

/// Version of the JSON document.
pub const SCHEMA_VERSION: u32 = 1;
/// Lines shown per side of a conflicting hunk.

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub schema_version: u32,
    pub repo: String,
    pub path: String,
    pub branch: String,
    pub head: String,
    pub upstream: UpstreamRef,
    pub merge_base: String,
    pub behind: usize,
    pub clean: bool,
    pub stops: usize,
    pub patches: Vec<Patch>,
    pub result_tree: String,
    /// When the rebase stops: how far the stack can go, and what holds the
    /// rest back.
    pub held_back: Option<super::held_back::HeldBack>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub commit: String,
    pub position: usize,
    pub subject: String,
    pub outcome: String,
    pub matched_upstream: Option<String>,
    pub alone: Option<String>,
    pub conflict_paths: Vec<String>,
    pub conflicts: Vec<Conflict>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conflict {
    pub path: String,
    pub paths: Vec<String>,
    /// kebab-case: `content`, `add-add`, `modify-delete`, ….
    pub kind: betadrift_engine::merge::ConflictKind,
    pub hunks: Vec<Hunk>,
    pub culprits: Vec<Culprit>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hunk {
    pub base_start: usize,
    pub base: Vec<String>,
    pub ours: Vec<String>,
    pub theirs: Vec<String>,
}

/// Builds the JSON document.
pub fn to_wire(report: &CheckReport) -> Check {
    let s = &report.stack;
    let p = &report.prediction;
    let patches = p
        .picks
        .iter()
        .zip(&s.patches)
        .zip(&report.details)
        .map(|((pick, patch), details)| Patch {
            commit: pick.commit.to_string(),
            position: pick.position,
            subject: lossy(&patch.message.subject),
            outcome: pick.outcome.as_str().to_owned(),
            matched_upstream: match &pick.outcome {
                PickOutcome::AlreadyUpstream { matched } => Some(matched.to_string()),
                _ => None,
            },
            alone: pick.alone.as_ref().map(|a| a.as_str().to_owned()),
            conflict_paths: match &pick.outcome {
                PickOutcome::Conflict(stop) => stop.unmerged.iter().map(|u| lossy(&u.path)).collect(),
                _ => Vec::new(),
            },
            conflicts: details.iter().map(conflict).collect(),
        })
        .collect();
    Check {
        schema_version: SCHEMA_VERSION,
        repo: report.repo_name.clone(),
        path: report.repo_path.clone(),
        branch: s.head.name.clone(),
        head: s.head.oid.to_string(),
        upstream: UpstreamRef { name: s.upstream.name.clone(), commit: s.upstream.oid.to_string() },
        merge_base: s.merge_base.to_string(),
        behind: s.behind,
        clean: p.is_clean(),
        stops: p.picks.iter().filter(|x| x.outcome.is_stop()).count(),
        patches,
        result_tree: p.result_tree.to_string(),
        held_back: None,
    }
}

/// One conflict of a stop: its paths, kind, hunks and culprits.
pub fn conflict(d: &ConflictDetail) -> Conflict {
    let lines = |v: &Vec<Vec<u8>>| v.iter().map(|l| lossy(l.strip_suffix(b"\n").unwrap_or(l))).collect();
    Conflict {
        path: d.conflict.paths.first().map(|p| lossy(p)).unwrap_or_default(),
        paths: d.conflict.paths.iter().map(|p| lossy(p)).collect(),
        kind: d.conflict.kind,
        hunks: d
            .hunks
            .iter()
            .map(|h| Hunk {
                base_start: h.base_start,
                base: lines(&h.base),
                ours: lines(&h.ours),
                theirs: lines(&h.theirs),
            })
            .collect(),
        culprits: d
            .culprits
            .iter()
            .map(|c| Culprit {
                commit: c.commit.to_string(),
                change_id: c.message.change_id.clone(),
                author: Person { name: lossy(&c.author.name), email: lossy(&c.author.email) },
                tasks: c.message.tasks.iter().map(ToString::to_string).collect(),
                subject: lossy(&c.message.subject),
            })
            .collect(),
    }
}
