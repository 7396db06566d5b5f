//! History rewrites, done so that nothing is ever lost.
//!
//! `drop`, `prune`, `sync` and `undo` all move the checkout's branch. Each
//! first builds a [`Plan`] (a plain value: printable as `--dry-run`, checked
//! before anything is written), then [`execute`] carries it out in an order
//! that leaves a recoverable state at every instant:
//!
//! 1. take the repository lock (and respect git's `index.lock`);
//! 2. check again that the branch is where the plan found it, that no git
//!    operation is half-done, and that the working tree is clean;
//! 3. write the new objects (unreferenced, harmless if we die here);
//! 4. keep the old branch tip under `refs/betadrift/backup/…`;
//! 5. write a journal of the rewrite, then an audit-log line;
//! 6. move the branch, compare-and-swap on the old tip;
//! 7. rewrite only the changed paths of the working tree and index;
//! 8. create the snapshot tag (sync), remove the journal, then run the
//!    post-update command; a tag or journal failure here is a warning in
//!    [`Done`], never a reason to skip the deployment.
//!
//! If the process dies anywhere, HEAD is the old or the new commit, the old
//! commits are reachable from the backup ref, and `betadrift undo` uses the
//! journal to put the branch and the working tree back.

pub mod journal;
pub mod lock;
pub mod plan;
pub mod replay;
pub mod session;
mod worktree;

use std::path::PathBuf;
use std::time::Duration;

use git2::Oid;
use jiff::Timestamp;
use serde::Serialize;

pub use journal::{AuditEntry, Backup, Journal, backups, read_audit};

use crate::config::{Config, RepoConfig};
use crate::error::{Error, Result};
use crate::git::checkout::Checkout;
use crate::git::repo::{HeadBranch, Repo};
use crate::git::write::Ident;
use crate::rewrite::lock::{RepoLock, ensure_git_idle};
use crate::support::clock::Clock;
use crate::support::escape::terminal_short;
use betadrift_engine::objects::Overlay;

/// The command a plan belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Drop,
    Prune,
    Sync,
    Undo,
}

impl Kind {
    /// The command name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Drop => "drop",
            Kind::Prune => "prune",
            Kind::Sync => "sync",
            Kind::Undo => "undo",
        }
    }
}

/// How the branch will change.
#[derive(Debug, Clone)]
pub enum Change {
    /// New commits, replaying `commits` on top of `base`.
    Commits { base: Oid, commits: Vec<PlannedCommit> },
    /// The branch moves to an existing commit (undo).
    Existing(Oid),
}

/// A commit to create: `original`'s author and message with a new tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCommit {
    pub original: Oid,
    pub tree: Oid,
}

/// A local patch the rewrite removes, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    pub commit: String,
    pub position: usize,
    pub subject: String,
    pub change_id: Option<String>,
    pub why: String,
}

/// A history rewrite, planned and not yet done.
#[derive(Debug, Clone)]
pub struct Plan {
    pub kind: Kind,
    pub branch: HeadBranch,
    pub old_tree: Oid,
    pub change: Change,
    pub new_tree: Oid,
    pub removed: Vec<Removal>,
    pub reason: Option<String>,
    pub forced: bool,
    /// For `sync`: the upstream commit the stack now sits on.
    pub upstream: Option<Oid>,
    /// For `sync`: the tag to create on the new head.
    pub snapshot_tag: Option<String>,
    /// For `undo` after a crash: the journal being rolled back.
    pub recovering: Option<Journal>,
}

/// Proof that the rewrite may go ahead: consent was checked (drop, prune)
/// or none is needed (sync, undo). Only the commands construct it.
#[derive(Debug)]
pub struct Permit {
    _private: (),
}

impl Permit {
    /// Grants the permit; callers are the consent and command modules.
    pub(crate) fn granted() -> Permit {
        Permit { _private: () }
    }
}

/// What a rewrite needs besides the plan.
#[derive(Debug)]
pub struct Setup<'a> {
    pub repo: &'a Repo,
    /// New blobs and trees the plan's trees refer to.
    pub overlay: Option<&'a Overlay<'a, Repo>>,
    pub state_dir: PathBuf,
    pub committer: Ident,
    pub now: Timestamp,
    /// Who asked: `$SUDO_USER`, else `$USER`, else `$LOGNAME` ([`actor`]).
    pub actor: String,
    pub post_update: Vec<String>,
    pub lock_wait: Duration,
}

impl<'a> Setup<'a> {
    /// The setup for rewriting `checkout`'s branch: its state directory, the
    /// configured committer and post-update command, the actor from the
    /// environment.
    pub fn for_checkout(
        checkout: &'a Checkout,
        overlay: Option<&'a Overlay<'a, Repo>>,
        config: &Config,
        clock: Clock,
        lock_wait: Duration,
    ) -> Result<Setup<'a>> {
        Ok(Setup {
            repo: &checkout.repo,
            overlay,
            state_dir: state_dir(&checkout.repo, config, &checkout.name()),
            committer: committer(&checkout.repo, config)?,
            now: clock.now,
            actor: actor(),
            post_update: post_update(checkout.repo_config.as_ref(), config),
            lock_wait,
        })
    }
}

/// What a rewrite did.
#[derive(Debug, Clone)]
pub struct Done {
    pub old_head: Oid,
    pub new_head: Oid,
    pub backup: String,
    /// The post-update command's failure, if it failed (the branch moved anyway).
    pub post_update_error: Option<String>,
    /// Steps after the branch moved that failed without undoing it.
    pub warnings: Vec<String>,
}

impl Done {
    /// A failed post-update command is an error (exit 2) even though the
    /// branch moved: the deployment is behind.
    pub fn post_update_result(&self) -> Result<()> {
        match &self.post_update_error {
            Some(err) => Err(Error::Usage(format!("the branch moved, but {err}"))),
            None => Ok(()),
        }
    }
}

/// Environment variable naming a step at which to SIGKILL the process (tests).
pub use crate::support::panics::FAULT_ENV;

/// Dies at `step` when `BETADRIFT_FAULT` names it: the crash-safety tests
/// kill the process at every step boundary this way.
pub fn fault_point(step: &str) {
    if std::env::var(FAULT_ENV).is_ok_and(|s| s == step) {
        let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
        // SIGKILL cannot be caught; this is never reached.
        std::process::abort();
    }
}

/// Carries out `plan`. See the module documentation for the order of steps.
pub fn execute(setup: &Setup<'_>, plan: &Plan, _permit: Permit) -> Result<Done> {
    let repo = setup.repo;
    let _lock = RepoLock::acquire(repo.git_dir(), setup.lock_wait, plan.kind.as_str())?;
    fault_point("locked");
    ensure_git_idle(repo.git_dir())?;
    verify_unchanged(setup, plan)?;
    let new_head = write_objects(setup, plan)?;
    fault_point("objects");
    let backup = journal::create_backup(repo, plan.branch.oid, setup.now, plan.kind)?;
    fault_point("backup");
    let record = Journal::new(plan, new_head, &backup, setup.now);
    record.write(&setup.state_dir)?;
    fault_point("journal");
    AuditEntry::new(setup, plan, new_head, &backup).append(&setup.state_dir)?;
    fault_point("audit");
    let log = format!("betadrift {}: {}", plan.kind.as_str(), plan.reason.as_deref().unwrap_or("no reason given"));
    if plan.branch.oid != new_head {
        repo.compare_and_swap_ref(&plan.branch.refname, plan.branch.oid, new_head, &log)?;
    }
    fault_point("ref");
    let old_tree = plan.recovering.as_ref().map_or(plan.old_tree, |j| j.new_tree);
    worktree::update(repo, old_tree, plan.new_tree, plan.recovering.as_ref())?;
    fault_point("worktree");
    // The branch has moved: from here on a failure is reported, never a
    // reason to stop before the deployment.
    let mut warnings = Vec::new();
    if let Some(tag) = &plan.snapshot_tag
        && let Err(e) = repo.create_ref(&format!("refs/tags/{tag}"), new_head, &log)
    {
        warnings.push(format!("snapshot tag {tag} not created: {e}"));
    }
    if let Err(e) = Journal::remove(&setup.state_dir) {
        warnings.push(format!("journal not removed (betadrift undo --list will show the rewrite as interrupted): {e}"));
    }
    let post_update_error = run_post_update(&setup.post_update, repo).err();
    fault_point("post-update");
    Ok(Done { old_head: plan.branch.oid, new_head, backup, post_update_error, warnings })
}

/// Refuses to plan a rewrite over a half-done git operation (which the
/// rewrite would trample) or over uncommitted changes to tracked files (as
/// git-sync-upstream and `git rebase` do). `execute` checks again under the
/// lock; this early check keeps the refusal ahead of any planning output.
pub fn refuse_unsafe_state(repo: &Repo, kind: Kind) -> Result<()> {
    let command = kind.as_str();
    if let Some(op) = repo.operation_in_progress() {
        return Err(Error::Usage(format!(
            "a git {op} is in progress in {}; finish or abort it before betadrift {command}, nothing was changed",
            repo.display_path().display()
        )));
    }
    let dirty = repo.dirty()?;
    if dirty.blocks_rewrite() {
        let first =
            dirty.modified.iter().chain(&dirty.staged).chain(&dirty.conflicted).next().cloned().unwrap_or_default();
        return Err(Error::Usage(format!(
            "{} has uncommitted changes (first: {}); commit or stash them before betadrift {command}, nothing was changed",
            repo.display_path().display(),
            terminal_short(&first, 80)
        )));
    }
    Ok(())
}

/// The branch, the repository state and the working tree must be as the
/// plan saw them.
fn verify_unchanged(setup: &Setup<'_>, plan: &Plan) -> Result<()> {
    let repo = setup.repo;
    let current = repo.ref_target(&plan.branch.refname)?;
    let expected_now = match &plan.recovering {
        // After a crash the branch may still be old, or already new.
        Some(j) => current == Some(j.old_head) || current == Some(j.new_head),
        None => current == Some(plan.branch.oid),
    };
    if !expected_now {
        return Err(Error::Usage(format!(
            "{} moved since the plan was made; nothing was changed, run the command again",
            plan.branch.refname
        )));
    }
    let head = repo.head_branch()?;
    if head.refname != plan.branch.refname {
        return Err(Error::Usage(format!("HEAD is no longer on {}; nothing was changed", plan.branch.refname)));
    }
    if let Some(op) = repo.operation_in_progress() {
        return Err(Error::Usage(format!(
            "a git {op} is in progress in {}; finish or abort it first",
            repo.display_path().display()
        )));
    }
    worktree::ensure_clean(repo, objects(setup), plan)
}

/// Where the plan's trees can be read: the overlay holds the new ones.
fn objects<'s>(setup: &'s Setup<'_>) -> &'s dyn betadrift_engine::objects::ObjectRead {
    match setup.overlay {
        Some(o) => o,
        None => setup.repo,
    }
}

/// Writes new objects and commits; returns the new head.
fn write_objects(setup: &Setup<'_>, plan: &Plan) -> Result<Oid> {
    let repo = setup.repo;
    match &plan.change {
        Change::Existing(oid) => Ok(*oid),
        Change::Commits { base, commits } => {
            let mut parent = *base;
            for c in commits {
                if let Some(overlay) = setup.overlay {
                    repo.persist_tree(overlay, c.tree)?;
                }
                parent = repo.write_rebased_commit(c.original, c.tree, parent, &setup.committer, setup.now)?;
            }
            Ok(parent)
        }
    }
}

/// Runs the configured command (argv, no shell) after the branch moved.
fn run_post_update(argv: &[String], repo: &Repo) -> std::result::Result<(), String> {
    let Some((program, args)) = argv.split_first() else { return Ok(()) };
    let status = std::process::Command::new(program)
        .args(args)
        .current_dir(repo.display_path())
        .status()
        .map_err(|e| format!("post-update command {program} could not start: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("post-update command {program} failed ({status})")) }
}

/// The command to run after the branch moved: the repository's own
/// `post_update`, else `[sync] post_update`.
pub fn post_update(repo_config: Option<&RepoConfig>, config: &Config) -> Vec<String> {
    repo_config.and_then(|c| c.post_update.clone()).unwrap_or_else(|| config.sync.post_update.clone())
}

/// Who is running betadrift: `$SUDO_USER`, else `$USER`, else `$LOGNAME`,
/// else "unknown" (the first that is set and not empty).
pub fn actor() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// The committer for rewritten commits: the config's `[sync]` identity, else
/// `GIT_COMMITTER_NAME`/`EMAIL`, else the repository's git identity.
pub fn committer(repo: &Repo, config: &crate::config::Config) -> Result<Ident> {
    if let (Some(name), Some(email)) = (&config.sync.committer_name, &config.sync.committer_email) {
        return Ok(Ident { name: name.clone().into_bytes(), email: email.clone().into_bytes() });
    }
    if let (Ok(name), Ok(email)) = (std::env::var("GIT_COMMITTER_NAME"), std::env::var("GIT_COMMITTER_EMAIL")) {
        return Ok(Ident { name: name.into_bytes(), email: email.into_bytes() });
    }
    repo.config_identity().ok_or_else(|| {
        Error::Usage(
            "no committer identity: set committer_name and committer_email under [sync] in the config, or git config user.name and user.email".into(),
        )
    })
}

/// Where betadrift keeps its records for `repo`: the config's `[state] dir`
/// (one subdirectory per repository name), else `<git dir>/betadrift`.
pub fn state_dir(repo: &Repo, config: &crate::config::Config, name: &str) -> PathBuf {
    config.state.dir_for(repo.git_dir(), name)
}
