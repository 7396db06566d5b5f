//! The only module that talks to libgit2.
//!
//! Everything above this module works with plain data: object ids, parsed
//! trees, commit records. Here libgit2's errors become betadrift errors that
//! name the object or path involved, "not found" becomes `Option` where
//! absence is normal, and trees are parsed once into a cache, because the
//! status scan and the rebase prediction walk the same trees many times.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use git2::{ErrorCode, ObjectType, Oid};
use jiff::Timestamp;

use crate::error::{Error, GitContext, Result};
use betadrift_engine::objects::{Blob, Entry, ObjectRead, Tree};

/// A person as recorded in a commit: raw bytes, possibly not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Person {
    pub name: Vec<u8>,
    pub email: Vec<u8>,
}

/// A point in time as git records it: seconds since the epoch and the offset
/// of the author's clock, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GitTime {
    pub seconds: i64,
    pub offset_minutes: i32,
}

impl GitTime {
    /// The instant, ignoring the offset.
    pub fn timestamp(self) -> Timestamp {
        Timestamp::from_second(self.seconds).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// One commit, read once.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub oid: Oid,
    pub tree: Oid,
    pub parents: Vec<Oid>,
    /// Author after mailmap.
    pub author: Person,
    /// Author exactly as recorded.
    pub raw_author: Person,
    pub author_time: GitTime,
    pub committer: Person,
    pub commit_time: GitTime,
    /// The raw message bytes (encoding header not applied).
    pub message: Vec<u8>,
}

/// The fields of a commit that history walks need.
#[derive(Debug, Clone)]
pub struct RawCommit {
    pub oid: Oid,
    pub tree: Oid,
    pub parents: Vec<Oid>,
    /// Committer time, seconds since the epoch.
    pub time: i64,
    /// Author time, seconds since the epoch.
    pub author_time: i64,
    pub message: Vec<u8>,
}

impl RawCommit {
    /// Parses a commit object body.
    fn parse(oid: Oid, data: &[u8]) -> Option<RawCommit> {
        let split = memchr::memmem::find(data, b"\n\n");
        let (header, message) = match split {
            Some(i) => (&data[..i], data[i + 2..].to_vec()),
            None => (data, Vec::new()),
        };
        let mut tree = None;
        let mut parents = Vec::new();
        let mut time = 0;
        let mut author_time = 0;
        let when = |rest: &[u8]| -> Option<i64> {
            let close = rest.iter().rposition(|&b| b == b'>')?;
            std::str::from_utf8(&rest[close + 1..]).ok()?.split_whitespace().next()?.parse().ok()
        };
        for line in header.split(|&b| b == b'\n') {
            if let Some(hex) = line.strip_prefix(b"tree ") {
                tree = Oid::from_str(std::str::from_utf8(hex).ok()?).ok();
            } else if let Some(hex) = line.strip_prefix(b"parent ") {
                parents.push(Oid::from_str(std::str::from_utf8(hex).ok()?).ok()?);
            } else if let Some(rest) = line.strip_prefix(b"committer ") {
                time = when(rest)?;
            } else if let Some(rest) = line.strip_prefix(b"author ") {
                author_time = when(rest)?;
            }
        }
        Some(RawCommit { oid, tree: tree?, parents, time, author_time, message })
    }
}

/// Two linear histories and where they meet.
#[derive(Debug, Clone)]
pub struct Histories {
    pub merge_base: Oid,
    /// HEAD's commits above the merge base, oldest first.
    pub local: Vec<RawCommit>,
    /// Upstream's commits above the merge base, oldest first.
    pub upstream: Vec<RawCommit>,
}

/// Blobs kept in memory, forgotten wholesale past a size budget.
#[derive(Debug, Default)]
struct BlobCache {
    map: HashMap<Oid, Blob>,
    bytes: usize,
}

impl BlobCache {
    /// Memory the cache may use before it starts over.
    const BUDGET: usize = 64 << 20;

    fn get(&self, oid: &Oid) -> Option<&Blob> {
        self.map.get(oid)
    }

    fn insert(&mut self, oid: Oid, blob: Blob) {
        if self.bytes + blob.len() > Self::BUDGET {
            self.map.clear();
            self.bytes = 0;
        }
        self.bytes += blob.len();
        self.map.insert(oid, blob);
    }
}

/// How many commits [`Repo::linear_histories`] reads before giving up.
const MAX_LINEAR_WALK: usize = 500_000;

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
    trees: RefCell<HashMap<Oid, Rc<Tree>>>,
    /// Recently read blobs (consecutive upstream commits share them).
    blobs: RefCell<BlobCache>,
    mailmap: Option<git2::Mailmap>,
    abbrev_len: std::cell::OnceCell<usize>,
    /// The fast path for object reads, made at the first read; `None`
    /// inside when turned off (`BETADRIFT_LIBGIT2_READS`).
    packs: std::cell::OnceCell<Option<RefCell<betadrift_engine::pack::Reader>>>,
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
        Ok(repo)
    }

    /// Opens the repository containing `start`, bare or not.
    pub fn discover_any(start: &Path) -> Result<Repo> {
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
        }
    }

    /// Opens the repository whose git directory is `git_dir`: a second
    /// handle, with caches of its own, for another thread (a `Repo` is not
    /// `Send`; pass [`Repo::git_dir`] across).
    pub fn open_git_dir(git_dir: &Path) -> Result<Repo> {
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

    fn peel_to_commit(&self, oid: Oid, name: &str) -> Result<Oid> {
        let object = self.git.find_object(oid, None).map_err(|e| self.missing(oid, name, e))?;
        object.peel_to_commit().map(|c| c.id()).map_err(|e| Error::git(format!("{name} does not point at a commit"), e))
    }

    /// The best common ancestor of two commits.
    pub fn merge_base(&self, a: Oid, b: Oid) -> Result<Option<Oid>> {
        match self.git.merge_base(a, b) {
            Ok(oid) => Ok(Some(oid)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(Error::git(format!("merge base of {a} and {b}"), e)),
        }
    }

    /// Whether `ancestor` is reachable from `descendant` (or equal to it).
    pub fn is_ancestor(&self, ancestor: Oid, descendant: Oid) -> Result<bool> {
        if ancestor == descendant {
            return Ok(true);
        }
        self.git
            .graph_descendant_of(descendant, ancestor)
            .git_context(|| format!("ancestry of {ancestor} and {descendant}"))
    }

    /// Commits reachable from `tip` but not from any of `hide`, oldest first,
    /// in topological order (as `git rev-list --topo-order --reverse`).
    pub fn commits_between(&self, hide: &[Oid], tip: Oid) -> Result<Vec<Oid>> {
        self.walk(hide, tip, git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
    }

    /// Commits reachable from `tip` but not from `hide`, newest first.
    pub fn commits_newest_first(&self, hide: &[Oid], tip: Oid) -> Result<Vec<Oid>> {
        self.walk(hide, tip, git2::Sort::TOPOLOGICAL)
    }

    fn walk(&self, hide: &[Oid], tip: Oid, sort: git2::Sort) -> Result<Vec<Oid>> {
        let ctx = || format!("walking history from {tip}");
        let mut walk = self.git.revwalk().git_context(ctx)?;
        walk.set_sorting(sort).git_context(ctx)?;
        walk.push(tip).git_context(ctx)?;
        for &h in hide {
            walk.hide(h).git_context(ctx)?;
        }
        walk.map(|r| r.git_context(ctx)).collect()
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
        })
    }

    /// The message of a commit, without reading anything else.
    pub fn commit_message(&self, oid: Oid) -> Result<Vec<u8>> {
        let c = self.git.find_commit(oid).map_err(|e| self.missing(oid, "commit", e))?;
        Ok(c.message_raw_bytes().to_vec())
    }

    /// Reads a commit's header and message straight from the object
    /// database, without signatures or mailmap: the fast path for walking
    /// thousands of upstream commits.
    pub fn raw_commit(&self, oid: Oid) -> Result<RawCommit> {
        let data = self.read_object(oid, ObjectType::Commit)?;
        RawCommit::parse(oid, &data)
            .ok_or_else(|| Error::Git { context: format!("parsing commit {oid}"), message: "malformed header".into() })
    }

    /// The body of object `oid`, which must be of type `want`: from the
    /// pack reader ([`betadrift_engine::pack`]) when it can, else through libgit2,
    /// which names what is missing or broken.
    fn read_object(&self, oid: Oid, want: ObjectType) -> Result<Rc<[u8]>> {
        let what = kind_name(Some(want));
        let fast = self.packs.get_or_init(|| {
            if std::env::var_os("BETADRIFT_LIBGIT2_READS").is_some() {
                return None;
            }
            let store = betadrift_engine::pack::Store::shared(&self.git.commondir().join("objects"));
            Some(RefCell::new(betadrift_engine::pack::Reader::new(store)))
        });
        let id: &[u8; 20] = oid.as_bytes().try_into().expect("SHA-1 ids are 20 bytes");
        // An object of another type than asked for is read again by
        // libgit2, whose answer (or error) stands.
        let (kind, data) = match fast.as_ref().and_then(|r| r.borrow_mut().read(id)).filter(|(kind, _)| *kind == want) {
            Some(found) => found,
            None => {
                let odb = self.git.odb().git_context(|| "opening the object database".into())?;
                let obj = odb.read(oid).map_err(|e| self.missing(oid, what, e))?;
                (obj.kind(), Rc::from(obj.data()))
            }
        };
        if kind != want {
            return Err(Error::Git {
                context: format!("reading {what} {oid}"),
                message: format!("it is a {}", kind_name(Some(kind))),
            });
        }
        Ok(data)
    }

    /// Walks the first-parent chains of `head` and `upstream` together, as
    /// far as their meeting point. `None` when a merge commit makes the
    /// history non-linear (callers fall back to a full revision walk).
    pub fn linear_histories(&self, head: Oid, upstream: Oid) -> Result<Option<Histories>> {
        let mut sides: [(Option<Oid>, Vec<RawCommit>); 2] = [(Some(head), Vec::new()), (Some(upstream), Vec::new())];
        let mut seen: [HashMap<Oid, usize>; 2] = Default::default();
        let mut current: [Option<RawCommit>; 2] = [None, None];
        for _ in 0..MAX_LINEAR_WALK {
            for s in 0..2 {
                if current[s].is_none()
                    && let Some(oid) = sides[s].0
                {
                    current[s] = Some(self.raw_commit(oid)?);
                }
            }
            // Advance the side whose next commit is newer.
            let s = match (&current[0], &current[1]) {
                (Some(a), Some(b)) => usize::from(b.time > a.time),
                (Some(_), None) => 0,
                (None, Some(_)) => 1,
                (None, None) => return Ok(None),
            };
            let commit = current[s].take().expect("chosen side has a commit");
            if commit.parents.len() > 1 {
                return Ok(None);
            }
            if let Some(&at) = seen[1 - s].get(&commit.oid) {
                let base = commit.oid;
                let mut other = std::mem::take(&mut sides[1 - s].1);
                other.truncate(at);
                let mut this = std::mem::take(&mut sides[s].1);
                this.reverse();
                other.reverse();
                let (local, upstream_side) = if s == 0 { (this, other) } else { (other, this) };
                return Ok(Some(Histories { merge_base: base, local, upstream: upstream_side }));
            }
            seen[s].insert(commit.oid, sides[s].1.len());
            sides[s].0 = commit.parents.first().copied();
            sides[s].1.push(commit);
        }
        Ok(None)
    }

    /// The tree and committer time of a commit, the cheap fields.
    pub fn commit_tree_and_time(&self, oid: Oid) -> Result<(Oid, Vec<Oid>, i64)> {
        let c = self.git.find_commit(oid).map_err(|e| self.missing(oid, "commit", e))?;
        Ok((c.tree_id(), c.parent_ids().collect(), c.time().seconds()))
    }

    /// The body of tree `oid`, past the cache of parsed trees: for scans
    /// that look at a few entries of thousands of trees, once each, where
    /// parsing and keeping every tree would cost more than the reads (tens
    /// of MiB of memory on operations/puppet).
    pub fn raw_tree(&self, oid: Oid) -> Result<Rc<[u8]>> {
        self.read_object(oid, ObjectType::Tree)
    }

    fn mailmapped(&self, sig: &git2::Signature<'_>) -> Person {
        match &self.mailmap {
            Some(map) => map.resolve_signature(sig).map(|s| person(&s)).unwrap_or_else(|_| person(sig)),
            None => person(sig),
        }
    }

    fn missing(&self, oid: Oid, what: &str, e: git2::Error) -> Error {
        if e.code() == ErrorCode::NotFound {
            Error::MissingObject { path: self.display_path().to_owned(), oid: oid.to_string(), what: what.to_owned() }
        } else {
            Error::git(format!("reading {what} {oid}"), e)
        }
    }

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
        dirty_by_git_at(git, &self.git_dir, self.workdir.as_ref()?)
    }

    /// [`Repo::dirty`] by libgit2 alone.
    pub fn dirty_by_libgit2(&self) -> Result<Dirty> {
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(false)
            .include_ignored(false)
            .exclude_submodules(true)
            .renames_head_to_index(false);
        let statuses = self.git.statuses(Some(&mut opts)).git_context(|| "reading status".into())?;
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
        match self.git.state() {
            S::Clean => None,
            S::Merge => Some(Operation::Merge),
            S::Revert | S::RevertSequence => Some(Operation::Revert),
            S::CherryPick | S::CherryPickSequence => Some(Operation::CherryPick),
            S::Bisect => Some(Operation::Bisect),
            S::Rebase | S::RebaseInteractive | S::RebaseMerge | S::ApplyMailboxOrRebase => Some(Operation::Rebase),
            S::ApplyMailbox => Some(Operation::ApplyMailbox),
        }
    }

    /// When the repository last fetched (the mtime of `FETCH_HEAD`).
    pub fn last_fetch(&self) -> Option<Timestamp> {
        let meta = std::fs::metadata(self.git_dir.join("FETCH_HEAD")).ok()?;
        Timestamp::try_from(meta.modified().ok()?).ok()
    }

    /// Tags whose name starts with `prefix`, peeled to commits.
    pub fn tags_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Oid)>> {
        let glob = format!("refs/tags/{prefix}*");
        let refs = self.git.references_glob(&glob).git_context(|| format!("listing {glob}"))?;
        let mut out = Vec::new();
        for r in refs {
            let r = r.git_context(|| format!("listing {glob}"))?;
            let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
            let short = name.strip_prefix("refs/tags/").unwrap_or(&name).to_owned();
            if let Ok(commit) = r.peel_to_commit() {
                out.push((short, commit.id()));
            }
        }
        Ok(out)
    }

    /// The abbreviated id git prints for `oid` (`short_commit_name`): as
    /// long as `core.abbrev`, or derived from the number of packed objects,
    /// then lengthened until unambiguous.
    pub fn abbrev(&self, oid: Oid) -> Result<String> {
        let hex = oid.to_string();
        let mut len = *self.abbrev_len.get_or_init(|| self.default_abbrev_len());
        let odb = self.git.odb().git_context(|| "opening the object database".into())?;
        while len < hex.len() {
            let prefix = Oid::from_str(&hex[..len]).git_context(|| "abbreviating".into())?;
            match odb.exists_prefix(prefix, len) {
                Err(e) if e.code() == ErrorCode::Ambiguous => len += 1,
                _ => break,
            }
        }
        Ok(hex[..len].to_owned())
    }

    fn default_abbrev_len(&self) -> usize {
        if let Some(n) = self.config_string("core.abbrev") {
            if let Ok(n) = n.parse::<usize>() {
                return n.clamp(4, 40);
            }
            if n == "no" {
                return 40;
            }
        }
        let count = self.approximate_object_count();
        let msb = if count == 0 { 0 } else { 63 - count.leading_zeros() as usize };
        (msb + 1).div_ceil(2).max(7)
    }

    /// git's `repo_approximate_object_count`: objects in pack indexes,
    /// here and in alternates.
    fn approximate_object_count(&self) -> u64 {
        let mut dirs = vec![self.git_dir.join("objects")];
        if let Ok(text) = std::fs::read_to_string(self.git_dir.join("objects/info/alternates")) {
            dirs.extend(text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).map(PathBuf::from));
        }
        let mut count = 0;
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir.join("pack")) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "idx") {
                    count += pack_index_count(&path).unwrap_or(0);
                }
            }
        }
        count
    }

    /// A string value from the repository's git config.
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.git.config().ok()?.get_string(key).ok()
    }
}

impl Repo {
    /// The parsed tree `oid`, cached.
    fn cached_tree(&self, oid: Oid) -> Result<Rc<Tree>> {
        if let Some(t) = self.trees.borrow().get(&oid) {
            return Ok(Rc::clone(t));
        }
        let data = self.raw_tree(oid)?;
        let tree = Rc::new(
            Tree::parse(&data).map_err(|message| Error::Git { context: format!("parsing tree {oid}"), message })?,
        );
        self.trees.borrow_mut().insert(oid, Rc::clone(&tree));
        Ok(tree)
    }

    /// The contents of blob `oid`, cached.
    fn cached_blob(&self, oid: Oid) -> Result<Blob> {
        if let Some(b) = self.blobs.borrow().get(&oid) {
            return Ok(Rc::clone(b));
        }
        let blob: Blob = self.read_object(oid, ObjectType::Blob)?;
        self.blobs.borrow_mut().insert(oid, Rc::clone(&blob));
        Ok(blob)
    }

    /// The size of blob `oid`, from its header.
    fn blob_header_size(&self, oid: Oid) -> Result<u64> {
        let odb = self.git.odb().git_context(|| "opening the object database".into())?;
        let (size, _) = odb.read_header(oid).map_err(|e| self.missing(oid, "blob", e))?;
        Ok(size as u64)
    }
}

/// The engine reads objects through this; its errors carry betadrift's own
/// [`Error`], which `From<betadrift_engine::Error>` takes back out whole.
impl ObjectRead for Repo {
    fn tree(&self, oid: Oid) -> betadrift_engine::Result<Rc<Tree>> {
        self.cached_tree(oid).map_err(betadrift_engine::Error::store)
    }

    fn blob(&self, oid: Oid) -> betadrift_engine::Result<Blob> {
        self.cached_blob(oid).map_err(betadrift_engine::Error::store)
    }

    fn blob_size(&self, oid: Oid) -> betadrift_engine::Result<u64> {
        self.blob_header_size(oid).map_err(betadrift_engine::Error::store)
    }
}

/// The error for a repository at or above `start` that another user owns,
/// naming that user as `/etc/passwd` does (else by uid).
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
            "--ignore-submodules=all",
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

/// Appends an `author` or `committer` header line of a commit object, UTC.
pub(crate) fn push_ident_line(body: &mut Vec<u8>, field: &str, name: &[u8], email: &[u8], seconds: i64) {
    body.extend_from_slice(field.as_bytes());
    body.push(b' ');
    body.extend_from_slice(name);
    body.extend_from_slice(b" <");
    body.extend_from_slice(email);
    body.extend_from_slice(format!("> {seconds} +0000\n").as_bytes());
}

/// Reads `git status --porcelain=v2 -z` output.
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

/// Looks up one path in a tree, descending through subtrees.
pub fn lookup_path(objects: &impl ObjectRead, root: Oid, path: &[u8]) -> Result<Option<Entry>> {
    let mut tree = objects.tree(root)?;
    let mut parts = path.split(|&b| b == b'/').peekable();
    while let Some(part) = parts.next() {
        let Some(entry) = tree.get(part).map(|e| e.to_entry()) else { return Ok(None) };
        if parts.peek().is_none() {
            return Ok(Some(entry));
        }
        if !entry.is_tree() {
            return Ok(None);
        }
        tree = objects.tree(entry.oid)?;
    }
    Ok(None)
}

/// The number of objects in a version 2 pack index (the last fanout entry).
fn pack_index_count(path: &Path) -> Option<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let mut header = [0u8; 8];
    file.read_exact(&mut header).ok()?;
    if header != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
        return None;
    }
    file.seek(SeekFrom::Start(8 + 255 * 4)).ok()?;
    let mut last = [0u8; 4];
    file.read_exact(&mut last).ok()?;
    Some(u64::from(u32::from_be_bytes(last)))
}

fn person(sig: &git2::Signature<'_>) -> Person {
    Person { name: sig.name_bytes().to_vec(), email: sig.email_bytes().to_vec() }
}

fn git_time(t: git2::Time) -> GitTime {
    GitTime { seconds: t.seconds(), offset_minutes: t.offset_minutes() }
}

fn kind_name(kind: Option<ObjectType>) -> &'static str {
    match kind {
        Some(ObjectType::Blob) => "blob",
        Some(ObjectType::Tree) => "tree",
        Some(ObjectType::Commit) => "commit",
        Some(ObjectType::Tag) => "tag",
        _ => "object",
    }
}
