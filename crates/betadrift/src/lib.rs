//! betadrift: the drift between a puppetmaster's checkout and its upstream,
//! and safe ways to reduce it.
//!
//! The binary in `main.rs` only parses arguments and turns the result of
//! [`run`] into an exit code; everything else lives in this library so that
//! tests can drive it without spawning processes.

pub mod commands;
pub mod config;
pub mod consent;
pub mod error;
pub mod git;
pub mod model;
pub mod output;
pub mod overview;
pub mod rebase;
pub mod rewrite;
pub mod scenario;
pub mod support;

use std::io::{BufRead, IsTerminal, Write};

use commands::{Cli, Command};
use config::Config;
use error::{Error, Result};
use rewrite::Kind;
use support::clock::Clock;

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
            let target = git::checkout::Checkout::open(args.repo.repo.as_deref(), &args.repo.upstream_args(), &config)?;
            let status = overview::status::Status::gather(&target, &config, clock)?;
            if args.json {
                write_json(out, &overview::status::to_wire(&status, &config.links))?;
            } else {
                overview::status::render_text(&status, out).map_err(stdout_error)?;
            }
            exit_without_freeing((target, status));
            Ok(Outcome::Clean)
        }
        Command::Check(args) => {
            let target = git::checkout::Checkout::open(args.repo.repo.as_deref(), &args.repo.upstream_args(), &config)?;
            let report = rebase::check::check(&target, &config, args.each)?;
            if args.json {
                write_json(out, &rebase::check::to_wire(&report))?;
            } else {
                rebase::check::render_text(&report, out).map_err(stdout_error)?;
            }
            let outcome = if report.has_stops() { Outcome::Findings } else { Outcome::Clean };
            exit_without_freeing((target, report));
            Ok(outcome)
        }
        Command::Report(args) => {
            let clock = Clock::from_args(cli.now.as_deref())?;
            overview::report::run(&args, &config, clock, out)
        }
        Command::Sync(args) => {
            let clock = Clock::from_args(cli.now.as_deref())?;
            let options = commands::sync::SyncOptions {
                fetch: args.fetch,
                drop_merged: args.drop_merged,
                dry_run: args.dry_run,
                lock_wait: std::time::Duration::from_secs(args.lock_wait),
            };
            commands::sync::run(args.repo.repo.as_deref(), &args.repo.upstream_args(), &config, clock, &options, out)
        }
        Command::Drop(args) => {
            let session = commands::drop::Session::from_args(&args.repo, &config, cli.now.as_deref(), Kind::Drop)?;
            commands::drop::run(&session, &args.patches, &commands::drop::DropOptions::from(&args), out)
        }
        Command::Prune(args) => {
            let session = commands::drop::Session::from_args(&args.repo, &config, cli.now.as_deref(), Kind::Prune)?;
            let mut ask = ask_on_terminal;
            let confirm = match (args.yes, std::io::stdin().is_terminal()) {
                (true, _) => commands::prune::Confirm::Yes,
                (false, true) => commands::prune::Confirm::Ask(&mut ask),
                (false, false) => commands::prune::Confirm::Refuse,
            };
            commands::prune::run(&session, &commands::prune::PruneOptions::from(&args), confirm, out)
        }
        Command::Undo(args) => {
            if args.list {
                commands::undo::list(args.repo.as_deref(), &config, out)?;
            } else {
                let clock = Clock::from_args(cli.now.as_deref())?;
                let wait = std::time::Duration::from_secs(args.lock_wait);
                commands::undo::run(
                    args.repo.as_deref(),
                    args.backup.as_deref(),
                    &config,
                    clock,
                    args.dry_run,
                    wait,
                    out,
                )?;
            }
            Ok(Outcome::Clean)
        }
        Command::Consent(args) => {
            commands::consent::run(args, &config, cli.now.as_deref(), out)?;
            Ok(Outcome::Clean)
        }
        Command::Demo(args) => {
            // --now or BETADRIFT_NOW, else the demo's own fixed time.
            let given =
                cli.now.is_some() || std::env::var_os(crate::support::clock::NOW_ENV).is_some_and(|v| !v.is_empty());
            let clock = if given { Some(Clock::from_args(cli.now.as_deref())?) } else { None };
            commands::demo::run(args.dir.as_deref(), clock, &config, out)?;
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
