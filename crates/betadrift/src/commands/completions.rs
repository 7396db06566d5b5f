//! `betadrift completions SHELL`: the shell completion script, printed.

use std::io::Write;

use clap::CommandFactory;

use crate::commands::{Cli, Outcome};
use crate::error::Result;

/// Print the completion script for SHELL on standard output
///
/// For bash: `betadrift completions bash > /etc/bash_completion.d/betadrift`
/// (or `source <(betadrift completions bash)` in ~/.bashrc); zsh: into a
/// directory of `$fpath` as `_betadrift`; fish: into
/// `~/.config/fish/completions/betadrift.fish`. The Debian package installs
/// all three. Reads no configuration.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Writes the script to `out`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    write_script(args.shell, out)?;
    Ok(Outcome::Clean)
}

/// The completion script for `shell`.
pub fn write_script(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "betadrift", &mut script);
    out.write_all(&script).map_err(crate::error::Error::stdout)
}
