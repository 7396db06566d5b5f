//! Which upstream commits caused a predicted conflict.
//!
//! "Your patch conflicts" is only half an answer; the admin needs "with
//! upstream change Y by Z for task T". For a content conflict the lines in
//! conflict are followed forward through every upstream commit since the
//! merge base that touched the file, and the commits whose changes overlap
//! (or touch) those lines are the culprits, since git treats adjacent
//! changes as conflicting. For other conflicts (a file deleted or renamed,
//! a directory moved) the culprits are the upstream commits that changed
//! those paths.

use std::ops::Range;

use git2::Oid;

use crate::error::Result;
use crate::merge::{Conflict, ConflictKind};
use crate::objects::ObjectRead;
use crate::repo::{Repo, lookup_path};
use crate::upstream::UpstreamIndex;
use crate::xdiff::{self, Algorithm, Change};

/// How many culprits to name per conflict, newest last.
const MAX_CULPRITS: usize = 5;

/// Finds the upstream commits behind one conflict of the patch whose parent
/// tree is `patch_base` (the merge base of the pick).
pub fn culprits(
    repo: &Repo,
    index: &UpstreamIndex,
    merge_base_tree: Oid,
    patch_base: Oid,
    conflict: &Conflict,
    base_region: Option<Range<usize>>,
) -> Result<Vec<Oid>> {
    let Some(path) = conflict.paths.first() else { return Ok(Vec::new()) };
    let mut found = match (conflict.kind, base_region) {
        (ConflictKind::Content, Some(region)) => {
            match region_at_merge_base(repo, merge_base_tree, patch_base, path, region)? {
                Some(region) => overlapping_commits(repo, index, path, region)?,
                None => touching_commits(repo, index, &conflict.paths)?,
            }
        }
        _ => touching_commits(repo, index, &conflict.paths)?,
    };
    if found.len() > MAX_CULPRITS {
        found.drain(..found.len() - MAX_CULPRITS);
    }
    Ok(found)
}

/// Upstream commits (oldest first) that changed any of `paths`.
fn touching_commits(repo: &Repo, index: &UpstreamIndex, paths: &[Vec<u8>]) -> Result<Vec<Oid>> {
    let mut out = Vec::new();
    for (oid, parent, tree) in index.since_base() {
        for path in paths {
            let before = match parent {
                Some(p) => lookup_path(repo, p, path)?,
                None => None,
            };
            let after = lookup_path(repo, tree, path)?;
            if before.map(|e| (e.mode, e.oid)) != after.map(|e| (e.mode, e.oid)) {
                out.push(oid);
                break;
            }
        }
    }
    Ok(out)
}

/// Maps a line range of the patch's base version of `path` to the same
/// lines in the merge base's version (local patches below may have moved
/// them). `None` if either version lacks the file.
fn region_at_merge_base(
    repo: &Repo,
    merge_base_tree: Oid,
    patch_base: Oid,
    path: &[u8],
    region: Range<usize>,
) -> Result<Option<Range<usize>>> {
    let Some(at_base) = lookup_path(repo, merge_base_tree, path)? else { return Ok(None) };
    let Some(at_patch) = lookup_path(repo, patch_base, path)? else { return Ok(None) };
    if at_base.oid == at_patch.oid {
        return Ok(Some(region));
    }
    let (old, new) = (repo.blob(at_base.oid)?, repo.blob(at_patch.oid)?);
    let Ok(changes) = xdiff::diff(&old, &new, Algorithm::Histogram) else { return Ok(Some(region)) };
    Ok(Some(map_back(&changes, region)))
}

/// Upstream commits (oldest first) whose changes to `path` overlap or touch
/// `region`, following the region forward through each change.
fn overlapping_commits(repo: &Repo, index: &UpstreamIndex, path: &[u8], mut region: Range<usize>) -> Result<Vec<Oid>> {
    let mut out = Vec::new();
    for (oid, parent, tree) in index.since_base() {
        let before = match parent {
            Some(p) => lookup_path(repo, p, path)?,
            None => None,
        };
        let after = lookup_path(repo, tree, path)?;
        if before.as_ref().map(|e| e.oid) == after.as_ref().map(|e| e.oid) {
            continue;
        }
        let (Some(before), Some(after)) = (before, after) else {
            out.push(oid); // the file was created or deleted here
            continue;
        };
        let (old, new) = (repo.blob(before.oid)?, repo.blob(after.oid)?);
        let Ok(changes) = xdiff::diff(&old, &new, Algorithm::Histogram) else {
            out.push(oid);
            continue;
        };
        if changes.iter().any(|c| c.old.start <= region.end && region.start <= c.old.end) {
            out.push(oid);
        }
        region = map_forward(&changes, region);
    }
    Ok(out)
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
