//! Makes a test binary hermetic before its first test runs.
//!
//! Tests run on machines that have a betadrift installed (a puppetmaster:
//! `/etc/betadrift/config.toml`, with a `post_update` that deploys code) and
//! users with their own git configuration (`core.abbrev`, `core.autocrlf`,
//! `init.defaultBranch`…). None of it may reach a test: not the git or
//! betadrift processes a test starts (their environment is built from
//! scratch, see `Sandbox::command`), and not the libgit2 inside the test
//! process itself, which reads `~/.gitconfig` and `/etc/gitconfig` when it
//! opens a repository.
//!
//! So before `main`, while the process has one thread, this points `HOME`
//! and `XDG_CONFIG_HOME` at an empty directory, turns git's system and
//! global configuration off (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL`,
//! and the system attributes file, `GIT_ATTR_NOSYSTEM`),
//! names an empty betadrift configuration (`BETADRIFT_CONFIG`, which wins
//! over `/etc/betadrift/config.toml`), fixes `TZ`, and points libgit2's
//! configuration search paths at an empty directory.
//!
//! Every test binary of the workspace includes this file with `#[path]`:
//! the CLI's integration tests (`tests/cli`), the engine's
//! (`crates/betadrift-engine/tests/engine`) and the CLI crate's unit tests.
//! `.ci/hostile-host.sh` runs the suite on a host with a hostile
//! `/etc/betadrift/config.toml` and `~/.gitconfig` to show that it works.

#![allow(dead_code)]

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// The directory holding the empty `HOME`, the empty betadrift config and
/// the empty git configuration directory: one per user, in the temp dir.
pub fn root() -> PathBuf {
    let uid = std::fs::metadata("/proc/self").map_or(0, |m| m.uid());
    std::env::temp_dir().join(format!("betadrift-hermetic-{uid}"))
}

/// The empty betadrift configuration every test process and child uses.
pub fn empty_config() -> PathBuf {
    root().join("empty-config.toml")
}

/// An empty `HOME`, for processes that need one.
pub fn home() -> PathBuf {
    root().join("home")
}

/// Runs once, before `main` (an ELF initializer, as the C runtime runs them).
#[used]
#[allow(unsafe_code)]
#[unsafe(link_section = ".init_array")]
static BEFORE_MAIN: extern "C" fn() = make_hermetic;

extern "C" fn make_hermetic() {
    let git_config_dir = root().join("no-git-config");
    for dir in [home().join(".config"), git_config_dir.clone()] {
        std::fs::create_dir_all(&dir).expect("creating the hermetic test directories");
    }
    std::fs::write(empty_config(), "").expect("writing the empty betadrift config");
    let vars = [
        ("HOME", home().into_os_string()),
        ("XDG_CONFIG_HOME", home().join(".config").into_os_string()),
        ("GIT_CONFIG_NOSYSTEM", "1".into()),
        ("GIT_ATTR_NOSYSTEM", "1".into()),
        ("GIT_CONFIG_GLOBAL", "/dev/null".into()),
        ("BETADRIFT_CONFIG", empty_config().into_os_string()),
        ("TZ", "UTC".into()),
    ];
    for (name, value) in vars {
        // SAFETY: this runs from `.init_array`, before `main`, while the
        // process has a single thread: nothing reads the environment
        // concurrently.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(name, value);
        }
    }
    for level in
        [git2::ConfigLevel::System, git2::ConfigLevel::XDG, git2::ConfigLevel::Global, git2::ConfigLevel::ProgramData]
    {
        // SAFETY: libgit2's options are process-global and not synchronized;
        // before `main` no other thread uses libgit2.
        #[allow(unsafe_code)]
        unsafe {
            git2::opts::set_search_path(level, &git_config_dir).expect("pointing libgit2's config search path away");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_sees_no_host_configuration() {
        assert_eq!(std::env::var_os("HOME"), Some(home().into_os_string()));
        assert_eq!(std::env::var_os("BETADRIFT_CONFIG"), Some(empty_config().into_os_string()));
        assert_eq!(std::fs::read(empty_config()).unwrap(), b"");
        // SAFETY: reading libgit2's option while no test changes it.
        #[allow(unsafe_code)]
        let global = unsafe { git2::opts::get_search_path(git2::ConfigLevel::Global) }.unwrap();
        assert_eq!(global.to_str().unwrap(), root().join("no-git-config").to_str().unwrap());
        // A repository's configuration is its own, whatever the host has.
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let config = repo.config().unwrap().snapshot().unwrap();
        let entries = config.entries(None).unwrap();
        let mut seen = 0;
        entries
            .for_each(|e| {
                seen += 1;
                assert_eq!(e.level(), git2::ConfigLevel::Local, "{:?} comes from outside the repository", e.name());
            })
            .unwrap();
        assert!(seen > 0, "a new repository has core.* entries of its own");
    }
}
