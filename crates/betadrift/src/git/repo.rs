//! The repository handle: opening a checkout, its refs, HEAD and upstream,
//! commits as libgit2 reads them, and configuration.
//!
//! Everything above the git adapter works with plain data: object ids,
//! parsed trees, commit records. Here libgit2's errors become betadrift
//! errors that name the object or path involved, and "not found" becomes
//! `Option` where absence is normal. The handle's object reads and caches
//! are in [`crate::git::objects`], history walks in [`crate::git::history`],
//! the working-tree scan in [`crate::git::status`].

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use git2::{ErrorCode, ObjectType, Oid};
use jiff::Timestamp;

use crate::error::{Error, GitContext, Result};
use crate::git::commit::{CommitInfo, GitTime, Person};
use betadrift_engine::objects::{Blob, Tree};

/// The branch HEAD points at.
#[derive(Debug, Clone)]
pub struct HeadBranch {
    /// Short name, e.g. `production`.
    pub name: String,
    /// Full ref name, e.g. `refs/heads/production`.
    pub refname: String,
    pub oid: Oid,
}

/// The upstream the stack is compared with.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// What the user would call it: a ref name, a SHA file, a URL.
    pub name: String,
    /// The full ref name, when the upstream is a ref.
    pub refname: Option<String>,
    pub oid: Oid,
}

/// A repository opened for betadrift, with a cache of parsed trees.
pub struct Repo {
    git: git2::Repository,
    git_dir: PathBuf,
    workdir: Option<PathBuf>,
    pub(super) trees: RefCell<HashMap<Oid, Rc<Tree>>>,
    /// Recently read blobs (consecutive upstream commits share them).
    pub(super) blobs: RefCell<BlobCache>,
    mailmap: Option<git2::Mailmap>,
    pub(super) abbrev_len: OnceCell<usize>,
    /// The fast path for object reads, made at the first read; `None`
    /// inside when turned off (`BETADRIFT_LIBGIT2_READS`).
    pub(super) packs: OnceCell<Option<RefCell<betadrift_engine::pack::Reader>>>,
    /// The attributes files and merge drivers, read at the first merge
    /// ([`crate::git::attributes`]).
    pub(super) merge_setup: OnceCell<Rc<betadrift_engine::merge::MergeSetup>>,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo").field("git_dir", &self.git_dir).finish_non_exhaustive()
    }
}

impl Repo {
    /// Finds the repository containing `start` the way git does, and checks
    /// that it is a full, non-bare checkout.
    pub fn discover(start: &Path) -> Result<Repo> {
        let repo = Repo::discover_any(start)?;
        if repo.workdir.is_none() {
            return Err(Error::BareRepository { path: repo.git_dir.clone() });
        }
        if repo.git.is_shallow() {
            return Err(Error::ShallowRepository { path: repo.display_path().to_owned() });
        }
        let replaced = repo.replace_refs()?;
        if let Some(first) = replaced.first() {
            let first = crate::support::escape::terminal_short(first, 120);
            return Err(Error::ReplaceRefs { path: repo.display_path().to_owned(), first, count: replaced.len() });
        }
        Ok(repo)
    }

    /// Opens the repository containing `start`, bare or not.
    pub fn discover_any(start: &Path) -> Result<Repo> {
        refuse_repository_variables()?;
        let git = git2::Repository::discover(start).map_err(|e| match e.code() {
            ErrorCode::NotFound => Error::NotARepository { path: start.to_owned() },
            ErrorCode::Owner => not_owner(start),
            _ => Error::git(format!("opening {}", start.display()), e),
        })?;
        Ok(Repo::from_git(git))
    }

    /// Wraps an already opened libgit2 repository.
    pub fn from_git(git: git2::Repository) -> Repo {
        // libgit2 re-hashes every object it inflates to check its id; git
        // does not, and on a large history it costs more than the reads.
        git2::opts::strict_hash_verification(false);
        // betadrift keeps its own caches of what it parsed; libgit2 caching
        // the raw commits and small trees as well costs memory and locking.
        git2::opts::enable_caching(false);
        let git_dir = git.path().to_owned();
        // libgit2 opened it, so its owner passed git's ownership check
        // (safe.directory): the state files that owner left are theirs.
        if let Ok(meta) = std::fs::metadata(&git_dir) {
            crate::support::files::trust_owner(std::os::unix::fs::MetadataExt::uid(&meta));
        }
        let workdir = git.workdir().map(|w| w.components().collect::<PathBuf>());
        let mailmap = git.mailmap().ok();
        Repo {
            git,
            git_dir,
            workdir,
            trees: RefCell::new(HashMap::new()),
            blobs: RefCell::default(),
            mailmap,
            abbrev_len: Default::default(),
            packs: Default::default(),
            merge_setup: Default::default(),
        }
    }

    /// Opens the repository whose git directory is `git_dir`: a second
    /// handle, with caches of its own, for another thread (a `Repo` is not
    /// `Send`; [`crate::git::parallel`] passes [`Repo::git_dir`] across).
    pub(super) fn open_git_dir(git_dir: &Path) -> Result<Repo> {
        let git = git2::Repository::open(git_dir).map_err(|e| match e.code() {
            ErrorCode::Owner => not_owner(git_dir),
            _ => Error::git(format!("opening {}", git_dir.display()), e),
        })?;
        Ok(Repo::from_git(git))
    }

    /// The underlying libgit2 handle, for the modules that write (apply, fixtures).
    pub fn git(&self) -> &git2::Repository {
        &self.git
    }

    /// The `.git` directory.
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// The working tree, if any.
    pub fn workdir(&self) -> Option<&Path> {
        self.workdir.as_deref()
    }

    /// The path to show users: the working tree, else the git directory.
    pub fn display_path(&self) -> &Path {
        self.workdir.as_deref().unwrap_or(&self.git_dir)
    }

    /// The branch HEAD points at; an error if HEAD is detached or unborn.
    pub fn head_branch(&self) -> Result<HeadBranch> {
        let path = self.display_path().to_owned();
        let head = match self.git.head() {
            Ok(head) => head,
            Err(e) if e.code() == ErrorCode::UnbornBranch => {
                let branch = self
                    .git
                    .find_reference("HEAD")
                    .ok()
                    .and_then(|r| r.symbolic_target().ok().flatten().map(str::to_owned))
                    .unwrap_or_else(|| "HEAD".into());
                return Err(Error::UnbornBranch { path, branch });
            }
            Err(e) => return Err(Error::git("reading HEAD", e)),
        };
        let oid = head.target().ok_or_else(|| Error::Git {
            context: "reading HEAD".into(),
            message: "HEAD is a symbolic reference without a target".into(),
        })?;
        if !head.is_branch() {
            return match self.rebasing_branch()? {
                Some(branch) => Ok(branch),
                None => Err(Error::DetachedHead { path, oid: oid.to_string() }),
            };
        }
        let refname = String::from_utf8_lossy(head.name_bytes()).into_owned();
        let name = refname.strip_prefix("refs/heads/").unwrap_or(&refname).to_owned();
        Ok(HeadBranch { name, refname, oid })
    }

    /// During a rebase HEAD is detached; the branch being rebased is named in
    /// the rebase state directory and still points at the old stack.
    fn rebasing_branch(&self) -> Result<Option<HeadBranch>> {
        if self.operation_in_progress() != Some(Operation::Rebase) {
            return Ok(None);
        }
        for dir in ["rebase-merge", "rebase-apply"] {
            let Ok(text) = std::fs::read_to_string(self.git_dir.join(dir).join("head-name")) else { continue };
            let refname = text.trim().to_owned();
            let Some(name) = refname.strip_prefix("refs/heads/").map(str::to_owned) else { continue };
            let oid = self.git.refname_to_id(&refname).git_context(|| format!("reading {refname}"))?;
            return Ok(Some(HeadBranch { name, refname, oid }));
        }
        Ok(None)
    }

    /// Resolves the upstream: `spec` if given (any revision), else the
    /// branch's configured upstream, else `origin/<branch>`.
    pub fn resolve_upstream(&self, branch: &HeadBranch, spec: Option<&str>) -> Result<Upstream> {
        if let Some(spec) = spec {
            return self.resolve_revision(spec);
        }
        if let Some(up) = self.configured_upstream(branch) {
            return Ok(up);
        }
        let refname = format!("refs/remotes/origin/{}", branch.name);
        match self.git.refname_to_id(&refname) {
            Ok(oid) => Ok(Upstream {
                name: format!("origin/{}", branch.name),
                oid: self.peel_to_commit(oid, &refname)?,
                refname: Some(refname),
            }),
            Err(_) => Err(Error::UnknownUpstream {
                path: self.display_path().to_owned(),
                spec: format!("origin/{}", branch.name),
                hint: format!(
                    "branch {} has no upstream configured and there is no origin/{}; run `git fetch origin` or pass --upstream REV",
                    branch.name, branch.name
                ),
            }),
        }
    }

    fn configured_upstream(&self, branch: &HeadBranch) -> Option<Upstream> {
        let local = self.git.find_branch(&branch.name, git2::BranchType::Local).ok()?;
        let up = local.upstream().ok()?;
        let refname = String::from_utf8_lossy(up.get().name_bytes()).into_owned();
        let oid = up.get().target()?;
        let name = refname
            .strip_prefix("refs/remotes/")
            .or_else(|| refname.strip_prefix("refs/heads/"))
            .unwrap_or(&refname)
            .to_owned();
        Some(Upstream { name, refname: Some(refname.clone()), oid: self.peel_to_commit(oid, &refname).ok()? })
    }

    /// Resolves any revision (`origin/production`, a SHA, `HEAD~3`) to a commit.
    pub fn resolve_revision(&self, spec: &str) -> Result<Upstream> {
        let unknown =
            |hint: String| Error::UnknownUpstream { path: self.display_path().to_owned(), spec: spec.to_owned(), hint };
        let object = self.git.revparse_single(spec).map_err(|e| match e.code() {
            ErrorCode::NotFound | ErrorCode::InvalidSpec | ErrorCode::Ambiguous => {
                unknown(format!("{}; check the name or run `git fetch`", e.message()))
            }
            _ => Error::git(format!("resolving {spec}"), e),
        })?;
        let commit = object
            .peel_to_commit()
            .map_err(|_| unknown(format!("it names a {}, not a commit", kind_name(object.kind()))))?;
        let refname =
            self.git.resolve_reference_from_short_name(spec).ok().and_then(|r| r.name().ok().map(str::to_owned));
        Ok(Upstream { name: spec.to_owned(), refname, oid: commit.id() })
    }

    /// Checks that `oid` names a commit present in the repository.
    pub fn require_commit(&self, oid: Oid, source: &str) -> Result<Upstream> {
        match self.git.find_commit(oid) {
            Ok(_) => Ok(Upstream { name: source.to_owned(), refname: None, oid }),
            Err(_) => Err(Error::UnknownUpstream {
                path: self.display_path().to_owned(),
                spec: oid.to_string(),
                hint: format!("commit from {source} is not in this repository; run `git fetch origin` first"),
            }),
        }
    }

    /// The object `spec` names (an id or a prefix of one, a ref, any
    /// revision), unpeeled; `None` if it names nothing or is ambiguous.
    pub fn revparse_id(&self, spec: &str) -> Option<Oid> {
        self.git.revparse_single(spec).ok().map(|o| o.id())
    }

    fn peel_to_commit(&self, oid: Oid, name: &str) -> Result<Oid> {
        let object = self.git.find_object(oid, None).map_err(|e| self.missing(oid, name, e))?;
        object.peel_to_commit().map(|c| c.id()).map_err(|e| Error::git(format!("{name} does not point at a commit"), e))
    }

    /// Reads a commit, applying the mailmap to its author.
    pub fn commit(&self, oid: Oid) -> Result<CommitInfo> {
        let c = self.git.find_commit(oid).map_err(|e| self.missing(oid, "commit", e))?;
        let author_sig = c.author();
        let author = self.mailmapped(&author_sig);
        let committer_sig = c.committer();
        Ok(CommitInfo {
            oid,
            tree: c.tree_id(),
            parents: c.parent_ids().collect(),
            raw_author: person(&author_sig),
            author,
            author_time: git_time(author_sig.when()),
            committer: person(&committer_sig),
            commit_time: git_time(committer_sig.when()),
            message: c.message_raw_bytes().to_vec(),
            encoding: c.message_encoding().ok().flatten().map(str::to_owned),
        })
    }

    /// The message of a commit, without reading anything else.
    pub fn commit_message(&self, oid: Oid) -> Result<Vec<u8>> {
        let c = self.git.find_commit(oid).map_err(|e| self.missing(oid, "commit", e))?;
        Ok(c.message_raw_bytes().to_vec())
    }

    /// The tree and committer time of a commit, the cheap fields.
    pub fn commit_tree_and_time(&self, oid: Oid) -> Result<(Oid, Vec<Oid>, i64)> {
        let c = self.git.find_commit(oid).map_err(|e| self.missing(oid, "commit", e))?;
        Ok((c.tree_id(), c.parent_ids().collect(), c.time().seconds()))
    }

    fn mailmapped(&self, sig: &git2::Signature<'_>) -> Person {
        match &self.mailmap {
            Some(map) => map.resolve_signature(sig).map(|s| person(&s)).unwrap_or_else(|_| person(sig)),
            None => person(sig),
        }
    }

    /// The error for object `oid` (a `what`) that libgit2 could not read:
    /// [`Error::MissingObject`] when it is absent.
    pub(super) fn missing(&self, oid: Oid, what: &str, e: git2::Error) -> Error {
        if e.code() == ErrorCode::NotFound {
            Error::MissingObject { path: self.display_path().to_owned(), oid: oid.to_string(), what: what.to_owned() }
        } else {
            Error::git(format!("reading {what} {oid}"), e)
        }
    }

    /// When the repository last fetched (the mtime of `FETCH_HEAD`).
    pub fn last_fetch(&self) -> Option<Timestamp> {
        let meta = std::fs::metadata(self.git_dir.join("FETCH_HEAD")).ok()?;
        Timestamp::try_from(meta.modified().ok()?).ok()
    }

    /// Tags whose name starts with `prefix`, peeled to commits (tags of
    /// trees and blobs left out). A tag whose object cannot be read is an
    /// error naming it: left out, it would change the ages of patches.
    pub fn tags_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Oid)>> {
        let glob = format!("refs/tags/{prefix}*");
        let refs = self.git.references_glob(&glob).git_context(|| format!("listing {glob}"))?;
        let mut out = Vec::new();
        for r in refs {
            let r = r.git_context(|| format!("listing {glob}"))?;
            let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
            let short = name.strip_prefix("refs/tags/").unwrap_or(&name).to_owned();
            let Some(target) = r.resolve().ok().and_then(|r| r.target()) else { continue };
            let commit = self.peel_tag(target).map_err(|e| {
                Error::Usage(format!("snapshot tag {}: {e}", crate::support::escape::terminal(short.as_bytes())))
            })?;
            if let Some(commit) = commit {
                out.push((short, commit));
            }
        }
        Ok(out)
    }

    /// A string value from the repository's git config.
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.git.config().ok()?.get_string(key).ok()
    }
}

/// The error for a repository at or above `start` that another user owns,
/// naming that user as `/etc/passwd` does (else by uid).
/// git's variables that point git at another repository, work tree, index
/// or object store than the one betadrift finds from the directory.
const REPOSITORY_VARIABLES: [&str; 6] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
];

/// Refuses to run where git would use another repository than betadrift:
/// betadrift does not honour these variables, and would read (or rewrite)
/// the checkout of the current directory while git works on the other.
fn refuse_repository_variables() -> Result<()> {
    for name in REPOSITORY_VARIABLES {
        if let Some(value) = std::env::var_os(name) {
            return Err(Error::Usage(format!(
                "{name} is set ({}); betadrift finds the repository from the current directory (or --repo) and does not honour it: unset {name} and run it in the checkout",
                crate::support::escape::terminal_short(value.as_encoded_bytes(), 80)
            )));
        }
    }
    Ok(())
}

fn not_owner(start: &Path) -> Error {
    use std::os::unix::fs::MetadataExt;
    let mut dir = start.to_owned();
    // The repository's top: the first directory upwards holding `.git`, or
    // a git directory itself.
    let top = loop {
        if dir.join(".git").exists() || dir.join("HEAD").is_file() {
            break dir;
        }
        if !dir.pop() {
            break start.to_owned();
        }
    };
    let owner = match std::fs::metadata(&top) {
        Ok(meta) => user_name(meta.uid()).unwrap_or_else(|| format!("uid {}", meta.uid())),
        Err(_) => "another user".to_owned(),
    };
    Error::NotOwner { path: top, owner }
}

/// The name of user `uid` in `/etc/passwd`.
fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

fn person(sig: &git2::Signature<'_>) -> Person {
    Person { name: sig.name_bytes().to_vec(), email: sig.email_bytes().to_vec() }
}

fn git_time(t: git2::Time) -> GitTime {
    GitTime { seconds: t.seconds(), offset_minutes: t.offset_minutes() }
}

/// A git operation that is half-way done in the checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    Rebase,
    Merge,
    CherryPick,
    Revert,
    Bisect,
    ApplyMailbox,
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Operation::Rebase => "rebase",
            Operation::Merge => "merge",
            Operation::CherryPick => "cherry-pick",
            Operation::Revert => "revert",
            Operation::Bisect => "bisect",
            Operation::ApplyMailbox => "am",
        })
    }
}

#[derive(Debug, Default)]
pub(super) struct BlobCache {
    map: HashMap<Oid, Blob>,
    bytes: usize,
}

impl BlobCache {
    /// Memory the cache may use before it starts over.
    const BUDGET: usize = 64 << 20;

    pub(super) fn get(&self, oid: &Oid) -> Option<&Blob> {
        self.map.get(oid)
    }

    pub(super) fn insert(&mut self, oid: Oid, blob: Blob) {
        if self.bytes + blob.len() > Self::BUDGET {
            self.map.clear();
            self.bytes = 0;
        }
        self.bytes += blob.len();
        self.map.insert(oid, blob);
    }
}

/// The name git gives an object type in messages.
pub(super) fn kind_name(kind: Option<ObjectType>) -> &'static str {
    match kind {
        Some(ObjectType::Blob) => "blob",
        Some(ObjectType::Tree) => "tree",
        Some(ObjectType::Commit) => "commit",
        Some(ObjectType::Tag) => "tag",
        _ => "object",
    }
}
