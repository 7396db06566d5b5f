//! When each patch first appeared on the checkout, from snapshots of it:
//! snapshot tags and the branch's reflog.
//!
//! Every rebase rewrites committer dates, so commit dates cannot tell how long
//! a patch has been on the puppetmaster. But git-sync-upstream tags the
//! checkout `snapshot-YYYYmmddHHMM` after every successful rebase, and git
//! records every move of the branch in its reflog (a sync, a cherry-pick, a
//! reset), with the time it moved: the oldest snapshot whose local stack
//! contains a patch (same Change-Id, else same patch-id) dates its arrival.
//! The reflog dates patches on a first install, before any tag or ledger
//! exists, as far back as it reaches (git expires entries after 90 days).
//! Snapshots accumulate for years, so the search gallops back from the
//! newest and bisects, assuming (as is the rule on a puppetmaster) that a
//! patch stays in the stack from its arrival on.

use std::collections::{HashMap, HashSet};

use git2::Oid;
use jiff::Timestamp;
use jiff::civil::DateTime;

use crate::error::Result;
use crate::git::repo::Repo;
use crate::model::message::MessageInfo;
use betadrift_engine::patchid::{BlobShapes, FileChange, FileShape, PatchId, diff_trees, patch_id, patch_shape_cached};

/// The time encoded in a snapshot tag name (`<prefix>YYYYmmddHHMM`, UTC).
pub fn snapshot_time(prefix: &str, name: &str) -> Option<Timestamp> {
    let digits = name.strip_prefix(prefix)?;
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let dt = DateTime::strptime("%Y%m%d%H%M", digits).ok()?;
    dt.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp())
}

/// How a patch is recognised across rebases.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    ChangeId(String),
    PatchId(PatchId),
}

impl Identity {
    /// The identity as one string, `change-id:I…` or `patch-id:<hex>`: the
    /// key of the first-seen ledger, and of what it has already dated
    /// ([`crate::model::stack::StackOptions::first_seen_known`]).
    pub fn key(&self) -> String {
        match self {
            Identity::ChangeId(id) => format!("change-id:{id}"),
            Identity::PatchId(id) => format!("patch-id:{id}"),
        }
    }
}

/// What is needed to recognise one current patch in older stacks.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub identity: Identity,
    /// Cheap pre-filter for patch-id identities: the subject and author time.
    pub subject: Vec<u8>,
    pub author_time: i64,
    /// For patch-id identities, the patch's shape (a cheaper necessary condition).
    pub shape: Option<Vec<FileShape>>,
    /// For patch-id identities, the files the patch changes, old and new
    /// entries: an old commit changing the same files the same way has the
    /// same patch-id (a rebase that changed no context leaves them so).
    pub changes: Option<Vec<FileChange>>,
}

/// A snapshot of the checkout: a snapshot tag, or an entry of the branch's
/// reflog, and the instant it stands for.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The tag's name, or `<branch>@{<time>}` for a reflog entry.
    pub name: String,
    pub commit: Oid,
    pub time: Timestamp,
    /// Whether this is an entry of the branch's reflog (else a tag).
    pub reflog: bool,
}

/// The snapshot tags named `prefix*`, in no order.
fn tags(repo: &Repo, prefix: &str) -> Result<Vec<Snapshot>> {
    let mut out = Vec::new();
    for (name, commit) in repo.tags_with_prefix(prefix)? {
        let time = match snapshot_time(prefix, &name) {
            Some(t) => t,
            None => Timestamp::from_second(repo.commit_tree_and_time(commit)?.2).unwrap_or(Timestamp::UNIX_EPOCH),
        };
        out.push(Snapshot { name, commit, time, reflog: false });
    }
    Ok(out)
}

/// The snapshots to date patches with, oldest first: the tags named
/// `prefix*` (none if `prefix` is empty) and, with `branch`, the entries of
/// its reflog up to the instant given (later ones do not exist yet then).
pub fn snapshots(repo: &Repo, prefix: &str, branch: Option<(&str, Timestamp)>) -> Result<Vec<Snapshot>> {
    let mut out = if prefix.is_empty() { Vec::new() } else { tags(repo, prefix)? };
    if let Some((refname, until)) = branch {
        let short = refname.strip_prefix("refs/heads/").unwrap_or(refname);
        for (commit, time) in repo.reflog(refname)?.into_iter().filter(|&(_, time)| time <= until) {
            let name = format!("{short}@{{{}}}", crate::support::clock::rfc3339(time));
            out.push(Snapshot { name, commit, time, reflog: true });
        }
    }
    out.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

/// A stack as it was at one snapshot.
#[derive(Debug, Default)]
struct OldStack {
    change_ids: HashSet<String>,
    /// Commits without a Change-Id.
    others: Vec<OldCommit>,
}

/// A commit without a Change-Id in an old stack.
#[derive(Debug)]
struct OldCommit {
    subject: Vec<u8>,
    author_time: i64,
    oid: Oid,
    parent_tree: Option<Oid>,
    tree: Oid,
}

/// Finds, for each wanted patch, the oldest snapshot containing it.
pub struct FirstSeen<'r> {
    repo: &'r Repo,
    snapshots: Vec<Snapshot>,
    upstream: UpstreamChain,
    stacks: HashMap<usize, OldStack>,
    patch_ids: HashMap<Oid, PatchId>,
    /// Blob shapes: the versions of one hack in successive snapshots share
    /// most blobs.
    blobs: BlobShapes,
}

impl std::fmt::Debug for FirstSeen<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirstSeen").field("snapshots", &self.snapshots.len()).finish_non_exhaustive()
    }
}

impl<'r> FirstSeen<'r> {
    /// Prepares a search over `snapshots` (oldest first), with `upstream` the
    /// current upstream tip (snapshot stacks end where its history begins),
    /// and `known` upstream commits already read, newest first, as
    /// (commit, committer time, first parent).
    pub fn new(
        repo: &'r Repo,
        snapshots: Vec<Snapshot>,
        upstream: Oid,
        known: impl Iterator<Item = (Oid, i64, Option<Oid>)>,
    ) -> FirstSeen<'r> {
        let mut chain = UpstreamChain::new(upstream);
        chain.seed(known);
        FirstSeen {
            repo,
            snapshots,
            upstream: chain,
            stacks: HashMap::new(),
            patch_ids: HashMap::new(),
            blobs: BlobShapes::default(),
        }
    }

    /// The oldest snapshot holding the patch, if any holds it.
    pub fn find(&mut self, wanted: &Wanted) -> Result<Option<&Snapshot>> {
        let n = self.snapshots.len();
        if n == 0 || !self.contains(n - 1, wanted)? {
            return Ok(None);
        }
        // Gallop back from the newest tag to one that lacks the patch...
        let mut hit = n - 1;
        let mut step = 1;
        let miss = loop {
            if hit == 0 {
                break None;
            }
            let probe = hit.saturating_sub(step);
            if self.contains(probe, wanted)? {
                hit = probe;
                step *= 2;
            } else {
                break Some(probe);
            }
        };
        // ...then bisect between the last miss and the first hit.
        if let Some(mut lo) = miss {
            while hit - lo > 1 {
                let mid = lo + (hit - lo) / 2;
                if self.contains(mid, wanted)? {
                    hit = mid;
                } else {
                    lo = mid;
                }
            }
        }
        Ok(self.snapshots.get(hit))
    }

    fn contains(&mut self, idx: usize, wanted: &Wanted) -> Result<bool> {
        if !self.stacks.contains_key(&idx) {
            let stack = self.read_stack(self.snapshots[idx].commit)?;
            self.stacks.insert(idx, stack);
        }
        let candidates: Vec<(Oid, Option<Oid>, Oid)> = {
            let stack = &self.stacks[&idx];
            match &wanted.identity {
                Identity::ChangeId(id) => return Ok(stack.change_ids.contains(id)),
                Identity::PatchId(_) => stack
                    .others
                    .iter()
                    .filter(|c| c.subject == wanted.subject || c.author_time == wanted.author_time)
                    .map(|c| (c.oid, c.parent_tree, c.tree))
                    .collect(),
            }
        };
        for (oid, parent, tree) in candidates {
            if wanted.changes.as_ref().is_some_and(|changes| {
                diff_trees(self.repo, Some(parent.unwrap_or_else(betadrift_engine::objects::empty_tree)), Some(tree))
                    .is_ok_and(|theirs| theirs == *changes)
            }) {
                return Ok(true); // the same files changed the same way
            }
            if let Some(shape) = &wanted.shape
                && patch_shape_cached(self.repo, parent, tree, &mut self.blobs)? != *shape
            {
                continue; // equal patch-ids need equal shapes
            }
            let id = match self.patch_ids.get(&oid) {
                Some(id) => *id,
                None => {
                    let id = patch_id(self.repo, parent, tree)?;
                    *self.patch_ids.entry(oid).or_insert(id)
                }
            };
            if Identity::PatchId(id) == wanted.identity {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The local commits of a snapshot: its first-parent chain down to the
    /// first commit that is part of upstream history.
    fn read_stack(&mut self, tip: Oid) -> Result<OldStack> {
        let mut stack = OldStack::default();
        let mut next = Some(tip);
        let mut below: Option<crate::git::commit::RawCommit> = None;
        for _ in 0..MAX_STACK {
            let Some(oid) = next else { break };
            let c = match below.take() {
                Some(c) if c.oid == oid => c,
                _ => self.repo.raw_commit(oid)?,
            };
            if self.upstream.contains(self.repo, oid, c.time)? {
                break;
            }
            next = c.parents.first().copied();
            match MessageInfo::change_id_of(&c.message) {
                Some(id) => {
                    stack.change_ids.insert(id);
                }
                None => {
                    let parent = next.map(|p| self.repo.raw_commit(p)).transpose()?;
                    let info = MessageInfo::parse(&c.message);
                    stack.others.push(OldCommit {
                        subject: info.subject,
                        author_time: c.author_time,
                        oid,
                        parent_tree: parent.as_ref().map(|p| p.tree),
                        tree: c.tree,
                    });
                    below = parent;
                }
            }
        }
        Ok(stack)
    }
}

/// The current upstream's first-parent history, read lazily from the tip
/// down as far as membership questions need.
#[derive(Debug)]
struct UpstreamChain {
    next: Option<Oid>,
    members: HashSet<Oid>,
    oldest_time: i64,
}

/// No stack is longer than this; a snapshot that is not based on upstream
/// history at all is read this far and no further.
const MAX_STACK: usize = 2_000;

/// Upstream commit times can be out of order by this much.
const CLOCK_SLACK: i64 = 86_400;

impl UpstreamChain {
    fn new(tip: Oid) -> Self {
        UpstreamChain { next: Some(tip), members: HashSet::new(), oldest_time: i64::MAX }
    }

    /// Whether `oid` (committed at `time`) is in upstream's first-parent chain.
    fn contains(&mut self, repo: &Repo, oid: Oid, time: i64) -> Result<bool> {
        while self.oldest_time >= time.saturating_sub(CLOCK_SLACK) && !self.members.contains(&oid) {
            let Some(next) = self.next else { break };
            let c = repo.raw_commit(next)?;
            self.members.insert(next);
            self.oldest_time = self.oldest_time.min(c.time);
            self.next = c.parents.first().copied();
        }
        Ok(self.members.contains(&oid))
    }

    /// Starts the chain from commits already read (newest first).
    fn seed(&mut self, known: impl Iterator<Item = (Oid, i64, Option<Oid>)>) {
        for (oid, time, parent) in known {
            if self.next != Some(oid) {
                break;
            }
            self.members.insert(oid);
            self.oldest_time = self.oldest_time.min(time);
            self.next = parent;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names_give_utc_times() {
        let t = snapshot_time("snapshot-", "snapshot-202611251205").unwrap();
        assert_eq!(crate::support::clock::rfc3339(t), "2026-11-25T12:05:00Z");
        assert!(snapshot_time("snapshot-", "snapshot-2026112512").is_none());
        assert!(snapshot_time("snapshot-", "snapshot-20261125120x").is_none());
        assert!(snapshot_time("snapshot-", "snapshot-202613251205").is_none());
        assert!(snapshot_time("snapshot-", "release-202611251205").is_none());
    }
}
