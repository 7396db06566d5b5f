//! The command line and the commands: one file per command, each owning its
//! clap `Args` and one `run(ctx, args, out) -> Result<Outcome>` (as jj's
//! `cli/src/commands/` do). Doc comments on `Args` are the `--help` text.
//!
//! A command opens what it needs through the layers below, asks the domain
//! for its answer and hands it to `output` to print; nothing here decides
//! what git would do or how a finding is worded.

pub mod check;
pub mod completions;
pub mod consent;
pub mod demo;
pub mod drop;
pub mod pick;
pub mod post_update;
pub mod prune;
pub mod report;
pub mod resolve;
pub mod status;
pub mod sync;
pub mod undo;

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::checkout::{Checkout, UpstreamArgs};
use crate::support::clock::Clock;

/// Drift reports, rebase prediction and safe un-cherry-picking for
/// puppetmaster checkouts that carry local patches on top of upstream.
#[derive(Debug, Parser)]
#[command(name = "betadrift", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Configuration file [default: $BETADRIFT_CONFIG, else /etc/betadrift/config.toml if present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Treat this RFC 3339 time as now, for reproducible output [env: BETADRIFT_NOW]
    #[arg(long, global = true, value_name = "TIME")]
    pub now: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the local patches, how old they are, and what upstream has of them
    Status(status::Args),
    /// Predict what `git rebase` onto upstream will do, without touching anything
    ///
    /// Exit status: 0 if the rebase will be clean, 1 if it will stop on a
    /// conflict, 2 on error.
    Check(check::Args),
    /// Report status, predicted conflicts, stale patches and suggested actions
    /// of every configured repository, for people and monitoring
    ///
    /// Run by a timer next to the sync. Records first-seen times of new
    /// patches in the state directory; changes nothing in the repositories.
    /// Exit status: 0, or 1 if a --fail-on condition holds, or 2 if a
    /// repository could not be read (after writing everything else).
    Report(report::Args),
    /// Rebase the stack onto upstream if, and only if, it will go through cleanly
    ///
    /// Replaces git-sync-upstream. Exit status: 0 synced (or nothing to do),
    /// 1 refused because a patch would stop on a conflict (nothing changed),
    /// 2 on error.
    Sync(sync::Args),
    /// Remove local patches from the stack, as `git rebase --onto X^ X` would, safely
    ///
    /// Prints the plan first: the patches removed (with their consent), the
    /// ones kept as they are and the ones replayed onto the new base. A
    /// remaining patch that would conflict without a removed one depends on
    /// it: drop refuses and names it, unless --with-dependents. Every removed
    /// patch needs its consent policy to allow removal now (see `betadrift
    /// consent`), unless --force --reason TEXT. The rewrite takes the
    /// repository lock, keeps the old tip under refs/betadrift/backup/,
    /// appends an audit-log line, moves the branch only if nobody else did,
    /// updates only the changed files and runs the post-update command;
    /// `betadrift undo` puts it back.
    ///
    /// Exit status: 0 dropped (with --dry-run: would drop), 1 refused because
    /// a remaining patch depends on a removed one (nothing changed), 2 on
    /// error or refusal (no consent, dirty tree, git operation in progress,
    /// unknown or ambiguous patch). See docs/drop.md.
    Drop(drop::Args),
    /// Remove the patches upstream already has and the stale ones whose consent allows it
    ///
    /// Candidates: with --merged, patches upstream has merged (as the same
    /// or another patchset; not merged-then-reverted ones); with --stale, the
    /// patches on the checkout longer than DURATION whose consent policy
    /// allows removal now. With neither: both, stale meaning [stale] after
    /// in the config (30d by default). Merged patches need no consent. A
    /// candidate whose removal would make another patch conflict is kept.
    /// Asks before rewriting on a terminal; elsewhere --yes is required.
    ///
    /// Exit status: 0 pruned (with --dry-run: would prune), nothing to prune,
    /// or not confirmed; 2 on error or refusal. See docs/drop.md.
    Prune(prune::Args),
    /// Take back the last rewrite of this branch, or roll back an interrupted one
    ///
    /// Refuses if commits were made on the branch after the rewrite (it lists
    /// them): --keep-newer replays them on the restored tip, --force leaves
    /// them in undo's own backup. A second undo takes back the rewrite before;
    /// re-applying an undone rewrite means naming the undo's backup (see --list).
    Undo(undo::Args),
    /// Resolve a stop with git in a scratch worktree, then land the result safely
    ///
    /// Creates a scratch worktree (never the live checkout), runs the real
    /// `git rebase` there onto upstream (or, with --next-stop, onto the
    /// upstream commit that makes the next patch stop) and leaves you at
    /// git's own conflict, saying what conflicts, why and what to run next.
    /// After `git rebase --continue` there, `betadrift resolve --continue`
    /// verifies the result (no conflict markers, every patch there unless
    /// --drop names it) and lands it as `sync` would: lock, backup ref,
    /// journal, compare-and-swap on the old tip, working-tree update,
    /// post-update command, audit line. `--abort` removes the scratch
    /// worktree. While a resolution is in progress, sync, drop and prune
    /// refuse.
    ///
    /// Exit status: 0 the rebase ran through (or landed, or aborted), 1 git
    /// stopped and there are conflicts to resolve, 2 on error or refusal.
    /// See docs/sync.md.
    Resolve(resolve::Args),
    /// Run the post-update command again, after it failed or was interrupted
    PostUpdate(post_update::Args),
    /// Cherry-pick a Gerrit patchset onto the checkout, recording who may remove it
    ///
    /// CHANGE is a change number, a Change-Id or a change URL, with
    /// /PATCHSET for one patchset (default: the newest). The patchset is
    /// fetched with git from [gerrit] fetch_url (default: [gerrit] url and
    /// project), its cherry-pick predicted in memory (refused, with the
    /// conflict explained, if it would stop), and an older patchset of the
    /// same change in the stack is replaced in place, the patches above it
    /// cherry-picked again. The rewrite is drop's: lock, backup ref,
    /// journal, audit line, compare-and-swap, post-update command; `betadrift
    /// undo` puts it back. The consent decision (--consent, else [pick]
    /// consent, else asked on a terminal) is recorded for the change.
    /// --update replaces every local patch whose change has a newer patchset.
    ///
    /// Exit status: 0 picked (with --dry-run: would pick) or nothing to do,
    /// 1 refused because a commit would stop on a conflict (nothing
    /// changed), 2 on error or refusal. See docs/gerrit.md.
    Pick(pick::Args),
    /// Build a realistic demo puppetmaster and show its status
    Demo(demo::Args),
    /// Record, list and explain who agreed that which local patches may be removed
    ///
    /// A patch's decision comes from the most specific source: a rule for its
    /// Change-Id, then its own Uncherry-Pick: trailer, then a rule for one of
    /// its tasks (the strictest), its author, the default rule, and last the
    /// built-in `ask`. Rules live in the repository's policy file (see
    /// docs/consent.md); these commands change nothing else.
    Consent(consent::Args),
    /// Print the shell completion script for bash, zsh, fish, elvish or PowerShell
    Completions(completions::Args),
}

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report (exit 0).
    Clean,
    /// The command worked, found what the user asked to be told about and
    /// changed nothing (exit 1): a predicted rebase stop (`check`, and `sync`,
    /// which then refuses), a remaining patch that would conflict (`drop`,
    /// which then refuses), a `--fail-on` match (`report`).
    Findings,
}

impl Outcome {
    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::Findings => 1,
        }
    }
}

/// What every command gets besides its own arguments: the configuration and
/// the instant it treats as now.
#[derive(Debug)]
pub struct Context {
    pub config: Config,
    now: Option<String>,
}

impl Context {
    /// Loads the configuration the command line names (or the default one).
    pub fn new(config: Option<&std::path::Path>, now: Option<String>) -> Result<Context> {
        Ok(Context { config: Config::load(config)?, now })
    }

    /// The clock: `--now`, else `$BETADRIFT_NOW`, else the system clock.
    pub fn clock(&self) -> Result<Clock> {
        Clock::from_args(self.now.as_deref())
    }

    /// The clock `--now` or `$BETADRIFT_NOW` fixes, if either does.
    pub fn given_clock(&self) -> Result<Option<Clock>> {
        Clock::given(self.now.as_deref())
    }
}

/// Runs one command line, writing results to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<Outcome> {
    // Completions need no configuration: a broken one must not stop them.
    if let Command::Completions(args) = &cli.command {
        return completions::run(args, out);
    }
    let ctx = Context::new(cli.config.as_deref(), cli.now)?;
    crate::support::panics::panic_point("run");
    match &cli.command {
        Command::Status(args) => status::run(&ctx, args, out),
        Command::Check(args) => check::run(&ctx, args, out),
        Command::Report(args) => report::run(&ctx, args, out),
        Command::Sync(args) => sync::run(&ctx, args, out),
        Command::Drop(args) => drop::run(&ctx, args, out),
        Command::Prune(args) => prune::run(&ctx, args, out),
        Command::Undo(args) => undo::run(&ctx, args, out),
        Command::Resolve(args) => resolve::run(&ctx, args, out),
        Command::PostUpdate(args) => post_update::run(&ctx, args, out),
        Command::Pick(args) => pick::run(&ctx, args, out),
        Command::Demo(args) => demo::run(&ctx, args, out),
        Command::Consent(args) => consent::run(&ctx, args, out),
        Command::Completions(args) => completions::run(args, out),
    }
}

/// Which repository and upstream to look at.
#[derive(Debug, Clone, Args)]
pub struct RepoArgs {
    /// The checkout [default: the repository containing the current directory]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,

    /// Compare with this revision instead of the branch's upstream
    #[arg(long, value_name = "REV", conflicts_with_all = ["upstream_sha_file", "upstream_sha_url"])]
    pub upstream: Option<String>,

    /// Compare with the commit named in this file (e.g. puppet-sha1.txt)
    #[arg(long, value_name = "PATH", conflicts_with = "upstream_sha_url")]
    pub upstream_sha_file: Option<PathBuf>,

    /// Compare with the commit served at this URL
    #[arg(long, value_name = "URL")]
    pub upstream_sha_url: Option<String>,
}

impl RepoArgs {
    /// Opens the checkout and resolves its upstream.
    pub fn open(&self, config: &Config) -> Result<Checkout> {
        Checkout::open(self.repo.as_deref(), &self.upstream_args(), config)
    }

    /// The upstream part, for resolving the checkout's upstream.
    pub fn upstream_args(&self) -> UpstreamArgs {
        UpstreamArgs {
            rev: self.upstream.clone(),
            sha_file: self.upstream_sha_file.clone(),
            sha_url: self.upstream_sha_url.clone(),
        }
    }
}

/// Which checkout's policy file to use.
#[derive(Debug, Clone, Args)]
pub struct CheckoutArgs {
    /// The checkout [default: the repository containing the current directory]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
}

/// How the rewrite is confirmed.
pub enum Confirm<'a> {
    /// `--yes`.
    Yes,
    /// Ask this question (on a terminal); true means go ahead.
    Ask(&'a mut dyn FnMut(&str) -> Result<bool>),
    /// Nobody to ask and no `--yes`: refuse.
    Refuse,
}

impl std::fmt::Debug for Confirm<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Confirm::Yes => "Yes",
            Confirm::Ask(_) => "Ask",
            Confirm::Refuse => "Refuse",
        })
    }
}

impl<'a> Confirm<'a> {
    /// `--yes` given, else ask with `ask` on a terminal, else refuse.
    pub fn from_flag(yes: bool, ask: &'a mut dyn FnMut(&str) -> Result<bool>) -> Confirm<'a> {
        use std::io::IsTerminal;
        match (yes, std::io::stdin().is_terminal()) {
            (true, _) => Confirm::Yes,
            (false, true) => Confirm::Ask(ask),
            (false, false) => Confirm::Refuse,
        }
    }

    /// Asks whether to remove `n` patches from the stack's branch, or
    /// refuses when nobody can be asked.
    pub fn confirmed(
        self,
        kind: crate::rewrite::Kind,
        n: usize,
        stack: &crate::model::stack::Stack,
        out: &mut dyn Write,
    ) -> Result<bool> {
        match self {
            Confirm::Yes => Ok(true),
            Confirm::Ask(ask) => {
                out.flush().map_err(Error::stdout)?;
                let branch = crate::support::escape::terminal(stack.head.name.as_bytes());
                ask(&format!("Drop {} from {branch}? [y/N] ", crate::support::words::count(n, "patch")))
            }
            Confirm::Refuse => Err(Error::Usage(format!(
                "{} asks before removing patches and standard input is not a terminal; pass --yes to confirm (as a timer would), nothing was changed",
                kind.as_str()
            ))),
        }
    }
}

/// Asks a yes/no question on the terminal: the question on standard error,
/// the answer from standard input; only `y` or `yes` mean yes.
pub(crate) fn ask_on_terminal(question: &str) -> Result<bool> {
    eprint!("{question}");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| Error::io("reading", "standard input", e))?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// Leaves a read-only command's caches (thousands of parsed trees) to the
/// operating system instead of freeing them one by one as the process
/// ends: measurably faster on large histories, and nothing is lost.
pub(crate) fn exit_without_freeing<T>(value: T) {
    std::mem::forget(value);
}

/// Parses a `--stale`-style duration argument.
pub(crate) fn parse_duration_arg(text: &str) -> std::result::Result<jiff::SignedDuration, String> {
    crate::support::clock::parse_duration(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
