//! History rewrites, done so that nothing is ever lost.
//!
//! `drop`, `prune`, `sync`, `undo`, `pick` and `resolve --continue` all move the
//! checkout's branch. Each
//! first builds a [`Plan`] (a plain value: printable as `--dry-run`, checked
//! before anything is written), then [`execute`] carries it out in an order
//! that leaves a recoverable state at every instant:
//!
//! 1. take the repository lock (and respect git's `index.lock`);
//! 2. check again that the branch is where the plan found it, that no git
//!    operation is half-done, and that the working tree is clean;
//! 3. write the new objects (unreferenced, harmless if we die here);
//! 4. keep the old branch tip under `refs/betadrift/backup/…`;
//! 5. take git's `index.lock`, write a journal of the rewrite (naming that
//!    lock), then an audit-log line;
//! 6. move the branch, compare-and-swap on the old tip;
//! 7. rewrite only the changed paths of the working tree, write the index
//!    and let go of `index.lock`;
//! 8. create the snapshot tag (sync), run the post-update command, then
//!    remove the journal (or record the command's failure in it); a tag
//!    failure here is a warning in [`Done`], never a reason to skip the
//!    deployment;
//! 9. run git's automatic maintenance ([`crate::git::maintenance`]), so that
//!    the packs and loose objects rewrites leave are consolidated (a failure
//!    is a warning).
//!
//! Until step 6, a SIGINT or SIGTERM, or a lost compare-and-swap, takes back
//! what steps 4 and 5 wrote; after it, the step in progress is finished. If
//! the process dies anywhere (SIGKILL), HEAD is the old or the new commit,
//! the old commits are reachable from the backup ref, and `betadrift undo`
//! uses the journal to put the branch and the working tree back.

pub mod journal;
pub mod lock;
pub mod pick;
pub mod plan;
pub mod replay;
pub mod resolution;
pub mod session;
mod worktree;

use std::path::PathBuf;
use std::time::Duration;

use git2::Oid;
use jiff::Timestamp;
use serde::Serialize;

pub use journal::{AuditEntry, Backup, Journal, Phase, backups, read_audit};

use crate::config::{Config, RepoConfig};
use crate::error::{Error, Result};
use crate::git::checkout::Checkout;
use crate::git::repo::{HeadBranch, Repo};
use crate::git::write::{Ident, IndexLock};
use crate::rewrite::lock::{RepoLock, ensure_git_idle};
use crate::support::clock::Clock;
use crate::support::escape::terminal_short;
use crate::support::signals::{self, Interrupts, Signal};
use betadrift_engine::objects::Overlay;

/// The command a plan belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Drop,
    Prune,
    Sync,
    Undo,
    Resolve,
    Pick,
}

impl Kind {
    /// The command name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Drop => "drop",
            Kind::Prune => "prune",
            Kind::Sync => "sync",
            Kind::Undo => "undo",
            Kind::Resolve => "resolve",
            Kind::Pick => "pick",
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
    /// For `undo`: the backup ref of the rewrite it takes back.
    pub undoes: Option<String>,
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
            Some(err) => Err(Error::Usage(format!(
                "the branch moved, but {err}; `betadrift post-update` runs it again, `betadrift undo` rolls back"
            ))),
            None => Ok(()),
        }
    }
}

/// Environment variable naming a step at which to SIGKILL the process (tests).
pub use crate::support::panics::FAULT_ENV;

/// The crash and interruption tests' hook, a no-op unless `BETADRIFT_FAULT`
/// names `step`: `<step>` dies there by SIGKILL, `sigint:<step>` and
/// `sigterm:<step>` send that signal to betadrift itself, `stop:<step>`
/// stops it with SIGSTOP (a test then acts and sends SIGCONT).
pub fn fault_point(step: &str) {
    let Ok(fault) = std::env::var(FAULT_ENV) else { return };
    let (action, at) = fault.split_once(':').unwrap_or(("kill", fault.as_str()));
    if at != step {
        return;
    }
    use rustix::process::{Signal as Sig, getpid, kill_process};
    match action {
        "kill" => {
            let _ = kill_process(getpid(), Sig::KILL);
            // SIGKILL cannot be caught; this is never reached.
            std::process::abort();
        }
        "sigint" => signals::raise_and_wait(Signal::Interrupt),
        "sigterm" => signals::raise_and_wait(Signal::Terminate),
        "stop" => {
            let _ = kill_process(getpid(), Sig::STOP);
        }
        _ => {}
    }
}

/// What a rewrite wrote before the branch moved: taken back, in reverse
/// order, if it stops there (a signal, a lost compare-and-swap), so the
/// records describe only rewrites that happened.
#[derive(Debug)]
struct Written<'s> {
    setup: &'s Setup<'s>,
    old_head: Oid,
    backup: Option<String>,
    journal: bool,
    audit_len: Option<u64>,
}

impl Written<'_> {
    /// Removes the audit line, the journal and the backup ref; returns what
    /// could not be removed, in words.
    fn take_back(&self) -> Vec<String> {
        let mut left = Vec::new();
        if let Some(len) = self.audit_len
            && let Err(e) = AuditEntry::retract(&self.setup.state_dir, len)
        {
            left.push(format!("its audit line ({e})"));
        }
        if self.journal
            && let Err(e) = Journal::remove(&self.setup.state_dir)
        {
            left.push(format!("its journal ({e})"));
        }
        if let Some(backup) = &self.backup
            && let Err(e) = self.setup.repo.delete_ref(backup, self.old_head)
        {
            left.push(format!("its backup {backup} ({e})"));
        }
        left
    }

    /// Stops the rewrite before the branch moved if a signal came.
    fn stop_if_interrupted(&self, interrupts: &Interrupts, kind: Kind) -> Result<()> {
        let Some(signal) = interrupts.received() else { return Ok(()) };
        let left = self.take_back();
        let mut message = format!(
            "betadrift {} stopped by {} before the branch moved: nothing was changed",
            kind.as_str(),
            signal.name()
        );
        if !left.is_empty() {
            message += &format!(" (but {} could not be removed)", left.join(", "));
        }
        Err(Error::Interrupted { exit_code: signal.exit_code(), message })
    }
}

/// Carries out `plan`. See the module documentation for the order of steps.
pub fn execute(setup: &Setup<'_>, plan: &Plan, _permit: Permit) -> Result<Done> {
    let repo = setup.repo;
    let kind = plan.kind;
    let _lock = RepoLock::acquire(repo.git_dir(), setup.lock_wait, kind.as_str())?;
    let interrupts = Interrupts::record();
    fault_point("locked");
    // A killed rewrite's own index.lock (its inode is in its journal) is
    // not git's: the rollback removes it.
    if let Some(inode) = plan.recovering.as_ref().and_then(|j| j.index_lock) {
        IndexLock::remove_stale(repo.git_dir(), inode)?;
    }
    ensure_git_idle(repo.git_dir())?;
    verify_unchanged(setup, plan)?;
    let mut written = Written { setup, old_head: plan.branch.oid, backup: None, journal: false, audit_len: None };
    written.stop_if_interrupted(&interrupts, kind)?;
    let new_head = write_objects(setup, plan)?;
    fault_point("objects");
    written.stop_if_interrupted(&interrupts, kind)?;
    let backup = journal::create_backup(repo, plan.branch.oid, setup.now, kind)?;
    written.backup = Some(backup.clone());
    fault_point("backup");
    written.stop_if_interrupted(&interrupts, kind)?;
    // git's index.lock from before the branch moves until the index is
    // written: a concurrent `git commit` fails cleanly instead of committing
    // a stale index. Its inode goes into the journal.
    let index_lock = match IndexLock::take(repo.git_dir()) {
        Ok(lock) => lock,
        Err(e) => {
            written.take_back();
            return Err(e);
        }
    };
    let mut record = Journal::new(plan, new_head, &backup, setup.now);
    record.index_lock = Some(index_lock.inode);
    written.journal = true;
    if let Err(e) = record.write(&setup.state_dir) {
        written.take_back();
        return Err(e);
    }
    fault_point("journal");
    written.stop_if_interrupted(&interrupts, kind)?;
    match AuditEntry::new(setup, plan, new_head, &backup).append(&setup.state_dir) {
        Ok(len) => written.audit_len = Some(len),
        Err(e) => {
            written.take_back();
            return Err(e);
        }
    }
    fault_point("audit");
    written.stop_if_interrupted(&interrupts, kind)?;
    let log = format!("betadrift {}: {}", kind.as_str(), plan.reason.as_deref().unwrap_or("no reason given"));
    if plan.branch.oid != new_head
        && let Err(e) = repo.compare_and_swap_ref(&plan.branch.refname, plan.branch.oid, new_head, &log)
    {
        // Lost to a concurrent commit (or any failure): the branch did not
        // move, so nothing may claim it did.
        let left = written.take_back();
        if left.is_empty() {
            return Err(e);
        }
        return Err(Error::Usage(format!("{e} (but {} could not be removed)", left.join(", "))));
    }
    fault_point("ref");
    // The branch has moved: from here on each step is finished, a signal
    // only stops what comes after, and a failure names `undo`.
    let moved = |e: Error| {
        Error::Usage(format!(
            "{} moved to {}, but the rewrite could not finish: {e}; `betadrift undo` rolls it back",
            plan.branch.refname,
            crate::support::ids::short_id(new_head)
        ))
    };
    let old_tree = plan.recovering.as_ref().map_or(plan.old_tree, |j| j.new_tree);
    worktree::update(setup, &mut record, index_lock, old_tree, plan.new_tree, plan.recovering.as_ref())
        .map_err(moved)?;
    fault_point("worktree");
    let mut warnings = Vec::new();
    if let Some(tag) = &plan.snapshot_tag
        && let Err(e) = repo.create_ref(&format!("refs/tags/{tag}"), new_head, &log)
    {
        warnings.push(format!("snapshot tag {tag} not created: {e}"));
    }
    let done = Done { old_head: plan.branch.oid, new_head, backup, post_update_error: None, warnings };
    let mut done = finish(setup, &mut record, &interrupts, done)?;
    if let Err(e) = crate::git::maintenance::run_auto(setup.repo) {
        done.warnings.push(e.to_string());
    }
    Ok(done)
}

/// After the branch and the working tree moved: runs the post-update
/// command and keeps the journal until it has finished, so a failure or an
/// interruption is on record (`status`, `report`) and can be run again
/// (`betadrift post-update`).
fn finish(setup: &Setup<'_>, record: &mut Journal, interrupts: &Interrupts, mut done: Done) -> Result<Done> {
    let state = &setup.state_dir;
    let complete = format!(
        "{} is at {} (was {}); `betadrift undo` rolls it back",
        record.branch,
        crate::support::ids::short_id(done.new_head),
        crate::support::ids::short_id(done.old_head)
    );
    let outcome = if setup.post_update.is_empty() {
        PostUpdate::Done
    } else if let Some(signal) = interrupts.received() {
        PostUpdate::Interrupted(signal, NOT_STARTED.into())
    } else {
        record.phase = Phase::PostUpdate;
        record.write(state).map_err(|e| {
            Error::Usage(format!("the rewrite is complete ({complete}), but the journal could not be updated: {e}; the post-update command did not run"))
        })?;
        fault_point("post-update");
        run_post_update(&setup.post_update, setup.repo, interrupts)
    };
    let signal = interrupts.received();
    match outcome {
        PostUpdate::Done => {
            if let Err(e) = Journal::remove(state) {
                done.warnings
                    .push(format!("journal not removed (betadrift status will show the rewrite as unfinished): {e}"));
            }
            match signal {
                None => Ok(done),
                Some(signal) => Err(Error::Interrupted {
                    exit_code: signal.exit_code(),
                    message: format!(
                        "betadrift {} got {} after the branch moved and finished first: {complete}",
                        record.command,
                        signal.name()
                    ),
                }),
            }
        }
        PostUpdate::Failed(why) => {
            record.phase = Phase::PostUpdateFailed;
            record.post_update = Some(why.clone());
            let _ = record.write(state);
            done.post_update_error = Some(why);
            Ok(done)
        }
        PostUpdate::Interrupted(signal, why) => {
            record.phase = Phase::PostUpdateInterrupted;
            record.post_update = Some(why.clone());
            let _ = record.write(state);
            Err(Error::Interrupted {
                exit_code: signal.exit_code(),
                message: format!(
                    "betadrift {} stopped by {}: the rewrite is complete ({complete}), but the post-update command {why}; run `betadrift post-update` to run it again",
                    record.command,
                    signal.name()
                ),
            })
        }
    }
}

/// A rewrite whose journal is still there: under way now (another
/// betadrift holds the lock), or left unfinished.
#[derive(Debug, Clone)]
pub struct Unfinished {
    pub journal: Journal,
    /// The lock holder, if the rewrite is running now.
    pub running: Option<String>,
}

impl Unfinished {
    /// The journal of the checkout whose git directory is `repo`'s, if any.
    /// Reads only: the journal, and the lock without taking it.
    pub fn find(repo: &Repo, state_dir: &std::path::Path) -> Result<Option<Unfinished>> {
        let Some(journal) = Journal::read(state_dir)? else { return Ok(None) };
        Ok(Some(Unfinished { journal, running: lock::holder_now(repo.git_dir()) }))
    }

    /// One line: what state the checkout is in and what to run.
    pub fn message(&self) -> String {
        match &self.running {
            Some(holder) => format!("a betadrift {} is under way ({holder})", self.journal.command),
            None => self.journal.describe(),
        }
    }

    /// Left mid-update by a betadrift that is not running any more.
    pub fn mid_update(&self) -> bool {
        self.running.is_none() && self.journal.mid_update()
    }

    /// The post-update command failed, was interrupted or never finished.
    pub fn post_update_failed(&self) -> bool {
        self.running.is_none() && !self.journal.mid_update()
    }
}

/// Refuses to plan a rewrite over a rewrite that was left mid-update (its
/// journal is in `state_dir`), over a half-done git operation (which the
/// rewrite would trample) or over uncommitted changes to tracked files (as
/// git-sync-upstream and `git rebase` do). `execute` checks again under the
/// lock; this early check keeps the refusal ahead of any planning output.
pub fn refuse_unsafe_state(repo: &Repo, state_dir: &std::path::Path, kind: Kind) -> Result<()> {
    let command = kind.as_str();
    refuse_unfinished(state_dir, kind)?;
    refuse_during_resolution(state_dir, kind)?;
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

/// A rewrite left mid-update blocks every other rewrite but the `undo`
/// that rolls it back: its changes in the working tree are its own, not
/// someone's uncommitted work. (One whose post-update command failed does
/// not: the next rewrite runs the command again.)
fn refuse_unfinished(state_dir: &std::path::Path, kind: Kind) -> Result<()> {
    match Journal::read(state_dir)? {
        Some(j) if j.mid_update() => {
            Err(Error::Usage(format!("{}; betadrift {} changed nothing", j.describe(), kind.as_str())))
        }
        _ => Ok(()),
    }
}

/// `sync`, `drop`, `prune` and `pick` wait for a resolution in progress to land
/// or be aborted ([`resolution::refuse_during_resolution`]); `undo` and
/// the resolution's own landing do not.
fn refuse_during_resolution(state_dir: &std::path::Path, kind: Kind) -> Result<()> {
    match kind {
        Kind::Sync | Kind::Drop | Kind::Prune | Kind::Pick => {
            resolution::refuse_during_resolution(state_dir, kind.as_str())
        }
        Kind::Undo | Kind::Resolve => Ok(()),
    }
}

/// The branch, the repository state and the working tree must be as the
/// plan saw them.
fn verify_unchanged(setup: &Setup<'_>, plan: &Plan) -> Result<()> {
    let repo = setup.repo;
    if plan.recovering.is_none() {
        refuse_unfinished(&setup.state_dir, plan.kind)?;
        refuse_during_resolution(&setup.state_dir, plan.kind)?;
    }
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

/// `betadrift post-update`: runs the post-update command again under the
/// lock, recording its outcome in the journal as a rewrite does; the
/// journal goes once the command succeeds.
pub fn rerun_post_update(repo: &Repo, state_dir: &std::path::Path, argv: &[String], lock_wait: Duration) -> Result<()> {
    let _lock = RepoLock::acquire(repo.git_dir(), lock_wait, "post-update")?;
    let interrupts = Interrupts::record();
    let mut journal = Journal::read(state_dir)?;
    if let Some(j) = journal.as_mut() {
        if j.mid_update() {
            return Err(Error::Usage(format!("{}; the post-update command did not run", j.describe())));
        }
        j.phase = Phase::PostUpdate;
        j.post_update = None;
        j.write(state_dir)?;
    }
    let record = |journal: &mut Option<Journal>, phase: Phase, why: &str| {
        if let Some(j) = journal.as_mut() {
            j.phase = phase;
            j.post_update = Some(why.to_owned());
            let _ = j.write(state_dir);
        }
    };
    match run_post_update(argv, repo, &interrupts) {
        PostUpdate::Done => match journal {
            Some(_) => Journal::remove(state_dir),
            None => Ok(()),
        },
        PostUpdate::Failed(why) => {
            record(&mut journal, Phase::PostUpdateFailed, &why);
            Err(Error::Usage(format!("{why}; run `betadrift post-update` again once it is fixed")))
        }
        PostUpdate::Interrupted(signal, why) => {
            record(&mut journal, Phase::PostUpdateInterrupted, &why);
            Err(Error::Interrupted {
                exit_code: signal.exit_code(),
                message: format!("the post-update command {why}; run `betadrift post-update` to run it again"),
            })
        }
    }
}

/// Why a post-update command that never ran did not complete.
const NOT_STARTED: &str = "was not started: betadrift was interrupted";

/// How the post-update command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostUpdate {
    Done,
    Failed(String),
    /// Interrupted by a signal to betadrift (passed on to the command).
    Interrupted(Signal, String),
}

/// Runs the configured command (argv, no shell) after the branch moved. A
/// SIGINT or SIGTERM that betadrift gets while it runs is passed on to it
/// (a terminal's Ctrl-C reaches both anyway; systemd's `KillMode=mixed`
/// signals betadrift alone), and betadrift waits for it to end.
pub fn run_post_update(argv: &[String], repo: &Repo, interrupts: &Interrupts) -> PostUpdate {
    let Some((program, args)) = argv.split_first() else { return PostUpdate::Done };
    if let Some(signal) = interrupts.received() {
        return PostUpdate::Interrupted(signal, NOT_STARTED.into());
    }
    let mut child = match std::process::Command::new(program).args(args).current_dir(repo.display_path()).spawn() {
        Ok(c) => c,
        Err(e) => return PostUpdate::Failed(format!("post-update command {program} could not start: {e}")),
    };
    let mut passed_on = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(e),
        }
        if let Some(signal) = interrupts.received()
            && !passed_on
        {
            signal.send_to(child.id());
            passed_on = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let status = match status {
        Ok(s) => s,
        Err(e) => return PostUpdate::Failed(format!("post-update command {program}: waiting failed: {e}")),
    };
    match (status.success(), interrupts.received()) {
        (true, _) => PostUpdate::Done,
        (false, Some(signal)) => {
            PostUpdate::Interrupted(signal, format!("{program} was interrupted by {} ({status})", signal.name()))
        }
        (false, None) => PostUpdate::Failed(format!("post-update command {program} failed ({status})")),
    }
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
