//! Atomic file writes, and synced appends for logs.
//!
//! betadrift's own files (the consent policy, the ledger, reports) are read by
//! cron jobs, by people with an editor open, and by the next betadrift run. A
//! crash or a full disk half-way through a plain `write` would leave a
//! truncated policy that no longer parses, or, worse, one that parses and says
//! less than it did. So every file is written next to its destination under a
//! temporary name, flushed to disk, and renamed over the old one: a reader
//! sees either the old file or the new one, never a mix.
//!
//! betadrift runs as root in checkouts whose owner may not be root, so its
//! state files (journal, audit log, lock, ledger, policy) are never reached
//! through a symbolic link: their directory is opened without following a
//! link at its last component and must belong to the running user or root,
//! and each file is opened relative to it with `O_NOFOLLOW` and must be a
//! regular file of the running user or root with one link (a hard link to
//! `/etc/shadow` is refused too). The owner of a repository that git's own
//! ownership check accepted (`safe.directory`) is trusted as well
//! ([`trust_owner`]): root running betadrift in gitpuppet's checkout uses
//! the state files gitpuppet's runs left there. Report files ([`replace`]) replace a link
//! at their path instead of writing through it. See docs/security.md.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Result};

/// Replaces the state file `path` with `bytes` atomically.
///
/// The data goes to a temporary file in the same directory, which is synced
/// and renamed over `path`; then the directory is synced so the rename
/// survives a crash. Missing parent directories are created. An existing
/// file keeps its permission bits; a new one gets the default mode (0666 less
/// the umask). A symbolic link at `path`, or a directory or file that the
/// state-file rules refuse (module documentation), is an error and nothing
/// is written. On error the temporary file is removed and `path` is as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (dir, name) = open_parent(path, true)?;
    let old = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Some(st),
        Err(Errno::NOENT) => None,
        Err(e) => return Err(Error::io("reading metadata of", path, e.into())),
    };
    let keep_mode = match old {
        Some(st) if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink => {
            return Err(refused(path, "is a symbolic link"));
        }
        Some(st) if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile => {
            if !trusted_owner(st.st_uid) {
                return Err(refused(path, &format!("belongs to uid {}", st.st_uid)));
            }
            Some(Mode::from_raw_mode(st.st_mode & 0o7777))
        }
        _ => None,
    };
    write_in(&dir, path, name, bytes, keep_mode)
}

/// Replaces `path` (a report file) with `bytes` atomically, as
/// [`write_atomic`] does; a symbolic link at `path` is replaced by the file,
/// never written through, and the directory may be anyone's (a shared
/// textfile-collector directory).
pub fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir_path = parent_of(path);
    std::fs::create_dir_all(&dir_path).map_err(|e| Error::io("creating directory", &dir_path, e))?;
    let dir = File::open(&dir_path).map_err(|e| Error::io("opening", &dir_path, e))?;
    let name = path.file_name().ok_or_else(|| refused(path, "names no file"))?;
    let keep_mode = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile => {
            Some(Mode::from_raw_mode(st.st_mode & 0o7777))
        }
        _ => None,
    };
    write_in(&dir, path, name, bytes, keep_mode)
}

/// Writes a temporary file in `dir`, then renames it to `name`.
fn write_in(dir: &File, path: &Path, name: &OsStr, bytes: &[u8], keep_mode: Option<Mode>) -> Result<()> {
    let (mut temp, temp_name) = create_temp(dir, path, name)?;
    let written = (|| {
        temp.write_all(bytes).map_err(|e| Error::io("writing", path, e))?;
        if let Some(mode) = keep_mode {
            rustix::fs::fchmod(&temp, mode).map_err(|e| Error::io("setting permissions of", path, e.into()))?;
        }
        temp.sync_all().map_err(|e| Error::io("syncing", path, e))?;
        rustix::fs::renameat(dir, &temp_name, dir, name)
            .map_err(|e| Error::io("renaming a temporary file to", path, e.into()))
    })();
    if let Err(e) = written {
        let _ = rustix::fs::unlinkat(dir, &temp_name, AtFlags::empty());
        return Err(e);
    }
    dir.sync_all().map_err(|e| Error::io("syncing directory", parent_of(path), e))
}

/// A new file `.<name>.<unique>.tmp` in `dir`, created exclusively.
fn create_temp(dir: &File, path: &Path, name: &OsStr) -> Result<(File, PathBuf)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for _ in 0..16 {
        let unique = format!("{}-{nanos:x}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let temp_name = PathBuf::from(format!(".{}.{unique}.tmp", name.to_string_lossy()));
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(dir, &temp_name, flags, Mode::from_raw_mode(0o666)) {
            Ok(fd) => return Ok((File::from(fd), temp_name)),
            Err(e) => last = Some(e),
        }
    }
    let e = last.unwrap_or(Errno::EXIST);
    Err(Error::io("creating a temporary file beside", path, e.into()))
}

/// The directory of a path (`.` for a bare name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Opens the directory of the state file `path` (creating it if asked and
/// missing) under the state-file rules, and the file's name in it;
/// `Ok(None)`-like absence is an error of kind NotFound from the caller's
/// open, not here.
fn open_parent(path: &Path, create: bool) -> Result<(File, &OsStr)> {
    let name = path.file_name().ok_or_else(|| refused(path, "names no file"))?;
    let dir = parent_of(path);
    if create {
        if let Some(up) = dir.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(up).map_err(|e| Error::io("creating directory", up, e))?;
        }
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("creating directory", &dir, e)),
        }
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(&dir, flags, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(_) if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) => {
            return Err(refused(&dir, "is a symbolic link"));
        }
        Err(e) => return Err(Error::io("opening", &dir, e.into())),
    };
    let meta = fd.metadata().map_err(|e| Error::io("reading metadata of", &dir, e))?;
    if !trusted_owner(meta.uid()) {
        return Err(refused(&dir, &format!("belongs to uid {}", meta.uid())));
    }
    Ok((fd, name))
}

/// Opens the state file `path` with `flags` (plus `O_NOFOLLOW`, and
/// `O_NONBLOCK` so that a FIFO planted there cannot hang betadrift), under
/// the state-file rules; `None` if it does not exist and `flags` do not
/// create it.
fn open_state(path: &Path, flags: OFlags) -> Result<Option<File>> {
    let (dir, name) = match open_parent(path, flags.contains(OFlags::CREATE)) {
        Ok(found) => found,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let flags = flags | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = match rustix::fs::openat(&dir, name, flags, Mode::from_raw_mode(0o666)) {
        Ok(fd) => File::from(fd),
        Err(Errno::NOENT) => return Ok(None),
        Err(Errno::LOOP) => return Err(refused(path, "is a symbolic link")),
        Err(e) => return Err(Error::io("opening", path, e.into())),
    };
    let meta = file.metadata().map_err(|e| Error::io("reading metadata of", path, e))?;
    if !meta.file_type().is_file() {
        return Err(refused(path, "is not a regular file"));
    }
    if !trusted_owner(meta.uid()) {
        return Err(refused(path, &format!("belongs to uid {}", meta.uid())));
    }
    if meta.nlink() > 1 {
        return Err(refused(path, "has other hard links"));
    }
    Ok(Some(file))
}

/// Reads the state file `path`; `None` if it does not exist.
pub fn read_state(path: &Path) -> Result<Option<Vec<u8>>> {
    let Some(mut file) = open_state(path, OFlags::RDONLY)? else { return Ok(None) };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut bytes).map_err(|e| Error::io("reading", path, e))?;
    Ok(Some(bytes))
}

/// Reads a secret (an API token) from `path`, trimmed: a regular file, not
/// reached through a symbolic link at its last component, readable and
/// writable by its owner only (`mode & 0o077 == 0`). `what` names it in the
/// one-line refusal, which says what to do and never shows the content.
pub fn read_secret(path: &Path, what: &str) -> Result<String> {
    let shown = path.display();
    let refuse = |problem: String| Error::Usage(format!("{what} {shown} {problem}"));
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(Errno::LOOP) => return Err(refuse("is a symbolic link: point the config at the file itself".into())),
        Err(e) => return Err(refuse(format!("cannot be read ({}): check the path in the config", e.kind()))),
    };
    let meta = file.metadata().map_err(|e| Error::io("reading metadata of", path, e))?;
    if !meta.file_type().is_file() {
        return Err(refuse("is not a regular file: put the token in a file of its own".into()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(refuse(format!(
            "is open to group or others (mode {:04o}): run chmod 600 {shown}",
            meta.mode() & 0o7777
        )));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(|e| Error::io("reading", path, e))?;
    let token = String::from_utf8(bytes).map_err(|_| refuse("is not UTF-8 text".into()))?;
    let token = token.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(refuse("must hold the token alone, on one line".into()));
    }
    Ok(token.to_owned())
}

/// Opens the state file `path` for reading and writing, creating it (a lock file).
pub fn open_lock(path: &Path) -> Result<File> {
    open_state(path, OFlags::RDWR | OFlags::CREATE)?.ok_or_else(|| refused(path, "vanished while it was opened"))
}

/// Opens the state file `path` for reading, if it exists.
pub fn open_existing(path: &Path) -> Result<Option<File>> {
    open_state(path, OFlags::RDONLY)
}

/// Owners of repositories this process opened, which git's ownership
/// check (`safe.directory`) accepted.
static TRUSTED: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// Trusts `uid` with betadrift's state files too: the owner of a
/// repository that git's ownership check accepted.
pub fn trust_owner(uid: u32) {
    let mut trusted = TRUSTED.lock().unwrap_or_else(|e| e.into_inner());
    if !trusted.contains(&uid) {
        trusted.push(uid);
    }
}

/// A user betadrift trusts with its state: the one running it, root, or
/// the owner of a repository git accepted ([`trust_owner`]).
fn trusted_owner(uid: u32) -> bool {
    uid == 0
        || uid == rustix::process::geteuid().as_raw()
        || TRUSTED.lock().unwrap_or_else(|e| e.into_inner()).contains(&uid)
}

fn refused(path: &Path, why: &str) -> Error {
    Error::Usage(format!(
        "{} {why}; betadrift does not follow links or use files of other users for its state (see docs/security.md), nothing was changed",
        path.display()
    ))
}

/// Appends one line (a newline is added) to the state file `path` and syncs
/// it; returns the file's length before, for [`truncate_to`].
pub fn append_line(path: &Path, line: &str) -> Result<u64> {
    let mut file = open_state(path, OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE)?
        .ok_or_else(|| refused(path, "vanished while it was opened"))?;
    let before = file.metadata().map_err(|e| Error::io("reading metadata of", path, e))?.len();
    let mut buf = line.as_bytes().to_vec();
    buf.push(b'\n');
    file.write_all(&buf).map_err(|e| Error::io("appending to", path, e))?;
    file.sync_all().map_err(|e| Error::io("syncing", path, e))?;
    Ok(before)
}

/// Removes the state file `path`; one that is not there is no error.
pub fn remove_state(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("removing", path, e)),
    }
}

/// Cuts the state file `path` back to its first `len` bytes and syncs it.
pub fn truncate_to(path: &Path, len: u64) -> Result<()> {
    let file = open_state(path, OFlags::WRONLY)?.ok_or_else(|| refused(path, "is gone"))?;
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
    fn secrets_are_read_only_from_private_regular_files() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let token = tmp.path().join("token");
        std::fs::write(&token, "api-secret\n").unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_secret(&token, "token file").unwrap(), "api-secret");
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = read_secret(&token, "token file").unwrap_err().to_string();
        assert!(err.contains("mode 0640") && err.contains("chmod 600") && !err.contains("api-secret"), "{err}");
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&token, &link).unwrap();
        assert!(read_secret(&link, "token file").unwrap_err().to_string().contains("symbolic link"));
        assert!(read_secret(tmp.path(), "token file").unwrap_err().to_string().contains("not a regular file"));
        assert!(
            read_secret(&tmp.path().join("none"), "token file").unwrap_err().to_string().contains("cannot be read")
        );
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

    /// A link planted at a state file (the journal, the audit log, the
    /// lock) is refused: nothing is written through it, nothing replaced.
    #[test]
    fn never_writes_through_a_symbolic_link() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real.toml");
        let link = tmp.path().join("link.toml");
        std::fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = write_atomic(&link, b"new").unwrap_err().to_string();
        assert!(err.contains("is a symbolic link"), "{err}");
        assert!(append_line(&link, "x").unwrap_err().to_string().contains("is a symbolic link"));
        assert!(truncate_to(&link, 0).unwrap_err().to_string().contains("is a symbolic link"));
        assert!(open_lock(&link).unwrap_err().to_string().contains("is a symbolic link"));
        assert!(read_state(&link).unwrap_err().to_string().contains("is a symbolic link"));
        assert_eq!(std::fs::read(&real).unwrap(), b"old");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        // A link to a missing file is not created through either.
        let dangling = tmp.path().join("dangling");
        std::os::unix::fs::symlink(tmp.path().join("created"), &dangling).unwrap();
        assert!(append_line(&dangling, "x").is_err() && open_lock(&dangling).is_err());
        assert!(!tmp.path().join("created").exists());
    }

    /// A state directory that is a link (`.git/betadrift -> /etc`) is refused.
    #[test]
    fn never_writes_into_a_linked_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, tmp.path().join("state")).unwrap();
        let journal = tmp.path().join("state/journal.json");
        assert!(write_atomic(&journal, b"{}").unwrap_err().to_string().contains("is a symbolic link"));
        assert!(append_line(&journal, "x").unwrap_err().to_string().contains("is a symbolic link"));
        assert_eq!(names(&elsewhere), Vec::<String>::new());
    }

    /// Hard links, FIFOs and other users' files are refused as state files.
    #[test]
    fn refuses_hard_links_fifos_and_strangers() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = tmp.path().join("secret");
        std::fs::write(&secret, b"root only").unwrap();
        let linked = tmp.path().join("audit.jsonl");
        std::fs::hard_link(&secret, &linked).unwrap();
        assert!(append_line(&linked, "x").unwrap_err().to_string().contains("hard links"));
        assert!(read_state(&linked).unwrap_err().to_string().contains("hard links"));
        assert_eq!(std::fs::read(&secret).unwrap(), b"root only");
        let fifo = tmp.path().join("policy.toml");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        assert!(read_state(&fifo).unwrap_err().to_string().contains("not a regular file"), "no hang on a FIFO");
        if rustix::process::geteuid().is_root() {
            let theirs = tmp.path().join("theirs");
            std::fs::create_dir(&theirs).unwrap();
            std::fs::write(theirs.join("ledger.json"), b"{}").unwrap();
            rustix::fs::chown(theirs.join("ledger.json"), Some(rustix::fs::Uid::from_raw(4242)), None).unwrap();
            assert!(read_state(&theirs.join("ledger.json")).unwrap_err().to_string().contains("uid 4242"));
            rustix::fs::chown(&theirs, Some(rustix::fs::Uid::from_raw(4242)), None).unwrap();
            let err = write_atomic(&theirs.join("journal.json"), b"{}").unwrap_err().to_string();
            assert!(err.contains("uid 4242"), "{err}");
        }
    }

    /// A report file replaces a link at its path; the link's target stays.
    #[test]
    fn replace_replaces_a_symbolic_link() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real.prom");
        let link = tmp.path().join("betadrift.prom");
        std::fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        replace(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_file());
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
        assert_eq!(std::fs::read(&real).unwrap(), b"old");
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
        assert_eq!(append_line(&path, "{\"a\":1}").unwrap(), 0);
        assert_eq!(append_line(&path, "{\"b\":2}").unwrap(), 8);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
    }
}
