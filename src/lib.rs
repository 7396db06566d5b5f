//! betadrift: the drift between a puppetmaster's checkout and its upstream,
//! and safe ways to reduce it.
//!
//! The binary in `main.rs` only parses arguments and turns the result of
//! [`run`] into an exit code; everything else lives in this library so that
//! tests can drive it without spawning processes.

pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod consent;
pub mod culprits;
pub mod demo;
pub mod drop;
pub mod error;
pub mod fsutil;
pub mod ledger;
pub mod lock;
pub mod merge;
pub mod message;
pub mod objects;
pub mod pack;
pub mod patchid;
pub mod policy;
pub mod predict;
pub mod progress;
pub mod prune;
pub mod renames;
pub mod repo;
pub mod report;
pub mod rewrite;
pub mod sanitize;
pub mod scenario;
pub mod selector;
pub mod snapshots;
pub mod stack;
pub mod status;
pub mod sync;
pub mod target;
pub mod timing;
pub mod undo;
pub mod upstream;
pub mod xdiff;

use std::io::{BufRead, IsTerminal, Write};

use cli::{Cli, Command};
use clock::Clock;
use config::Config;
use error::{Error, Result};
use rewrite::Kind;

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

/// Runs one command line, writing results to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<Outcome> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Status(args) => {
            let clock = Clock::from_args(cli.now.as_deref())?;
            let target = target::Target::open(args.repo.repo.as_deref(), &args.repo.upstream_args(), &config)?;
            let status = status::Status::gather(&target, &config, clock)?;
            if args.json {
                write_json(out, &status::to_wire(&status, &config.links))?;
            } else {
                status::render_text(&status, out).map_err(stdout_error)?;
            }
            exit_without_freeing((target, status));
            Ok(Outcome::Clean)
        }
        Command::Check(args) => {
            let target = target::Target::open(args.repo.repo.as_deref(), &args.repo.upstream_args(), &config)?;
            let report = check::check(&target, &config, args.each)?;
            if args.json {
                write_json(out, &check::to_wire(&report))?;
            } else {
                check::render_text(&report, out).map_err(stdout_error)?;
            }
            let outcome = if report.has_stops() { Outcome::Findings } else { Outcome::Clean };
            exit_without_freeing((target, report));
            Ok(outcome)
        }
        Command::Report(args) => {
            let clock = Clock::from_args(cli.now.as_deref())?;
            report::run(&args, &config, clock, out)
        }
        Command::Sync(args) => {
            let clock = Clock::from_args(cli.now.as_deref())?;
            let options = sync::SyncOptions {
                fetch: args.fetch,
                drop_merged: args.drop_merged,
                dry_run: args.dry_run,
                lock_wait: std::time::Duration::from_secs(args.lock_wait),
            };
            sync::run(args.repo.repo.as_deref(), &args.repo.upstream_args(), &config, clock, &options, out)
        }
        Command::Drop(args) => {
            let session = drop::Session::from_args(&args.repo, &config, cli.now.as_deref(), Kind::Drop)?;
            drop::run(&session, &args.patches, &drop::DropOptions::from(&args), out)
        }
        Command::Prune(args) => {
            let session = drop::Session::from_args(&args.repo, &config, cli.now.as_deref(), Kind::Prune)?;
            let mut ask = ask_on_terminal;
            let confirm = match (args.yes, std::io::stdin().is_terminal()) {
                (true, _) => prune::Confirm::Yes,
                (false, true) => prune::Confirm::Ask(&mut ask),
                (false, false) => prune::Confirm::Refuse,
            };
            prune::run(&session, &prune::PruneOptions::from(&args), confirm, out)
        }
        Command::Undo(args) => {
            if args.list {
                undo::list(args.repo.as_deref(), &config, out)?;
            } else {
                let clock = Clock::from_args(cli.now.as_deref())?;
                let wait = std::time::Duration::from_secs(args.lock_wait);
                undo::run(args.repo.as_deref(), args.backup.as_deref(), &config, clock, args.dry_run, wait, out)?;
            }
            Ok(Outcome::Clean)
        }
        Command::Consent(args) => {
            consent::run(args, &config, cli.now.as_deref(), out)?;
            Ok(Outcome::Clean)
        }
        Command::Demo(args) => {
            // --now or BETADRIFT_NOW, else the demo's own fixed time.
            let given = cli.now.is_some() || std::env::var_os(crate::clock::NOW_ENV).is_some_and(|v| !v.is_empty());
            let clock = if given { Some(Clock::from_args(cli.now.as_deref())?) } else { None };
            demo::run(args.dir.as_deref(), clock, &config, out)?;
            Ok(Outcome::Clean)
        }
    }
}

/// Asks a yes/no question on the terminal: the question on standard error,
/// the answer from standard input; only `y` or `yes` mean yes.
fn ask_on_terminal(question: &str) -> Result<bool> {
    eprint!("{question}");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| Error::io("reading", "standard input", e))?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// Leaves a read-only command's caches (thousands of parsed trees) to the
/// operating system instead of freeing them one by one as the process
/// ends: measurably faster on large histories, and nothing is lost.
fn exit_without_freeing<T>(value: T) {
    std::mem::forget(value);
}

/// Writes a JSON document and a newline.
pub fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| stdout_error(e.into()))?;
    writeln!(out).map_err(stdout_error)
}

/// An error writing to standard output.
pub fn stdout_error(e: std::io::Error) -> Error {
    Error::io("writing", "standard output", e)
}
