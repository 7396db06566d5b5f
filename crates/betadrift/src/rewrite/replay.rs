//! The stack without some of its patches, replayed in memory.
//!
//! Removing patch X from the middle of the stack is `git rebase --onto X^ X`:
//! the patches below X keep their commits, the ones above are cherry-picked
//! again onto X's parent. Whether that works is exactly the question of
//! whether each of them still applies without X, which the rebase engine of
//! [`crate::rebase::predict`] answers without touching the working tree. A patch that
//! stops on a conflict depends on a removed one; a patch that changes nothing
//! any more is dropped, as git rebase drops it.

use git2::Oid;

use crate::error::{Error, Result};
use crate::git::repo::Repo;
use crate::model::stack::{Patch, Stack};
use crate::model::upstream::LocalChange;
use crate::rebase::predict::{PickOutcome, Skip, Stop, replay};
use crate::support::ids::short_id;
use betadrift_engine::objects::Overlay;

/// What happens to one patch when others are removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Below the first removed patch: its commit stays as it is.
    Kept,
    /// Removed on request.
    Removed,
    /// Would stop on a conflict: it depends on a removed patch. A plan with
    /// such a patch cannot be carried out.
    Conflict(Stop),
    /// Would conflict, so it is removed as well (`--with-dependents`).
    Dependent(Stop),
    /// Changes nothing once the removed patches are gone: dropped, as
    /// `git rebase` drops it.
    BecomesEmpty,
    /// Cherry-picked again onto the new base, giving this tree.
    Replayed { tree: Oid },
}

impl Fate {
    /// Whether the patch leaves the stack.
    pub fn leaves(&self) -> bool {
        matches!(self, Fate::Removed | Fate::Dependent(_) | Fate::BecomesEmpty)
    }
}

/// The stack replayed without some patches.
#[derive(Debug, Clone)]
pub struct Replay {
    /// One fate per patch of the stack, in stack order.
    pub fates: Vec<Fate>,
    /// The commit the replayed patches go onto: the parent of the first
    /// removed patch.
    pub base: Oid,
    /// The tree of the new branch tip.
    pub new_tree: Oid,
}

impl Replay {
    /// The patches that would conflict (indices into the stack), with their stops.
    pub fn conflicts(&self) -> Vec<(usize, &Stop)> {
        self.fates
            .iter()
            .enumerate()
            .filter_map(|(i, f)| match f {
                Fate::Conflict(stop) => Some((i, stop)),
                _ => None,
            })
            .collect()
    }

    /// Whether the plan can be carried out: no remaining patch conflicts.
    pub fn is_clean(&self) -> bool {
        self.conflicts().is_empty()
    }

    /// Indices of the patches with a fate matching `keep`.
    pub fn indices(&self, keep: impl Fn(&Fate) -> bool) -> Vec<usize> {
        self.fates.iter().enumerate().filter(|(_, f)| keep(f)).map(|(i, _)| i).collect()
    }

    /// The commits to create: each replayed patch's author and message with its new tree.
    pub fn planned_commits(&self, stack: &Stack) -> Vec<crate::rewrite::PlannedCommit> {
        self.fates
            .iter()
            .zip(&stack.patches)
            .filter_map(|(f, p)| match f {
                Fate::Replayed { tree } => Some(crate::rewrite::PlannedCommit { original: p.commit.oid, tree: *tree }),
                _ => None,
            })
            .collect()
    }
}

/// Replays `stack` without the patches at `removed` (indices, not empty).
/// With `with_dependents`, patches that would conflict are removed too,
/// until the rest replays cleanly; without it they are reported as
/// [`Fate::Conflict`]. New trees go to `overlay`.
pub fn replay_without(
    repo: &Repo,
    overlay: &Overlay<'_, Repo>,
    stack: &Stack,
    removed: &[usize],
    with_dependents: bool,
) -> Result<Replay> {
    let first = *removed.iter().min().expect("at least one patch to remove");
    ensure_linear(stack, first)?;
    let first_patch = &stack.patches[first];
    let base = first_patch.commit.parents[0];
    let onto = first_patch.parent_tree.expect("a patch with a parent has a parent tree");
    let locals: Vec<LocalChange> = stack.patches[first..].iter().map(Patch::local_change).collect();
    let mut dependents: Vec<(usize, Stop)> = Vec::new();
    loop {
        let skip: Vec<Skip> = (first..stack.patches.len())
            .map(|i| {
                let gone = removed.contains(&i) || dependents.iter().any(|(d, _)| *d == i);
                if gone { Skip::Removed } else { Skip::No }
            })
            .collect();
        let (picks, new_tree) = replay(repo, overlay, onto, &locals, &skip, false)?;
        let stops: Vec<(usize, Stop)> = picks
            .iter()
            .enumerate()
            .filter_map(|(k, p)| match &p.outcome {
                PickOutcome::Conflict(stop) => Some((first + k, stop.clone())),
                _ => None,
            })
            .collect();
        if with_dependents && !stops.is_empty() {
            dependents.extend(stops);
            continue;
        }
        let mut fates = vec![Fate::Kept; first];
        for (k, pick) in picks.into_iter().enumerate() {
            let dependent = dependents.iter().position(|(d, _)| *d == first + k);
            fates.push(match (pick.outcome, dependent) {
                (PickOutcome::Removed, Some(at)) => Fate::Dependent(dependents[at].1.clone()),
                (PickOutcome::Removed, None) => Fate::Removed,
                (PickOutcome::Applies, _) => Fate::Replayed { tree: pick.tree.expect("applied picks have a tree") },
                (PickOutcome::BecomesEmpty, _) => Fate::BecomesEmpty,
                (PickOutcome::Conflict(stop), _) => Fate::Conflict(stop),
                (PickOutcome::AlreadyUpstream { .. } | PickOutcome::MergeCommit, _) => {
                    unreachable!("no upstream skips are asked for, merges are refused")
                }
            });
        }
        return Ok(Replay { fates, base, new_tree });
    }
}

/// From `first` on, the stack must be a plain chain of one-parent commits:
/// that is what `git rebase --onto X^ X` rewrites without losing anything.
pub(super) fn ensure_linear(stack: &Stack, first: usize) -> Result<()> {
    for (i, p) in stack.patches.iter().enumerate().skip(first) {
        let short = short_id(p.commit.oid);
        if p.commit.parents.len() != 1 {
            let what = if p.is_merge() { "a merge commit" } else { "a root commit" };
            return Err(Error::Usage(format!(
                "patch #{} {short} is {what}; betadrift only removes patches from a linear stack, use git rebase by hand",
                p.position
            )));
        }
        if i > first && p.commit.parents[0] != stack.patches[i - 1].commit.oid {
            return Err(Error::Usage(format!(
                "patch #{} {short} does not sit on #{}: the stack is not linear; use git rebase by hand",
                p.position,
                p.position - 1
            )));
        }
    }
    Ok(())
}
