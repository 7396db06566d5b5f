//! The coming rebase, replayed in memory.
//!
//! `git rebase <upstream>` first drops every local commit whose patch-id
//! upstream already has, then cherry-picks the rest one by one onto the new
//! upstream with merge-ort, dropping picks that end up changing nothing. A
//! pick that does not merge cleanly stops the rebase; on a puppetmaster that
//! stop silently freezes the sync. This module makes the same decisions
//! without a working tree, without an index and without writing one object,
//! and it carries on past each stop the way `git rebase --skip` would, so a
//! single run reports every stop.

use git2::Oid;

use crate::error::Result;
use crate::git::repo::Repo;
use crate::model::upstream::{LocalChange, UpstreamIndex};
use betadrift_engine::merge::{Conflict, Labels, MergeOutcome, Unmerged, merge_trees_with};
use betadrift_engine::objects::{ObjectRead, Overlay};

/// What the rebase does with one local commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickOutcome {
    /// Picked cleanly.
    Applies,
    /// Skipped: upstream has a commit with the same patch-id.
    AlreadyUpstream { matched: Oid },
    /// Picked, but it changes nothing on the new base: dropped.
    BecomesEmpty,
    /// The pick stops on a conflict (and is skipped to go on).
    Conflict(Stop),
    /// A merge commit: `git rebase` without `--rebase-merges` drops it.
    MergeCommit,
    /// Left out on request (`drop`, `sync --drop-merged`).
    Removed,
}

impl PickOutcome {
    /// The name used in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            PickOutcome::Applies => "applies",
            PickOutcome::AlreadyUpstream { .. } => "already-upstream",
            PickOutcome::BecomesEmpty => "becomes-empty",
            PickOutcome::Conflict(_) => "conflict",
            PickOutcome::MergeCommit => "merge-commit",
            PickOutcome::Removed => "removed",
        }
    }

    /// Whether the rebase stops here.
    pub fn is_stop(&self) -> bool {
        matches!(self, PickOutcome::Conflict(_))
    }
}

/// A predicted stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// The logical conflicts, in the order git reports them.
    pub conflicts: Vec<Conflict>,
    /// The paths left unmerged in the index, sorted.
    pub unmerged: Vec<Unmerged>,
    /// The trees merged: the patch's parent, the rebased tip, the patch.
    pub trees: [Oid; 3],
}

/// One local commit and what the rebase does with it.
#[derive(Debug, Clone)]
pub struct Pick {
    pub commit: Oid,
    pub position: usize,
    pub outcome: PickOutcome,
    /// With `--each`: the outcome of this patch alone on the new upstream.
    pub alone: Option<PickOutcome>,
    /// The rebased tree after this pick, when it applies.
    pub tree: Option<Oid>,
}

/// The whole prediction.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub upstream: Oid,
    pub merge_base: Oid,
    pub picks: Vec<Pick>,
    /// The tree HEAD would have after the rebase (with every stop skipped).
    pub result_tree: Oid,
    /// `git rebase`'s cherry-pick detection: per local commit, the upstream
    /// commit that has its patch (searches over upstream narrow it).
    pub cherry: Vec<Option<Oid>>,
}

impl Prediction {
    /// Whether the rebase would run through without stopping.
    pub fn is_clean(&self) -> bool {
        !self.picks.iter().any(|p| p.outcome.is_stop())
    }

    /// The first stop: the local commit's index and the stop, as
    /// [`first_stop`] gives them.
    pub fn first_stop(&self) -> Option<(usize, Stop)> {
        self.picks.iter().enumerate().find_map(|(i, p)| match &p.outcome {
            PickOutcome::Conflict(stop) => Some((i, stop.clone())),
            _ => None,
        })
    }
}

/// Predicts `git rebase <upstream>` of `locals` (oldest first, the commits
/// of `merge_base..HEAD`) with the local commits at `removed` (indices) left
/// out, `index` describing `merge_base..upstream`. New blobs and trees go to
/// `overlay`, where the caller can read them. With `each`, every patch is
/// also tried alone on upstream.
#[allow(clippy::too_many_arguments)] // the rebase's inputs, each once
pub fn predict(
    repo: &Repo,
    overlay: &Overlay<'_, Repo>,
    index: &UpstreamIndex,
    locals: &[LocalChange],
    upstream: Oid,
    merge_base: Oid,
    each: bool,
    removed: &[usize],
) -> Result<Prediction> {
    let t = crate::support::timing::phase("predict: cherry-pick scan");
    let cherry = index.cherry_picked(repo, locals)?;
    drop(t);
    predict_with(repo, overlay, &cherry, locals, upstream, merge_base, each, removed)
}

/// [`predict`] with `git rebase`'s cherry-pick detection already done:
/// `cherry` is, per local commit, the upstream commit that has its patch.
#[allow(clippy::too_many_arguments)] // the rebase's inputs, each once
pub fn predict_with(
    repo: &Repo,
    overlay: &Overlay<'_, Repo>,
    cherry: &[Option<Oid>],
    locals: &[LocalChange],
    upstream: Oid,
    merge_base: Oid,
    each: bool,
    removed: &[usize],
) -> Result<Prediction> {
    let upstream_tree = repo.commit_tree_and_time(upstream)?.0;
    let _t = crate::support::timing::phase("predict: replay");
    let skip = skips(cherry, removed);
    let (picks, result_tree) = replay(repo, overlay, upstream_tree, locals, &skip, each)?;
    Ok(Prediction { upstream, merge_base, picks, result_tree, cherry: cherry.to_vec() })
}

/// What the replay leaves out, from the cherry-pick detection and the
/// patches removed on request.
pub fn skips(cherry: &[Option<Oid>], removed: &[usize]) -> Vec<Skip> {
    cherry
        .iter()
        .enumerate()
        .map(|(i, c)| match c {
            _ if removed.contains(&i) => Skip::Removed,
            Some(matched) => Skip::Upstream(*matched),
            None => Skip::No,
        })
        .collect()
}

/// The first stop of the replay of `locals` onto the tree `onto` (the
/// local commit's index and the stop), or `None` when it runs through: the
/// question a search over upstream commits asks of each, answered without
/// replaying past the first stop.
pub fn first_stop<R: ObjectRead>(
    repo: &Repo,
    overlay: &Overlay<'_, R>,
    onto: Oid,
    locals: &[LocalChange],
    skip: &[Skip],
) -> Result<Option<(usize, Stop)>> {
    let mut tip = onto;
    for (i, local) in locals.iter().enumerate() {
        if local.is_merge || skip.get(i).is_some_and(|s| *s != Skip::No) {
            continue;
        }
        match pick(repo, overlay, local, tip)? {
            (PickOutcome::Conflict(stop), _) => return Ok(Some((i, stop))),
            (_, new_tip) => tip = new_tip,
        }
    }
    Ok(None)
}

/// Whether the replay leaves a commit out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Pick it.
    No,
    /// Upstream has it (this commit).
    Upstream(Oid),
    /// Left out on request.
    Removed,
}

/// Replays `locals` onto the tree `onto` as `git rebase` does, leaving out
/// what `skip` says (missing entries mean [`Skip::No`]); with `each`, also
/// tries every commit alone on `onto`. Returns the picks and the final tree.
pub fn replay<R: ObjectRead>(
    repo: &Repo,
    overlay: &Overlay<'_, R>,
    onto: Oid,
    locals: &[LocalChange],
    skip: &[Skip],
    each: bool,
) -> Result<(Vec<Pick>, Oid)> {
    let mut tip = onto;
    let mut picks = Vec::with_capacity(locals.len());
    for (i, local) in locals.iter().enumerate() {
        let skip = skip.get(i).copied().unwrap_or(Skip::No);
        let upstreamed = match skip {
            Skip::Upstream(matched) => Some(matched),
            _ => None,
        };
        let outcome = match (local.is_merge, skip) {
            (true, _) => PickOutcome::MergeCommit,
            (false, Skip::Upstream(matched)) => PickOutcome::AlreadyUpstream { matched },
            (false, Skip::Removed) => PickOutcome::Removed,
            (false, Skip::No) => {
                let (outcome, new_tip) = pick(repo, overlay, local, tip)?;
                tip = new_tip;
                outcome
            }
        };
        let alone = if each && !local.is_merge && skip != Skip::Removed {
            Some(match upstreamed {
                Some(matched) => PickOutcome::AlreadyUpstream { matched },
                None => pick(repo, overlay, local, onto)?.0,
            })
        } else {
            None
        };
        let tree = (outcome == PickOutcome::Applies).then_some(tip);
        picks.push(Pick { commit: local.oid, position: i + 1, outcome, alone, tree });
    }
    Ok((picks, tip))
}

/// Cherry-picks one commit onto `tip`; returns the outcome and the new tip.
fn pick<R: ObjectRead>(
    repo: &Repo,
    overlay: &Overlay<'_, R>,
    local: &LocalChange,
    tip: Oid,
) -> Result<(PickOutcome, Oid)> {
    let base = local.parent_tree.unwrap_or_else(betadrift_engine::objects::empty_tree);
    let originally_empty = base == local.tree;
    if base == tip {
        // git fast-forwards: the commit's own tree is the result.
        return Ok((PickOutcome::Applies, local.tree));
    }
    let labels = labels(repo, local)?;
    let merged: MergeOutcome = merge_trees_with(overlay, base, tip, local.tree, &labels, &repo.merge_setup())?;
    if !merged.clean {
        let stop = Stop { conflicts: merged.conflicts, unmerged: merged.unmerged, trees: [base, tip, local.tree] };
        return Ok((PickOutcome::Conflict(stop), tip));
    }
    if merged.tree == tip && !originally_empty {
        return Ok((PickOutcome::BecomesEmpty, tip));
    }
    Ok((PickOutcome::Applies, merged.tree))
}

/// The labels the sequencer gives a pick: "HEAD" and "<abbrev> (<subject>)".
fn labels(repo: &Repo, local: &LocalChange) -> Result<Labels> {
    let mut theirs = format!("{} (", repo.abbrev(local.oid)?).into_bytes();
    theirs.extend_from_slice(&local.label_subject);
    theirs.push(b')');
    let mut ancestor = b"parent of ".to_vec();
    ancestor.extend_from_slice(&theirs);
    Ok(Labels { ancestor, ours: b"HEAD".to_vec(), theirs })
}
