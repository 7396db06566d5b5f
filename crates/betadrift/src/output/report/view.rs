//! What the human-readable formats show, decided once.
//!
//! Text, Markdown and HTML show the same sections with the same words; only
//! the markup differs. So the words are chosen here, as terminal-safe
//! strings (untrusted text already passed through [`crate::support::escape::terminal`]
//! and cut to length), and each renderer adds its own escaping on top
//! ([`crate::support::escape::markdown_str`], [`crate::support::escape::html_str`]).

use crate::model::stack::SeenSource;
use crate::output::check::stop_view;
pub use crate::output::check::{ConflictView, HunkView, StopView};
use crate::output::status::{PATCH_HEADER, dirty_summary, patch_cells};
use crate::support::clock::{ago, format_duration, human_age, rfc3339};
use crate::support::escape::{terminal, terminal_short};

use crate::overview::report::{DropReason, Facts, RepoReport, Report};
use crate::support::ids::{short_id, short_id_of};
use crate::support::words::count;

/// The columns of the patch table.
pub const PATCHES: [&str; 10] = PATCH_HEADER;
/// The columns of the stale-patch table.
pub const STALE: [&str; 7] = ["#", "commit", "subject", "age", "since", "dated by", "consent"];

/// One line for the whole report: how many repositories, and what is wrong.
pub fn headline(report: &Report) -> String {
    let facts: Vec<&Facts> = report.repos.iter().filter_map(|r| r.facts.as_deref()).collect();
    let stops: usize = facts.iter().map(|f| f.stops()).sum();
    let stale: usize = facts.iter().map(|f| f.stale.len()).sum();
    let dirty = facts.iter().filter(|f| f.dirty_count() > 0).count();
    let failed = report.repos.iter().filter(|r| !r.succeeded()).count();
    let mut parts = vec![
        match report.repos.len() {
            1 => "1 repository".to_owned(),
            n => format!("{n} repositories"),
        },
        count(stops, "predicted rebase stop"),
        count(stale, "stale patch"),
        count(dirty, "dirty checkout"),
    ];
    if failed > 0 {
        parts.push(format!("{failed} FAILED"));
    }
    format!("betadrift report {}: {}", rfc3339(report.generated_at), parts.join(", "))
}

/// The name of a repository as shown.
pub fn repo_title(r: &RepoReport) -> String {
    terminal_short(r.name.as_bytes(), 120)
}

/// The summary of one repository as label/value pairs.
pub fn summary(r: &RepoReport, f: &Facts) -> Vec<(&'static str, String)> {
    let s = &f.status.stack;
    let now = f.status.now;
    let mut rows = vec![
        ("path", terminal(r.path.as_os_str().as_encoded_bytes())),
        ("branch", format!("{} at {}", terminal(s.head.name.as_bytes()), short_id(s.head.oid))),
        ("upstream", format!("{} at {}", terminal(s.upstream.name.as_bytes()), short_id(s.upstream.oid))),
        ("behind", format!("{} behind upstream", count(s.behind, "commit"))),
        ("merge base", format!("{}, committed {}", short_id(s.merge_base), ago(now.duration_since(s.merge_base_time)))),
        (
            "last fetch",
            f.status.last_fetch.map_or_else(
                || "never (no FETCH_HEAD)".to_owned(),
                |t| format!("{} ({})", rfc3339(t), ago(now.duration_since(t))),
            ),
        ),
    ];
    if let Some(op) = f.status.operation {
        rows.push(("IN PROGRESS", format!("a {op} is half-done: finish or abort it before syncing")));
    }
    if let Some(u) = &f.status.unfinished {
        rows.push((crate::output::status::unfinished_label(u), terminal(u.message().as_bytes())));
    }
    rows.push(("next rebase", next_rebase(f)));
    if let Some(held) = &f.held_back {
        let v = crate::output::held_back::view(held, &f.check.stack);
        rows.push(("as far as possible", format!("{} ({})", v.summary, v.taken)));
    }
    rows.push(("worktree", dirty_summary(&f.status.dirty)));
    if r.private {
        rows.push(("private", "yes: paths and metadata only, no file contents".to_owned()));
    }
    rows
}

fn next_rebase(f: &Facts) -> String {
    let stops: Vec<String> =
        f.check.prediction.picks.iter().filter(|p| p.outcome.is_stop()).map(|p| format!("#{}", p.position)).collect();
    match stops.len() {
        0 => "goes through cleanly".to_owned(),
        n => format!("STOPS {}: at {}", count(n, "time"), stops.join(" ")),
    }
}

/// The patch table's rows.
pub fn patch_rows(f: &Facts) -> Vec<[String; 10]> {
    f.patches().iter().map(|p| patch_cells(&f.status, p)).collect()
}

/// The predicted stops of one repository.
pub fn stops(f: &Facts, private: bool) -> Vec<StopView> {
    let picks = f.check.prediction.picks.iter().zip(&f.check.details);
    picks
        .filter(|(pick, _)| pick.outcome.is_stop())
        .map(|(pick, details)| stop_view(f.patch(pick.position), details, private))
        .collect()
}

/// The stale-patch table's rows.
pub fn stale_rows(f: &Facts) -> Vec<Vec<String>> {
    f.stale
        .iter()
        .map(|s| {
            let p = f.patch(s.position);
            let dated_by = match &s.basis {
                SeenSource::Ledger => "first seen (ledger)".to_owned(),
                SeenSource::Snapshot(tag) => format!("first seen (tag {})", terminal(tag.as_bytes())),
                SeenSource::Reflog => "first seen (reflog)".to_owned(),
            };
            vec![
                s.position.to_string(),
                short_id(p.commit.oid),
                terminal_short(&p.message.subject, 60),
                human_age(s.age),
                rfc3339(s.since),
                dated_by,
                f.status.consent[s.position - 1].summary(Some(s.age)),
            ]
        })
        .collect()
}

/// What counts as stale, in words.
pub fn stale_rule(report: &Report) -> String {
    format!("on the checkout longer than {} (first seen, else authored)", format_duration(report.stale_after))
}

/// Suggested actions: why, and the command line.
pub fn actions(f: &Facts) -> Vec<(String, String)> {
    let short = |oid| short_id_of(oid, 8);
    f.actions
        .iter()
        .map(|a| {
            let why = match a.reason {
                DropReason::Merged { upstream } => {
                    format!(
                        "#{} is merged upstream as {}; the next rebase drops it anyway",
                        a.position,
                        short(upstream)
                    )
                }
                DropReason::MergedDiffers { upstream } => format!(
                    "#{} was merged upstream as another patchset ({}); drop the local copy",
                    a.position,
                    short(upstream)
                ),
                DropReason::Reverted { upstream, reverted_by } => format!(
                    "#{} was merged upstream ({}), then reverted{}; does the checkout still need it?",
                    a.position,
                    short(upstream),
                    reverted_by.map_or_else(String::new, |r| format!(" by {}", short(r)))
                ),
                DropReason::Abandoned { change } => {
                    format!("#{} belongs to change {change}, abandoned in Gerrit; drop it?", a.position)
                }
                DropReason::GerritMergedDiffers { change } => format!(
                    "#{} belongs to change {change}, merged in Gerrit as a patch other than the local copy",
                    a.position
                ),
                DropReason::StaleAllowed => {
                    let verdict = &f.status.consent[a.position - 1];
                    format!(
                        "#{} is stale and {} says {}: removing it is allowed",
                        a.position, verdict.source, verdict.decision
                    )
                }
            };
            (why, a.shell_line())
        })
        .collect()
}

/// Dirty paths by kind.
pub fn dirty_rows(f: &Facts) -> Vec<(&'static str, String)> {
    let d = &f.status.dirty;
    let kinds =
        [("conflicted", &d.conflicted), ("modified", &d.modified), ("staged", &d.staged), ("untracked", &d.untracked)];
    kinds.into_iter().flat_map(|(kind, paths)| paths.iter().map(move |p| (kind, terminal_short(p, 200)))).collect()
}
