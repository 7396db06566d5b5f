//! `betadrift sync`: a safe replacement for git-sync-upstream.
//!
//! The script rebases in a scratch clone every ten minutes and, when the
//! rebase stops, logs an error, exits 0 and leaves the puppetmaster stuck.
//! `sync` predicts first: if any patch would stop, it changes nothing, says
//! which patches block and which upstream changes they collide with, and
//! exits 1. Otherwise it builds the rebased commits in memory and moves the
//! branch with the same safety as `drop`: lock, backup ref, audit line,
//! compare-and-swap, then only the changed files; then it tags the snapshot
//! and runs the post-update command (deployment-prep deploys the code), and
//! records the patches in the first-seen ledger.

use std::io::Write;
use std::time::Duration;

use super::{Context, Outcome, RepoArgs};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::checkout::{Checkout, UpstreamArgs};
use crate::git::repo::{Repo, Upstream};
use crate::model::stack::{Patch, Stack, StackOptions};
use crate::model::upstream::LocalChange;
use crate::model::upstream::{MatchedBy, UpstreamState};
use crate::output::check::render_text as render_check;
use crate::output::held_back::write_text as write_held_back;
use crate::output::json::sync as sync_json;
use crate::output::rewrite::{write_done, write_sync_plan};
use crate::output::write_json;
use crate::rebase::check::{CheckReport, check_stack_in};
use crate::rebase::forward::{HeldBack, held_back};
use crate::rebase::predict::{PickOutcome, predict};
use crate::rewrite::{self, Change, Kind, Permit, Plan, PlannedCommit, Removal, Setup};
use crate::support::clock::{Clock, rfc3339};
use crate::support::escape::{lossy, terminal};
use crate::support::ids::short_id;
use betadrift_engine::objects::Overlay;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Fetch the branch's remote first
    #[arg(long)]
    pub fetch: bool,

    /// Drop patches whose Change-Id upstream has merged instead of letting them block
    #[arg(long)]
    pub drop_merged: bool,

    /// When the rebase onto upstream would stop, sync onto the newest upstream commit it does not stop on
    #[arg(long)]
    pub as_far_as_possible: bool,

    /// Show what would happen and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// With --dry-run: print the plan as JSON (schema in docs/json.md)
    #[arg(long)]
    pub json: bool,

    /// Seconds to wait for another betadrift working on the same repository
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub lock_wait: u64,
}

/// What `sync` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    pub fetch: bool,
    pub drop_merged: bool,
    pub dry_run: bool,
    pub lock_wait: Duration,
    /// Sync onto U' when the rebase onto the target would stop.
    pub as_far_as_possible: bool,
    /// Print the plan as JSON (with `dry_run`).
    pub json: bool,
}

/// Runs `betadrift sync`: exit 1 when it refuses because the rebase would stop.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    if args.json && !args.dry_run {
        return Err(Error::Usage("sync --json prints the plan: use it with --dry-run".into()));
    }
    let clock = ctx.clock()?;
    let options = SyncOptions {
        fetch: args.fetch,
        drop_merged: args.drop_merged,
        dry_run: args.dry_run,
        lock_wait: Duration::from_secs(args.lock_wait),
        as_far_as_possible: args.as_far_as_possible || ctx.config.sync.as_far_as_possible,
        json: args.json,
    };
    sync(args.repo.repo.as_deref(), &args.repo.upstream_args(), &ctx.config, clock, &options, out)
}

/// Syncs the checkout at `path` (or the current directory) and reports on `out`.
pub fn sync(
    path: Option<&std::path::Path>,
    upstream: &UpstreamArgs,
    config: &Config,
    clock: Clock,
    options: &SyncOptions,
    out: &mut dyn Write,
) -> Result<Outcome> {
    // Fetch before resolving the upstream: a SHA file or URL names a commit
    // that only the fetch brings.
    let repo = crate::git::checkout::open_repo(path)?;
    let repo_config = repo.workdir().and_then(|w| config.repository_for(w)).cloned();
    if options.fetch {
        fetch(&repo)?;
    }
    let target = Checkout::resolve(repo, upstream, repo_config)?;
    let state = rewrite::state_dir(&target.repo, config, &target.name());
    rewrite::refuse_unsafe_state(&target.repo, &state, Kind::Sync)?;
    let options_stack = StackOptions {
        snapshot_prefix: String::new(),
        // Only --drop-merged asks what upstream merged.
        upstream_states: options.drop_merged,
        ..StackOptions::default()
    };
    let stack = Stack::load(&target.repo, target.head.clone(), target.upstream.clone(), &options_stack)?;
    if stack.behind == 0 {
        if options.json {
            let report =
                check_stack_in(&target.repo, &Overlay::new(&target.repo), target.name(), stack, true, false, &[])?;
            write_json(out, &sync_json::to_wire(None, &report, &report.stack, None))?;
            return Ok(Outcome::Clean);
        }
        writeln!(
            out,
            "{} is up to date with {}: nothing to do",
            terminal(stack.head.name.as_bytes()),
            terminal(stack.upstream.name.as_bytes())
        )
        .map_err(Error::stdout)?;
        return Ok(Outcome::Clean);
    }
    let removed: Vec<usize> = if options.drop_merged { merged_by_change_id(&stack) } else { Vec::new() };
    let overlay = Overlay::new(&target.repo);
    let report = if options.as_far_as_possible {
        // The stops are not shown, only what holds the stack back: no need
        // to explain them.
        predicted(&target, &overlay, stack, &removed)?
    } else {
        check_stack_in(&target.repo, &overlay, target.name(), stack, target.private(), false, &removed)?
    };
    if !report.has_stops() {
        return apply(&target, &overlay, &report, None, config, clock, options, out);
    }
    if options.as_far_as_possible {
        return as_far_as_possible(&target, &overlay, report, &removed, config, clock, options, out);
    }
    if options.json {
        // Refused: the plan is to stay on the merge base.
        let mut wire = sync_json::to_wire(None, &report, &report.stack, None);
        (wire.onto, wire.taken) = (report.stack.merge_base.to_string(), 0);
        write_json(out, &wire)?;
        return Ok(Outcome::Findings);
    }
    writeln!(
        out,
        "sync refused: the rebase onto {} would stop, so nothing was changed.\n",
        terminal(report.stack.upstream.name.as_bytes())
    )
    .map_err(Error::stdout)?;
    render_check(&report, out).map_err(Error::stdout)?;
    writeln!(out, "\n`betadrift sync --as-far-as-possible` takes the upstream commits before the first stop.")
        .map_err(Error::stdout)?;
    Ok(Outcome::Findings)
}

/// The rebase onto the target stops: finds U', the newest upstream commit
/// the stack rebases onto with no stop, confirms it with a full
/// prediction, and syncs there. Nothing to take (U' is the merge base):
/// says what holds the stack back and exits 1, like a refusal.
#[allow(clippy::too_many_arguments)] // sync's inputs, each once
fn as_far_as_possible(
    target: &Checkout,
    overlay: &Overlay<'_, Repo>,
    report: CheckReport,
    removed: &[usize],
    config: &Config,
    clock: Clock,
    options: &SyncOptions,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let Some(held) = held_back(&target.repo, &report.stack, removed, &report.prediction, &report.culprit_commits())?
    else {
        return Err(Error::Internal { message: "the rebase was predicted to stop, then found clean".into() });
    };
    if held.is_stuck() {
        if options.json {
            write_json(out, &sync_json::to_wire(None, &report, &report.stack, Some(&held)))?;
        } else {
            writeln!(
                out,
                "sync held back: the rebase stops on the first upstream commit already, so nothing was changed.\n"
            )
            .map_err(Error::stdout)?;
            write_held_back(&held, &report.stack, out).map_err(Error::stdout)?;
        }
        return Ok(Outcome::Findings);
    }
    let whole = report.stack.clone();
    let prediction = held.confirm(&target.repo, overlay, &whole, removed)?;
    let mut stack = whole.clone();
    stack.upstream =
        Upstream { name: format!("{}~{}", whole.upstream.name, held.below_target), refname: None, oid: held.onto };
    stack.behind = held.taken;
    let details = vec![Vec::new(); prediction.picks.len()];
    let partial = CheckReport { stack, prediction, details, ..report };
    if !options.json {
        write_held_back(&held, &whole, out).map_err(Error::stdout)?;
        writeln!(out).map_err(Error::stdout)?;
    }
    apply(target, overlay, &partial, Some((&whole, &held)), config, clock, options, out)
}

/// The prediction of the rebase of `stack`, its stops left unexplained.
fn predicted(target: &Checkout, overlay: &Overlay<'_, Repo>, stack: Stack, removed: &[usize]) -> Result<CheckReport> {
    let locals: Vec<LocalChange> = stack.patches.iter().map(Patch::local_change).collect();
    let prediction =
        predict(&target.repo, overlay, &stack.index, &locals, stack.upstream.oid, stack.merge_base, false, removed)?;
    Ok(CheckReport {
        repo_name: target.name(),
        repo_path: target.repo.display_path().display().to_string(),
        details: vec![Vec::new(); prediction.picks.len()],
        stack,
        prediction,
        private: target.private(),
    })
}

/// Plans the rebase the check predicted clean, prints the plan and (unless
/// `--dry-run`) carries it out and records the patches' first-seen times.
#[allow(clippy::too_many_arguments)] // sync's inputs, each once
fn apply(
    target: &Checkout,
    overlay: &Overlay<'_, Repo>,
    report: &CheckReport,
    held: Option<(&Stack, &HeldBack)>,
    config: &Config,
    clock: Clock,
    options: &SyncOptions,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let old_tree = target.repo.commit_tree_and_time(report.stack.head.oid)?.0;
    let mut plan = plan(report, old_tree, config, clock);
    if options.json {
        let (whole, found) = held.map_or((&report.stack, None), |(s, h)| (s, Some(h)));
        write_json(out, &sync_json::to_wire(Some(&plan), report, whole, found))?;
        return Ok(if found.is_some() { Outcome::Findings } else { Outcome::Clean });
    }
    write_sync_plan(&plan, report, out).map_err(Error::stdout)?;
    plan.snapshot_tag = free_snapshot_tag(&target.repo, plan.snapshot_tag.take(), out)?;
    if options.dry_run {
        writeln!(out, "\n--dry-run: nothing was changed").map_err(Error::stdout)?;
        return Ok(if held.is_some() { Outcome::Findings } else { Outcome::Clean });
    }
    let setup = Setup::for_checkout(target, Some(overlay), config, clock, options.lock_wait)?;
    let done = rewrite::execute(&setup, &plan, Permit::granted())?;
    // The patches kept were on the checkout now, whatever their new ids:
    // the ledger keeps their first-seen times across this rebase.
    if let Err(e) = record_first_seen(target, &report.stack, config, clock) {
        writeln!(out, "warning: first-seen ledger not updated: {e}").map_err(Error::stdout)?;
    }
    write_done(&plan, &done, out)?;
    // Synced as far as possible: the rest is still held back.
    Ok(if held.is_some() { Outcome::Findings } else { Outcome::Clean })
}

/// The snapshot tag a sync (or a landed resolution) creates, if the
/// config asks for them: the prefix and the minute.
pub(super) fn snapshot_tag(config: &Config, clock: Clock) -> Option<String> {
    config.sync.snapshot_tags.then(|| format!("{}{}", config.sync.snapshot_prefix, clock.now.strftime("%Y%m%d%H%M")))
}

/// The snapshot tag to create, unless it exists already: tags name the
/// minute, and a second sync (or landed resolution) within it is dated by
/// the first.
pub(super) fn free_snapshot_tag(repo: &Repo, tag: Option<String>, out: &mut dyn Write) -> Result<Option<String>> {
    let Some(tag) = tag else { return Ok(None) };
    if repo.ref_target(&format!("refs/tags/{tag}"))?.is_none() {
        return Ok(Some(tag));
    }
    writeln!(out, "snapshot tag {} exists already (a sync earlier this minute): not tagging", terminal(tag.as_bytes()))
        .map_err(Error::stdout)?;
    Ok(None)
}

/// Fetches the current branch's remote (`git fetch`), with a spinner on a terminal.
fn fetch(repo: &crate::git::repo::Repo) -> Result<()> {
    let remote = repo.branch_remote(&repo.head_branch()?.name);
    let spinner = crate::support::progress::Spinner::start();
    spinner.set(&format!("fetching {remote}"));
    let fetched = repo.fetch(&remote);
    spinner.finish();
    fetched
}

/// Records the stack's patches in the first-seen ledger, as `report` does.
fn record_first_seen(target: &Checkout, stack: &Stack, config: &Config, clock: Clock) -> Result<()> {
    let name = target.name();
    let mut ledger = crate::model::ledger::Ledger::read(&crate::model::ledger::path(config, &target.repo, &name))?;
    let changed = ledger.record(&target.repo, &name, stack, clock.now)?;
    ledger.save(changed)
}

/// Patches whose Change-Id upstream has merged (and not reverted).
fn merged_by_change_id(stack: &Stack) -> Vec<usize> {
    stack
        .patches
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            p.upstream.matched_by == Some(MatchedBy::ChangeId)
                && matches!(p.upstream.state, UpstreamState::Merged | UpstreamState::MergedDiffers)
        })
        .map(|(i, _)| i)
        .collect()
}

/// The rewrite: the applied picks, in order, on top of upstream.
fn plan(report: &CheckReport, old_tree: git2::Oid, config: &Config, clock: Clock) -> Plan {
    let s = &report.stack;
    let p = &report.prediction;
    let mut commits = Vec::new();
    let mut removed = Vec::new();
    for (pick, patch) in p.picks.iter().zip(&s.patches) {
        let why = match &pick.outcome {
            PickOutcome::Applies => {
                commits
                    .push(PlannedCommit { original: pick.commit, tree: pick.tree.expect("applied picks have a tree") });
                continue;
            }
            PickOutcome::AlreadyUpstream { matched } => format!("already upstream as {}", short_id(*matched)),
            PickOutcome::BecomesEmpty => "changes nothing on the new upstream".to_owned(),
            PickOutcome::Removed => "merged upstream (--drop-merged)".to_owned(),
            PickOutcome::MergeCommit => "merge commit (rebase drops merges)".to_owned(),
            PickOutcome::Conflict(_) => unreachable!("plans are only made for clean predictions"),
        };
        removed.push(Removal {
            commit: pick.commit.to_string(),
            position: pick.position,
            subject: lossy(&patch.message.subject),
            change_id: patch.message.change_id.clone(),
            why,
        });
    }
    let snapshot_tag = snapshot_tag(config, clock);
    Plan {
        kind: Kind::Sync,
        branch: s.head.clone(),
        old_tree,
        change: Change::Commits { base: s.upstream.oid, commits },
        new_tree: p.result_tree,
        removed,
        reason: Some(format!("sync onto {} at {}", s.upstream.name, rfc3339(clock.now))),
        forced: false,
        upstream: Some(s.upstream.oid),
        snapshot_tag,
        recovering: None,
        undoes: None,
    }
}
