// Follows git's hashmap.c (GPL-2.0-only); see NOTICE.
//! The iteration order of git's chained `struct hashmap`.
//!
//! Two decisions in diffcore-rename depend on the order in which git walks a
//! hashmap: which of several equally good directory-rename guesses wins (the
//! first one iterated), and which of several identical sources an exact
//! rename takes (the first one in the bucket chain).  Reproducing git means
//! reproducing that order, so this module models the table: power-of-four
//! sizes starting at 64, growth past an 80% load, new entries pushed on the
//! head of their bucket's chain, and the chain reversal a rehash causes.

/// Number of buckets of a fresh git hashmap.
const INITIAL_SIZE: usize = 64;
/// log2 of the factor a git hashmap grows by.
const RESIZE_BITS: u32 = 2;
/// Load factor, in percent, past which a git hashmap grows.
const LOAD_FACTOR: usize = 80;

/// git's `strhash()`: 32-bit FNV-1 over the bytes of a string.
pub(crate) fn strhash(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |hash, &byte| hash.wrapping_mul(0x0100_0193) ^ u32::from(byte))
}

/// The resize threshold git computes for a table of `size` buckets.
fn grow_at(size: usize) -> usize {
    size * LOAD_FACTOR / 100
}

/// The table size `hashmap_init()` picks for an expected entry count.
fn initial_size(expected: usize) -> usize {
    let wanted = expected * 100 / LOAD_FACTOR;
    let mut size = INITIAL_SIZE;
    while wanted > size {
        size <<= RESIZE_BITS;
    }
    size
}

/// A model of a git hashmap holding entry numbers `0..n` by their hashes.
#[derive(Debug)]
pub(crate) struct ChainedTable {
    /// Each bucket's chain, head last (so a head push is a `Vec::push`).
    buckets: Vec<Vec<usize>>,
    hashes: Vec<u32>,
    len: usize,
}

impl ChainedTable {
    /// An empty table sized as `hashmap_init(.., expected)` would size it.
    pub(crate) fn with_expected(expected: usize) -> Self {
        Self { buckets: vec![Vec::new(); initial_size(expected)], hashes: Vec::new(), len: 0 }
    }

    /// Adds entry number `self.hashes.len()` with `hash`, as `hashmap_add()`.
    pub(crate) fn add(&mut self, hash: u32) -> usize {
        let entry = self.hashes.len();
        self.hashes.push(hash);
        let bucket = self.bucket_of(hash);
        self.buckets[bucket].push(entry);
        self.len += 1;
        if self.len > grow_at(self.buckets.len()) {
            self.rehash(self.buckets.len() << RESIZE_BITS);
        }
        entry
    }

    /// Moves every entry to a table of `new_size` buckets, walking each old
    /// chain from its head and pushing on the new heads, as git does.
    fn rehash(&mut self, new_size: usize) {
        let old = std::mem::replace(&mut self.buckets, vec![Vec::new(); new_size]);
        for chain in old {
            for &entry in chain.iter().rev() {
                let bucket = self.bucket_of(self.hashes[entry]);
                self.buckets[bucket].push(entry);
            }
        }
    }

    fn bucket_of(&self, hash: u32) -> usize {
        hash as usize & (self.buckets.len() - 1)
    }

    /// Entries in the order `hashmap_for_each` visits them.
    pub(crate) fn iteration_order(&self) -> impl Iterator<Item = usize> + '_ {
        self.buckets.iter().flat_map(|chain| chain.iter().rev().copied())
    }

    /// Entries with exactly `hash`, in the order a lookup walks them.
    pub(crate) fn chain_for(&self, hash: u32) -> impl Iterator<Item = usize> + '_ {
        self.buckets[self.bucket_of(hash)].iter().rev().copied().filter(move |&entry| self.hashes[entry] == hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strhash_is_fnv1() {
        // FNV-1 32-bit reference values.
        assert_eq!(strhash(b""), 0x811c_9dc5);
        assert_eq!(strhash(b"a"), 0x050c_5d7e);
        assert_eq!(strhash(b"foobar"), 0x31f0_b262);
    }

    #[test]
    fn initial_sizes_follow_load_factor() {
        assert_eq!(initial_size(0), 64);
        assert_eq!(initial_size(51), 64);
        assert_eq!(initial_size(52), 256);
        assert_eq!(initial_size(205), 256);
        assert_eq!(initial_size(206), 1024);
    }

    #[test]
    fn chains_are_lifo_and_rehash_reverses_them() {
        let mut table = ChainedTable::with_expected(3);
        for _ in 0..3 {
            table.add(7);
        }
        assert_eq!(table.chain_for(7).collect::<Vec<_>>(), vec![2, 1, 0]);

        // 52 entries overflow 64 buckets (grow_at 51): the rehash on the 52nd
        // insertion reverses every chain.
        let mut table = ChainedTable::with_expected(0);
        for i in 0..52u32 {
            table.add(if i < 3 { 5 } else { 1000 + i });
        }
        assert_eq!(table.chain_for(5).collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    #[test]
    fn iteration_walks_buckets_in_index_order() {
        let mut table = ChainedTable::with_expected(0);
        table.add(3);
        table.add(1);
        table.add(3 + 64);
        assert_eq!(table.iteration_order().collect::<Vec<_>>(), vec![1, 2, 0]);
    }
}
