// Follows git's merge-ort.c (GPL-2.0-only); see NOTICE.
//! Phase 3: settle every path and write the result trees (merge-ort's
//! `process_entries`).
//!
//! Paths are visited children before their directory, so each directory's
//! tree is written (in memory) as soon as its last child is settled, and a
//! directory that ends up empty disappears, which decides how file/directory
//! conflicts resolve.

use crate::error::OrInternal;
use std::cmp::Ordering;

use git2::Oid;

use super::content::handle_content_merge;
use super::{Conflict, ConflictKind, Merge, PathInfo, Version};
use crate::error::Result;
use crate::objects::{Entry, Kind, MODE_TREE, ObjectRead, Tree, kind_of};

/// Entries of directories not yet written, and where each directory starts.
#[derive(Debug, Default)]
struct DirVersions {
    versions: Vec<(Vec<u8>, Version)>,
    offsets: Vec<(Vec<u8>, usize)>,
    last_directory: Option<Vec<u8>>,
}

/// merge-ort's path order for processing: as if every path ended in `/`,
/// so a directory sorts right before its contents.
fn dirs_next_to_children(one: &[u8], two: &[u8]) -> Ordering {
    let common = one.iter().zip(two).take_while(|(a, b)| a == b).count();
    let c1 = one.get(common).copied().unwrap_or(b'/');
    let c2 = two.get(common).copied().unwrap_or(b'/');
    if c1 == c2 {
        // one is a leading directory of the other
        if common < one.len() { Ordering::Greater } else { Ordering::Less }
    } else {
        c1.cmp(&c2)
    }
}

impl<R: ObjectRead> Merge<'_, '_, R> {
    /// Settles all paths; returns the root tree, or `None` if git would
    /// have failed the merge outright.
    pub(super) fn process_entries(&mut self) -> Result<Option<Oid>> {
        if self.paths.is_empty() {
            return Ok(Some(crate::objects::empty_tree()));
        }
        let mut plist: Vec<Vec<u8>> = self.paths.keys().cloned().collect();
        plist.sort_by(|a, b| dirs_next_to_children(a, b));
        let mut dirs = DirVersions::default();
        for path in plist.iter().rev() {
            let dir = self.paths[path].dir.clone();
            self.write_completed_directory(&dir, &mut dirs)?;
            if self.paths[path].clean {
                record(&mut dirs, path, &self.paths[path]);
            } else if !self.process_entry(path.clone(), &mut dirs)? {
                return Ok(None);
            }
        }
        Ok(Some(self.write_tree(&dirs.versions)))
    }

    fn write_tree(&self, versions: &[(Vec<u8>, Version)]) -> Oid {
        let entries = versions
            .iter()
            .map(|(name, v)| Entry { name: name.clone().into_boxed_slice(), mode: v.mode, oid: v.oid })
            .collect();
        self.objects.add_tree(Tree::from_entries(entries))
    }

    fn write_completed_directory(&mut self, new_dir: &[u8], dirs: &mut DirVersions) -> Result<()> {
        if dirs.last_directory.as_deref() == Some(new_dir) {
            return Ok(());
        }
        let entering = match &dirs.last_directory {
            None => true,
            Some(last) => new_dir.starts_with(last),
        };
        if entering {
            dirs.offsets.push((new_dir.to_vec(), dirs.versions.len()));
            dirs.last_directory = Some(new_dir.to_vec());
            return Ok(());
        }
        let last = dirs.last_directory.clone().or_internal("not entering implies a last directory")?;
        let (_, offset) = dirs.offsets.pop().or_internal("an open directory")?;
        let tree = (offset != dirs.versions.len()).then(|| self.write_tree(&dirs.versions[offset..]));
        let info = self.paths.get_mut(&last).or_internal("directories of processed paths are recorded")?;
        match tree {
            None => info.is_null = true,
            Some(oid) => {
                info.is_null = false;
                info.result = Version { mode: MODE_TREE, oid };
            }
        }
        dirs.versions.truncate(offset);
        let prev = dirs.offsets.last().map(|(d, _)| d.as_slice());
        if prev != Some(new_dir) {
            dirs.offsets.push((new_dir.to_vec(), dirs.versions.len()));
        }
        dirs.last_directory = Some(new_dir.to_vec());
        Ok(())
    }

    fn unique_path(&self, path: &[u8], branch: &[u8]) -> Vec<u8> {
        let mut base = path.to_vec();
        base.push(b'~');
        base.extend(branch.iter().map(|&b| if b == b'/' { b'_' } else { b }));
        let mut candidate = base.clone();
        let mut suffix = 0;
        while self.paths.contains_key(&candidate) {
            candidate = base.clone();
            candidate.extend_from_slice(format!("_{suffix}").as_bytes());
            suffix += 1;
        }
        candidate
    }

    /// merge-ort's `process_entry`; `false` if the merge failed outright.
    fn process_entry(&mut self, mut path: Vec<u8>, dirs: &mut DirVersions) -> Result<bool> {
        let mut df_file_index = 0;
        let ci = self.paths.get_mut(&path).or_internal("processed paths are recorded")?;
        if ci.dirmask != 0 {
            record(dirs, &path, ci);
            if ci.filemask == 0 {
                return Ok(true);
            }
        }
        if ci.df_conflict && ci.result.mode == 0 {
            // The directory went away; the file can stay at this path.
            ci.df_conflict = false;
            ci.clean = false;
            ci.is_null = false;
            ci.match_mask &= !ci.dirmask;
            ci.dirmask = 0;
            keep_only_files(ci);
        } else if ci.df_conflict && ci.result.mode != 0 {
            if ci.filemask == 1 {
                ci.filemask = 0;
                return Ok(true);
            }
            let mut file = ci.clone();
            file.match_mask &= !file.dirmask;
            file.dirmask = 0;
            keep_only_files(&mut file);
            df_file_index = if ci.dirmask & 2 != 0 { 2 } else { 1 };
            ci.filemask = 0;
            let branch = if df_file_index == 1 { self.labels.ours.clone() } else { self.labels.theirs.clone() };
            let old_path = std::mem::take(&mut path);
            path = self.unique_path(&old_path, &branch);
            self.paths.insert(path.clone(), file);
            self.conflicts.push(Conflict {
                kind: ConflictKind::FileDirectory,
                paths: vec![path.clone(), old_path],
                versions: None,
            });
        }
        if !self.settle(&mut path, df_file_index, dirs)? {
            return Ok(false);
        }
        let ci = &self.paths[&path];
        if !ci.clean {
            self.conflicted.insert(path.clone(), ());
        }
        record(dirs, &path, &self.paths[&path]);
        Ok(true)
    }

    /// The long if/else chain of `process_entry` that picks a result.
    fn settle(&mut self, path: &mut Vec<u8>, df_file_index: usize, dirs: &mut DirVersions) -> Result<bool> {
        let ci = self.paths[path.as_slice()].clone();
        let (s1, s2) = (ci.stages[1], ci.stages[2]);
        if ci.match_mask != 0 {
            let ci = self.paths.get_mut(path.as_slice()).or_internal("recorded")?;
            ci.clean = !ci.df_conflict && !ci.path_conflict;
            if ci.match_mask == 6 {
                ci.result = ci.stages[1];
            } else {
                let othermask = 7 & !ci.match_mask;
                let side = if othermask == 4 { 2 } else { 1 };
                ci.result = ci.stages[side];
                ci.is_null = !ci.result.exists();
                if ci.is_null {
                    ci.clean = true;
                }
            }
        } else if ci.filemask >= 6 && kind_of(s1.mode) != kind_of(s2.mode) {
            self.distinct_types(path, dirs);
        } else if ci.filemask >= 6 {
            return self.merge_contents(path, df_file_index);
        } else if ci.filemask == 3 || ci.filemask == 5 {
            let side = if ci.filemask == 5 { 2 } else { 1 };
            let unchanged_rename = ci.path_conflict && ci.stages[0].oid == ci.stages[side].oid;
            let info = self.paths.get_mut(path.as_slice()).or_internal("recorded")?;
            info.result = info.stages[side];
            info.clean = false;
            if !unchanged_rename {
                self.conflicts.push(Conflict {
                    kind: ConflictKind::ModifyDelete,
                    paths: vec![path.clone()],
                    versions: Some(ci.stages),
                });
            }
        } else if ci.filemask == 2 || ci.filemask == 4 {
            let side = if ci.filemask == 4 { 2 } else { 1 };
            let info = self.paths.get_mut(path.as_slice()).or_internal("recorded")?;
            info.result = info.stages[side];
            info.clean = !info.df_conflict && !info.path_conflict;
        } else if ci.filemask == 1 {
            let info = self.paths.get_mut(path.as_slice()).or_internal("recorded")?;
            info.is_null = true;
            info.result = Version::NONE;
            info.clean = !info.path_conflict;
        }
        Ok(true)
    }

    fn merge_contents(&mut self, path: &[u8], df_file_index: usize) -> Result<bool> {
        let ci = self.paths[path].clone();
        let merged = handle_content_merge(self, path, ci.stages, &ci.pathnames, 0)?;
        if merged.conflict_kind == Some(ConflictKind::MergeFailed) {
            self.conflicts.push(Conflict {
                kind: ConflictKind::MergeFailed,
                paths: vec![path.to_vec()],
                versions: Some(ci.stages),
            });
            return Ok(false);
        }
        let info = self.paths.get_mut(path).or_internal("recorded")?;
        info.clean = merged.clean && !info.df_conflict && !info.path_conflict;
        info.result = merged.result;
        info.is_null = merged.result.mode == 0;
        if merged.clean && info.df_conflict {
            info.filemask = 1 << df_file_index;
            info.stages[df_file_index] = merged.result;
        }
        if !merged.clean {
            // git's reason: "submodule" for submodules, else "add/add" when
            // only the sides have the path, else "content" (which the
            // specific kinds, binary, symlink and mode, refine).
            let kind = match merged.conflict_kind {
                Some(kind @ (ConflictKind::Submodule | ConflictKind::CustomDriver)) => kind,
                _ if ci.filemask == 6 => ConflictKind::AddAdd,
                Some(kind) => kind,
                None => ConflictKind::Content,
            };
            self.conflicts.push(Conflict { kind, paths: vec![path.to_vec()], versions: Some(ci.stages) });
        }
        Ok(true)
    }

    /// Two different kinds of object (file, symlink, submodule) at one path:
    /// git moves one or both aside to `path~<branch>`.
    fn distinct_types(&mut self, path: &mut Vec<u8>, dirs: &mut DirVersions) {
        let ci = self.paths[path.as_slice()].clone();
        let (o_mode, a_mode, b_mode) = (ci.stages[0].mode, ci.stages[1].mode, ci.stages[2].mode);
        let (rename_a, rename_b) = match (kind_of(a_mode), kind_of(b_mode)) {
            (Kind::File, _) => (true, false),
            (_, Kind::File) => (false, true),
            _ => (true, true),
        };
        let a_path = rename_a.then(|| self.unique_path(path, &self.labels.ours.clone()));
        let b_path = rename_b.then(|| self.unique_path(path, &self.labels.theirs.clone()));
        let mut paths = vec![path.clone()];
        paths.extend(a_path.iter().chain(&b_path).cloned());
        self.conflicts.push(Conflict { kind: ConflictKind::DistinctTypes, paths, versions: Some(ci.stages) });

        let mut b = ci.clone();
        b.clean = false;
        b.result = ci.stages[2];
        b.stages[1] = Version::NONE;
        b.filemask = 5;
        if kind_of(b_mode) != kind_of(o_mode) || o_mode == 0 {
            b.stages[0] = Version::NONE;
            b.filemask = 4;
        }
        let mut a = ci.clone();
        a.clean = false;
        a.result = ci.stages[1];
        a.stages[2] = Version::NONE;
        a.filemask = 3;
        if kind_of(a_mode) != kind_of(o_mode) || o_mode == 0 {
            a.stages[0] = Version::NONE;
            a.filemask = 2;
        }
        let b_key = b_path.unwrap_or_else(|| path.clone());
        if let Some(a_key) = &a_path {
            self.paths.insert(a_key.clone(), a);
        } else {
            self.paths.insert(path.clone(), a);
        }
        self.paths.insert(b_key.clone(), b);
        if rename_a && rename_b {
            self.paths.remove(path.as_slice());
        }
        self.conflicted.insert(b_key.clone(), ());
        record(dirs, &b_key, &self.paths[&b_key]);
        if let Some(a_key) = a_path {
            *path = a_key;
        }
    }
}

/// Clears the stages that are not files (after a directory moved away).
fn keep_only_files(ci: &mut PathInfo) {
    for i in 0..3 {
        if ci.filemask & (1 << i) == 0 {
            ci.stages[i] = Version::NONE;
        }
    }
}

/// Adds a settled path to its directory's pending entries.
fn record(dirs: &mut DirVersions, path: &[u8], info: &PathInfo) {
    if info.is_null {
        return;
    }
    dirs.versions.push((info.basename(path).to_vec(), info.result));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_sort_next_to_their_children() {
        let mut paths: Vec<&[u8]> = vec![b"foo/bar", b"foo.txt", b"foo", b"fo"];
        paths.sort_by(|a, b| dirs_next_to_children(a, b));
        assert_eq!(paths, vec![b"fo".as_slice(), b"foo.txt", b"foo", b"foo/bar"]);
    }
}
