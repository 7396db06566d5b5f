// Follows git's merge-ort.c (GPL-2.0-only); see NOTICE.
//! The rename cache of merge-ort's "redo after renames".
//!
//! When walking the directories that rename detection needs (the deferred
//! ones of a side with relevant rename sources) at least triples the number
//! of paths the walk found, git keeps what rename detection learned
//! (`cached_pairs`, `cached_irrelevant`, `cached_target_names`) and starts the
//! merge over. The second walk knows every relevant source's fate, so it
//! takes directories changed on one side whole (trivial directory merges)
//! unless a rename target lies below them. Results are the same; what the
//! second walk does not enter, it does not report: a file in the base and
//! unchanged on one side, replaced by a directory on the other, is dropped
//! without the "file/directory" message the first walk's `process_entry`
//! would print.

use std::collections::{HashMap, HashSet};

use crate::diffcore_rename::DirRenameCount;
use crate::diffcore_rename::gitmap::{ChainedTable, strhash};

/// merge-ort's `redo_after_renames`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum Redo {
    /// No restart wanted (or the restart is done).
    #[default]
    No,
    /// The deferred walk grew the path count enough: restart after renames.
    Wanted,
    /// This is the restarted walk, with the cache filled.
    Restarted,
}

/// A cached rename source and where it went (`None`: deleted).
pub(super) type CachedPair = (Vec<u8>, Option<Vec<u8>>);

/// What rename detection found, kept across the restart (per side, index 1
/// and 2).
#[derive(Debug, Default)]
pub(super) struct RenameCache {
    /// Rename sources, in the order first cached, with where they went
    /// (`None`: deleted).
    pairs: [Vec<CachedPair>; 3],
    pair_index: [HashMap<Vec<u8>, usize>; 3],
    /// Sources that rename detection stopped caring about.
    pub irrelevant: [HashSet<Vec<u8>>; 3],
    /// The targets of the cached renames.
    pub target_names: [HashSet<Vec<u8>>; 3],
    /// The directory rename counts of the first walk's detection.
    pub dir_counts: [DirRenameCount; 3],
}

impl RenameCache {
    pub fn is_empty(&self) -> bool {
        self.pairs[1].is_empty() && self.pairs[2].is_empty()
    }

    /// Whether `source`'s fate on `side` is known.
    pub fn has_pair(&self, side: usize, source: &[u8]) -> bool {
        self.pair_index[side].contains_key(source)
    }

    /// Where `source` went on `side`: `None` if not cached, `Some(None)` if
    /// deleted.
    pub fn target(&self, side: usize, source: &[u8]) -> Option<Option<&[u8]>> {
        self.pair_index[side].get(source).map(|&i| self.pairs[side][i].1.as_deref())
    }

    /// `strmap_put`: a new source goes last, a known one keeps its place.
    pub fn put(&mut self, side: usize, source: &[u8], target: Option<&[u8]>) {
        if let Some(target) = target {
            self.target_names[side].insert(target.to_vec());
        }
        match self.pair_index[side].get(source) {
            Some(&i) => self.pairs[side][i].1 = target.map(<[u8]>::to_vec),
            None => {
                self.pair_index[side].insert(source.to_vec(), self.pairs[side].len());
                self.pairs[side].push((source.to_vec(), target.map(<[u8]>::to_vec)));
            }
        }
    }

    /// The cached pairs of `side` in the order git's string map iterates
    /// them (`use_cached_pairs` queues them in that order).
    pub fn in_git_order(&self, side: usize) -> Vec<CachedPair> {
        let mut table = ChainedTable::with_expected(0);
        for (source, _) in &self.pairs[side] {
            table.add(strhash(source));
        }
        table.iteration_order().map(|i| self.pairs[side][i].clone()).collect()
    }
}
