//! `betadrift demo`: a realistic beta-cluster puppetmaster, built in seconds,
//! so anyone can see every feature on data that looks like the real thing.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Context, Outcome};
use crate::error::{Error, Result};
use crate::git::checkout::{Checkout, UpstreamArgs};
use crate::git::repo::Repo;
use crate::output::status::render_text;
use crate::overview::status::Status;
use crate::scenario::Scenario;
use crate::scenario::build::{Built, build};
use crate::support::clock::Clock;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to build the demo [default: a new temporary directory]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Builds the demo into `dir` (a new temporary directory if `None`).
pub fn build_demo(dir: Option<&Path>) -> Result<Built> {
    let dir: PathBuf = match dir {
        Some(d) => {
            if d.exists() && std::fs::read_dir(d).map_err(|e| Error::io("reading", d, e))?.next().is_some() {
                return Err(Error::Usage(format!("{} is not empty; give a new or empty directory", d.display())));
            }
            std::fs::create_dir_all(d).map_err(|e| Error::io("creating", d, e))?;
            d.to_owned()
        }
        None => tempfile::Builder::new()
            .prefix("betadrift-demo-")
            .tempdir()
            .map_err(|e| Error::io("creating a temporary directory in", std::env::temp_dir(), e))?
            .keep(),
    };
    build(&Scenario::demo(), &dir)
}

/// Runs `betadrift demo`: build, show the status, suggest what to try.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    // --now or BETADRIFT_NOW, else the demo's own fixed time.
    let given = ctx.given_clock()?;
    let config = &ctx.config;
    let scenario = Scenario::demo();
    let built = build_demo(args.dir.as_deref())?;
    let clock = match given {
        Some(c) => c,
        None => Clock::fixed(scenario.times()?.now.unwrap_or_else(jiff::Timestamp::now)),
    };
    let target = Checkout::resolve(Repo::discover(&built.checkout)?, &UpstreamArgs::default(), None)?;
    let status = Status::gather(&target, config, clock, true)?;
    writeln!(out, "Built a demo puppetmaster in {}\n", built.dir.display()).map_err(Error::stdout)?;
    render_text(&status, out).map_err(Error::stdout)?;
    let repo = built.checkout.display();
    writeln!(out, "\nTry next:").map_err(Error::stdout)?;
    writeln!(out, "  cd {repo}").map_err(Error::stdout)?;
    for line in [
        "betadrift check                # where the next rebase stops, and which upstream change did it",
        "betadrift consent explain 11   # who may remove patch #11, and why",
        "git stash; betadrift sync      # refuses, changing nothing: the rebase would stop",
        "betadrift status --json        # the status above, for machines",
    ] {
        writeln!(out, "  {line}").map_err(Error::stdout)?;
    }
    Ok(Outcome::Clean)
}
