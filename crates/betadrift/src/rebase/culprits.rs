//! Which upstream commits caused a predicted conflict.
//!
//! "Your patch conflicts" is only half an answer; the admin needs "with
//! upstream change Y by Z for task T". For a content conflict the lines in
//! conflict are followed forward through every upstream commit since the
//! merge base that touched the file, and the commits whose changes overlap
//! (or touch) those lines are the culprits, since git treats adjacent
//! changes as conflicting. For other conflicts (a file deleted or renamed,
//! a directory moved) the culprits are the upstream commits that changed
//! those paths; for a conflict with a directory rename ("file location",
//! "implicit dir rename"), also the commits that renamed the directory:
//! those that changed both the old directory and the new one.

use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;
use std::sync::Arc;

use git2::Oid;

use crate::error::Result;
use crate::git::objects::lookup_path;
use crate::git::repo::Repo;
use crate::model::upstream::{PathChange, UpstreamIndex};
use betadrift_engine::merge::{Conflict, ConflictKind};
use betadrift_engine::objects::{EntryRef, ObjectRead};
use betadrift_engine::xdiff::{self, Algorithm, Change};

/// How many culprits to name per conflict, newest last.
const MAX_CULPRITS: usize = 5;

/// A change more than this many lines away from a region, counted from
/// where the two versions start and stop differing, is not diffed to know
/// that it misses the region. xdiff slides a change through repeated lines
/// (compaction), so the margin must exceed any realistic slide.
const SLIDE_MARGIN: usize = 150;

/// Finds culprits for every conflict of one check run. A run has a dozen
/// stops with a few conflicts and hunks each, often in the same files, and
/// each question walks thousands of upstream commits: the history of each
/// path and the diff of each pair of versions are computed once.
pub struct Culprits<'a> {
    repo: &'a Repo,
    index: &'a UpstreamIndex,
    merge_base_tree: Oid,
    histories: HashMap<Vec<u8>, Arc<[PathChange]>>,
    diffs: HashMap<(Oid, Oid), Option<Rc<[Change]>>>,
    ends: HashMap<(Oid, Oid), Ends>,
}

impl std::fmt::Debug for Culprits<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Culprits").field("paths", &self.histories.len()).finish_non_exhaustive()
    }
}

impl<'a> Culprits<'a> {
    /// A finder for conflicts against `index`, whose merge base has the tree
    /// `merge_base_tree`.
    pub fn new(repo: &'a Repo, index: &'a UpstreamIndex, merge_base_tree: Oid) -> Culprits<'a> {
        Culprits {
            repo,
            index,
            merge_base_tree,
            histories: HashMap::new(),
            diffs: HashMap::new(),
            ends: HashMap::new(),
        }
    }

    /// The upstream commits behind one conflict of the patch whose parent
    /// tree is `patch_base` (the merge base of the pick), oldest first; for
    /// a content conflict, those whose changes overlap `base_region` (lines
    /// of the patch base's version).
    pub fn find(
        &mut self,
        patch_base: Oid,
        conflict: &Conflict,
        base_region: Option<Range<usize>>,
    ) -> Result<Vec<Oid>> {
        let Some(path) = conflict.paths.first() else { return Ok(Vec::new()) };
        let mut found = match (conflict.kind, base_region) {
            (ConflictKind::Content, Some(region)) => match self.region_at_merge_base(patch_base, path, region)? {
                Some(region) => self.overlapping_commits(path, region)?,
                None => self.touching_commits(&conflict.paths)?,
            },
            (
                ConflictKind::DirectoryRename
                | ConflictKind::DirectoryRenameInTheWay
                | ConflictKind::DirectoryRenameCollision,
                _,
            ) => {
                let mut found = self.touching_commits(&conflict.paths)?;
                found.extend(self.directory_renames(&conflict.paths)?);
                self.in_upstream_order(found)
            }
            _ => self.touching_commits(&conflict.paths)?,
        };
        if found.len() > MAX_CULPRITS {
            found.drain(..found.len() - MAX_CULPRITS);
        }
        Ok(found)
    }

    /// The upstream commits since the merge base that changed `path`: as
    /// the patch-id scan saw them if it followed the path (conflicts are on
    /// paths local patches touch), else found by comparing tree ids down the
    /// path, stopping at the first level where parent and commit agree.
    fn history(&mut self, path: &[u8]) -> Result<Arc<[PathChange]>> {
        if let Some(h) = self.histories.get(path) {
            return Ok(Arc::clone(h));
        }
        if let Some(h) = self.index.path_history(path) {
            self.histories.insert(path.to_vec(), Arc::clone(&h));
            return Ok(h);
        }
        let mut changes = Vec::new();
        for (commit, parent, tree) in self.index.since_base() {
            if let Some((before, after)) = changed_entry(self.repo, parent, tree, path)? {
                changes.push(PathChange { commit, before, after });
            }
        }
        let changes: Arc<[PathChange]> = changes.into();
        self.histories.insert(path.to_vec(), Arc::clone(&changes));
        Ok(changes)
    }

    /// The line changes from one blob to another; `None` when they cannot
    /// be diffed (binary, too large).
    fn diff(&mut self, old: Oid, new: Oid) -> Result<Option<Rc<[Change]>>> {
        if let Some(d) = self.diffs.get(&(old, new)) {
            return Ok(d.clone());
        }
        let (a, b) = (self.repo.blob(old)?, self.repo.blob(new)?);
        let changes = xdiff::diff(&a, &b, Algorithm::Histogram).ok().map(Rc::from);
        self.diffs.insert((old, new), changes.clone());
        Ok(changes)
    }

    /// Upstream commits (oldest first) that changed any of `paths`.
    fn touching_commits(&mut self, paths: &[Vec<u8>]) -> Result<Vec<Oid>> {
        let mut commits: Vec<Oid> = Vec::new();
        for path in paths {
            commits.extend(self.history(path)?.iter().map(|c| c.commit));
        }
        Ok(self.in_upstream_order(commits))
    }

    /// `commits` in upstream order, each once.
    fn in_upstream_order(&self, mut commits: Vec<Oid>) -> Vec<Oid> {
        let order: HashMap<Oid, usize> = self.index.since_base().enumerate().map(|(i, (c, _, _))| (c, i)).collect();
        commits.sort_by_key(|c| order.get(c).copied());
        commits.dedup();
        commits
    }

    /// The upstream commits that renamed the directory behind a conflict
    /// whose `paths` are the path a directory rename leads to, then the
    /// paths it would move there: those that changed both the old and the
    /// new directory.
    fn directory_renames(&mut self, paths: &[Vec<u8>]) -> Result<Vec<Oid>> {
        let Some((new_path, sources)) = paths.split_first() else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for source in sources {
            let (old_dir, new_dir) = renamed_directories(source, new_path);
            let old: Vec<Oid> = match old_dir {
                Some(dir) => self.history(dir)?.iter().map(|c| c.commit).collect(),
                None => Vec::new(),
            };
            match new_dir {
                Some(dir) => out.extend(self.history(dir)?.iter().map(|c| c.commit).filter(|c| old.contains(c))),
                None => out.extend(old),
            }
        }
        Ok(out)
    }

    /// Maps a line range of the patch's base version of `path` to the same
    /// lines in the merge base's version (local patches below may have moved
    /// them). `None` if either version lacks the file.
    fn region_at_merge_base(
        &mut self,
        patch_base: Oid,
        path: &[u8],
        region: Range<usize>,
    ) -> Result<Option<Range<usize>>> {
        let Some(at_base) = lookup_path(self.repo, self.merge_base_tree, path)? else { return Ok(None) };
        let Some(at_patch) = lookup_path(self.repo, patch_base, path)? else { return Ok(None) };
        if at_base.oid == at_patch.oid {
            return Ok(Some(region));
        }
        Ok(Some(match self.diff(at_base.oid, at_patch.oid)? {
            Some(changes) => map_back(&changes, region),
            None => region,
        }))
    }

    /// Upstream commits (oldest first) whose changes to `path` overlap or
    /// touch `region`, following the region forward through each change.
    fn overlapping_commits(&mut self, path: &[u8], mut region: Range<usize>) -> Result<Vec<Oid>> {
        let mut out = Vec::new();
        for change in self.history(path)?.iter() {
            let (before, after) = (change.before.map(|e| e.1), change.after.map(|e| e.1));
            if before == after {
                continue; // a mode change leaves the lines alone
            }
            let (Some(before), Some(after)) = (before, after) else {
                out.push(change.commit); // the file was created or deleted here
                continue;
            };
            // Most upstream edits to a large file are nowhere near the
            // region: the common head and tail say so without a diff.
            let ends = match self.ends.get(&(before, after)) {
                Some(e) => *e,
                None => {
                    let e = Ends::of(&self.repo.blob(before)?, &self.repo.blob(after)?);
                    *self.ends.entry((before, after)).or_insert(e)
                }
            };
            if region.end + SLIDE_MARGIN < ends.prefix {
                continue;
            }
            if region.start > (ends.old_lines - ends.suffix) + SLIDE_MARGIN {
                // Wholly after every change: moved by the change in length.
                let shift = |line: usize| (line + ends.new_lines).saturating_sub(ends.old_lines);
                region = shift(region.start)..shift(region.end);
                continue;
            }
            let Some(changes) = self.diff(before, after)? else {
                out.push(change.commit);
                continue;
            };
            if changes.iter().any(|c| c.old.start <= region.end && region.start <= c.old.end) {
                out.push(change.commit);
            }
            region = map_forward(&changes, region);
        }
        Ok(out)
    }
}

/// Where two versions of a file agree: whole lines at the start and at
/// the end (never overlapping), and each version's line count, with lines
/// as xdiff splits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ends {
    prefix: usize,
    suffix: usize,
    old_lines: usize,
    new_lines: usize,
}

impl Ends {
    fn of(old: &[u8], new: &[u8]) -> Ends {
        let lines =
            |d: &[u8]| memchr::memchr_iter(b'\n', d).count() + usize::from(!d.is_empty() && !d.ends_with(b"\n"));
        let (old_lines, new_lines) = (lines(old), lines(new));
        let head = old.iter().zip(new).take_while(|(a, b)| a == b).count();
        // Lines wholly before the first difference.
        let prefix = memchr::memchr_iter(b'\n', &old[..head]).count();
        let tail = old.iter().rev().zip(new.iter().rev()).take_while(|(a, b)| a == b).count();
        // Lines starting strictly inside the common tail (a line starting
        // right at its edge follows a byte that differs, so it may not
        // start a line on the other side).
        let (n, m) = (old.len(), new.len());
        let suffix = if tail == n && tail == m {
            old_lines
        } else {
            memchr::memchr_iter(b'\n', &old[n - tail..n.saturating_sub(1).max(n - tail)]).count()
        };
        let suffix = suffix.min(old_lines - prefix.min(old_lines)).min(new_lines - prefix.min(new_lines));
        Ends { prefix, suffix, old_lines, new_lines }
    }
}

/// How `path` differs between two trees: `None` if it does not, else its
/// (mode, object) on each side (`None` where absent). Descends only while
/// the subtrees on the way differ.
#[allow(clippy::type_complexity)]
fn changed_entry(
    repo: &Repo,
    old: Option<Oid>,
    new: Oid,
    path: &[u8],
) -> Result<Option<(Option<(u32, Oid)>, Option<(u32, Oid)>)>> {
    let (mut a, mut b) = (old, Some(new));
    let mut parts = path.split(|&c| c == b'/').peekable();
    while let Some(name) = parts.next() {
        if a == b {
            return Ok(None);
        }
        let last = parts.peek().is_none();
        let (ta, tb) = (a.map(|t| repo.tree(t)).transpose()?, b.map(|t| repo.tree(t)).transpose()?);
        let ea = ta.as_ref().and_then(|t| t.get(name));
        let eb = tb.as_ref().and_then(|t| t.get(name));
        let key = |e: Option<EntryRef<'_>>| e.map(|e| (e.mode, e.id));
        if key(ea) == key(eb) {
            return Ok(None);
        }
        if last {
            let entry = |e: Option<EntryRef<'_>>| e.map(|e| (e.mode, e.oid()));
            return Ok(Some((entry(ea), entry(eb))));
        }
        let sub = |e: Option<EntryRef<'_>>| e.filter(|e| e.is_tree()).map(|e| e.oid());
        (a, b) = (sub(ea), sub(eb));
    }
    Ok(None)
}

/// The directories a directory rename moved `old_path` from and to
/// `new_path`: what is left of each once the path components they end in
/// alike are taken off (`dir/sub/f` and `modules/sub/f`: `dir` and
/// `modules`). `None` for the top of the tree (every commit changes it).
fn renamed_directories<'p>(old_path: &'p [u8], new_path: &'p [u8]) -> (Option<&'p [u8]>, Option<&'p [u8]>) {
    let mut old_end = old_path.len();
    let mut new_end = new_path.len();
    loop {
        let old_slash = old_path[..old_end].iter().rposition(|&b| b == b'/');
        let new_slash = new_path[..new_end].iter().rposition(|&b| b == b'/');
        let old_name = &old_path[old_slash.map_or(0, |i| i + 1)..old_end];
        let new_name = &new_path[new_slash.map_or(0, |i| i + 1)..new_end];
        match (old_slash, new_slash) {
            (Some(o), Some(n)) if old_name == new_name => (old_end, new_end) = (o, n),
            _ => break,
        }
    }
    // What is left ends where the components stopped agreeing.
    let dir = |path: &'p [u8], end: usize| {
        let cut = if end == path.len() { path[..end].iter().rposition(|&b| b == b'/') } else { Some(end) };
        cut.map(|i| &path[..i]).filter(|d| !d.is_empty())
    };
    (dir(old_path, old_end), dir(new_path, new_end))
}

/// Where the lines `region` of the old side end up on the new side; a
/// change overlapping the region pulls its whole new range in.
fn map_forward(changes: &[Change], region: Range<usize>) -> Range<usize> {
    let mut start = region.start as isize;
    let mut end = region.end as isize;
    let (mut shift_start, mut shift_end) = (0isize, 0isize);
    let (mut start_fixed, mut end_fixed) = (None, None);
    for c in changes {
        let delta = c.new.len() as isize - c.old.len() as isize;
        // The start line: moved by changes wholly before it, absorbed by one containing it.
        if start_fixed.is_none() {
            if c.old.end <= region.start && !c.old.is_empty() || c.old.is_empty() && c.old.start <= region.start {
                shift_start += delta;
            } else if c.old.start <= region.start {
                start_fixed = Some(c.new.start);
            }
        }
        if end_fixed.is_none() {
            if c.old.end < region.end || c.old.is_empty() && c.old.start < region.end {
                shift_end += delta;
                if c.old.end > region.start && !c.old.is_empty() && c.old.end > region.end {
                    end_fixed = Some(c.new.end);
                }
            } else if c.old.start < region.end {
                end_fixed = Some(c.new.end);
            }
        }
    }
    start = start_fixed.map_or(start + shift_start, |s| s as isize);
    end = end_fixed.map_or(end + shift_end, |e| e as isize);
    let start = start.max(0) as usize;
    start..(end.max(0) as usize).max(start)
}

/// The inverse of [`map_forward`]: lines of the new side back to the old.
fn map_back(changes: &[Change], region: Range<usize>) -> Range<usize> {
    let flipped: Vec<Change> = changes.iter().map(|c| Change { old: c.new.clone(), new: c.old.clone() }).collect();
    map_forward(&flipped, region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(old: Range<usize>, new: Range<usize>) -> Change {
        Change { old, new }
    }

    #[test]
    fn ends_count_whole_common_lines() {
        let e = Ends::of(b"a\nb\nc\nd\n", b"a\nB\nc\nd\n");
        assert_eq!(e, Ends { prefix: 1, suffix: 2, old_lines: 4, new_lines: 4 });
        // A line that differs only in its last byte is not common.
        let e = Ends::of(b"a\nb", b"a\nbc");
        assert_eq!(e, Ends { prefix: 1, suffix: 0, old_lines: 2, new_lines: 2 });
        // Insertion of a repeated line: head and tail may not overlap.
        let e = Ends::of(b"x\nx\n", b"x\nx\nx\n");
        assert_eq!(e, Ends { prefix: 2, suffix: 0, old_lines: 2, new_lines: 3 });
        let e = Ends::of(b"", b"a\n");
        assert_eq!(e, Ends { prefix: 0, suffix: 0, old_lines: 0, new_lines: 1 });
    }

    /// The shortcut in `overlapping_commits` (no diff when the region is
    /// far from where the versions differ) gives what the diff gives.
    #[test]
    fn skipping_far_changes_agrees_with_the_diff() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut skipped = 0;
        for _ in 0..300 {
            // Few distinct lines, so that xdiff has changes to slide.
            let old: Vec<String> = (0..200 + next(800)).map(|_| format!("l{}\n", next(6))).collect();
            let mut new = old.clone();
            for _ in 0..1 + next(3) {
                let at = next(new.len());
                match next(3) {
                    0 => drop(new.remove(at)),
                    1 => new.insert(at, format!("n{}\n", next(3))),
                    _ => new[at] = format!("m{}\n", next(4)),
                }
            }
            let (a, b) = (old.concat(), new.concat());
            let start = next(old.len());
            let region = start..(start + next(5)).min(old.len());
            let changes = xdiff::diff(a.as_bytes(), b.as_bytes(), Algorithm::Histogram).unwrap();
            let full_hit = changes.iter().any(|c| c.old.start <= region.end && region.start <= c.old.end);
            let full_region = map_forward(&changes, region.clone());
            let ends = Ends::of(a.as_bytes(), b.as_bytes());
            if region.end + SLIDE_MARGIN < ends.prefix {
                skipped += 1;
                assert!(!full_hit, "{region:?} {ends:?}");
                assert_eq!(full_region, region);
            } else if region.start > (ends.old_lines - ends.suffix) + SLIDE_MARGIN {
                skipped += 1;
                assert!(!full_hit, "{region:?} {ends:?}");
                let shift = |line: usize| (line + ends.new_lines).saturating_sub(ends.old_lines);
                assert_eq!(full_region, shift(region.start)..shift(region.end));
            }
        }
        assert!(skipped > 50, "the shortcut was taken only {skipped} times");
    }

    #[test]
    fn renamed_directories_are_what_differs_before_the_common_tail() {
        let dirs = |a: &str, b: &str| {
            let (x, y) = renamed_directories(a.as_bytes(), b.as_bytes());
            (x.map(|d| String::from_utf8_lossy(d).into_owned()), y.map(|d| String::from_utf8_lossy(d).into_owned()))
        };
        let some = |a: &str, b: &str| (Some(a.to_owned()), Some(b.to_owned()));
        assert_eq!(dirs("dir/w.pp", "modules/w.pp"), some("dir", "modules"));
        assert_eq!(dirs("dir/sub/w.pp", "modules/sub/w.pp"), some("dir", "modules"));
        assert_eq!(dirs("a/x/w", "a/y/w"), some("a/x", "a/y"));
        assert_eq!(dirs("a/b/w", "c/b/w"), some("a", "c"));
        assert_eq!(dirs("dir/w.pp", "w.pp"), (Some("dir".to_owned()), None));
        assert_eq!(dirs("w.pp", "new/w.pp"), (None, Some("new".to_owned())));
        // Names that differ (never from a directory rename): their directories.
        assert_eq!(dirs("dir/a", "new/b"), some("dir", "new"));
    }

    #[test]
    fn regions_move_past_earlier_changes() {
        // Two lines inserted at the top push lines 5..7 down by two.
        let changes = [change(0..0, 0..2)];
        assert_eq!(map_forward(&changes, 5..7), 7..9);
        assert_eq!(map_back(&changes, 7..9), 5..7);
        // One line deleted before the region pulls it up.
        assert_eq!(map_forward(&[change(1..2, 1..1)], 5..7), 4..6);
    }

    #[test]
    fn overlapping_changes_pull_in_their_new_range() {
        // Lines 4..6 replaced by 4..9: a region 5..6 now spans the change.
        assert_eq!(map_forward(&[change(4..6, 4..9)], 5..6), 4..9);
        // A change after the region leaves it alone.
        assert_eq!(map_forward(&[change(10..12, 10..11)], 2..4), 2..4);
        // A change covering the end of the region extends it.
        assert_eq!(map_forward(&[change(3..5, 3..4)], 2..4), 2..4);
    }
}
