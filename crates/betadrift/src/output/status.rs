//! The text of `betadrift status`, and the pieces of it the report reuses
//! (the patch table, the dirty summary, the hints). Untrusted text is made
//! terminal-safe here.

use std::io::Write;

use crate::git::status::Dirty;
use crate::model::live::{ChangeState, ChangeStatus, LiveState, LocalCopy};
use crate::model::stack::Patch;
use crate::model::tasks::TaskLive;
use crate::model::upstream::UpstreamState;
use crate::overview::status::Status;
use crate::support::clock::{ago, rfc3339};
use crate::support::escape::{terminal, terminal_short};
use crate::support::ids::{short_id, short_id_of};
use crate::support::words::count;

/// How many paths of each dirty kind the text output lists.
const DIRTY_SHOWN: usize = 3;

/// Writes the human-readable status.
pub fn render_text(status: &Status, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &status.stack;
    writeln!(out, "repository   {}", terminal(status.repo_path.as_bytes()))?;
    writeln!(out, "branch       {} at {}", terminal(s.head.name.as_bytes()), short_id(s.head.oid))?;
    writeln!(out, "upstream     {} at {}", terminal(s.upstream.name.as_bytes()), short_id(s.upstream.oid))?;
    writeln!(
        out,
        "merge base   {}, committed {}; {} behind upstream",
        short_id(s.merge_base),
        ago(status.now.duration_since(s.merge_base_time)),
        count(s.behind, "commit")
    )?;
    match status.last_fetch {
        Some(t) => writeln!(out, "last fetch   {} ({})", rfc3339(t), ago(status.now.duration_since(t)))?,
        None => writeln!(out, "last fetch   never (no FETCH_HEAD)")?,
    }
    if let Some(op) = status.operation {
        writeln!(out, "IN PROGRESS  a {op} is half-done: finish or abort it before syncing")?;
    }
    if let Some(u) = &status.unfinished {
        writeln!(out, "{:<12} {}", unfinished_label(u), terminal(u.message().as_bytes()))?;
    }
    if let Some(r) = &status.resolution {
        writeln!(
            out,
            "RESOLVING    {}; `betadrift resolve --continue` lands it, `betadrift resolve --abort` drops it",
            r.describe()
        )?;
    }
    if let Some(held) = &status.held_back {
        let v = crate::output::held_back::view(held, s);
        writeln!(out, "next sync    {}", v.summary)?;
        writeln!(out, "             {}", v.taken)?;
    }
    writeln!(out, "worktree     {}", dirty_summary(&status.dirty))?;
    if let Some(live) = &status.live {
        writeln!(out, "gerrit       {}", live_summary(status, live))?;
    }
    if let Some(tasks) = &status.tasks {
        writeln!(out, "phabricator  {}", tasks_summary(status, tasks))?;
    }
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
    if let Some(live) = &status.live {
        for hint in live_hints(&s.patches, live) {
            writeln!(out, "  {hint}")?;
        }
    }
    if let Some(tasks) = &status.tasks {
        write_tasks(out, &s.patches, tasks)?;
    }
    Ok(())
}

/// Where the task state comes from and how old it is.
fn tasks_summary(status: &Status, tasks: &TaskLive) -> String {
    let oldest = tasks.tasks.values().map(|t| t.fetched_at).min();
    let age =
        oldest.map_or_else(|| "nothing known".to_owned(), |t| format!("as of {}", ago(status.now.duration_since(t))));
    let asked = if tasks.warning.is_some() { "UNREACHABLE, cached state" } else { "live state" };
    format!("{asked} of {} from {} ({age})", count(tasks.tasks.len(), "task"), terminal(tasks.url.as_bytes()))
}

/// The hint for patches whose tasks are all closed, then one line per known
/// task: its status, title and assignee.
fn write_tasks(out: &mut dyn Write, patches: &[Patch], tasks: &TaskLive) -> std::io::Result<()> {
    let closed: Vec<String> =
        patches.iter().filter(|p| tasks.all_closed(&p.message.tasks)).map(|p| format!("#{}", p.position)).collect();
    if !closed.is_empty() {
        writeln!(out, "  {} link only closed tasks in Phabricator; drop them?", closed.join(" "))?;
    }
    if tasks.tasks.is_empty() {
        return Ok(());
    }
    writeln!(out, "\ntasks")?;
    for t in tasks.tasks.values() {
        let assignee = t
            .assignee
            .as_deref()
            .map_or_else(|| "unassigned".to_owned(), |a| format!("assigned to {}", terminal(a.as_bytes())));
        writeln!(
            out,
            "  {:<9} {:<9} {}; {assignee}",
            t.task.to_string(),
            terminal(t.status.as_bytes()),
            terminal_short(t.title.as_bytes(), 70)
        )?;
    }
    Ok(())
}

/// Where the live state comes from and how old it is.
fn live_summary(status: &Status, live: &LiveState) -> String {
    let known: Vec<&ChangeState> = live.patches.iter().flatten().collect();
    let oldest = known.iter().map(|c| c.fetched_at).min();
    let age =
        oldest.map_or_else(|| "nothing known".to_owned(), |t| format!("as of {}", ago(status.now.duration_since(t))));
    let asked = if live.warning.is_some() { "UNREACHABLE, cached state" } else { "live state" };
    format!("{asked} of {} from {} ({age})", count(known.len(), "change"), terminal(live.url.as_bytes()))
}

/// The change cell with the live state: `1001 NEW ps3 current`.
pub(crate) fn live_change_text(c: &ChangeState) -> String {
    let patchset = c.current_patchset.map_or_else(String::new, |p| format!(" ps{p}"));
    let local = match (&c.status, c.local) {
        (ChangeStatus::New, LocalCopy::Differs) => " NEWER in Gerrit",
        (ChangeStatus::Merged, LocalCopy::Differs) => " merged differs",
        (_, LocalCopy::Current) => " current",
        (_, LocalCopy::Unknown) => " ?",
        (_, LocalCopy::Differs) => " differs",
    };
    format!("{} {}{patchset}{local}", c.number, terminal(c.status.as_str().as_bytes()))
}

/// Suggestions from the live state: abandoned changes, newer patchsets,
/// local copies that differ from what merged.
pub(crate) fn live_hints(patches: &[Patch], live: &LiveState) -> Vec<String> {
    let mut out = Vec::new();
    let pick = |want: &dyn Fn(&ChangeState) -> bool| -> Vec<String> {
        patches
            .iter()
            .zip(&live.patches)
            .filter(|(_, c)| c.as_ref().is_some_and(want))
            .map(|(p, _)| format!("#{}", p.position))
            .collect()
    };
    for (found, text) in [
        (pick(&|c| c.status == ChangeStatus::Abandoned), "abandoned in Gerrit; drop them?"),
        (
            pick(&|c| c.status == ChangeStatus::New && c.local == LocalCopy::Differs),
            "have a newer patchset in Gerrit: betadrift pick --update",
        ),
        (
            pick(&|c| c.status == ChangeStatus::Merged && c.local == LocalCopy::Differs),
            "merged in Gerrit, but the local copy differs from what merged",
        ),
    ] {
        if !found.is_empty() {
            out.push(format!("{} {text}", found.join(" ")));
        }
    }
    out
}

/// The header word for an unfinished rewrite.
pub(crate) fn unfinished_label(u: &crate::rewrite::Unfinished) -> &'static str {
    match (&u.running, u.journal.mid_update()) {
        (Some(_), _) => "REWRITING",
        (None, true) => "INTERRUPTED",
        (None, false) => "DEPLOY",
    }
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
    let mut table = super::table();
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
        short_id(p.commit.oid),
        terminal_short(&p.message.subject, 60),
        terminal_short(&p.commit.author.name, 24),
        status.age(p.commit.author_time.timestamp()),
        p.first_seen.as_ref().map_or_else(|| "?".into(), |s| status.age(s.time)),
        tasks_text(p, status.tasks.as_ref()),
        change_text(status, p),
        upstream_text(p),
        status.consent[p.position - 1].summary(p.age(status.now)),
    ]
}

/// The change cell: the live state when there is one, else the Change-Id's start.
fn change_text(status: &Status, p: &Patch) -> String {
    let live = status.live.as_ref().and_then(|l| l.patches.get(p.position - 1)).and_then(Option::as_ref);
    match (live, p.message.change_id.as_deref()) {
        (Some(c), _) => live_change_text(c),
        (None, Some(c)) => format!("{}…", &c[..9]),
        (None, None) => "-".into(),
    }
}

/// The tasks cell: `T123`, with its Phabricator status when known (`T123 resolved`).
pub(crate) fn tasks_text(p: &Patch, live: Option<&TaskLive>) -> String {
    if p.message.tasks.is_empty() {
        return "-".into();
    }
    let one = |t: &crate::model::message::Task| match live.and_then(|l| l.tasks.get(t)) {
        Some(state) => format!("{t} {}", terminal(state.status.as_bytes())),
        None => t.to_string(),
    };
    p.message.tasks.iter().map(one).collect::<Vec<_>>().join(" ")
}

pub(crate) fn upstream_text(p: &Patch) -> String {
    if p.is_merge() {
        return "merge (rebase drops it)".into();
    }
    let u = &p.upstream;
    match (u.state, u.commit) {
        (UpstreamState::Reverted, Some(c)) => format!(
            "reverted {} by {}",
            short_id_of(c, 8),
            u.reverted_by.map_or_else(String::new, |r| short_id_of(r, 8))
        ),
        (state, Some(c)) => format!("{} {}", state.as_str(), short_id_of(c, 8)),
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
    format!("{}: {}", count(patches.len(), "local patch"), counts.join(", "))
}
