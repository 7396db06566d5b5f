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
use std::time::Duration;

use super::{Confirm, Context, Outcome, RepoArgs, ask_on_terminal};
use crate::error::{Error, Result};
use crate::git::repo::Repo;
use crate::model::stack::Stack;
use crate::output::rewrite::{write_conflicts, write_done, write_removal_plan};
use crate::rewrite::plan::{Leaving, Why, consequences, permit, rewrite_plan, sort_leaving};
use crate::rewrite::replay::replay_without;
use crate::rewrite::session::Session;
use crate::rewrite::{Kind, Permit, Plan};
use betadrift_engine::objects::Overlay;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// The patches: a position (3 or #3), a commit id prefix, a Change-Id (or a unique prefix), or a task (T123456: every patch of it)
    #[arg(value_name = "PATCH", required = true)]
    pub patches: Vec<String>,

    /// Also remove the patches that would conflict without the named ones (they need consent too)
    #[arg(long)]
    pub with_dependents: bool,

    /// Remove patches even where the consent policy does not allow it (needs --reason)
    #[arg(long, requires = "reason")]
    pub force: bool,

    /// Why, for the audit log (required with --force)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Do not ask: go ahead (for scripts)
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Show the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Seconds to wait for another betadrift working on the same repository
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub lock_wait: u64,
}

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

impl From<&Args> for DropOptions {
    fn from(args: &Args) -> DropOptions {
        DropOptions {
            with_dependents: args.with_dependents,
            force: args.force,
            reason: args.reason.clone(),
            dry_run: args.dry_run,
            lock_wait: Duration::from_secs(args.lock_wait),
        }
    }
}

/// Runs `betadrift drop`.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let session =
        Session::open(args.repo.repo.as_deref(), &args.repo.upstream_args(), &ctx.config, ctx.clock()?, Kind::Drop)?;
    let mut ask = ask_on_terminal;
    drop_patches(&session, &args.patches, &DropOptions::from(args), Confirm::from_flag(args.yes, &mut ask), out)
}

/// Drops the patches `selectors` name from the session's stack and reports on `out`.
pub fn drop_patches(
    session: &Session<'_>,
    selectors: &[String],
    options: &DropOptions,
    confirm: Confirm<'_>,
    out: &mut dyn Write,
) -> Result<Outcome> {
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
    write_removal_plan(Kind::Drop, stack, &replay, &leaving, options.force, out).map_err(Error::stdout)?;
    if !replay.is_clean() {
        write_conflicts(Kind::Drop, stack, &replay, out).map_err(Error::stdout)?;
        writeln!(out, "--with-dependents removes them too (each needs consent, like the patches named)")
            .map_err(Error::stdout)?;
        return Ok(Outcome::Findings);
    }
    let (permit, forced) = permit(&leaving, options.force)?;
    let plan = rewrite_plan(Kind::Drop, stack, &replay, &leaving, session.old_tree()?, reason, forced);
    if !options.dry_run && !confirm.confirmed(Kind::Drop, leaving.len(), stack, out)? {
        writeln!(out, "\nnot confirmed: nothing was changed").map_err(Error::stdout)?;
        return Ok(Outcome::Clean);
    }
    carry_out(session, &overlay, &plan, permit, (options.dry_run, options.lock_wait), out)
}

/// Carries out a checked removal plan and says what happened; with
/// `--dry-run`, says that nothing was written. Shared with `prune`.
pub(super) fn carry_out(
    session: &Session<'_>,
    overlay: &Overlay<'_, Repo>,
    plan: &Plan,
    permit: Permit,
    (dry_run, lock_wait): (bool, Duration),
    out: &mut dyn Write,
) -> Result<Outcome> {
    if dry_run {
        writeln!(out, "\n--dry-run: nothing was changed").map_err(Error::stdout)?;
        return Ok(Outcome::Clean);
    }
    let done = session.carry_out(overlay, plan, permit, lock_wait)?;
    write_done(plan, &done, out)?;
    Ok(Outcome::Clean)
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
