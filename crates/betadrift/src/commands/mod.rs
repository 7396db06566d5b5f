//! The command line: one `Args` struct per subcommand. Doc comments here are
//! the `--help` text.

pub mod consent;
pub mod demo;
pub mod drop;
pub mod prune;
pub mod sync;
pub mod undo;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::git::checkout::UpstreamArgs;

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
    Status(StatusArgs),
    /// Predict what `git rebase` onto upstream will do, without touching anything
    ///
    /// Exit status: 0 if the rebase will be clean, 1 if it will stop on a
    /// conflict, 2 on error.
    Check(CheckArgs),
    /// Report status, predicted conflicts, stale patches and suggested actions
    /// of every configured repository, for people and monitoring
    ///
    /// Run by a timer next to the sync. Records first-seen times of new
    /// patches in the state directory; changes nothing in the repositories.
    /// Exit status: 0, or 1 if a --fail-on condition holds, or 2 if a
    /// repository could not be read (after writing everything else).
    Report(ReportArgs),
    /// Rebase the stack onto upstream if, and only if, it will go through cleanly
    ///
    /// Replaces git-sync-upstream. Exit status: 0 synced (or nothing to do),
    /// 1 refused because a patch would stop on a conflict (nothing changed),
    /// 2 on error.
    Sync(SyncArgs),
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
    Drop(DropArgs),
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
    Prune(PruneArgs),
    /// Put the branch back to a backup ref, or roll back an interrupted rewrite
    Undo(UndoArgs),
    /// Build a realistic demo puppetmaster and show its status
    Demo(DemoArgs),
    /// Record, list and explain who agreed that which local patches may be removed
    ///
    /// A patch's decision comes from the most specific source: a rule for its
    /// Change-Id, then its own Uncherry-Pick: trailer, then a rule for one of
    /// its tasks (the strictest), its author, the default rule, and last the
    /// built-in `ask`. Rules live in the repository's policy file (see
    /// docs/consent.md); these commands change nothing else.
    Consent(ConsentArgs),
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
    /// The upstream part, for target resolution.
    pub fn upstream_args(&self) -> UpstreamArgs {
        UpstreamArgs {
            rev: self.upstream.clone(),
            sha_file: self.upstream_sha_file.clone(),
            sha_url: self.upstream_sha_url.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Print JSON (schema in docs/json.md) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Print JSON (schema in docs/json.md) instead of text
    #[arg(long)]
    pub json: bool,

    /// Also try every patch alone on upstream, to tell which stops an earlier patch causes
    #[arg(long)]
    pub each: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Output format [default: from the --output file's extension, else text]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<crate::overview::report::Format>,

    /// Write to this file (atomically) instead of standard output; may repeat,
    /// each file's extension (.txt .md .json .html .prom) naming its format
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Vec<PathBuf>,

    /// Exit 1 when this holds in any repository; may repeat or take a comma list
    #[arg(long, value_enum, value_delimiter = ',', value_name = "WHAT")]
    pub fail_on: Vec<crate::overview::report::FailOn>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Fetch the branch's remote first
    #[arg(long)]
    pub fetch: bool,

    /// Drop patches whose Change-Id upstream has merged instead of letting them block
    #[arg(long)]
    pub drop_merged: bool,

    /// Show what would happen and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Seconds to wait for another betadrift working on the same repository
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub lock_wait: u64,
}

#[derive(Debug, Args)]
pub struct DropArgs {
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

    /// Show the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Seconds to wait for another betadrift working on the same repository
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub lock_wait: u64,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Remove the patches upstream has merged
    #[arg(long)]
    pub merged: bool,

    /// Remove the patches older than DURATION (30d, 2w, …) whose consent allows removal
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub stale: Option<jiff::SignedDuration>,

    /// Do not ask: go ahead (for timers)
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Show the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Seconds to wait for another betadrift working on the same repository
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub lock_wait: u64,
}

fn parse_duration_arg(text: &str) -> Result<jiff::SignedDuration, String> {
    crate::support::clock::parse_duration(text)
}

#[derive(Debug, Args)]
pub struct UndoArgs {
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

#[derive(Debug, Args)]
pub struct ConsentArgs {
    #[command(subcommand)]
    pub command: ConsentCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Record a decision for a change, task, author or the default (replacing the rule there was)
    ///
    /// DECISION is allow, ask, never, or after DURATION (as one word or two:
    /// `after 30d`, `"after 2w"`). The rule records who set it ($SUDO_USER,
    /// else $USER) and when.
    Set(ConsentSetArgs),
    /// List the rules, most specific first, with who set them, when and why
    List(ConsentListArgs),
    /// Remove the rule for a change, task, author or the default
    ///
    /// Exit status 2 if there is no such rule.
    Remove(ConsentRemoveArgs),
    /// Say which decision applies to patches and why, which rules lost, and whether removal is allowed now
    Explain(ConsentExplainArgs),
}

/// Which checkout's policy file to use.
#[derive(Debug, Clone, Args)]
pub struct CheckoutArgs {
    /// The checkout [default: the repository containing the current directory]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
}

/// Which patches a rule covers: exactly one of these.
#[derive(Debug, Clone, Args)]
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

#[derive(Debug, Args)]
pub struct ConsentSetArgs {
    #[command(flatten)]
    pub checkout: CheckoutArgs,

    #[command(flatten)]
    pub scope: ScopeArgs,

    /// allow, ask, never, or after DURATION (e.g. after 30d)
    #[arg(value_name = "DECISION", required = true, num_args = 1..=2)]
    pub decision: Vec<String>,

    /// Why, for whoever reads the policy later (e.g. the task comment that granted it)
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConsentListArgs {
    #[command(flatten)]
    pub checkout: CheckoutArgs,

    /// Print JSON (schema in docs/consent.md) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ConsentRemoveArgs {
    #[command(flatten)]
    pub checkout: CheckoutArgs,

    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(Debug, Args)]
pub struct ConsentExplainArgs {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// The patches: a position (3 or #3), a commit id prefix, a Change-Id (or a unique prefix), or a task (T123456)
    #[arg(value_name = "PATCH")]
    pub patch: String,

    /// Print JSON (schema in docs/consent.md) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to build the demo [default: a new temporary directory]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
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
