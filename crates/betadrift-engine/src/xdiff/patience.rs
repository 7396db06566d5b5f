// Follows git's xdiff/xpatience.c (LibXDiff, LGPL-2.1-or-later); see NOTICE.
//! Patience diff as git runs it.
//!
//! Lines occurring exactly once in each of the two ranges are candidate
//! anchors; the longest sequence of them in the same order on both sides
//! becomes the skeleton of the diff. Matching lines next to each anchor are
//! absorbed, and the gaps between anchors are diffed the same way, since
//! lines that were repeated in the whole range may be unique in a gap.
//! Ranges without unique common lines go to the Myers diff; ranges without
//! any common line are marked changed entirely.

use super::myers;
use super::prepare::{Classes, classify};

/// Marks the lines that differ between `old` and `new`.
pub(crate) fn diff(
    old: &[&[u8]],
    new: &[&[u8]],
    classes: &Classes,
    changed_old: &mut [bool],
    changed_new: &mut [bool],
) {
    let mut patience = Patience {
        old: &classes.old,
        new: &classes.new,
        slot_of_class: vec![NO_SLOT; classes.count_old.len()],
        pending: vec![(0..old.len(), 0..new.len())],
    };
    // git recurses into the gaps between anchors; they are disjoint, so
    // handling them from a work list gives the same marks.
    while let Some((range1, range2)) = patience.pending.pop() {
        if range1.is_empty() || range2.is_empty() {
            changed_old[range1].fill(true);
            changed_new[range2].fill(true);
            continue;
        }
        match patience.anchors(range1.clone(), range2.clone()) {
            Anchors::NothingInCommon => {
                changed_old[range1].fill(true);
                changed_new[range2].fill(true);
            }
            Anchors::NoUniqueLines => {
                let sub = classify(&old[range1.clone()], &new[range2.clone()]);
                myers::diff(&sub, false, &mut changed_old[range1], &mut changed_new[range2]);
            }
            Anchors::Found(anchors) => patience.walk(&anchors, range1, range2),
        }
    }
}

type LineRange = std::ops::Range<usize>;

const NO_SLOT: u32 = u32::MAX;

/// The second-side state of a class in the current range.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Partner {
    /// Not seen in the new range.
    Absent,
    /// Seen exactly once, at this line.
    Unique(usize),
    /// Repeated in either range.
    Repeated,
}

/// A distinct class of the old range, in order of first occurrence.
struct Slot {
    line1: usize,
    partner: Partner,
}

/// What the search for unique common lines found.
enum Anchors {
    NothingInCommon,
    NoUniqueLines,
    /// Pairs of (old line, new line), in order on both sides.
    Found(Vec<(usize, usize)>),
}

struct Patience<'a> {
    old: &'a [u32],
    new: &'a [u32],
    /// Scratch: the slot of each class while a range is being indexed.
    slot_of_class: Vec<u32>,
    pending: Vec<(LineRange, LineRange)>,
}

impl Patience<'_> {
    /// Finds the longest ordered sequence of lines unique on both sides.
    fn anchors(&mut self, range1: LineRange, range2: LineRange) -> Anchors {
        let mut slots: Vec<Slot> = Vec::new();
        for line in range1.clone() {
            let class = self.old[line] as usize;
            match self.slot_of_class[class] {
                NO_SLOT => {
                    self.slot_of_class[class] = slots.len() as u32;
                    slots.push(Slot { line1: line, partner: Partner::Absent });
                }
                slot => slots[slot as usize].partner = Partner::Repeated,
            }
        }
        let mut has_matches = false;
        for line in range2 {
            let class = self.new[line] as usize;
            if let Some(&slot) = self.slot_of_class.get(class).filter(|&&s| s != NO_SLOT) {
                has_matches = true;
                let partner = &mut slots[slot as usize].partner;
                *partner = match partner {
                    Partner::Absent => Partner::Unique(line),
                    _ => Partner::Repeated,
                };
            }
        }
        for line in range1 {
            self.slot_of_class[self.old[line] as usize] = NO_SLOT;
        }
        if !has_matches {
            return Anchors::NothingInCommon;
        }
        let anchors = longest_increasing(&slots);
        if anchors.is_empty() { Anchors::NoUniqueLines } else { Anchors::Found(anchors) }
    }

    /// Grows each anchor into its neighbouring matches and queues the gaps
    /// (`walk_common_sequence`).
    fn walk(&mut self, anchors: &[(usize, usize)], range1: LineRange, range2: LineRange) {
        let (mut line1, mut line2) = (range1.start, range2.start);
        let mut next_anchor = 0;
        loop {
            let (mut next1, mut next2) = match anchors.get(next_anchor) {
                Some(&(a, b)) => (a, b),
                None => (range1.end, range2.end),
            };
            if next_anchor < anchors.len() {
                while next1 > line1 && next2 > line2 && self.old[next1 - 1] == self.new[next2 - 1] {
                    next1 -= 1;
                    next2 -= 1;
                }
            }
            while line1 < next1 && line2 < next2 && self.old[line1] == self.new[line2] {
                line1 += 1;
                line2 += 1;
            }
            if next1 > line1 || next2 > line2 {
                self.pending.push((line1..next1, line2..next2));
            }
            if next_anchor == anchors.len() {
                return;
            }
            while next_anchor + 1 < anchors.len()
                && anchors[next_anchor + 1].0 == anchors[next_anchor].0 + 1
                && anchors[next_anchor + 1].1 == anchors[next_anchor].1 + 1
            {
                next_anchor += 1;
            }
            line1 = anchors[next_anchor].0 + 1;
            line2 = anchors[next_anchor].1 + 1;
            next_anchor += 1;
        }
    }
}

/// The longest sequence of uniquely paired slots increasing on both sides,
/// chosen as git's patience sorting chooses it.
fn longest_increasing(slots: &[Slot]) -> Vec<(usize, usize)> {
    // `tails[k]` is the slot ending the best known sequence of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut previous: Vec<Option<usize>> = vec![None; slots.len()];
    let partner = |slot: usize| match slots[slot].partner {
        Partner::Unique(line) => line,
        _ => unreachable!("only unique slots enter the sequence"),
    };
    for (slot, entry) in slots.iter().enumerate() {
        let Partner::Unique(line2) = entry.partner else {
            continue;
        };
        let length = tails.partition_point(|&tail| partner(tail) < line2);
        previous[slot] = length.checked_sub(1).map(|k| tails[k]);
        if length == tails.len() {
            tails.push(slot);
        } else {
            tails[length] = slot;
        }
    }
    let mut sequence = Vec::with_capacity(tails.len());
    let mut cursor = tails.last().copied();
    while let Some(slot) = cursor {
        sequence.push((slots[slot].line1, partner(slot)));
        cursor = previous[slot];
    }
    sequence.reverse();
    sequence
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(old: &[&[u8]], new: &[&[u8]]) -> (Vec<bool>, Vec<bool>) {
        let classes = classify(old, new);
        let mut a = vec![false; old.len()];
        let mut b = vec![false; new.len()];
        diff(old, new, &classes, &mut a, &mut b);
        (a, b)
    }

    #[test]
    fn unique_lines_anchor_the_diff() {
        let old: Vec<&[u8]> = vec![b"a\n", b"}\n", b"b\n", b"}\n"];
        let new: Vec<&[u8]> = vec![b"b\n", b"}\n", b"a\n", b"}\n"];
        let (a, b) = changed(&old, &new);
        assert_eq!(a.iter().filter(|&&c| c).count(), 2);
        assert_eq!(b.iter().filter(|&&c| c).count(), 2);
    }

    #[test]
    fn longest_increasing_keeps_the_first_best_chain() {
        let slot = |line1, line2| Slot { line1, partner: Partner::Unique(line2) };
        let slots = [slot(0, 2), slot(1, 0), slot(2, 1), slot(3, 3)];
        assert_eq!(longest_increasing(&slots), vec![(1, 0), (2, 1), (3, 3)]);
    }
}
