//! The scratch worktree of `betadrift resolve`: a `git worktree` of the
//! checkout, detached at the branch's tip, where the real `git rebase` runs
//! and stops, and where the admin resolves with git's own markers and
//! tools. The live checkout is never touched here: the worktree shares the
//! object store (so the resolved commits need no copying) and has its own
//! HEAD, index and rebase state (`<git dir>/worktrees/<name>/`).

use std::path::Path;
use std::process::Command;

use git2::Oid;

use crate::error::{Error, Result};
use crate::git::cli::{reason, run};
use crate::git::repo::Repo;
use crate::git::write::Ident;

/// The repository's hooks do not run in what betadrift (often as root)
/// starts: `post-checkout`, `pre-rebase` and `post-rewrite` are the
/// checkout owner's scripts. The admin's own `git rebase --continue` in the
/// scratch worktree runs them, as any git command the admin runs does.
const NO_HOOKS: &str = "core.hooksPath=/dev/null";

/// How the `git rebase` started in the scratch worktree ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebaseRun {
    /// It ran through: HEAD of the worktree is the rebased stack.
    Clean,
    /// It stopped on a conflict: git's markers are in these paths.
    Stopped { conflicted: Vec<Vec<u8>> },
}

impl Repo {
    /// Creates a worktree at `dir`, detached at `commit` (`git worktree add
    /// --detach`): no branch is created, none is checked out twice.
    pub fn add_scratch_worktree(&self, dir: &Path, commit: Oid) -> Result<()> {
        let mut git = self.git_cli();
        git.args(["-c", NO_HOOKS, "worktree", "add", "--detach", "--quiet"]).arg(dir).arg(commit.to_string());
        let out = run(&mut git, "git worktree add")?;
        if out.status.success() {
            return Ok(());
        }
        Err(Error::Usage(format!(
            "cannot create the scratch worktree {}: {}; nothing was changed",
            dir.display(),
            reason(&out.stderr)
        )))
    }

    /// Removes the worktree at `dir` (its files and git's record of it) and
    /// prunes git's records of worktrees that are gone. A `dir` that no
    /// longer exists is only pruned.
    pub fn remove_scratch_worktree(&self, dir: &Path) -> Result<()> {
        if dir.exists() {
            let mut git = self.git_cli();
            // Twice: a worktree with a rebase in progress or a lock.
            git.args(["worktree", "remove", "--force", "--force"]).arg(dir);
            let out = run(&mut git, "git worktree remove")?;
            if !out.status.success() && dir.exists() {
                return Err(Error::Usage(format!(
                    "cannot remove the scratch worktree {}: {}",
                    dir.display(),
                    reason(&out.stderr)
                )));
            }
        }
        let out = run(self.git_cli().args(["worktree", "prune"]), "git worktree prune")?;
        if !out.status.success() {
            return Err(Error::Usage(format!("git worktree prune failed: {}", reason(&out.stderr))));
        }
        Ok(())
    }

    /// Opens the scratch worktree at `dir` as a repository of its own (its
    /// HEAD, index and rebase state), or says it is gone.
    pub fn open_scratch(dir: &Path) -> Result<Repo> {
        let git = git2::Repository::open(dir).map_err(|e| {
            Error::Usage(format!(
                "the scratch worktree {} cannot be opened ({}); `betadrift resolve --abort` cleans up",
                dir.display(),
                e.message()
            ))
        })?;
        Ok(Repo::from_git(git))
    }

    /// The commit HEAD points at, detached or not.
    pub fn head_commit(&self) -> Result<Oid> {
        let head = self.git().head().map_err(|e| Error::git("reading HEAD", e))?;
        head.target().ok_or_else(|| Error::Usage("HEAD is a symbolic reference to nothing".into()))
    }

    /// Runs `git rebase <onto>` in this (scratch) worktree, as `committer`:
    /// git's own rebase, with its markers where it stops. `--no-update-refs`
    /// so that no configuration moves branches of the live checkout, and no
    /// editor is started.
    pub fn rebase_scratch(&self, onto: Oid, committer: &Ident) -> Result<RebaseRun> {
        let dir = self.workdir().ok_or_else(|| Error::BareRepository { path: self.git_dir().to_owned() })?;
        let mut git = Command::new("git");
        git.current_dir(dir)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_OBJECT_DIRECTORY")
            .env_remove("GIT_COMMON_DIR")
            .env("GIT_EDITOR", "true")
            .env("GIT_COMMITTER_NAME", os(&committer.name))
            .env("GIT_COMMITTER_EMAIL", os(&committer.email))
            .args(["-c", "gc.autoDetach=false", "-c", NO_HOOKS, "rebase", "--no-update-refs", "--no-autostash"])
            .arg(onto.to_string());
        let out = run(&mut git, "git rebase")?;
        if self.operation_in_progress().is_some() {
            return Ok(RebaseRun::Stopped { conflicted: self.dirty()?.conflicted });
        }
        if out.status.success() {
            return Ok(RebaseRun::Clean);
        }
        Err(Error::Usage(format!(
            "git rebase in the scratch worktree {} failed: {}; `betadrift resolve --abort` cleans up",
            dir.display(),
            reason(&out.stderr)
        )))
    }
}

/// Bytes as an environment value (identities are bytes; Linux takes them so).
fn os(bytes: &[u8]) -> std::ffi::OsString {
    <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(bytes).to_owned()
}
