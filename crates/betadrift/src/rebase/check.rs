//! `betadrift check`: what the next `git rebase` onto upstream will do.
//!
//! Runs the in-memory replay ([`crate::rebase::predict`]) on the stack and explains
//! each predicted stop: which files conflict, the conflicting lines, and the
//! upstream commits that caused them. Read-only: no refs, no index, no
//! objects are written (new trees and blobs stay in memory).

use std::ops::Range;

use git2::Oid;

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
use crate::model::upstream::{LocalChange, UpstreamIndex};
use crate::rebase::predict::{PickOutcome, Prediction, predict};
use betadrift_engine::objects::{Kind, ObjectRead, Overlay, kind_of};
use betadrift_engine::xdiff::{self, Algorithm, ConflictStyle, MergeLevel, MergeOptions};

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

    /// Every upstream commit blamed for a stop.
    pub fn culprit_commits(&self) -> Vec<Oid> {
        self.details.iter().flatten().flat_map(|d| d.culprits.iter().map(|c| c.commit)).collect()
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
        predict(repo, overlay, &stack.index, &locals, stack.upstream.oid, stack.merge_base, each, removed)?;
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

/// The hunks of every stop of `prediction`, without culprits: for a
/// replay onto the stack itself (`pick`), where what a patch conflicts
/// with is the patches below it, not upstream.
pub fn explain_without_culprits(
    repo: &Repo,
    overlay: &Overlay<'_, Repo>,
    prediction: &Prediction,
    private: bool,
) -> Result<Vec<Vec<ConflictDetail>>> {
    let (questions, hunks) = questions(overlay, prediction, private)?;
    let blamed = vec![Vec::new(); questions.len()];
    details(repo, prediction, &questions, hunks, blamed)
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
    index: &UpstreamIndex,
    merge_base: Oid,
    prediction: &Prediction,
    private: bool,
) -> Result<Vec<Vec<ConflictDetail>>> {
    let base_tree = repo.commit_tree_and_time(merge_base)?.0;
    let (questions, hunks) = questions(overlay, prediction, private)?;
    let blame = |repo: &Repo, which: &[usize]| blame(repo, index, base_tree, &questions, which);
    let [mut here, on_helper] = share_out(&questions, index);
    let answers = if on_helper.is_empty() || index.ahead < PARALLEL_CULPRITS_MIN {
        here.extend(on_helper);
        blame(repo, &here)?
    } else {
        let (mut answers, helper_answers) =
            with_helper_thread(repo, |second| blame(second, &on_helper), || blame(repo, &here));
        if let Ok(answers) = &mut answers {
            answers.extend(helper_answers?);
        }
        answers?
    };
    let mut blamed: Vec<Vec<Oid>> = vec![Vec::new(); questions.len()];
    for (i, oids) in answers {
        blamed[i] = oids;
    }
    details(repo, prediction, &questions, hunks, blamed)
}

/// One question per conflict of every stop (in pick order), with the hunks
/// to show for it (none in a private repository).
fn questions<'p>(
    overlay: &Overlay<'_, Repo>,
    prediction: &'p Prediction,
    private: bool,
) -> Result<(Vec<Question<'p>>, Vec<Vec<Hunk>>)> {
    let mut questions = Vec::new();
    let mut hunks = Vec::new();
    for pick in &prediction.picks {
        let PickOutcome::Conflict(stop) = &pick.outcome else { continue };
        for conflict in &stop.conflicts {
            let regions = conflict_regions(overlay, conflict)?;
            let lookups =
                if regions.is_empty() { vec![None] } else { regions.iter().map(|r| Some(r.0.clone())).collect() };
            questions.push(Question { patch_base: stop.trees[0], conflict, regions: lookups });
            hunks.push(if private { Vec::new() } else { regions.into_iter().map(|r| r.1).collect() });
        }
    }
    Ok((questions, hunks))
}

/// Shares the questions out between this thread and the helper thread:
/// questions about one path stay together (its history is read once), and
/// the halves are balanced by how often upstream changed each path, which is
/// what the search costs (a path the scan did not follow counts as average).
fn share_out(questions: &[Question<'_>], index: &UpstreamIndex) -> [Vec<usize>; 2] {
    let mut by_path: Vec<(&[u8], Vec<usize>)> = Vec::new();
    for (i, q) in questions.iter().enumerate() {
        let path = q.conflict.paths.first().map_or(&[][..], |p| p.as_slice());
        match by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, v)) => v.push(i),
            None => by_path.push((path, vec![i])),
        }
    }
    let weight = |path: &[u8], questions: usize| {
        questions * index.path_history(path).map_or(index.ahead / 20, |h| h.len()).max(1)
    };
    let mut groups: Vec<(usize, Vec<usize>)> = by_path.into_iter().map(|(p, v)| (weight(p, v.len()), v)).collect();
    groups.sort_by_key(|(w, _)| std::cmp::Reverse(*w));
    let (mut here, mut on_helper) = (Vec::new(), Vec::new());
    let (mut here_weight, mut helper_weight) = (0, 0);
    for (w, group) in groups {
        if here_weight <= helper_weight {
            here_weight += w;
            here.extend(group);
        } else {
            helper_weight += w;
            on_helper.extend(group);
        }
    }
    [here, on_helper]
}

/// The upstream commits blamed for each of the questions numbered `which`.
fn blame(
    repo: &Repo,
    index: &UpstreamIndex,
    base_tree: Oid,
    questions: &[Question<'_>],
    which: &[usize],
) -> Result<Vec<(usize, Vec<Oid>)>> {
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
}

/// The details of every pick (empty for picks that do not stop), from the
/// questions in pick order with their hunks and blamed commits.
fn details(
    repo: &Repo,
    prediction: &Prediction,
    questions: &[Question<'_>],
    hunks: Vec<Vec<Hunk>>,
    blamed: Vec<Vec<Oid>>,
) -> Result<Vec<Vec<ConflictDetail>>> {
    let mut details = Vec::with_capacity(prediction.picks.len());
    let mut next = questions.iter().zip(hunks).zip(blamed);
    for pick in &prediction.picks {
        let PickOutcome::Conflict(stop) = &pick.outcome else {
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
