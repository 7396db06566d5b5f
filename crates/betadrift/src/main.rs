//! The `betadrift` binary: parse, run, exit.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use betadrift::error::Error;
use betadrift::support::panics;

fn main() -> ExitCode {
    let cli = betadrift::commands::Cli::parse();
    panics::install_hook();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // A panic is a bug: one line and its own exit code, as any error.
    let result = panics::catch(|| betadrift::run(cli, &mut out))
        .unwrap_or_else(|message| Err(Error::Internal { message }))
        .and_then(|outcome| {
            out.flush().map_err(Error::stdout)?;
            Ok(outcome)
        });
    match result {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        // A closed pipe (`betadrift status | head`) is not an error.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let line = betadrift::support::escape::terminal(e.to_string().as_bytes());
            eprintln!("betadrift: error: {line}");
            ExitCode::from(e.exit_code())
        }
    }
}
