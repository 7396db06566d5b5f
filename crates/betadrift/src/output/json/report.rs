//! The JSON report: for dashboards and scripts (schema in docs/report.md).
//!
//! A versioned wire format, separate from the in-memory types so that they
//! can change without breaking readers. Patches and conflicts use the same
//! shapes as `status --json` and `check --json`. Text is decoded lossily
//! (invalid UTF-8 becomes U+FFFD) and escaped by JSON itself; nothing is
//! truncated. Private repositories carry no hunks: `hunks` is always empty.

use std::io::{Result, Write};

use serde::{Deserialize, Serialize};

use crate::support::clock::{format_duration, rfc3339};
use crate::support::escape::lossy;

use super::{check, status};
use crate::overview::owners::{self, Need};
use crate::overview::report::{self as gathered, DropReason, Facts, RepoReport};

/// Version of the report document; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON document of `betadrift report --format json`.

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub schema_version: u32,
    pub generated_at: String,
    pub stale_after: String,
    pub stale_after_seconds: i64,
    pub repositories: Vec<Repository>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repository {
    pub name: String,
    pub path: String,
    pub private: bool,
    /// Whether it was read and recorded without error.
    pub success: bool,
    pub errors: Vec<String>,
    /// Absent when the repository could not be read.
    pub summary: Option<Summary>,
    pub patches: Vec<status::Patch>,
    pub stops: Vec<Stop>,
    pub stale: Vec<Stale>,
    pub actions: Vec<Action>,
    pub dirty: Option<status::Dirty>,
    /// What needs each patch author (after mailmap), by name then email.
    #[serde(default)]
    pub owners: Vec<Owner>,
    /// What needs the people of each task (`Bug: T123`), by task number.
    #[serde(default)]
    pub tasks: Vec<TaskOwners>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    pub name: String,
    pub email: String,
    pub items: Vec<OwnerItem>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskOwners {
    pub task: String,
    pub items: Vec<OwnerItem>,
}

/// One patch that needs its owner.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerItem {
    pub position: usize,
    pub commit: String,
    pub subject: String,
    /// Its author after mailmap.
    pub author: status::Person,
    pub tasks: Vec<String>,
    /// `holds-back`, `stops`, `merged-differs`, `reverted` or `stale-ask`.
    pub need: String,
    /// The upstream commit that holds the sync back (`holds-back`), or that
    /// has the patch (`merged-differs`, `reverted`).
    pub upstream_commit: Option<String>,
    pub reverted_by: Option<String>,
    /// The command the admin runs, lossily decoded; items one command
    /// settles share it.
    pub argv: Vec<String>,
    /// The command as one shell-quoted line.
    pub command: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub branch: String,
    pub head: String,
    pub upstream: status::UpstreamRef,
    pub merge_base: String,
    pub merge_base_time: String,
    pub behind: usize,
    pub last_fetch: Option<String>,
    pub operation_in_progress: Option<String>,
    /// A betadrift rewrite whose journal is still there (see the status document).
    #[serde(default)]
    pub unfinished: Option<status::Unfinished>,
    pub stops_predicted: usize,
    pub oldest_patch_age_seconds: Option<i64>,
    /// When the next rebase stops: how far the stack can go (as in `check --json`).
    #[serde(default)]
    pub held_back: Option<super::held_back::HeldBack>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stop {
    pub position: usize,
    pub commit: String,
    pub subject: String,
    pub conflict_paths: Vec<String>,
    pub conflicts: Vec<check::Conflict>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stale {
    pub position: usize,
    pub commit: String,
    pub since: String,
    /// `ledger`, `tag:<name>` or `author-date`.
    pub since_source: String,
    pub age_seconds: i64,
    /// What the consent policy allows for it.
    pub consent: super::consent::Consent,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub position: usize,
    pub commit: String,
    /// `merged`, `merged-differs`, `reverted` or `stale-allowed`.
    pub reason: String,
    /// The upstream commit that has it (none for `stale-allowed`).
    pub upstream_commit: Option<String>,
    pub reverted_by: Option<String>,
    /// The arguments, lossily decoded.
    pub argv: Vec<String>,
    /// The command as one shell-quoted line, exact even for odd paths.
    pub command: String,
}

/// Writes the JSON report.
pub fn render(report: &gathered::Report, out: &mut dyn Write) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_wire(report))?;
    writeln!(out)
}

/// Builds the JSON document.
pub fn to_wire(report: &gathered::Report) -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
        generated_at: rfc3339(report.generated_at),
        stale_after: format_duration(report.stale_after),
        stale_after_seconds: report.stale_after.as_secs(),
        repositories: report.repos.iter().map(|r| repository(report, r)).collect(),
    }
}

fn repository(report: &gathered::Report, r: &RepoReport) -> Repository {
    let mut repo = Repository {
        name: r.name.clone(),
        path: lossy(r.path.as_os_str().as_encoded_bytes()),
        private: r.private,
        success: r.succeeded(),
        errors: r.problems.clone(),
        summary: None,
        patches: Vec::new(),
        stops: Vec::new(),
        stale: Vec::new(),
        actions: Vec::new(),
        dirty: None,
        owners: Vec::new(),
        tasks: Vec::new(),
    };
    let Some(f) = r.facts.as_deref() else { return repo };
    let status = status::to_wire(&f.status, &report.links);
    repo.summary = Some(summary(f, &status));
    repo.patches = status.patches;
    repo.dirty = Some(status.dirty);
    repo.stops = stops(f, r.private);
    repo.stale = stale(f);
    repo.actions = actions(f);
    let items = |items: &[owners::Item]| items.iter().map(|i| owner_item(f, i)).collect();
    repo.owners = f
        .owners
        .people
        .iter()
        .map(|o| Owner { name: lossy(&o.person.name), email: lossy(&o.person.email), items: items(&o.items) })
        .collect();
    repo.tasks =
        f.owners.tasks.iter().map(|t| TaskOwners { task: t.task.to_string(), items: items(&t.items) }).collect();
    repo
}

fn summary(f: &Facts, status: &status::Status) -> Summary {
    Summary {
        branch: status.branch.clone(),
        head: status.head.clone(),
        upstream: status::UpstreamRef { name: status.upstream.name.clone(), commit: status.upstream.commit.clone() },
        merge_base: status.merge_base.clone(),
        merge_base_time: status.merge_base_time.clone(),
        behind: status.behind,
        last_fetch: status.last_fetch.clone(),
        operation_in_progress: status.operation_in_progress.clone(),
        unfinished: status.unfinished.clone(),
        stops_predicted: f.stops(),
        oldest_patch_age_seconds: f.oldest_age().map(|d| d.as_secs()),
        held_back: f.status.held_back.as_ref().map(|h| super::held_back::held_back(h, &f.check.stack)),
    }
}

fn stops(f: &Facts, private: bool) -> Vec<Stop> {
    check::to_wire(&f.check)
        .patches
        .into_iter()
        .filter(|p| p.outcome == "conflict")
        .map(|p| Stop {
            position: p.position,
            commit: p.commit,
            subject: p.subject,
            conflict_paths: p.conflict_paths,
            // check leaves out hunks of private repositories; make sure.
            conflicts: p
                .conflicts
                .into_iter()
                .map(|c| check::Conflict { hunks: if private { Vec::new() } else { c.hunks }, ..c })
                .collect(),
        })
        .collect()
}

fn stale(f: &Facts) -> Vec<Stale> {
    f.stale
        .iter()
        .map(|s| Stale {
            position: s.position,
            commit: f.patch(s.position).commit.oid.to_string(),
            since: rfc3339(s.since),
            since_source: status::seen_source(&s.basis),
            age_seconds: s.age.as_secs(),
            consent: (&f.status.consent[s.position - 1]).into(),
        })
        .collect()
}

fn actions(f: &Facts) -> Vec<Action> {
    f.actions
        .iter()
        .map(|a| {
            let (reason, upstream, reverted_by) = match a.reason {
                DropReason::Merged { upstream } => ("merged", Some(upstream), None),
                DropReason::MergedDiffers { upstream } => ("merged-differs", Some(upstream), None),
                DropReason::Reverted { upstream, reverted_by } => ("reverted", Some(upstream), reverted_by),
                DropReason::StaleAllowed => ("stale-allowed", None, None),
                DropReason::Abandoned { .. } => ("gerrit-abandoned", None, None),
                DropReason::TaskClosed { .. } => ("task-closed", None, None),
                DropReason::GerritMergedDiffers { .. } => ("gerrit-merged-differs", None, None),
            };
            Action {
                position: a.position,
                commit: f.patch(a.position).commit.oid.to_string(),
                reason: reason.to_owned(),
                upstream_commit: upstream.map(|u| u.to_string()),
                reverted_by: reverted_by.map(|r| r.to_string()),
                argv: a.argv.iter().map(|b| lossy(b)).collect(),
                command: a.shell_line(),
            }
        })
        .collect()
}

fn owner_item(f: &Facts, item: &owners::Item) -> OwnerItem {
    let p = f.patch(item.position);
    let (upstream, reverted_by) = match item.need {
        Need::HoldsBack => (f.status.held_back.as_ref().map(|h| h.culprit.commit), None),
        Need::MergedDiffers { upstream } => (Some(upstream), None),
        Need::Reverted { upstream, reverted_by } => (Some(upstream), reverted_by),
        Need::Stops | Need::StaleAsk { .. } => (None, None),
    };
    OwnerItem {
        position: item.position,
        commit: p.commit.oid.to_string(),
        subject: lossy(&p.message.subject),
        author: status::Person { name: lossy(&p.commit.author.name), email: lossy(&p.commit.author.email) },
        tasks: p.message.tasks.iter().map(ToString::to_string).collect(),
        need: item.need.kind().to_owned(),
        upstream_commit: upstream.map(|u| u.to_string()),
        reverted_by: reverted_by.map(|r| r.to_string()),
        argv: item.argv.iter().map(|b| lossy(b)).collect(),
        command: owners::shell_line(&item.argv),
    }
}
