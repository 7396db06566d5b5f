//! The document of `betadrift status --json` (see docs/json.md).

use serde::{Deserialize, Serialize};

pub use super::common::Person;
use crate::config::Links as LinkConfig;
use crate::consent::Verdict;
use crate::model::live::ChangeState;
use crate::model::stack::{Patch as StackPatch, SeenSource};
use crate::model::tasks::{TaskLive, TaskState};
use crate::overview::status::Status as Gathered;
use crate::support::clock::rfc3339;
use crate::support::escape::lossy;

/// Version of the JSON document; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    pub schema_version: u32,
    pub generated_at: String,
    pub repo: String,
    pub path: String,
    pub branch: String,
    pub head: String,
    pub upstream: UpstreamRef,
    pub merge_base: String,
    pub merge_base_time: String,
    pub behind: usize,
    pub last_fetch: Option<String>,
    pub operation_in_progress: Option<String>,
    /// A betadrift rewrite whose journal is still there.
    #[serde(default)]
    pub unfinished: Option<Unfinished>,
    /// A `betadrift resolve` in progress.
    #[serde(default)]
    pub resolution: Option<Resolution>,
    /// When the rebase onto upstream would stop: how far the stack can go
    /// (the object of `check --json`).
    #[serde(default)]
    pub held_back: Option<super::held_back::HeldBack>,
    pub dirty: Dirty,
    pub patches: Vec<Patch>,
    /// With `--online`: where the live state came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gerrit: Option<GerritSource>,
    /// With `--online` and `[phabricator] url`: where the task state came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phabricator: Option<GerritSource>,
}

/// Where a live state (Gerrit's, or Phabricator's) came from.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GerritSource {
    pub url: String,
    /// Why the service could not be asked (the cached state is shown), if it could not.
    pub warning: Option<String>,
}

/// What Gerrit says of a patch's change (`--online`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GerritChange {
    pub number: u64,
    pub url: String,
    /// `NEW`, `MERGED`, `ABANDONED` (or whatever Gerrit says).
    pub status: String,
    pub owner: String,
    pub current_patchset: Option<u32>,
    pub current_revision: Option<String>,
    pub submittable: Option<bool>,
    /// `current` (same patch-id as the current patchset), `differs` or `unknown`.
    pub local_copy: String,
    /// When Gerrit said this (the cache's time when it could not be asked).
    pub fetched_at: String,
}

impl GerritChange {
    fn of(c: &ChangeState) -> GerritChange {
        GerritChange {
            number: c.number,
            url: c.url.clone(),
            status: c.status.as_str().to_owned(),
            owner: c.owner.clone(),
            current_patchset: c.current_patchset,
            current_revision: c.current_revision.clone(),
            submittable: c.submittable,
            local_copy: c.local.as_str().to_owned(),
            fetched_at: rfc3339(c.fetched_at),
        }
    }
}

/// What Phabricator says of one task a patch links (`--online`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhabricatorTask {
    /// `T123456`.
    pub task: String,
    pub url: String,
    /// Conduit's status key: `open`, `resolved`, `declined`, `invalid`, `stalled`, …
    pub status: String,
    /// Resolved, declined or invalid.
    pub closed: bool,
    pub title: String,
    /// The assignee's name (`Real Name (username)`), else its user PHID
    /// when Phabricator could not name it; `null` when nobody is assigned.
    pub assignee: Option<String>,
    /// The assignee's user PHID; `null` when nobody is assigned.
    pub assignee_phid: Option<String>,
    /// When Phabricator said this (the cache's time when it could not be asked).
    pub fetched_at: String,
}

impl PhabricatorTask {
    fn of(t: &TaskState) -> PhabricatorTask {
        PhabricatorTask {
            task: t.task.to_string(),
            url: t.url.clone(),
            status: t.status.clone(),
            closed: t.is_closed(),
            title: t.title.clone(),
            assignee: t.assignee.clone(),
            assignee_phid: t.assignee_phid.clone(),
            fetched_at: rfc3339(t.fetched_at),
        }
    }

    /// The known tasks of `p`, in its order.
    fn of_patch(live: &TaskLive, p: &StackPatch) -> Vec<PhabricatorTask> {
        live.of(&p.message.tasks).filter_map(|(_, s)| s.map(PhabricatorTask::of)).collect()
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamRef {
    #[serde(rename = "ref")]
    pub name: String,
    pub commit: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dirty {
    pub modified: Vec<String>,
    pub staged: Vec<String>,
    pub untracked: Vec<String>,
    pub conflicted: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub commit: String,
    pub position: usize,
    pub subject: String,
    pub author: Person,
    pub author_time: String,
    pub first_seen: Option<String>,
    pub first_seen_source: Option<String>,
    pub tasks: Vec<String>,
    pub change_id: Option<String>,
    pub upstream_state: String,
    pub upstream_commit: Option<String>,
    pub reverted_by: Option<String>,
    pub matched_by: Option<String>,
    pub merge: bool,
    pub links: Links,
    pub consent: super::consent::Consent,
    /// With `--online`: the change's live state, if Gerrit (or the cache) knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gerrit: Option<GerritChange>,
    /// With `--online` and `[phabricator] url`: what Phabricator says of each
    /// linked task it (or the cache) knows, in the order of `tasks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phabricator: Option<Vec<PhabricatorTask>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Links {
    pub change: Option<String>,
    pub tasks: Vec<String>,
}

/// Builds the JSON document.
pub fn to_wire(status: &Gathered, links: &LinkConfig) -> Status {
    let s = &status.stack;
    let paths = |v: &Vec<Vec<u8>>| v.iter().map(|p| lossy(p)).collect();
    Status {
        schema_version: SCHEMA_VERSION,
        generated_at: rfc3339(status.now),
        repo: status.repo_name.clone(),
        path: status.repo_path.clone(),
        branch: s.head.name.clone(),
        head: s.head.oid.to_string(),
        upstream: UpstreamRef { name: s.upstream.name.clone(), commit: s.upstream.oid.to_string() },
        merge_base: s.merge_base.to_string(),
        merge_base_time: rfc3339(s.merge_base_time),
        behind: s.behind,
        last_fetch: status.last_fetch.map(rfc3339),
        operation_in_progress: status.operation.map(|o| o.to_string()),
        unfinished: status.unfinished.as_ref().map(Unfinished::of),
        resolution: status.resolution.as_ref().map(Resolution::of),
        held_back: status.held_back.as_ref().map(|h| super::held_back::held_back(h, s)),
        dirty: Dirty {
            modified: paths(&status.dirty.modified),
            staged: paths(&status.dirty.staged),
            untracked: paths(&status.dirty.untracked),
            conflicted: paths(&status.dirty.conflicted),
        },
        patches: s
            .patches
            .iter()
            .zip(&status.consent)
            .map(|(p, v)| {
                let live = status.live.as_ref().and_then(|l| l.patches.get(p.position - 1)).and_then(Option::as_ref);
                let tasks = status.tasks.as_ref().map(|t| PhabricatorTask::of_patch(t, p));
                Patch { gerrit: live.map(GerritChange::of), phabricator: tasks, ..wire_patch(p, v, links) }
            })
            .collect(),
        gerrit: status.live.as_ref().map(|l| GerritSource { url: l.url.clone(), warning: l.warning.clone() }),
        phabricator: status.tasks.as_ref().map(|t| GerritSource { url: t.url.clone(), warning: t.warning.clone() }),
    }
}

fn wire_patch(p: &StackPatch, verdict: &Verdict, links: &LinkConfig) -> Patch {
    let u = &p.upstream;
    Patch {
        commit: p.commit.oid.to_string(),
        position: p.position,
        subject: lossy(&p.message.subject),
        author: Person { name: lossy(&p.commit.author.name), email: lossy(&p.commit.author.email) },
        author_time: rfc3339(p.commit.author_time.timestamp()),
        first_seen: p.first_seen.as_ref().map(|s| rfc3339(s.time)),
        first_seen_source: p.first_seen.as_ref().map(|s| seen_source(&s.source)),
        tasks: p.message.tasks.iter().map(ToString::to_string).collect(),
        change_id: p.message.change_id.clone(),
        upstream_state: u.state.as_str().to_owned(),
        upstream_commit: u.commit.map(|c| c.to_string()),
        reverted_by: u.reverted_by.map(|c| c.to_string()),
        matched_by: u.matched_by.map(|m| match m {
            crate::model::upstream::MatchedBy::ChangeId => "change-id".to_owned(),
            crate::model::upstream::MatchedBy::PatchId => "patch-id".to_owned(),
        }),
        merge: p.is_merge(),
        links: Links {
            change: p.message.change_id.as_deref().map(|c| links.change(c)),
            tasks: p.message.tasks.iter().map(|&t| links.task(t)).collect(),
        },
        consent: verdict.into(),
        gerrit: None,
        phabricator: None,
    }
}

/// What dated a patch's arrival, as the JSON documents name it: `ledger`,
/// `tag:<name>` or `reflog`.
pub fn seen_source(source: &SeenSource) -> String {
    match source {
        SeenSource::Snapshot(tag) => format!("tag:{tag}"),
        SeenSource::Ledger => "ledger".into(),
        SeenSource::Reflog => "reflog".into(),
    }
}

/// A betadrift rewrite whose journal is still there.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unfinished {
    /// The rewrite: `sync`, `drop`, `prune`, `undo` or `resolve`.
    pub command: String,
    pub started: String,
    /// `rewriting` (mid-update), `post-update` (its command was running),
    /// `post-update-failed` or `post-update-interrupted`.
    pub phase: String,
    /// True if a betadrift holds the repository's lock now: under way, not
    /// interrupted.
    pub running: bool,
    /// What state the checkout is in and what to run, in one line.
    pub message: String,
}

impl Unfinished {
    pub fn of(u: &crate::rewrite::Unfinished) -> Unfinished {
        let phase = serde_json::to_value(u.journal.phase).ok().and_then(|v| v.as_str().map(str::to_owned));
        Unfinished {
            command: lossy(u.journal.command.as_bytes()),
            started: lossy(u.journal.started.as_bytes()),
            phase: phase.unwrap_or_default(),
            running: u.running.is_some(),
            message: lossy(u.message().as_bytes()),
        }
    }
}

/// A `betadrift resolve` in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// Who started it (`$SUDO_USER`, else `$USER`, else `$LOGNAME`).
    pub started_by: String,
    pub started: String,
    /// The live branch (full ref name) and its tip when the resolution started.
    pub branch: String,
    pub old_head: String,
    /// The upstream commit the stack is rebased onto, and its name.
    pub target: String,
    pub target_name: String,
    /// The scratch worktree where the admin resolves.
    pub worktree: String,
}

impl Resolution {
    pub fn of(r: &crate::rewrite::resolution::Resolution) -> Resolution {
        Resolution {
            started_by: lossy(r.actor.as_bytes()),
            started: lossy(r.started.as_bytes()),
            branch: lossy(r.branch.as_bytes()),
            old_head: r.old_head.to_string(),
            target: r.target.to_string(),
            target_name: lossy(r.target_name.as_bytes()),
            worktree: lossy(r.worktree.as_os_str().as_encoded_bytes()),
        }
    }
}
