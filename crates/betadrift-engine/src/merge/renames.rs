// Follows git's merge-ort.c (GPL-2.0-only); see NOTICE.
//! Phase 2: regular and directory renames (merge-ort's
//! `detect_and_process_renames`).
//!
//! Rename detection itself is [`crate::diffcore_rename`]; this phase decides when to
//! run it, turns per-file renames into directory renames, moves paths the
//! other side added into renamed directories (a conflict by default: git's
//! `merge.directoryRenames=conflict`), and folds each rename into the path
//! map so that phase 3 merges a renamed file's content with the other side's
//! changes to it.

use crate::error::OrInternal;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};

use git2::Oid;

use super::cache::Redo;
use super::content::{ContentMerge, handle_content_merge};
use super::{Conflict, ConflictKind, Merge, PathInfo, Version, parent_dir};
use crate::diffcore_rename::{BlobError, BlobSource, Pair, RenameOptions, detect_renames};
use crate::error::Result;
use crate::objects::ObjectRead;

/// A diff pair after rename detection, as merge-ort's queues hold them.
#[derive(Debug, Clone)]
struct FilePair {
    status: Status,
    /// Path before (the source of a rename; for additions, the added path).
    one: Vec<u8>,
    /// Path after; updated when a directory rename moves the file.
    two: Vec<u8>,
    /// Which side's pair this is (1 or 2).
    side: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Added,
    Deleted,
    Renamed,
}

/// What [`Merge::detect_and_process_renames`] concluded.
pub(super) enum Renamed {
    Done {
        clean: bool,
    },
    /// merge-ort's `redo_after_renames == 2`: walk again with the cache.
    Restart,
}

/// One side's rename detection.
#[derive(Default)]
struct Detected {
    /// The side's pairs in git's output-queue order.
    pairs: Vec<FilePair>,
    dir_counts: crate::diffcore_rename::DirRenameCount,
    /// Non-zero when the rename limit stopped detection.
    needed_limit: usize,
    /// Sources git downgraded to `RELEVANT_NO_MORE`.
    no_longer_relevant: HashSet<Vec<u8>>,
}

/// Paths that directory renames would move onto one new path.
#[derive(Debug, Default)]
struct Collision {
    sources: BTreeSet<Vec<u8>>,
    reported: bool,
}

type Collisions = HashMap<Vec<u8>, Collision>;
type DirRenames = HashMap<Vec<u8>, Vec<u8>>;

/// Feeds blobs from the overlay to rename detection.
struct Blobs<'a, R: ObjectRead>(&'a R);

impl<R: ObjectRead> BlobSource for Blobs<'_, R> {
    fn blob(&mut self, oid: Oid) -> std::result::Result<Cow<'_, [u8]>, BlobError> {
        Ok(Cow::Owned(self.0.blob(oid).map_err(|e| Box::new(e) as BlobError)?.to_vec()))
    }

    fn size(&mut self, oid: Oid) -> std::result::Result<u64, BlobError> {
        self.0.blob_size(oid).map_err(|e| Box::new(e) as BlobError)
    }
}

impl<R: ObjectRead> Merge<'_, '_, R> {
    /// Returns whether the rename handling itself was clean (some rename
    /// conflicts mark no single path), or that the merge must start over
    /// with what detection found cached (see [`super::cache`]).
    pub(super) fn detect_and_process_renames(&mut self) -> Result<Renamed> {
        if !self.possible_side_renames(1) && !self.possible_side_renames(2) && self.renames.cache.is_empty() {
            return Ok(Renamed::Done { clean: true });
        }
        let mut clean = true;
        let mut side_pairs: [Vec<FilePair>; 3] = Default::default();
        let mut dir_counts: [crate::diffcore_rename::DirRenameCount; 3] = Default::default();
        let mut no_more: [HashSet<Vec<u8>>; 3] = Default::default();
        let (mut detection_run, mut needed_limit) = (false, 0);
        for side in [1usize, 2] {
            self.prune_cached_from_relevant(side);
            let run = self.possible_side_renames(side);
            if run && !self.renames.cache.is_empty() {
                // Every relevant source of the restarted walk was relevant
                // in the first and is cached: nothing is left to detect.
                return Err(crate::Error::Internal("rename detection after a restart found uncached sources"));
            }
            let detected = self.detect_regular_renames(side, run)?;
            detection_run |= run;
            needed_limit = needed_limit.max(detected.needed_limit);
            side_pairs[side] = detected.pairs;
            dir_counts[side] = if run { detected.dir_counts } else { self.renames.cache.dir_counts[side].clone() };
            no_more[side] = detected.no_longer_relevant;
        }
        if needed_limit > 0 {
            self.renames.redo = Redo::No;
        }
        if self.renames.redo == Redo::Wanted && detection_run {
            for side in [1usize, 2] {
                self.cache_pairs(side, &side_pairs[side], &no_more[side]);
                self.renames.cache.dir_counts[side] = std::mem::take(&mut dir_counts[side]);
            }
            return Ok(Renamed::Restart);
        }
        for side in [1usize, 2] {
            side_pairs[side].extend(self.cached_pairs(side));
        }
        let mut dir_renames: [DirRenames; 3] = Default::default();
        for side in [1usize, 2] {
            dir_renames[side] = self.provisional_directory_renames(&dir_counts[side], &mut clean);
        }
        let both: Vec<Vec<u8>> = dir_renames[1].keys().filter(|k| dir_renames[2].contains_key(*k)).cloned().collect();
        for dir in both {
            dir_renames[1].remove(&dir);
            dir_renames[2].remove(&dir);
        }
        let mut collisions: [Collisions; 3] = Default::default();
        for side in [1usize, 2] {
            collisions[side] = compute_collisions(&dir_renames[3 - side], &side_pairs[side]);
        }
        let mut combined = Vec::new();
        for side in [1usize, 2] {
            let pairs = std::mem::take(&mut side_pairs[side]);
            clean &= self.collect_renames(pairs, side, &mut collisions, &dir_renames, &mut combined)?;
        }
        combined.sort_by(|a, b| a.one.cmp(&b.one));
        clean &= self.process_renames(&combined)?;
        Ok(Renamed::Done { clean })
    }

    /// merge-ort's `use_cached_pairs`: the cached renames and deletions of
    /// `side`, queued after the pairs this walk found.
    fn cached_pairs(&self, side: usize) -> Vec<FilePair> {
        let pairs = self.renames.cache.in_git_order(side).into_iter();
        pairs
            .map(|(one, target)| {
                let status = if target.is_some() { Status::Renamed } else { Status::Deleted };
                let two = target.unwrap_or_else(|| one.clone());
                FilePair { status, one, two, side }
            })
            .collect()
    }

    /// merge-ort's `possible_side_renames`.
    fn possible_side_renames(&self, side: usize) -> bool {
        !self.renames.pairs[side].is_empty() && !self.renames.relevant_sources[side].is_empty()
    }

    /// merge-ort's `prune_cached_from_relevant`: sources whose fate is
    /// cached need no detection.
    fn prune_cached_from_relevant(&mut self, side: usize) {
        let r = &mut self.renames;
        let cache = &r.cache;
        r.relevant_sources[side]
            .retain(|path, _| !cache.has_pair(side, path) && !cache.irrelevant[side].contains(path));
    }

    /// merge-ort's `possibly_cache_new_pair` for each pair of a first walk
    /// that restarts: relevant deletions and renames are cached; sources
    /// detection stopped caring about are cached as irrelevant.
    fn cache_pairs(&mut self, side: usize, pairs: &[FilePair], no_more: &HashSet<Vec<u8>>) {
        for p in pairs {
            if no_more.contains(&p.one) {
                if p.status == Status::Deleted {
                    self.renames.cache.irrelevant[side].insert(p.one.clone());
                }
                continue;
            }
            if !self.renames.relevant_sources[side].contains_key(&p.one) {
                continue;
            }
            match p.status {
                Status::Deleted => self.renames.cache.put(side, &p.one, None),
                Status::Renamed => self.renames.cache.put(side, &p.one, Some(&p.two)),
                Status::Added => {}
            }
        }
    }

    /// Runs rename detection for one side and returns its pairs in git's
    /// output-queue order, with the directory rename counts.
    fn detect_regular_renames(&mut self, side: usize, run: bool) -> Result<Detected> {
        let queue = std::mem::take(&mut self.renames.pairs[side]);
        let as_is = |p: &Pair| {
            let path = p.side().path.clone();
            let status = if matches!(p, Pair::Add(_)) { Status::Added } else { Status::Deleted };
            FilePair { status, one: path.clone(), two: path, side }
        };
        if !run {
            return Ok(Detected { pairs: queue.iter().map(as_is).collect(), ..Default::default() });
        }
        let found = detect_renames(
            &queue,
            &RenameOptions::merge_ort(),
            Some(&self.renames.relevant_sources[side]),
            Some(&mut self.renames.dirs_removed[side]),
            &mut Blobs(self.objects),
        )?;
        let by_add: HashMap<usize, usize> = found.renames.iter().map(|r| (r.add, r.delete)).collect();
        let used: std::collections::HashSet<usize> = found.renames.iter().map(|r| r.delete).collect();
        let mut out = Vec::with_capacity(queue.len());
        for (i, p) in queue.iter().enumerate() {
            match (p, by_add.get(&i)) {
                (Pair::Add(two), Some(&src)) => out.push(FilePair {
                    status: Status::Renamed,
                    one: queue[src].side().path.clone(),
                    two: two.path.clone(),
                    side,
                }),
                (Pair::Delete(_), _) if used.contains(&i) => {}
                _ => out.push(as_is(p)),
            }
        }
        Ok(Detected {
            pairs: out,
            dir_counts: found.dir_rename_count,
            needed_limit: found.needed_limit,
            no_longer_relevant: found.sources_no_longer_relevant.into_iter().collect(),
        })
    }

    /// merge-ort's `get_provisional_directory_renames`: each removed
    /// directory goes where most of its files went, unless that is a tie.
    fn provisional_directory_renames(
        &mut self,
        counts: &crate::diffcore_rename::DirRenameCount,
        clean: &mut bool,
    ) -> DirRenames {
        let mut out = DirRenames::new();
        for (source, targets) in counts {
            let Some(&max) = targets.values().max() else { continue };
            if max == 0 {
                continue;
            }
            let best: Vec<&Vec<u8>> = targets.iter().filter(|(_, n)| **n == max).map(|(t, _)| t).collect();
            if best.len() > 1 {
                self.conflicts.push(Conflict {
                    kind: ConflictKind::DirectoryRenameSplit,
                    paths: vec![source.clone()],
                    versions: None,
                });
                *clean = false;
            } else {
                out.insert(source.clone(), best[0].clone());
            }
        }
        out
    }

    /// merge-ort's `collect_renames`: keeps renames, and additions that a
    /// directory rename on the other side moves; applies those moves.
    fn collect_renames(
        &mut self,
        pairs: Vec<FilePair>,
        side: usize,
        collisions: &mut [Collisions; 3],
        dir_renames: &[DirRenames; 3],
        combined: &mut Vec<FilePair>,
    ) -> Result<bool> {
        let mut clean = true;
        for mut p in pairs {
            if p.status != Status::Added && p.status != Status::Renamed {
                continue;
            }
            let new_path = self.check_for_directory_rename(&p.two, side, dir_renames, collisions, &mut clean)?;
            if p.status != Status::Renamed && new_path.is_none() {
                continue;
            }
            if let Some(new_path) = new_path {
                self.apply_directory_rename_modifications(&p, &new_path)?;
                p.two = new_path;
            }
            combined.push(p);
        }
        Ok(clean)
    }

    fn check_for_directory_rename(
        &mut self,
        path: &[u8],
        side: usize,
        dir_renames: &[DirRenames; 3],
        collisions: &mut [Collisions; 3],
        clean: &mut bool,
    ) -> Result<Option<Vec<u8>>> {
        let other = 3 - side;
        let renames = &dir_renames[other];
        if renames.is_empty() || collisions[other].contains_key(path) {
            return Ok(None);
        }
        let Some((old_dir, new_dir)) = check_dir_renamed(path, renames) else { return Ok(None) };
        if dir_renames[side].contains_key(&new_dir) {
            return Ok(None); // the target directory was itself renamed on this side
        }
        let new_path = apply_dir_rename(&old_dir, &new_dir, path);
        let collision = collisions[side].get_mut(&new_path).or_internal("collisions cover every moved path")?;
        let in_way = self.path_in_way(&new_path, 1 << side);
        let conflict_kind = if collision.reported {
            Some(None)
        } else if in_way {
            Some(Some(ConflictKind::DirectoryRenameInTheWay))
        } else if collision.sources.len() > 1 {
            Some(Some(ConflictKind::DirectoryRenameCollision))
        } else {
            None
        };
        Ok(match conflict_kind {
            None => Some(new_path),
            Some(kind) => {
                if let Some(kind) = kind {
                    collision.reported = true;
                    let mut paths = vec![new_path];
                    paths.extend(collision.sources.iter().cloned());
                    self.conflicts.push(Conflict { kind, paths, versions: None });
                }
                *clean = false;
                None
            }
        })
    }

    fn path_in_way(&self, path: &[u8], side_mask: u8) -> bool {
        self.paths.get(path).is_some_and(|info| info.clean || side_mask & (info.filemask | info.dirmask) != 0)
    }

    /// merge-ort's `apply_directory_rename_modifications`: moves the entry
    /// of a file into the renamed directory, creating directory entries as
    /// needed, and marks it as a path conflict (`CONFLICT (file location)`).
    fn apply_directory_rename_modifications(&mut self, pair: &FilePair, new_path: &[u8]) -> Result<()> {
        let old_path = &pair.two;
        let parent = self.ensure_parent_dirs(new_path, old_path);
        let mut ci = self.paths.get(old_path).or_internal("moved paths are recorded")?.clone();
        debug_assert!(ci.filemask == 2 || ci.filemask == 4);
        if ci.dirmask == 0 {
            self.paths.remove(old_path);
        } else {
            // A directory stays at the old path; only the file moves.
            let mut file = ci.clone();
            file.dirmask = 0;
            file.stages[1] = Version::NONE;
            let dir = self.paths.get_mut(old_path).or_internal("checked above")?;
            dir.filemask = 0;
            dir.clean = true;
            for i in 0..3 {
                if dir.dirmask & (1 << i) == 0 {
                    dir.stages[i] = Version::NONE;
                }
            }
            ci = file;
        }
        ci.dir = parent;
        let moved = match self.paths.get_mut(new_path) {
            None => {
                self.paths.insert(new_path.to_vec(), ci);
                self.paths.get_mut(new_path).or_internal("just inserted")?
            }
            Some(existing) => {
                existing.filemask |= ci.filemask;
                if existing.dirmask != 0 {
                    existing.df_conflict = true;
                }
                let index = usize::from(ci.filemask >> 1);
                existing.pathnames[index] = ci.pathnames[index].clone();
                existing.stages[index] = ci.stages[index];
                existing
            }
        };
        moved.path_conflict = true;
        self.conflicts.push(Conflict {
            kind: ConflictKind::DirectoryRename,
            paths: vec![new_path.to_vec(), old_path.clone()],
            versions: None,
        });
        Ok(())
    }

    /// Adds entries for directories of `new_path` that do not exist yet;
    /// returns the directory of `new_path`.
    fn ensure_parent_dirs(&mut self, new_path: &[u8], old_path: &[u8]) -> Vec<u8> {
        let filemask = self.paths.get(old_path).map_or(0, |ci| ci.filemask);
        let mut missing = Vec::new();
        let mut cur = new_path;
        while cur.contains(&b'/') {
            let parent = parent_dir(cur);
            if self.paths.contains_key(parent) {
                break;
            }
            missing.push(parent.to_vec());
            cur = parent;
        }
        for dir in missing.iter().rev() {
            let info = PathInfo {
                result: Version::NONE,
                is_null: false,
                clean: false,
                dir: parent_dir(dir).to_vec(),
                stages: [Version::NONE; 3],
                pathnames: Default::default(),
                df_conflict: false,
                path_conflict: false,
                filemask: 0,
                dirmask: filemask,
                match_mask: 0,
            };
            self.paths.insert(dir.clone(), info);
        }
        parent_dir(new_path).to_vec()
    }
}

/// The deepest renamed directory containing `path`, if any.
fn check_dir_renamed(path: &[u8], renames: &DirRenames) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut cur = path;
    while cur.contains(&b'/') {
        cur = parent_dir(cur);
        if let Some(new_dir) = renames.get(cur) {
            return Some((cur.to_vec(), new_dir.clone()));
        }
    }
    None
}

/// Replaces the leading `old_dir` of `path` by `new_dir`.
fn apply_dir_rename(old_dir: &[u8], new_dir: &[u8], path: &[u8]) -> Vec<u8> {
    let rest = &path[old_dir.len()..];
    let rest = if new_dir.is_empty() { &rest[1..] } else { rest };
    let mut out = new_dir.to_vec();
    out.extend_from_slice(rest);
    out
}

/// merge-ort's `compute_collisions`: where each addition or rename of one
/// side lands after the other side's directory renames.
fn compute_collisions(dir_renames: &DirRenames, pairs: &[FilePair]) -> Collisions {
    let mut out = Collisions::new();
    if dir_renames.is_empty() {
        return out;
    }
    for p in pairs.iter().filter(|p| matches!(p.status, Status::Added | Status::Renamed)) {
        if let Some((old_dir, new_dir)) = check_dir_renamed(&p.two, dir_renames) {
            let new_path = apply_dir_rename(&old_dir, &new_dir, &p.two);
            out.entry(new_path).or_default().sources.insert(p.two.clone());
        }
    }
    out
}

impl<R: ObjectRead> Merge<'_, '_, R> {
    /// merge-ort's `process_renames`. Its result is the cleanliness of the
    /// last rename/rename(1to2) content merge, as in git (which assigns
    /// rather than accumulates); other rename conflicts mark paths instead.
    fn process_renames(&mut self, renames: &[FilePair]) -> Result<bool> {
        let mut clean = true;
        let mut i = 0;
        while i < renames.len() {
            let pair = &renames[i];
            i += 1;
            let Some(old) = self.paths.get(&pair.one) else { continue };
            if old.clean {
                continue;
            }
            if let Some(next) = renames.get(i)
                && next.one == pair.one
            {
                if let Some(merged_clean) = self.rename_rename(pair, next)? {
                    clean = merged_clean;
                }
                i += 1;
                continue;
            }
            self.single_rename(pair)?;
        }
        Ok(clean)
    }

    /// Both sides renamed the same file: to one path (fine) or two (conflict,
    /// returning whether the content merge of the two was clean).
    fn rename_rename(&mut self, p1: &FilePair, p2: &FilePair) -> Result<Option<bool>> {
        let pathnames = [p1.one.clone(), p1.two.clone(), p2.two.clone()];
        if pathnames[1] == pathnames[2] {
            let base_stage = self.paths[&pathnames[0]].stages[0];
            let side = self.paths.get_mut(&pathnames[1]).or_internal("rename target recorded")?;
            side.stages[0] = base_stage;
            side.filemask |= 1;
            let base = self.paths.get_mut(&pathnames[0]).or_internal("rename source recorded")?;
            base.is_null = true;
            base.clean = true;
            return Ok(None);
        }
        let o = self.paths[&pathnames[0]].stages[0];
        let a = self.paths[&pathnames[1]].stages[1];
        let b = self.paths[&pathnames[2]].stages[2];
        let merged = self.content_merge(&pathnames[0], o, a, b, &pathnames, 1)?;
        let was_binary = !merged.clean && merged.result == a;
        let side2_result = if was_binary { b } else { merged.result };
        let s1 = self.paths.get_mut(&pathnames[1]).or_internal("rename target recorded")?;
        s1.stages[1] = merged.result;
        s1.path_conflict = true;
        let s2 = self.paths.get_mut(&pathnames[2]).or_internal("rename target recorded")?;
        s2.stages[2] = side2_result;
        s2.path_conflict = true;
        self.paths.get_mut(&pathnames[0]).or_internal("rename source recorded")?.path_conflict = true;
        self.conflicts.push(Conflict { kind: ConflictKind::RenameRename, paths: pathnames.to_vec(), versions: None });
        Ok(Some(merged.clean))
    }

    /// One side renamed a file; the other kept, modified or deleted it.
    /// A conflicting content merge here only informs (the path decides).
    fn single_rename(&mut self, pair: &FilePair) -> Result<()> {
        let (oldpath, newpath) = (pair.one.clone(), pair.two.clone());
        let target = pair.side;
        let other = 3 - target;
        let old = self.paths[&oldpath].clone();
        let new = self.paths[&newpath].clone();
        let source_deleted = old.filemask == 1;
        let mut collision = new.filemask & (1 << other) != 0;
        let type_changed = !source_deleted
            && super::collect::is_regular(old.stages[other].mode)
                != super::collect::is_regular(new.stages[target].mode);
        if type_changed && collision {
            collision = false;
        }
        if collision && !source_deleted {
            let mut pathnames = [oldpath.clone(), oldpath.clone(), oldpath.clone()];
            pathnames[target] = newpath.clone();
            let stage = |p: &Vec<u8>, i: usize| self.paths[p].stages[i];
            let (o, a, b) = (stage(&pathnames[0], 0), stage(&pathnames[1], 1), stage(&pathnames[2], 2));
            let merged = self.content_merge(&oldpath, o, a, b, &pathnames, 1)?;
            self.paths.get_mut(&newpath).or_internal("recorded")?.stages[target] = merged.result;
            if !merged.clean {
                self.conflicts.push(Conflict {
                    kind: ConflictKind::RenameCollision,
                    paths: vec![newpath.clone(), oldpath.clone()],
                    versions: None,
                });
            }
        } else if collision && source_deleted {
            self.paths.get_mut(&newpath).or_internal("recorded")?.path_conflict = true;
            self.rename_delete_conflict(&newpath, &oldpath);
        } else {
            let info = self.paths.get_mut(&newpath).or_internal("recorded")?;
            info.stages[0] = old.stages[0];
            info.filemask |= 1;
            info.pathnames[0] = oldpath.clone();
            if type_changed {
                let o = self.paths.get_mut(&oldpath).or_internal("recorded")?;
                o.stages[0] = Version::NONE;
                o.filemask &= 0x06;
            } else if source_deleted {
                info.path_conflict = true;
                self.rename_delete_conflict(&newpath, &oldpath);
            } else {
                info.stages[other] = old.stages[other];
                info.filemask |= 1 << other;
                info.pathnames[other] = oldpath.clone();
            }
        }
        if !type_changed {
            let o = self.paths.get_mut(&oldpath).or_internal("recorded")?;
            o.is_null = true;
            o.clean = true;
        }
        Ok(())
    }

    fn rename_delete_conflict(&mut self, newpath: &[u8], oldpath: &[u8]) {
        self.conflicts.push(Conflict {
            kind: ConflictKind::RenameDelete,
            paths: vec![newpath.to_vec(), oldpath.to_vec()],
            versions: None,
        });
    }

    fn content_merge(
        &mut self,
        path: &[u8],
        o: Version,
        a: Version,
        b: Version,
        pathnames: &[Vec<u8>; 3],
        extra_marker_size: usize,
    ) -> Result<ContentMerge> {
        let merged = handle_content_merge(self, path, [o, a, b], pathnames, extra_marker_size)?;
        // A binary file here only draws git's "warning: Cannot merge binary
        // files", no `CONFLICT` line: the rename conflict reports it.
        if merged.conflict_kind == Some(ConflictKind::MergeFailed) {
            self.conflicts.push(Conflict {
                kind: ConflictKind::MergeFailed,
                paths: vec![path.to_vec()],
                versions: Some([o, a, b]),
            });
        }
        Ok(merged)
    }
}
