//! Atomic file writes, and synced appends for logs.
//!
//! betadrift's own files (the consent policy, the ledger, reports) are read by
//! cron jobs, by people with an editor open, and by the next betadrift run. A
//! crash or a full disk half-way through a plain `write` would leave a
//! truncated policy that no longer parses, or, worse, one that parses and says
//! less than it did. So every file is written next to its destination under a
//! temporary name, flushed to disk, and renamed over the old one: a reader
//! sees either the old file or the new one, never a mix.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Replaces `path` with `bytes` atomically.
///
/// The data goes to a temporary file in the same directory, which is synced
/// and renamed over `path`; then the directory is synced so the rename
/// survives a crash. Missing parent directories are created. An existing
/// file keeps its permission bits; a new one gets the default mode (0666 less
/// the umask). If `path` is a symbolic link, the file it points to is
/// replaced and the link stays. On error the temporary file is removed and
/// `path` is as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = resolve_link(path)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating directory", &dir, e))?;
    let old_permissions = match std::fs::metadata(&target) {
        Ok(meta) => Some(meta.permissions()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("reading metadata of", &target, e)),
    };
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(default_permissions())
        .tempfile_in(&dir)
        .map_err(|e| Error::io("creating a temporary file in", &dir, e))?;
    let temp_path = temp.path().to_owned();
    let io = |action: &'static str| {
        let temp_path = temp_path.clone();
        move |e: std::io::Error| Error::io(action, temp_path, e)
    };
    temp.write_all(bytes).map_err(io("writing"))?;
    if let Some(permissions) = old_permissions {
        temp.as_file().set_permissions(permissions).map_err(io("setting permissions of"))?;
    }
    temp.as_file().sync_all().map_err(io("syncing"))?;
    temp.persist(&target).map_err(|e| Error::io("renaming a temporary file to", &target, e.error))?;
    sync_dir(&dir)
}

/// The file a path names: the target of a symbolic link, else the path itself.
fn resolve_link(path: &Path) -> Result<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(|e| Error::io("following the link", path, e))
        }
        _ => Ok(path.to_owned()),
    }
}

#[cfg(unix)]
fn default_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o666)
}

#[cfg(not(unix))]
fn default_permissions() -> std::fs::Permissions {
    std::fs::metadata(".").map(|m| m.permissions()).expect("metadata of the current directory")
}

/// Flushes a directory's entries to disk, so that a rename in it is durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io("syncing directory", dir, e))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}

/// Appends one line (a newline is added) and syncs it to disk.
pub fn append_line(path: &Path, line: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    }
    let mut file =
        OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io("opening", path, e))?;
    let mut buf = line.as_bytes().to_vec();
    buf.push(b'\n');
    file.write_all(&buf).map_err(|e| Error::io("appending to", path, e))?;
    file.sync_all().map_err(|e| Error::io("syncing", path, e))
}

/// Cuts `path` back to its first `len` bytes and syncs it.
pub fn truncate_to(path: &Path, len: u64) -> Result<()> {
    let file = OpenOptions::new().write(true).open(path).map_err(|e| Error::io("opening", path, e))?;
    file.set_len(len).map_err(|e| Error::io("truncating", path, e))?;
    file.sync_all().map_err(|e| Error::io("syncing", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn creates_parents_and_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/b/policy.toml");
        write_atomic(&path, b"one\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one\n");
        write_atomic(&path, b"two\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two\n");
        assert_eq!(names(path.parent().unwrap()), vec!["policy.toml"], "no temporary file left");
    }

    #[cfg(unix)]
    #[test]
    fn keeps_the_old_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("p.toml");
        std::fs::write(&path, b"x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"y").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o640);
        let fresh = tmp.path().join("fresh.toml");
        write_atomic(&fresh, b"z").unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode & 0o600, 0o600, "a new file is readable and writable by its owner: {mode:o}");
        assert_ne!(mode, 0o600, "a new file gets the umask's mode, not tempfile's 0600");
    }

    #[cfg(unix)]
    #[test]
    fn writes_through_a_symbolic_link() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real.toml");
        let link = tmp.path().join("link.toml");
        std::fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
    }

    #[test]
    fn failure_leaves_no_temporary_file_and_the_target_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        // A directory where the file should go: the rename fails.
        let path = tmp.path().join("policy.toml");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), b"keep").unwrap();
        let err = write_atomic(&path, b"data").unwrap_err();
        assert!(err.to_string().contains("policy.toml"), "{err}");
        assert_eq!(names(tmp.path()), vec!["policy.toml"], "no temporary file left");
        assert_eq!(std::fs::read(path.join("inside")).unwrap(), b"keep");
        // A parent that is a file: nothing can be created.
        let blocked = tmp.path().join("policy.toml/inside/x.toml");
        assert!(write_atomic(&blocked, b"data").is_err());
        assert_eq!(names(&path), vec!["inside"]);
    }

    #[test]
    fn a_reader_never_sees_a_partial_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("policy.toml");
        let small = vec![b'a'; 64 * 1024];
        let large = vec![b'b'; 1024 * 1024];
        write_atomic(&path, &small).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let (path, done, small, large) = (path.clone(), done.clone(), small.clone(), large.clone());
            std::thread::spawn(move || {
                let mut reads = 0usize;
                while !done.load(Ordering::Relaxed) || reads == 0 {
                    let seen = std::fs::read(&path).expect("the file always exists");
                    assert!(seen == small || seen == large, "partial read of {} bytes", seen.len());
                    reads += 1;
                }
                reads
            })
        };
        for i in 0..200 {
            write_atomic(&path, if i % 2 == 0 { &large } else { &small }).unwrap();
        }
        done.store(true, Ordering::Relaxed);
        assert!(reader.join().expect("reader saw only whole files") > 0);
        assert_eq!(names(tmp.path()), vec!["policy.toml"]);
    }

    #[test]
    fn appends_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log/audit.jsonl");
        append_line(&path, "{\"a\":1}").unwrap();
        append_line(&path, "{\"b\":2}").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
    }
}
