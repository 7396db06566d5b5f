//! `betadrift resolve`: a guided rebase that lands safely.
//!
//! When the sync is held back by a patch a person must fix, `resolve`
//! creates a scratch worktree (never the live checkout), runs the real
//! `git rebase` there and leaves the admin at git's own conflict, with what
//! conflicts, why and what to run next. `--continue` verifies the result
//! ([`crate::rewrite::resolution::verify`]) and lands it through the same
//! rewrite as `sync` (lock, journal, backup ref, compare-and-swap on the old
//! tip, worktree update, post-update, audit line); `--abort` removes the
//! scratch worktree and the record. Git does the rebase; betadrift does the
//! safety and the landing.

use std::io::Write;
use std::time::Duration;

use super::{Context, Outcome, RepoArgs};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::checkout::Checkout;
use crate::git::repo::{HeadBranch, Repo, Upstream};
use crate::git::scratch::RebaseRun;
use crate::model::stack::{Stack, StackOptions};
use crate::output::resolve::{write_landing, write_started};
use crate::output::rewrite::write_done;
use crate::rebase::check::check_stack_in;
use crate::rebase::forward::held_back_predicted;
use crate::rewrite::lock::RepoLock;
use crate::rewrite::resolution::{Landing, Resolution, scratch_dir, verify};
use crate::rewrite::{self, Change, Kind, Permit, Plan, Setup, fault_point};
use crate::support::clock::{Clock, rfc3339};
use crate::support::escape::terminal;
use crate::support::ids::short_id;
use betadrift_engine::objects::Overlay;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Rebase onto the upstream commit that makes the next patch stop (the
    /// one that holds `sync --as-far-as-possible` back), not onto the whole
    /// upstream
    #[arg(long, conflicts_with_all = ["continue_", "abort"])]
    pub next_stop: bool,

    /// Verify the resolved stack in the scratch worktree and land it on the
    /// live checkout
    #[arg(long = "continue", conflicts_with = "abort")]
    pub continue_: bool,

    /// Remove the scratch worktree and the record; the live checkout is not touched
    #[arg(long)]
    pub abort: bool,

    /// With --continue: a patch left out of the result on purpose (a
    /// position, commit, Change-Id or task, as `drop` takes them; repeatable)
    #[arg(long = "drop", value_name = "PATCH", requires = "continue_")]
    pub drops: Vec<String>,

    /// Seconds to wait for another betadrift working on the same repository
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub lock_wait: u64,
}

/// Runs `betadrift resolve`: exit 1 when git stopped and the admin has
/// conflicts to resolve, 0 when the rebase ran through, landed or was aborted.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let clock = ctx.clock()?;
    let wait = Duration::from_secs(args.lock_wait);
    if args.abort {
        return abort(ctx, args, wait, out);
    }
    if args.continue_ {
        return land(ctx, args, clock, wait, out);
    }
    start(ctx, args, clock, wait, out)
}

/// Starts a resolution: the scratch worktree, the record, `git rebase`.
fn start(ctx: &Context, args: &Args, clock: Clock, wait: Duration, out: &mut dyn Write) -> Result<Outcome> {
    let config = &ctx.config;
    let checkout = args.repo.open(config)?;
    let state = rewrite::state_dir(&checkout.repo, config, &checkout.name());
    if let Some(r) = Resolution::read(&state)? {
        return Err(Error::Usage(format!(
            "{} is in progress already; `betadrift resolve --continue` lands it, `betadrift resolve --abort` drops it",
            r.describe()
        )));
    }
    rewrite::refuse_unsafe_state(&checkout.repo, &state, Kind::Resolve)?;
    let committer = rewrite::committer(&checkout.repo, config)?;
    let options = StackOptions { snapshot_prefix: String::new(), upstream_states: false, ..StackOptions::default() };
    let mut stack = Stack::load(&checkout.repo, checkout.head.clone(), checkout.upstream.clone(), &options)?;
    if stack.behind == 0 {
        writeln!(
            out,
            "{} is up to date with {}: nothing to resolve",
            terminal(checkout.head.name.as_bytes()),
            terminal(stack.upstream.name.as_bytes())
        )
        .map_err(Error::stdout)?;
        return Ok(Outcome::Clean);
    }
    if args.next_stop
        && let Some(held) = held_back_predicted(&checkout.repo, &stack, &[])?
    {
        let below = held.below_target - 1;
        let name = if below == 0 { stack.upstream.name.clone() } else { format!("{}~{below}", stack.upstream.name) };
        let onto = Upstream { name, refname: None, oid: held.culprit.commit };
        stack = Stack::load(&checkout.repo, checkout.head.clone(), onto, &options)?;
    }
    let overlay = Overlay::new(&checkout.repo);
    let report = check_stack_in(&checkout.repo, &overlay, checkout.name(), stack, checkout.private(), false, &[])?;
    let resolution = Resolution {
        actor: rewrite::actor(),
        started: rfc3339(clock.now),
        branch: checkout.head.refname.clone(),
        old_head: checkout.head.oid,
        target: report.stack.upstream.oid,
        target_name: report.stack.upstream.name.clone(),
        worktree: scratch_dir(checkout.repo.git_dir()),
    };
    create(&checkout, &resolution, &state, wait)?;
    let run = Repo::open_scratch(&resolution.worktree)?.rebase_scratch(resolution.target, &committer)?;
    write_started(&resolution, &report, &run, out).map_err(Error::stdout)?;
    Ok(match run {
        RebaseRun::Clean => Outcome::Clean,
        RebaseRun::Stopped { .. } => Outcome::Findings,
    })
}

/// Under the lock: the branch is still where it was read, the record is
/// written, then the scratch worktree is made (a failure takes the record
/// back).
fn create(checkout: &Checkout, resolution: &Resolution, state: &std::path::Path, wait: Duration) -> Result<()> {
    let repo = &checkout.repo;
    let _lock = RepoLock::acquire(repo.git_dir(), wait, "resolve")?;
    if repo.ref_target(&resolution.branch)? != Some(resolution.old_head) {
        return Err(Error::Usage(format!(
            "{} moved while resolve was starting; nothing was changed, run it again",
            resolution.branch
        )));
    }
    let parent = resolution.worktree.parent().map(std::fs::symlink_metadata);
    if let Some(Ok(meta)) = parent
        && !meta.is_dir()
    {
        return Err(Error::Usage(format!(
            "{} is not a directory (a symbolic link?); remove it, nothing was changed",
            resolution.worktree.parent().unwrap_or(&resolution.worktree).display()
        )));
    }
    if resolution.worktree.exists() {
        return Err(Error::Usage(format!(
            "{} exists already (left by an earlier resolve?); `betadrift resolve --abort` removes it",
            resolution.worktree.display()
        )));
    }
    resolution.write(state)?;
    if let Err(e) = repo.add_scratch_worktree(&resolution.worktree, resolution.old_head) {
        let _ = Resolution::remove(state);
        return Err(e);
    }
    Ok(())
}

/// The checkout to land on: its branch at the resolution's old tip, the
/// target as its upstream.
fn landing_checkout(repo: Repo, resolution: &Resolution, config: &Config) -> Checkout {
    let repo_config = repo.workdir().and_then(|w| config.repository_for(w)).cloned();
    let head = HeadBranch {
        name: resolution.branch_name().to_owned(),
        refname: resolution.branch.clone(),
        oid: resolution.old_head,
    };
    let upstream = Upstream { name: resolution.target_name.clone(), refname: None, oid: resolution.target };
    Checkout { repo, head, upstream, repo_config }
}

/// The recorded resolution of the checkout at `path`, or an error saying
/// there is none.
fn recorded(args: &Args, config: &Config) -> Result<(Repo, std::path::PathBuf, Option<Resolution>)> {
    let repo = crate::git::checkout::open_repo(args.repo.repo.as_deref())?;
    let repo_config = repo.workdir().and_then(|w| config.repository_for(w)).cloned();
    let name = crate::git::checkout::repo_name(&repo, repo_config.as_ref());
    let state = rewrite::state_dir(&repo, config, &name);
    let resolution = Resolution::read(&state)?;
    Ok((repo, state, resolution))
}

fn none_in_progress(repo: &Repo) -> Error {
    Error::Usage(format!(
        "no resolution is in progress in {}; `betadrift resolve` starts one",
        repo.display_path().display()
    ))
}

/// `--continue`: verifies the scratch worktree's result and lands it.
fn land(ctx: &Context, args: &Args, clock: Clock, wait: Duration, out: &mut dyn Write) -> Result<Outcome> {
    let config = &ctx.config;
    let (repo, state, resolution) = recorded(args, config)?;
    let Some(resolution) = resolution else { return Err(none_in_progress(&repo)) };
    // First: a landing killed mid-update is `undo`'s to roll back, never
    // taken for a finished one below.
    rewrite::refuse_unsafe_state(&repo, &state, Kind::Resolve)?;
    let current = repo.ref_target(&resolution.branch)?;
    let result = Repo::open_scratch(&resolution.worktree).and_then(|s| s.head_commit()).ok();
    if current.is_some() && current == result && result != Some(resolution.old_head) {
        // Landed by a --continue that died before it cleaned up.
        writeln!(out, "{} is at the resolved stack already: cleaning up", resolution.branch).map_err(Error::stdout)?;
        clean_up(&repo, &resolution, &state, out)?;
        return Ok(Outcome::Clean);
    }
    if current != Some(resolution.old_head) {
        return Err(Error::Usage(format!(
            "{} moved since the resolution started (it was at {}, it is at {}); nothing was changed: `betadrift resolve --abort` and start again",
            resolution.branch,
            short_id(resolution.old_head),
            current.map_or_else(|| "nothing".to_owned(), short_id)
        )));
    }
    let landing = verify(&repo, &resolution, &args.drops)?;
    let checkout = landing_checkout(repo, &resolution, config);
    let old_tree = checkout.repo.commit_tree_and_time(resolution.old_head)?.0;
    let mut plan = landing_plan(&checkout, &resolution, &landing, old_tree, config, clock);
    write_landing(&plan, &landing, &resolution, out).map_err(Error::stdout)?;
    plan.snapshot_tag = super::sync::free_snapshot_tag(&checkout.repo, plan.snapshot_tag.take(), out)?;
    let setup = Setup::for_checkout(&checkout, None, config, clock, wait)?;
    let done = rewrite::execute(&setup, &plan, Permit::granted())?;
    fault_point("resolve-landed");
    if let Err(e) = record_first_seen(&checkout, &landing, config, clock) {
        writeln!(out, "warning: first-seen ledger not updated: {e}").map_err(Error::stdout)?;
    }
    fault_point("resolve-ledger");
    clean_up(&checkout.repo, &resolution, &state, out)?;
    write_done(&plan, &done, out)?;
    Ok(Outcome::Clean)
}

/// The rewrite that lands the result: the branch moves to the scratch
/// worktree's tip (an existing commit), as a sync onto the target.
fn landing_plan(
    checkout: &Checkout,
    resolution: &Resolution,
    landing: &Landing,
    old_tree: git2::Oid,
    config: &Config,
    clock: Clock,
) -> Plan {
    let snapshot_tag = super::sync::snapshot_tag(config, clock);
    Plan {
        kind: Kind::Resolve,
        branch: checkout.head.clone(),
        old_tree,
        change: Change::Existing(landing.new_head),
        new_tree: landing.new_tree,
        removed: landing.removed.clone(),
        reason: Some(format!(
            "resolve onto {} ({}) started by {} at {}",
            resolution.target_name,
            short_id(resolution.target),
            resolution.actor,
            resolution.started
        )),
        forced: false,
        upstream: Some(resolution.target),
        snapshot_tag,
        recovering: None,
        undoes: None,
    }
}

/// Records the old stack in the first-seen ledger, as `sync` does, and
/// carries each kept patch's entry over to the commit git made of it (a
/// resolved conflict changes its patch-id).
fn record_first_seen(checkout: &Checkout, landing: &Landing, config: &Config, clock: Clock) -> Result<()> {
    let name = checkout.name();
    let repo = &checkout.repo;
    let mut ledger = crate::model::ledger::Ledger::read(&crate::model::ledger::path(config, repo, &name))?;
    let mut changed = ledger.record(repo, &name, &landing.old, clock.now)?;
    for &(o, n) in &landing.kept {
        let from = landing.old.patches[o].identity(repo)?.key();
        let to = landing.new.patches[n].identity(repo)?.key();
        changed |= ledger.carry(&from, &to);
    }
    ledger.save(changed)
}

/// Removes the scratch worktree and the record; a failure is a warning
/// (the branch has moved, the landing is done).
fn clean_up(repo: &Repo, resolution: &Resolution, state: &std::path::Path, out: &mut dyn Write) -> Result<()> {
    let removed = repo.remove_scratch_worktree(&resolution.worktree).and_then(|()| Resolution::remove(state));
    if let Some(parent) = resolution.worktree.parent() {
        let _ = std::fs::remove_dir(parent);
    }
    if let Err(e) = removed {
        writeln!(out, "warning: the scratch worktree was not removed: {e}; `betadrift resolve --abort` removes it")
            .map_err(Error::stdout)?;
    }
    Ok(())
}

/// `--abort`: removes the scratch worktree and the record, under the lock.
fn abort(ctx: &Context, args: &Args, wait: Duration, out: &mut dyn Write) -> Result<Outcome> {
    let (repo, state, resolution) = recorded(args, &ctx.config)?;
    let dir = resolution.as_ref().map_or_else(|| scratch_dir(repo.git_dir()), |r| r.worktree.clone());
    if resolution.is_none() && !dir.exists() {
        return Err(none_in_progress(&repo));
    }
    let _lock = RepoLock::acquire(repo.git_dir(), wait, "resolve --abort")?;
    repo.remove_scratch_worktree(&dir)?;
    Resolution::remove(&state)?;
    if let Some(parent) = dir.parent() {
        let _ = std::fs::remove_dir(parent);
    }
    let what = resolution.map_or_else(|| "a leftover scratch worktree".to_owned(), |r| r.describe());
    writeln!(
        out,
        "aborted {what}\nremoved {}; the live checkout was not touched",
        terminal(dir.as_os_str().as_encoded_bytes())
    )
    .map_err(Error::stdout)?;
    Ok(Outcome::Clean)
}
