//! `betadrift status`: the local patches, how long each has been on the
//! checkout, what upstream has of them, their consent, and uncommitted files.
//! Read-only.

use std::io::Write;

use super::{Context, Outcome, RepoArgs, exit_without_freeing};
use crate::error::{Error, Result};
use crate::output::json::status::to_wire;
use crate::output::status::render_text;
use crate::output::write_json;
use crate::overview::status::{Online, Status};
use crate::support::escape::terminal;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Print JSON (schema in docs/json.md) instead of text
    #[arg(long)]
    pub json: bool,

    /// When the rebase would stop, also say where the stack is held back
    /// (the search `check` and `report` always make; it takes longer)
    #[arg(long)]
    pub held_back: bool,

    /// Ask Gerrit for each change's live state and Phabricator for each
    /// task's (cached; default: [gerrit] online, [phabricator] online)
    #[arg(long)]
    pub online: bool,
}

/// Runs `betadrift status`.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let clock = ctx.clock()?;
    let checkout = args.repo.open(&ctx.config)?;
    let online = Online::of(&ctx.config, args.online);
    let status = Status::gather_online(&checkout, &ctx.config, clock, args.held_back, online)?;
    let gerrit = status.live.as_ref().and_then(|l| l.warning.as_deref());
    for warning in gerrit.into_iter().chain(status.tasks.as_ref().and_then(|t| t.warning.as_deref())) {
        eprintln!("betadrift: warning: {}", terminal(warning.as_bytes()));
    }
    if args.json {
        write_json(out, &to_wire(&status, &ctx.config.links))?;
    } else {
        render_text(&status, out).map_err(Error::stdout)?;
    }
    exit_without_freeing((checkout, status));
    Ok(Outcome::Clean)
}
