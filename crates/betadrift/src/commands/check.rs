//! `betadrift check`: what `git rebase` onto upstream will do, patch by
//! patch, predicted in memory; where it stops, the hunks and the upstream
//! commits they collide with, and how far upstream the stack could go
//! (`sync --as-far-as-possible`). Read-only.

use std::io::Write;

use super::{Context, Outcome, RepoArgs, exit_without_freeing};
use crate::error::{Error, Result};
use crate::output::check::render_text;
use crate::output::held_back::write_text as write_held_back;
use crate::output::json::check::to_wire;
use crate::output::write_json;
use crate::rebase::check::check;
use crate::rebase::forward::held_back;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Print JSON (schema in docs/json.md) instead of text
    #[arg(long)]
    pub json: bool,

    /// Also try every patch alone on upstream, to tell which stops an earlier patch causes
    #[arg(long)]
    pub each: bool,
}

/// Runs `betadrift check`: exit 1 when the rebase will stop.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let checkout = args.repo.open(&ctx.config)?;
    let state = crate::rewrite::state_dir(&checkout.repo, &ctx.config, &checkout.name());
    if let Some(u) = crate::rewrite::Unfinished::find(&checkout.repo, &state)? {
        eprintln!("betadrift: warning: {}", crate::support::escape::terminal(u.message().as_bytes()));
    }
    let report = check(&checkout, &ctx.config, args.each)?;
    let held = if report.has_stops() {
        held_back(&checkout.repo, &report.stack, &[], &report.prediction, &report.culprit_commits())?
    } else {
        None
    };
    if args.json {
        let mut wire = to_wire(&report);
        wire.held_back = held.as_ref().map(|h| crate::output::json::held_back::held_back(h, &report.stack));
        write_json(out, &wire)?;
    } else {
        render_text(&report, out).map_err(Error::stdout)?;
        if let Some(held) = &held {
            writeln!(out).map_err(Error::stdout)?;
            write_held_back(held, &report.stack, out).map_err(Error::stdout)?;
        }
    }
    let outcome = if report.has_stops() { Outcome::Findings } else { Outcome::Clean };
    exit_without_freeing((checkout, report));
    Ok(outcome)
}
