//! `betadrift status`: the drift at a glance.
//!
//! One screen answers what a puppetmaster admin needs before touching the
//! checkout: how far behind upstream it is, whether anything is half-done,
//! what is uncommitted, and every local patch with its author, age, tasks,
//! Gerrit change, whether upstream already has it and whether the consent
//! policy lets it be removed. Read-only: nothing here writes to the repository.

use std::io::Write;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::{Config, Links};
use crate::consent::{PatchFacts, Policy, Verdict};
use crate::error::Result;
use crate::git::checkout::Checkout;
use crate::git::repo::Repo;
use crate::git::status::{Dirty, Operation};
use crate::model::stack::{Patch, SeenSource, Stack, StackOptions};
use crate::model::upstream::UpstreamState;
use crate::support::clock::{Clock, ago, human_age, rfc3339};
use crate::support::escape::{lossy, terminal, terminal_short};

/// Version of the JSON document; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything `status` shows.
#[derive(Debug)]
pub struct Status {
    pub repo_name: String,
    pub repo_path: String,
    pub stack: Stack,
    /// The consent verdict of each patch, in stack order.
    pub consent: Vec<Verdict>,
    pub dirty: Dirty,
    pub operation: Option<Operation>,
    pub last_fetch: Option<Timestamp>,
    pub now: Timestamp,
}

impl Status {
    /// Reads the status of `target`, with first-seen times from the snapshot
    /// tags and the ledger.
    pub fn gather(target: &Checkout, config: &Config, clock: Clock) -> Result<Status> {
        let policy = Policy::load(&target.policy_file(config))?;
        // Read-only: the ledger is read here; `report` and `sync` record into it.
        let ledger =
            crate::model::ledger::Ledger::read(&crate::model::ledger::path(config, &target.repo, &target.name()))?;
        let options = StackOptions { first_seen_known: ledger.backfilled_keys(), ..StackOptions::from_config(config) };
        // Scanning the working tree is mostly system calls, reading history
        // mostly CPU: on a two-core puppetmaster they overlap well.
        let (git_dir, workdir) = (target.repo.git_dir(), target.repo.workdir());
        std::thread::scope(|scope| {
            let dirty = scope.spawn(move || -> Result<Dirty> {
                let _t = crate::support::timing::phase("dirty (in parallel)");
                crate::git::status::dirty_at(git_dir, workdir)
            });
            let stack = Stack::load(&target.repo, target.head.clone(), target.upstream.clone(), &options);
            let dirty = dirty.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            let mut stack = stack?;
            ledger.apply(&target.repo, &mut stack)?;
            Status::with(&target.repo, target.name(), stack, &policy, dirty?, clock)
        })
    }

    /// Completes a status from an already loaded stack and its repository's policy.
    pub fn from_stack(repo: &Repo, repo_name: String, stack: Stack, policy: &Policy, clock: Clock) -> Result<Status> {
        let dirty = repo.dirty()?;
        Status::with(repo, repo_name, stack, policy, dirty, clock)
    }

    /// Completes a status from a stack, its policy and a working-tree scan
    /// made elsewhere (`status` and `report` scan on another thread).
    pub fn with(
        repo: &Repo,
        repo_name: String,
        stack: Stack,
        policy: &Policy,
        dirty: Dirty,
        clock: Clock,
    ) -> Result<Status> {
        let consent = stack.patches.iter().map(|p| policy.evaluate(&PatchFacts::of(p, clock.now))).collect();
        Ok(Status {
            repo_name,
            repo_path: repo.display_path().display().to_string().trim_end_matches('/').to_owned(),
            stack,
            consent,
            dirty,
            operation: repo.operation_in_progress(),
            last_fetch: repo.last_fetch(),
            now: clock.now,
        })
    }

    pub(crate) fn age(&self, then: Timestamp) -> String {
        human_age(self.now.duration_since(then))
    }
}

/// How many paths of each dirty kind the text output lists.
const DIRTY_SHOWN: usize = 3;

/// Writes the human-readable status.
pub fn render_text(status: &Status, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &status.stack;
    let short = |oid: git2::Oid| oid.to_string()[..10].to_owned();
    writeln!(out, "repository   {}", terminal(status.repo_path.as_bytes()))?;
    writeln!(out, "branch       {} at {}", terminal(s.head.name.as_bytes()), short(s.head.oid))?;
    writeln!(out, "upstream     {} at {}", terminal(s.upstream.name.as_bytes()), short(s.upstream.oid))?;
    writeln!(
        out,
        "merge base   {}, committed {}; {} behind upstream",
        short(s.merge_base),
        ago(status.now.duration_since(s.merge_base_time)),
        plural(s.behind, "commit")
    )?;
    match status.last_fetch {
        Some(t) => writeln!(out, "last fetch   {} ({})", rfc3339(t), ago(status.now.duration_since(t)))?,
        None => writeln!(out, "last fetch   never (no FETCH_HEAD)")?,
    }
    if let Some(op) = status.operation {
        writeln!(out, "IN PROGRESS  a {op} is half-done: finish or abort it before syncing")?;
    }
    writeln!(out, "worktree     {}", dirty_summary(&status.dirty))?;
    writeln!(out)?;
    if s.patches.is_empty() {
        writeln!(out, "no local patches: the branch is upstream as of the merge base")?;
        return Ok(());
    }
    for line in patch_table(status).lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;
    writeln!(out, "{}", state_summary(&s.patches))?;
    for hint in hints(&s.patches) {
        writeln!(out, "  {hint}")?;
    }
    Ok(())
}

/// One line per upstream state that calls for a decision.
pub(crate) fn hints(patches: &[Patch]) -> Vec<String> {
    let positions = |state: UpstreamState| -> Vec<String> {
        patches.iter().filter(|p| p.upstream.state == state).map(|p| format!("#{}", p.position)).collect()
    };
    let mut out = Vec::new();
    for (state, text) in [
        (UpstreamState::Merged, "merged upstream; the next rebase drops them"),
        (UpstreamState::MergedDiffers, "merged upstream as another patchset; drop the local copy"),
        (UpstreamState::Reverted, "merged, then reverted upstream; does the checkout still need them?"),
    ] {
        let found = positions(state);
        if !found.is_empty() {
            out.push(format!("{} {text}", found.join(" ")));
        }
    }
    out
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    match n {
        1 => format!("1 {word}"),
        _ if word.ends_with("ch") => format!("{n} {word}es"),
        _ => format!("{n} {word}s"),
    }
}

pub(crate) fn dirty_summary(d: &Dirty) -> String {
    let mut parts = Vec::new();
    for (label, paths) in
        [("conflicted", &d.conflicted), ("modified", &d.modified), ("staged", &d.staged), ("untracked", &d.untracked)]
    {
        if paths.is_empty() {
            continue;
        }
        let mut shown: Vec<String> = paths.iter().take(DIRTY_SHOWN).map(|p| terminal_short(p, 60)).collect();
        if paths.len() > DIRTY_SHOWN {
            shown.push(format!("and {} more", paths.len() - DIRTY_SHOWN));
        }
        parts.push(format!("{} {label} ({})", paths.len(), shown.join(", ")));
    }
    if parts.is_empty() { "clean".into() } else { parts.join("; ") }
}

pub(crate) fn patch_table(status: &Status) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table.set_header(PATCH_HEADER);
    for p in &status.stack.patches {
        table.add_row(patch_cells(status, p).to_vec());
    }
    table
}

/// The columns of the patch table.
pub(crate) const PATCH_HEADER: [&str; 10] =
    ["#", "commit", "subject", "author", "authored", "on box", "tasks", "change", "upstream", "consent"];

/// One row of the patch table, terminal-safe.
pub(crate) fn patch_cells(status: &Status, p: &Patch) -> [String; 10] {
    [
        p.position.to_string(),
        p.commit.oid.to_string()[..10].to_owned(),
        terminal_short(&p.message.subject, 60),
        terminal_short(&p.commit.author.name, 24),
        status.age(p.commit.author_time.timestamp()),
        p.first_seen.as_ref().map_or_else(|| "?".into(), |s| status.age(s.time)),
        tasks_text(p),
        p.message.change_id.as_deref().map_or_else(|| "-".into(), |c| format!("{}…", &c[..9])),
        upstream_text(p),
        status.consent[p.position - 1].summary(status.now.duration_since(p.since())),
    ]
}

pub(crate) fn tasks_text(p: &Patch) -> String {
    if p.message.tasks.is_empty() {
        return "-".into();
    }
    p.message.tasks.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

pub(crate) fn upstream_text(p: &Patch) -> String {
    if p.is_merge() {
        return "merge (rebase drops it)".into();
    }
    let u = &p.upstream;
    match (u.state, u.commit) {
        (UpstreamState::Reverted, Some(c)) => format!(
            "reverted {} by {}",
            &c.to_string()[..8],
            u.reverted_by.map_or_else(String::new, |r| r.to_string()[..8].to_owned())
        ),
        (state, Some(c)) => format!("{} {}", state.as_str(), &c.to_string()[..8]),
        (state, None) => state.as_str().to_owned(),
    }
}

pub(crate) fn state_summary(patches: &[Patch]) -> String {
    let counts: Vec<String> = UpstreamState::ALL
        .iter()
        .filter_map(|&state| {
            let n = patches.iter().filter(|p| p.upstream.state == state).count();
            (n > 0).then(|| format!("{n} {}", state.as_str()))
        })
        .collect();
    format!("{}: {}", plural(patches.len(), "local patch"), counts.join(", "))
}

/// The JSON document of `betadrift status --json` (see docs/json.md).
pub mod wire {
    use super::*;

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
        pub dirty: Dirty,
        pub patches: Vec<Patch>,
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
        pub consent: crate::commands::consent::wire::Consent,
    }

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Person {
        pub name: String,
        pub email: String,
    }

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Links {
        pub change: Option<String>,
        pub tasks: Vec<String>,
    }
}

/// Builds the JSON document.
pub fn to_wire(status: &Status, links: &Links) -> wire::Status {
    let s = &status.stack;
    let paths = |v: &Vec<Vec<u8>>| v.iter().map(|p| lossy(p)).collect();
    wire::Status {
        schema_version: SCHEMA_VERSION,
        generated_at: rfc3339(status.now),
        repo: status.repo_name.clone(),
        path: status.repo_path.clone(),
        branch: s.head.name.clone(),
        head: s.head.oid.to_string(),
        upstream: wire::UpstreamRef { name: s.upstream.name.clone(), commit: s.upstream.oid.to_string() },
        merge_base: s.merge_base.to_string(),
        merge_base_time: rfc3339(s.merge_base_time),
        behind: s.behind,
        last_fetch: status.last_fetch.map(rfc3339),
        operation_in_progress: status.operation.map(|o| o.to_string()),
        dirty: wire::Dirty {
            modified: paths(&status.dirty.modified),
            staged: paths(&status.dirty.staged),
            untracked: paths(&status.dirty.untracked),
            conflicted: paths(&status.dirty.conflicted),
        },
        patches: s.patches.iter().zip(&status.consent).map(|(p, v)| wire_patch(p, v, links)).collect(),
    }
}

fn wire_patch(p: &Patch, verdict: &Verdict, links: &Links) -> wire::Patch {
    let u = &p.upstream;
    wire::Patch {
        commit: p.commit.oid.to_string(),
        position: p.position,
        subject: lossy(&p.message.subject),
        author: wire::Person { name: lossy(&p.commit.author.name), email: lossy(&p.commit.author.email) },
        author_time: rfc3339(p.commit.author_time.timestamp()),
        first_seen: p.first_seen.as_ref().map(|s| rfc3339(s.time)),
        first_seen_source: p.first_seen.as_ref().map(|s| match &s.source {
            SeenSource::Snapshot(tag) => format!("tag:{tag}"),
            SeenSource::Ledger => "ledger".into(),
        }),
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
        links: wire::Links {
            change: p.message.change_id.as_deref().map(|c| links.change(c)),
            tasks: p.message.tasks.iter().map(|&t| links.task(t)).collect(),
        },
        consent: verdict.into(),
    }
}
