//! How far the stack can go: the newest upstream commit it rebases onto
//! with no stop.
//!
//! When the rebase onto upstream would stop, a sync that refuses leaves the
//! puppetmaster further behind every ten minutes, though usually only a few
//! upstream commits make a patch stop and everything before the first of
//! them could be taken. This module finds U', the newest commit on
//! upstream's first-parent line (merge base → target) onto which the whole
//! stack rebases with no stop, and the commit after it, the one that holds
//! the rest back, with the patch that stops there and its paths.
//!
//! Each probe is an in-memory prediction that ends at the first stop, with
//! `git rebase`'s cherry-pick detection narrowed to what the probed commit
//! reaches. The search gallops up from the merge base (1, 2, 4, … commits
//! above it) to the first stopping probe, then bisects between it and the
//! clean probe below: U' is clean and its successor stops. Where stops come
//! and go along upstream (a conflict that a later upstream commit removes
//! again), U' is a commit below the first stop the gallop meets: the
//! stack never jumps over a commit it would stop on.

use git2::Oid;

use crate::error::{Error, Result};
use crate::git::repo::Repo;
use crate::model::message::MessageInfo;
use crate::model::stack::{Patch, Stack};
use crate::model::upstream::LocalChange;
use crate::rebase::check::Culprit;
use crate::rebase::predict::{Prediction, Stop, first_stop, predict, predict_with, skips};
use betadrift_engine::objects::Overlay;

/// Where the stack can go, when the rebase onto the target would stop.
#[derive(Debug, Clone)]
pub struct HeldBack {
    /// U': the newest first-parent commit the stack rebases onto with no
    /// stop; the merge base when there is none.
    pub onto: Oid,
    /// How many first-parent steps U' is below the target (`<target>~n`).
    pub below_target: usize,
    /// Upstream commits after the merge base that U' brings.
    pub taken: usize,
    /// Upstream commits after the merge base that the target brings.
    pub behind: usize,
    /// The first-parent commit after U': a patch stops on it.
    pub culprit: Culprit,
    /// The position in the stack of the first patch that stops there.
    pub position: usize,
    /// The paths that stop leaves unmerged, sorted.
    pub paths: Vec<Vec<u8>>,
    /// How many predictions the search made.
    pub probes: usize,
    /// `git rebase <U'>`'s cherry-pick detection, per local commit.
    pub cherry: Vec<Option<Oid>>,
}

impl HeldBack {
    /// Upstream commits the stack cannot take yet.
    pub fn held_back(&self) -> usize {
        self.behind - self.taken
    }

    /// Whether U' is the merge base: nothing can be taken.
    pub fn is_stuck(&self) -> bool {
        self.taken == 0
    }

    /// The full prediction of `git rebase <U'>` (clean, unless this is a bug),
    /// new objects in `overlay`.
    pub fn confirm(
        &self,
        repo: &Repo,
        overlay: &Overlay<'_, Repo>,
        stack: &Stack,
        removed: &[usize],
    ) -> Result<Prediction> {
        let locals: Vec<LocalChange> = stack.patches.iter().map(Patch::local_change).collect();
        let p = predict_with(repo, overlay, &self.cherry, &locals, self.onto, stack.merge_base, false, removed)?;
        if !p.is_clean() {
            return Err(Error::Internal {
                message: format!("the rebase onto {} was found clean, then stopped", self.onto),
            });
        }
        Ok(p)
    }
}

/// Finds how far `stack` (with the patches at `removed` left out) can be
/// rebased, or `None` when the rebase onto its upstream runs through.
/// `prediction` is the rebase onto the upstream with the same patches left
/// out: its cherry-pick detection and its first stop are where the search
/// starts, not done again. `culprits` are the upstream commits `check`
/// blamed for its stops: the oldest of them on the line is where the first
/// stop usually comes, so the commit below it and it are probed first
/// (two probes where a search takes about twice the logarithm of the
/// commits behind); when they do not bound a stop, the search runs.
pub fn held_back(
    repo: &Repo,
    stack: &Stack,
    removed: &[usize],
    prediction: &Prediction,
    culprits: &[Oid],
) -> Result<Option<HeldBack>> {
    let _t = crate::support::timing::phase("held back: search");
    let locals: Vec<LocalChange> = stack.patches.iter().map(Patch::local_change).collect();
    let mut line = stack.index.first_parent_line(stack.merge_base);
    line.reverse();
    if line.is_empty() {
        return Ok(None);
    }
    // The prediction answers for the search when it is of this stack onto
    // the end of the line; otherwise the search asks its own questions.
    let same_stack = prediction.cherry.len() == locals.len();
    let search = Search {
        repo,
        stack,
        locals: &locals,
        removed,
        full: if same_stack { prediction.cherry.clone() } else { stack.index.cherry_picked(repo, &locals)? },
        line: &line,
        overlay: Overlay::new(repo),
    };
    let top = if same_stack && prediction.upstream == line[line.len() - 1] {
        prediction.first_stop()
    } else {
        search.probe(line.len())?
    };
    let Some(top) = top else { return Ok(None) };
    if let Some(b) = search.at_first_culprit(culprits)? {
        return search.found(b);
    }
    match boundary(line.len(), Some(top), |k| search.probe(k))? {
        None => Ok(None),
        Some(b) => search.found(b),
    }
}

/// [`held_back`] for a caller that has not predicted the rebase (`status
/// --held-back`): the prediction is made here first.
pub fn held_back_predicted(repo: &Repo, stack: &Stack, removed: &[usize]) -> Result<Option<HeldBack>> {
    let locals: Vec<LocalChange> = stack.patches.iter().map(Patch::local_change).collect();
    let overlay = Overlay::new(repo);
    let (upstream, base) = (stack.upstream.oid, stack.merge_base);
    let prediction = predict(repo, &overlay, &stack.index, &locals, upstream, base, false, removed)?;
    held_back(repo, stack, removed, &prediction, &[])
}

/// Where a search over the commits `0..=m` of the line ended: `lo` is
/// clean, `hi = lo + 1` stops with `stop`, after `probes` probes.
#[derive(Debug)]
struct Boundary<T> {
    lo: usize,
    hi: usize,
    stop: T,
    probes: usize,
}

/// Gallops up from 0 (the merge base, clean by definition) to the first
/// stopping probe at 1, 2, 4, … (or `m`, known to stop), then bisects
/// between it and the clean probe below. `top` is what the prediction onto
/// `m` found: `None` (clean) needs no search. `probe(k)` is `Some` when the
/// rebase onto the commit `k` stops.
///
/// Up from the base rather than down from the target: a probe costs about
/// as much as upstream changed since the merge base (the first picks merge
/// against all of it), and a stack that stops at all usually stops early
/// in a long range, so the cheap probes near the base settle it.
fn boundary<T>(
    m: usize,
    top: Option<T>,
    mut probe: impl FnMut(usize) -> Result<Option<T>>,
) -> Result<Option<Boundary<T>>> {
    let mut probes = 1;
    let Some(mut stop) = top else { return Ok(None) };
    let (mut lo, mut hi, mut step) = (0, m, 1);
    while step < hi {
        probes += 1;
        match probe(step)? {
            None => (lo, step) = (step, step * 2),
            Some(s) => {
                (hi, stop) = (step, s);
                break;
            }
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        probes += 1;
        match probe(mid)? {
            None => lo = mid,
            Some(s) => (hi, stop) = (mid, s),
        }
    }
    Ok(Some(Boundary { lo, hi, stop, probes }))
}

/// One search: the stack, the first-parent line (oldest first) and what
/// every probe shares.
struct Search<'a> {
    repo: &'a Repo,
    stack: &'a Stack,
    locals: &'a [LocalChange],
    removed: &'a [usize],
    /// Cherry-pick detection against the whole upstream.
    full: Vec<Option<Oid>>,
    line: &'a [Oid],
    /// New trees and blobs of the probes, thrown away with the search.
    overlay: Overlay<'a, Repo>,
}

impl Search<'_> {
    /// The commit `k` steps up the line: 0 is the merge base.
    fn at(&self, k: usize) -> Oid {
        if k == 0 { self.stack.merge_base } else { self.line[k - 1] }
    }

    /// The first stop of the rebase onto the commit `k` (index, stop).
    fn probe(&self, k: usize) -> Result<Option<(usize, Stop)>> {
        let tip = self.at(k);
        let cherry = self.cherry_upto(k)?;
        let onto = self.repo.commit_tree_and_time(tip)?.0;
        first_stop(self.repo, &self.overlay, onto, self.locals, &skips(&cherry, self.removed))
    }

    /// The boundary at the oldest of `culprits` on the line, if the rebase
    /// onto the commit below it is clean and onto it stops.
    fn at_first_culprit(&self, culprits: &[Oid]) -> Result<Option<Boundary<(usize, Stop)>>> {
        let Some(hi) = self.line.iter().position(|c| culprits.contains(c)).map(|i| i + 1) else { return Ok(None) };
        let Some(stop) = self.probe(hi)? else { return Ok(None) };
        if hi > 1 && self.probe(hi - 1)?.is_some() {
            return Ok(None);
        }
        Ok(Some(Boundary { lo: hi - 1, hi, stop, probes: 3 }))
    }

    fn cherry_upto(&self, k: usize) -> Result<Vec<Option<Oid>>> {
        if k == 0 {
            return Ok(vec![None; self.locals.len()]);
        }
        self.stack.index.cherry_picked_upto(self.repo, self.locals, &self.full, self.at(k))
    }

    /// The answer: U' at `lo`, the stop `stop` on its successor `hi`.
    fn found(&self, b: Boundary<(usize, Stop)>) -> Result<Option<HeldBack>> {
        let Boundary { lo, hi, stop, probes } = b;
        let culprit = self.at(hi);
        let c = self.repo.commit(culprit)?;
        let (i, stop) = stop;
        let mut paths: Vec<Vec<u8>> = stop.unmerged.iter().map(|u| u.path.clone()).collect();
        paths.sort();
        paths.dedup();
        let onto = self.at(lo);
        Ok(Some(HeldBack {
            onto,
            below_target: self.line.len() - lo,
            taken: if lo == 0 { 0 } else { self.stack.index.count_reachable(onto) },
            behind: self.stack.behind,
            culprit: Culprit { commit: culprit, author: c.author, message: MessageInfo::parse(&c.message) },
            position: self.locals.len().min(i + 1),
            paths,
            probes,
            cherry: self.cherry_upto(lo)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the search over `stops` (whether each commit of the line stops;
    /// index 0, the merge base, never does) and checks what it promises.
    fn search(stops: &[bool]) -> Option<Boundary<usize>> {
        let m = stops.len() - 1;
        let mut asked = vec![m];
        let found = boundary(m, stops[m].then_some(m), |k| {
            assert!(!asked.contains(&k), "probed {k} twice");
            asked.push(k);
            Ok(stops[k].then_some(k))
        })
        .unwrap();
        if let Some(b) = &found {
            assert!(b.lo == 0 || !stops[b.lo], "{stops:?}: lo {} stops", b.lo);
            assert!(stops[b.hi] && b.stop == b.hi, "{stops:?}: hi {} is clean", b.hi);
            assert_eq!(b.hi, b.lo + 1, "{stops:?}");
            assert_eq!(b.probes, asked.len());
        }
        found
    }

    #[test]
    fn a_clean_target_needs_no_search() {
        assert!(search(&[false, false, false]).is_none());
    }

    #[test]
    fn every_boundary_of_a_monotone_line_is_found() {
        for m in 1..70 {
            for first in 1..=m {
                let stops: Vec<bool> = (0..=m).map(|k| k >= first).collect();
                let b = search(&stops).unwrap();
                assert_eq!(b.hi, first, "m {m}");
            }
        }
    }

    #[test]
    fn few_probes_when_only_the_first_commit_can_be_taken() {
        let stops: Vec<bool> = (0..=3076).map(|k| k >= 2).collect();
        let b = search(&stops).unwrap();
        assert_eq!((b.lo, b.hi), (1, 2));
        assert_eq!(b.probes, 3, "the target, 1 and 2");
    }

    #[test]
    fn a_long_line_is_searched_in_logarithmic_probes() {
        for first in [1, 2, 3, 700, 5_000, 9_999, 10_000] {
            let stops: Vec<bool> = (0..=10_000).map(|k| k >= first).collect();
            let b = search(&stops).unwrap();
            assert_eq!(b.hi, first);
            assert!(b.probes <= 2 * 14 + 1, "first stop {first}: {} probes", b.probes);
        }
    }

    #[test]
    fn stops_that_come_and_go_still_give_a_clean_commit_before_a_stopping_one() {
        let mut seed = 7u64;
        for _ in 0..2000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let m = 1 + (seed >> 40) as usize % 40;
            let mut stops: Vec<bool> = (0..=m).map(|k| k > 0 && (seed >> (k % 60)) & 1 == 1).collect();
            stops[m] = true;
            search(&stops).unwrap();
        }
    }
}
