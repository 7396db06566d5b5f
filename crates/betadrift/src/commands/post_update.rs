//! `betadrift post-update`: run the post-update command again.
//!
//! A rewrite keeps its journal until its post-update command (on
//! deployment-prep: the deployment of the new code) has finished. When the
//! command failed, or was interrupted, `status` and `report` say so; this
//! runs it again under the repository lock and clears the record once it
//! succeeds.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::{Context, Outcome};
use crate::error::{Error, Result};
use crate::git::checkout::{open_repo, repo_name};
use crate::rewrite;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The checkout [default: the repository containing the current directory]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,

    /// Seconds to wait for another betadrift working on the same repository
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub lock_wait: u64,
}

/// Runs `betadrift post-update`.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let config = &ctx.config;
    let repo = open_repo(args.repo.as_deref())?;
    let repo_config = repo.workdir().and_then(|w| config.repository_for(w));
    let state = rewrite::state_dir(&repo, config, &repo_name(&repo, repo_config));
    let argv = rewrite::post_update(repo_config, config);
    if argv.is_empty() {
        return Err(Error::Usage(format!(
            "no post-update command is configured for {} (post_update under [sync] or the repository's entry); nothing to run",
            repo.display_path().display()
        )));
    }
    rewrite::rerun_post_update(&repo, &state, &argv, Duration::from_secs(args.lock_wait))?;
    writeln!(out, "post-update command {} finished", crate::support::escape::terminal(argv[0].as_bytes()))
        .map_err(Error::stdout)?;
    Ok(Outcome::Clean)
}
