// Follows git's xdiff/xprepare.c (LibXDiff, LGPL-2.1-or-later); see NOTICE.
//! Line classification: turning lines into small integers that compare equal
//! exactly when the lines are byte-for-byte equal.
//!
//! xdiff numbers the distinct lines of a pair of files in order of first
//! appearance, the old file first, and counts each class's occurrences on
//! both sides. The numbering itself matters in one place (the histogram
//! index hashes class numbers into buckets), so it is reproduced exactly.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Class numbers of the lines of an old and a new file, with occurrence
/// counts per class.
#[derive(Debug)]
pub(crate) struct Classes {
    /// Class of each old line.
    pub old: Vec<u32>,
    /// Class of each new line.
    pub new: Vec<u32>,
    /// How often each class occurs in the old file.
    pub count_old: Vec<u32>,
    /// How often each class occurs in the new file.
    pub count_new: Vec<u32>,
}

/// Numbers the distinct lines of `old` and `new` as xdiff's classifier does.
pub(crate) fn classify(old: &[&[u8]], new: &[&[u8]]) -> Classes {
    let mut ids: HashMap<&[u8], u32, BuildHasherDefault<LineHasher>> =
        HashMap::with_capacity_and_hasher(old.len() + new.len(), Default::default());
    let mut count_old = Vec::new();
    let mut count_new = Vec::new();
    let old_ids = number(&mut ids, old, &mut count_old, &mut count_new);
    let new_ids = number(&mut ids, new, &mut count_new, &mut count_old);
    Classes { old: old_ids, new: new_ids, count_old, count_new }
}

/// Classifies the lines of one side, counting them in `counts` and giving
/// new classes a zero count in `other_counts`.
fn number<'a>(
    ids: &mut HashMap<&'a [u8], u32, BuildHasherDefault<LineHasher>>,
    lines: &[&'a [u8]],
    counts: &mut Vec<u32>,
    other_counts: &mut Vec<u32>,
) -> Vec<u32> {
    lines
        .iter()
        .map(|&line| {
            let next = u32::try_from(counts.len()).expect("fewer than 2^32 distinct lines");
            let id = *ids.entry(line).or_insert(next);
            if id == next {
                counts.push(0);
                other_counts.push(0);
            }
            counts[id as usize] += 1;
            id
        })
        .collect()
}

/// xdiff's cheap integer square root: the power of two `2^ceil(bits/2)`.
pub(crate) fn bogosqrt(mut n: usize) -> usize {
    let mut root = 1;
    while n > 0 {
        root <<= 1;
        n >>= 2;
    }
    root
}

/// The number of bits of a hash table able to hold `size` entries, at least
/// one (xdiff's `xdl_hashbits`).
pub(crate) fn hashbits(size: usize) -> u32 {
    let mut bits = 0;
    while (1usize << bits) < size && bits < 32 {
        bits += 1;
    }
    bits.max(1)
}

/// A fast non-cryptographic hasher for lines (inputs are not adversarial
/// towards us beyond what git itself tolerates).
#[derive(Default)]
pub(crate) struct LineHasher(u64);

impl Hasher for LineHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(K);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.write(&n.to_le_bytes());
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_first_appearance_old_file_first() {
        let classes = classify(&[b"x\n", b"y\n", b"x\n"], &[b"z\n", b"y\n", b"y"]);
        assert_eq!(classes.old, vec![0, 1, 0]);
        assert_eq!(classes.new, vec![2, 1, 3]);
        assert_eq!(classes.count_old, vec![2, 1, 0, 0]);
        assert_eq!(classes.count_new, vec![0, 1, 1, 1]);
    }

    #[test]
    fn bogosqrt_matches_xdiff() {
        let expected = [(0, 1), (1, 2), (3, 2), (4, 4), (15, 4), (16, 8), (1000, 32)];
        for (n, root) in expected {
            assert_eq!(bogosqrt(n), root, "bogosqrt({n})");
        }
    }

    #[test]
    fn hashbits_rounds_up_to_a_power_of_two() {
        let expected = [(0, 1), (1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (65, 7), (128, 7)];
        for (size, bits) in expected {
            assert_eq!(hashbits(size), bits, "hashbits({size})");
        }
    }
}
