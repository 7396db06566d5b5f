// Follows git's diffcore-rename.c (GPL-2.0-only); see NOTICE.
//! Basename-guided matching, between exact and inexact detection.
//!
//! Most renames keep the file name and change the directory, so git first
//! compares each remaining source with the one destination sharing its
//! basename, and accepts the pair at a raised threshold (halfway between the
//! minimum score and 100%).  When the basename is not unique on both sides,
//! the destination is instead located through the directory rename guessed
//! from exact renames, when there is one.

use std::collections::HashMap;

use super::content::{BlobSource, RenameError};
use super::exact::basename;
use super::{Detection, MAX_SCORE};

/// Where a basename occurs among candidates: once (at this position) or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Occurrence {
    Unique(usize),
    Repeated,
}

/// Maps each basename of `paths` to its unique position, or `Repeated`.
fn index_basenames<'p>(paths: impl Iterator<Item = (usize, &'p [u8])>) -> HashMap<&'p [u8], Occurrence> {
    let mut map = HashMap::new();
    for (position, path) in paths {
        map.entry(basename(path))
            .and_modify(|seen| *seen = Occurrence::Repeated)
            .or_insert(Occurrence::Unique(position));
    }
    map
}

/// The threshold basename matches must reach: the minimum score plus half
/// of what separates it from a perfect score (git's default
/// `GIT_BASENAME_FACTOR` of 50), computed in floating point as git does.
pub(super) fn basename_min_score(min_score: u32) -> u32 {
    min_score + (0.5 * (f64::from(MAX_SCORE) - f64::from(min_score))) as u32
}

impl<B: BlobSource> Detection<'_, '_, B> {
    /// git's `find_basename_matches()`.
    pub(super) fn find_basename_matches(&mut self) -> Result<(), RenameError> {
        let queue = self.queue;
        let min_score = basename_min_score(self.min_score);
        let source_names = index_basenames(self.sources.iter().map(|&s| (s, queue[s].side().path.as_slice())));
        let dest_names = index_basenames(
            self.dests
                .iter()
                .enumerate()
                .filter(|&(position, _)| self.matched[position].is_none())
                .map(|(position, &d)| (position, queue[d].side().path.as_slice())),
        );
        for source in self.sources.clone() {
            if !self.is_relevant(source) {
                continue;
            }
            let path = &queue[source].side().path;
            let name = basename(path);
            let Some(&dest_seen) = dest_names.get(name) else {
                continue;
            };
            let dest = match (source_names[name], dest_seen) {
                (Occurrence::Unique(_), Occurrence::Unique(dest)) => Some(dest),
                _ => self.info.as_ref().and_then(|info| info.possible_rename(path)),
            };
            let Some(dest) = dest.filter(|&d| self.matched[d].is_none()) else {
                continue;
            };
            let dest_index = self.dests[dest];
            let score = self.content.similarity(queue[source].side(), queue[dest_index].side(), min_score)?;
            if score >= min_score {
                self.record_rename(dest, source, score);
                self.count_dir_rename(source, dest_index);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basename_threshold() {
        assert_eq!(basename_min_score(30_000), 45_000);
        // (60000 - 30001) / 2 = 14999.5, truncated.
        assert_eq!(basename_min_score(30_001), 45_000);
        assert_eq!(basename_min_score(59_999), 59_999);
    }

    #[test]
    fn basenames_unique_or_repeated() {
        let paths: [&[u8]; 3] = [b"a/x.c", b"b/y.c", b"x.c"];
        let map = index_basenames(paths.iter().copied().enumerate());
        assert_eq!(map[&b"x.c"[..]], Occurrence::Repeated);
        assert_eq!(map[&b"y.c"[..]], Occurrence::Unique(1));
    }
}
