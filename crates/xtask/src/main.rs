//! Build-time tasks: `cargo run -p xtask -- man DIR` writes a man page per
//! command (`betadrift.1`, `betadrift-status.1`, `betadrift-consent-allow.1`,
//! …) from the clap definitions, so they say what `--help` says;
//! `cargo run -p xtask -- completions DIR` writes the bash, zsh and fish
//! completion scripts (`betadrift`, `_betadrift`, `betadrift.fish`).
//! debian/rules runs both.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [task, dir] if task == "man" => man_pages(Path::new(dir)),
        [task, dir] if task == "completions" => completions(Path::new(dir)),
        _ => Err("usage: xtask man DIR | xtask completions DIR".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Writes `betadrift.1` and one page per command and nested command.
fn man_pages(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let mut cli = betadrift::commands::Cli::command();
    cli.build();
    write_pages(&cli, "betadrift", dir)
}

/// Writes the page of `command` (named `name`) and, recursively, of its
/// subcommands (`name-sub`).
fn write_pages(command: &clap::Command, name: &str, dir: &Path) -> Result<(), String> {
    let page = command.clone().name(name.to_owned()).bin_name(name.replace('-', " "));
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff).map_err(|e| format!("rendering {name}: {e}"))?;
    write(&dir.join(format!("{name}.1")), &roff)?;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}

/// Writes the completion scripts under the names each shell looks for.
fn completions(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for (shell, file) in [(Shell::Bash, "betadrift"), (Shell::Zsh, "_betadrift"), (Shell::Fish, "betadrift.fish")] {
        let mut script = Vec::new();
        betadrift::commands::completions::write_script(shell, &mut script).map_err(|e| e.to_string())?;
        write(&dir.join(file), &script)?;
    }
    Ok(())
}

fn write(path: &PathBuf, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))
}
