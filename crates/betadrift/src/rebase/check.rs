//! `betadrift check`: what the next `git rebase` onto upstream will do.
//!
//! Runs the in-memory replay ([`crate::rebase::predict`]) on the stack and explains
//! each predicted stop: which files conflict, the conflicting lines, and the
//! upstream commits that caused them. Read-only: no refs, no index, no
//! objects are written (new trees and blobs stay in memory).

use std::io::Write;
use std::ops::Range;

use git2::Oid;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Result;
use crate::rebase::culprits::Culprits;
use betadrift_engine::merge::{Conflict, ConflictKind, Version};

use crate::git::checkout::Checkout;
use crate::git::commit::Person;
use crate::git::parallel::with_helper_thread;
use crate::git::repo::Repo;
use crate::model::message::MessageInfo;
use crate::model::stack::{Patch, Stack, StackOptions};
use crate::model::upstream::LocalChange;
use crate::rebase::predict::{Outcome, Prediction, predict_without};
use crate::support::escape::{lossy, terminal, terminal_short};
use betadrift_engine::objects::{Kind, ObjectRead, Overlay, kind_of};
use betadrift_engine::xdiff::{self, Algorithm, ConflictStyle, MergeLevel, MergeOptions};

/// Version of the JSON document.
pub const SCHEMA_VERSION: u32 = 1;
/// Lines shown per side of a conflicting hunk.
const HUNK_LINES: usize = 40;

/// An upstream commit blamed for a conflict.
#[derive(Debug, Clone)]
pub struct Culprit {
    pub commit: Oid,
    pub author: Person,
    pub message: MessageInfo,
}

/// One side-by-side view of a conflicting region.
#[derive(Debug, Clone)]
pub struct Hunk {
    /// First line of the region in the patch's base version (1-based).
    pub base_start: usize,
    pub base: Vec<Vec<u8>>,
    pub ours: Vec<Vec<u8>>,
    pub theirs: Vec<Vec<u8>>,
}

/// A conflict with everything needed to explain it.
#[derive(Debug, Clone)]
pub struct ConflictDetail {
    pub conflict: Conflict,
    pub hunks: Vec<Hunk>,
    pub culprits: Vec<Culprit>,
}

/// The prediction plus explanations.
#[derive(Debug)]
pub struct CheckReport {
    pub repo_name: String,
    pub repo_path: String,
    pub stack: Stack,
    pub prediction: Prediction,
    /// Per pick (same order): explained conflicts when it stops.
    pub details: Vec<Vec<ConflictDetail>>,
    /// Whether contents (hunks) may be shown.
    pub private: bool,
}

impl CheckReport {
    /// Whether any pick stops.
    pub fn has_stops(&self) -> bool {
        !self.prediction.is_clean()
    }
}

/// Predicts the rebase of `target`'s stack and explains the stops.
pub fn check(target: &Checkout, config: &Config, each: bool) -> Result<CheckReport> {
    let options = StackOptions { snapshot_prefix: String::new(), upstream_states: false, ..StackOptions::default() };
    let stack = Stack::load(&target.repo, target.head.clone(), target.upstream.clone(), &options)?;
    let _ = config;
    check_stack(&target.repo, target.name(), stack, target.private(), each)
}

/// Like [`check`], for an already loaded stack.
pub fn check_stack(repo: &Repo, repo_name: String, stack: Stack, private: bool, each: bool) -> Result<CheckReport> {
    check_stack_in(repo, &Overlay::new(repo), repo_name, stack, private, each, &[])
}

/// Like [`check_stack`], keeping new objects in `overlay` (for a rewrite to
/// persist), with the patches at `removed` (indices) left out.
pub fn check_stack_in(
    repo: &Repo,
    overlay: &Overlay<'_, Repo>,
    repo_name: String,
    stack: Stack,
    private: bool,
    each: bool,
    removed: &[usize],
) -> Result<CheckReport> {
    let locals: Vec<LocalChange> = stack.patches.iter().map(Patch::local_change).collect();
    let t = crate::support::timing::phase("check: predict");
    let prediction =
        predict_without(repo, overlay, &stack.index, &locals, stack.upstream.oid, stack.merge_base, each, removed)?;
    drop(t);
    let _t = crate::support::timing::phase("check: explain");
    let details = explain(repo, overlay, &stack.index, stack.merge_base, &prediction, private)?;
    Ok(CheckReport {
        repo_name,
        repo_path: repo.display_path().display().to_string(),
        stack,
        prediction,
        details,
        private,
    })
}

/// One conflict to explain: where its stop's patch came from, and the
/// lines in conflict (none for conflicts other than text).
struct Question<'p> {
    patch_base: Oid,
    conflict: &'p Conflict,
    regions: Vec<Option<Range<usize>>>,
}

/// Below this many upstream commits, culprits are found on one thread.
const PARALLEL_CULPRITS_MIN: usize = 256;

/// Hunks and culprits for every conflict of every stop, per pick.
///
/// Finding culprits walks the whole upstream range once per conflicting
/// path: with a few thousand commits that is most of `check`'s time, so the
/// paths are shared out between this thread and a second one.
fn explain(
    repo: &Repo,
    overlay: &Overlay<'_, Repo>,
    index: &crate::model::upstream::UpstreamIndex,
    merge_base: Oid,
    prediction: &Prediction,
    private: bool,
) -> Result<Vec<Vec<ConflictDetail>>> {
    let base_tree = repo.commit_tree_and_time(merge_base)?.0;
    let mut questions = Vec::new();
    let mut hunks = Vec::new();
    for pick in &prediction.picks {
        let Outcome::Conflict(stop) = &pick.outcome else { continue };
        for conflict in &stop.conflicts {
            let regions = conflict_regions(overlay, conflict)?;
            let lookups =
                if regions.is_empty() { vec![None] } else { regions.iter().map(|r| Some(r.0.clone())).collect() };
            questions.push(Question { patch_base: stop.trees[0], conflict, regions: lookups });
            hunks.push(if private { Vec::new() } else { regions.into_iter().map(|r| r.1).collect() });
        }
    }
    // Questions about one path stay together: its history is read once.
    let mut mine = Vec::new();
    let mut theirs = Vec::new();
    let mut by_path: Vec<(&[u8], Vec<usize>)> = Vec::new();
    for (i, q) in questions.iter().enumerate() {
        let path = q.conflict.paths.first().map_or(&[][..], |p| p.as_slice());
        match by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, v)) => v.push(i),
            None => by_path.push((path, vec![i])),
        }
    }
    // Balanced by how often upstream changed each path, which is what the
    // search costs (a path the scan did not follow counts as average).
    let weight = |path: &[u8], questions: usize| {
        questions * index.path_history(path).map_or(index.ahead / 20, |h| h.len()).max(1)
    };
    let mut groups: Vec<(usize, Vec<usize>)> = by_path.into_iter().map(|(p, v)| (weight(p, v.len()), v)).collect();
    groups.sort_by_key(|(w, _)| std::cmp::Reverse(*w));
    let (mut mine_weight, mut theirs_weight) = (0, 0);
    for (w, group) in groups {
        if mine_weight <= theirs_weight {
            mine_weight += w;
            mine.extend(group);
        } else {
            theirs_weight += w;
            theirs.extend(group);
        }
    }
    let answer = |repo: &Repo, which: &[usize]| -> Result<Vec<(usize, Vec<Oid>)>> {
        let mut finder = Culprits::new(repo, index, base_tree);
        let mut out = Vec::with_capacity(which.len());
        for &i in which {
            let q = &questions[i];
            let mut blamed: Vec<Oid> = Vec::new();
            for region in &q.regions {
                for oid in finder.find(q.patch_base, q.conflict, region.clone())? {
                    if !blamed.contains(&oid) {
                        blamed.push(oid);
                    }
                }
            }
            out.push((i, blamed));
        }
        Ok(out)
    };
    let answers = if theirs.is_empty() || index.ahead < PARALLEL_CULPRITS_MIN {
        mine.append(&mut theirs);
        answer(repo, &mine)?
    } else {
        let (mut a, b) = with_helper_thread(repo, |second| answer(second, &theirs), || answer(repo, &mine));
        if let Ok(a) = &mut a {
            a.extend(b?);
        }
        a?
    };
    let mut blamed: Vec<Vec<Oid>> = vec![Vec::new(); questions.len()];
    for (i, oids) in answers {
        blamed[i] = oids;
    }
    let mut details = Vec::with_capacity(prediction.picks.len());
    let mut next = questions.iter().zip(hunks).zip(blamed);
    for pick in &prediction.picks {
        let Outcome::Conflict(stop) = &pick.outcome else {
            details.push(Vec::new());
            continue;
        };
        let mut out = Vec::with_capacity(stop.conflicts.len());
        for ((q, hunks), oids) in next.by_ref().take(stop.conflicts.len()) {
            let culprits = oids
                .into_iter()
                .map(|oid| {
                    let c = repo.commit(oid)?;
                    Ok(Culprit { commit: oid, message: MessageInfo::parse(&c.message), author: c.author })
                })
                .collect::<Result<_>>()?;
            out.push(ConflictDetail { conflict: q.conflict.clone(), hunks, culprits });
        }
        details.push(out);
    }
    Ok(details)
}

/// For a text conflict, the conflicting regions (base line range and the
/// three sides' lines), found by re-running the content merge.
fn conflict_regions(repo: &impl ObjectRead, conflict: &Conflict) -> Result<Vec<(Range<usize>, Hunk)>> {
    let Some([o, a, b]) = conflict.versions else { return Ok(Vec::new()) };
    let is_text = |v: Version| v.exists() && kind_of(v.mode) == Kind::File;
    if !matches!(conflict.kind, ConflictKind::Content | ConflictKind::AddAdd) || !is_text(a) || !is_text(b) {
        return Ok(Vec::new());
    }
    let base = if is_text(o) { repo.blob(o.oid)?.to_vec() } else { Vec::new() };
    let (ours, theirs) = (repo.blob(a.oid)?, repo.blob(b.oid)?);
    let options = MergeOptions {
        algorithm: Algorithm::Histogram,
        level: MergeLevel::Zealous,
        style: ConflictStyle::Merge,
        favor: None,
        marker_size: 7,
        ancestor_label: None,
        ours_label: None,
        theirs_label: None,
    };
    let Ok(merged) = xdiff::merge(&base, &ours, &theirs, &options) else { return Ok(Vec::new()) };
    let (bl, ol, tl) = (xdiff::split_lines(&base), xdiff::split_lines(&ours), xdiff::split_lines(&theirs));
    let take = |lines: &[&[u8]], r: &Range<usize>| -> Vec<Vec<u8>> {
        lines[r.start.min(lines.len())..r.end.min(lines.len())].iter().take(HUNK_LINES).map(|l| l.to_vec()).collect()
    };
    Ok(merged
        .conflicts
        .iter()
        .map(|c| {
            let hunk = Hunk {
                base_start: c.base.start + 1,
                base: take(&bl, &c.base),
                ours: take(&ol, &c.ours),
                theirs: take(&tl, &c.theirs),
            };
            (c.base.clone(), hunk)
        })
        .collect())
}

/// Writes the human-readable prediction.
pub fn render_text(report: &CheckReport, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &report.stack;
    let p = &report.prediction;
    let short = |oid: Oid| oid.to_string()[..10].to_owned();
    writeln!(out, "repository   {}", terminal(report.repo_path.as_bytes()))?;
    writeln!(
        out,
        "upstream     {} at {}, {} since the merge base {}",
        terminal(s.upstream.name.as_bytes()),
        short(s.upstream.oid),
        commits(s.behind),
        short(s.merge_base)
    )?;
    writeln!(out)?;
    if p.picks.is_empty() {
        writeln!(out, "no local patches: the rebase is a fast-forward")?;
        return Ok(());
    }
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    let mut header = vec!["#", "commit", "outcome", "subject"];
    let each = p.picks.iter().any(|pick| pick.alone.is_some());
    if each {
        header.insert(3, "alone");
    }
    table.set_header(header);
    for (pick, patch) in p.picks.iter().zip(&s.patches) {
        let mut row = vec![pick.position.to_string(), short(pick.commit), outcome_text(&pick.outcome)];
        if each {
            row.push(pick.alone.as_ref().map_or_else(String::new, outcome_text));
        }
        row.push(terminal_short(&patch.message.subject, 64));
        table.add_row(row);
    }
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    for ((pick, patch), details) in p.picks.iter().zip(&s.patches).zip(&report.details) {
        if pick.outcome.is_stop() {
            render_stop(out, patch, details, report.private)?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", verdict(report))?;
    writeln!(out, "result tree  {}", p.result_tree)
}

fn commits(n: usize) -> String {
    if n == 1 { "1 commit".into() } else { format!("{n} commits") }
}

pub(crate) fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Applies => "applies".into(),
        Outcome::AlreadyUpstream { matched } => format!("already upstream ({})", &matched.to_string()[..8]),
        Outcome::BecomesEmpty => "becomes empty, dropped".into(),
        Outcome::Conflict(_) => "STOPS: conflict".into(),
        Outcome::MergeCommit => "merge, dropped".into(),
        Outcome::Removed => "removed".into(),
    }
}

pub(crate) fn render_stop(
    out: &mut dyn Write,
    patch: &crate::model::stack::Patch,
    details: &[ConflictDetail],
    private: bool,
) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "STOP at #{} {} {}",
        patch.position,
        &patch.commit.oid.to_string()[..10],
        terminal_short(&patch.message.subject, 80)
    )?;
    let tasks: Vec<String> = patch.message.tasks.iter().map(ToString::to_string).collect();
    writeln!(
        out,
        "  by {}{}",
        terminal_short(&patch.commit.author.name, 40),
        if tasks.is_empty() { String::new() } else { format!(" for {}", tasks.join(" ")) }
    )?;
    for d in details {
        let paths: Vec<String> = d.conflict.paths.iter().map(|p| terminal(p)).collect();
        writeln!(out, "  CONFLICT ({}) {}", d.conflict.kind.as_str(), paths.join(" <- "))?;
        for c in &d.culprits {
            writeln!(out, "    caused by upstream {}", culprit_line(c))?;
        }
        if d.culprits.is_empty() {
            writeln!(
                out,
                "    (no upstream commit since the merge base touched these lines: an earlier local patch did)"
            )?;
        }
        if private && d.hunks.is_empty() && d.conflict.versions.is_some() {
            writeln!(out, "    (private repository: contents not shown)")?;
        }
        for h in &d.hunks {
            render_hunk(out, h)?;
        }
    }
    Ok(())
}

pub(crate) fn culprit_line(c: &Culprit) -> String {
    let tasks: Vec<String> = c.message.tasks.iter().map(ToString::to_string).collect();
    format!(
        "{} \"{}\" by {}{}",
        &c.commit.to_string()[..10],
        terminal_short(&c.message.subject, 70),
        terminal_short(&c.author.name, 40),
        if tasks.is_empty() { String::new() } else { format!(" ({})", tasks.join(", ")) }
    )
}

pub(crate) fn render_hunk(out: &mut dyn Write, h: &Hunk) -> std::io::Result<()> {
    writeln!(out, "    @@ line {} of the patch's base @@", h.base_start)?;
    for (label, lines) in hunk_sides(h) {
        writeln!(out, "    {label} changed it to:")?;
        for line in lines {
            writeln!(out, "      {line}")?;
        }
    }
    Ok(())
}

/// Each side of a conflicting hunk as diff lines against the base
/// (`- old`, `+ new`, `  same`), terminal-safe.
pub(crate) fn hunk_sides(h: &Hunk) -> [(&'static str, Vec<String>); 2] {
    let visible = |lines: &[Vec<u8>]| -> Vec<String> {
        lines.iter().map(|l| terminal(l.strip_suffix(b"\n").unwrap_or(l))).collect()
    };
    let base = visible(&h.base);
    let side = |new: &[Vec<u8>]| -> Vec<String> { diff_view(&base, &visible(new)) };
    [("upstream", side(&h.ours)), ("this patch", side(&h.theirs))]
}

/// `new` as diff lines against `base` (`- old`, `+ new`, `  same`), aligned
/// by git's own Myers diff, as `git diff` would align them.
fn diff_view(base: &[String], new: &[String]) -> Vec<String> {
    let bytes = |lines: &[String]| -> Vec<Vec<u8>> { lines.iter().map(|l| l.as_bytes().to_vec()).collect() };
    let (old_lines, new_lines) = (bytes(base), bytes(new));
    let old_refs: Vec<&[u8]> = old_lines.iter().map(Vec::as_slice).collect();
    let new_refs: Vec<&[u8]> = new_lines.iter().map(Vec::as_slice).collect();
    // Myers never gives up (only histogram can); were it to, show a replacement.
    let script = xdiff::diff_lines(&old_refs, &new_refs, xdiff::Algorithm::Myers)
        .unwrap_or_else(|_| vec![xdiff::Change { old: 0..base.len(), new: 0..new.len() }]);
    let end = xdiff::Change { old: base.len()..base.len(), new: new.len()..new.len() };
    let mut view = Vec::with_capacity(base.len() + new.len());
    let mut at = 0;
    for change in script.iter().chain([&end]) {
        view.extend(base[at..change.old.start].iter().map(|line| format!("  {line}")));
        view.extend(base[change.old.clone()].iter().map(|line| format!("- {line}")));
        view.extend(new[change.new.clone()].iter().map(|line| format!("+ {line}")));
        at = change.old.end;
    }
    view
}

fn verdict(report: &CheckReport) -> String {
    let p = &report.prediction;
    let stops: Vec<String> =
        p.picks.iter().filter(|x| x.outcome.is_stop()).map(|x| format!("#{}", x.position)).collect();
    let upstreamed = p.picks.iter().filter(|x| matches!(x.outcome, Outcome::AlreadyUpstream { .. })).count();
    let empty = p.picks.iter().filter(|x| x.outcome == Outcome::BecomesEmpty).count();
    let mut text = if stops.is_empty() {
        "The rebase will go through cleanly.".to_owned()
    } else {
        format!(
            "The rebase will stop {} time{}: {}.",
            stops.len(),
            if stops.len() == 1 { "" } else { "s" },
            stops.join(" ")
        )
    };
    if upstreamed + empty > 0 {
        text.push_str(&format!(" {upstreamed} already upstream and {empty} becoming empty will drop out."));
    }
    let chained: Vec<String> = p
        .picks
        .iter()
        .filter(|x| x.outcome.is_stop() && x.alone.as_ref().is_some_and(|a| !a.is_stop()))
        .map(|x| format!("#{}", x.position))
        .collect();
    if !chained.is_empty() {
        text.push_str(&format!(
            " Alone on upstream these would apply, so an earlier patch causes their stop: {}.",
            chained.join(" ")
        ));
    }
    text
}

/// The JSON document of `betadrift check --json` (see docs/json.md).
pub mod wire {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Check {
        pub schema_version: u32,
        pub repo: String,
        pub path: String,
        pub branch: String,
        pub head: String,
        pub upstream: crate::overview::status::wire::UpstreamRef,
        pub merge_base: String,
        pub behind: usize,
        pub clean: bool,
        pub stops: usize,
        pub patches: Vec<Patch>,
        pub result_tree: String,
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

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Culprit {
        pub commit: String,
        pub change_id: Option<String>,
        pub author: crate::overview::status::wire::Person,
        pub tasks: Vec<String>,
        pub subject: String,
    }
}

/// Builds the JSON document.
pub fn to_wire(report: &CheckReport) -> wire::Check {
    let s = &report.stack;
    let p = &report.prediction;
    let lines = |v: &Vec<Vec<u8>>| v.iter().map(|l| lossy(l.strip_suffix(b"\n").unwrap_or(l))).collect();
    let patches = p
        .picks
        .iter()
        .zip(&s.patches)
        .zip(&report.details)
        .map(|((pick, patch), details)| wire::Patch {
            commit: pick.commit.to_string(),
            position: pick.position,
            subject: lossy(&patch.message.subject),
            outcome: pick.outcome.as_str().to_owned(),
            matched_upstream: match &pick.outcome {
                Outcome::AlreadyUpstream { matched } => Some(matched.to_string()),
                _ => None,
            },
            alone: pick.alone.as_ref().map(|a| a.as_str().to_owned()),
            conflict_paths: match &pick.outcome {
                Outcome::Conflict(stop) => stop.unmerged.iter().map(|u| lossy(&u.path)).collect(),
                _ => Vec::new(),
            },
            conflicts: details
                .iter()
                .map(|d| wire::Conflict {
                    path: d.conflict.paths.first().map(|p| lossy(p)).unwrap_or_default(),
                    paths: d.conflict.paths.iter().map(|p| lossy(p)).collect(),
                    kind: d.conflict.kind,
                    hunks: d
                        .hunks
                        .iter()
                        .map(|h| wire::Hunk {
                            base_start: h.base_start,
                            base: lines(&h.base),
                            ours: lines(&h.ours),
                            theirs: lines(&h.theirs),
                        })
                        .collect(),
                    culprits: d
                        .culprits
                        .iter()
                        .map(|c| wire::Culprit {
                            commit: c.commit.to_string(),
                            change_id: c.message.change_id.clone(),
                            author: crate::overview::status::wire::Person {
                                name: lossy(&c.author.name),
                                email: lossy(&c.author.email),
                            },
                            tasks: c.message.tasks.iter().map(ToString::to_string).collect(),
                            subject: lossy(&c.message.subject),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    wire::Check {
        schema_version: SCHEMA_VERSION,
        repo: report.repo_name.clone(),
        path: report.repo_path.clone(),
        branch: s.head.name.clone(),
        head: s.head.oid.to_string(),
        upstream: crate::overview::status::wire::UpstreamRef {
            name: s.upstream.name.clone(),
            commit: s.upstream.oid.to_string(),
        },
        merge_base: s.merge_base.to_string(),
        behind: s.behind,
        clean: p.is_clean(),
        stops: p.picks.iter().filter(|x| x.outcome.is_stop()).count(),
        patches,
        result_tree: p.result_tree.to_string(),
    }
}
