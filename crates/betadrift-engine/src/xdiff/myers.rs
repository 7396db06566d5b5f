// Follows git's xdiff/xdiffi.c (LibXDiff, LGPL-2.1-or-later); see NOTICE.
//! xdiff's "classic" diff: Myers' O(ND) algorithm with git's pre-filtering
//! and cost-cutting heuristics.
//!
//! Before searching, xdiff trims the common head and tail and sets aside
//! lines that cannot (or are unlikely to) take part in a match: lines absent
//! from the other file, and very frequent lines surrounded by such lines.
//! Set-aside lines are simply marked changed. The search then bisects the
//! remaining problem around a middle snake; unless a minimal result is
//! requested it gives up on optimality when the edit cost grows large,
//! accepting a good-looking or the furthest-reaching split instead. Every
//! one of these decisions shows in the output, so all are reproduced.

use std::ops::ControlFlow;

use super::prepare::{Classes, bogosqrt};

/// Frequent lines are discarded only if few of their neighbours are kept.
const DISCARD_RUN_RATIO: isize = 4;
/// Lines occurring this often (or `sqrt(n)` times) count as frequent.
const FREQUENT_LIMIT: usize = 1024;
/// How far the frequent-line scan looks in each direction.
const SCAN_WINDOW: isize = 100;
/// The edit cost is never capped below this.
const MIN_COST_LIMIT: isize = 256;
/// The snake heuristic only starts above this edit cost.
const HEURISTIC_MIN_COST: isize = 256;
/// A run of matching lines at least this long is a "good snake".
const SNAKE_LENGTH: isize = 20;
/// How much a diagonal must out-progress the edit cost to be interesting.
const HEURISTIC_FACTOR: isize = 4;

/// Marks the lines that differ between the two sides of `classes`.
///
/// `changed_old` and `changed_new` have one flag per line and must start out
/// all false.
pub(crate) fn diff(classes: &Classes, minimal: bool, changed_old: &mut [bool], changed_new: &mut [bool]) {
    let (old, new) = (&classes.old[..], &classes.new[..]);
    let head = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let limit = old.len().min(new.len()) - head;
    let tail = old.iter().rev().zip(new.iter().rev()).take(limit).take_while(|(a, b)| a == b).count();
    let kept_old = keep_matchable(old, &classes.count_new, head..old.len() - tail, changed_old);
    let kept_new = keep_matchable(new, &classes.count_old, head..new.len() - tail, changed_new);
    let mut search = Search::new(&kept_old.classes, &kept_new.classes);
    search.compare(minimal, |side, index| match side {
        Side::Old => changed_old[kept_old.lines[index]] = true,
        Side::New => changed_new[kept_new.lines[index]] = true,
    });
}

/// The lines of one side that take part in the search.
struct Kept {
    /// Their classes.
    classes: Vec<u32>,
    /// Their line numbers in the file.
    lines: Vec<usize>,
}

/// How often a line's class occurs in the other file, coarsely.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Matches {
    None,
    Some,
    Many,
}

/// Sets aside the lines of `range` that xdiff's `xdl_cleanup_records` would
/// discard, marking them changed, and returns the others.
fn keep_matchable(classes: &[u32], other_counts: &[u32], range: std::ops::Range<usize>, changed: &mut [bool]) -> Kept {
    let frequent = bogosqrt(classes.len()).min(FREQUENT_LIMIT);
    let matches: Vec<Matches> = classes[range.clone()]
        .iter()
        .map(|&class| match other_counts[class as usize] as usize {
            0 => Matches::None,
            n if n >= frequent => Matches::Many,
            _ => Matches::Some,
        })
        .collect();
    let mut kept = Kept { classes: Vec::with_capacity(matches.len()), lines: Vec::with_capacity(matches.len()) };
    for (offset, &m) in matches.iter().enumerate() {
        let line = range.start + offset;
        if m == Matches::Some || (m == Matches::Many && !lost_among_unmatched(&matches, offset)) {
            kept.classes.push(classes[line]);
            kept.lines.push(line);
        } else {
            changed[line] = true;
        }
    }
    kept
}

/// Whether the frequent line at `at` sits in a run of unmatched and
/// frequent lines with unmatched lines on both sides, dominated by the
/// unmatched ones (`xdl_clean_mmatch`).
fn lost_among_unmatched(matches: &[Matches], at: usize) -> bool {
    let at = at as isize;
    let first = (at - SCAN_WINDOW).max(0);
    let last = (at + SCAN_WINDOW).min(matches.len() as isize - 1);
    let run = |indices: &mut dyn Iterator<Item = isize>| {
        let (mut unmatched, mut frequent) = (0, 0);
        for index in indices {
            match matches[index as usize] {
                Matches::None => unmatched += 1,
                Matches::Many => frequent += 1,
                Matches::Some => break,
            }
        }
        (unmatched, frequent)
    };
    let (unmatched_before, frequent_before) = run(&mut (first..at).rev());
    if unmatched_before == 0 {
        return false;
    }
    let (unmatched_after, frequent_after) = run(&mut (at + 1..=last));
    if unmatched_after == 0 {
        return false;
    }
    let frequent = frequent_before + frequent_after + 2;
    let unmatched = unmatched_before + unmatched_after;
    frequent * DISCARD_RUN_RATIO < frequent + unmatched
}

/// Which input a changed line belongs to.
#[derive(Clone, Copy)]
enum Side {
    Old,
    New,
}

/// Where to split a box, and whether each half must be solved minimally.
struct Split {
    old: isize,
    new: isize,
    minimal_before: bool,
    minimal_after: bool,
}

/// A box of the edit graph still to be compared.
struct Subproblem {
    old: (isize, isize),
    new: (isize, isize),
    minimal: bool,
}

/// The state of the bidirectional search: the two inputs and the furthest
/// forward and backward reach on each diagonal.
struct Search<'a> {
    old: &'a [u32],
    new: &'a [u32],
    forward: Vec<isize>,
    backward: Vec<isize>,
    /// Diagonal `d` is stored at index `d + origin`.
    origin: isize,
    max_cost: isize,
}

impl<'a> Search<'a> {
    /// Prepares a search over the kept lines of both sides.
    fn new(old: &'a [u32], new: &'a [u32]) -> Self {
        let diagonals = old.len() + new.len() + 3;
        Search {
            old,
            new,
            forward: vec![0; diagonals],
            backward: vec![0; diagonals],
            origin: new.len() as isize + 1,
            max_cost: (bogosqrt(diagonals) as isize).max(MIN_COST_LIMIT),
        }
    }

    /// Whether kept old line `old` equals kept new line `new`.
    fn same(&self, old: isize, new: isize) -> bool {
        self.old[old as usize] == self.new[new as usize]
    }

    /// The furthest old line the forward search reached on `diagonal`.
    fn fwd(&self, diagonal: isize) -> isize {
        self.forward[(diagonal + self.origin) as usize]
    }

    fn set_fwd(&mut self, diagonal: isize, value: isize) {
        self.forward[(diagonal + self.origin) as usize] = value;
    }

    /// The furthest old line the backward search reached on `diagonal`.
    fn bwd(&self, diagonal: isize) -> isize {
        self.backward[(diagonal + self.origin) as usize]
    }

    fn set_bwd(&mut self, diagonal: isize, value: isize) {
        self.backward[(diagonal + self.origin) as usize] = value;
    }

    /// Divides and conquers the whole problem (`xdl_recs_cmp`), reporting
    /// changed lines through `mark`. Boxes are handled depth first, earlier
    /// half first, as in git's recursion.
    fn compare(&mut self, minimal: bool, mut mark: impl FnMut(Side, usize)) {
        let mut pending =
            vec![Subproblem { old: (0, self.old.len() as isize), new: (0, self.new.len() as isize), minimal }];
        while let Some(Subproblem { old, new, minimal }) = pending.pop() {
            let (mut old_start, mut old_end, mut new_start, mut new_end) = (old.0, old.1, new.0, new.1);
            while old_start < old_end && new_start < new_end && self.same(old_start, new_start) {
                old_start += 1;
                new_start += 1;
            }
            while old_start < old_end && new_start < new_end && self.same(old_end - 1, new_end - 1) {
                old_end -= 1;
                new_end -= 1;
            }
            if old_start == old_end {
                (new_start..new_end).for_each(|i| mark(Side::New, i as usize));
            } else if new_start == new_end {
                (old_start..old_end).for_each(|i| mark(Side::Old, i as usize));
            } else {
                let bounds = Bounds { old_start, old_end, new_start, new_end };
                let split = self.split(&bounds, minimal);
                pending.push(Subproblem {
                    old: (split.old, old_end),
                    new: (split.new, new_end),
                    minimal: split.minimal_after,
                });
                pending.push(Subproblem {
                    old: (old_start, split.old),
                    new: (new_start, split.new),
                    minimal: split.minimal_before,
                });
            }
        }
    }

    /// Finds where to split a box (`xdl_split`): the middle snake, or a
    /// heuristic split once the cost gets high and `minimal` is false.
    fn split(&mut self, b: &Bounds, minimal: bool) -> Split {
        let (fwd_mid, bwd_mid) = (b.old_start - b.new_start, b.old_end - b.new_end);
        let mut diag =
            Diagonals { fwd_lo: fwd_mid, fwd_hi: fwd_mid, fwd_mid, bwd_lo: bwd_mid, bwd_hi: bwd_mid, bwd_mid };
        self.set_fwd(fwd_mid, b.old_start);
        self.set_bwd(bwd_mid, b.old_end);
        let mut cost = 1;
        loop {
            let forward_snake = match self.forward_pass(b, &mut diag) {
                ControlFlow::Break(split) => return split,
                ControlFlow::Continue(got_snake) => got_snake,
            };
            let backward_snake = match self.backward_pass(b, &mut diag) {
                ControlFlow::Break(split) => return split,
                ControlFlow::Continue(got_snake) => got_snake,
            };
            if !minimal {
                if (forward_snake || backward_snake)
                    && cost > HEURISTIC_MIN_COST
                    && let Some(split) = self.good_snake(b, &diag, cost)
                {
                    return split;
                }
                if cost >= self.max_cost {
                    return self.furthest_reach(b, &diag);
                }
            }
            cost += 1;
        }
    }

    /// Extends every forward path by one edit and its following snake;
    /// breaks with the split if a path meets a backward one, else tells
    /// whether some snake was long.
    fn forward_pass(&mut self, b: &Bounds, diag: &mut Diagonals) -> ControlFlow<Split, bool> {
        // Widen the diagonal range by one, or shrink it where it would leave
        // the box; guard its outer edges with -1.
        if diag.fwd_lo > b.old_start - b.new_end {
            diag.fwd_lo -= 1;
            self.set_fwd(diag.fwd_lo - 1, -1);
        } else {
            diag.fwd_lo += 1;
        }
        if diag.fwd_hi < b.old_end - b.new_start {
            diag.fwd_hi += 1;
            self.set_fwd(diag.fwd_hi + 1, -1);
        } else {
            diag.fwd_hi -= 1;
        }
        let odd = (diag.fwd_mid - diag.bwd_mid) & 1 != 0;
        let mut got_snake = false;
        for d in (diag.fwd_lo..=diag.fwd_hi).rev().step_by(2) {
            let mut i1 = if self.fwd(d - 1) >= self.fwd(d + 1) { self.fwd(d - 1) + 1 } else { self.fwd(d + 1) };
            let start = i1;
            let mut i2 = i1 - d;
            while i1 < b.old_end && i2 < b.new_end && self.same(i1, i2) {
                i1 += 1;
                i2 += 1;
            }
            got_snake |= i1 - start > SNAKE_LENGTH;
            self.set_fwd(d, i1);
            if odd && diag.bwd_lo <= d && d <= diag.bwd_hi && self.bwd(d) <= i1 {
                return ControlFlow::Break(Split::both_minimal(i1, i2));
            }
        }
        ControlFlow::Continue(got_snake)
    }

    /// The mirror image of [`Search::forward_pass`], from the box's end.
    fn backward_pass(&mut self, b: &Bounds, diag: &mut Diagonals) -> ControlFlow<Split, bool> {
        if diag.bwd_lo > b.old_start - b.new_end {
            diag.bwd_lo -= 1;
            self.set_bwd(diag.bwd_lo - 1, isize::MAX);
        } else {
            diag.bwd_lo += 1;
        }
        if diag.bwd_hi < b.old_end - b.new_start {
            diag.bwd_hi += 1;
            self.set_bwd(diag.bwd_hi + 1, isize::MAX);
        } else {
            diag.bwd_hi -= 1;
        }
        let odd = (diag.fwd_mid - diag.bwd_mid) & 1 != 0;
        let mut got_snake = false;
        for d in (diag.bwd_lo..=diag.bwd_hi).rev().step_by(2) {
            let mut i1 = if self.bwd(d - 1) < self.bwd(d + 1) { self.bwd(d - 1) } else { self.bwd(d + 1) - 1 };
            let start = i1;
            let mut i2 = i1 - d;
            while i1 > b.old_start && i2 > b.new_start && self.same(i1 - 1, i2 - 1) {
                i1 -= 1;
                i2 -= 1;
            }
            got_snake |= start - i1 > SNAKE_LENGTH;
            self.set_bwd(d, i1);
            if !odd && diag.fwd_lo <= d && d <= diag.fwd_hi && i1 <= self.fwd(d) {
                return ControlFlow::Break(Split::both_minimal(i1, i2));
            }
        }
        ControlFlow::Continue(got_snake)
    }

    /// Looks for a diagonal that got far from its corner relative to the
    /// edit cost and ends in a snake of [`SNAKE_LENGTH`] matching lines;
    /// forward diagonals first, then backward ones.
    fn good_snake(&self, b: &Bounds, diag: &Diagonals, cost: isize) -> Option<Split> {
        let mut best = 0;
        let mut found = None;
        for d in (diag.fwd_lo..=diag.fwd_hi).rev().step_by(2) {
            let i1 = self.fwd(d);
            let i2 = i1 - d;
            let v = (i1 - b.old_start) + (i2 - b.new_start) - (d - diag.fwd_mid).abs();
            if v > HEURISTIC_FACTOR * cost
                && v > best
                && b.old_start + SNAKE_LENGTH <= i1
                && i1 < b.old_end
                && b.new_start + SNAKE_LENGTH <= i2
                && i2 < b.new_end
                && (1..=SNAKE_LENGTH).all(|k| self.same(i1 - k, i2 - k))
            {
                best = v;
                found = Some((i1, i2));
            }
        }
        if let Some((old, new)) = found {
            return Some(Split { old, new, minimal_before: true, minimal_after: false });
        }
        for d in (diag.bwd_lo..=diag.bwd_hi).rev().step_by(2) {
            let i1 = self.bwd(d);
            let i2 = i1 - d;
            let v = (b.old_end - i1) + (b.new_end - i2) - (d - diag.bwd_mid).abs();
            if v > HEURISTIC_FACTOR * cost
                && v > best
                && b.old_start < i1
                && i1 <= b.old_end - SNAKE_LENGTH
                && b.new_start < i2
                && i2 <= b.new_end - SNAKE_LENGTH
                && (0..SNAKE_LENGTH).all(|k| self.same(i1 + k, i2 + k))
            {
                best = v;
                found = Some((i1, i2));
            }
        }
        found.map(|(old, new)| Split { old, new, minimal_before: false, minimal_after: true })
    }

    /// Gives up on optimality: splits at the forward or backward diagonal
    /// that progressed furthest (measured by `i1 + i2`).
    fn furthest_reach(&self, b: &Bounds, diag: &Diagonals) -> Split {
        let (mut fwd_best, mut fwd_best_old) = (-1, -1);
        for d in (diag.fwd_lo..=diag.fwd_hi).rev().step_by(2) {
            let mut i1 = self.fwd(d).min(b.old_end);
            let mut i2 = i1 - d;
            if b.new_end < i2 {
                i1 = b.new_end + d;
                i2 = b.new_end;
            }
            if fwd_best < i1 + i2 {
                fwd_best = i1 + i2;
                fwd_best_old = i1;
            }
        }
        let (mut bwd_best, mut bwd_best_old) = (isize::MAX, isize::MAX);
        for d in (diag.bwd_lo..=diag.bwd_hi).rev().step_by(2) {
            let mut i1 = self.bwd(d).max(b.old_start);
            let mut i2 = i1 - d;
            if i2 < b.new_start {
                i1 = b.new_start + d;
                i2 = b.new_start;
            }
            if i1 + i2 < bwd_best {
                bwd_best = i1 + i2;
                bwd_best_old = i1;
            }
        }
        if (b.old_end + b.new_end) - bwd_best < fwd_best - (b.old_start + b.new_start) {
            Split { old: fwd_best_old, new: fwd_best - fwd_best_old, minimal_before: true, minimal_after: false }
        } else {
            Split { old: bwd_best_old, new: bwd_best - bwd_best_old, minimal_before: false, minimal_after: true }
        }
    }
}

impl Split {
    /// A split at the middle snake: both halves stay minimal.
    fn both_minimal(old: isize, new: isize) -> Self {
        Split { old, new, minimal_before: true, minimal_after: true }
    }
}

/// The box being split.
struct Bounds {
    old_start: isize,
    old_end: isize,
    new_start: isize,
    new_end: isize,
}

/// The diagonal ranges explored so far, and the middle diagonals.
struct Diagonals {
    fwd_lo: isize,
    fwd_hi: isize,
    fwd_mid: isize,
    bwd_lo: isize,
    bwd_hi: isize,
    bwd_mid: isize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdiff::prepare::classify;

    fn changed(old: &[&[u8]], new: &[&[u8]], minimal: bool) -> (Vec<bool>, Vec<bool>) {
        let classes = classify(old, new);
        let mut a = vec![false; old.len()];
        let mut b = vec![false; new.len()];
        diff(&classes, minimal, &mut a, &mut b);
        (a, b)
    }

    #[test]
    fn marks_a_replaced_line_on_both_sides() {
        let (a, b) = changed(&[b"a\n", b"b\n", b"c\n"], &[b"a\n", b"x\n", b"c\n"], false);
        assert_eq!(a, [false, true, false]);
        assert_eq!(b, [false, true, false]);
    }

    #[test]
    fn lines_missing_from_the_other_side_are_set_aside() {
        let classes = classify(&[b"a\n", b"u\n", b"b\n"], &[b"a\n", b"b\n", b"v\n"]);
        let mut marks = vec![false; 3];
        let kept = keep_matchable(&classes.old, &classes.count_new, 0..3, &mut marks);
        assert_eq!(kept.lines, vec![0, 2]);
        assert_eq!(marks, [false, true, false]);
    }

    #[test]
    fn frequent_lines_between_unmatched_ones_are_dropped() {
        use Matches::{Many, None, Some};
        let matches = [None, None, None, None, Many, None, None, None, None, Some];
        assert!(lost_among_unmatched(&matches, 4));
        let balanced = [None, None, None, Many, None, None, None, Some];
        assert!(!lost_among_unmatched(&balanced, 3));
        let guarded = [Some, Many, None];
        assert!(!lost_among_unmatched(&guarded, 1));
        let crowded = [None, Many, Many, Many, Many, None];
        assert!(!lost_among_unmatched(&crowded, 2));
    }

    #[test]
    fn minimal_and_heuristic_agree_on_small_inputs() {
        let old: Vec<&[u8]> = vec![b"a\n", b"b\n", b"c\n", b"a\n", b"b\n", b"b\n", b"a\n"];
        let new: Vec<&[u8]> = vec![b"c\n", b"b\n", b"a\n", b"b\n", b"a\n", b"c\n"];
        assert_eq!(changed(&old, &new, false), changed(&old, &new, true));
    }
}
