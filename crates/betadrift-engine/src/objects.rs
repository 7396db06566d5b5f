//! Git objects as plain data: parsed trees, blobs, modes, object ids, and an
//! in-memory object store layered over a repository.
//!
//! The rebase prediction must not write a single object into the checkout's
//! repository, yet each replayed patch produces new blobs and trees that the
//! next patch builds on. [`Overlay`] keeps those in memory and hashes them
//! exactly as git would, so predicted tree ids can be compared with git's.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::rc::Rc;

use git2::Oid;

use crate::error::Result;

/// Blob contents, shared.
pub type Blob = Rc<[u8]>;

/// Regular file.
pub const MODE_FILE: u32 = 0o100644;
/// Executable file.
pub const MODE_EXEC: u32 = 0o100755;
/// Symbolic link.
pub const MODE_LINK: u32 = 0o120000;
/// Subdirectory.
pub const MODE_TREE: u32 = 0o040000;
/// Submodule commit.
pub const MODE_GITLINK: u32 = 0o160000;

/// The kind of a tree entry, from its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    File,
    Link,
    Tree,
    Gitlink,
}

/// The kind of object a mode refers to.
pub fn kind_of(mode: u32) -> Kind {
    match mode & 0o170000 {
        0o040000 => Kind::Tree,
        0o120000 => Kind::Link,
        0o160000 => Kind::Gitlink,
        _ => Kind::File,
    }
}

/// One entry of a tree, owned (for building trees and keeping entries).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    pub name: Box<[u8]>,
    pub mode: u32,
    pub oid: Oid,
}

impl Entry {
    /// Whether the entry is a subdirectory.
    pub fn is_tree(&self) -> bool {
        kind_of(self.mode) == Kind::Tree
    }
}

/// One entry of a parsed tree, borrowed from it. The object id stays raw
/// bytes until asked for: building a `git2::Oid` is a library call, and hot
/// loops only compare ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryRef<'t> {
    pub name: &'t [u8],
    pub mode: u32,
    pub id: [u8; 20],
}

impl EntryRef<'_> {
    /// Whether the entry is a subdirectory.
    pub fn is_tree(&self) -> bool {
        kind_of(self.mode) == Kind::Tree
    }

    /// The object id.
    pub fn oid(&self) -> Oid {
        Oid::from_bytes(&self.id).expect("20 bytes make an object id")
    }

    /// An owned copy.
    pub fn to_entry(&self) -> Entry {
        Entry { name: self.name.into(), mode: self.mode, oid: self.oid() }
    }
}

/// Where one entry's name lies in a tree's name buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    start: u32,
    len: u32,
    mode: u32,
    id: [u8; 20],
}

/// A parsed tree: its entries in git's order. Names share one buffer, so
/// parsing a thousand-entry tree is two allocations, not a thousand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    names: Box<[u8]>,
    slots: Box<[Slot]>,
}

impl Tree {
    /// Parses the body of a tree object.
    pub fn parse(data: &[u8]) -> std::result::Result<Tree, String> {
        let mut names = Vec::with_capacity(data.len() / 2);
        let mut slots = Vec::with_capacity(data.len() / 40);
        for entry in RawEntries::new(data) {
            let EntryRef { name, mode, id } = entry?;
            let start = u32::try_from(names.len()).map_err(|_| "tree too large")?;
            names.extend_from_slice(name);
            slots.push(Slot { start, len: name.len() as u32, mode, id });
        }
        Ok(Tree { names: names.into(), slots: slots.into() })
    }

    /// Builds a tree from owned entries, in git's order.
    pub fn from_entries(mut entries: Vec<Entry>) -> Tree {
        entries.sort_by(|a, b| tree_order(&a.name, a.is_tree(), &b.name, b.is_tree()));
        let mut names = Vec::new();
        let slots = entries
            .iter()
            .map(|e| {
                let start = names.len() as u32;
                names.extend_from_slice(&e.name);
                let id = e.oid.as_bytes().try_into().expect("SHA-1 ids are 20 bytes");
                Slot { start, len: e.name.len() as u32, mode: e.mode, id }
            })
            .collect();
        Tree { names: names.into(), slots }
    }

    fn entry(&self, slot: &Slot) -> EntryRef<'_> {
        let name = &self.names[slot.start as usize..(slot.start + slot.len) as usize];
        EntryRef { name, mode: slot.mode, id: slot.id }
    }

    /// The entries, in git's order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = EntryRef<'_>> + '_ {
        self.slots.iter().map(|s| self.entry(s))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the tree has no entries.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The entry named `name`, if present.
    pub fn get(&self, name: &[u8]) -> Option<EntryRef<'_>> {
        // Entries are sorted with directories compared as "name/", so the
        // name is looked for once as a file and once as a directory.
        [false, true].into_iter().find_map(|as_dir| {
            self.slots
                .binary_search_by(|s| {
                    let e = self.entry(s);
                    tree_order(e.name, e.is_tree(), name, as_dir)
                })
                .ok()
                .map(|i| self.entry(&self.slots[i]))
        })
    }

    /// Serialises the tree as git stores it.
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.names.len() + self.slots.len() * 28);
        for e in self.iter() {
            out.extend_from_slice(format!("{:o}", e.mode).as_bytes());
            out.push(b' ');
            out.extend_from_slice(e.name);
            out.push(0);
            out.extend_from_slice(&e.id);
        }
        out
    }
}

/// git's tree entry order: byte order, with a directory's name compared as if
/// it ended in `/`.
pub fn tree_order(a: &[u8], a_dir: bool, b: &[u8], b_dir: bool) -> Ordering {
    let common = a.len().min(b.len());
    match a[..common].cmp(&b[..common]) {
        Ordering::Equal => {}
        other => return other,
    }
    let next = |name: &[u8], dir: bool| -> u8 {
        match name.get(common) {
            Some(&c) => c,
            None if dir => b'/',
            None => 0,
        }
    };
    next(a, a_dir).cmp(&next(b, b_dir))
}

/// The entries of a tree object's body, in stored order, without copying:
/// for a caller that wants a few entries of a large tree once.
///
/// Byte loops rather than `memchr`: modes are a few digits and names a few
/// dozen bytes, too short for vector search to pay for its set-up. After a
/// malformed entry the iterator ends.
#[derive(Debug, Clone)]
pub struct RawEntries<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> RawEntries<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        RawEntries { data, pos: 0 }
    }

    fn entry(&mut self) -> std::result::Result<EntryRef<'a>, String> {
        let data = self.data;
        let mut pos = self.pos;
        let mut mode = 0u32;
        let mut digits = 0;
        loop {
            match data.get(pos) {
                Some(&d @ b'0'..=b'7') if digits < 7 => mode = mode * 8 + u32::from(d - b'0'),
                Some(b' ') if digits > 0 => break,
                Some(_) => return Err("bad mode".into()),
                None => return Err("entry without a mode".into()),
            }
            digits += 1;
            pos += 1;
        }
        let name_start = pos + 1;
        let mut nul = name_start;
        while *data.get(nul).ok_or("entry without a name terminator")? != 0 {
            nul += 1;
        }
        let id: [u8; 20] = data.get(nul + 1..nul + 21).ok_or("truncated object id")?.try_into().expect("20 bytes");
        self.pos = nul + 21;
        Ok(EntryRef { name: &data[name_start..nul], mode, id })
    }
}

impl<'a> Iterator for RawEntries<'a> {
    type Item = std::result::Result<EntryRef<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.data.len() {
            return None;
        }
        let entry = self.entry();
        if entry.is_err() {
            self.pos = self.data.len();
        }
        Some(entry)
    }
}

/// The id git gives an object of `kind` ("blob", "tree", "commit") with this body.
pub fn hash_object(kind: &str, body: &[u8]) -> Oid {
    let mut h = sha1_smol::Sha1::new();
    h.update(kind.as_bytes());
    h.update(b" ");
    h.update(body.len().to_string().as_bytes());
    h.update(b"\0");
    h.update(body);
    Oid::from_bytes(&h.digest().bytes()).expect("a SHA-1 digest is 20 bytes")
}

/// The id of the empty tree.
pub fn empty_tree() -> Oid {
    hash_object("tree", b"")
}

/// Read access to trees and blobs, from a repository or an overlay.
pub trait ObjectRead {
    /// The parsed tree `oid`.
    fn tree(&self, oid: Oid) -> Result<Rc<Tree>>;
    /// The contents of blob `oid`.
    fn blob(&self, oid: Oid) -> Result<Blob>;
    /// The size of blob `oid`; cheaper than reading it where the store allows.
    fn blob_size(&self, oid: Oid) -> Result<u64> {
        Ok(self.blob(oid)?.len() as u64)
    }
}

/// New objects kept in memory on top of a read-only object source.
#[derive(Debug)]
pub struct Overlay<'a, R: ObjectRead> {
    base: &'a R,
    trees: RefCell<HashMap<Oid, Rc<Tree>>>,
    blobs: RefCell<HashMap<Oid, Blob>>,
}

impl<'a, R: ObjectRead> Overlay<'a, R> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a R) -> Self {
        Overlay { base, trees: RefCell::default(), blobs: RefCell::default() }
    }

    /// Adds a blob, returning the id git would give it.
    pub fn add_blob(&self, data: Vec<u8>) -> Oid {
        let oid = hash_object("blob", &data);
        self.blobs.borrow_mut().entry(oid).or_insert_with(|| Rc::from(data));
        oid
    }

    /// Adds a tree, returning the id git would give it.
    pub fn add_tree(&self, tree: Tree) -> Oid {
        let oid = hash_object("tree", &tree.serialize());
        self.trees.borrow_mut().entry(oid).or_insert_with(|| Rc::new(tree));
        oid
    }

    /// The objects created in memory so far, as (trees, blobs) counts.
    pub fn counts(&self) -> (usize, usize) {
        (self.trees.borrow().len(), self.blobs.borrow().len())
    }

    /// The in-memory tree `oid`, if this overlay created it.
    pub fn own_tree(&self, oid: Oid) -> Option<Rc<Tree>> {
        self.trees.borrow().get(&oid).cloned()
    }

    /// The in-memory blob `oid`, if this overlay created it.
    pub fn own_blob(&self, oid: Oid) -> Option<Blob> {
        self.blobs.borrow().get(&oid).cloned()
    }
}

impl<R: ObjectRead> ObjectRead for Overlay<'_, R> {
    fn tree(&self, oid: Oid) -> Result<Rc<Tree>> {
        if let Some(t) = self.trees.borrow().get(&oid) {
            return Ok(Rc::clone(t));
        }
        self.base.tree(oid)
    }

    fn blob(&self, oid: Oid) -> Result<Blob> {
        if let Some(b) = self.blobs.borrow().get(&oid) {
            return Ok(Rc::clone(b));
        }
        self.base.blob(oid)
    }

    fn blob_size(&self, oid: Oid) -> Result<u64> {
        if let Some(b) = self.blobs.borrow().get(&oid) {
            return Ok(b.len() as u64);
        }
        self.base.blob_size(oid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_git() {
        // `git hash-object -t blob /dev/null` and the well-known empty tree.
        assert_eq!(hash_object("blob", b"").to_string(), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
        assert_eq!(empty_tree().to_string(), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
        assert_eq!(hash_object("blob", b"hello\n").to_string(), "ce013625030ba8dba906f756967f9e9ca394464a");
    }

    #[test]
    fn tree_round_trip_and_order() {
        let blob = hash_object("blob", b"x");
        let tree = Tree::from_entries(vec![
            Entry { name: b"a.b".as_slice().into(), mode: MODE_FILE, oid: blob },
            Entry { name: b"a".as_slice().into(), mode: MODE_TREE, oid: empty_tree() },
            Entry { name: b"a-".as_slice().into(), mode: MODE_EXEC, oid: blob },
        ]);
        let bytes = tree.serialize();
        let parsed = Tree::parse(&bytes).unwrap();
        assert_eq!(parsed, tree);
        let names: Vec<&[u8]> = parsed.iter().map(|e| e.name).collect();
        // "a-" < "a.b" < "a/" in git's order ('-' 0x2d, '.' 0x2e, '/' 0x2f)
        assert_eq!(names, vec![b"a-".as_slice(), b"a.b", b"a"]);
        assert_eq!(parsed.get(b"a").unwrap().mode, MODE_TREE);
        assert_eq!(parsed.get(b"a.b").unwrap().mode, MODE_FILE);
        assert!(parsed.get(b"zz").is_none());
    }

    #[test]
    fn malformed_trees_are_errors() {
        assert!(Tree::parse(b"100644 name").is_err());
        assert!(Tree::parse(b"10x644 name\0aaaaaaaaaaaaaaaaaaaa").is_err());
        assert!(Tree::parse(b"100644 name\0short").is_err());
        assert!(Tree::parse(b" name\0aaaaaaaaaaaaaaaaaaaa").is_err(), "no mode digits");
        assert!(Tree::parse(b"10000000644 name\0aaaaaaaaaaaaaaaaaaaa").is_err(), "mode too long");
        assert!(Tree::parse(b"100644").is_err(), "no name");
        let ok = Tree::parse(b"40000 d\0aaaaaaaaaaaaaaaaaaaa100755 x\0bbbbbbbbbbbbbbbbbbbb").unwrap();
        let entries: Vec<_> = ok.iter().map(|e| (e.name, e.mode, e.id)).collect();
        assert_eq!(entries, [(&b"d"[..], 0o40000, [b'a'; 20]), (&b"x"[..], 0o100755, [b'b'; 20])]);
        assert!(Tree::parse(b"").unwrap().is_empty());
    }
}
