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
use crate::output::status::{PATCH_HEADER, dirty_summary, patch_cells, tasks_text};
use crate::support::clock::{ago, format_duration, human_age, rfc3339};
use crate::support::escape::{terminal, terminal_short};

use crate::git::commit::Person;
use crate::overview::owners::{Item, Need, OwnerFilter, TaskNeeds, shell_line};
use crate::overview::report::{DropReason, Facts, RepoReport, Report};
use crate::rebase::predict::PickOutcome;
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
    if let Some(held) = &f.status.held_back {
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

/// Suggested actions: why (one line per patch), and the one command line
/// that settles them all (one `prune --merged` for every merged patch).
pub fn actions(f: &Facts) -> Vec<(Vec<String>, String)> {
    let short = |oid| short_id_of(oid, 8);
    grouped(f.actions.iter().map(|a| {
        let why = match a.reason {
            DropReason::Merged { upstream } => {
                format!("#{} is merged upstream as {}; the next rebase drops it anyway", a.position, short(upstream))
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
            DropReason::TaskClosed { task } => {
                format!("#{} links {task}, closed in Phabricator (as are all its tasks); drop it?", a.position)
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
    }))
}

/// Groups `(why, command)` pairs by command, in the order commands first
/// appear: one command line under all the reasons for it.
fn grouped(pairs: impl Iterator<Item = (String, String)>) -> Vec<(Vec<String>, String)> {
    let mut groups: Vec<(Vec<String>, String)> = Vec::new();
    for (why, command) in pairs {
        match groups.iter_mut().find(|(_, c)| *c == command) {
            Some((whys, _)) => whys.push(why),
            None => groups.push((vec![why], command)),
        }
    }
    groups
}

/// The titles of the owners view: per person, per task.
pub const OWNERS_BY_PERSON: &str = "Who to tell (authors after .mailmap)";
pub const OWNERS_BY_TASK: &str = "Who to tell, per task";

/// The columns of an owner's table.
pub const OWNER_ITEMS: [&str; 5] = ["#", "commit", "subject", "tasks", "what is needed"];

/// What needs one person (or the people of one task), in words.
#[derive(Debug)]
pub struct OwnerSection {
    /// `Ana Costa <acosta@example.org>`, or `T359010`.
    pub title: String,
    /// The patches: the columns of [`OWNER_ITEMS`].
    pub rows: Vec<[String; 5]>,
    /// Why (one line per patch) and the command, grouped by command.
    pub commands: Vec<(Vec<String>, String)>,
}

/// The owners view of one repository: per person, then per task.
pub fn owners(f: &Facts) -> (Vec<OwnerSection>, Vec<OwnerSection>) {
    let people = f.owners.people.iter().map(|o| owner_section(f, person_title(&o.person), &o.items)).collect();
    let tasks = f.owners.tasks.iter().map(|t| owner_section(f, task_title(f, t), &t.items)).collect();
    (people, tasks)
}

/// The sections `report --owner` / `--task` asked for.
pub fn owner_sections(f: &Facts, filter: &OwnerFilter) -> Vec<OwnerSection> {
    match filter {
        OwnerFilter::Person(_) => f
            .owners
            .people
            .iter()
            .filter(|o| filter.is(&o.person))
            .map(|o| owner_section(f, person_title(&o.person), &o.items))
            .collect(),
        OwnerFilter::Task(task) => f
            .owners
            .tasks
            .iter()
            .filter(|t| t.task == *task)
            .map(|t| owner_section(f, task_title(f, t), &t.items))
            .collect(),
    }
}

/// The title of `report --owner`'s output for one repository.
pub fn owner_headline(report: &Report, r: &RepoReport, title: &str) -> String {
    format!("What needs {title} on {} (betadrift report {})", repo_title(r), rfc3339(report.generated_at))
}

/// `T359010 (Ana Costa, Bo Li)`: the task and the authors of its patches.
fn task_title(f: &Facts, t: &TaskNeeds) -> String {
    let mut names: Vec<String> = Vec::new();
    for item in &t.items {
        let name = terminal_short(&f.patch(item.position).commit.author.name, 60);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    format!("{} ({})", t.task, names.join(", "))
}

fn person_title(p: &Person) -> String {
    format!("{} <{}>", terminal_short(&p.name, 60), terminal_short(&p.email, 80))
}

fn owner_section(f: &Facts, title: String, items: &[Item]) -> OwnerSection {
    let rows = items
        .iter()
        .map(|i| {
            let p = f.patch(i.position);
            [
                i.position.to_string(),
                short_id(p.commit.oid),
                terminal_short(&p.message.subject, 60),
                tasks_text(p, f.status.tasks.as_ref()),
                need_text(f, i),
            ]
        })
        .collect();
    let commands = grouped(items.iter().map(|i| (command_why(f, i), shell_line(&i.argv))));
    OwnerSection { title, rows, commands }
}

/// What the patch needs, in a sentence.
fn need_text(f: &Facts, item: &Item) -> String {
    let short = |oid| short_id_of(oid, 8);
    match item.need {
        Need::HoldsBack => match &f.status.held_back {
            Some(held) => {
                let v = crate::output::held_back::view(held, &f.status.stack);
                let n = held.held_back();
                let wait = if n == 1 { "waits" } else { "wait" };
                format!(
                    "holds the sync back: {}, {}; {} {wait} for it",
                    v.upstream,
                    v.paths,
                    count(n, "upstream commit")
                )
            }
            None => "holds the sync back".to_owned(),
        },
        Need::Stops => {
            let paths = stop_paths(f, item.position);
            format!("the rebase onto upstream stops on it too: conflict in {paths}")
        }
        Need::MergedDiffers { upstream } => {
            format!("upstream merged another patchset of it ({}): the local copy can go", short(upstream))
        }
        Need::Reverted { upstream, reverted_by } => format!(
            "upstream merged it ({}), then reverted it{}: does the checkout still need it?",
            short(upstream),
            reverted_by.map_or_else(String::new, |r| format!(" ({})", short(r)))
        ),
        Need::StaleAsk { age } => {
            format!("on the checkout for {}, and its consent says ask: may it go?", human_age(age))
        }
    }
}

/// The paths the rebase onto upstream leaves unmerged at `position`.
fn stop_paths(f: &Facts, position: usize) -> String {
    let pick = f.check.prediction.picks.iter().find(|p| p.position == position);
    let Some(PickOutcome::Conflict(stop)) = pick.map(|p| &p.outcome) else { return "?".to_owned() };
    let mut paths: Vec<String> = stop.unmerged.iter().map(|u| terminal_short(&u.path, 200)).collect();
    paths.dedup();
    paths.join(", ")
}

/// What the command does for this patch.
fn command_why(f: &Facts, item: &Item) -> String {
    let n = item.position;
    match item.need {
        Need::HoldsBack => {
            let taken = f.status.held_back.as_ref().map_or(0, |h| h.taken);
            format!(
                "takes the {} the stack can take now; the rest waits until #{n} is rebased",
                count(taken, "upstream commit")
            )
        }
        Need::Stops => format!("shows where #{n} stops and which upstream change did it"),
        Need::MergedDiffers { .. } => format!("removes #{n}, with every patch upstream has"),
        Need::Reverted { .. } => format!("removes #{n}, if the checkout no longer needs it"),
        Need::StaleAsk { .. } => {
            format!("once its owner agrees: allows removing #{n} (`prune --stale` then removes it)")
        }
    }
}

/// Dirty paths by kind.
pub fn dirty_rows(f: &Facts) -> Vec<(&'static str, String)> {
    let d = &f.status.dirty;
    let kinds =
        [("conflicted", &d.conflicted), ("modified", &d.modified), ("staged", &d.staged), ("untracked", &d.untracked)];
    kinds.into_iter().flat_map(|(kind, paths)| paths.iter().map(move |p| (kind, terminal_short(p, 200)))).collect()
}
