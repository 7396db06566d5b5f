//! Reading objects, fast: the engine's pack reader first, libgit2 behind it.
//!
//! The status scan and the rebase prediction walk the same trees many times
//! and read thousands of upstream commits, so object reads are most of what
//! betadrift costs. Here bodies come from the engine's own pack reader (libgit2
//! answers what it cannot, and names what is missing or broken), trees are
//! parsed once into a cache, recent blobs are kept, and the engine reads
//! through [`ObjectRead`]. Abbreviated ids live here too: their length
//! depends on how many objects the packs hold.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use git2::{ErrorCode, ObjectType, Oid};

use crate::error::{Error, GitContext, Result};
use crate::git::commit::RawCommit;
use crate::git::repo::{Repo, kind_name};
use betadrift_engine::objects::{Blob, Entry, ObjectRead, Tree};

/// Blobs kept in memory, forgotten wholesale past a size budget.
impl Repo {
    /// Reads a commit's header and message straight from the object
    /// database, without signatures or mailmap: the fast path for walking
    /// thousands of upstream commits.
    pub fn raw_commit(&self, oid: Oid) -> Result<RawCommit> {
        let data = self.read_object(oid, ObjectType::Commit)?;
        RawCommit::parse(oid, &data)
            .ok_or_else(|| Error::Git { context: format!("parsing commit {oid}"), message: "malformed header".into() })
    }

    /// The body of tree `oid`, past the cache of parsed trees: for scans
    /// that look at a few entries of thousands of trees, once each, where
    /// parsing and keeping every tree would cost more than the reads (tens
    /// of MiB of memory on operations/puppet).
    pub fn raw_tree(&self, oid: Oid) -> Result<Rc<[u8]>> {
        self.read_object(oid, ObjectType::Tree)
    }

    /// The body of object `oid`, which must be of type `want` ([`Repo::read_any`]).
    fn read_object(&self, oid: Oid, want: ObjectType) -> Result<Rc<[u8]>> {
        let what = kind_name(Some(want));
        let (kind, data) = self.read_any(oid, what)?;
        if kind != want {
            return Err(Error::Git {
                context: format!("reading {what} {oid}"),
                message: format!("it is a {}", kind_name(Some(kind))),
            });
        }
        Ok(data)
    }

    /// Object `oid` (`what` names it in errors), of any type: from the pack
    /// reader ([`betadrift_engine::pack`]) when it has it, else through
    /// libgit2, which names what is missing. An object the pack reader
    /// found damaged is an error here: libgit2's reader is not asked, it
    /// may crash or spin on it.
    pub(super) fn read_any(&self, oid: Oid, what: &str) -> Result<(ObjectType, Rc<[u8]>)> {
        let fast = self.packs.get_or_init(|| {
            if std::env::var_os("BETADRIFT_LIBGIT2_READS").is_some() {
                return None;
            }
            let store = betadrift_engine::pack::Store::shared(&self.git().commondir().join("objects"));
            Some(RefCell::new(betadrift_engine::pack::Reader::new(store)))
        });
        let id: &[u8; 20] = oid.as_bytes().try_into().expect("SHA-1 ids are 20 bytes");
        if let Some(reader) = fast {
            match reader.borrow_mut().read(id) {
                Ok(Some(found)) => return Ok(found),
                Ok(None) => {}
                Err(corrupt) => {
                    return Err(Error::CorruptObject {
                        oid: oid.to_string(),
                        file: corrupt.file,
                        why: corrupt.why.to_owned(),
                    });
                }
            }
        }
        let odb = self.git().odb().git_context(|| "opening the object database".into())?;
        let obj = odb.read(oid).map_err(|e| self.missing(oid, what, e))?;
        Ok((obj.kind(), Rc::from(obj.data())))
    }

    /// The commit a tag reference's target peels to (through annotated
    /// tags); `None` for a tag of a tree or blob. An unreadable object on
    /// the way is an error, never a tag quietly left out.
    pub(super) fn peel_tag(&self, mut oid: Oid) -> Result<Option<Oid>> {
        for _ in 0..16 {
            match self.read_any(oid, "tagged object")? {
                (ObjectType::Commit, _) => return Ok(Some(oid)),
                (ObjectType::Tag, body) => {
                    let target = body
                        .strip_prefix(b"object ")
                        .and_then(|rest| rest.get(..40))
                        .and_then(|hex| std::str::from_utf8(hex).ok())
                        .and_then(|hex| Oid::from_str(hex).ok());
                    oid = target.ok_or_else(|| Error::Git {
                        context: format!("reading tag {oid}"),
                        message: "it names no object".into(),
                    })?;
                }
                _ => return Ok(None),
            }
        }
        Err(Error::Git { context: format!("peeling tag {oid}"), message: "more than 16 tags deep".into() })
    }

    /// Reads HEAD's commit and every tree under it (not the blobs), so that
    /// damage there is found by this reader before libgit2 walks them.
    pub(super) fn read_head_trees(&self) -> Result<()> {
        let Ok(head) = self.git().refname_to_id("HEAD") else { return Ok(()) };
        let mut trees = vec![self.raw_commit(head)?.tree];
        while let Some(oid) = trees.pop() {
            let tree = Tree::parse(&self.raw_tree(oid)?)
                .map_err(|message| Error::Git { context: format!("parsing tree {oid}"), message })?;
            trees.extend(tree.iter().filter(|e| e.is_tree()).map(|e| e.oid()));
        }
        Ok(())
    }

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
        let odb = self.git().odb().git_context(|| "opening the object database".into())?;
        let (size, _) = odb.read_header(oid).map_err(|e| self.missing(oid, "blob", e))?;
        Ok(size as u64)
    }

    /// The abbreviated id git prints for `oid` (`short_commit_name`): as
    /// long as `core.abbrev`, or derived from the number of packed objects,
    /// then lengthened until unambiguous.
    pub fn abbrev(&self, oid: Oid) -> Result<String> {
        let hex = oid.to_string();
        let mut len = *self.abbrev_len.get_or_init(|| self.default_abbrev_len());
        let odb = self.git().odb().git_context(|| "opening the object database".into())?;
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
        let mut dirs = vec![self.git_dir().join("objects")];
        if let Ok(text) = std::fs::read_to_string(self.git_dir().join("objects/info/alternates")) {
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
