//! The working tree and index after the branch moved: only the paths that
//! differ between the old and the new tree are touched, so a 10,000-file
//! puppet checkout is updated in milliseconds and nothing else is disturbed.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use git2::Oid;

use super::{Journal, Plan, Setup, fault_point};
use crate::error::{Error, Result};
use crate::git::repo::Repo;
use crate::git::verify_path::verify_path;
use crate::git::write::{INDEX_SCRATCH_PREFIX, IndexLock};
use betadrift_engine::objects::{Entry, Kind, ObjectRead, kind_of};
use betadrift_engine::patchid::{FileChange, diff_trees};

/// Refuses to rewrite over uncommitted work, over untracked files the new
/// tree would overwrite, or where git would apply content filters.
pub fn ensure_clean(repo: &Repo, objects: &dyn ObjectRead, plan: &Plan) -> Result<()> {
    let workdir = workdir(repo)?;
    let (from, to) = match &plan.recovering {
        Some(j) => (j.new_tree, plan.new_tree),
        None => (plan.old_tree, plan.new_tree),
    };
    let changes = diff_trees(objects, Some(from), Some(to))?;
    ensure_paths_valid(&changes)?;
    ensure_no_symlinked_leading_path(&workdir, &changes)?;
    let dirty = repo.dirty()?;
    let blocking: Vec<&Vec<u8>> = dirty.modified.iter().chain(&dirty.staged).chain(&dirty.conflicted).collect();
    match &plan.recovering {
        None if !blocking.is_empty() => {
            return Err(Error::Usage(format!(
                "{} has uncommitted changes ({}); commit or stash them first, nothing was changed",
                repo.display_path().display(),
                list(&blocking)
            )));
        }
        None => {}
        Some(j) => check_interrupted_state(repo, &workdir, j, &blocking)?,
    }
    // Untracked files at a new path or where a new path needs a
    // directory, and directories where a file goes that hold more than the
    // tracked files the rewrite removes (an old submodule's checkout,
    // ignored files): found now, before the branch moves.
    let removed: std::collections::HashSet<&[u8]> =
        changes.iter().filter(|c| c.new.is_none()).map(|c| c.path.as_slice()).collect();
    let untracked_in_the_way = |p: &[u8]| {
        dirty.untracked.iter().any(|u| {
            p == u.as_slice()
                || (u.ends_with(b"/") && p.starts_with(u))
                || (p.len() > u.len() && p.starts_with(u) && p[u.len()] == b'/')
        })
    };
    let in_the_way: Vec<&Vec<u8>> = changes
        .iter()
        .filter(|c| c.new.as_ref().is_some_and(|e| kind_of(e.mode) != Kind::Gitlink))
        .map(|c| &c.path)
        .filter(|p| untracked_in_the_way(p) || directory_in_the_way(&workdir, p, &removed))
        .collect();
    if !in_the_way.is_empty() && plan.recovering.is_none() {
        return Err(Error::Usage(format!(
            "untracked files or directories are in the way of the new tree ({}); move them away first, nothing was changed",
            list(&in_the_way)
        )));
    }
    ensure_no_filters(repo, &changes)
}

/// Refuses a tree git would not check out (git's `verify_path`): a `.git`
/// component in any spelling, `.`, `..` or an empty component. Both sides
/// are checked: a rewrite removes old paths as it writes new ones.
fn ensure_paths_valid(changes: &[FileChange]) -> Result<()> {
    for c in changes {
        if [&c.old, &c.new].into_iter().flatten().any(|e| !verify_path(&c.path, e.mode)) {
            return Err(invalid_path(&c.path));
        }
    }
    Ok(())
}

fn invalid_path(path: &[u8]) -> Error {
    Error::Usage(format!(
        "the rewrite would write {}, a path git refuses to check out (a .git component, . or .., or an empty name); nothing was changed",
        crate::support::escape::terminal_short(path, 120)
    ))
}

/// Refuses to write through a symbolic link (git's
/// `has_symlink_leading_path`): a link where a changed path needs a
/// directory would take the write outside the working tree. A tracked link
/// the rewrite itself removes is no obstacle: it is gone before the
/// directory is made.
fn ensure_no_symlinked_leading_path(workdir: &Path, changes: &[FileChange]) -> Result<()> {
    let removed_links: std::collections::HashSet<&[u8]> = changes
        .iter()
        .filter(|c| c.old.as_ref().is_some_and(|e| kind_of(e.mode) == Kind::Link))
        .filter(|c| c.new.as_ref().is_none_or(|e| kind_of(e.mode) != Kind::Link))
        .map(|c| c.path.as_slice())
        .collect();
    for c in changes {
        if let Some(link) = symlinked_leading_path(workdir, &c.path)
            && !removed_links.contains(link.as_slice())
        {
            return Err(symlink_in_the_way(&link, &c.path));
        }
    }
    Ok(())
}

fn symlink_in_the_way(link: &[u8], path: &[u8]) -> Error {
    Error::Usage(format!(
        "{} is a symbolic link where the tree has a directory (for {}); betadrift does not write through it, remove it first; nothing was changed",
        crate::support::escape::terminal_short(link, 120),
        crate::support::escape::terminal_short(path, 120)
    ))
}

/// git's `has_symlink_leading_path`: the first leading directory of `path`
/// that is a symbolic link in the working tree, if any. A leading path that
/// does not exist yet is made by the update; one that is a file fails it.
fn symlinked_leading_path(workdir: &Path, path: &[u8]) -> Option<Vec<u8>> {
    for (i, _) in path.iter().enumerate().filter(|(_, b)| **b == b'/') {
        let lead = &path[..i];
        match std::fs::symlink_metadata(workdir.join(bytes_path(lead))) {
            Ok(meta) if meta.file_type().is_symlink() => return Some(lead.to_vec()),
            Ok(meta) if meta.is_dir() => {}
            _ => return None,
        }
    }
    None
}

/// Makes the leading directories of `path`, one component at a time and
/// never through a symbolic link (a link planted since the check is refused
/// here too).
fn create_leading_dirs(workdir: &Path, path: &[u8]) -> Result<()> {
    for (i, _) in path.iter().enumerate().filter(|(_, b)| **b == b'/') {
        let lead = &path[..i];
        let full = workdir.join(bytes_path(lead));
        match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(symlink_in_the_way(lead, path)),
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(Error::Usage(format!("{} is a file where a directory goes", full.display()))),
            Err(_) => match std::fs::create_dir(&full) {
                Ok(()) => {}
                // Made meanwhile: looked at again on the next write.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io("creating", &full, e)),
            },
        }
    }
    Ok(())
}

/// After a crash, every changed path must hold either its old or its new
/// version; anything else was edited by hand and is not ours to overwrite.
fn check_interrupted_state(repo: &Repo, workdir: &Path, j: &Journal, blocking: &[&Vec<u8>]) -> Result<()> {
    let changes = diff_trees(repo, Some(j.old_tree), Some(j.new_tree))?;
    for path in blocking {
        if !changes.iter().any(|c| &&c.path == path) {
            return Err(Error::Usage(format!(
                "{} has uncommitted changes outside the interrupted {} ({}); resolve them by hand",
                repo.display_path().display(),
                j.command,
                crate::support::escape::terminal(path)
            )));
        }
    }
    for c in &changes {
        let on_disk = read_worktree(&workdir.join(bytes_path(&c.path)));
        // A missing path holds nobody's work: the rollback writes it back
        // (a killed betadrift of before 2026-12 could leave one).
        if on_disk.is_none() {
            continue;
        }
        let matches = |e: &Option<Entry>| -> Result<bool> {
            Ok(match (e, &on_disk) {
                (None, None) => true,
                (Some(e), Some((data, _))) => repo.blob(e.oid).map(|b| *b == **data).unwrap_or(false),
                _ => false,
            })
        };
        if !matches(&c.old)? && !matches(&c.new)? {
            return Err(Error::Usage(format!(
                "{} was edited after the interrupted {}; resolve it by hand",
                crate::support::escape::terminal(&c.path),
                j.command
            )));
        }
    }
    Ok(())
}

/// git would transform these paths on checkout; betadrift writes blobs as
/// they are, so it leaves such rewrites to git.
fn ensure_no_filters(repo: &Repo, changes: &[FileChange]) -> Result<()> {
    for c in changes.iter().filter(|c| c.new.is_some()) {
        for attr in ["filter", "ident", "working-tree-encoding"] {
            if let Some(value) = repo.attribute(&c.path, attr)
                && value != "false"
            {
                return Err(filter_error(&c.path, &format!("{attr}={value}")));
            }
        }
        if repo.attribute(&c.path, "eol").as_deref() == Some("crlf") {
            return Err(filter_error(&c.path, "eol=crlf"));
        }
    }
    if repo.config_string("core.autocrlf").is_some_and(|v| v == "true") {
        return Err(Error::Usage(
            "core.autocrlf is true in this repository; betadrift cannot rewrite it safely, use git".into(),
        ));
    }
    Ok(())
}

fn filter_error(path: &[u8], what: &str) -> Error {
    Error::Usage(format!(
        "{} has the git attribute {what}, which betadrift does not apply; use git for this rewrite",
        crate::support::escape::terminal(path)
    ))
}

fn list(paths: &[&Vec<u8>]) -> String {
    let mut shown: Vec<String> = paths.iter().take(5).map(|p| crate::support::escape::terminal_short(p, 80)).collect();
    if paths.len() > 5 {
        shown.push(format!("and {} more", paths.len() - 5));
    }
    shown.join(", ")
}

/// True if `path` is a directory in the working tree that still holds
/// something once the rewrite removed its tracked files.
fn directory_in_the_way(workdir: &Path, path: &[u8], removed: &std::collections::HashSet<&[u8]>) -> bool {
    fn holds_more(dir: &Path, relative: &[u8], removed: &std::collections::HashSet<&[u8]>) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else { return true };
        entries.flatten().any(|entry| {
            let mut child = relative.to_vec();
            child.push(b'/');
            child.extend_from_slice(entry.file_name().as_encoded_bytes());
            match entry.file_type() {
                Ok(t) if t.is_dir() => holds_more(&entry.path(), &child, removed),
                Ok(_) => !removed.contains(child.as_slice()),
                Err(_) => true,
            }
        })
    }
    let full = workdir.join(bytes_path(path));
    std::fs::symlink_metadata(&full).is_ok_and(|m| m.is_dir()) && holds_more(&full, path, removed)
}

fn workdir(repo: &Repo) -> Result<PathBuf> {
    repo.workdir().map(Path::to_owned).ok_or_else(|| Error::BareRepository { path: repo.git_dir().to_owned() })
}

/// Rewrites the paths that differ between `from` and `to` so the working
/// tree and index match `to`, under git's `index.lock` (`lock`, taken
/// before the branch moved; its inode is in the journal until the index is
/// written). With a journal
/// (recovery), paths may already be in either state, and the temporary
/// files and scratch index a killed rewrite left are removed.
pub fn update(
    setup: &Setup<'_>,
    record: &mut Journal,
    lock: IndexLock,
    from: Oid,
    to: Oid,
    recovering: Option<&Journal>,
) -> Result<()> {
    let repo = setup.repo;
    let workdir = workdir(repo)?;
    let changes = match recovering {
        Some(j) => diff_trees(repo, Some(j.new_tree), Some(j.old_tree))?,
        None => diff_trees(repo, Some(from), Some(to))?,
    };
    if recovering.is_some() {
        remove_leftovers(repo, &workdir, &changes)?;
    }
    let (removed, written): (Vec<&FileChange>, Vec<&FileChange>) = changes.iter().partition(|c| c.new.is_none());
    for c in &removed {
        let gitlink = c.old.as_ref().is_some_and(|e| kind_of(e.mode) == Kind::Gitlink);
        remove_path(&workdir, &c.path, gitlink)?;
    }
    for (i, c) in written.iter().enumerate() {
        if i == written.len() / 2 {
            fault_point("worktree-partial");
        }
        let Some(entry) = c.new.as_ref() else { continue };
        write_entry(repo, &workdir, &c.path, entry)?;
    }
    let removed: Vec<Vec<u8>> = removed.iter().map(|c| c.path.clone()).collect();
    let (gitlinks, files): (Vec<&FileChange>, Vec<&FileChange>) =
        written.iter().partition(|c| c.new.as_ref().is_some_and(|e| kind_of(e.mode) == Kind::Gitlink));
    let written: Vec<Vec<u8>> = files.iter().map(|c| c.path.clone()).collect();
    // A submodule's entry is its commit, as git stages it; its checkout is
    // left as it is (`git submodule update` moves it, as after a rebase).
    let gitlinks: Vec<(Vec<u8>, Oid)> =
        gitlinks.iter().filter_map(|c| Some((c.path.clone(), c.new.as_ref()?.oid))).collect();
    repo.update_index_locked(lock, &removed, &written, &gitlinks)?;
    record.index_lock = None;
    record.write(&setup.state_dir)
}

/// What a killed rewrite leaves besides the paths themselves: its
/// temporary files (`.betadrift-XXXXXX`, untracked, beside the paths it was
/// writing) and scratch index directories in the git directory.
fn remove_leftovers(repo: &Repo, workdir: &Path, changes: &[FileChange]) -> Result<()> {
    let mut dirs: Vec<PathBuf> = changes
        .iter()
        .map(|c| workdir.join(bytes_path(&c.path)).parent().map_or_else(|| workdir.to_owned(), Path::to_owned))
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.as_encoded_bytes();
            let ours = name.len() == TEMP_PREFIX.len() + 6 && name.starts_with(TEMP_PREFIX.as_bytes());
            if !ours || !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.path();
            let relative = path.strip_prefix(workdir).unwrap_or(&path);
            if !repo.index_has(relative.as_os_str().as_encoded_bytes())? {
                std::fs::remove_file(&path).map_err(|e| Error::io("removing", &path, e))?;
            }
        }
    }
    let git_dir = repo.git_dir();
    for entry in std::fs::read_dir(git_dir).map_err(|e| Error::io("reading", git_dir, e))?.flatten() {
        if entry.file_name().as_encoded_bytes().starts_with(INDEX_SCRATCH_PREFIX.as_bytes())
            && entry.file_type().is_ok_and(|t| t.is_dir())
        {
            let path = entry.path();
            std::fs::remove_dir_all(&path).map_err(|e| Error::io("removing", &path, e))?;
        }
    }
    Ok(())
}

/// The prefix of the temporary files the working-tree update writes and renames.
const TEMP_PREFIX: &str = ".betadrift-";

/// Writes one entry of the new tree; its path was checked (`verify_path`)
/// with the plan and is checked again here, as its leading directories are.
fn write_entry(repo: &Repo, workdir: &Path, path: &[u8], entry: &Entry) -> Result<()> {
    if !verify_path(path, entry.mode) {
        return Err(invalid_path(path));
    }
    let full = workdir.join(bytes_path(path));
    let parent = full.parent().unwrap_or(workdir);
    create_leading_dirs(workdir, path)?;
    match kind_of(entry.mode) {
        Kind::Gitlink => match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(Error::Usage(format!("{} is in the way of a submodule", full.display()))),
            Err(_) => std::fs::create_dir(&full).map_err(|e| Error::io("creating", &full, e)),
        },
        Kind::Link => {
            // Made under a temporary name and renamed over the path, like a
            // file: a kill leaves the old link or the new one, never none.
            let target = repo.blob(entry.oid)?;
            refuse_directory(&full)?;
            let temp = tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .make_in(parent, |temp| std::os::unix::fs::symlink(bytes_path(&target), temp))
                .map_err(|e| Error::io("creating symlink in", parent, e))?;
            temp.persist(&full).map_err(|e| Error::io("replacing", &full, e.error))?;
            Ok(())
        }
        Kind::File | Kind::Tree => {
            let data = repo.blob(entry.oid)?;
            let mut temp = tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .tempfile_in(parent)
                .map_err(|e| Error::io("creating a file in", parent, e))?;
            std::io::Write::write_all(&mut temp, &data).map_err(|e| Error::io("writing", &full, e))?;
            let mode = if entry.mode == betadrift_engine::objects::MODE_EXEC { 0o755 } else { 0o644 };
            temp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(|e| Error::io("setting mode of", &full, e))?;
            // rename(2) replaces the old file (or link) in one step: a kill
            // leaves the old content or the new, never no file.
            refuse_directory(&full)?;
            temp.persist(&full).map_err(|e| Error::io("replacing", &full, e.error))?;
            Ok(())
        }
    }
}

/// A directory where a file goes is never removed wholesale: it may hold
/// untracked files.
fn refuse_directory(full: &Path) -> Result<()> {
    match std::fs::symlink_metadata(full) {
        Ok(meta) if meta.is_dir() => Err(Error::Usage(format!(
            "{} is a directory in the way of a file; move what it holds away and run betadrift undo",
            full.display()
        ))),
        _ => Ok(()),
    }
}

/// Removes a file (or symlink) and any directories it leaves empty; a
/// submodule's directory only if it is empty (as git leaves a populated one).
fn remove_path(workdir: &Path, path: &[u8], gitlink: bool) -> Result<()> {
    if let Some(link) = symlinked_leading_path(workdir, path) {
        return Err(symlink_in_the_way(&link, path));
    }
    let full = workdir.join(bytes_path(path));
    if gitlink && std::fs::symlink_metadata(&full).is_ok_and(|m| m.is_dir()) {
        let _ = std::fs::remove_dir(&full);
    } else {
        remove_file_if_present(&full)?;
    }
    let mut dir = full.parent();
    while let Some(d) = dir {
        if d == workdir || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

fn remove_file_if_present(full: &Path) -> Result<()> {
    match std::fs::symlink_metadata(full) {
        // Never remove a directory wholesale: it may hold untracked files.
        Ok(meta) if meta.is_dir() => Err(Error::Usage(format!(
            "{} is a directory in the way of a file; move what it holds away and run betadrift undo",
            full.display()
        ))),
        Ok(_) => std::fs::remove_file(full).map_err(|e| Error::io("removing", full, e)),
        Err(_) => Ok(()),
    }
}

/// A working-tree file's content (a symlink's target) and whether it is a link.
fn read_worktree(full: &Path) -> Option<(Vec<u8>, bool)> {
    let meta = std::fs::symlink_metadata(full).ok()?;
    if meta.file_type().is_symlink() {
        use std::os::unix::ffi::OsStrExt;
        return Some((std::fs::read_link(full).ok()?.as_os_str().as_bytes().to_vec(), true));
    }
    std::fs::read(full).ok().map(|d| (d, false))
}

fn bytes_path(path: &[u8]) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(path))
}
