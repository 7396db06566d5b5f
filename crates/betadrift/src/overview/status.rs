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
use crate::model::tasks::{TaskLive, task_state};
use crate::rebase::forward::{HeldBack, held_back_predicted};
use crate::rewrite::resolution::Resolution;
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
    /// A `betadrift resolve` in progress: who started it, when, onto what.
    pub resolution: Option<Resolution>,
    pub last_fetch: Option<Timestamp>,
    pub now: Timestamp,
    /// When the rebase onto upstream would stop: how far the stack can go
    /// (`status` and `report` search for it; [`Status::with`] leaves it out).
    pub held_back: Option<HeldBack>,
    /// What Gerrit says of the patches (`--online`), else `None`.
    pub live: Option<LiveState>,
    /// What Phabricator says of the linked tasks (`--online`), else `None`.
    pub tasks: Option<TaskLive>,
}

/// Which services a run asks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Online {
    pub gerrit: bool,
    pub phabricator: bool,
}

impl Online {
    /// `--online` (`flag`) asks every service with a URL (Gerrit, whose
    /// missing URL is then an error, when neither has one);
    /// `[gerrit] online` and `[phabricator] online` each ask their own.
    pub fn of(config: &Config, flag: bool) -> Online {
        let (gerrit_url, phab_url) = (config.gerrit.url.is_some(), config.phabricator.url.is_some());
        Online {
            gerrit: config.gerrit.online || (flag && (gerrit_url || !phab_url)),
            phabricator: config.phabricator.online || (flag && phab_url),
        }
    }
}

impl Status {
    /// Reads the status of `target`, its patches dated by the one age model
    /// ([`crate::model::ledger::load_dated`]); with `held_back`, also how
    /// far the stack can go when the rebase would stop.
    pub fn gather(target: &Checkout, config: &Config, clock: Clock, held_back: bool) -> Result<Status> {
        Status::gather_online(target, config, clock, held_back, Online::default())
    }

    /// Like [`Status::gather`]; with `online`, also asks Gerrit (or its
    /// cache) for the live state of the patches ([`crate::model::live`]),
    /// and Phabricator for their tasks ([`crate::model::tasks`]).
    pub fn gather_online(
        target: &Checkout,
        config: &Config,
        clock: Clock,
        held_back: bool,
        online: Online,
    ) -> Result<Status> {
        let mut status = Status::gather_offline(target, config, clock, held_back)?;
        if online.gerrit {
            status.live = Some(gerrit_state(&target.repo, &target.name(), config, &status.stack, clock.now)?);
        }
        if online.phabricator {
            status.tasks = Some(task_state(&target.repo, &target.name(), config, &status.stack, clock.now)?);
        }
        if online.gerrit || online.phabricator {
            status.reevaluate(&Policy::load(&target.policy_file(config))?);
        }
        Ok(status)
    }

    fn gather_offline(target: &Checkout, config: &Config, clock: Clock, held_back: bool) -> Result<Status> {
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
            let stack = crate::model::ledger::load_dated(target, config, clock.now)?;
            // One prediction when the rebase goes through, the search for U'
            // when it stops: on the operations/puppet bench scenario that
            // triples status's CPU time, so status searches only when asked.
            let held_back = if held_back { held_back_predicted(&target.repo, &stack, &[])? } else { None };
            let dirty = dirty.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            let state = state_dir(&target.repo, config, &target.name());
            let unfinished = Unfinished::find(&target.repo, &state)?;
            let mut status = Status::with(&target.repo, target.name(), stack, &policy, dirty?, clock, unfinished)?;
            status.resolution = Resolution::read(&state)?;
            status.held_back = held_back;
            Ok(status)
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
            resolution: None,
            last_fetch: repo.last_fetch(),
            now: clock.now,
            held_back: None,
            live: None,
            tasks: None,
        })
    }

    /// Evaluates the consent again with the live state now in the status
    /// (`after-task-closed`, `after-change-abandoned` need it).
    pub fn reevaluate(&mut self, policy: &Policy) {
        let (live, tasks) = (self.live.as_ref(), self.tasks.as_ref());
        self.consent = self
            .stack
            .patches
            .iter()
            .map(|p| policy.evaluate(&PatchFacts::of(p, self.now).with_live(p, live, tasks)))
            .collect();
    }

    pub(crate) fn age(&self, then: Timestamp) -> String {
        human_age(self.now.duration_since(then))
    }
}
