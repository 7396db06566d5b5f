//! Running the git CLI on a checkout: `git fetch` ([`Repo::fetch`]) and
//! `git maintenance` ([`super::maintenance`]).
//!
//! git itself fetches (with the user's ssh, proxies, credential helpers and
//! TLS, none of which betadrift links) and tidies the object store, so the
//! only networking code in betadrift is none.

use std::process::{Command, Output, Stdio};

use crate::error::{Error, Result};
use crate::git::repo::Repo;
use crate::support::escape::terminal;

impl Repo {
    /// `git` on this repository: its git directory and working tree named
    /// explicitly (so that no `GIT_DIR` of the caller's environment points it
    /// elsewhere), no standard input, and automatic maintenance in the
    /// foreground: a detached `git gc` would be killed with the rest of a
    /// systemd unit's processes when betadrift exits.
    pub fn git_cli(&self) -> Command {
        let mut git = Command::new("git");
        git.arg("--git-dir").arg(self.git_dir());
        if let Some(workdir) = self.workdir() {
            git.arg("--work-tree").arg(workdir).current_dir(workdir);
        }
        git.args(["-c", "gc.autoDetach=false", "-c", "maintenance.autoDetach=false"])
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_OBJECT_DIRECTORY")
            .env_remove("GIT_COMMON_DIR");
        git
    }

    /// Fetches `remote` with `git fetch` and its configured refspecs
    /// (updating FETCH_HEAD). git runs its automatic maintenance after
    /// the fetch, as it does for any fetch. A failed fetch changes nothing:
    /// git empties FETCH_HEAD before it fetches, so its old content and
    /// time (the "last fetch" that `status` shows) are put back.
    pub fn fetch(&self, remote: &str) -> Result<()> {
        let fetch_head = self.git_dir().join("FETCH_HEAD");
        let saved = SavedFile::read(&fetch_head);
        let output = run(self.git_cli().args(["fetch", "--quiet", "--", remote]), "git fetch")?;
        if output.status.success() {
            return Ok(());
        }
        saved.restore(&fetch_head);
        Err(Error::Usage(format!(
            "fetching {remote} failed: {}; check the network and the remote URL, nothing was changed",
            reason(&output.stderr)
        )))
    }

    /// The refs `url` has under `prefix` (`git ls-remote`), with their commits.
    pub fn ls_remote(&self, url: &str, prefix: &str) -> Result<Vec<(git2::Oid, String)>> {
        let pattern = format!("{prefix}*");
        let output = run(self.git_cli().args(["ls-remote", "--refs", "--", url, &pattern]), "git ls-remote")?;
        if !output.status.success() {
            return Err(Error::Usage(format!(
                "listing {prefix}* of {} failed: {}; check [gerrit] url, project or fetch_url, nothing was changed",
                terminal(url.as_bytes()),
                reason(&output.stderr)
            )));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        Ok(text
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .filter_map(|(oid, name)| Some((git2::Oid::from_str(oid).ok()?, name.to_owned())))
            .collect())
    }

    /// Fetches the objects of `refname` from `url`; see [`Repo::fetch_objects_all`].
    pub fn fetch_objects(&self, url: &str, refname: &str, expected: &[git2::Oid]) -> Result<()> {
        self.fetch_objects_all(url, &[refname.to_owned()], expected)
    }

    /// Fetches the objects of `refnames` from `url` (one `git fetch`)
    /// without creating a ref, a tag or FETCH_HEAD; the `expected` commits
    /// must then be there.
    pub fn fetch_objects_all(&self, url: &str, refnames: &[String], expected: &[git2::Oid]) -> Result<()> {
        let mut git = self.git_cli();
        git.args(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--", url]).args(refnames);
        let output = run(&mut git, "git fetch")?;
        if !output.status.success() {
            return Err(Error::Usage(format!(
                "fetching {} from {} failed: {}; nothing was changed",
                refnames.join(" "),
                terminal(url.as_bytes()),
                reason(&output.stderr)
            )));
        }
        if let Some(missing) = expected.iter().find(|oid| self.git().find_commit(**oid).is_err()) {
            return Err(Error::Usage(format!(
                "{} of {} moved while it was fetched (expected {missing}); run pick again",
                refnames.join(" "),
                terminal(url.as_bytes())
            )));
        }
        Ok(())
    }
}

/// Opens betadrift's own object cache at `dir` (a bare repository whose
/// alternates are the checkout's objects), if it exists.
pub fn open_object_cache(dir: &std::path::Path) -> Option<Repo> {
    git2::Repository::open_bare(dir).ok().map(Repo::from_git)
}

/// Fetches `refnames` from `url` into betadrift's object cache at `dir`
/// (created on first use: a bare repository borrowing `checkout`'s
/// objects), never into the checkout: the read-only commands compare
/// patch-ids with what Gerrit has without writing to the repository.
/// No ref, tag or FETCH_HEAD is written; a stalled transfer is given up.
pub fn fetch_into_object_cache(checkout: &Repo, dir: &std::path::Path, url: &str, refnames: &[String]) -> Result<Repo> {
    if !dir.join("objects").is_dir() {
        let init = run(Command::new("git").args(["init", "--bare", "--quiet"]).arg(dir), "git init")?;
        if !init.status.success() {
            return Err(Error::Usage(format!("cannot create {}: {}", dir.display(), reason(&init.stderr))));
        }
        let alternates = dir.join("objects/info/alternates");
        let objects = checkout.git_dir().join("objects");
        crate::support::files::write_atomic(&alternates, format!("{}\n", objects.display()).as_bytes())?;
    }
    let mut git = Command::new("git");
    git.arg("--git-dir").arg(dir);
    // A pack is kept as it came (no unpacking into loose objects), so
    // that no object of the checkout is written again (git would touch
    // its mtime).
    git.args(["-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=20", "-c", "gc.auto=0"]);
    git.args(["-c", "fetch.unpackLimit=1", "-c", "transfer.unpackLimit=1"]);
    git.args(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--", url]).args(refnames);
    let output = run(&mut git, "git fetch")?;
    if !output.status.success() {
        return Err(Error::Usage(format!("fetching into {} failed: {}", dir.display(), reason(&output.stderr))));
    }
    open_object_cache(dir).ok_or_else(|| Error::Usage(format!("cannot open {}", dir.display())))
}

/// A file's content and modification time, to put back as they were.
struct SavedFile(Option<(Vec<u8>, std::time::SystemTime)>);

impl SavedFile {
    fn read(path: &std::path::Path) -> SavedFile {
        let modified = std::fs::metadata(path).and_then(|m| m.modified());
        SavedFile(std::fs::read(path).ok().zip(modified.ok()))
    }

    /// Restores the file (or its absence); best effort, as git would leave
    /// it otherwise.
    fn restore(&self, path: &std::path::Path) {
        match &self.0 {
            None => {
                let _ = std::fs::remove_file(path);
            }
            Some((bytes, modified)) => {
                if std::fs::write(path, bytes).is_ok()
                    && let Ok(file) = std::fs::File::options().write(true).open(path)
                {
                    let _ = file.set_modified(*modified);
                }
            }
        }
    }
}

/// Runs `command` to completion, capturing its output; a missing program is
/// an error that says which (`what`) and how to install it.
pub(crate) fn run(command: &mut Command, what: &str) -> Result<Output> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).output().map_err(|e| {
        let program = command.get_program().to_string_lossy().into_owned();
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Usage(format!(
                "{what} needs `{program}`, which is not on PATH; install it (apt-get install {program})"
            ))
        } else {
            Error::Usage(format!("cannot run {what}: {e}"))
        }
    })
}

/// Why a program failed, in one line made safe for a terminal: its first
/// `fatal:` line (git follows it with advice), else the last line it wrote.
pub(crate) fn reason(stderr: &[u8]) -> String {
    let mut lines = stderr.split(|&b| b == b'\n').map(<[u8]>::trim_ascii).filter(|l| !l.is_empty());
    let fatal = lines.clone().find(|l| l.starts_with(b"fatal: "));
    match fatal.or_else(|| lines.next_back()) {
        Some(line) => terminal(line),
        None => "no message".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::reason;

    #[test]
    fn the_reason_is_gits_fatal_line_else_the_last() {
        let git = b"fatal: '/nonexistent' does not appear to be a git repository\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n";
        assert_eq!(reason(git), "fatal: '/nonexistent' does not appear to be a git repository");
        assert_eq!(
            reason(b"curl: (22) The requested URL returned error: 404\n"),
            "curl: (22) The requested URL returned error: 404"
        );
        assert_eq!(reason(b"\n \n"), "no message");
        assert_eq!(reason(b"fatal: \x1b[31mred\n"), "fatal: \\x1b[31mred");
    }
}
