//! The patch-id scan: which upstream commits make the same change as a local patch.
//!
//! Reading the trees of thousands of upstream commits is most of the cost
//! of `status` and `check`, so the scan is built to read little: it follows
//! only the paths the local patches touch ([`PathTrie`]), compares cheap
//! patch shapes before patch-ids, shares a long range with a second thread,
//! and remembers, in the index, both its answers and the history of every
//! path it followed (the culprit search needs exactly those).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::LocalChange;
use super::index::{PathChange, UpstreamIndex};
use super::tree_diff::{changed_paths, changes_exactly};
use super::trie::{PathTrie, TrieTrees};
use crate::error::Result;
use crate::git::parallel::with_helper_thread;
use crate::git::repo::Repo;
use betadrift_engine::patchid::{BlobShapes, FileShape, PatchId, patch_id, patch_shape_cached};

/// Below this many upstream commits, a second thread costs more than it saves.
const PARALLEL_SCAN_MIN: usize = 512;

/// Upstream commits per unit of work of a patch-id scan: small enough for
/// two threads to share the work evenly, large enough that each unit reads
/// few trees the previous one did not.
const SCAN_CHUNK: usize = 64;

/// A local patch looking for a match (its index), with the paths it touches.
type Wanted = (usize, Vec<Vec<u8>>);

/// How the trie's paths changed along some upstream commits, in order.
type History = Vec<(Vec<u8>, PathChange)>;

/// What a scan found: the oldest match per patch (patch, upstream
/// position), the patches' paths, and how those paths changed.
type ScanResult = (Vec<(usize, usize)>, Vec<Wanted>, History);

/// A chunk's number, and how the trie's paths changed along it.
type ChunkHistory = (usize, History);

impl UpstreamIndex {
    /// Finds upstream commits (after the merge base, like `git rebase`) with
    /// the same patch-id as the given local patches: for each, the oldest.
    /// Each local commit is scanned for once per index.
    pub(super) fn match_patch_ids(
        &self,
        repo: &Repo,
        patches: &[LocalChange],
        which: &[usize],
    ) -> Result<Vec<(usize, usize)>> {
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        {
            let scanned = self.scanned.lock().unwrap_or_else(|e| e.into_inner());
            for &i in which {
                match scanned.get(&patches[i].oid) {
                    Some(found) => known.extend(found.map(|u| (i, u))),
                    None => unknown.push(i),
                }
            }
        }
        let found = self.scan_patch_ids(repo, patches, &unknown)?;
        let mut scanned = self.scanned.lock().unwrap_or_else(|e| e.into_inner());
        for &i in &unknown {
            scanned.insert(patches[i].oid, found.iter().find(|(j, _)| *j == i).map(|&(_, u)| u));
        }
        known.extend(found);
        Ok(known)
    }

    /// The scan behind [`Self::match_patch_ids`], over every upstream commit
    /// after the merge base that is not a merge.
    fn scan_patch_ids(&self, repo: &Repo, patches: &[LocalChange], which: &[usize]) -> Result<Vec<(usize, usize)>> {
        let range: Vec<usize> =
            (0..self.commits.len()).filter(|&u| !self.commits[u].before_base && !self.commits[u].is_merge).collect();
        let (found, wanted, history) = self.scan_range(repo, patches, which, &range)?;
        self.record_histories(&wanted, &history);
        Ok(found)
    }

    /// Like [`Self::match_patch_ids`], among the upstream commits at
    /// `range` (ascending positions, no merges) only, and remembering
    /// nothing: for a rebase onto an upstream commit older than the tip.
    pub(super) fn match_patch_ids_in(
        &self,
        repo: &Repo,
        patches: &[LocalChange],
        which: &[usize],
        range: &[usize],
    ) -> Result<Vec<(usize, usize)>> {
        Ok(self.scan_range(repo, patches, which, range)?.0)
    }

    /// The scan of `range` for the patches `which`: the oldest match of
    /// each, the paths followed, and how they changed along the range.
    fn scan_range(&self, repo: &Repo, patches: &[LocalChange], which: &[usize], range: &[usize]) -> Result<ScanResult> {
        let mut wanted: Vec<Wanted> = Vec::new();
        for &i in which {
            let p = &patches[i];
            let paths = changed_paths(repo, p.parent_tree, p.tree)?;
            wanted.push((i, paths));
        }
        if wanted.is_empty() {
            return Ok((Vec::new(), wanted, Vec::new()));
        }
        let trie = PathTrie::new(wanted.iter().flat_map(|(_, paths)| paths.iter()));
        let best = Mutex::new(HashMap::new());
        let scan = Scan { index: self, patches, wanted: &wanted, trie: &trie, best: &best };
        let history = scan.all(repo, range)?;
        let mut found: Vec<(usize, usize)> = best.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().collect();
        found.sort_unstable();
        Ok((found, wanted, history))
    }

    /// Keeps the history of every path of `wanted`, from the `history` of a
    /// scan over the whole range, for [`UpstreamIndex::path_history`].
    fn record_histories(&self, wanted: &[Wanted], history: &History) {
        // Every path of the trie has now been followed through the whole
        // range: its history is complete, including when empty.
        let mut histories = self.histories.lock().unwrap_or_else(|e| e.into_inner());
        let mut fresh: HashMap<&[u8], Vec<PathChange>> = HashMap::new();
        for (_, paths) in wanted {
            for path in paths {
                fresh.entry(path.as_slice()).or_default();
            }
        }
        for (path, change) in history {
            if let Some(v) = fresh.get_mut(path.as_slice()) {
                v.push(*change);
            }
        }
        for (path, changes) in fresh {
            histories.entry(path.to_vec()).or_insert_with(|| changes.into());
        }
    }
}

/// One patch-id scan over upstream commits, shared by the threads that run it.
struct Scan<'a> {
    index: &'a UpstreamIndex,
    patches: &'a [LocalChange],
    /// Local patches looking for a match, with the paths they touch.
    wanted: &'a [Wanted],
    trie: &'a PathTrie,
    /// The oldest match found so far per patch, by any thread.
    best: &'a Mutex<HashMap<usize, usize>>,
}

/// What one scanning thread keeps between its units of work.
#[derive(Default)]
struct ScanCaches {
    local_ids: HashMap<usize, PatchId>,
    local_shapes: HashMap<usize, Vec<FileShape>>,
    blobs: BlobShapes,
    trees: TrieTrees,
}

impl<'a> Scan<'a> {
    /// Scans `range` (ascending indexes) in chunks: on this thread when it is
    /// short, else shared with a second one. Returns how the trie's paths
    /// changed along the range, in order.
    fn all(&self, repo: &Repo, range: &[usize]) -> Result<History> {
        let chunks: Vec<&[usize]> = range.chunks(SCAN_CHUNK).collect();
        let mut done: Vec<ChunkHistory> = if range.len() < PARALLEL_SCAN_MIN {
            self.work(repo, &chunks, &AtomicUsize::new(0))?
        } else {
            // Both threads take the next chunk as they finish one: where
            // the work lies (big files local patches also touch) is not
            // known in advance, so an even split of the range is not one
            // of the work.
            let next = AtomicUsize::new(0);
            let (mine, helpers) = with_helper_thread(
                repo,
                |second| self.work(second, &chunks, &next),
                || self.work(repo, &chunks, &next),
            );
            let mut done = mine?;
            done.extend(helpers?);
            done
        };
        done.sort_unstable_by_key(|(k, _)| *k);
        Ok(done.into_iter().flat_map(|(_, h)| h).collect())
    }

    /// Takes chunks (by `next`) until none are left; returns each chunk's
    /// number and how the trie's paths changed along it.
    fn work(&self, repo: &Repo, chunks: &[&[usize]], next: &AtomicUsize) -> Result<Vec<ChunkHistory>> {
        let mut caches = ScanCaches::default();
        let mut out = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(chunk) = chunks.get(k) else { return Ok(out) };
            out.push((k, self.run(repo, chunk, &mut caches)?));
        }
    }

    /// Records matches in `range` (ascending indexes) into `best`, and
    /// returns how the trie's paths changed along the range.
    fn run(&self, repo: &Repo, range: &[usize], caches: &mut ScanCaches) -> Result<History> {
        let mut history = Vec::new();
        let mut entries = Vec::new();
        for &u in range {
            let up = &self.index.commits[u];
            entries.clear();
            let changed = self.trie.changed_leaves(repo, &mut caches.trees, up.parent_tree, up.tree, &mut entries)?;
            history.extend(
                entries
                    .iter()
                    .map(|&(path, before, after)| (path.to_vec(), PathChange { commit: up.oid, before, after })),
            );
            if changed.is_empty() {
                continue;
            }
            let candidates = self.candidates(u, &changed);
            if candidates.is_empty() {
                continue;
            }
            self.compare(repo, u, &candidates, caches)?;
        }
        Ok(history)
    }

    /// The patches upstream commit `u` could match: no match as old as `u`
    /// found yet, and every path of theirs among the files `u` `changed`.
    fn candidates(&self, u: usize, changed: &HashSet<&[u8]>) -> Vec<&'a Wanted> {
        let best = self.best.lock().unwrap_or_else(|e| e.into_inner());
        self.wanted
            .iter()
            .filter(|(i, paths)| {
                best.get(i).is_none_or(|&m| m > u) && paths.iter().all(|p| changed.contains(p.as_slice()))
            })
            .collect()
    }

    /// Records `u` in `best` for each of `candidates` whose patch it is:
    /// the same files changed and no others, then equal shapes (far cheaper
    /// to compare, and implied by equal patch-ids), then equal patch-ids.
    /// `u`'s own shape and patch-id are computed once, and only if needed.
    fn compare(&self, repo: &Repo, u: usize, candidates: &[&Wanted], caches: &mut ScanCaches) -> Result<()> {
        let up = &self.index.commits[u];
        let ScanCaches { local_ids, local_shapes, blobs, .. } = caches;
        let mut upstream_id = None;
        let mut upstream_shape = None;
        for (i, paths) in candidates.iter().copied() {
            if !changes_exactly(repo, up.parent_tree, up.tree, paths)? {
                continue;
            }
            let p = &self.patches[*i];
            let local_shape = match local_shapes.get(i) {
                Some(s) => s,
                None => local_shapes.entry(*i).or_insert(patch_shape_cached(repo, p.parent_tree, p.tree, blobs)?),
            };
            let shape = match &upstream_shape {
                Some(s) => s,
                None => upstream_shape.insert(patch_shape_cached(repo, up.parent_tree, up.tree, blobs)?),
            };
            if shape != local_shape {
                continue;
            }
            let local = match local_ids.get(i) {
                Some(id) => *id,
                None => *local_ids.entry(*i).or_insert(patch_id(repo, p.parent_tree, p.tree)?),
            };
            let theirs = match upstream_id {
                Some(id) => id,
                None => *upstream_id.insert(patch_id(repo, up.parent_tree, up.tree)?),
            };
            if theirs == local {
                let mut best = self.best.lock().unwrap_or_else(|e| e.into_inner());
                let at = best.entry(*i).or_insert(u);
                *at = (*at).min(u);
            }
        }
        Ok(())
    }
}
