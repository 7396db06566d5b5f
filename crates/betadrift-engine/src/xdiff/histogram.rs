// Follows git's xdiff/xhistogram.c (EDL-1.0; its notice is kept in full in NOTICE).
//! Histogram diff, as in git's `xdiff/xhistogram.c`.
//!
//! This follows git's C port of JGit's `HistogramDiff` closely, which is
//! permitted by its licence: Copyright (C) 2010, Google Inc. and other
//! copyright owners as documented in JGit's IP log, made available under the
//! Eclipse Distribution License v1.0 (a BSD-style licence; see
//! <http://www.eclipse.org/org/documents/edl-v10.php>).
//!
//! The algorithm indexes the lines of the old range by class, then looks in
//! the new range for the longest run of matching lines whose rarest line
//! occurs least often in the old range, and recurses on both sides of that
//! run. Ranges whose common lines are all too frequent (more than 64
//! occurrences) are handed to the Myers diff; ranges without any common line
//! are marked changed entirely.
//!
//! Line numbers are 1-based here, as in the original, because 0 serves as
//! "none" in the occurrence chains.

use super::Error;
use super::myers;
use super::prepare::{Classes, classify, hashbits};

/// At most this many distinct classes may share a bucket of the index, and
/// occurrence counts above it make a line useless as an anchor.
const MAX_CHAIN_LENGTH: u32 = 64;

/// Marks the lines that differ between `old` and `new`.
pub(crate) fn diff(
    old: &[&[u8]],
    new: &[&[u8]],
    classes: &Classes,
    changed_old: &mut [bool],
    changed_new: &mut [bool],
) -> Result<(), Error> {
    let mut pending = vec![Ranges { line1: 1, count1: old.len(), line2: 1, count2: new.len() }];
    // git recurses into the part before each common run and loops on the
    // part after it; the parts are disjoint, so the order does not matter.
    while let Some(r) = pending.pop() {
        if r.count1 == 0 {
            changed_new[r.line2 - 1..r.line2 - 1 + r.count2].fill(true);
            continue;
        }
        if r.count2 == 0 {
            changed_old[r.line1 - 1..r.line1 - 1 + r.count1].fill(true);
            continue;
        }
        match find_lcs(&classes.old, &classes.new, &r)? {
            Search::FallBack => {
                let old_part = r.line1 - 1..r.line1 - 1 + r.count1;
                let new_part = r.line2 - 1..r.line2 - 1 + r.count2;
                let sub = classify(&old[old_part.clone()], &new[new_part.clone()]);
                myers::diff(&sub, false, &mut changed_old[old_part], &mut changed_new[new_part]);
            }
            Search::NothingInCommon => {
                changed_old[r.line1 - 1..r.line1 - 1 + r.count1].fill(true);
                changed_new[r.line2 - 1..r.line2 - 1 + r.count2].fill(true);
            }
            Search::Found(lcs) => {
                pending.push(Ranges {
                    line1: lcs.end1 + 1,
                    count1: r.end1() - lcs.end1,
                    line2: lcs.end2 + 1,
                    count2: r.end2() - lcs.end2,
                });
                pending.push(Ranges {
                    line1: r.line1,
                    count1: lcs.begin1 - r.line1,
                    line2: r.line2,
                    count2: lcs.begin2 - r.line2,
                });
            }
        }
    }
    Ok(())
}

/// A pair of line ranges still to be compared.
struct Ranges {
    line1: usize,
    count1: usize,
    line2: usize,
    count2: usize,
}

impl Ranges {
    /// The last line of the old range.
    fn end1(&self) -> usize {
        self.line1 + self.count1 - 1
    }

    /// The last line of the new range.
    fn end2(&self) -> usize {
        self.line2 + self.count2 - 1
    }
}

/// A run of matching lines, inclusive at both ends; 0 means "none yet".
#[derive(Clone, Copy, Default)]
struct Region {
    begin1: usize,
    end1: usize,
    begin2: usize,
    end2: usize,
}

/// What the search for a longest common run found.
enum Search {
    Found(Region),
    NothingInCommon,
    FallBack,
}

/// The distinct lines of the old range: one record per class, with its
/// latest-first chain of occurrences.
struct Record {
    /// The first occurrence (line number).
    ptr: usize,
    /// How many occurrences the range has.
    cnt: u32,
    /// The next record in the same bucket (index + 1, 0 for none).
    next: usize,
}

/// The index of the old range used to search the new range.
struct Index<'a> {
    old: &'a [u32],
    new: &'a [u32],
    table_bits: u32,
    /// Bucket heads (record index + 1, 0 for none).
    heads: Vec<usize>,
    records: Vec<Record>,
    /// The record of each old line, by `line - ptr_shift`.
    line_map: Vec<usize>,
    /// The next occurrence of the same class, by `line - ptr_shift`.
    next_ptrs: Vec<usize>,
    ptr_shift: usize,
    /// The lowest occurrence count of the best run so far.
    cnt: u32,
    has_common: bool,
}

impl<'a> Index<'a> {
    /// The bucket of a class (`XDL_HASHLONG`).
    fn bucket(&self, class: u32) -> usize {
        let mask = (1u64 << self.table_bits) - 1;
        let class = u64::from(class);
        ((class + (class >> self.table_bits)) & mask) as usize
    }

    /// Whether old line `line1` equals new line `line2`.
    fn same(&self, line1: usize, line2: usize) -> bool {
        self.old[line1 - 1] == self.new[line2 - 1]
    }

    /// The next occurrence of old line `line`'s class, 0 for none.
    fn next_ptr(&self, line: usize) -> usize {
        self.next_ptrs[line - self.ptr_shift]
    }

    /// How often old line `line`'s class occurs in the range.
    fn count(&self, line: usize) -> u32 {
        self.records[self.line_map[line - self.ptr_shift]].cnt
    }

    /// Indexes the old range, last line first, so that occurrence chains
    /// run in file order (`scanA`).
    fn scan_old(&mut self, r: &Ranges) -> Result<(), Error> {
        for ptr in (r.line1..=r.end1()).rev() {
            let class = self.old[ptr - 1];
            let bucket = self.bucket(class);
            let mut link = self.heads[bucket];
            let mut chain_len = 0;
            while link != 0 {
                let found = link - 1;
                if self.old[self.records[found].ptr - 1] == class {
                    let record = &mut self.records[found];
                    self.next_ptrs[ptr - self.ptr_shift] = record.ptr;
                    record.ptr = ptr;
                    record.cnt = record.cnt.saturating_add(1);
                    self.line_map[ptr - self.ptr_shift] = found;
                    break;
                }
                link = self.records[found].next;
                chain_len += 1;
            }
            if link != 0 {
                continue;
            }
            if chain_len == MAX_CHAIN_LENGTH {
                return Err(Error::HistogramBucketOverflow);
            }
            self.records.push(Record { ptr, cnt: 1, next: self.heads[bucket] });
            self.heads[bucket] = self.records.len();
            self.line_map[ptr - self.ptr_shift] = self.records.len() - 1;
        }
        Ok(())
    }

    /// Tries every occurrence in the old range of the new line `b_ptr` as
    /// the seed of a common run, keeping the best in `lcs`; returns the new
    /// line to continue from (`try_lcs`).
    fn try_lcs(&mut self, lcs: &mut Region, b_ptr: usize, r: &Ranges) -> usize {
        let mut b_next = b_ptr + 1;
        let mut link = self.heads[self.bucket(self.new[b_ptr - 1])];
        while link != 0 {
            let record = &self.records[link - 1];
            let (first, record_cnt) = (record.ptr, record.cnt);
            link = record.next;
            if record_cnt > self.cnt {
                if !self.has_common {
                    self.has_common = self.same(first, b_ptr);
                }
                continue;
            }
            if !self.same(first, b_ptr) {
                continue;
            }
            self.has_common = true;
            let mut a_ptr = first;
            loop {
                let next_occurrence = self.next_ptr(a_ptr);
                let (mut as_, mut bs, mut ae, mut be) = (a_ptr, b_ptr, a_ptr, b_ptr);
                let mut rc = record_cnt;
                while r.line1 < as_ && r.line2 < bs && self.same(as_ - 1, bs - 1) {
                    as_ -= 1;
                    bs -= 1;
                    if 1 < rc {
                        rc = rc.min(self.count(as_));
                    }
                }
                while ae < r.end1() && be < r.end2() && self.same(ae + 1, be + 1) {
                    ae += 1;
                    be += 1;
                    if 1 < rc {
                        rc = rc.min(self.count(ae));
                    }
                }
                if b_next <= be {
                    b_next = be + 1;
                }
                if lcs.end1 - lcs.begin1 < ae - as_ || rc < self.cnt {
                    *lcs = Region { begin1: as_, end1: ae, begin2: bs, end2: be };
                    self.cnt = rc;
                }
                // Continue with the next occurrence beyond this run.
                let mut np = next_occurrence;
                while np != 0 && np <= ae {
                    np = self.next_ptr(np);
                }
                if np == 0 {
                    break;
                }
                a_ptr = np;
            }
        }
        b_next
    }
}

/// Finds the longest common run of the ranges whose rarest line is rarest
/// (`find_lcs`), or decides to fall back to Myers.
fn find_lcs(old: &[u32], new: &[u32], r: &Ranges) -> Result<Search, Error> {
    let table_bits = hashbits(r.count1);
    let mut index = Index {
        old,
        new,
        table_bits,
        heads: vec![0; 1 << table_bits],
        records: Vec::with_capacity(r.count1 / 4 + 1),
        line_map: vec![0; r.count1],
        next_ptrs: vec![0; r.count1],
        ptr_shift: r.line1,
        cnt: MAX_CHAIN_LENGTH + 1,
        has_common: false,
    };
    index.scan_old(r)?;
    let mut lcs = Region::default();
    let mut b_ptr = r.line2;
    while b_ptr <= r.end2() {
        b_ptr = index.try_lcs(&mut lcs, b_ptr, r);
    }
    Ok(if index.has_common && MAX_CHAIN_LENGTH < index.cnt {
        Search::FallBack
    } else if lcs.begin1 == 0 && lcs.begin2 == 0 {
        Search::NothingInCommon
    } else {
        Search::Found(lcs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(old: &[&[u8]], new: &[&[u8]]) -> Result<(Vec<bool>, Vec<bool>), Error> {
        let classes = classify(old, new);
        let mut a = vec![false; old.len()];
        let mut b = vec![false; new.len()];
        diff(old, new, &classes, &mut a, &mut b)?;
        Ok((a, b))
    }

    #[test]
    fn anchors_on_the_rarest_common_lines() {
        let old: Vec<&[u8]> = vec![b"x\n", b"x\n", b"unique\n", b"x\n"];
        let new: Vec<&[u8]> = vec![b"unique\n", b"x\n"];
        let (a, b) = changed(&old, &new).unwrap();
        assert_eq!(a, [true, true, false, false]);
        assert_eq!(b, [false, false]);
    }

    #[test]
    fn nothing_in_common_marks_everything() {
        let (a, b) = changed(&[b"a\n", b"b\n"], &[b"c\n"]).unwrap();
        assert_eq!(a, [true, true]);
        assert_eq!(b, [true]);
    }

    #[test]
    fn too_frequent_lines_fall_back_to_myers() {
        let old: Vec<&[u8]> = vec![b"x\n"; 70];
        let mut new = old.clone();
        new.insert(35, b"y\n");
        let (a, b) = changed(&old, &new).unwrap();
        assert!(a.iter().all(|&c| !c));
        assert_eq!(b.iter().filter(|&&c| c).count(), 1);
    }

    #[test]
    fn a_crowded_bucket_is_an_error_as_in_git() {
        // 65 distinct classes that all land in one bucket of a 65-line range.
        let filler: Vec<Vec<u8>> = (0..10_000).map(|i| format!("L{i}\n").into_bytes()).collect();
        let mut old: Vec<&[u8]> = filler.iter().map(Vec::as_slice).collect();
        let mut new = old.clone();
        for k in 0..65usize {
            old.push(&filler[k * 128 + (5 + 128 - k) % 128]);
        }
        new.push(b"X\n");
        assert_eq!(changed(&old, &new), Err(Error::HistogramBucketOverflow));
    }
}
