// Follows git's diffcore-rename.c (GPL-2.0-only); see NOTICE.
//! Inexact renames: the similarity matrix of what is left.
//!
//! Every unmatched destination is compared with every remaining source; each
//! destination keeps its four best candidates, all candidates are sorted by
//! score (ties: same basename first, then matrix order) and pairs are taken
//! greedily.  The matrix is skipped entirely when it would exceed the
//! rename limit squared, and git then reports the limit it would have needed.

use std::cmp::Ordering;

use super::Detection;
use super::content::{BlobSource, RenameError};
use super::exact::same_basename;

/// How many candidate sources git keeps per destination.
const CANDIDATES_PER_DEST: usize = 4;

/// One cell of git's `diff_score` matrix; `dest == None` is an empty slot.
#[derive(Debug, Clone, Copy, Default)]
struct Candidate {
    /// Position in `dests`.
    dest: Option<usize>,
    /// Queue index of the source.
    source: usize,
    score: u32,
    same_name: bool,
}

/// git's `score_compare()`: empty slots last, then higher score, then same
/// basename first.  `Less` means "sorts earlier", i.e. better.
fn rank(a: &Candidate, b: &Candidate) -> Ordering {
    match (a.dest, b.dest) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        _ => b.score.cmp(&a.score).then_with(|| b.same_name.cmp(&a.same_name)),
    }
}

/// git's `record_if_better()`: replaces the first worst slot when the new
/// candidate is strictly better than it.
fn keep_if_better(slots: &mut [Candidate; CANDIDATES_PER_DEST], candidate: Candidate) {
    let mut worst = 0;
    for i in 1..CANDIDATES_PER_DEST {
        if rank(&slots[i], &slots[worst]) == Ordering::Greater {
            worst = i;
        }
    }
    if rank(&slots[worst], &candidate) == Ordering::Greater {
        slots[worst] = candidate;
    }
}

/// The rename limit check: `Some(needed)` when `dests * sources` exceeds
/// `limit^2` (0 means unlimited).
fn limit_exceeded(dests: usize, sources: usize, limit: usize) -> Option<usize> {
    if limit == 0 {
        return None;
    }
    let cells = (dests as u128) * (sources as u128);
    (cells > (limit as u128) * (limit as u128)).then_some(dests.max(sources))
}

impl<B: BlobSource> Detection<'_, '_, B> {
    /// The matrix phase of `diffcore_rename_extended()`.
    pub(super) fn find_inexact_renames(&mut self) -> Result<(), RenameError> {
        let dest_count = self.unmatched_dest_count();
        if dest_count == 0 || self.sources.is_empty() {
            return Ok(());
        }
        if let Some(needed) = limit_exceeded(dest_count, self.sources.len(), self.rename_limit) {
            self.needed_limit = needed;
            return Ok(());
        }
        let mut matrix = Vec::with_capacity(dest_count * CANDIDATES_PER_DEST);
        for dest in 0..self.dests.len() {
            if self.matched[dest].is_none() {
                matrix.extend(self.best_candidates(dest)?);
            }
        }
        matrix.sort_by(rank);
        self.take_best_pairs(&matrix);
        Ok(())
    }

    /// The four best sources for destination `dest`, in git's slot order.
    fn best_candidates(&mut self, dest: usize) -> Result<[Candidate; CANDIDATES_PER_DEST], RenameError> {
        let mut slots = [Candidate::default(); CANDIDATES_PER_DEST];
        let target = self.side(self.dests[dest]);
        for j in 0..self.sources.len() {
            let source = self.sources[j];
            let side = self.side(source);
            let score = self.content.similarity(side, target, self.min_score)?;
            let candidate =
                Candidate { dest: Some(dest), source, score, same_name: same_basename(&side.path, &target.path) };
            keep_if_better(&mut slots, candidate);
        }
        Ok(slots)
    }

    /// git's `find_renames()`: takes pairs best-first while they reach the
    /// minimum score, skipping used destinations and sources.
    fn take_best_pairs(&mut self, sorted: &[Candidate]) {
        for candidate in sorted {
            let Some(dest) = candidate.dest else { break };
            if candidate.score < self.min_score {
                break;
            }
            if self.matched[dest].is_some() || self.source_used[candidate.source] {
                continue;
            }
            self.record_rename(dest, candidate.source, candidate.score);
            self.count_dir_rename(candidate.source, self.dests[dest]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(dest: usize, source: usize, score: u32, same_name: bool) -> Candidate {
        Candidate { dest: Some(dest), source, score, same_name }
    }

    #[test]
    fn ranking_prefers_score_then_basename() {
        let empty = Candidate::default();
        assert_eq!(rank(&cand(0, 0, 10, false), &empty), Ordering::Less);
        assert_eq!(rank(&cand(0, 0, 10, false), &cand(0, 1, 9, true)), Ordering::Less);
        assert_eq!(rank(&cand(0, 0, 10, true), &cand(0, 1, 10, false)), Ordering::Less);
        assert_eq!(rank(&cand(0, 0, 10, true), &cand(0, 1, 10, true)), Ordering::Equal);
    }

    #[test]
    fn slots_keep_first_of_equals_and_replace_first_worst() {
        let mut slots = [Candidate::default(); CANDIDATES_PER_DEST];
        for (source, score) in [(0, 5), (1, 7), (2, 5), (3, 9), (4, 5), (5, 6)] {
            keep_if_better(&mut slots, cand(0, source, score, false));
        }
        // Source 4 ties with the worst (5) and is not taken; source 5 (6)
        // replaces the first slot holding a 5, i.e. source 0's.
        let kept: Vec<_> = slots.iter().map(|c| c.source).collect();
        assert_eq!(kept, vec![5, 1, 2, 3]);
    }

    #[test]
    fn limit_is_a_square() {
        assert_eq!(limit_exceeded(7000, 7000, 7000), None);
        assert_eq!(limit_exceeded(7001, 7000, 7000), Some(7001));
        assert_eq!(limit_exceeded(49_000_001, 1, 7000), Some(49_000_001));
        assert_eq!(limit_exceeded(3, 1_000_000, 0), None);
        assert_eq!(limit_exceeded(2, 3, 2), Some(3));
    }
}
