//! `betadrift undo`: put the branch back where a backup ref says it was.
//!
//! Every rewrite keeps the old tip under `refs/betadrift/backup/…`; undo
//! moves the branch back (with its own backup, lock and clean-tree check, so
//! an undo can be undone). If a rewrite was interrupted (the process was
//! killed, the machine rebooted), its journal is still there: undo then
//! rolls that rewrite back, whatever step it died at.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::{Context, Outcome};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::checkout::{open_repo, repo_name};
use crate::git::repo::{HeadBranch, Repo};
use crate::rewrite::{self, Backup, Change, Journal, Kind, Permit, Plan, Setup, backups, read_audit};
use crate::support::clock::Clock;
use crate::support::escape::{terminal, terminal_short};
use crate::support::ids::{short_hex, short_id};
use git2::Oid;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The checkout [default: the repository containing the current directory]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,

    /// The backup to return to (see --list) [default: the newest]
    #[arg(value_name = "BACKUP")]
    pub backup: Option<String>,

    /// List the backups and the rewrites that made them
    #[arg(long, conflicts_with = "backup")]
    pub list: bool,

    /// Show what would happen and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Seconds to wait for another betadrift working on the same repository
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub lock_wait: u64,
}

/// `undo --list`: backups with the audit lines that made them.
pub fn list(path: Option<&std::path::Path>, config: &Config, out: &mut dyn Write) -> Result<()> {
    let repo = open_repo(path)?;
    let state = rewrite::state_dir(&repo, config, &checkout_name(&repo, config));
    let audit = read_audit(&state)?;
    if let Some(j) = Journal::read(&state)? {
        writeln!(out, "INTERRUPTED {} started {}: `betadrift undo` rolls it back", j.command, j.started)
            .map_err(Error::stdout)?;
    }
    let list = backups(&repo)?;
    if list.is_empty() {
        writeln!(out, "no backups in {}", repo.display_path().display()).map_err(Error::stdout)?;
    }
    for b in list {
        writeln!(out, "{}  {}", b.name.trim_start_matches("refs/betadrift/backup/"), short_id(b.commit))
            .map_err(Error::stdout)?;
        for a in audit.iter().filter(|a| a.backup == b.name) {
            let reason =
                a.reason.as_deref().map(|r| format!(": {}", terminal_short(r.as_bytes(), 80))).unwrap_or_default();
            let (command, actor, time) =
                (terminal(a.command.as_bytes()), terminal(a.actor.as_bytes()), terminal(a.time.as_bytes()));
            writeln!(out, "    {command} by {actor} at {time}{reason}").map_err(Error::stdout)?;
            for r in &a.removed {
                writeln!(
                    out,
                    "      removed {} {}",
                    terminal_short(short_hex(&r.commit).as_bytes(), 12),
                    terminal_short(r.subject.as_bytes(), 70)
                )
                .map_err(Error::stdout)?;
            }
        }
    }
    Ok(())
}

/// Runs `betadrift undo`: `--list`, or put the branch back.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    if args.list {
        list(args.repo.as_deref(), &ctx.config, out)?;
    } else {
        let wait = Duration::from_secs(args.lock_wait);
        undo(args.repo.as_deref(), args.backup.as_deref(), &ctx.config, ctx.clock()?, args.dry_run, wait, out)?;
    }
    Ok(Outcome::Clean)
}

/// Puts the branch back to `backup` (the newest if `None`), or rolls back an interrupted rewrite.
pub fn undo(
    path: Option<&std::path::Path>,
    backup: Option<&str>,
    config: &Config,
    clock: Clock,
    dry_run: bool,
    lock_wait: Duration,
    out: &mut dyn Write,
) -> Result<()> {
    let repo = open_repo(path)?;
    let state = rewrite::state_dir(&repo, config, &checkout_name(&repo, config));
    let head = repo.head_branch()?;
    let (target, recovering) = destination(&repo, &head, Journal::read(&state)?, backup)?;
    if recovering.is_none() && target == head.oid {
        writeln!(out, "{} is already at {}: nothing to undo", head.refname, short_id(target)).map_err(Error::stdout)?;
        return Ok(());
    }
    let plan = undo_plan(&repo, head, target, recovering)?;
    writeln!(out, "{} will move from {} back to {}", plan.branch.refname, short_id(plan.branch.oid), short_id(target))
        .map_err(Error::stdout)?;
    if dry_run {
        writeln!(out, "--dry-run: nothing was changed").map_err(Error::stdout)?;
        return Ok(());
    }
    let setup = Setup {
        repo: &repo,
        overlay: None,
        state_dir: state,
        // Undo writes no commits; the identity is never used.
        committer: crate::git::write::Ident { name: b"betadrift".to_vec(), email: b"betadrift@localhost".to_vec() },
        now: clock.now,
        actor: rewrite::actor(),
        post_update: rewrite::post_update(repo.workdir().and_then(|w| config.repository_for(w)), config),
        lock_wait,
    };
    let done = rewrite::execute(&setup, &plan, Permit::granted())?;
    writeln!(
        out,
        "moved {} to {}; the tip it had is kept as {}",
        plan.branch.refname,
        short_id(done.new_head),
        done.backup
    )
    .map_err(Error::stdout)?;
    done.post_update_result()
}

/// The name of the checkout's state directory: its config entry's, else its path.
fn checkout_name(repo: &Repo, config: &Config) -> String {
    repo_name(repo, repo.workdir().and_then(|w| config.repository_for(w)))
}

/// Where undo moves the branch: the old head of an interrupted rewrite of
/// this branch (which is then rolled back), else the backup asked for, else
/// the newest backup.
fn destination(
    repo: &Repo,
    head: &HeadBranch,
    journal: Option<Journal>,
    backup: Option<&str>,
) -> Result<(Oid, Option<Journal>)> {
    Ok(match (journal, backup) {
        (Some(j), _) if j.branch == head.refname => (j.old_head, Some(j)),
        (_, Some(spec)) => (find_backup(repo, spec)?.commit, None),
        (_, None) => {
            let newest = backups(repo)?.into_iter().next().ok_or_else(|| {
                Error::Usage(format!("no backups in {}: nothing to undo", repo.display_path().display()))
            })?;
            (newest.commit, None)
        }
    })
}

/// The plan that moves `head` back to `target`.
fn undo_plan(repo: &Repo, head: HeadBranch, target: Oid, recovering: Option<Journal>) -> Result<Plan> {
    Ok(Plan {
        kind: Kind::Undo,
        old_tree: repo.commit_tree_and_time(head.oid)?.0,
        branch: head,
        change: Change::Existing(target),
        new_tree: repo.commit_tree_and_time(target)?.0,
        removed: Vec::new(),
        reason: Some(match &recovering {
            Some(j) => format!("roll back the interrupted {} of {}", j.command, j.started),
            None => format!("back to {target}"),
        }),
        forced: false,
        upstream: None,
        snapshot_tag: None,
        recovering,
    })
}

/// A backup by full ref name or by its name under `refs/betadrift/backup/`.
fn find_backup(repo: &Repo, spec: &str) -> Result<Backup> {
    let all = backups(repo)?;
    let found: Vec<Backup> = all
        .into_iter()
        .filter(|b| {
            b.name == spec || b.name.trim_start_matches("refs/betadrift/backup/") == spec || b.name.ends_with(spec)
        })
        .collect();
    match found.len() {
        1 => Ok(found.into_iter().next().expect("one")),
        0 => Err(Error::Usage(format!("no backup named {spec}; `betadrift undo --list` shows them"))),
        _ => Err(Error::Usage(format!(
            "{spec} names {} backups; give the full name from `betadrift undo --list`",
            found.len()
        ))),
    }
}
