//! `betadrift drop`: take local patches out of the stack without losing
//! anything.
//!
//! Un-cherry-picking on a puppetmaster has meant `git rebase -i` as root:
//! nothing says whether the patch's owner agreed, whether a later patch
//! builds on it, or afterwards who removed it and why. `drop` plans first
//! (the rest of the stack replayed without the patches, as
//! `git rebase --onto X^ X` would do it), checks the plan (no remaining patch
//! may conflict; every removal has its owner's consent, or `--force
//! --reason`), and only then rewrites, with the lock, backup ref, journal,
//! audit line and compare-and-swap of [`crate::rewrite`].
//!
//! `prune` ([`crate::commands::prune`]) is the batch form and shares the planning here.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

pub use crate::rewrite::plan::{
    Leaving, Why, consequences, count, permit, ranges, rewrite_plan, sort_leaving, write_conflicts, write_plan,
};
pub use crate::rewrite::replay::{Fate, Replay, replay_without};

use crate::config::Config;
use crate::consent::Policy;
use crate::error::{Error, Result};
use crate::git::checkout::{Checkout, UpstreamArgs};
use crate::git::repo::Repo;
use crate::model::stack::{Stack, StackOptions};
use crate::rewrite::{self, Kind, Permit, Plan, Setup};
use crate::stdout_error;
use crate::support::clock::Clock;
use betadrift_engine::objects::Overlay;

/// What `drop` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct DropOptions {
    /// Also remove the patches that would conflict without the named ones.
    pub with_dependents: bool,
    /// Remove patches whose consent does not allow it.
    pub force: bool,
    /// Why, for the audit log (required with `force`).
    pub reason: Option<String>,
    pub dry_run: bool,
    pub lock_wait: Duration,
}

impl From<&crate::commands::DropArgs> for DropOptions {
    fn from(args: &crate::commands::DropArgs) -> DropOptions {
        DropOptions {
            with_dependents: args.with_dependents,
            force: args.force,
            reason: args.reason.clone(),
            dry_run: args.dry_run,
            lock_wait: Duration::from_secs(args.lock_wait),
        }
    }
}

/// A checkout opened for a rewrite: its branch and upstream, its stack (with
/// first-seen times, which consent ages count from) and its consent policy.
#[derive(Debug)]
pub struct Session<'c> {
    pub target: Checkout,
    pub stack: Stack,
    pub policy: Policy,
    pub config: &'c Config,
    pub clock: Clock,
}

impl<'c> Session<'c> {
    /// Opens the checkout at `path` for `kind`; refuses a half-done git
    /// operation or uncommitted changes before reading anything else.
    pub fn open(
        path: Option<&Path>,
        upstream: &UpstreamArgs,
        config: &'c Config,
        clock: Clock,
        kind: Kind,
    ) -> Result<Self> {
        let target = Checkout::open(path, upstream, config)?;
        rewrite::refuse_unsafe_state(&target.repo, kind)?;
        let policy = Policy::load(&target.policy_file(config))?;
        let options = StackOptions::from_config(config);
        let stack = Stack::load(&target.repo, target.head.clone(), target.upstream.clone(), &options)?;
        Ok(Session { target, stack, policy, config, clock })
    }

    /// Opens the checkout the command line names, with the clock it sets.
    pub fn from_args(
        args: &crate::commands::RepoArgs,
        config: &'c Config,
        now: Option<&str>,
        kind: Kind,
    ) -> Result<Self> {
        let clock = Clock::from_args(now)?;
        Session::open(args.repo.as_deref(), &args.upstream_args(), config, clock, kind)
    }

    /// The repository.
    pub fn repo(&self) -> &Repo {
        &self.target.repo
    }

    /// The tree of the branch tip now.
    pub fn old_tree(&self) -> Result<git2::Oid> {
        Ok(self.repo().commit_tree_and_time(self.stack.head.oid)?.0)
    }

    /// Carries out a checked plan (or, with `dry_run`, says that nothing
    /// was written) and reports what happened.
    pub fn carry_out(
        &self,
        overlay: &Overlay<'_, Repo>,
        plan: &Plan,
        permit: Permit,
        dry_run: bool,
        lock_wait: Duration,
        out: &mut dyn Write,
    ) -> Result<crate::Outcome> {
        if dry_run {
            writeln!(out, "\n--dry-run: nothing was changed").map_err(stdout_error)?;
            return Ok(crate::Outcome::Clean);
        }
        let setup = Setup::for_target(&self.target, Some(overlay), self.config, self.clock, lock_wait)?;
        let done = rewrite::execute(&setup, plan, permit)?;
        rewrite::report_done(plan, done, out)?;
        Ok(crate::Outcome::Clean)
    }
}

/// Runs `drop PATCH...` on one repository and reports on `out`.
pub fn run(
    session: &Session<'_>,
    selectors: &[String],
    options: &DropOptions,
    out: &mut dyn Write,
) -> Result<crate::Outcome> {
    let reason = options.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
    if options.force && reason.is_none() {
        return Err(Error::Usage(
            "--force needs --reason TEXT: the audit log records why consent was overridden".into(),
        ));
    }
    let stack = &session.stack;
    let asked = resolve_all(stack, selectors)?;
    let overlay = Overlay::new(session.repo());
    let replay = replay_without(session.repo(), &overlay, stack, &asked, options.with_dependents)?;
    let now = session.clock.now;
    let mut leaving: Vec<Leaving> =
        asked.iter().map(|&i| Leaving::new(&stack.patches[i], Why::Asked, &session.policy, now)).collect();
    leaving.extend(consequences(stack, &replay, &session.policy, now));
    sort_leaving(&mut leaving);
    write_plan(Kind::Drop, stack, &replay, &leaving, options.force, out).map_err(stdout_error)?;
    if !replay.is_clean() {
        write_conflicts(Kind::Drop, stack, &replay, out).map_err(stdout_error)?;
        writeln!(out, "--with-dependents removes them too (each needs consent, like the patches named)")
            .map_err(stdout_error)?;
        return Ok(crate::Outcome::Findings);
    }
    let (permit, forced) = permit(&leaving, options.force)?;
    let plan = rewrite_plan(Kind::Drop, stack, &replay, &leaving, session.old_tree()?, reason, forced);
    session.carry_out(&overlay, &plan, permit, options.dry_run, options.lock_wait, out)
}

/// Every patch any selector names (indices, in stack order, once each).
fn resolve_all(stack: &Stack, selectors: &[String]) -> Result<Vec<usize>> {
    let mut all = Vec::new();
    for selector in selectors {
        all.extend(crate::model::selector::resolve(stack, selector)?);
    }
    all.sort_unstable();
    all.dedup();
    if all.is_empty() {
        return Err(Error::Usage("name at least one patch to drop; `betadrift status` lists them".into()));
    }
    Ok(all)
}
