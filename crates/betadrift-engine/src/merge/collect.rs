// Follows git's merge-ort.c (GPL-2.0-only); see NOTICE.
//! Phase 1: walk base, ours and theirs together (merge-ort's
//! `collect_merge_info`).
//!
//! Every path where the three sides are not trivially resolvable gets a
//! [`PathInfo`]; along the way the walk records which deletions and
//! additions each side made (rename candidates), which deleted paths are
//! *relevant* to rename detection, and which removed directories may need
//! directory-rename detection. Directories changed on one side only are not
//! entered: they are deferred, and taken whole unless that side turns out to
//! have relevant rename sources, in which case they are walked after all.

use crate::error::OrInternal;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use git2::Oid;

use super::cache::{Redo, RenameCache};
use super::{Merge, PathInfo, Version, join};
use crate::diffcore_rename::{DirRelevance, Pair, Side, SourceRelevance};
use crate::error::Result;
use crate::objects::{Entry, EntryRef, ObjectRead, Tree, kind_of};

const BASE: usize = 0;

/// Rename bookkeeping gathered by the walk, per side (index 1 and 2).
#[derive(Debug, Default)]
pub(super) struct RenameInfo {
    pub pairs: [Vec<Pair>; 3],
    pub relevant_sources: [HashMap<Vec<u8>, SourceRelevance>; 3],
    pub dirs_removed: [HashMap<Vec<u8>, DirRelevance>; 3],
    /// 0: no ancestor needs directory renames; 2 or 4: an ancestor was
    /// removed on one side, watch for files the other side (this mask) adds;
    /// 7: an ancestor needs directory rename detection.
    pub dir_rename_mask: u8,
    pub deferred: [Deferred; 3],
    /// What a first walk's rename detection found, when the merge restarted.
    pub cache: RenameCache,
    pub redo: Redo,
}

/// Directories one side changed and the other did not, not yet walked.
#[derive(Debug)]
pub(super) struct Deferred {
    /// (path, dir_rename_mask) in the order they were deferred.
    pub possible_trivial: Vec<(Vec<u8>, u8)>,
    pub trivial_merges_okay: bool,
    /// Directories holding a cached rename target not walked yet: they
    /// must be walked, not taken whole.
    pub target_dirs: HashSet<Vec<u8>>,
}

impl Default for Deferred {
    fn default() -> Self {
        Deferred { possible_trivial: Vec::new(), trivial_merges_okay: true, target_dirs: HashSet::new() }
    }
}

/// The three entries found under one name.
type Names = [Option<Entry>; 3];

impl<R: ObjectRead> Merge<'_, '_, R> {
    /// Walks the three root trees, then the deferred directories.
    pub(super) fn collect_merge_info(&mut self, roots: [Oid; 3]) -> Result<()> {
        let trees = [self.objects.tree(roots[0])?, self.objects.tree(roots[1])?, self.objects.tree(roots[2])?];
        self.traverse(b"", [Some(trees[0].clone()), Some(trees[1].clone()), Some(trees[2].clone())])?;
        self.handle_deferred_entries()
    }

    /// Visits every name in the union of three trees, in git's traversal
    /// order (plain byte order of names; a file and a directory of the same
    /// name are visited together).
    fn traverse(&mut self, dir: &[u8], trees: [Option<Rc<Tree>>; 3]) -> Result<()> {
        // Every name of the three trees in byte order, with each tree's entry
        // of that name (the file, if a malformed tree has both a file and a
        // directory of one name): a merge of the three trees' entries, each
        // sorted by name. Tree order differs from byte order only where
        // directories sort as "name/", so these sorts find long runs.
        let sorted = trees.each_ref().map(|t| {
            let mut v: Vec<EntryRef<'_>> = t.as_deref().map(|t| t.iter().collect()).unwrap_or_default();
            v.sort_by(|a, b| a.name.cmp(b.name));
            v
        });
        let mut next = [0usize; 3];
        let mut visits: Vec<Names> = Vec::new();
        while let Some(name) = (0..3).filter_map(|i| sorted[i].get(next[i]).map(|e| e.name)).min() {
            let mut names: Names = [None, None, None];
            for i in 0..3 {
                if let Some(e) = sorted[i].get(next[i]).filter(|e| e.name == name) {
                    names[i] = Some(e.to_entry());
                    while sorted[i].get(next[i]).is_some_and(|e| e.name == name) {
                        next[i] += 1;
                    }
                }
            }
            visits.push(names);
        }
        // merge-ort's traverse_trees_wrapper: when an ancestor was removed on
        // one side, a file added here by the other side makes this whole
        // directory need directory-rename detection, before any entry of
        // it is processed.
        let mask = self.renames.dir_rename_mask;
        if (mask == 2 || mask == 4) && visits.iter().any(|n| file_mask(n) == mask) {
            self.renames.dir_rename_mask = 7;
        }
        for names in visits {
            self.collect_callback(dir, names)?;
        }
        Ok(())
    }

    fn collect_callback(&mut self, dir: &[u8], names: Names) -> Result<()> {
        let prev_dir_rename_mask = self.renames.dir_rename_mask;
        let v = |i: usize| names[i].as_ref().map(|e| Version { mode: e.mode, oid: e.oid });
        let same = |a: Option<Version>, b: Option<Version>| a.is_some() && a == b;
        let side1_matches = same(v(0), v(1));
        let side2_matches = same(v(0), v(2));
        let sides_match = same(v(1), v(2));
        let (filemask, dirmask) = (file_mask(&names), dir_mask(&names));
        let match_mask = match (side1_matches, side2_matches, sides_match) {
            (true, true, _) => 7,
            (true, false, _) => 3,
            (false, true, _) => 5,
            (false, false, true) => 6,
            _ => 0,
        };
        let name = names.iter().flatten().next().or_internal("at least one side has the name")?.name.clone();
        let fullpath = join(dir, &name);
        let resolved = match match_mask {
            7 => Some(0),
            6 if filemask == 7 => Some(1),
            3 if filemask == 7 => Some(2),
            5 if filemask == 7 => Some(1),
            _ => None,
        };
        if let Some(side) = resolved {
            self.resolved_path(dir, fullpath, v(side));
            return Ok(());
        }
        self.collect_rename_info(&names, dir, &fullpath, filemask, dirmask, match_mask)?;
        let mut info = unresolved(dir, &fullpath, &names, filemask, dirmask);
        info.match_mask = match_mask;
        if dirmask == 0 {
            self.paths.insert(fullpath, info);
            return Ok(());
        }
        let mut side = if side1_matches {
            2
        } else if side2_matches {
            1
        } else {
            BASE
        };
        if filemask == 0 && (dirmask == 2 || dirmask == 4) {
            info.match_mask = 7 - dirmask;
            side = usize::from(dirmask / 2);
        }
        if self.renames.dir_rename_mask != 7
            && side != BASE
            && self.renames.deferred[side].trivial_merges_okay
            && !self.renames.deferred[side].target_dirs.contains(&fullpath)
        {
            self.renames.deferred[side].possible_trivial.push((fullpath.clone(), self.renames.dir_rename_mask));
            self.paths.insert(fullpath, info);
            self.renames.dir_rename_mask = prev_dir_rename_mask;
            return Ok(());
        }
        info.match_mask &= filemask;
        let trees = self.subtrees(&info.stages, dirmask, [side1_matches, side2_matches, sides_match])?;
        self.paths.insert(fullpath.clone(), info);
        self.traverse(&fullpath, trees)?;
        self.renames.dir_rename_mask = prev_dir_rename_mask;
        Ok(())
    }

    /// Records a path resolved without looking further.
    fn resolved_path(&mut self, dir: &[u8], fullpath: Vec<u8>, version: Option<Version>) {
        let result = version.unwrap_or(Version::NONE);
        let info = PathInfo {
            result,
            is_null: !result.exists(),
            clean: true,
            dir: dir.to_vec(),
            stages: [Version::NONE; 3],
            pathnames: Default::default(),
            df_conflict: false,
            path_conflict: false,
            filemask: 0,
            dirmask: 0,
            match_mask: 0,
        };
        self.paths.insert(fullpath, info);
    }

    /// The subtrees to walk below a directory: a side that matches another
    /// reuses its tree; a side where the name is a file walks nothing.
    fn subtrees(&self, stages: &[Version; 3], dirmask: u8, matches: [bool; 3]) -> Result<[Option<Rc<Tree>>; 3]> {
        let [side1_matches, side2_matches, sides_match] = matches;
        let tree_of = |i: usize| -> Result<Option<Rc<Tree>>> {
            if dirmask & (1 << i) != 0 { Ok(Some(self.objects.tree(stages[i].oid)?)) } else { Ok(None) }
        };
        let t0 = tree_of(0)?;
        let t1 = if side1_matches { t0.clone() } else { tree_of(1)? };
        let t2 = if side2_matches {
            t0.clone()
        } else if sides_match {
            t1.clone()
        } else {
            tree_of(2)?
        };
        Ok([t0, t1, t2])
    }

    /// merge-ort's `collect_rename_info`.
    fn collect_rename_info(
        &mut self,
        names: &Names,
        dir: &[u8],
        fullpath: &[u8],
        filemask: u8,
        dirmask: u8,
        match_mask: u8,
    ) -> Result<()> {
        let r = &mut self.renames;
        if r.dir_rename_mask != 7 && (dirmask == 3 || dirmask == 5) {
            r.dir_rename_mask = dirmask & !1;
        }
        if matches!(dirmask, 1 | 3 | 5) {
            let sides = (7 - dirmask) / 2;
            let relevance = if r.dir_rename_mask == 7 { DirRelevance::ForAncestor } else { DirRelevance::NotRelevant };
            for side in [1usize, 2] {
                if sides & (side as u8) != 0 {
                    r.dirs_removed[side].insert(fullpath.to_vec(), relevance);
                }
            }
        }
        if r.dir_rename_mask == 7 && (filemask == 2 || filemask == 4) {
            let side = usize::from(3 - (filemask >> 1));
            r.dirs_removed[side].insert(dir.to_vec(), DirRelevance::ForSelf);
        }
        if filemask == 0 || filemask == 7 {
            return Ok(());
        }
        for side in [1usize, 2] {
            let side_mask = 1u8 << side;
            if filemask & 1 != 0 && filemask & side_mask == 0 {
                self.add_pair(names, fullpath, side, false, match_mask & filemask)?;
            }
            if filemask & 1 == 0 && filemask & side_mask != 0 {
                self.add_pair(names, fullpath, side, true, match_mask & filemask)?;
            }
        }
        Ok(())
    }

    /// merge-ort's `add_pair`: a deletion or addition on one side.
    fn add_pair(&mut self, names: &Names, path: &[u8], side: usize, is_add: bool, match_mask: u8) -> Result<()> {
        let r = &mut self.renames;
        let entry = names[if is_add { side } else { BASE }].as_ref().or_internal("the side has the file")?;
        let spec = Side { path: path.to_vec(), oid: entry.oid, mode: entry.mode };
        if is_add {
            if !r.cache.target_names[side].contains(path) {
                r.pairs[side].push(Pair::Add(spec));
            }
            return Ok(());
        }
        let content_relevant = match_mask == 0;
        let location_relevant = r.dir_rename_mask == 7;
        if content_relevant {
            r.cache.irrelevant[side].remove(path);
        }
        // Cached sources are relevant too, so that the deferred walk sees
        // them; rename detection prunes them again.
        if content_relevant || location_relevant {
            let relevance = if content_relevant { SourceRelevance::Content } else { SourceRelevance::Location };
            r.relevant_sources[side].insert(path.to_vec(), relevance);
        }
        if r.cache.has_pair(side, path) || r.cache.irrelevant[side].contains(path) {
            return Ok(());
        }
        r.pairs[side].push(Pair::Delete(spec));
        Ok(())
    }

    /// merge-ort's `handle_deferred_entries`: a side whose relevant rename
    /// sources are not all known from the cache must have every addition in
    /// view, so its deferred directories are walked; otherwise they are
    /// taken whole from that side, except those holding a cached rename
    /// target. Walking them can ask for a restart after renames.
    fn handle_deferred_entries(&mut self) -> Result<()> {
        let count_before = self.paths.len();
        let mut count_after = 0;
        for side in [1usize, 2] {
            let okay = self.trivial_merges_okay(side);
            self.renames.deferred[side].trivial_merges_okay = okay;
            let deferred = std::mem::take(&mut self.renames.deferred[side].possible_trivial);
            for (path, mask) in in_git_hash_order(deferred) {
                if okay && !self.renames.deferred[side].target_dirs.contains(&path) {
                    self.resolve_trivial_directory_merge(&path, side)?;
                    continue;
                }
                let info = self.paths.get_mut(&path).or_internal("deferred paths are recorded")?;
                let (stages, dirmask, match_mask) = (info.stages, info.dirmask, info.match_mask);
                info.match_mask &= info.filemask;
                let trees = self.subtrees(&stages, dirmask, [match_mask == 3, match_mask == 5, match_mask == 6])?;
                self.renames.dir_rename_mask = mask;
                self.traverse(&path, trees)?;
            }
            let late = std::mem::take(&mut self.renames.deferred[side].possible_trivial);
            for (path, _) in late {
                self.resolve_trivial_directory_merge(&path, side)?;
            }
            if !okay || count_after != 0 {
                count_after = self.paths.len();
            }
        }
        // git's wanted_factor: below three times the paths, a restart
        // would cost more than it saves.
        if count_after != 0 {
            if self.renames.redo == Redo::No && count_after / count_before.max(1) >= 3 {
                self.renames.redo = Redo::Wanted;
            }
        } else if self.renames.redo == Redo::Restarted {
            self.renames.redo = Redo::No;
        }
        Ok(())
    }

    /// Whether every relevant source of `side` has a known fate, noting
    /// the directories of rename targets not walked yet.
    fn trivial_merges_okay(&mut self, side: usize) -> bool {
        let r = &mut self.renames;
        for source in r.relevant_sources[side].keys() {
            if r.cache.irrelevant[side].contains(source) {
                continue;
            }
            let Some(target) = r.cache.target(side, source) else { return false };
            let Some(target) = target else { continue };
            if self.paths.contains_key(target) {
                continue;
            }
            let mut dir = target;
            while let Some(slash) = dir.iter().rposition(|&b| b == b'/') {
                dir = &dir[..slash];
                if !r.deferred[side].target_dirs.insert(dir.to_vec()) {
                    break;
                }
            }
        }
        true
    }

    fn resolve_trivial_directory_merge(&mut self, path: &[u8], side: usize) -> Result<()> {
        let info = self.paths.get_mut(path).or_internal("deferred paths are recorded")?;
        info.result = info.stages[side];
        info.is_null = !info.stages[side].exists();
        info.match_mask = 0;
        info.clean = true;
        Ok(())
    }
}

/// An unresolved path: all three versions kept for later phases.
fn unresolved(dir: &[u8], fullpath: &[u8], names: &Names, filemask: u8, dirmask: u8) -> PathInfo {
    let stage = |i: usize| names[i].as_ref().map_or(Version::NONE, |e| Version { mode: e.mode, oid: e.oid });
    PathInfo {
        result: Version::NONE,
        // A directory starts as "merges to nothing" until something is
        // written below it.
        is_null: dirmask != 0,
        clean: false,
        dir: dir.to_vec(),
        stages: [stage(0), stage(1), stage(2)],
        pathnames: [fullpath.to_vec(), fullpath.to_vec(), fullpath.to_vec()],
        df_conflict: filemask != 0 && dirmask != 0,
        path_conflict: false,
        filemask,
        dirmask,
        match_mask: 0,
    }
}

fn dir_mask(names: &Names) -> u8 {
    names.iter().enumerate().fold(0, |m, (i, e)| match e {
        Some(e) if e.is_tree() => m | (1 << i),
        _ => m,
    })
}

fn file_mask(names: &Names) -> u8 {
    names.iter().enumerate().fold(0, |m, (i, e)| match e {
        Some(e) if !e.is_tree() => m | (1 << i),
        _ => m,
    })
}

/// Orders deferred directories as git's string map iterates them, since
/// that order decides the order of rename candidates found in them.
fn in_git_hash_order(entries: Vec<(Vec<u8>, u8)>) -> Vec<(Vec<u8>, u8)> {
    let mut table = crate::diffcore_rename::gitmap::ChainedTable::with_expected(0);
    let mut seen: HashSet<&[u8]> = HashSet::new();
    let mut unique = Vec::new();
    for (path, mask) in &entries {
        if seen.insert(path) {
            table.add(crate::diffcore_rename::gitmap::strhash(path));
            unique.push((path.clone(), *mask));
        }
    }
    table.iteration_order().map(|i| unique[i].clone()).collect()
}

/// Whether a mode is a regular file (not a symlink or submodule).
pub(super) fn is_regular(mode: u32) -> bool {
    kind_of(mode) == crate::objects::Kind::File
}
