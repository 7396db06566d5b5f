//! The local stack: the commits a puppetmaster carries on top of upstream,
//! with what is known about each (who, how old, which task, which Gerrit
//! change, what upstream already has of it).
//!
//! This is the model every command stands on: `status` prints it, `check`
//! replays it, `drop` edits it, `report` summarises it.

use git2::Oid;
use jiff::{SignedDuration, Timestamp};

use crate::error::{Error, Result};
use crate::git::commit::{CommitInfo, RawCommit};
use crate::git::parallel::with_helper_thread;
use crate::git::repo::{HeadBranch, Repo, Upstream};
use crate::model::message::MessageInfo;
use crate::model::snapshot_tags::{self, FirstSeen, Identity, Wanted};
use crate::model::upstream::{LocalChange, UpstreamIndex, UpstreamMatch};

/// Where a first-seen time came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeenSource {
    /// The oldest snapshot tag whose stack holds the patch.
    Snapshot(String),
    /// The oldest entry of the branch's reflog whose stack holds the patch.
    Reflog,
    /// betadrift's own first-seen ledger.
    Ledger,
}

/// When a patch first appeared on the checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub time: Timestamp,
    pub source: SeenSource,
}

/// One local commit.
#[derive(Debug, Clone)]
pub struct Patch {
    /// 1-based position in the stack, oldest first.
    pub position: usize,
    pub commit: CommitInfo,
    pub message: MessageInfo,
    pub upstream: UpstreamMatch,
    pub first_seen: Option<Seen>,
    /// The tree of the first parent (the patch is the change from it).
    pub parent_tree: Option<Oid>,
    /// The patch-id, once computed: first-seen, the ledger and the upstream
    /// scan all need it, and it costs a diff.
    pub patch_id: std::sync::OnceLock<betadrift_engine::patchid::PatchId>,
}

impl Patch {
    /// Whether this is a merge commit (which `git rebase` drops).
    pub fn is_merge(&self) -> bool {
        self.commit.parents.len() > 1
    }

    /// How the patch is recognised across rebases: Change-Id, else patch-id.
    pub fn identity(&self, repo: &Repo) -> Result<Identity> {
        if let Some(id) = &self.message.change_id {
            return Ok(Identity::ChangeId(id.clone()));
        }
        if let Some(id) = self.patch_id.get() {
            return Ok(Identity::PatchId(*id));
        }
        let id = betadrift_engine::patchid::patch_id(repo, self.parent_tree, self.commit.tree)?;
        Ok(Identity::PatchId(*self.patch_id.get_or_init(|| id)))
    }

    /// The patch as upstream matching and the rebase replay see it.
    pub fn local_change(&self) -> LocalChange {
        LocalChange {
            oid: self.commit.oid,
            tree: self.commit.tree,
            parent_tree: self.parent_tree,
            change_id: self.message.change_id.clone(),
            is_merge: self.is_merge(),
            label_subject: self.commit.sequencer_subject(),
        }
    }

    /// When the patch arrived on the checkout, as far as anything dates it
    /// (the ledger, a snapshot tag, the branch's reflog); `None` when
    /// nothing does. The author date is never an arrival: a cherry-pick
    /// keeps the date its author wrote it, often years before.
    pub fn arrived(&self) -> Option<Timestamp> {
        self.first_seen.as_ref().map(|s| s.time)
    }

    /// How long the patch has been on the checkout at `now`; `None` when
    /// nothing dates its arrival (unknown is unknown, never old).
    pub fn age(&self, now: Timestamp) -> Option<SignedDuration> {
        self.arrived().map(|arrived| now.duration_since(arrived))
    }
}

/// How to read a stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Snapshot tag prefix for first-seen times; empty searches no tags.
    pub snapshot_prefix: String,
    /// Whether the branch's reflog dates patches too, with its entries up
    /// to this instant (`now`: a later entry does not exist yet at `now`);
    /// the tags and the reflog are the snapshots the first-seen search reads.
    pub reflog_until: Option<Timestamp>,
    /// How far below the merge base to look for Change-Ids merged long ago.
    pub lookback: SignedDuration,
    /// Whether to find each patch's upstream state (merged, reverted…);
    /// `check` only replays, and `git rebase` needs patch-ids alone.
    pub upstream_states: bool,
    /// Patch identities ([`Identity::key`]) the ledger has already
    /// dated with a snapshot search: not searched again.
    pub first_seen_known: std::collections::HashSet<String>,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            snapshot_prefix: "snapshot-".into(),
            reflog_until: None,
            lookback: SignedDuration::from_hours(30 * 24),
            upstream_states: true,
            first_seen_known: Default::default(),
        }
    }
}

impl StackOptions {
    /// The options a config asks for (its snapshot tag prefix).
    pub fn from_config(config: &crate::config::Config) -> StackOptions {
        StackOptions { snapshot_prefix: config.sync.snapshot_prefix.clone(), ..StackOptions::default() }
    }
}

/// The local stack and its relation to upstream.
#[derive(Debug, Clone)]
pub struct Stack {
    pub head: HeadBranch,
    pub upstream: Upstream,
    pub merge_base: Oid,
    pub merge_base_time: Timestamp,
    /// Upstream commits not yet in HEAD.
    pub behind: usize,
    pub patches: Vec<Patch>,
    /// Upstream since the merge base (and a look-back window below it).
    pub index: UpstreamIndex,
    /// Whether snapshot tags were searched for first-seen times (patches
    /// in [`StackOptions::first_seen_known`] excepted).
    pub first_seen_searched: bool,
}

impl Stack {
    /// Reads the stack of `head` against `upstream`.
    ///
    /// First-seen times come from older snapshot stacks, which have nothing
    /// to do with upstream matching: they are looked up on a second thread
    /// while this one indexes upstream.
    pub fn load(repo: &Repo, head: HeadBranch, upstream: Upstream, options: &StackOptions) -> Result<Stack> {
        let t = crate::support::timing::phase("history");
        let (merge_base, local, newer) = stack_history(repo, &head, &upstream)?;
        let merge_base_time =
            Timestamp::from_second(repo.raw_commit(merge_base)?.time).unwrap_or(Timestamp::UNIX_EPOCH);
        drop(t);
        let t = crate::support::timing::phase("local commits");
        let mut patches = read_patches(repo, local)?;
        let lookback_until =
            options.upstream_states.then(|| lookback_start(&patches, merge_base_time, options.lookback)).flatten();
        let older = match lookback_until {
            Some(until) => crate::model::upstream::lookback(repo, merge_base, until)?,
            _ => Vec::new(),
        };
        drop(t);
        // Upstream's first-parent chain, newest first, as far as it is known
        // (first-seen reads below the base too: not twice).
        let chain: Vec<(Oid, i64, Option<Oid>)> = newer
            .iter()
            .flatten()
            .rev()
            .chain(older.iter().rev())
            .map(|c| (c.oid, c.time, c.parents.first().copied()))
            .collect();
        let keys: Vec<PatchKey> = patches.iter().map(PatchKey::of).collect();
        let prefix = options.snapshot_prefix.as_str();
        let reflog = options.reflog_until.map(|until| (head.refname.as_str(), until));
        let searched = !prefix.is_empty() || reflog.is_some();
        let index = || index_and_classify(repo, merge_base, upstream.oid, newer, older, options, &mut patches);
        let (index, first_seen) = if !searched {
            (index(), Ok((vec![None; keys.len()], Vec::new())))
        } else {
            let (upstream_oid, known) = (upstream.oid, &options.first_seen_known);
            with_helper_thread(
                repo,
                move |second| {
                    let _t = crate::support::timing::phase("first seen (in parallel)");
                    first_seen(second, (prefix, reflog), upstream_oid, chain, &keys, known)
                },
                index,
            )
        };
        let index = index?;
        date_patches(&mut patches, first_seen?);
        let behind = index.ahead;
        Ok(Stack { head, upstream, merge_base, merge_base_time, behind, patches, index, first_seen_searched: searched })
    }

    /// Looks up a patch by position.
    pub fn at(&self, position: usize) -> Option<&Patch> {
        position.checked_sub(1).and_then(|i| self.patches.get(i))
    }
}

/// Where `head` and `upstream` meet, the local commits above the merge base
/// (oldest first), and upstream's commits above it when the walk read them
/// on the way (linear histories); `None` leaves them to the upstream index.
fn stack_history(
    repo: &Repo,
    head: &HeadBranch,
    upstream: &Upstream,
) -> Result<(Oid, Vec<Oid>, Option<Vec<RawCommit>>)> {
    Ok(match repo.linear_histories(head.oid, upstream.oid)? {
        Some(h) => (h.merge_base, h.local.into_iter().map(|c| c.oid).collect(), Some(h.upstream)),
        None => {
            let base = repo
                .merge_base(head.oid, upstream.oid)?
                .ok_or_else(|| Error::NoMergeBase { upstream: upstream.name.clone() })?;
            (base, repo.commits_between(&[upstream.oid], head.oid)?, None)
        }
    })
}

/// The local commits `local` (oldest first) as patches, with their messages
/// parsed; upstream state and first-seen time still unknown.
fn read_patches(repo: &Repo, local: Vec<Oid>) -> Result<Vec<Patch>> {
    let mut patches = Vec::new();
    for (i, oid) in local.into_iter().enumerate() {
        let commit = repo.commit(oid)?;
        let message = MessageInfo::parse(&commit.message);
        let parent_tree = commit.parents.first().map(|&p| repo.raw_commit(p).map(|c| c.tree)).transpose()?;
        patches.push(Patch {
            position: i + 1,
            commit,
            message,
            upstream: UpstreamMatch::default(),
            first_seen: None,
            parent_tree,
            patch_id: Default::default(),
        });
    }
    Ok(patches)
}

/// Indexes upstream ([`UpstreamIndex::build`]) and, if `options` ask for
/// upstream states, classifies every patch against it.
fn index_and_classify(
    repo: &Repo,
    merge_base: Oid,
    upstream: Oid,
    newer: Option<Vec<RawCommit>>,
    older: Vec<RawCommit>,
    options: &StackOptions,
    patches: &mut [Patch],
) -> Result<UpstreamIndex> {
    let t = crate::support::timing::phase("upstream index");
    let index = UpstreamIndex::build(repo, merge_base, upstream, newer, older)?;
    drop(t);
    if options.upstream_states {
        let _t = crate::support::timing::phase("classify");
        let locals: Vec<LocalChange> = patches.iter().map(Patch::local_change).collect();
        for (p, m) in patches.iter_mut().zip(index.classify(repo, &locals)?) {
            p.upstream = m;
        }
    }
    Ok(index)
}

/// Gives each patch what the first-seen search found: its time, and the
/// patch-id it computed on the way.
fn date_patches(patches: &mut [Patch], (seen, identities): FirstSeenFound) {
    for (p, seen) in patches.iter_mut().zip(seen) {
        p.first_seen = seen;
    }
    for (p, identity) in patches.iter_mut().zip(identities) {
        if let Identity::PatchId(id) = identity {
            p.patch_id = id.into();
        }
    }
}

/// What the first-seen search needs of a patch; plain data, for another thread.
#[derive(Debug, Clone)]
struct PatchKey {
    change_id: Option<String>,
    parent_tree: Option<Oid>,
    tree: Oid,
    subject: Vec<u8>,
    author_time: i64,
}

impl PatchKey {
    fn of(p: &Patch) -> PatchKey {
        PatchKey {
            change_id: p.message.change_id.clone(),
            parent_tree: p.parent_tree,
            tree: p.commit.tree,
            subject: p.message.subject.clone(),
            author_time: p.commit.author_time.seconds,
        }
    }
}

/// What [`first_seen`] found per patch, and the identity of each patch it
/// computed (none when it searched nothing).
type FirstSeenFound = (Vec<Option<Seen>>, Vec<Identity>);

/// For each patch, the oldest snapshot (a tag named `prefix*`, an entry of
/// the reflog of `branch` up to its instant) whose stack holds it. `chain` is upstream's
/// first-parent history already read, newest first. Patches whose identity
/// is in `known` are left to the ledger (`None`).
fn first_seen(
    repo: &Repo,
    (prefix, branch): (&str, Option<(&str, Timestamp)>),
    upstream: Oid,
    chain: Vec<(Oid, i64, Option<Oid>)>,
    keys: &[PatchKey],
    known: &std::collections::HashSet<String>,
) -> Result<FirstSeenFound> {
    let mut identities = Vec::with_capacity(keys.len());
    for k in keys {
        identities.push(match &k.change_id {
            Some(id) => Identity::ChangeId(id.clone()),
            None => Identity::PatchId(betadrift_engine::patchid::patch_id(repo, k.parent_tree, k.tree)?),
        });
    }
    let unknown = |identity: &Identity| !known.contains(&identity.key());
    if !identities.iter().any(unknown) {
        return Ok((vec![None; keys.len()], identities));
    }
    let tags = snapshot_tags::snapshots(repo, prefix, branch)?;
    if tags.is_empty() {
        return Ok((vec![None; keys.len()], identities));
    }
    let mut search = FirstSeen::new(repo, tags, upstream, chain.into_iter());
    let mut out = Vec::with_capacity(keys.len());
    for (k, identity) in keys.iter().zip(&identities) {
        if !unknown(identity) {
            out.push(None);
            continue;
        }
        let identity = identity.clone();
        let (shape, changes) = match identity {
            Identity::ChangeId(_) => (None, None),
            Identity::PatchId(_) => (
                Some(betadrift_engine::patchid::patch_shape(repo, k.parent_tree, k.tree)?),
                Some(betadrift_engine::patchid::diff_trees(
                    repo,
                    Some(k.parent_tree.unwrap_or_else(betadrift_engine::objects::empty_tree)),
                    Some(k.tree),
                )?),
            ),
        };
        let wanted = Wanted { identity, subject: k.subject.clone(), author_time: k.author_time, shape, changes };
        out.push(search.find(&wanted)?.map(|snap| Seen {
            time: snap.time,
            source: if snap.reflog { SeenSource::Reflog } else { SeenSource::Snapshot(snap.name.clone()) },
        }));
    }
    Ok((out, identities))
}

/// Upstream commits older than this cannot hold a local Change-Id: the
/// oldest author date among patches with a Change-Id, less a day, but not
/// more than `lookback` below the merge base.
fn lookback_start(patches: &[Patch], merge_base_time: Timestamp, lookback: SignedDuration) -> Option<i64> {
    let oldest =
        patches.iter().filter(|p| p.message.change_id.is_some()).map(|p| p.commit.author_time.seconds).min()?;
    let floor = merge_base_time.as_second() - lookback.as_secs();
    Some((oldest - 86_400).max(floor))
}

/// Patches without a repository, for unit tests of what works on patches.
#[cfg(test)]
pub(crate) mod testing {
    use git2::Oid;

    use super::Patch;
    use crate::git::commit::{CommitInfo, GitTime, Person};
    use crate::model::message::MessageInfo;
    use crate::model::upstream::UpstreamMatch;

    /// Patch `position`: commit `oid` (40 hex digits) with `message`, by Kim
    /// <kim@example.org>, authored at 1,700,000,000 (2023-11-14T22:13:20Z).
    pub fn patch(position: usize, oid: &str, message: &str) -> Patch {
        let person = Person { name: b"Kim".to_vec(), email: b"kim@example.org".to_vec() };
        let time = GitTime { seconds: 1_700_000_000, offset_minutes: 0 };
        let oid = Oid::from_str(oid).unwrap();
        Patch {
            position,
            commit: CommitInfo {
                oid,
                tree: oid,
                parents: Vec::new(),
                author: person.clone(),
                raw_author: person.clone(),
                author_time: time,
                committer: person,
                commit_time: time,
                message: message.as_bytes().to_vec(),
                encoding: None,
            },
            message: MessageInfo::parse(message.as_bytes()),
            upstream: UpstreamMatch::default(),
            first_seen: None,
            parent_tree: None,
            patch_id: Default::default(),
        }
    }
}
