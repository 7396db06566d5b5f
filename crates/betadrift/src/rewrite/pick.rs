//! Where a picked Gerrit patchset goes in the stack, replayed in memory.
//!
//! A new change goes on top: `git cherry-pick` of the fetched commit onto
//! HEAD. A newer patchset of a change the stack already holds replaces the
//! old one in place (same position), and the patches above it are
//! cherry-picked again onto it, as `git rebase -i` with the old commit's
//! `pick` line swapped for the new one would do: the patches above keep
//! applying where they did. The rebase engine ([`crate::rebase::predict`])
//! answers whether every step applies before anything is written.

use git2::Oid;

use super::replay::ensure_linear;
use super::{Change, Kind, Plan, PlannedCommit, Removal};
use crate::error::Result;
use crate::git::commit::CommitInfo;
use crate::git::repo::Repo;
use crate::model::message::MessageInfo;
use crate::model::stack::{Patch, Stack};
use crate::model::upstream::{LocalChange, UpstreamMatch};
use crate::rebase::predict::{Pick, PickOutcome, Prediction, replay};
use crate::support::escape::lossy;
use crate::support::ids::short_id;
use betadrift_engine::objects::Overlay;

/// A fetched patchset to bring into the stack.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The Gerrit change number and patchset.
    pub change: u64,
    pub patchset: u32,
    pub commit: CommitInfo,
    pub message: MessageInfo,
    /// The tree of its parent (the patch is the change from it).
    pub parent_tree: Oid,
    /// The local patch it replaces (index into the stack), else on top.
    pub replaces: Option<usize>,
}

impl Incoming {
    /// The commit as the replay sees it.
    pub fn local_change(&self) -> LocalChange {
        LocalChange {
            oid: self.commit.oid,
            tree: self.commit.tree,
            parent_tree: Some(self.parent_tree),
            change_id: self.message.change_id.clone(),
            is_merge: false,
            label_subject: self.commit.sequencer_subject(),
        }
    }

    /// The commit as a patch at `position`, for the words of a stop.
    pub fn as_patch(&self, position: usize) -> Patch {
        Patch {
            position,
            commit: self.commit.clone(),
            message: self.message.clone(),
            upstream: UpstreamMatch::default(),
            first_seen: None,
            parent_tree: Some(self.parent_tree),
            patch_id: std::sync::OnceLock::new(),
        }
    }

    /// `change 1234567 patchset 3`.
    pub fn name(&self) -> String {
        format!("change {} patchset {}", self.change, self.patchset)
    }
}

/// What comes of one commit of the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A patch of the stack, cherry-picked again (its index).
    Reapplied(usize),
    /// An incoming patchset (its index in the incoming list), in place of
    /// the patch at `replaces` or on top.
    Incoming { incoming: usize, replaces: Option<usize> },
}

/// The stack with the incoming patchsets, replayed.
#[derive(Debug, Clone)]
pub struct PickReplay {
    /// The commit the replay starts from: the parent of the first
    /// replaced patch, else HEAD.
    pub base: Oid,
    /// Index of the first patch replayed (the stack's length if none is).
    pub first: usize,
    /// One role and pick per replayed commit, in order.
    pub roles: Vec<Role>,
    pub prediction: Prediction,
}

impl PickReplay {
    /// The first commit that would stop, with its role.
    pub fn first_stop(&self) -> Option<(usize, Role)> {
        self.prediction.picks.iter().zip(&self.roles).position(|(p, _)| p.outcome.is_stop()).map(|i| (i, self.roles[i]))
    }

    /// The first commit that would change nothing (git would drop it).
    pub fn first_empty(&self) -> Option<Role> {
        self.prediction
            .picks
            .iter()
            .zip(&self.roles)
            .find(|(p, _)| p.outcome == PickOutcome::BecomesEmpty)
            .map(|(_, r)| *r)
    }

    /// The position the replayed commit `i` has in the new stack.
    pub fn position(&self, i: usize) -> usize {
        self.first + i + 1
    }
}

/// Replays the stack from the first patch an incoming patchset replaces
/// (or from HEAD), with the incoming ones in place or on top.
pub fn replay_with(
    repo: &Repo,
    overlay: &Overlay<'_, Repo>,
    stack: &Stack,
    incoming: &[Incoming],
) -> Result<PickReplay> {
    let len = stack.patches.len();
    let first = incoming.iter().filter_map(|i| i.replaces).min().unwrap_or(len);
    let (base, onto) = if first < len {
        ensure_linear(stack, first)?;
        let p = &stack.patches[first];
        (p.commit.parents[0], p.parent_tree.expect("a patch with a parent has a parent tree"))
    } else {
        (stack.head.oid, repo.commit_tree_and_time(stack.head.oid)?.0)
    };
    let mut roles = Vec::new();
    let mut locals = Vec::new();
    for (i, patch) in stack.patches.iter().enumerate().skip(first) {
        match incoming.iter().position(|inc| inc.replaces == Some(i)) {
            Some(k) => {
                roles.push(Role::Incoming { incoming: k, replaces: Some(i) });
                locals.push(incoming[k].local_change());
            }
            None => {
                roles.push(Role::Reapplied(i));
                locals.push(patch.local_change());
            }
        }
    }
    for (k, inc) in incoming.iter().enumerate().filter(|(_, inc)| inc.replaces.is_none()) {
        roles.push(Role::Incoming { incoming: k, replaces: None });
        locals.push(inc.local_change());
    }
    let (picks, result_tree): (Vec<Pick>, Oid) = replay(repo, overlay, onto, &locals, &[], false)?;
    let cherry = vec![None; locals.len()];
    let prediction = Prediction { upstream: base, merge_base: base, picks, result_tree, cherry };
    Ok(PickReplay { base, first, roles, prediction })
}

/// The rewrite that carries out a clean `replay`: the replaced patches are
/// recorded as removed, each naming the patchset that took its place.
pub fn pick_plan(stack: &Stack, replay: &PickReplay, incoming: &[Incoming], old_tree: Oid, reason: String) -> Plan {
    let commits = replay
        .prediction
        .picks
        .iter()
        .map(|p| PlannedCommit { original: p.commit, tree: p.tree.expect("a clean replay applies every pick") })
        .collect();
    let removed = incoming
        .iter()
        .filter_map(|inc| {
            let old = &stack.patches[inc.replaces?];
            Some(Removal {
                commit: old.commit.oid.to_string(),
                position: old.position,
                subject: lossy(&old.message.subject),
                change_id: old.message.change_id.clone(),
                why: format!("replaced by {} ({})", inc.name(), short_id(inc.commit.oid)),
            })
        })
        .collect();
    Plan {
        kind: Kind::Pick,
        branch: stack.head.clone(),
        old_tree,
        change: Change::Commits { base: replay.base, commits },
        new_tree: replay.prediction.result_tree,
        removed,
        reason: Some(reason),
        forced: false,
        upstream: None,
        snapshot_tag: None,
        recovering: None,
        undoes: None,
    }
}
