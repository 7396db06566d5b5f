//! The upstream side: the commits a rebase would bring, and a look-back below.
//!
//! Matching asks of upstream the same few things again and again (which
//! commits carry this Change-Id, which revert that commit, what each changes
//! from its parent), so upstream is read once, from the merge base (and a
//! window below it, where changes merged shortly before the base may be
//! found), into an index that answers them. The index also keeps what the
//! patch-id scans learnt, because `status`, `check` and the culprit search
//! all ask it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use git2::Oid;
use regex::bytes::Regex;

use crate::error::Result;
use crate::git::commit::RawCommit;
use crate::git::repo::Repo;
use crate::model::message::MessageInfo;

/// One upstream commit, with what matching needs.
#[derive(Debug, Clone)]
pub(super) struct UpCommit {
    pub(super) oid: Oid,
    /// Committer time and first parent, for history walks.
    pub(super) time: i64,
    pub(super) parent: Option<Oid>,
    /// Every parent, for reachability inside the index.
    pub(super) parents: Vec<Oid>,
    pub(super) tree: Oid,
    pub(super) parent_tree: Option<Oid>,
    pub(super) reverts: Option<Oid>,
    pub(super) before_base: bool,
    pub(super) is_merge: bool,
}

/// The look-back below the merge base reads at most this many commits.
const MAX_LOOKBACK: usize = 2_000;

static REVERTS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"This reverts commit ([0-9a-f]{7,40})").unwrap());

/// The upstream side of the comparison: commits since the merge base (what
/// the next rebase brings), plus a look-back window below it.
#[derive(Debug, Clone)]
pub struct UpstreamIndex {
    /// Oldest first.
    pub(super) commits: Vec<UpCommit>,
    pub(super) by_change_id: HashMap<String, Vec<usize>>,
    pub(super) reverted_by: HashMap<Oid, Vec<usize>>,
    /// Number of commits after the merge base.
    pub ahead: usize,
    /// Patch-id scans already done, by local commit: the matching upstream
    /// commit, if any. `status` and `check` both ask; the scan is the
    /// costliest step of each, so it runs once.
    pub(super) scanned: Arc<Mutex<HashMap<Oid, Option<usize>>>>,
    /// What the scans learnt on the way: for each path they followed, the
    /// upstream commits (oldest first) that changed it. Culprit search
    /// needs exactly that.
    pub(super) histories: Arc<Mutex<PathHistories>>,
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

    /// Upstream's first-parent line from the tip down to (not including) the
    /// merge base, newest first: the commits a rebase could stop at. Where
    /// the merge base is not on that line, the line ends at the last commit
    /// that descends from it (a rebase onto an older one would bring other
    /// local commits).
    pub fn first_parent_line(&self, merge_base: Oid) -> Vec<Oid> {
        let at = self.positions();
        let mut descends = vec![false; self.commits.len()];
        for (i, c) in self.commits.iter().enumerate().filter(|(_, c)| !c.before_base) {
            descends[i] = c.parents.iter().any(|p| *p == merge_base || at.get(p).is_some_and(|&j| descends[j]));
        }
        let mut line = Vec::new();
        let mut next = self.commits.iter().rposition(|c| !c.before_base);
        while let Some(i) = next.filter(|&i| descends[i]) {
            line.push(self.commits[i].oid);
            next = self.commits[i].parent.and_then(|p| at.get(&p).copied()).filter(|&j| !self.commits[j].before_base);
        }
        line
    }

    /// Which of the commits after the merge base (by position in the index)
    /// `tip` reaches: what `git rebase <tip>` brings.
    pub(super) fn reachable_from(&self, tip: Oid) -> Vec<bool> {
        let at = self.positions();
        let mut reached = vec![false; self.commits.len()];
        let mut todo: Vec<usize> = at.get(&tip).copied().into_iter().collect();
        while let Some(i) = todo.pop() {
            if reached[i] || self.commits[i].before_base {
                continue;
            }
            reached[i] = true;
            todo.extend(self.commits[i].parents.iter().filter_map(|p| at.get(p).copied()));
        }
        reached
    }

    /// How many upstream commits after the merge base `tip` reaches.
    pub fn count_reachable(&self, tip: Oid) -> usize {
        self.reachable_from(tip).iter().filter(|&&r| r).count()
    }

    /// Each commit's position in [`Self::commits`].
    pub(super) fn positions(&self) -> HashMap<Oid, usize> {
        self.commits.iter().enumerate().map(|(i, c)| (c.oid, i)).collect()
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
        parents: c.parents.clone(),
        tree: c.tree,
        parent_tree,
        reverts,
        before_base,
        is_merge: c.parents.len() > 1,
    };
    (up, change_id)
}

/// The commit a `This reverts commit <hex>` line names, if any.
fn resolve_prefix(repo: &Repo, hex: &str) -> Option<Oid> {
    if hex.len() == 40 {
        return Oid::from_str(hex).ok();
    }
    repo.revparse_id(hex)
}
