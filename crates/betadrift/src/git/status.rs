//! What is uncommitted or half-done in the checkout.
//!
//! The working-tree scan asks `git status` first, as a subprocess: it is what
//! the admin compares with, and on a large checkout git, trusting the index's
//! cache tree, is much faster than libgit2, which re-reads every tree of HEAD.
//! Its porcelain v2 output is parsed here; libgit2 answers only when git
//! cannot. The scan runs on its own thread in `status` and `report`, so it
//! also works from the repository's paths alone ([`dirty_at`]).

use std::path::Path;

use crate::error::{Error, GitContext, Result};
use crate::git::repo::{Operation, Repo};

/// Uncommitted state of the working tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dirty {
    /// Tracked files changed in the working tree but not staged.
    pub modified: Vec<Vec<u8>>,
    /// Paths with staged changes.
    pub staged: Vec<Vec<u8>>,
    /// Files git does not track and does not ignore.
    pub untracked: Vec<Vec<u8>>,
    /// Paths with unresolved merge conflicts.
    pub conflicted: Vec<Vec<u8>>,
}

impl Dirty {
    /// Whether tracked content differs from HEAD (untracked files do not count,
    /// as for `git rebase`).
    pub fn blocks_rewrite(&self) -> bool {
        !self.modified.is_empty() || !self.staged.is_empty() || !self.conflicted.is_empty()
    }
}

impl Repo {
    /// What is uncommitted in the working tree.
    ///
    /// This asks `git status` (with `--no-optional-locks`, so that it never
    /// refreshes the index): it is what the admin compares with, and on a
    /// large checkout it takes a third of libgit2's time, which re-reads
    /// every tree of HEAD where git trusts the index's cache tree. Without
    /// a usable `git`, libgit2 answers.
    pub fn dirty(&self) -> Result<Dirty> {
        if let Some(dirty) = self.dirty_by_git(std::process::Command::new("git")) {
            return Ok(dirty);
        }
        self.dirty_by_libgit2()
    }

    /// [`Repo::dirty`] by `git status`, run as `git` (a program, with its
    /// environment), or `None` if git cannot say ([`dirty_by_git_at`]).
    pub fn dirty_by_git(&self, git: std::process::Command) -> Option<Dirty> {
        dirty_by_git_at(git, self.git_dir(), self.workdir()?)
    }

    /// [`Repo::dirty`] by libgit2 alone. HEAD's commit and trees are read
    /// by betadrift's reader first: libgit2's spins on a truncated loose
    /// object and crashes on a damaged pack index, and `git status` failing
    /// on such damage is what brings us here.
    pub fn dirty_by_libgit2(&self) -> Result<Dirty> {
        self.read_head_trees()?;
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(false)
            .include_ignored(false)
            .exclude_submodules(true)
            .renames_head_to_index(false);
        let statuses = self.git().statuses(Some(&mut opts)).git_context(|| "reading status".into())?;
        let mut dirty = Dirty::default();
        for entry in statuses.iter() {
            let s = entry.status();
            let path = entry.path_bytes().to_vec();
            if s.is_conflicted() {
                dirty.conflicted.push(path);
                continue;
            }
            if s.intersects(
                git2::Status::INDEX_NEW
                    | git2::Status::INDEX_MODIFIED
                    | git2::Status::INDEX_DELETED
                    | git2::Status::INDEX_RENAMED
                    | git2::Status::INDEX_TYPECHANGE,
            ) {
                dirty.staged.push(path.clone());
            }
            if s.intersects(
                git2::Status::WT_MODIFIED
                    | git2::Status::WT_DELETED
                    | git2::Status::WT_TYPECHANGE
                    | git2::Status::WT_RENAMED,
            ) {
                dirty.modified.push(path.clone());
            }
            if s.contains(git2::Status::WT_NEW) {
                dirty.untracked.push(path);
            }
        }
        Ok(dirty)
    }

    /// The git operation in progress in the checkout, if any.
    pub fn operation_in_progress(&self) -> Option<Operation> {
        use git2::RepositoryState as S;
        match self.git().state() {
            S::Clean => None,
            S::Merge => Some(Operation::Merge),
            S::Revert | S::RevertSequence => Some(Operation::Revert),
            S::CherryPick | S::CherryPickSequence => Some(Operation::CherryPick),
            S::Bisect => Some(Operation::Bisect),
            S::Rebase | S::RebaseInteractive | S::RebaseMerge | S::ApplyMailboxOrRebase => Some(Operation::Rebase),
            S::ApplyMailbox => Some(Operation::ApplyMailbox),
        }
    }
}

/// [`Repo::dirty`] from another thread, by the repository's paths (a `Repo`
/// is not `Send`): git answers without the repository being opened here;
/// libgit2, opening it, only if git cannot.
pub fn dirty_at(git_dir: &Path, workdir: Option<&Path>) -> Result<Dirty> {
    let workdir = workdir.ok_or_else(|| Error::BareRepository { path: git_dir.to_owned() })?;
    match dirty_by_git_at(std::process::Command::new("git"), git_dir, workdir) {
        Some(dirty) => Ok(dirty),
        None => Repo::open_git_dir(git_dir)?.dirty_by_libgit2(),
    }
}

/// What is uncommitted in `workdir`, by `git status`, run as `git` (a
/// program, with its environment), or `None` if git cannot say: not
/// installed, or git refuses the repository (ownership, an extension it
/// does not know). Porcelain v2, NUL-separated, so that any path comes
/// through intact.
fn dirty_by_git_at(mut git: std::process::Command, git_dir: &Path, workdir: &Path) -> Option<Dirty> {
    let output = git
        .arg("--git-dir")
        .arg(git_dir)
        .arg("--work-tree")
        .arg(workdir)
        .args([
            // git's threads that stat the index in parallel would take
            // the second core from betadrift's own (a fifth of git's CPU
            // time on operations/puppet, for no gain in wall time).
            "-c",
            "core.preloadIndex=false",
            "--no-optional-locks",
            "status",
            "--porcelain=v2",
            "-z",
            "--untracked-files=normal",
            // A submodule whose commit is staged or checked out at
            // another commit is a change; one with edits inside is not
            // ours to see (git rebase ignores submodules altogether, but
            // a rewrite restages gitlinks and would lose a staged one).
            "--ignore-submodules=dirty",
            "--no-renames",
        ])
        .current_dir(workdir)
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_OBJECT_DIRECTORY")
        .env_remove("GIT_COMMON_DIR")
        // A partial clone must not go to the network for a blob.
        .env("GIT_NO_LAZY_FETCH", "1")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    parse_porcelain_v2(&output.stdout)
}

/// Reads `git status --porcelain=v2 -z` output; `None` for a record it does
/// not know, so that the caller asks libgit2 instead.
///
/// Rename records (`2`) are skipped, but their original path, the NUL
/// record after them, is not: git is run with `--no-renames`, so none come.
fn parse_porcelain_v2(out: &[u8]) -> Option<Dirty> {
    let mut dirty = Dirty::default();
    for record in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        // Fields are separated by single spaces; the path is the last one
        // and may itself contain spaces.
        let field = |n: usize| record.splitn(n + 1, |&b| b == b' ').nth(n);
        match record.first()? {
            b'1' => {
                let xy = field(1)?;
                let path = field(8)?.to_vec();
                if xy.first()? != &b'.' {
                    dirty.staged.push(path.clone());
                }
                if xy.get(1)? != &b'.' {
                    dirty.modified.push(path);
                }
            }
            b'u' => dirty.conflicted.push(field(10)?.to_vec()),
            b'?' => dirty.untracked.push(record.get(2..)?.to_vec()),
            b'2' | b'!' | b'#' => {}
            _ => return None,
        }
    }
    Some(dirty)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "e69de29bb2d1d6434b8b29ae775a7a6af56fee1b";

    /// An ordinary changed entry: `1 XY sub mH mI mW hH hI path`.
    fn changed(xy: &str, path: &[u8]) -> Vec<u8> {
        let mut r = format!("1 {xy} N... 100644 100644 100644 {H} {H} ").into_bytes();
        r.extend_from_slice(path);
        r
    }

    /// An unmerged entry: `u XY sub m1 m2 m3 mW h1 h2 h3 path`.
    fn unmerged(xy: &str, path: &[u8]) -> Vec<u8> {
        let mut r = format!("u {xy} N... 100644 100644 100644 100644 {H} {H} {H} ").into_bytes();
        r.extend_from_slice(path);
        r
    }

    /// Records as `-z` writes them: each followed by a NUL.
    fn z(records: &[&[u8]]) -> Vec<u8> {
        records.iter().flat_map(|r| r.iter().copied().chain([0])).collect()
    }

    fn paths(list: &[&[u8]]) -> Vec<Vec<u8>> {
        list.iter().map(|p| p.to_vec()).collect()
    }

    #[test]
    fn nothing_to_report_is_clean() {
        assert_eq!(parse_porcelain_v2(b""), Some(Dirty::default()));
        let headers = z(&[b"# branch.oid 0123", b"# branch.head production", b"! ignored.log"]);
        assert_eq!(parse_porcelain_v2(&headers), Some(Dirty::default()));
    }

    #[test]
    fn the_two_status_letters_say_staged_and_modified() {
        let out = z(&[
            &changed(".M", b"worktree-only"),
            &changed("M.", b"index-only"),
            &changed("MM", b"both"),
            &changed("A.", b"added"),
            &changed(".D", b"deleted"),
            &changed("D.", b"removed"),
            &changed("T.", b"typechange"),
        ]);
        let dirty = parse_porcelain_v2(&out).unwrap();
        assert_eq!(dirty.staged, paths(&[b"index-only", b"both", b"added", b"removed", b"typechange"]));
        assert_eq!(dirty.modified, paths(&[b"worktree-only", b"both", b"deleted"]));
        assert!(dirty.untracked.is_empty() && dirty.conflicted.is_empty());
        assert!(dirty.blocks_rewrite());
    }

    #[test]
    fn unmerged_and_untracked_paths() {
        let out = z(&[&unmerged("UU", b"both/modified.pp"), &unmerged("AU", b"added by us"), b"? new file.txt"]);
        let dirty = parse_porcelain_v2(&out).unwrap();
        assert_eq!(dirty.conflicted, paths(&[b"both/modified.pp", b"added by us"]));
        assert_eq!(dirty.untracked, paths(&[b"new file.txt"]));
        assert!(dirty.staged.is_empty() && dirty.modified.is_empty());
        let untracked_only = parse_porcelain_v2(&z(&[b"? dir/"])).unwrap();
        assert!(!untracked_only.blocks_rewrite(), "untracked files do not block a rewrite");
    }

    #[test]
    fn odd_paths_come_through_byte_for_byte() {
        let odd: [&[u8]; 6] =
            [b"two  spaces", b" leading space", b"trailing space ", b"new\nline", b"caf\xe9\xff", b"tab\there"];
        let mut records: Vec<Vec<u8>> = odd.iter().map(|p| changed(".M", p)).collect();
        records.extend(odd.iter().map(|p| unmerged("UU", p)));
        records.extend(odd.iter().map(|p| [b"? ".as_slice(), p].concat()));
        let dirty = parse_porcelain_v2(&z(&records.iter().map(Vec::as_slice).collect::<Vec<_>>())).unwrap();
        assert_eq!(dirty.modified, paths(&odd));
        assert_eq!(dirty.conflicted, paths(&odd));
        assert_eq!(dirty.untracked, paths(&odd));
    }

    #[test]
    fn a_rename_record_is_skipped_and_its_original_path_is_not_understood() {
        let rename = format!("2 R. N... 100644 100644 100644 {H} {H} R100 new name");
        // git is run with --no-renames; were a rename to come, the original
        // path after it is an unknown record and git's answer is not used.
        assert_eq!(parse_porcelain_v2(&z(&[rename.as_bytes(), b"old name"])), None);
        assert_eq!(parse_porcelain_v2(&z(&[rename.as_bytes()])), Some(Dirty::default()));
    }

    #[test]
    fn records_it_cannot_read_make_it_give_up() {
        assert_eq!(parse_porcelain_v2(&z(&[b"X what is this"])), None);
        assert_eq!(parse_porcelain_v2(&z(&[b"1 .M N... 100644"])), None, "a changed entry without a path");
        assert_eq!(parse_porcelain_v2(&z(&[b"1 M"])), None, "one status letter");
        assert_eq!(parse_porcelain_v2(&z(&[b"u UU N... 100644 100644 100644 100644 h h h"])), None);
        assert_eq!(parse_porcelain_v2(&z(&[b"?"])), None, "an untracked entry without a path");
    }
}
