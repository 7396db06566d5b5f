//! Shared test harness: hermetic runs of the betadrift binary and of the
//! real git, scenario repositories in temporary directories, and a
//! fingerprint of everything a read-only command must not change.

#![allow(dead_code)]

pub mod crash;
pub mod gerrit;
pub mod oracle;
pub mod random;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use betadrift::scenario::Scenario;
use betadrift::scenario::build::{Built, build};

/// fixtures/hostile.toml (terminal escapes, markup, invalid UTF-8 in names
/// and subjects) plus a patch with a 100 KB subject, too big to keep in the
/// fixture file.
pub fn hostile_scenario() -> Scenario {
    let mut s = Scenario::from_toml(include_str!("../../../fixtures/hostile.toml")).unwrap();
    let mut huge = s.local[0].clone();
    huge.id = "huge".into();
    huge.author = Some("Big Subject <big@example.org>".into());
    huge.message = Some(format!("{}\n", "A".repeat(100 * 1024)));
    huge.files = [("huge.txt".to_string(), "x\n".to_string())].into();
    s.local.push(huge);
    s
}

/// The git used as the oracle: git 2.47 unless `BETADRIFT_GIT` says otherwise.
pub fn git_binary() -> PathBuf {
    if let Some(git) = std::env::var_os("BETADRIFT_GIT") {
        return git.into();
    }
    let preferred = Path::new("/usr/local/bin/git");
    if preferred.exists() { preferred.to_owned() } else { "git".into() }
}

/// A temporary directory that also serves as `$HOME` for child processes.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox { dir: tempfile::Builder::new().prefix("betadrift-test-").tempdir().expect("temp dir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn home(&self) -> PathBuf {
        let home = self.path().join("home");
        std::fs::create_dir_all(&home).expect("home dir");
        home
    }

    /// A command with a hermetic environment: no user or system git config,
    /// UTC, C locale, fixed git dates, an empty betadrift config (never the
    /// host's `/etc/betadrift/config.toml`).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_ATTR_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("BETADRIFT_CONFIG", crate::hermetic::empty_config())
            .env("GIT_AUTHOR_NAME", "Test Runner")
            .env("GIT_AUTHOR_EMAIL", "runner@example.org")
            .env("GIT_COMMITTER_NAME", "Test Runner")
            .env("GIT_COMMITTER_EMAIL", "runner@example.org")
            .env("GIT_AUTHOR_DATE", "2026-11-25T12:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-11-25T12:00:00Z")
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs the real git in `dir`; panics if it fails.
    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.git_output(dir, args);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs the real git in `dir` and returns whatever happened.
    pub fn git_output(&self, dir: &Path, args: &[&str]) -> Output {
        self.command(git_binary()).current_dir(dir).args(args).output().expect("running git")
    }

    /// Runs betadrift in `dir` with the clock fixed at the demo's "now".
    pub fn betadrift(&self, dir: &Path, args: &[&str]) -> Run {
        let out = self
            .command(env!("CARGO_BIN_EXE_betadrift"))
            .current_dir(dir)
            .env("BETADRIFT_NOW", "2026-11-25T12:00:00Z")
            .args(args)
            .output()
            .expect("running betadrift");
        Run::from(out)
    }

    /// Starts betadrift in `dir` (the clock fixed, `fault` as
    /// `BETADRIFT_FAULT` if given), its output piped, without waiting.
    pub fn spawn_betadrift(&self, dir: &Path, fault: Option<&str>, args: &[&str]) -> std::process::Child {
        let mut cmd = self.command(env!("CARGO_BIN_EXE_betadrift"));
        cmd.current_dir(dir).env("BETADRIFT_NOW", "2026-11-25T12:00:00Z").args(args);
        if let Some(fault) = fault {
            cmd.env("BETADRIFT_FAULT", fault);
        }
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting betadrift")
    }

    /// Builds a scenario in a fresh subdirectory.
    pub fn build(&self, scenario: &Scenario) -> Built {
        let dir = self.path().join(&scenario.name);
        std::fs::create_dir_all(&dir).expect("scenario dir");
        build(scenario, &dir).expect("building scenario")
    }
}

/// The outcome of one command.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts a failure with exit code 2 and one line on stderr containing `needle`.
    pub fn assert_error(&self, needle: &str) {
        self.assert_refused(needle);
        assert!(self.stdout.is_empty(), "nothing on stdout: {:?}", self.stdout);
    }

    /// Like [`Run::assert_error`], after whatever the command printed first
    /// (a rewrite prints its plan, then refuses).
    pub fn assert_refused(&self, needle: &str) {
        assert_eq!(self.code, 2, "exit code; stdout: {}; stderr: {}", self.stdout, self.stderr);
        assert_eq!(self.stderr.lines().count(), 1, "one line on stderr: {:?}", self.stderr);
        assert!(self.stderr.starts_with("betadrift: error: "), "{}", self.stderr);
        assert!(self.stderr.contains(needle), "{:?} not in {:?}", needle, self.stderr);
    }
}

/// Everything a read-only command must leave as it was: refs (all of them,
/// packed or loose), the index, every file under objects/, HEAD, config, and
/// the working tree.
pub fn fingerprint(checkout: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    collect(checkout, checkout, &mut out);
    out
}

fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read_dir").map(|e| e.expect("entry")).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        if meta.is_dir() {
            out.insert(format!("{rel}/"), Vec::new());
            collect(root, &path, out);
        } else if meta.file_type().is_symlink() {
            out.insert(rel, std::fs::read_link(&path).unwrap().to_string_lossy().as_bytes().to_vec());
        } else {
            let mut data = std::fs::read(&path).expect("read");
            let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            data.extend_from_slice(format!("\0mtime={mtime:?}").as_bytes());
            out.insert(rel, data);
        }
    }
}

/// Asserts two fingerprints are equal, naming what changed.
pub fn assert_unchanged(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) {
    let added: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    let removed: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    let changed: Vec<&String> = before.keys().filter(|k| after.get(*k).is_some_and(|v| v != &before[*k])).collect();
    assert!(
        added.is_empty() && removed.is_empty() && changed.is_empty(),
        "repository changed: added {added:?}, removed {removed:?}, changed {changed:?}"
    );
}

/// (tree, author line, message) of each commit in `upstream..HEAD`, oldest first.
pub fn commits(sandbox: &Sandbox, dir: &Path, upstream: &str) -> Vec<(String, String, String)> {
    let log = sandbox
        .git(dir, &["log", "--reverse", "-z", "--format=%T%x01%an <%ae> %ad%x01%B", &format!("{upstream}..HEAD")]);
    log.split('\0')
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let mut f = e.trim_start_matches('\n').splitn(3, '\u{1}');
            let mut next = || f.next().unwrap_or_default().to_owned();
            (next(), next(), next())
        })
        .collect()
}

/// Copies a directory tree with `cp -a` (a second checkout to run git in).
pub fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status().expect("cp");
    assert!(status.success());
}
