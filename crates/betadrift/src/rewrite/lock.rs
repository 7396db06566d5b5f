//! One history rewrite at a time per repository.
//!
//! A timer's `sync`, an admin's `drop` at 3 a.m. and a colleague's `undo`
//! must never interleave. betadrift holds an advisory lock on a file in the
//! git directory for the whole rewrite; a second betadrift waits a little,
//! then gives up with exit code 2. git's own `index.lock` is respected too:
//! if git is running in the checkout, betadrift does not start.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The name of betadrift's lock file inside the git directory.
pub const LOCK_FILE: &str = "betadrift.lock";

/// Held while a rewrite runs; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct RepoLock {
    _file: File,
    path: PathBuf,
}

impl RepoLock {
    /// Takes the lock of the repository whose git directory is `git_dir`,
    /// waiting up to `wait` for another betadrift to finish.
    pub fn acquire(git_dir: &Path, wait: Duration, what: &str) -> Result<RepoLock> {
        let path = git_dir.join(LOCK_FILE);
        // Never through a link, never another user's file: a root-run
        // rewrite must not truncate whatever a planted link points at.
        let mut file = crate::support::files::open_lock(&path)?;
        // A wait too long for the clock (`--lock-wait 18446744073709551615`) is forever.
        let deadline = Instant::now().checked_add(wait);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if deadline.is_none_or(|d| Instant::now() < d) => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = holder(&mut file);
                    return Err(Error::Usage(format!(
                        "another betadrift is changing {} ({holder}); wait for it to finish and try again",
                        git_dir.display()
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("locking", &path, e)),
            }
        }
        let note = format!("pid {} {what}\n", std::process::id());
        let _ =
            file.set_len(0).and_then(|()| file.seek(SeekFrom::Start(0))).and_then(|_| file.write_all(note.as_bytes()));
        Ok(RepoLock { _file: file, path })
    }

    /// Where the lock lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Who holds the lock of the repository at `git_dir` now, if anyone: read
/// without creating or changing anything (read-only commands ask this).
pub fn holder_now(git_dir: &Path) -> Option<String> {
    let mut file = crate::support::files::open_existing(&git_dir.join(LOCK_FILE)).ok()??;
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            None
        }
        Err(std::fs::TryLockError::WouldBlock) => Some(holder(&mut file)),
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0)).and_then(|_| file.read_to_string(&mut text));
    let text = text.trim();
    if text.is_empty() { "holder unknown".into() } else { crate::support::escape::terminal_short(text.as_bytes(), 80) }
}

/// Fails if git holds the index lock of the checkout.
pub fn ensure_git_idle(git_dir: &Path) -> Result<()> {
    let index_lock = git_dir.join("index.lock");
    if index_lock.exists() {
        return Err(Error::Usage(format!(
            "{} exists: git is running in this checkout (or crashed); wait for it, or remove the file if no git process is running",
            index_lock.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--lock-wait 18446744073709551615` is a wait longer than the clock
    /// can count: forever, not a panic.
    #[test]
    fn an_endless_wait_is_no_overflow() {
        let dir = tempfile::tempdir().unwrap();
        let lock = RepoLock::acquire(dir.path(), Duration::MAX, "sync").unwrap();
        drop(lock);
        assert!(RepoLock::acquire(dir.path(), Duration::from_secs(u64::MAX), "sync").is_ok());
    }

    #[test]
    fn a_second_holder_waits_then_fails() {
        let dir = tempfile::tempdir().unwrap();
        let first = RepoLock::acquire(dir.path(), Duration::ZERO, "drop").unwrap();
        let started = Instant::now();
        let err = RepoLock::acquire(dir.path(), Duration::from_millis(200), "sync").unwrap_err().to_string();
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(err.contains("another betadrift is changing"), "{err}");
        assert!(err.contains(&format!("pid {} drop", std::process::id())), "{err}");
        drop(first);
        RepoLock::acquire(dir.path(), Duration::ZERO, "sync").unwrap();
    }

    #[test]
    fn git_index_lock_is_respected() {
        let dir = tempfile::tempdir().unwrap();
        ensure_git_idle(dir.path()).unwrap();
        std::fs::write(dir.path().join("index.lock"), b"").unwrap();
        assert!(ensure_git_idle(dir.path()).unwrap_err().to_string().contains("git is running"));
    }
}
