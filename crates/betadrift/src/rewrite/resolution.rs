//! A resolution in progress (`betadrift resolve`): who started it, when,
//! on which branch at which tip, onto which upstream commit, and where its
//! scratch worktree is; and the checks its result must pass before it may
//! land on the live checkout.
//!
//! git does the rebase, in the scratch worktree; betadrift only lands what
//! it can verify: the rebase finished, nothing uncommitted, no conflict
//! marker added, the result sits on the target, and every patch of the old
//! stack is there, unless git itself drops it (upstream has it, it became
//! empty: what `check` predicts) or the admin named it as dropped.

use std::path::{Path, PathBuf};

use git2::Oid;
use serde::{Deserialize, Serialize};

use super::Removal;
use super::journal::oid_hex;
use crate::error::{Error, Result};
use crate::git::repo::{HeadBranch, Repo, Upstream};
use crate::model::selector;
use crate::model::stack::{Patch, Stack, StackOptions};
use crate::rebase::predict::{PickOutcome, predict};
use crate::support::escape::{lossy, terminal, terminal_short};
use crate::support::files::{read_state, write_atomic};
use crate::support::ids::short_id;
use betadrift_engine::objects::{ObjectRead, Overlay};
use betadrift_engine::patchid::diff_trees;

/// The state file of a resolution, in the repository's state directory.
const STATE_FILE: &str = "resolve.json";

/// Where the scratch worktree of the checkout whose git directory is
/// `git_dir` goes: inside the git directory, out of the live working tree.
pub fn scratch_dir(git_dir: &Path) -> PathBuf {
    git_dir.join("betadrift-resolve").join("scratch")
}

/// A resolution in progress, as its state file records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// Who started it ([`super::actor`]).
    pub actor: String,
    /// When (RFC 3339).
    pub started: String,
    /// The live branch, e.g. `refs/heads/production`.
    pub branch: String,
    /// Its tip when the resolution started: landing is a compare-and-swap on it.
    #[serde(with = "oid_hex")]
    pub old_head: Oid,
    /// The upstream commit the stack is rebased onto.
    #[serde(with = "oid_hex")]
    pub target: Oid,
    /// What the admin would call the target (`origin/production`, `origin/production~12`).
    pub target_name: String,
    /// The scratch worktree.
    pub worktree: PathBuf,
}

impl Resolution {
    /// The resolution recorded in `state_dir`, if one is in progress.
    pub fn read(state_dir: &Path) -> Result<Option<Resolution>> {
        let path = state_dir.join(STATE_FILE);
        let Some(text) = read_state(&path)? else { return Ok(None) };
        serde_json::from_slice(&text).map(Some).map_err(|e| Error::Config {
            path: path.clone(),
            message: format!("{e}; move the file away if it is not betadrift's"),
        })
    }

    /// Records the resolution (atomically).
    pub fn write(&self, state_dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Internal { message: e.to_string() })?;
        write_atomic(&state_dir.join(STATE_FILE), text.as_bytes())
    }

    /// Removes the record (nothing if there is none).
    pub fn remove(state_dir: &Path) -> Result<()> {
        crate::support::files::remove_state(&state_dir.join(STATE_FILE))
    }

    /// The live branch's short name.
    pub fn branch_name(&self) -> &str {
        self.branch.strip_prefix("refs/heads/").unwrap_or(&self.branch)
    }

    /// One line, safe for a terminal: who started what, when, and where.
    pub fn describe(&self) -> String {
        format!(
            "a resolution started by {} at {}: {} at {} onto {} ({}), in {}",
            terminal(self.actor.as_bytes()),
            terminal(self.started.as_bytes()),
            terminal(self.branch_name().as_bytes()),
            short_id(self.old_head),
            terminal(self.target_name.as_bytes()),
            short_id(self.target),
            terminal(self.worktree.as_os_str().as_encoded_bytes())
        )
    }
}

/// Refuses `command` (sync, drop, prune) while a resolution is in
/// progress: moving the branch would make its landing refuse, and the
/// admin's work in the scratch worktree would be for nothing.
pub fn refuse_during_resolution(state_dir: &Path, command: &str) -> Result<()> {
    match Resolution::read(state_dir)? {
        Some(r) => Err(Error::Usage(format!(
            "{} is in progress; betadrift {command} changed nothing: land it with `betadrift resolve --continue` or drop it with `betadrift resolve --abort`",
            r.describe()
        ))),
        None => Ok(()),
    }
}

/// A verified result, ready to land.
#[derive(Debug)]
pub struct Landing {
    /// The tip of the scratch worktree: the resolved stack.
    pub new_head: Oid,
    pub new_tree: Oid,
    /// The old stack (on the old tip) and the new one, both against the target.
    pub old: Stack,
    pub new: Stack,
    /// Old patches that are not in the result, and why.
    pub removed: Vec<Removal>,
    /// (index into `old.patches`, index into `new.patches`) of each patch kept.
    pub kept: Vec<(usize, usize)>,
}

/// Checks the scratch worktree's result (see the module documentation);
/// `drops` are selectors of old patches the admin dropped on purpose.
pub fn verify(repo: &Repo, resolution: &Resolution, drops: &[String]) -> Result<Landing> {
    let new_head = finished_result(resolution)?;
    if !repo.is_ancestor(resolution.target, new_head)? {
        return Err(Error::Usage(format!(
            "the result {} in {} is not based on the target {}; rebase it onto {} there, nothing was changed",
            short_id(new_head),
            resolution.worktree.display(),
            short_id(resolution.target),
            short_id(resolution.target)
        )));
    }
    let old = stack_at(repo, resolution, resolution.old_head)?;
    let new = stack_at(repo, resolution, new_head)?;
    if let Some(merge) = new.patches.iter().find(|p| p.is_merge()) {
        return Err(Error::Usage(format!(
            "the result holds a merge commit ({}); the stack must be linear, nothing was changed",
            short_id(merge.commit.oid)
        )));
    }
    let new_tree = repo.commit_tree_and_time(new_head)?.0;
    let target_tree = repo.commit_tree_and_time(resolution.target)?.0;
    refuse_markers(repo, target_tree, new_tree)?;
    let kept = matching(&old.patches, &new.patches);
    let removed = removals(repo, &old, &kept, drops)?;
    Ok(Landing { new_head, new_tree, old, new, removed, kept })
}

/// The tip of the scratch worktree, once git's rebase there is finished
/// and nothing is left uncommitted.
fn finished_result(resolution: &Resolution) -> Result<Oid> {
    let dir = &resolution.worktree;
    let scratch = Repo::open_scratch(dir)?;
    if scratch.operation_in_progress().is_some() {
        return Err(Error::Usage(format!(
            "the rebase in {} is not finished: resolve the conflicts there, `git add` them and `git rebase --continue`, then run `betadrift resolve --continue` again; nothing was changed",
            dir.display()
        )));
    }
    let dirty = scratch.dirty()?;
    if dirty.blocks_rewrite() {
        let first = dirty.modified.iter().chain(&dirty.staged).chain(&dirty.conflicted).next().cloned();
        return Err(Error::Usage(format!(
            "{} has uncommitted changes (first: {}); commit them into the stack (`git commit --amend`) or discard them, then run `betadrift resolve --continue` again; nothing was changed",
            dir.display(),
            terminal_short(&first.unwrap_or_default(), 80)
        )));
    }
    scratch.head_commit()
}

/// The stack of `tip` against the resolution's target.
fn stack_at(repo: &Repo, resolution: &Resolution, tip: Oid) -> Result<Stack> {
    let head = HeadBranch { name: resolution.branch_name().to_owned(), refname: resolution.branch.clone(), oid: tip };
    let upstream = Upstream { name: resolution.target_name.clone(), refname: None, oid: resolution.target };
    let options = StackOptions { snapshot_prefix: String::new(), upstream_states: false, ..StackOptions::default() };
    Stack::load(repo, head, upstream, &options)
}

/// Whether `line` is one of git's conflict markers (`<<<<<<< `, `|||||||
/// `, `>>>>>>> `; `=======` alone is too common in files to count).
fn is_marker(line: &[u8]) -> bool {
    [b'<', b'|', b'>'].iter().any(|&c| {
        line.len() >= 7 && line[..7].iter().all(|&b| b == c) && matches!(line.get(7), None | Some(b' ' | b'\r'))
    })
}

fn markers(blob: &[u8]) -> usize {
    blob.split(|&b| b == b'\n').filter(|l| is_marker(l)).count()
}

/// Refuses a result with more conflict-marker lines in a file than the
/// target has in it: markers the resolution left behind.
fn refuse_markers(repo: &Repo, target_tree: Oid, new_tree: Oid) -> Result<()> {
    let mut left = Vec::new();
    for change in diff_trees(repo, Some(target_tree), Some(new_tree))? {
        let Some(new) = change.new.as_ref().filter(|e| e.mode & 0o170000 == 0o100000) else { continue };
        let before = match &change.old {
            Some(old) if old.mode & 0o170000 == 0o100000 => markers(&repo.blob(old.oid)?),
            _ => 0,
        };
        if markers(&repo.blob(new.oid)?) > before {
            left.push(terminal(&change.path));
        }
    }
    if left.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "conflict markers are left in {}; fix them in the scratch worktree, commit the fix (a new commit or `git commit --amend`) and run `betadrift resolve --continue` again; nothing was changed",
        left.join(", ")
    )))
}

/// Pairs each old patch with the new commit git made of it: the same
/// author (name, email and date) and message, which `git rebase` keeps.
fn matching(old: &[Patch], new: &[Patch]) -> Vec<(usize, usize)> {
    let key = |p: &Patch| (p.commit.raw_author.clone(), p.commit.author_time, p.commit.message.clone());
    let mut used = vec![false; new.len()];
    let mut kept = Vec::new();
    for (i, o) in old.iter().enumerate() {
        let found = new.iter().enumerate().position(|(j, n)| !used[j] && key(n) == key(o));
        if let Some(j) = found {
            used[j] = true;
            kept.push((i, j));
        }
    }
    kept
}

/// The old patches missing from the result, with why: git dropped it
/// (upstream has it, it became empty, a merge) or the admin did (`drops`).
/// Refuses a patch missing for no reason, and a drop naming a kept patch.
fn removals(repo: &Repo, old: &Stack, kept: &[(usize, usize)], drops: &[String]) -> Result<Vec<Removal>> {
    let locals: Vec<_> = old.patches.iter().map(Patch::local_change).collect();
    let overlay = Overlay::new(repo);
    let prediction = predict(repo, &overlay, &old.index, &locals, old.upstream.oid, old.merge_base, false, &[])?;
    let mut dropped = std::collections::BTreeSet::new();
    for selector in drops {
        dropped.extend(selector::resolve(old, selector)?);
    }
    let is_kept = |i: usize| kept.iter().any(|&(o, _)| o == i);
    if let Some(&i) = dropped.iter().find(|&&i| is_kept(i)) {
        return Err(Error::Usage(format!(
            "--drop names #{} {}, which is still in the result; nothing was changed",
            i + 1,
            terminal_short(&old.patches[i].message.subject, 60)
        )));
    }
    let mut removed = Vec::new();
    let mut unexplained = Vec::new();
    for (i, (patch, pick)) in old.patches.iter().zip(&prediction.picks).enumerate() {
        if is_kept(i) {
            continue;
        }
        let why = match &pick.outcome {
            PickOutcome::AlreadyUpstream { matched } => format!("already upstream as {}", short_id(*matched)),
            PickOutcome::BecomesEmpty => "changes nothing on the new upstream".to_owned(),
            PickOutcome::MergeCommit => "merge commit (rebase drops merges)".to_owned(),
            _ if dropped.contains(&i) => "dropped while resolving (--drop)".to_owned(),
            _ => {
                unexplained.push(format!("#{} {}", i + 1, terminal_short(&patch.message.subject, 60)));
                continue;
            }
        };
        removed.push(Removal {
            commit: patch.commit.oid.to_string(),
            position: patch.position,
            subject: lossy(&patch.message.subject),
            change_id: patch.message.change_id.clone(),
            why,
        });
    }
    if !unexplained.is_empty() {
        return Err(Error::Usage(format!(
            "the result lacks {}; if that was meant, name each with --drop (e.g. --drop '#{}'), nothing was changed",
            unexplained.join(", "),
            unexplained[0].split_whitespace().next().unwrap_or("#1").trim_start_matches('#')
        )));
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_gits_seven_character_lines() {
        assert!(is_marker(b"<<<<<<< HEAD"));
        assert!(is_marker(b">>>>>>> 1234567 (subject)"));
        assert!(is_marker(b"||||||| parent of 1234567"));
        assert!(is_marker(b"<<<<<<<"));
        assert!(!is_marker(b"======="));
        assert!(!is_marker(b"<<<<<<<< eight"));
        assert!(!is_marker(b"<<<<<< six"));
        assert_eq!(markers(b"a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> x\n"), 2);
    }
}
