//! The writes a history rewrite needs: objects, references compared and
//! swapped, index entries. Everything else in betadrift only reads.

use std::path::Path;

use git2::{ErrorCode, ObjectType, Oid};

use super::repo::Repo;
use crate::error::{Error, GitContext, Result};
use betadrift_engine::objects::{Kind, ObjectRead, Overlay, kind_of};

/// A name and email as raw bytes, and the time, for a commit header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: Vec<u8>,
    pub email: Vec<u8>,
}

impl Repo {
    /// Writes every object of tree `root` that exists only in `overlay`
    /// (new merged blobs and trees) into the object database.
    pub fn persist_tree<R: ObjectRead>(&self, overlay: &Overlay<'_, R>, root: Oid) -> Result<()> {
        let odb = self.git().odb().git_context(|| "opening the object database".into())?;
        let mut stack = vec![root];
        while let Some(oid) = stack.pop() {
            let Some(tree) = overlay.own_tree(oid) else { continue };
            if odb.exists(oid) {
                continue;
            }
            for e in tree.iter() {
                let oid = e.oid();
                match kind_of(e.mode) {
                    Kind::Tree => stack.push(oid),
                    Kind::File | Kind::Link => {
                        if let Some(blob) = overlay.own_blob(oid)
                            && !odb.exists(oid)
                        {
                            self.write_object(&odb, ObjectType::Blob, &blob, oid)?;
                        }
                    }
                    Kind::Gitlink => {}
                }
            }
            self.write_object(&odb, ObjectType::Tree, &tree.serialize(), oid)?;
        }
        Ok(())
    }

    fn write_object(&self, odb: &git2::Odb<'_>, kind: ObjectType, data: &[u8], expected: Oid) -> Result<()> {
        let written = odb.write(kind, data).git_context(|| format!("writing object {expected}"))?;
        if written != expected {
            return Err(Error::Git {
                context: format!("writing object {expected}"),
                message: format!("the object database stored it as {written}"),
            });
        }
        Ok(())
    }

    /// Writes the commit `git rebase` writes when it picks `original` onto
    /// `parent` with the result `tree`: `original`'s author, its message as
    /// the sequencer rewrites it (re-encoded to UTF-8, leading blank lines
    /// dropped, invalid UTF-8 read as Latin-1: see
    /// [`rebased_author_and_message`](super::commit::rebased_author_and_message)),
    /// and a new committer. Signatures are not carried over.
    pub fn write_rebased_commit(
        &self,
        original: Oid,
        tree: Oid,
        parent: Oid,
        committer: &Ident,
        time: jiff::Timestamp,
    ) -> Result<Oid> {
        let odb = self.git().odb().git_context(|| "opening the object database".into())?;
        let raw = odb.read(original).map_err(|e| Error::git(format!("reading commit {original}"), e))?;
        let (author, message) = super::commit::rebased_author_and_message(raw.data());
        let mut body = format!("tree {tree}\nparent {parent}\n").into_bytes();
        if let Some(author) = author {
            body.extend_from_slice(b"author ");
            body.extend_from_slice(&author);
            body.push(b'\n');
        }
        super::commit::push_ident_line(&mut body, "committer", &committer.name, &committer.email, time.as_second());
        body.push(b'\n');
        body.extend_from_slice(&message);
        odb.write(ObjectType::Commit, &body).git_context(|| format!("writing the rebased {original}"))
    }

    /// Creates reference `name` at `oid`; fails if it exists.
    pub fn create_ref(&self, name: &str, oid: Oid, log: &str) -> Result<()> {
        match self.git().reference(name, oid, false, log) {
            Ok(_) => Ok(()),
            Err(e) if e.code() == ErrorCode::Exists => {
                Err(Error::Git { context: format!("creating {name}"), message: "it already exists".into() })
            }
            Err(e) => Err(Error::git(format!("creating {name}"), e)),
        }
    }

    /// Moves reference `name` from `expected` to `new`, atomically: fails
    /// (and changes nothing) if it no longer points at `expected`.
    pub fn compare_and_swap_ref(&self, name: &str, expected: Oid, new: Oid, log: &str) -> Result<()> {
        match self.git().reference_matching(name, new, true, expected, log) {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.code(), ErrorCode::Modified | ErrorCode::Locked) => Err(Error::Usage(format!(
                "{name} moved while betadrift was working (expected {expected}); nothing was changed, run the command again"
            ))),
            Err(e) => Err(Error::git(format!("updating {name}"), e)),
        }
    }

    /// Deletes reference `name` if it still points at `expected`.
    pub fn delete_ref(&self, name: &str, expected: Oid) -> Result<()> {
        let mut r = match self.git().find_reference(name) {
            Ok(r) => r,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(()),
            Err(e) => return Err(Error::git(format!("reading {name}"), e)),
        };
        if r.target() != Some(expected) {
            return Err(Error::Usage(format!("{name} moved; it was left as it is")));
        }
        r.delete().map_err(|e| Error::git(format!("deleting {name}"), e))
    }

    /// References under `prefix` (e.g. `refs/betadrift/backup/`), by name.
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<(String, Oid)>> {
        let glob = format!("{prefix}*");
        let mut out = Vec::new();
        for r in self.git().references_glob(&glob).git_context(|| format!("listing {glob}"))? {
            let r = r.git_context(|| format!("listing {glob}"))?;
            if let Some(oid) = r.target() {
                out.push((String::from_utf8_lossy(r.name_bytes()).into_owned(), oid));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The current target of a reference, if it exists.
    pub fn ref_target(&self, name: &str) -> Result<Option<Oid>> {
        match self.git().refname_to_id(name) {
            Ok(oid) => Ok(Some(oid)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(Error::git(format!("reading {name}"), e)),
        }
    }

    /// Updates index entries for paths whose working-tree files were just
    /// rewritten (or removed) and for submodules (`gitlinks`: path and
    /// commit, staged as git stages them, without stat data), and writes the
    /// index while `lock` (git's `index.lock`) is held: the new index is
    /// written in a scratch directory of the git directory and renamed over
    /// the index, then the lock is removed. No git command can write the
    /// index in between.
    pub fn update_index_locked(
        &self,
        lock: IndexLock,
        removed: &[Vec<u8>],
        written: &[Vec<u8>],
        gitlinks: &[(Vec<u8>, Oid)],
    ) -> Result<()> {
        let mut index = self.git().index().git_context(|| "reading the index".into())?;
        for path in removed {
            let p = bytes_path(path);
            match index.remove_path(p) {
                Ok(()) => {}
                Err(e) if e.code() == ErrorCode::NotFound => {}
                Err(e) => return Err(Error::git(format!("removing {} from the index", p.display()), e)),
            }
        }
        for path in written {
            let p = bytes_path(path);
            index.add_path(p).git_context(|| format!("adding {} to the index", p.display()))?;
        }
        for (path, commit) in gitlinks {
            let zero = git2::IndexTime::new(0, 0);
            let entry = git2::IndexEntry {
                ctime: zero,
                mtime: zero,
                dev: 0,
                ino: 0,
                mode: 0o160000,
                uid: 0,
                gid: 0,
                file_size: 0,
                id: *commit,
                flags: path.len().min(0xfff) as u16,
                flags_extended: 0,
                path: path.clone(),
            };
            let p = bytes_path(path);
            index.add(&entry).git_context(|| format!("staging submodule {} in the index", p.display()))?;
        }
        let git_dir = self.git_dir();
        let scratch = tempfile::Builder::new()
            .prefix(INDEX_SCRATCH_PREFIX)
            .tempdir_in(git_dir)
            .map_err(|e| Error::io("creating a scratch directory in", git_dir, e))?;
        let new_path = scratch.path().join("index");
        let mut new = git2::Index::open(&new_path).git_context(|| "creating the new index".into())?;
        new.set_version(index.version()).git_context(|| "setting the index version".into())?;
        for entry in index.iter() {
            new.add(&entry).git_context(|| "copying index entries".into())?;
        }
        new.write().git_context(|| "writing the new index".into())?;
        let target = git_dir.join("index");
        std::fs::rename(&new_path, &target).map_err(|e| Error::io("renaming the new index to", &target, e))?;
        lock.release()
    }

    /// True if the index has an entry for `path`.
    pub fn index_has(&self, path: &[u8]) -> Result<bool> {
        let index = self.git().index().git_context(|| "reading the index".into())?;
        Ok(index.get_path(bytes_path(path), 0).is_some())
    }

    /// Points the index at exactly `tree` and writes it (used when the
    /// working tree is known to match `tree`).
    pub fn reset_index_to(&self, tree: Oid) -> Result<()> {
        let mut index = self.git().index().git_context(|| "reading the index".into())?;
        let tree = self.git().find_tree(tree).git_context(|| format!("reading tree {tree}"))?;
        index.read_tree(&tree).git_context(|| "filling the index".into())?;
        index.write().git_context(|| "writing the index".into())
    }

    /// The committer identity from the repository's git config, if set.
    pub fn config_identity(&self) -> Option<Ident> {
        let sig = self.git().signature().ok()?;
        Some(Ident { name: sig.name_bytes().to_vec(), email: sig.email_bytes().to_vec() })
    }

    /// The remote a branch tracks (`branch.<name>.remote`), else `origin`.
    pub fn branch_remote(&self, branch: &str) -> String {
        self.config_string(&format!("branch.{branch}.remote")).unwrap_or_else(|| "origin".into())
    }

    /// A git attribute of a path (`filter`, `eol`, …), if set.
    pub fn attribute(&self, path: &[u8], name: &str) -> Option<String> {
        let value = self.git().get_attr(bytes_path(path), name, git2::AttrCheckFlags::FILE_THEN_INDEX).ok()??;
        Some(value.to_owned())
    }
}

fn bytes_path(path: &[u8]) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(path))
}

/// Scratch directories of [`Repo::update_index_locked`] start with this.
pub const INDEX_SCRATCH_PREFIX: &str = "betadrift-index-";

/// git's `index.lock`, taken as git takes it (created exclusively): while it
/// exists no git command writes the index or the working tree. Removed when
/// released or dropped; a SIGKILL leaves it, and the journal records its
/// inode so that `undo` removes that file and no other.
#[derive(Debug)]
pub struct IndexLock {
    path: std::path::PathBuf,
    /// The inode of the lock file.
    pub inode: u64,
    held: bool,
}

impl IndexLock {
    /// Takes `index.lock` in `git_dir`; fails if it exists (git is running).
    pub fn take(git_dir: &std::path::Path) -> Result<IndexLock> {
        use std::os::unix::fs::MetadataExt;
        let path = git_dir.join("index.lock");
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Usage(format!(
                    "{} exists: git is running in this checkout (or crashed); wait for it, or remove the file if no git process is running",
                    path.display()
                ))
            } else {
                Error::io("creating", &path, e)
            }
        })?;
        let inode = file.metadata().map_err(|e| Error::io("reading metadata of", &path, e))?.ino();
        Ok(IndexLock { path, inode, held: true })
    }

    /// Removes the lock file.
    pub fn release(mut self) -> Result<()> {
        self.held = false;
        std::fs::remove_file(&self.path).map_err(|e| Error::io("removing", &self.path, e))
    }

    /// Removes `index.lock` in `git_dir` if it is the file with `inode` (a
    /// lock a killed betadrift left); any other is git's and stays.
    pub fn remove_stale(git_dir: &std::path::Path, inode: u64) -> Result<bool> {
        use std::os::unix::fs::MetadataExt;
        let path = git_dir.join("index.lock");
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() && meta.ino() == inode => {
                std::fs::remove_file(&path).map_err(|e| Error::io("removing", &path, e))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        if self.held {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
