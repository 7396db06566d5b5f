//! What upstream already has of each local patch.
//!
//! A patch on the puppetmaster is usually a Gerrit change under test. Once the
//! change is merged upstream the local copy should go: if it is the same
//! content, the next rebase drops it by itself; if it is an older or newer
//! patchset, it lingers (or conflicts); if upstream reverted it, the local
//! copy is the only thing still applying it. This module finds those cases
//! by Change-Id and, like `git rebase`, by patch-id.
//!
//! Cost matters: upstream may be thousands of commits ahead. Change-Ids come
//! from commit messages (cheap); patch-ids are only computed for upstream
//! commits that touch exactly the paths of a local patch, found by comparing
//! tree ids along those paths only.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use git2::Oid;
use regex::bytes::Regex;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::git::commit::RawCommit;
use crate::git::parallel::with_helper_thread;
use crate::git::repo::Repo;
use crate::model::message::MessageInfo;
use betadrift_engine::objects::{Kind, ObjectRead, RawEntries, kind_of, tree_order};
use betadrift_engine::patchid::{
    BlobShapes, FileShape, PatchId, diff_trees, differing_entries, patch_id, patch_shape, patch_shape_cached,
};

/// How upstream relates to a local patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpstreamState {
    /// Upstream has none of it.
    Pending,
    /// Upstream has the same change (same Change-Id or patch-id, same content).
    Merged,
    /// Upstream merged the same Change-Id with other content (another patchset).
    MergedDiffers,
    /// Upstream merged it, then reverted it.
    Reverted,
}

impl UpstreamState {
    /// All states, in display order.
    pub const ALL: [UpstreamState; 4] =
        [UpstreamState::Pending, UpstreamState::Merged, UpstreamState::MergedDiffers, UpstreamState::Reverted];

    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamState::Pending => "pending",
            UpstreamState::Merged => "merged",
            UpstreamState::MergedDiffers => "merged-differs",
            UpstreamState::Reverted => "reverted",
        }
    }
}

/// How a match was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchedBy {
    ChangeId,
    PatchId,
}

/// The verdict for one patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamMatch {
    pub state: UpstreamState,
    /// The upstream commit that has the change.
    pub commit: Option<Oid>,
    /// The upstream commit that reverted it.
    pub reverted_by: Option<Oid>,
    pub matched_by: Option<MatchedBy>,
    /// Whether the matching upstream commit is already below the merge base
    /// (the local copy survived an earlier rebase).
    pub before_base: bool,
}

impl Default for UpstreamMatch {
    /// Upstream has none of it.
    fn default() -> Self {
        UpstreamMatch {
            state: UpstreamState::Pending,
            commit: None,
            reverted_by: None,
            matched_by: None,
            before_base: false,
        }
    }
}

/// A local commit as upstream matching and the rebase replay see it.
#[derive(Debug, Clone)]
pub struct LocalChange {
    pub oid: Oid,
    pub tree: Oid,
    pub parent_tree: Option<Oid>,
    pub change_id: Option<String>,
    pub is_merge: bool,
    /// First line of the message ([`crate::model::message::subject_line`]),
    /// for the replay's conflict labels.
    pub subject_line: String,
}

/// One upstream commit, with what matching needs.
#[derive(Debug, Clone)]
struct UpCommit {
    oid: Oid,
    /// Committer time and first parent, for history walks.
    time: i64,
    parent: Option<Oid>,
    tree: Oid,
    parent_tree: Option<Oid>,
    reverts: Option<Oid>,
    before_base: bool,
    is_merge: bool,
}

/// The look-back below the merge base reads at most this many commits.
const MAX_LOOKBACK: usize = 2_000;

static REVERTS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"This reverts commit ([0-9a-f]{7,40})").unwrap());

/// The upstream side of the comparison: commits since the merge base (what
/// the next rebase brings), plus a look-back window below it.
#[derive(Debug, Clone)]
pub struct UpstreamIndex {
    /// Oldest first.
    commits: Vec<UpCommit>,
    by_change_id: HashMap<String, Vec<usize>>,
    reverted_by: HashMap<Oid, Vec<usize>>,
    /// Number of commits after the merge base.
    pub ahead: usize,
    /// Patch-id scans already done, by local commit: the matching upstream
    /// commit, if any. `status` and `check` both ask; the scan is the
    /// costliest step of each, so it runs once.
    scanned: Arc<Mutex<HashMap<Oid, Option<usize>>>>,
    /// What the scans learnt on the way: for each path they followed, the
    /// upstream commits (oldest first) that changed it. Culprit search
    /// needs exactly that.
    histories: Arc<Mutex<PathHistories>>,
}

/// Upstream changes by path, oldest first.
type PathHistories = HashMap<Vec<u8>, Arc<[PathChange]>>;

/// (mode, object id) of a path on one side, `None` where absent.
pub type Side = Option<(u32, Oid)>;

/// One upstream commit's change to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathChange {
    pub commit: Oid,
    pub before: Side,
    pub after: Side,
}

impl UpstreamIndex {
    /// Indexes upstream commits in `merge_base..upstream` (`newer`, oldest
    /// first, when the caller already read them), and `older`, the
    /// look-back window below them ([`lookback`]).
    pub fn build(
        repo: &Repo,
        merge_base: Oid,
        upstream: Oid,
        newer: Option<Vec<RawCommit>>,
        older: Vec<RawCommit>,
    ) -> Result<UpstreamIndex> {
        let base = repo.raw_commit(merge_base)?;
        let newer = match newer {
            Some(commits) => commits,
            None => repo
                .commits_between(&[merge_base], upstream)?
                .into_iter()
                .map(|o| repo.raw_commit(o))
                .collect::<Result<_>>()?,
        };
        let ahead = newer.len();
        let mut trees: HashMap<Oid, Oid> =
            older.iter().chain(newer.iter()).chain([&base]).map(|c| (c.oid, c.tree)).collect();
        let mut index = UpstreamIndex {
            commits: Vec::new(),
            by_change_id: HashMap::new(),
            reverted_by: HashMap::new(),
            ahead,
            scanned: Arc::default(),
            histories: Arc::default(),
        };
        let n_older = older.len();
        for (i, c) in older.into_iter().chain(newer).enumerate() {
            let parent_tree = match c.parents.first() {
                Some(p) => Some(match trees.get(p) {
                    Some(&t) => t,
                    None => {
                        let t = repo.raw_commit(*p)?.tree;
                        trees.insert(*p, t);
                        t
                    }
                }),
                None => None,
            };
            let (up, change_id) = up_commit(repo, &c, parent_tree, i < n_older);
            if let Some(id) = change_id {
                index.by_change_id.entry(id).or_default().push(i);
            }
            if let Some(target) = up.reverts {
                index.reverted_by.entry(target).or_default().push(i);
            }
            index.commits.push(up);
        }
        Ok(index)
    }

    /// Decides the upstream state of every local patch: by Change-Id, else
    /// by patch-id.
    pub fn classify(&self, repo: &Repo, patches: &[LocalChange]) -> Result<Vec<UpstreamMatch>> {
        let mut out = vec![UpstreamMatch::default(); patches.len()];
        let mut need_patch_id = Vec::new();
        for (i, p) in patches.iter().enumerate() {
            if p.is_merge {
                continue;
            }
            let hits = p.change_id.as_ref().and_then(|id| self.by_change_id.get(id));
            match hits.and_then(|h| h.last()) {
                Some(&u) => out[i] = self.verdict(repo, p, u, MatchedBy::ChangeId)?,
                None => need_patch_id.push(i),
            }
        }
        let t = crate::support::timing::phase("classify: patch-id scan");
        let found = self.match_patch_ids(repo, patches, &need_patch_id)?;
        drop(t);
        let _t = crate::support::timing::phase("classify: verdicts");
        for (i, u) in found {
            out[i] = self.verdict(repo, &patches[i], u, MatchedBy::PatchId)?;
        }
        Ok(out)
    }

    fn verdict(&self, repo: &Repo, p: &LocalChange, u: usize, by: MatchedBy) -> Result<UpstreamMatch> {
        let up = &self.commits[u];
        let reverted_by = self.effective_revert(u);
        let state = if reverted_by.is_some() {
            UpstreamState::Reverted
        } else if by == MatchedBy::PatchId || same_content(repo, p, up)? || same_patch(repo, p, up)? {
            UpstreamState::Merged
        } else {
            UpstreamState::MergedDiffers
        };
        Ok(UpstreamMatch {
            state,
            commit: Some(up.oid),
            reverted_by: reverted_by.map(|r| self.commits[r].oid),
            matched_by: Some(by),
            before_base: up.before_base,
        })
    }

    /// The revert that undid commit `u`, unless that revert was itself reverted.
    fn effective_revert(&self, u: usize) -> Option<usize> {
        let reverts = self.reverted_by.get(&self.commits[u].oid)?;
        let last = *reverts.iter().filter(|&&r| r > u).max()?;
        match self.effective_revert(last) {
            Some(_) => None, // the revert was reverted: the change is back
            None => Some(last),
        }
    }

    /// Finds upstream commits (after the merge base, like `git rebase`) with
    /// the same patch-id as the given local patches: for each, the oldest.
    /// Each local commit is scanned for once per index.
    fn match_patch_ids(&self, repo: &Repo, patches: &[LocalChange], which: &[usize]) -> Result<Vec<(usize, usize)>> {
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

    /// The scan behind [`Self::match_patch_ids`]. Reading the trees of
    /// thousands of upstream commits is most of the cost of `status` and
    /// `check`, so a long range is shared, in chunks, between this thread
    /// and a second one with its own handle on the repository.
    fn scan_patch_ids(&self, repo: &Repo, patches: &[LocalChange], which: &[usize]) -> Result<Vec<(usize, usize)>> {
        let mut wanted: Vec<(usize, Vec<Vec<u8>>)> = Vec::new();
        for &i in which {
            let p = &patches[i];
            let paths = changed_paths(repo, p.parent_tree, p.tree)?;
            wanted.push((i, paths));
        }
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let trie = PathTrie::new(wanted.iter().flat_map(|(_, paths)| paths.iter()));
        let range: Vec<usize> =
            (0..self.commits.len()).filter(|&u| !self.commits[u].before_base && !self.commits[u].is_merge).collect();
        let best = Mutex::new(HashMap::new());
        let scan = Scan { index: self, patches, wanted: &wanted, trie: &trie, best: &best };
        let chunks: Vec<&[usize]> = range.chunks(SCAN_CHUNK).collect();
        let mut done: Vec<ChunkHistory> = if range.len() < PARALLEL_SCAN_MIN {
            scan.work(repo, &chunks, &AtomicUsize::new(0))?
        } else {
            // Both threads take the next chunk as they finish one: where
            // the work lies (big files local patches also touch) is not
            // known in advance, so an even split of the range is not one
            // of the work.
            let next = AtomicUsize::new(0);
            let (mine, helpers) = with_helper_thread(
                repo,
                |second| scan.work(second, &chunks, &next),
                || scan.work(repo, &chunks, &next),
            );
            let mut done = mine?;
            done.extend(helpers?);
            done
        };
        done.sort_unstable_by_key(|(k, _)| *k);
        let history: Vec<(Vec<u8>, PathChange)> = done.into_iter().flat_map(|(_, h)| h).collect();
        let mut found: Vec<(usize, usize)> = best.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().collect();
        found.sort_unstable();
        // Every path of the trie has now been followed through the whole
        // range: its history is complete, including when empty.
        let mut histories = self.histories.lock().unwrap_or_else(|e| e.into_inner());
        let mut fresh: HashMap<&[u8], Vec<PathChange>> = HashMap::new();
        for (_, paths) in &wanted {
            for path in paths {
                fresh.entry(path.as_slice()).or_default();
            }
        }
        for (path, change) in &history {
            if let Some(v) = fresh.get_mut(path.as_slice()) {
                v.push(*change);
            }
        }
        for (path, changes) in fresh {
            histories.entry(path.to_vec()).or_insert_with(|| changes.into());
        }
        Ok(found)
    }

    /// `git rebase`'s cherry-pick detection: for each local commit, the
    /// upstream commit after the merge base with the same patch-id, if any.
    /// An empty commit matches an empty upstream commit (both have git's
    /// null patch-id).
    pub fn cherry_picked(&self, repo: &Repo, patches: &[LocalChange]) -> Result<Vec<Option<Oid>>> {
        let mut out = vec![None; patches.len()];
        let empty_upstream = self
            .commits
            .iter()
            .find(|c| {
                !c.before_base
                    && !c.is_merge
                    && Some(c.tree) == c.parent_tree.or(Some(betadrift_engine::objects::empty_tree()))
            })
            .map(|c| c.oid);
        let mut candidates = Vec::new();
        for (i, p) in patches.iter().enumerate().filter(|(_, p)| !p.is_merge) {
            if Some(p.tree) == p.parent_tree.or(Some(betadrift_engine::objects::empty_tree())) {
                out[i] = empty_upstream;
            } else {
                candidates.push(i);
            }
        }
        for (i, u) in self.match_patch_ids(repo, patches, &candidates)? {
            out[i] = Some(self.commits[u].oid);
        }
        Ok(out)
    }

    /// The commits after the merge base, oldest first, as (commit, parent
    /// tree, tree); merges are left out.
    pub fn since_base(&self) -> impl Iterator<Item = (Oid, Option<Oid>, Oid)> + '_ {
        self.commits.iter().filter(|c| !c.before_base && !c.is_merge).map(|c| (c.oid, c.parent_tree, c.tree))
    }

    /// Upstream's first-parent chain from the tip down to the merge base, as
    /// (commit, committer time, first parent), newest first.
    pub fn chain_newest_first(&self) -> impl Iterator<Item = (Oid, i64, Option<Oid>)> + '_ {
        self.commits.iter().rev().filter(|c| !c.before_base).map(|c| (c.oid, c.time, c.parent))
    }

    /// The upstream commits since the merge base (oldest first) that changed
    /// `path`, if a patch-id scan followed it.
    pub fn path_history(&self, path: &[u8]) -> Option<Arc<[PathChange]>> {
        self.histories.lock().unwrap_or_else(|e| e.into_inner()).get(path).cloned()
    }

    /// Upstream commits whose Change-Id is `id`, oldest first.
    pub fn commits_with_change_id(&self, id: &str) -> Vec<Oid> {
        self.by_change_id.get(id).map(|v| v.iter().map(|&i| self.commits[i].oid).collect()).unwrap_or_default()
    }
}

/// The first-parent ancestors of the merge base committed after `until`,
/// the base included, oldest first: changes merged upstream shortly before
/// the base may still be on the local stack. At most [`MAX_LOOKBACK`].
pub fn lookback(repo: &Repo, merge_base: Oid, until: i64) -> Result<Vec<RawCommit>> {
    let mut older = Vec::new();
    let mut next = Some(repo.raw_commit(merge_base)?);
    while let Some(c) = next.take() {
        if c.time < until || older.len() >= MAX_LOOKBACK {
            break;
        }
        next = c.parents.first().map(|&p| repo.raw_commit(p)).transpose()?;
        older.push(c);
    }
    older.reverse();
    Ok(older)
}

/// What matching needs of one upstream commit, and its Change-Id.
fn up_commit(repo: &Repo, c: &RawCommit, parent_tree: Option<Oid>, before_base: bool) -> (UpCommit, Option<String>) {
    let change_id = MessageInfo::change_id_of(&c.message);
    let reverts = memchr::memmem::find(&c.message, b"This reverts commit ")
        .and_then(|_| REVERTS.captures(&c.message))
        .and_then(|caps| std::str::from_utf8(&caps[1]).ok().map(str::to_owned))
        .and_then(|hex| resolve_prefix(repo, &hex));
    let up = UpCommit {
        oid: c.oid,
        time: c.time,
        parent: c.parents.first().copied(),
        tree: c.tree,
        parent_tree,
        reverts,
        before_base,
        is_merge: c.parents.len() > 1,
    };
    (up, change_id)
}

fn resolve_prefix(repo: &Repo, hex: &str) -> Option<Oid> {
    if hex.len() == 40 {
        return Oid::from_str(hex).ok();
    }
    repo.git().revparse_single(hex).ok().map(|o| o.id())
}

/// Whether the two commits make the same change (equal patch-ids).
fn same_patch(repo: &Repo, p: &LocalChange, up: &UpCommit) -> Result<bool> {
    if patch_shape(repo, p.parent_tree, p.tree)? != patch_shape(repo, up.parent_tree, up.tree)? {
        return Ok(false);
    }
    Ok(patch_id(repo, p.parent_tree, p.tree)? == patch_id(repo, up.parent_tree, up.tree)?)
}

/// Whether the upstream commit leaves every path the local patch touches
/// exactly as the local patch leaves it.
fn same_content(repo: &Repo, p: &LocalChange, up: &UpCommit) -> Result<bool> {
    let local = changed_paths(repo, p.parent_tree, p.tree)?;
    if !changes_exactly(repo, up.parent_tree, up.tree, &local)? {
        return Ok(false);
    }
    for path in &local {
        let a = crate::git::objects::lookup_path(repo, p.tree, path)?;
        let b = crate::git::objects::lookup_path(repo, up.tree, path)?;
        if a.map(|e| (e.mode, e.oid)) != b.map(|e| (e.mode, e.oid)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Paths of files that differ between two trees, sorted.
pub fn changed_paths(repo: &impl ObjectRead, old: Option<Oid>, new: Oid) -> Result<Vec<Vec<u8>>> {
    let old = old.unwrap_or_else(betadrift_engine::objects::empty_tree);
    Ok(diff_trees(repo, Some(old), Some(new))?.into_iter().map(|c| c.path).collect())
}

/// Whether the files that differ between trees `old` (`None`: the empty
/// tree) and `new` are exactly `paths`: what `changed_paths(..) == paths`
/// says, without diffing whole trees. A directory that none of `paths`
/// lies in is walked only as far as its first changed file, so a commit
/// that touches other files as well is told apart at once.
pub fn changes_exactly(repo: &impl ObjectRead, old: Option<Oid>, new: Oid, paths: &[Vec<u8>]) -> Result<bool> {
    let old = old.unwrap_or_else(betadrift_engine::objects::empty_tree);
    let paths: Vec<&[u8]> = paths.iter().map(Vec::as_slice).collect();
    let mut found = 0;
    let only_those = exact_walk(repo, &mut Vec::new(), Some(old), Some(new), &paths, &mut found)?;
    Ok(only_those && found == paths.len())
}

/// Follows the differences of trees `a` and `b` (at `prefix`) into the
/// directories of `paths`, counting the files of `paths` that differ into
/// `found`; `false` at the first differing file that is not one of them.
fn exact_walk(
    repo: &impl ObjectRead,
    prefix: &mut Vec<u8>,
    a: Option<Oid>,
    b: Option<Oid>,
    paths: &[&[u8]],
    found: &mut usize,
) -> Result<bool> {
    let load = |t: Option<Oid>| t.map(|t| repo.tree(t)).transpose();
    let (ta, tb) = (load(a)?, load(b)?);
    for (ea, eb) in differing_entries(ta.as_deref(), tb.as_deref()) {
        let entry = ea.or(eb).expect("one side has the entry");
        let len = prefix.len();
        prefix.extend_from_slice(entry.name);
        let only_those = if entry.is_tree() {
            prefix.push(b'/');
            let under: Vec<&[u8]> = paths.iter().copied().filter(|p| p.starts_with(prefix)).collect();
            let (a, b) = (ea.map(|e| e.oid()), eb.map(|e| e.oid()));
            if under.is_empty() {
                !any_file_differs(repo, a, b)?
            } else {
                exact_walk(repo, prefix, a, b, &under, found)?
            }
        } else if paths.contains(&prefix.as_slice()) {
            *found += 1;
            true
        } else {
            false
        };
        prefix.truncate(len);
        if !only_those {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether any file differs between trees `a` and `b` (`None`: absent).
/// Two different trees can hold the same files: an empty directory is
/// not a change to git's diff.
fn any_file_differs(repo: &impl ObjectRead, a: Option<Oid>, b: Option<Oid>) -> Result<bool> {
    let load = |t: Option<Oid>| t.map(|t| repo.tree(t)).transpose();
    let (ta, tb) = (load(a)?, load(b)?);
    for (ea, eb) in differing_entries(ta.as_deref(), tb.as_deref()) {
        let entry = ea.or(eb).expect("one side has the entry");
        if !entry.is_tree() || any_file_differs(repo, ea.map(|e| e.oid()), eb.map(|e| e.oid()))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Below this many upstream commits, a second thread costs more than it saves.
const PARALLEL_SCAN_MIN: usize = 512;

/// Upstream commits per unit of work of a patch-id scan: small enough for
/// two threads to share the work evenly, large enough that each unit reads
/// few trees the previous one did not.
const SCAN_CHUNK: usize = 64;

/// One patch-id scan over upstream commits, shared by the threads that run it.
struct Scan<'a> {
    index: &'a UpstreamIndex,
    patches: &'a [LocalChange],
    /// Local patches looking for a match, with the paths they touch.
    wanted: &'a [(usize, Vec<Vec<u8>>)],
    trie: &'a PathTrie,
    /// The oldest match found so far per patch, by any thread.
    best: &'a Mutex<HashMap<usize, usize>>,
}

/// A chunk's number, and how the trie's paths changed along it.
type ChunkHistory = (usize, Vec<(Vec<u8>, PathChange)>);

/// What one scanning thread keeps between its units of work.
#[derive(Default)]
struct ScanCaches {
    local_ids: HashMap<usize, PatchId>,
    local_shapes: HashMap<usize, Vec<FileShape>>,
    blobs: BlobShapes,
    trees: TrieTrees,
}

impl Scan<'_> {
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
    fn run(&self, repo: &Repo, range: &[usize], caches: &mut ScanCaches) -> Result<Vec<(Vec<u8>, PathChange)>> {
        let patches = self.patches;
        let ScanCaches { local_ids, local_shapes, blobs, trees } = caches;
        let mut history = Vec::new();
        let mut entries = Vec::new();
        for &u in range {
            let up = &self.index.commits[u];
            entries.clear();
            let changed = self.trie.changed_leaves(repo, trees, up.parent_tree, up.tree, &mut entries)?;
            history.extend(
                entries
                    .iter()
                    .map(|&(path, before, after)| (path.to_vec(), PathChange { commit: up.oid, before, after })),
            );
            if changed.is_empty() {
                continue;
            }
            let candidates: Vec<&(usize, Vec<Vec<u8>>)> = {
                let best = self.best.lock().unwrap_or_else(|e| e.into_inner());
                self.wanted
                    .iter()
                    .filter(|(i, paths)| {
                        best.get(i).is_none_or(|&m| m > u) && paths.iter().all(|p| changed.contains(p.as_slice()))
                    })
                    .collect()
            };
            if candidates.is_empty() {
                continue;
            }
            // Same files touched, and no others: only then compare patches.
            let mut upstream_id = None;
            let mut upstream_shape = None;
            for (i, paths) in candidates {
                if !changes_exactly(repo, up.parent_tree, up.tree, paths)? {
                    continue;
                }
                let p = &patches[*i];
                // Equal patch-ids imply equal shapes; shapes are far cheaper.
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
        }
        Ok(history)
    }
}

/// The union of the local patches' paths, for scanning upstream commits
/// without diffing whole trees.
#[derive(Debug, Default)]
struct PathTrie {
    /// Sorted by name.
    children: Vec<(Vec<u8>, PathTrie)>,
    leaf: Option<Vec<u8>>,
    /// This node's number, unique in its trie.
    id: usize,
    /// The greatest of the children's names followed by `/`: in a tree,
    /// an entry that sorts after it is past every child.
    bound: Vec<u8>,
    /// The first bytes of the children's names, as a bit set: most entries
    /// of a large tree are ruled out by one test.
    first_bytes: [u64; 4],
}

impl PathTrie {
    fn new<'a>(paths: impl Iterator<Item = &'a Vec<u8>>) -> PathTrie {
        let mut root = PathTrie::default();
        for path in paths {
            let mut node = &mut root;
            for part in path.split(|&b| b == b'/') {
                let k = match node.children.binary_search_by(|(name, _)| name.as_slice().cmp(part)) {
                    Ok(k) => k,
                    Err(k) => {
                        node.children.insert(k, (part.to_vec(), PathTrie::default()));
                        k
                    }
                };
                node = &mut node.children[k].1;
            }
            node.leaf = Some(path.clone());
        }
        root.finish(&mut 0);
        root
    }

    fn finish(&mut self, next: &mut usize) {
        self.id = *next;
        *next += 1;
        self.bound = self.children.iter().map(|(name, _)| [name.as_slice(), b"/"].concat()).max().unwrap_or_default();
        for (name, _) in &self.children {
            let first = name.first().copied().unwrap_or(0);
            self.first_bytes[usize::from(first >> 6)] |= 1 << (first & 63);
        }
        for (_, child) in &mut self.children {
            child.finish(next);
        }
    }

    /// The entries of a tree body that this node's children name, in the
    /// children's order; reads no further than the last of them.
    fn project(&self, data: &[u8]) -> std::result::Result<Box<[Side]>, String> {
        let mut out = vec![None; self.children.len()].into_boxed_slice();
        let mut left = out.len();
        let last_first = self.bound.first().copied().unwrap_or(0);
        for entry in RawEntries::new(data) {
            let e = entry?;
            let first = e.name.first().copied().unwrap_or(0);
            if self.first_bytes[usize::from(first >> 6)] & (1 << (first & 63)) == 0 {
                if first > last_first {
                    break;
                }
                continue;
            }
            if let Ok(k) = self.children.binary_search_by(|(name, _)| name.as_slice().cmp(e.name)) {
                if out[k].is_none() {
                    out[k] = Some((e.mode, e.oid()));
                    left -= 1;
                }
                if left == 0 {
                    break;
                }
            } else if tree_order(e.name, e.is_tree(), &self.bound, false) == std::cmp::Ordering::Greater {
                break;
            }
        }
        Ok(out)
    }

    /// The paths of this trie whose entries differ between two trees: as
    /// files (a set, for matching patches), and as entries of any kind with
    /// their (mode, id) on each side (for path histories).
    fn changed_leaves<'s>(
        &'s self,
        repo: &Repo,
        trees: &mut TrieTrees,
        old: Option<Oid>,
        new: Oid,
        entries: &mut Vec<(&'s [u8], Side, Side)>,
    ) -> Result<HashSet<&'s [u8]>> {
        let mut out = HashSet::new();
        if old != Some(new) {
            self.walk(repo, trees, old, Some(new), &mut out, entries)?;
        }
        Ok(out)
    }

    fn walk<'s>(
        &'s self,
        repo: &Repo,
        trees: &mut TrieTrees,
        a: Option<Oid>,
        b: Option<Oid>,
        out: &mut HashSet<&'s [u8]>,
        entries: &mut Vec<(&'s [u8], Side, Side)>,
    ) -> Result<()> {
        let (pa, pb) =
            (a.map(|o| trees.get(repo, self, o)).transpose()?, b.map(|o| trees.get(repo, self, o)).transpose()?);
        let is_tree = |side: Side| side.is_some_and(|(mode, _)| kind_of(mode) == Kind::Tree);
        for (k, (_, child)) in self.children.iter().enumerate() {
            let (sa, sb) = (pa.as_ref().and_then(|p| p[k]), pb.as_ref().and_then(|p| p[k]));
            if sa == sb {
                continue;
            }
            if let Some(leaf) = &child.leaf {
                entries.push((leaf, sa, sb));
                if (sa.is_some() && !is_tree(sa)) || (sb.is_some() && !is_tree(sb)) {
                    out.insert(leaf);
                }
            }
            if !child.children.is_empty() {
                let sub = |side: Side| side.filter(|_| is_tree(side)).map(|(_, oid)| oid);
                child.walk(repo, trees, sub(sa), sub(sb), out, entries)?;
            }
        }
        Ok(())
    }
}

/// Trees as the trie's nodes see them, by (node, tree id): consecutive
/// upstream commits share most of their trees.
#[derive(Debug, Default)]
struct TrieTrees(HashMap<(usize, Oid), Rc<[Side]>>);

impl TrieTrees {
    fn get(&mut self, repo: &Repo, node: &PathTrie, oid: Oid) -> Result<Rc<[Side]>> {
        if let Some(seen) = self.0.get(&(node.id, oid)) {
            return Ok(Rc::clone(seen));
        }
        let data = repo.raw_tree(oid)?;
        let projected: Rc<[Side]> = node
            .project(&data)
            .map_err(|message| Error::Git { context: format!("parsing tree {oid}"), message })?
            .into();
        self.0.insert((node.id, oid), Rc::clone(&projected));
        Ok(projected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use betadrift_engine::objects::{Entry, MODE_FILE, MODE_TREE, Tree, empty_tree, hash_object};

    /// Names around every edge of git's tree order: a directory sorts as
    /// "name/", so "a!" ('!' < '/') comes before directory "a", "a0"
    /// ('0' > '/') after it, and a file "a" before both.
    const NAMES: [&[u8]; 10] = [b"a", b"a!", b"a-", b"a.b", b"a0", b"ab", b"b", b"A", b"_", b"\xff"];

    /// A small deterministic generator, so a failure names its case.
    fn bits(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed >> 33
    }

    #[test]
    fn projecting_a_tree_finds_what_lookup_finds() {
        let blob = hash_object("blob", b"x");
        let mut seed = 7;
        for case in 0..3000 {
            let (in_tree, dirs, wanted) = (bits(&mut seed), bits(&mut seed), bits(&mut seed));
            let entries: Vec<Entry> = (0..NAMES.len())
                .filter(|k| in_tree & (1 << k) != 0)
                .map(|k| {
                    let dir = dirs & (1 << k) != 0;
                    let (mode, oid) = if dir { (MODE_TREE, empty_tree()) } else { (MODE_FILE, blob) };
                    Entry { name: NAMES[k].into(), mode, oid }
                })
                .collect();
            let tree = Tree::from_entries(entries);
            let paths: Vec<Vec<u8>> =
                (0..NAMES.len()).filter(|k| wanted & (1 << k) != 0).map(|k| NAMES[k].to_vec()).collect();
            let trie = PathTrie::new(paths.iter());
            let projected = trie.project(&tree.serialize()).unwrap();
            for (k, (name, _)) in trie.children.iter().enumerate() {
                let expected = tree.get(name).map(|e| (e.mode, e.oid()));
                assert_eq!(projected[k], expected, "case {case}: {:?} in {tree:?}", String::from_utf8_lossy(name));
            }
        }
    }

    /// No objects: the overlay holds every tree and blob of a test.
    struct Nothing;

    impl ObjectRead for Nothing {
        fn tree(&self, oid: Oid) -> betadrift_engine::Result<Rc<Tree>> {
            Err(betadrift_engine::Error::store(Error::Git { context: format!("tree {oid}"), message: "absent".into() }))
        }
        fn blob(&self, oid: Oid) -> betadrift_engine::Result<betadrift_engine::objects::Blob> {
            Err(betadrift_engine::Error::store(Error::Git { context: format!("blob {oid}"), message: "absent".into() }))
        }
    }

    /// Paths where files and directories of one name, nesting, and empty
    /// directories meet.
    const PATHS: [&str; 9] = ["a", "a.b", "a/x", "a/y/z", "a/y/w", "b/c", "b/d/e", "c", "d/e/f"];

    /// A tree holding the paths of `present`, each with one of two contents
    /// or modes by `variant`; "a" as a file only where "a/..." is absent.
    fn tree_of(
        objects: &betadrift_engine::objects::Overlay<'_, Nothing>,
        present: u64,
        variant: u64,
        empty_dir: bool,
    ) -> Oid {
        let mut files: Vec<(&str, u32, Oid)> = Vec::new();
        for (k, path) in PATHS.iter().enumerate() {
            let dir_taken = *path == "a" && present & 0b1100 != 0;
            if present & (1 << k) == 0 || dir_taken {
                continue;
            }
            let v = (variant >> (2 * k)) & 3;
            let mode = if v == 3 { betadrift_engine::objects::MODE_EXEC } else { betadrift_engine::objects::MODE_FILE };
            files.push((path, mode, objects.add_blob(format!("{path} {}\n", v & 1).into_bytes())));
        }
        fn build(
            objects: &betadrift_engine::objects::Overlay<'_, Nothing>,
            files: &[(&str, u32, Oid)],
            prefix: &str,
            empty_dir: bool,
        ) -> Oid {
            let mut entries = Vec::new();
            let mut dirs: Vec<&str> = Vec::new();
            for (path, mode, oid) in files {
                let Some(rest) = path.strip_prefix(prefix) else { continue };
                match rest.split_once('/') {
                    None => entries.push(betadrift_engine::objects::Entry {
                        name: rest.as_bytes().into(),
                        mode: *mode,
                        oid: *oid,
                    }),
                    Some((dir, _)) if !dirs.contains(&dir) => dirs.push(dir),
                    Some(_) => {}
                }
            }
            for dir in dirs {
                let oid = build(objects, files, &format!("{prefix}{dir}/"), empty_dir);
                entries.push(betadrift_engine::objects::Entry {
                    name: dir.as_bytes().into(),
                    mode: betadrift_engine::objects::MODE_TREE,
                    oid,
                });
            }
            if empty_dir && prefix.is_empty() {
                let oid = objects.add_tree(Tree::from_entries(Vec::new()));
                entries.push(betadrift_engine::objects::Entry {
                    name: b"empty".as_slice().into(),
                    mode: betadrift_engine::objects::MODE_TREE,
                    oid,
                });
            }
            objects.add_tree(Tree::from_entries(entries))
        }
        build(objects, &files, "", empty_dir)
    }

    #[test]
    fn exact_changes_agree_with_a_full_diff() {
        let objects = betadrift_engine::objects::Overlay::new(&Nothing);
        objects.add_tree(Tree::from_entries(Vec::new()));
        let mut seed = 3;
        let (mut same, mut differ) = (0, 0);
        for case in 0..4000 {
            let old = tree_of(&objects, bits(&mut seed), bits(&mut seed), bits(&mut seed).is_multiple_of(3));
            let new = tree_of(&objects, bits(&mut seed), bits(&mut seed), bits(&mut seed).is_multiple_of(3));
            let old = (!bits(&mut seed).is_multiple_of(5)).then_some(old);
            let changed = changed_paths(&objects, old, new).unwrap();
            // The true answer, and answers one path off either way.
            let mut asked = vec![changed.clone()];
            let extra = PATHS[bits(&mut seed) as usize % PATHS.len()].as_bytes().to_vec();
            if !changed.contains(&extra) {
                let mut more = changed.clone();
                more.push(extra);
                more.sort();
                asked.push(more);
            }
            if !changed.is_empty() {
                let mut fewer = changed.clone();
                fewer.remove(bits(&mut seed) as usize % changed.len());
                asked.push(fewer);
            }
            for paths in asked {
                let exact = changes_exactly(&objects, old, new, &paths).unwrap();
                assert_eq!(exact, paths == changed, "case {case}: {paths:?} against {changed:?}");
                if exact { same += 1 } else { differ += 1 }
            }
        }
        assert!(same > 1000 && differ > 1000, "{same} equal, {differ} not");
    }

    #[test]
    fn a_malformed_tree_is_an_error_not_a_guess() {
        let trie = PathTrie::new([b"a".to_vec()].iter());
        assert!(trie.project(b"100644 a").is_err());
        assert!(trie.project(b"10x644 a\0").is_err());
    }
}
