//! `betadrift status`: the drift at a glance.
//!
//! One screen answers what a puppetmaster admin needs before touching the
//! checkout: how far behind upstream it is, whether anything is half-done,
//! what is uncommitted, and every local patch with its author, age, tasks,
//! Gerrit change, whether upstream already has it and whether the consent
//! policy lets it be removed. Read-only: nothing here writes to the repository.

use jiff::Timestamp;

use crate::config::Config;
use crate::consent::{PatchFacts, Policy, Verdict};
use crate::error::Result;
use crate::git::checkout::Checkout;
use crate::git::repo::Operation;
use crate::git::repo::Repo;
use crate::git::status::Dirty;
use crate::model::live::{LiveState, gerrit_state};
use crate::model::stack::Stack;
use crate::rewrite::{Unfinished, state_dir};
use crate::support::clock::{Clock, human_age};

/// Everything `status` shows.
#[derive(Debug)]
pub struct Status {
    pub repo_name: String,
    pub repo_path: String,
    pub stack: Stack,
    /// The consent verdict of each patch, in stack order.
    pub consent: Vec<Verdict>,
    pub dirty: Dirty,
    pub operation: Option<Operation>,
    /// A betadrift rewrite whose journal is still there (under way, left
    /// mid-update, or its post-update command did not succeed).
    pub unfinished: Option<Unfinished>,
    pub last_fetch: Option<Timestamp>,
    pub now: Timestamp,
    /// What Gerrit says of the patches (`--online`), else `None`.
    pub live: Option<LiveState>,
}

impl Status {
    /// Reads the status of `target`, its patches dated by the one age model
    /// ([`crate::model::ledger::load_dated`]).
    pub fn gather(target: &Checkout, config: &Config, clock: Clock) -> Result<Status> {
        Status::gather_online(target, config, clock, false)
    }

    /// Like [`Status::gather`]; with `online`, also asks Gerrit (or its
    /// cache) for the live state of the patches ([`crate::model::live`]).
    pub fn gather_online(target: &Checkout, config: &Config, clock: Clock, online: bool) -> Result<Status> {
        let mut status = Status::gather_offline(target, config, clock)?;
        if online {
            status.live = Some(gerrit_state(&target.repo, &target.name(), config, &status.stack, clock.now)?);
        }
        Ok(status)
    }

    fn gather_offline(target: &Checkout, config: &Config, clock: Clock) -> Result<Status> {
        let policy = Policy::load(&target.policy_file(config))?;
        // Scanning the working tree is mostly system calls, reading history
        // mostly CPU: on a two-core puppetmaster they overlap well.
        let (git_dir, workdir) = (target.repo.git_dir(), target.repo.workdir());
        std::thread::scope(|scope| {
            let dirty = scope.spawn(move || -> Result<Dirty> {
                let _t = crate::support::timing::phase("dirty (in parallel)");
                crate::git::status::dirty_at(git_dir, workdir)
            });
            // Read-only: the ledger is read here; `report` and `sync` record into it.
            let stack = crate::model::ledger::load_dated(target, config, clock.now);
            let dirty = dirty.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            let stack = stack?;
            let unfinished = Unfinished::find(&target.repo, &state_dir(&target.repo, config, &target.name()))?;
            Status::with(&target.repo, target.name(), stack, &policy, dirty?, clock, unfinished)
        })
    }

    /// Completes a status from a stack, its policy and a working-tree scan
    /// made elsewhere (`status` and `report` scan on another thread).
    pub fn with(
        repo: &Repo,
        repo_name: String,
        stack: Stack,
        policy: &Policy,
        dirty: Dirty,
        clock: Clock,
        unfinished: Option<Unfinished>,
    ) -> Result<Status> {
        let consent = stack.patches.iter().map(|p| policy.evaluate(&PatchFacts::of(p, clock.now))).collect();
        Ok(Status {
            repo_name,
            repo_path: repo.display_path().display().to_string().trim_end_matches('/').to_owned(),
            stack,
            consent,
            dirty,
            operation: repo.operation_in_progress(),
            unfinished,
            last_fetch: repo.last_fetch(),
            now: clock.now,
            live: None,
        })
    }

    pub(crate) fn age(&self, then: Timestamp) -> String {
        human_age(self.now.duration_since(then))
    }
}
