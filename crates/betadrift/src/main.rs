//! The `betadrift` binary: parse, run, exit.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = betadrift::commands::Cli::parse();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = betadrift::run(cli, &mut out).and_then(|outcome| {
        out.flush().map_err(betadrift::error::Error::stdout)?;
        Ok(outcome)
    });
    match result {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        // A closed pipe (`betadrift status | head`) is not an error.
        Err(betadrift::error::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let line = betadrift::support::escape::terminal(e.to_string().as_bytes());
            eprintln!("betadrift: error: {line}");
            ExitCode::from(e.exit_code())
        }
    }
}
