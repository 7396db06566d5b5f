//! `betadrift undo`: take back a rewrite, and only what can be taken back
//! without loss.
//!
//! Every rewrite keeps the old tip under `refs/betadrift/backup/…` and
//! writes an audit line naming its branch, old and new head. `undo` takes
//! back the newest rewrite of the current branch that is not itself an undo
//! and has not been undone: a second `undo` goes one rewrite further back,
//! never forward. Re-applying an undone rewrite is explicit: name the undo's
//! own backup (`betadrift undo --list` shows the chain).
//!
//! If the branch moved past the rewrite's new head (commits made by hand
//! since), undo refuses and lists them: `--keep-newer` replays them on the
//! restored tip (refusing on a conflict), `--force` leaves them in undo's
//! own backup. If a rewrite was interrupted (killed, rebooted), its journal
//! is still there and undo rolls it back, whatever step it died at.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::{Context, Outcome};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::checkout::{open_repo, repo_name};
use crate::git::repo::{HeadBranch, Repo};
use crate::model::upstream::LocalChange;
use crate::rebase::predict::{PickOutcome, Skip, replay};
use crate::rewrite::journal::BACKUP_PREFIX;
use crate::rewrite::{
    self, AuditEntry, Backup, Change, Journal, Kind, Permit, Plan, PlannedCommit, Setup, backups, read_audit,
};
use crate::support::clock::Clock;
use crate::support::escape::{terminal, terminal_short};
use crate::support::ids::{short_hex, short_id};
use crate::support::words::count;
use betadrift_engine::objects::Overlay;
use git2::Oid;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The checkout [default: the repository containing the current directory]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,

    /// The backup to return to (see --list) [default: the newest rewrite of this branch not yet undone]
    #[arg(value_name = "BACKUP")]
    pub backup: Option<String>,

    /// List the backups, the rewrites that made them and what undid them
    #[arg(long, conflicts_with_all = ["backup", "keep_newer", "force"])]
    pub list: bool,

    /// Replay the commits made after the rewrite on top of the restored tip (refuses on a conflict)
    #[arg(long, conflicts_with = "force")]
    pub keep_newer: bool,

    /// Go back even if commits were made after the rewrite (they stay in undo's own backup)
    #[arg(long)]
    pub force: bool,

    /// Show what would happen and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Seconds to wait for another betadrift working on the same repository
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub lock_wait: u64,
}

/// What to do with commits made after the rewrite being undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Newer {
    /// Refuse and list them.
    #[default]
    Refuse,
    /// Replay them on the restored tip.
    Keep,
    /// Leave them (in undo's own backup).
    Force,
}

/// Runs `betadrift undo`: `--list`, or put the branch back.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    if args.list {
        list(args.repo.as_deref(), &ctx.config, out)?;
        return Ok(Outcome::Clean);
    }
    let newer = match (args.keep_newer, args.force) {
        (true, _) => Newer::Keep,
        (_, true) => Newer::Force,
        _ => Newer::Refuse,
    };
    let options = UndoOptions { newer, dry_run: args.dry_run, lock_wait: Duration::from_secs(args.lock_wait) };
    undo(args.repo.as_deref(), args.backup.as_deref(), &ctx.config, ctx.clock()?, &options, out)?;
    Ok(Outcome::Clean)
}

/// What `undo` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct UndoOptions {
    pub newer: Newer,
    pub dry_run: bool,
    pub lock_wait: Duration,
}

/// The audit log of one checkout, read for one branch.
struct History {
    entries: Vec<AuditEntry>,
}

impl History {
    fn read(state: &std::path::Path) -> Result<History> {
        Ok(History { entries: read_audit(state)? })
    }

    /// The entry that made `backup`.
    fn made(&self, backup: &str) -> Option<&AuditEntry> {
        self.entries.iter().rev().find(|e| e.backup == backup)
    }

    /// The rewrite an entry took back, if it is an undo: recorded since
    /// undo records it, inferred from the heads for older lines.
    fn undone_by<'a>(&'a self, undo: &'a AuditEntry, at: usize) -> Option<&'a str> {
        if undo.command != Kind::Undo.as_str() {
            return None;
        }
        if let Some(b) = &undo.undoes {
            return Some(b);
        }
        self.entries[..at]
            .iter()
            .rev()
            .find(|e| e.branch == undo.branch && e.new_head == undo.old_head && e.old_head == undo.new_head)
            .map(|e| e.backup.as_str())
    }

    /// For each entry, whether it still stands: not taken back by a later
    /// undo that itself still stands.
    fn standing(&self) -> Vec<bool> {
        let mut standing = vec![true; self.entries.len()];
        for i in (0..self.entries.len()).rev() {
            let taken_back = (i + 1..self.entries.len())
                .any(|k| standing[k] && self.undone_by(&self.entries[k], k) == Some(self.entries[i].backup.as_str()));
            standing[i] = !taken_back;
        }
        standing
    }

    /// The newest entry of `branch` that stands and is (`undo`) or is not an undo.
    fn last_standing(&self, branch: &str, undo: bool) -> Option<&AuditEntry> {
        let standing = self.standing();
        self.entries
            .iter()
            .zip(standing)
            .rev()
            .find(|(e, s)| *s && e.branch == branch && (e.command == Kind::Undo.as_str()) == undo)
            .map(|(e, _)| e)
    }
}

/// `undo --list`: backups with the audit lines that made them, and the chain
/// of undos.
pub fn list(path: Option<&std::path::Path>, config: &Config, out: &mut dyn Write) -> Result<()> {
    let repo = open_repo(path)?;
    let state = rewrite::state_dir(&repo, config, &checkout_name(&repo, config));
    let history = History::read(&state)?;
    let standing = history.standing();
    if let Some(j) = Journal::read(&state)? {
        writeln!(out, "UNFINISHED  {}", terminal(j.describe().as_bytes())).map_err(Error::stdout)?;
    }
    let list = backups(&repo)?;
    if list.is_empty() {
        writeln!(out, "no backups in {}", repo.display_path().display()).map_err(Error::stdout)?;
    }
    let short = |name: &str| terminal(name.trim_start_matches(BACKUP_PREFIX).as_bytes());
    for b in list {
        writeln!(out, "{}  {}", short(&b.name), short_id(b.commit)).map_err(Error::stdout)?;
        let Some(at) = history.entries.iter().rposition(|a| a.backup == b.name) else {
            writeln!(out, "    no audit record (made elsewhere, or the state directory changed)")
                .map_err(Error::stdout)?;
            continue;
        };
        let a = &history.entries[at];
        let reason = a.reason.as_deref().map(|r| format!(": {}", terminal_short(r.as_bytes(), 80))).unwrap_or_default();
        let (command, actor, time) =
            (terminal(a.command.as_bytes()), terminal(a.actor.as_bytes()), terminal(a.time.as_bytes()));
        writeln!(out, "    {command} of {} by {actor} at {time}{reason}", terminal(a.branch.as_bytes()))
            .map_err(Error::stdout)?;
        if let Some(undid) = history.undone_by(a, at) {
            writeln!(out, "    took back {}", short(undid)).map_err(Error::stdout)?;
        }
        for r in &a.removed {
            writeln!(
                out,
                "      removed {} {}",
                terminal_short(short_hex(&r.commit).as_bytes(), 12),
                terminal_short(r.subject.as_bytes(), 70)
            )
            .map_err(Error::stdout)?;
        }
        if !standing[at] {
            let by = history.entries[at + 1..]
                .iter()
                .enumerate()
                .find(|(k, e)| history.undone_by(e, at + 1 + k) == Some(a.backup.as_str()))
                .map(|(_, e)| short(&e.backup))
                .unwrap_or_default();
            writeln!(out, "    undone by {by}; `betadrift undo {by}` re-applies it").map_err(Error::stdout)?;
        }
    }
    Ok(())
}

/// Puts the branch back to `backup` (default: before the newest rewrite of
/// this branch that stands), or rolls back an interrupted rewrite.
pub fn undo(
    path: Option<&std::path::Path>,
    backup: Option<&str>,
    config: &Config,
    clock: Clock,
    options: &UndoOptions,
    out: &mut dyn Write,
) -> Result<()> {
    let repo = open_repo(path)?;
    let state = rewrite::state_dir(&repo, config, &checkout_name(&repo, config));
    let head = repo.head_branch()?;
    let history = History::read(&state)?;
    let journal = Journal::read(&state)?
        .filter(|j| j.branch == head.refname && (head.oid == j.old_head || head.oid == j.new_head));
    let overlay = Overlay::new(&repo);
    let plan = match (journal, backup) {
        (Some(j), None) => recovery_plan(&repo, head, j)?,
        (_, spec) => {
            let (target, undoes) = target(&repo, &history, &head, spec, options.newer)?;
            if target == head.oid {
                writeln!(out, "{} is already at {}: nothing to undo", head.refname, short_id(target))
                    .map_err(Error::stdout)?;
                return Ok(());
            }
            let newer = newer_commits(&repo, &history, &head, undoes.as_deref(), options.newer)?;
            undo_plan(&repo, &overlay, head, target, undoes, &newer)?
        }
    };
    write_plan(&plan, out)?;
    if options.dry_run {
        writeln!(out, "--dry-run: nothing was changed").map_err(Error::stdout)?;
        return Ok(());
    }
    let setup = Setup {
        repo: &repo,
        overlay: Some(&overlay),
        state_dir: state,
        committer: undo_committer(&repo, config)?,
        now: clock.now,
        actor: rewrite::actor(),
        post_update: rewrite::post_update(repo.workdir().and_then(|w| config.repository_for(w)), config),
        lock_wait: options.lock_wait,
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

/// Undo writes commits only for `--keep-newer`; otherwise any identity does.
fn undo_committer(repo: &Repo, config: &Config) -> Result<crate::git::write::Ident> {
    rewrite::committer(repo, config).or_else(|_| {
        Ok(crate::git::write::Ident { name: b"betadrift".to_vec(), email: b"betadrift@localhost".to_vec() })
    })
}

fn write_plan(plan: &Plan, out: &mut dyn Write) -> Result<()> {
    let target = match &plan.change {
        Change::Existing(oid) => *oid,
        Change::Commits { base, .. } => *base,
    };
    writeln!(out, "{} will move from {} back to {}", plan.branch.refname, short_id(plan.branch.oid), short_id(target))
        .map_err(Error::stdout)?;
    if let Change::Commits { commits, .. } = &plan.change {
        writeln!(out, "then {} made since the rewrite will be replayed on top", count(commits.len(), "commit"))
            .map_err(Error::stdout)?;
    }
    Ok(())
}

/// The name of the checkout's state directory: its config entry's, else its path.
fn checkout_name(repo: &Repo, config: &Config) -> String {
    repo_name(repo, repo.workdir().and_then(|w| config.repository_for(w)))
}

/// Where undo goes, and the backup of the rewrite it takes back: the
/// backup asked for, else the newest standing rewrite of this branch.
fn target(
    repo: &Repo,
    history: &History,
    head: &HeadBranch,
    spec: Option<&str>,
    newer: Newer,
) -> Result<(Oid, Option<String>)> {
    let branch = &head.refname;
    match spec {
        Some(spec) => {
            let backup = find_backup(repo, spec)?;
            match history.made(&backup.name) {
                Some(e) if &e.branch != branch => Err(Error::Usage(format!(
                    "backup {} was taken from {}, not {branch}; run undo in the worktree that has {} checked out",
                    backup.name, e.branch, e.branch
                ))),
                Some(_) => Ok((backup.commit, Some(backup.name))),
                None if newer == Newer::Force => Ok((backup.commit, None)),
                None => Err(Error::Usage(format!(
                    "backup {} has no audit record, so undo cannot tell what it would discard; pass --force to move {branch} to it anyway (the current tip is kept as a backup)",
                    backup.name
                ))),
            }
        }
        None => match history.last_standing(branch, false) {
            Some(e) => {
                let commit = repo.ref_target(&e.backup)?.ok_or_else(|| {
                    Error::Usage(format!(
                        "the backup {} of the last {} is gone; `betadrift undo --list` shows the others",
                        e.backup, e.command
                    ))
                })?;
                Ok((commit, Some(e.backup.clone())))
            }
            None => Err(nothing_to_undo(repo, history, branch)),
        },
    }
}

fn nothing_to_undo(repo: &Repo, history: &History, branch: &str) -> Error {
    match history.last_standing(branch, true) {
        Some(u) => Error::Usage(format!(
            "nothing to undo on {branch}: its last rewrite was taken back by the undo at {}; `betadrift undo {}` re-applies it",
            u.time,
            u.backup.trim_start_matches(BACKUP_PREFIX)
        )),
        None => Error::Usage(format!(
            "nothing to undo: no betadrift rewrite of {branch} is on record in {}; `betadrift undo --list` shows the backups",
            repo.display_path().display()
        )),
    }
}

/// The commits on the branch that the rewrite being undone did not make
/// (made by hand since), oldest first, after the policy for them.
fn newer_commits(
    repo: &Repo,
    history: &History,
    head: &HeadBranch,
    undoes: Option<&str>,
    newer: Newer,
) -> Result<Vec<Oid>> {
    let Some(entry) = undoes.and_then(|b| history.made(b)) else { return Ok(Vec::new()) };
    let Ok(made) = Oid::from_str(&entry.new_head) else { return Ok(Vec::new()) };
    if made == head.oid || newer == Newer::Force {
        return Ok(Vec::new());
    }
    let lost = if repo.is_ancestor(made, head.oid)? {
        repo.commits_between(&[made], head.oid)?
    } else {
        return Err(Error::Usage(format!(
            "{} was rewritten since the {} being undone (it no longer contains {}); undo the later rewrites first (`betadrift undo --list`), or pass --force",
            head.refname,
            entry.command,
            short_id(made)
        )));
    };
    if newer == Newer::Keep {
        return Ok(lost);
    }
    let mut shown = Vec::new();
    for oid in lost.iter().rev().take(10) {
        let c = repo.commit(*oid)?;
        let subject = crate::model::message::MessageInfo::parse(&c.message).subject;
        shown.push(format!(
            "{} {} ({})",
            short_id(*oid),
            terminal_short(&subject, 60),
            terminal_short(&c.author.name, 24)
        ));
    }
    if lost.len() > 10 {
        shown.push(format!("and {} more", lost.len() - 10));
    }
    Err(Error::Usage(format!(
        "undo refused, nothing was changed: {} made on {} after the {} would be lost: {}; pass --keep-newer to replay them on the restored tip, or --force to leave them in a backup",
        count(lost.len(), "commit"),
        head.refname,
        entry.command,
        shown.join("; ")
    )))
}

/// The plan that rolls back an interrupted (or unfinished) rewrite.
fn recovery_plan(repo: &Repo, head: HeadBranch, j: Journal) -> Result<Plan> {
    Ok(Plan {
        kind: Kind::Undo,
        old_tree: repo.commit_tree_and_time(head.oid)?.0,
        branch: head,
        change: Change::Existing(j.old_head),
        new_tree: repo.commit_tree_and_time(j.old_head)?.0,
        removed: Vec::new(),
        reason: Some(format!("roll back the unfinished {} of {}", j.command, j.started)),
        forced: false,
        upstream: None,
        snapshot_tag: None,
        undoes: Some(j.backup.clone()),
        recovering: Some(j),
    })
}

/// The plan that moves `head` back to `target`, replaying `newer` on top.
fn undo_plan(
    repo: &Repo,
    overlay: &Overlay<'_, Repo>,
    head: HeadBranch,
    target: Oid,
    undoes: Option<String>,
    newer: &[Oid],
) -> Result<Plan> {
    let target_tree = repo.commit_tree_and_time(target)?.0;
    let (change, new_tree) = if newer.is_empty() {
        (Change::Existing(target), target_tree)
    } else {
        replay_newer(repo, overlay, target, target_tree, newer)?
    };
    Ok(Plan {
        kind: Kind::Undo,
        old_tree: repo.commit_tree_and_time(head.oid)?.0,
        branch: head,
        change,
        new_tree,
        removed: Vec::new(),
        reason: Some(match &undoes {
            Some(b) => format!("take back {}", b.trim_start_matches(BACKUP_PREFIX)),
            None => format!("back to {target}"),
        }),
        forced: false,
        upstream: None,
        snapshot_tag: None,
        recovering: None,
        undoes,
    })
}

/// Cherry-picks `newer` onto `target` in memory, as `git cherry-pick` would;
/// refuses on a conflict or a merge commit.
fn replay_newer(
    repo: &Repo,
    overlay: &Overlay<'_, Repo>,
    target: Oid,
    target_tree: Oid,
    newer: &[Oid],
) -> Result<(Change, Oid)> {
    let mut locals = Vec::with_capacity(newer.len());
    for &oid in newer {
        let c = repo.commit(oid)?;
        let parent_tree = match c.parents.first() {
            Some(&p) => Some(repo.commit_tree_and_time(p)?.0),
            None => None,
        };
        locals.push(LocalChange {
            oid,
            tree: c.tree,
            parent_tree,
            change_id: None,
            is_merge: c.parents.len() > 1,
            label_subject: c.sequencer_subject(),
        });
    }
    let (picks, new_tree) = replay(repo, overlay, target_tree, &locals, &[Skip::No].repeat(locals.len()), false)?;
    let mut commits = Vec::new();
    for (pick, local) in picks.iter().zip(&locals) {
        match (&pick.outcome, pick.tree) {
            (PickOutcome::Applies, Some(tree)) => commits.push(PlannedCommit { original: pick.commit, tree }),
            (PickOutcome::BecomesEmpty, _) => {}
            (PickOutcome::MergeCommit, _) => {
                return Err(Error::Usage(format!(
                    "undo --keep-newer refused, nothing was changed: {} is a merge commit; use git by hand, or --force",
                    short_id(local.oid)
                )));
            }
            (outcome, _) => {
                return Err(Error::Usage(format!(
                    "undo --keep-newer refused, nothing was changed: {} {} would not apply on the restored tip ({}); use --force to leave it in a backup",
                    short_id(local.oid),
                    terminal_short(&local.label_subject, 60),
                    outcome.as_str()
                )));
            }
        }
    }
    Ok((Change::Commits { base: target, commits }, new_tree))
}

/// A backup by full ref name or by its name under `refs/betadrift/backup/`.
fn find_backup(repo: &Repo, spec: &str) -> Result<Backup> {
    let all = backups(repo)?;
    let mut found: Vec<Backup> = all
        .into_iter()
        .filter(|b| b.name == spec || b.name.trim_start_matches(BACKUP_PREFIX) == spec || b.name.ends_with(spec))
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::Usage(format!(
            "no backup named {}; `betadrift undo --list` shows them",
            terminal_short(spec.as_bytes(), 80)
        ))),
        n => Err(Error::Usage(format!(
            "{} names {n} backups; give the full name from `betadrift undo --list`",
            terminal_short(spec.as_bytes(), 80)
        ))),
    }
}
