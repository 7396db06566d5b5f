// Follows git's diffcore-rename.c (GPL-2.0-only); see NOTICE.
//! Exact renames: a destination whose blob some source had verbatim.
//!
//! This pass is cheap (no blob is read) and runs first so that the expensive
//! passes see fewer candidates.  When several sources share the blob, git
//! takes the first unused one with the same basename among the first 100
//! usable candidates, else the first usable one.  "First" is the order of
//! git's hashmap chain, which is source order unless the table rehashed on
//! its last insertion (then it is reversed); [`ChainedTable`] models that.

use super::content::{BlobSource, is_regular};
use super::gitmap::ChainedTable;
use super::{Detection, MAX_SCORE};

/// How many usable identical candidates git examines before settling.
const MAX_IDENTICAL_CANDIDATES: usize = 100;

/// git's `oidhash()`: the first four bytes of the id, little-endian.
fn oid_hash(oid: git2::Oid) -> u32 {
    let bytes = oid.as_bytes();
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Whether two paths end in the same basename (git's `basename_same()`).
pub(super) fn same_basename(a: &[u8], b: &[u8]) -> bool {
    basename(a) == basename(b)
}

/// The part of `path` after its last `/`.
pub(super) fn basename(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(slash) => &path[slash + 1..],
        None => path,
    }
}

impl<B: BlobSource> Detection<'_, '_, B> {
    /// Pairs every destination with an identical, unused source, in
    /// destination order (git's `find_exact_renames()`).
    pub(super) fn find_exact_renames(&mut self) {
        // git inserts sources last-to-first so that lookups, which walk a
        // chain from its head, see them first-to-last.
        let mut table = ChainedTable::with_expected(self.sources.len());
        let mut entry_source = vec![0; self.sources.len()];
        for &source in self.sources.iter().rev() {
            let entry = table.add(oid_hash(self.side(source).oid));
            entry_source[entry] = source;
        }
        for dest in 0..self.dests.len() {
            let target = self.side(self.dests[dest]);
            let candidates = table.chain_for(oid_hash(target.oid)).map(|entry| entry_source[entry]);
            if let Some(source) = self.best_identical(candidates, target) {
                self.record_rename(dest, source, MAX_SCORE);
            }
        }
    }

    /// Picks the source git's `find_identical_files()` would pick for
    /// `target` among `candidates` (in chain order), if any.
    fn best_identical(&self, candidates: impl Iterator<Item = usize>, target: &super::Side) -> Option<usize> {
        let mut usable = candidates.filter(|&source| {
            let side = self.side(source);
            side.oid == target.oid && (modes_compatible(side.mode, target.mode)) && !self.source_used[source]
        });
        let first = usable.next()?;
        if same_basename(&self.side(first).path, &target.path) {
            return Some(first);
        }
        let same_name = usable
            .take(MAX_IDENTICAL_CANDIDATES - 1)
            .find(|&source| same_basename(&self.side(source).path, &target.path));
        Some(same_name.unwrap_or(first))
    }
}

/// Regular files match whatever their executable bit; anything else
/// (symlinks, gitlinks) only matches the very same mode.
fn modes_compatible(a: u32, b: u32) -> bool {
    (is_regular(a) && is_regular(b)) || a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basename_rules() {
        assert!(same_basename(b"a/foo.c", b"foo.c"));
        assert!(same_basename(b"x/y/foo.c", b"z/foo.c"));
        assert!(!same_basename(b"a/foo.c", b"a/oo.c"));
        assert!(!same_basename(b"afoo.c", b"foo.c"));
        assert_eq!(basename(b"top"), b"top");
    }

    #[test]
    fn modes() {
        assert!(modes_compatible(0o100644, 0o100755));
        assert!(modes_compatible(0o120000, 0o120000));
        assert!(!modes_compatible(0o120000, 0o100644));
        assert!(!modes_compatible(0o160000, 0o100644));
    }
}
