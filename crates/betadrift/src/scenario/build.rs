//! Turns a [`Scenario`] into real repositories: a bare upstream and a
//! puppetmaster-style checkout whose branch is the old upstream plus the local
//! stack, with `origin/<branch>` at the new upstream.
//!
//! Everything is deterministic: identities and dates come from the scenario,
//! so the same description gives the same object ids on every machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository, Signature, Time};
use jiff::Timestamp;

use crate::error::{Error, GitContext, Result};
use crate::model::snapshot_tags::snapshot_time;
use crate::scenario::{CommitSpec, Scenario, Times, parse_identity};

/// What the builder made.
#[derive(Debug, Clone)]
pub struct Built {
    /// The directory holding both repositories.
    pub dir: PathBuf,
    /// The bare upstream repository.
    pub upstream: PathBuf,
    /// The checkout (working tree).
    pub checkout: PathBuf,
    /// Object id of every commit, by scenario id.
    pub ids: BTreeMap<String, Oid>,
    /// The last `[[upstream]]` commit: the stack's merge base.
    pub base: Oid,
    /// What `origin/<branch>` points at.
    pub upstream_tip: Oid,
    /// The checkout's HEAD.
    pub head: Oid,
}

/// A file in the tree being built: mode and blob.
type Files = BTreeMap<String, (i32, Oid)>;

struct Builder<'a> {
    scenario: &'a Scenario,
    times: Times,
    repo: Repository,
    ids: BTreeMap<String, Oid>,
    files: BTreeMap<Oid, Files>,
    clock_index: i64,
}

/// Builds `scenario` under `dir` (which must exist).
pub fn build(scenario: &Scenario, dir: &Path) -> Result<Built> {
    scenario.validate()?;
    let checkout = dir.join(&scenario.checkout);
    let mut init = git2::RepositoryInitOptions::new();
    init.initial_head(&scenario.branch).mkpath(true);
    let repo = Repository::init_opts(&checkout, &init).git_context(|| format!("creating {}", checkout.display()))?;
    let mut b = Builder {
        scenario,
        times: scenario.times()?,
        repo,
        ids: BTreeMap::new(),
        files: BTreeMap::new(),
        clock_index: 0,
    };
    let base = b.chain(&scenario.upstream, None, false)?.expect("validated: upstream is not empty");
    let head = b.chain(&scenario.local, Some(base), true)?.unwrap_or(base);
    let upstream_tip = b.chain(&scenario.later, Some(base), false)?.unwrap_or(base);
    b.snapshots()?;
    let upstream = dir.join("upstream.git");
    b.publish(&upstream, upstream_tip, head)?;
    b.make_dirty(&checkout)?;
    Ok(Built { dir: dir.to_owned(), upstream, checkout, ids: b.ids, base, upstream_tip, head })
}

impl Builder<'_> {
    fn err(&self, message: impl Into<String>) -> Error {
        self.scenario.error(message)
    }

    /// Commits `specs` one on top of the other, starting from `parent`.
    fn chain(&mut self, specs: &[CommitSpec], mut parent: Option<Oid>, local: bool) -> Result<Option<Oid>> {
        for spec in specs {
            let oid = self.commit(spec, parent, local)?;
            self.ids.insert(spec.id.clone(), oid);
            parent = Some(oid);
        }
        Ok(parent)
    }

    fn next_date(&mut self) -> Timestamp {
        let t = self.times.start + self.times.step * i32::try_from(self.clock_index).unwrap_or(i32::MAX);
        self.clock_index += 1;
        t
    }

    fn commit(&mut self, spec: &CommitSpec, parent: Option<Oid>, local: bool) -> Result<Oid> {
        let id = &spec.id;
        let parent_files = parent.map(|p| self.files[&p].clone()).unwrap_or_default();
        let mut files = match (&spec.pick, &spec.revert) {
            (Some(p), _) => self.three_way(id, p, parent, false)?,
            (None, Some(r)) => self.three_way(id, r, parent, true)?,
            (None, None) => parent_files.clone(),
        };
        self.apply_ops(spec, &mut files)?;
        if files == parent_files && !spec.empty {
            return Err(self.err(format!("commit '{id}' changes nothing; set empty = true if that is the point")));
        }
        if spec.encoding.as_deref().is_some_and(|e| e.contains('\n')) {
            return Err(self.err(format!("commit '{id}': an encoding cannot contain a newline")));
        }
        let tree = self.write_tree(&files)?;
        let source = spec.pick.as_ref().map(|p| self.ids[p]);
        let message = self.message(spec, source)?;
        let date = match &spec.date {
            Some(d) => crate::support::clock::parse_timestamp(d, "date").map_err(|e| self.err(format!("{id}: {e}")))?,
            None => self.next_date(),
        };
        let author = self.identity(spec.author.as_deref(), source, spec.raw_escapes)?;
        let committed = match (&spec.committed, local) {
            (Some(t), _) => {
                crate::support::clock::parse_timestamp(t, "committed").map_err(|e| self.err(format!("{id}: {e}")))?
            }
            (None, true) => self.times.last_sync.unwrap_or(date),
            (None, false) => date,
        };
        let committer = match (&spec.committer, local) {
            (Some(text), _) => self.identity(Some(text), None, spec.raw_escapes)?,
            (None, true) => self.identity(Some(&self.scenario.committer), None, false)?,
            (None, false) => author.clone(),
        };
        let identities = [(&author, date), (&committer, committed)];
        let oid = self.write_commit(tree, parent, identities, spec.encoding.as_deref(), &message)?;
        self.files.insert(oid, files);
        Ok(oid)
    }

    /// Writes a commit object byte for byte, so that names and messages can
    /// hold anything git allows (control characters, invalid UTF-8).
    fn write_commit(
        &self,
        tree: Oid,
        parent: Option<Oid>,
        [author, committer]: [(&Ident, Timestamp); 2],
        encoding: Option<&str>,
        message: &[u8],
    ) -> Result<Oid> {
        let mut body = format!("tree {tree}\n").into_bytes();
        if let Some(p) = parent {
            body.extend_from_slice(format!("parent {p}\n").as_bytes());
        }
        for (field, (who, when)) in [("author", author), ("committer", committer)] {
            crate::git::commit::push_ident_line(&mut body, field, &who.name, &who.email, when.as_second());
        }
        if let Some(encoding) = encoding {
            body.extend_from_slice(format!("encoding {encoding}\n").as_bytes());
        }
        body.push(b'\n');
        body.extend_from_slice(message);
        let odb = self.repo.odb().git_context(|| "object database".into())?;
        odb.write(git2::ObjectType::Commit, &body).git_context(|| "writing a commit".into())
    }

    /// Cherry-picks (or reverts) commit `other` onto `parent` in memory.
    fn three_way(&self, id: &str, other: &str, parent: Option<Oid>, revert: bool) -> Result<Files> {
        let other_oid = self.ids[other];
        let Some(parent) = parent else {
            return Err(self.err(format!("'{id}' cannot pick or revert as the first commit")));
        };
        let theirs = self.repo.find_commit(other_oid).git_context(|| other.to_owned())?;
        let ours = self.repo.find_commit(parent).git_context(|| id.to_owned())?;
        let mut index = if revert {
            self.repo.revert_commit(&theirs, &ours, 0, None)
        } else {
            self.repo.cherrypick_commit(&theirs, &ours, 0, None)
        }
        .git_context(|| format!("applying {other} for {id}"))?;
        if index.has_conflicts() {
            return Err(self.err(format!("'{id}': applying '{other}' conflicts; write the change out instead")));
        }
        let tree = index.write_tree_to(&self.repo).git_context(|| format!("writing tree of {id}"))?;
        self.read_files(tree)
    }

    fn read_files(&self, tree: Oid) -> Result<Files> {
        let tree = self.repo.find_tree(tree).git_context(|| "reading tree".into())?;
        let mut files = Files::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() != Some(git2::ObjectType::Tree) {
                let name = String::from_utf8_lossy(entry.name_bytes());
                files.insert(format!("{dir}{name}"), (entry.filemode(), entry.id()));
            }
            git2::TreeWalkResult::Ok
        })
        .git_context(|| "walking tree".into())?;
        Ok(files)
    }

    fn blob(&self, data: &[u8]) -> Result<Oid> {
        self.repo.blob(data).git_context(|| "writing blob".into())
    }

    fn apply_ops(&self, spec: &CommitSpec, files: &mut Files) -> Result<()> {
        let id = &spec.id;
        for (path, content) in &spec.files {
            let mode = files.get(path).map_or(0o100644, |f| f.0);
            files.insert(path.clone(), (mode, self.blob(content.as_bytes())?));
        }
        for (path, extra) in &spec.append {
            let (mode, old) = *files.get(path).ok_or_else(|| self.err(format!("{id}: append to missing {path}")))?;
            let mut data = self.repo.find_blob(old).git_context(|| path.clone())?.content().to_vec();
            data.extend_from_slice(extra.as_bytes());
            files.insert(path.clone(), (mode, self.blob(&data)?));
        }
        for edit in &spec.edit {
            let (mode, old) =
                *files.get(&edit.path).ok_or_else(|| self.err(format!("{id}: edit of missing {}", edit.path)))?;
            let text = String::from_utf8_lossy(self.repo.find_blob(old).git_context(|| edit.path.clone())?.content())
                .into_owned();
            if !text.contains(&edit.find) {
                return Err(self.err(format!("{id}: {:?} not found in {}", edit.find, edit.path)));
            }
            let new = text.replacen(&edit.find, &edit.replace, 1);
            files.insert(edit.path.clone(), (mode, self.blob(new.as_bytes())?));
        }
        for path in &spec.delete {
            files.remove(path).ok_or_else(|| self.err(format!("{id}: delete of missing {path}")))?;
        }
        for r in &spec.rename {
            let f = files.remove(&r.from).ok_or_else(|| self.err(format!("{id}: rename of missing {}", r.from)))?;
            files.insert(r.to.clone(), f);
        }
        self.apply_modes(spec, files)
    }

    fn apply_modes(&self, spec: &CommitSpec, files: &mut Files) -> Result<()> {
        let id = &spec.id;
        for (path, mode) in spec.exec.iter().map(|p| (p, 0o100755)).chain(spec.noexec.iter().map(|p| (p, 0o100644))) {
            let f = files.get_mut(path).ok_or_else(|| self.err(format!("{id}: mode change of missing {path}")))?;
            f.0 = mode;
        }
        for (path, target) in &spec.symlinks {
            files.insert(path.clone(), (0o120000, self.blob(target.as_bytes())?));
        }
        for (path, hex) in &spec.binary {
            let bytes = decode_hex(hex).ok_or_else(|| self.err(format!("{id}: {path}: bad hex")))?;
            files.insert(path.clone(), (0o100644, self.blob(&bytes)?));
        }
        Ok(())
    }

    /// Writes nested trees for a flat file map.
    fn write_tree(&self, files: &Files) -> Result<Oid> {
        let entries: Vec<(&str, i32, Oid)> = files.iter().map(|(p, &(m, o))| (p.as_str(), m, o)).collect();
        self.write_dir(&entries)
    }

    fn write_dir(&self, entries: &[(&str, i32, Oid)]) -> Result<Oid> {
        let mut builder = self.repo.treebuilder(None).git_context(|| "tree builder".into())?;
        let mut subdirs: BTreeMap<&str, Vec<(&str, i32, Oid)>> = BTreeMap::new();
        for &(path, mode, oid) in entries {
            match path.split_once('/') {
                Some((dir, rest)) => subdirs.entry(dir).or_default().push((rest, mode, oid)),
                None => {
                    builder.insert(path, oid, mode).git_context(|| format!("adding {path}"))?;
                }
            }
        }
        for (dir, children) in subdirs {
            let oid = self.write_dir(&children)?;
            builder.insert(dir, oid, 0o040000).git_context(|| format!("adding {dir}/"))?;
        }
        builder.write().git_context(|| "writing tree".into())
    }

    fn message(&self, spec: &CommitSpec, source: Option<Oid>) -> Result<Vec<u8>> {
        let raw = match (&spec.message, source) {
            (Some(m), _) => m.clone(),
            (None, Some(src)) => {
                let c = self.repo.find_commit(src).git_context(|| spec.id.clone())?;
                String::from_utf8_lossy(c.message_raw_bytes()).into_owned()
            }
            (None, None) => format!("{}\n", spec.id),
        };
        let mut out = raw;
        for (name, oid) in &self.ids {
            out = out.replace(&format!("{{id:{name}}}"), &oid.to_string());
        }
        if let Some(start) = out.find("{id:") {
            return Err(self.err(format!("{}: unknown reference {}", spec.id, &out[start..])));
        }
        Ok(if spec.raw_escapes { unescape_bytes(&out) } else { out.into_bytes() })
    }

    fn identity(&self, text: Option<&str>, source: Option<Oid>, raw: bool) -> Result<Ident> {
        let text = match (text, source) {
            (Some(t), _) => t.to_owned(),
            (None, Some(src)) => {
                let c = self.repo.find_commit(src).git_context(|| "picked commit".into())?;
                let a = c.author();
                return Ok(Ident { name: a.name_bytes().to_vec(), email: a.email_bytes().to_vec() });
            }
            (None, None) => "Test Author <author@example.org>".to_owned(),
        };
        let (name, email) =
            parse_identity(&text).ok_or_else(|| self.err(format!("bad identity '{text}', expected 'Name <email>'")))?;
        let bytes = |s: &str| if raw { unescape_bytes(s) } else { s.as_bytes().to_vec() };
        Ok(Ident { name: bytes(&name), email: bytes(&email) })
    }

    fn snapshots(&mut self) -> Result<()> {
        let prefix = "snapshot-";
        for snap in self.scenario.snapshot.clone() {
            let when = snapshot_time(prefix, &snap.tag)
                .ok_or_else(|| self.err(format!("snapshot tag {} must look like snapshot-YYYYmmddHHMM", snap.tag)))?;
            let committer = signature(&self.scenario.committer, when).ok_or_else(|| self.err("bad committer"))?;
            let mut tip = self.ids[&snap.onto];
            for patch in &snap.patches {
                let files = self.three_way(&snap.tag, patch, Some(tip), false)?;
                let tree = self.write_tree(&files)?;
                let original = self.repo.find_commit(self.ids[patch]).git_context(|| patch.to_string())?;
                let tree = self.repo.find_tree(tree).git_context(|| "snapshot tree".into())?;
                let parent = self.repo.find_commit(tip).git_context(|| "snapshot parent".into())?;
                let message = String::from_utf8_lossy(original.message_raw_bytes()).into_owned();
                tip = self
                    .repo
                    .commit(None, &original.author(), &committer, &message, &tree, &[&parent])
                    .git_context(|| format!("snapshot {}", snap.tag))?;
                self.files.insert(tip, files);
            }
            self.repo
                .reference(&format!("refs/tags/{}", snap.tag), tip, false, "betadrift scenario")
                .git_context(|| format!("tagging {}", snap.tag))?;
        }
        Ok(())
    }

    /// Creates the bare upstream, wires `origin`, sets the branches and
    /// checks out HEAD.
    fn publish(&self, upstream: &Path, upstream_tip: Oid, head: Oid) -> Result<()> {
        let branch = &self.scenario.branch;
        let remote_ref = format!("refs/remotes/origin/{branch}");
        let repo = &self.repo;
        repo.reference(&remote_ref, upstream_tip, true, "scenario: upstream").git_context(|| remote_ref.clone())?;
        repo.reference(&format!("refs/heads/{branch}"), head, true, "scenario: stack")
            .git_context(|| branch.clone())?;

        let mut init = git2::RepositoryInitOptions::new();
        init.bare(true).initial_head(branch).mkpath(true);
        let bare = Repository::init_opts(upstream, &init).git_context(|| format!("creating {}", upstream.display()))?;
        let source = self.repo.path().to_string_lossy().into_owned();
        let mut remote = bare.remote_anonymous(&source).git_context(|| "remote to checkout".into())?;
        remote
            .fetch(&[format!("+{remote_ref}:refs/heads/{branch}")], None, None)
            .git_context(|| "filling the upstream repository".into())?;

        let url = upstream.to_string_lossy().into_owned();
        repo.remote("origin", &url).git_context(|| "adding origin".into())?;
        let mut config = repo.config().git_context(|| "config".into())?;
        config.set_str(&format!("branch.{branch}.remote"), "origin").git_context(|| "config".into())?;
        config
            .set_str(&format!("branch.{branch}.merge"), &format!("refs/heads/{branch}"))
            .git_context(|| "config".into())?;
        repo.set_head(&format!("refs/heads/{branch}")).git_context(|| "HEAD".into())?;
        repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force())).git_context(|| "checkout".into())?;
        // libgit2 logged these ref updates at the wall-clock time, which
        // would date every patch at the build: a scenario's history is its
        // snapshot tags, and its reflogs start empty, as on a first install.
        for refname in ["HEAD".to_owned(), format!("refs/heads/{branch}"), remote_ref.clone()] {
            repo.reflog_delete(&refname).git_context(|| format!("clearing the reflog of {refname}"))?;
        }
        self.write_fetch_head(upstream_tip, &url)
    }

    fn write_fetch_head(&self, tip: Oid, url: &str) -> Result<()> {
        let path = self.repo.path().join("FETCH_HEAD");
        let line = format!("{tip}\t\tbranch '{}' of {url}\n", self.scenario.branch);
        std::fs::write(&path, line).map_err(|e| Error::io("writing", &path, e))?;
        if let Some(when) = self.times.fetched {
            let file = std::fs::File::options().write(true).open(&path).map_err(|e| Error::io("opening", &path, e))?;
            file.set_modified(std::time::SystemTime::try_from(when).unwrap_or(std::time::UNIX_EPOCH))
                .map_err(|e| Error::io("setting mtime of", &path, e))?;
        }
        Ok(())
    }

    fn make_dirty(&self, checkout: &Path) -> Result<()> {
        let dirty = &self.scenario.dirty;
        let write = |path: &str, content: &str| -> Result<()> {
            let full = checkout.join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
            }
            std::fs::write(&full, content).map_err(|e| Error::io("writing", &full, e))
        };
        for (path, content) in dirty.modify.iter().chain(&dirty.untracked).chain(&dirty.stage) {
            write(path, content)?;
        }
        if !dirty.stage.is_empty() {
            let mut index = self.repo.index().git_context(|| "index".into())?;
            for path in dirty.stage.keys() {
                index.add_path(Path::new(path)).git_context(|| format!("staging {path}"))?;
            }
            index.write().git_context(|| "writing index".into())?;
        }
        Ok(())
    }
}

fn signature(text: &str, when: Timestamp) -> Option<Signature<'static>> {
    let (name, email) = parse_identity(text)?;
    Signature::new(&name, &email, &Time::new(when.as_second(), 0)).ok()
}

/// A name and email as raw bytes.
#[derive(Debug, Clone)]
struct Ident {
    name: Vec<u8>,
    email: Vec<u8>,
}

/// Decodes `\xNN` escapes into raw bytes, for scenarios that need bytes a
/// TOML string cannot hold (invalid UTF-8).
pub fn unescape_bytes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && bytes.get(i + 1) == Some(&b'x')
            && let Some(b) = text.get(i + 2..i + 4).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    let hex: String = hex.split_whitespace().collect();
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}
