//! Keeping a checkout's object store tidy.
//!
//! libgit2 writes objects and refs but never runs git's automatic
//! maintenance, so a puppetmaster that betadrift rebases every ten minutes
//! would gather a pack or a few hundred loose objects per sync and never
//! consolidate them, and every read walks all the packs. After each rewrite
//! betadrift therefore runs `git maintenance run --auto`, which does nothing
//! until git's own thresholds are passed (`gc.auto` loose objects,
//! `gc.autoPackLimit` packs), honours the repository's `maintenance.*` and
//! `gc.*` settings (`gc.auto=0` turns it off), and then repacks. It runs in
//! the foreground ([`Repo::git_cli`]): detached, it would be killed with the
//! systemd unit it was started from. A fetch needs nothing more: `git fetch`
//! runs the same maintenance itself.

use crate::error::Result;
use crate::git::cli::{reason, run};
use crate::git::repo::Repo;

/// Runs `git maintenance run --auto` on `repo`. An error says why it did not
/// run or failed; the caller reports it as a warning, never as a failure of
/// the rewrite before it.
pub fn run_auto(repo: &Repo) -> Result<()> {
    let output = run(repo.git_cli().args(["maintenance", "run", "--auto", "--quiet"]), "git maintenance")?;
    if output.status.success() {
        return Ok(());
    }
    Err(crate::error::Error::Usage(format!("git maintenance run --auto failed: {}", reason(&output.stderr))))
}
