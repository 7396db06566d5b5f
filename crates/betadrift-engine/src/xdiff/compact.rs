// Follows git's xdiff/xdiffi.c (LibXDiff, LGPL-2.1-or-later); see NOTICE.
//! Change compaction and edit script extraction.
//!
//! A diff algorithm marks changed lines on both sides. When a run of changed
//! lines could equally sit a few lines higher or lower (because the lines
//! around it repeat), git slides it: as far up as possible, then down as far
//! as possible, merging with runs it bumps into, and finally back up to line
//! up with a change on the other side if one was passed on the way
//! (`xdl_change_compact` without the indent heuristic). The resulting marks
//! are then read off as a list of [`Change`]s.

use super::Change;

/// Per-line "changed" flags of one side, with a permanently unchanged
/// sentinel before the first and after the last line.
#[derive(Debug)]
pub(crate) struct ChangeMap {
    flags: Vec<bool>,
}

impl ChangeMap {
    /// A map of `lines` unchanged lines.
    pub(crate) fn new(lines: usize) -> Self {
        ChangeMap { flags: vec![false; lines + 2] }
    }

    /// The flags of the real lines, for the diff algorithms to set.
    pub(crate) fn marks_mut(&mut self) -> &mut [bool] {
        let end = self.flags.len() - 1;
        &mut self.flags[1..end]
    }

    /// The number of lines.
    fn len(&self) -> usize {
        self.flags.len() - 2
    }

    /// Whether `line` is changed; the sentinels at -1 and `len()` are not.
    fn get(&self, line: isize) -> bool {
        self.flags[(line + 1) as usize]
    }

    /// Marks `line` changed or unchanged.
    fn set(&mut self, line: usize, changed: bool) {
        self.flags[line + 1] = changed;
    }
}

/// A run of changed lines `[start, end)`, possibly empty: an empty group
/// sits just above the unchanged line `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Group {
    start: usize,
    end: usize,
}

impl Group {
    /// Whether the group has no lines.
    fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// One side being walked group by group.
struct Walker<'a> {
    classes: &'a [u32],
    map: &'a mut ChangeMap,
    group: Group,
}

impl<'a> Walker<'a> {
    /// Starts at the first (possibly empty) group.
    fn new(classes: &'a [u32], map: &'a mut ChangeMap) -> Self {
        let mut end = 0;
        while map.get(end as isize) {
            end += 1;
        }
        Walker { classes, map, group: Group { start: 0, end } }
    }

    /// Moves to the next group; false at the end of the file.
    fn next(&mut self) -> bool {
        if self.group.end == self.map.len() {
            return false;
        }
        let start = self.group.end + 1;
        let mut end = start;
        while self.map.get(end as isize) {
            end += 1;
        }
        self.group = Group { start, end };
        true
    }

    /// Moves to the previous group; false at the start of the file.
    fn previous(&mut self) -> bool {
        if self.group.start == 0 {
            return false;
        }
        let end = self.group.start - 1;
        let mut start = end;
        while self.map.get(start as isize - 1) {
            start -= 1;
        }
        self.group = Group { start, end };
        true
    }

    /// Slides the group one line down if its first line equals the line
    /// after it, absorbing a group it runs into.
    fn slide_down(&mut self) -> bool {
        let Group { start, end } = self.group;
        if end < self.map.len() && self.classes[start] == self.classes[end] {
            self.map.set(start, false);
            self.map.set(end, true);
            let mut end = end + 1;
            while self.map.get(end as isize) {
                end += 1;
            }
            self.group = Group { start: start + 1, end };
            true
        } else {
            false
        }
    }

    /// Slides the group one line up if its last line equals the line before
    /// it, absorbing a group it runs into.
    fn slide_up(&mut self) -> bool {
        let Group { start, end } = self.group;
        if start > 0 && self.classes[start - 1] == self.classes[end - 1] {
            self.map.set(start - 1, true);
            self.map.set(end - 1, false);
            let mut start = start - 1;
            while self.map.get(start as isize - 1) {
                start -= 1;
            }
            self.group = Group { start, end: end - 1 };
            true
        } else {
            false
        }
    }
}

/// Slides the change groups of one side (`map`), keeping the groups of the
/// other side (`other_map`) in step.
pub(crate) fn compact(classes: &[u32], map: &mut ChangeMap, other_classes: &[u32], other_map: &mut ChangeMap) {
    let mut this = Walker::new(classes, map);
    let mut other = Walker::new(other_classes, other_map);
    loop {
        if !this.group.is_empty() {
            slide_group(&mut this, &mut other);
        }
        if !this.next() {
            break;
        }
        let advanced = other.next();
        debug_assert!(advanced, "group sync broken moving to next group");
    }
}

/// Slides one non-empty group to its final place.
fn slide_group(this: &mut Walker<'_>, other: &mut Walker<'_>) {
    let mut earliest_end;
    let mut matches_other;
    loop {
        let size = this.group.end - this.group.start;
        matches_other = false;
        while this.slide_up() {
            let moved = other.previous();
            debug_assert!(moved, "group sync broken sliding up");
        }
        earliest_end = this.group.end;
        matches_other |= !other.group.is_empty();
        while this.slide_down() {
            let moved = other.next();
            debug_assert!(moved, "group sync broken sliding down");
            matches_other |= !other.group.is_empty();
        }
        if size == this.group.end - this.group.start {
            break;
        }
    }
    if this.group.end != earliest_end && matches_other {
        // Move back up to the last place lined up with a change on the
        // other side.
        while other.group.is_empty() {
            let slid = this.slide_up();
            let moved = other.previous();
            debug_assert!(slid && moved, "match disappeared");
        }
    }
}

/// Reads the changes off the two maps (`xdl_build_script`).
pub(crate) fn script(old: &ChangeMap, new: &ChangeMap) -> Vec<Change> {
    let mut changes = Vec::new();
    let (mut i1, mut i2) = (0usize, 0usize);
    while i1 < old.len() || i2 < new.len() {
        if old.get(i1 as isize) || new.get(i2 as isize) {
            let (start1, start2) = (i1, i2);
            while old.get(i1 as isize) {
                i1 += 1;
            }
            while new.get(i2 as isize) {
                i2 += 1;
            }
            changes.push(Change { old: start1..i1, new: start2..i2 });
        } else {
            i1 += 1;
            i2 += 1;
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(flags: &[bool]) -> ChangeMap {
        let mut map = ChangeMap::new(flags.len());
        map.marks_mut().copy_from_slice(flags);
        map
    }

    #[test]
    fn script_pairs_groups_across_sides() {
        let old = map(&[false, true, false, false]);
        let new = map(&[false, false, true, true]);
        assert_eq!(script(&old, &new), vec![Change { old: 1..2, new: 1..1 }, Change { old: 3..3, new: 2..4 },]);
    }

    #[test]
    fn insertions_slide_down_as_far_as_possible() {
        // new = a b a b c with the insertion marked at the first "a b".
        let (old_classes, new_classes) = ([0, 1, 2], [0, 1, 0, 1, 2]);
        let mut old = map(&[false; 3]);
        let mut new = map(&[true, true, false, false, false]);
        compact(&old_classes, &mut old, &new_classes, &mut new);
        compact(&new_classes, &mut new, &old_classes, &mut old);
        assert_eq!(script(&old, &new), vec![Change { old: 2..2, new: 2..4 }]);
    }

    #[test]
    fn sliding_lines_up_with_a_change_on_the_other_side() {
        // old: x a c   new: a a c -> deletion of x and insertion of a align.
        let (old_classes, new_classes) = ([9, 0, 2], [0, 0, 2]);
        let mut old = map(&[true, false, false]);
        let mut new = map(&[false, true, false]);
        compact(&old_classes, &mut old, &new_classes, &mut new);
        compact(&new_classes, &mut new, &old_classes, &mut old);
        assert_eq!(script(&old, &new), vec![Change { old: 0..1, new: 0..1 }]);
    }
}
