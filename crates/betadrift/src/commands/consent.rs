//! `betadrift consent`: record, list, remove and explain consent rules.
//!
//! A policy only helps if the people who grant consent can write it down
//! without learning the file format, and if anyone about to remove a patch
//! can see what the policy means for that patch. These subcommands do both.
//! `set` and `remove` write the repository's policy file (atomically, keeping
//! hand edits) and nothing else; `list` and `explain` write nothing.

use std::io::Write;
use std::path::PathBuf;

use super::{CheckoutArgs, Context, Outcome, RepoArgs};
use crate::config::Config;
use crate::consent::explain::Explained;
use crate::consent::{Decision, Policy, Rule, Scope, current_user};
use crate::error::{Error, Result};
use crate::output::consent::{render_explained, render_list, safe, shown};
use crate::output::json::consent::{self as wire, SCHEMA_VERSION, lossy_path};
use crate::output::write_json;
use crate::support::clock::Clock;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Record a decision for a change, task, author or the default (replacing the rule there was)
    ///
    /// DECISION is allow, ask, never, or after DURATION (as one word or two:
    /// `after 30d`, `"after 2w"`), or after-task-closed / after-change-abandoned
    /// (removal allowed once Phabricator says every linked task is closed, or
    /// Gerrit that the change is abandoned; only where `--online` asked them:
    /// an unknown state never allows it). The rule records who set it
    /// ($SUDO_USER, else $USER) and when.
    Set(SetArgs),
    /// List the rules, most specific first, with who set them, when and why
    List(ListArgs),
    /// Remove the rule for a change, task, author or the default
    ///
    /// Exit status 2 if there is no such rule.
    Remove(RemoveArgs),
    /// Say which decision applies to patches and why, which rules lost, and whether removal is allowed now
    Explain(ExplainArgs),
}

/// Which patches a rule covers: exactly one of these.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct ScopeArgs {
    /// Patches with this Gerrit Change-Id (the full I… of the Change-Id: trailer)
    #[arg(long, value_name = "ID")]
    pub change: Option<String>,

    /// Patches that name this Phabricator task (T123456)
    #[arg(long, value_name = "TASK")]
    pub task: Option<String>,

    /// Patches by this author (email address, as .mailmap maps it)
    #[arg(long, value_name = "EMAIL")]
    pub author: Option<String>,

    /// Every patch that no other rule or trailer covers
    #[arg(long)]
    pub default: bool,
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    #[command(flatten)]
    pub checkout: CheckoutArgs,

    #[command(flatten)]
    pub scope: ScopeArgs,

    /// allow, ask, never, after DURATION (e.g. after 30d), after-task-closed or after-change-abandoned
    #[arg(value_name = "DECISION", required = true, num_args = 1..=2)]
    pub decision: Vec<String>,

    /// Why, for whoever reads the policy later (e.g. the task comment that granted it)
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub checkout: CheckoutArgs,

    /// Print JSON (schema in docs/consent.md) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    #[command(flatten)]
    pub checkout: CheckoutArgs,

    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// The patches: a position (3 or #3), a commit id prefix, a Change-Id (or a unique prefix), or a task (T123456)
    #[arg(value_name = "PATCH")]
    pub patch: String,

    /// Print JSON (schema in docs/consent.md) instead of text
    #[arg(long)]
    pub json: bool,
}

/// Runs one `consent` subcommand.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let config = &ctx.config;
    match &args.command {
        Command::Set(a) => set(a, config, ctx.clock()?, out),
        Command::List(a) => list(a, config, out),
        Command::Remove(a) => remove(a, config, out),
        Command::Explain(a) => explain(a, config, ctx.clock()?, out),
    }?;
    Ok(Outcome::Clean)
}

/// The policy file of the checkout at `repo` (or the current directory).
pub fn policy_file(checkout: &CheckoutArgs, config: &Config) -> Result<PathBuf> {
    let repo = crate::git::checkout::open_repo(checkout.repo.as_deref())?;
    let repo_config = repo.workdir().and_then(|w| config.repository_for(w));
    Ok(config.state.policy_for(repo.git_dir(), &crate::git::checkout::repo_name(&repo, repo_config)))
}

/// The scope named on the command line; clap ensures exactly one is given.
fn scope_of(args: &ScopeArgs) -> Result<Scope> {
    let usage = |flag: &'static str| move |e: String| Error::Usage(format!("{flag}: {e}"));
    match (&args.change, &args.task, &args.author) {
        (Some(id), _, _) => Scope::change(id).map_err(usage("--change")),
        (_, Some(task), _) => Scope::task(task).map_err(usage("--task")),
        (_, _, Some(email)) => Scope::author(email).map_err(usage("--author")),
        _ => Ok(Scope::Default),
    }
}

fn set(args: &SetArgs, config: &Config, clock: Clock, out: &mut dyn Write) -> Result<()> {
    let scope = scope_of(&args.scope)?;
    let decision: Decision =
        args.decision.join(" ").parse().map_err(|e: String| Error::Usage(format!("DECISION: {e}")))?;
    let path = policy_file(&args.checkout, config)?;
    let mut policy = Policy::load(&path)?;
    let note = args.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    let rule = Rule { scope, decision, set_by: current_user(), set_at: clock.now, note };
    let was = match policy.set(rule.clone()) {
        Some(old) => format!("was {}", old.decision),
        None => "new rule".to_owned(),
    };
    policy.save(&path)?;
    writeln!(out, "{}: {} ({was}); saved in {}", safe(&rule.scope.to_string()), rule.decision, shown(&path))
        .map_err(Error::stdout)
}

fn remove(args: &RemoveArgs, config: &Config, out: &mut dyn Write) -> Result<()> {
    let scope = scope_of(&args.scope)?;
    let path = policy_file(&args.checkout, config)?;
    let mut policy = Policy::load(&path)?;
    let Some(old) = policy.get(&scope).cloned() else {
        return Err(Error::Usage(format!(
            "no consent rule for {scope} in {}; `betadrift consent list` shows the rules",
            path.display()
        )));
    };
    policy.remove(&scope);
    policy.save(&path)?;
    writeln!(out, "{}: removed (was {}); saved in {}", safe(&scope.to_string()), old.decision, shown(&path))
        .map_err(Error::stdout)
}

fn list(args: &ListArgs, config: &Config, out: &mut dyn Write) -> Result<()> {
    let path = policy_file(&args.checkout, config)?;
    let policy = Policy::load(&path)?;
    let rules = policy.rules_by_precedence();
    if args.json {
        let rules = rules.into_iter().map(wire::Rule::from).collect();
        return write_json(out, &wire::List { schema_version: SCHEMA_VERSION, policy_file: lossy_path(&path), rules });
    }
    render_list(&path, &rules, out).map_err(Error::stdout)
}

fn explain(args: &ExplainArgs, config: &Config, clock: Clock, out: &mut dyn Write) -> Result<()> {
    let checkout = args.repo.open(config)?;
    let path = checkout.policy_file(config);
    let policy = Policy::load(&path)?;
    let stack = crate::model::ledger::load_dated(&checkout, config, clock.now)?;
    let indices = crate::model::selector::resolve(&stack, &args.patch)?;
    let explained: Vec<Explained> =
        indices.iter().map(|&i| Explained::of(&policy, &stack.patches[i], clock.now)).collect();
    if args.json {
        return write_json(out, &wire::explain(&explained, &path, &args.patch, clock.now));
    }
    for (i, e) in explained.iter().enumerate() {
        if i > 0 {
            writeln!(out).map_err(Error::stdout)?;
        }
        render_explained(e, clock.now, out).map_err(Error::stdout)?;
    }
    Ok(())
}
