// Follows git's builtin/patch-id.c and diff.c's patch-id (GPL-2.0-only); see NOTICE.
//! Patch-ids as git computes them for `git rebase`'s cherry-pick detection.
//!
//! git skips a local commit during a rebase when upstream has a commit with
//! the same patch-id: a SHA-1 over the commit's diff (no rename detection,
//! Myers without the indent heuristic, three lines of context, no hunk
//! headers) with all whitespace removed, hashed per file and summed so that
//! file order does not matter. Binary files contribute their blob ids.
//! Reproducing that normalisation gives the same answers git gives.
//!
//! The diff walks only subtrees whose ids differ and runs [`crate::xdiff`]
//! on the changed files, so a patch-id costs a few tree reads and one line
//! diff per changed file, whatever the size of the repository.

use std::cmp::Ordering;
use std::collections::HashMap;

use git2::Oid;

use crate::error::Result;
use crate::objects::{Entry, EntryRef, MODE_GITLINK, ObjectRead, Tree, empty_tree, tree_order};
use crate::xdiff::{self, Algorithm, LineKind};

/// A patch-id: equal for commits that make the same change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatchId(pub [u8; 20]);

impl std::fmt::Display for PatchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl PatchId {
    /// The patch-id of a commit that changes nothing (git's null id).
    pub const EMPTY: PatchId = PatchId([0; 20]);
}

/// One changed file: the entries before and after (either may be absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: Vec<u8>,
    pub old: Option<Entry>,
    pub new: Option<Entry>,
}

/// The files that differ between two trees, in path order, as git's
/// recursive tree diff reports them: a file replaced by a directory (or the
/// reverse) is a deletion plus additions.
/// The entries that differ between two trees, paired by name: (old, new),
/// `None` on the side that lacks it. Both trees are sorted in git's order,
/// so a merge join visits each entry once. A file and a directory of the
/// same name are different keys there, which is what a recursive diff
/// wants (a deletion and additions): both sides of a pair are of one kind.
pub fn differing_entries<'t>(
    a: Option<&'t Tree>,
    b: Option<&'t Tree>,
) -> impl Iterator<Item = (Option<EntryRef<'t>>, Option<EntryRef<'t>>)> + 't {
    let mut left = a.into_iter().flat_map(|t| t.iter()).peekable();
    let mut right = b.into_iter().flat_map(|t| t.iter()).peekable();
    std::iter::from_fn(move || {
        loop {
            let (ea, eb) = match (left.peek(), right.peek()) {
                (None, None) => return None,
                (Some(_), None) => (left.next(), None),
                (None, Some(_)) => (None, right.next()),
                (Some(x), Some(y)) => match tree_order(x.name, x.is_tree(), y.name, y.is_tree()) {
                    Ordering::Less => (left.next(), None),
                    Ordering::Greater => (None, right.next()),
                    Ordering::Equal => (left.next(), right.next()),
                },
            };
            if ea.map(|e| (e.mode, e.id)) != eb.map(|e| (e.mode, e.id)) {
                return Some((ea, eb));
            }
        }
    })
}

pub fn diff_trees(objects: &(impl ObjectRead + ?Sized), old: Option<Oid>, new: Option<Oid>) -> Result<Vec<FileChange>> {
    let mut out = Vec::new();
    if old != new {
        let load = |t: Option<Oid>| t.map(|t| objects.tree(t)).transpose();
        walk(objects, &mut Vec::new(), load(old)?.as_deref(), load(new)?.as_deref(), &mut out)?;
    }
    Ok(out)
}

fn walk(
    objects: &(impl ObjectRead + ?Sized),
    prefix: &mut Vec<u8>,
    a: Option<&Tree>,
    b: Option<&Tree>,
    out: &mut Vec<FileChange>,
) -> Result<()> {
    for (ea, eb) in differing_entries(a, b) {
        let name = ea.or(eb).expect("one side has the entry").name;
        let len = prefix.len();
        prefix.extend_from_slice(name);
        let is_dir = ea.or(eb).is_some_and(|e| e.is_tree());
        if is_dir {
            let tree = |e: Option<EntryRef<'_>>| e.map(|e| objects.tree(e.oid())).transpose();
            let (ta, tb) = (tree(ea)?, tree(eb)?);
            prefix.push(b'/');
            walk(objects, prefix, ta.as_deref(), tb.as_deref(), out)?;
        } else {
            out.push(FileChange { path: prefix.clone(), old: ea.map(|e| e.to_entry()), new: eb.map(|e| e.to_entry()) });
        }
        prefix.truncate(len);
    }
    Ok(())
}

/// The patch-id of the change from tree `old` (`None`: the empty tree) to `new`.
pub fn patch_id(objects: &impl ObjectRead, old: Option<Oid>, new: Oid) -> Result<PatchId> {
    let old = old.unwrap_or_else(empty_tree);
    let mut sum = PatchId::EMPTY.0;
    for change in diff_trees(objects, Some(old), Some(new))? {
        add_with_carry(&mut sum, file_patch_id(objects, &change)?);
    }
    Ok(PatchId(sum))
}

/// What any two changes with equal patch-ids have in common, cheap to
/// compute: per file, the path, the modes the patch-id hashes and, for
/// text, how many non-whitespace bytes the change adds (for binary files,
/// the blob ids).
/// Comparing shapes first spares most line diffs when scanning upstream.
pub fn patch_shape(objects: &impl ObjectRead, old: Option<Oid>, new: Oid) -> Result<Vec<FileShape>> {
    patch_shape_cached(objects, old, new, &mut BlobShapes::default())
}

/// Per blob: whether git sees it as binary, and its non-whitespace length.
/// Consecutive upstream commits share blobs (one's new side is the next
/// one's old side), so a scan keeps these.
pub type BlobShapes = HashMap<Oid, (bool, usize)>;

/// [`patch_shape`], reusing and filling `blobs`.
pub fn patch_shape_cached(
    objects: &impl ObjectRead,
    old: Option<Oid>,
    new: Oid,
    blobs: &mut BlobShapes,
) -> Result<Vec<FileShape>> {
    let old = old.unwrap_or_else(empty_tree);
    let mut out = Vec::new();
    let mut side = |entry: Option<&Entry>| -> Result<(bool, usize)> {
        match entry {
            None => Ok((false, 0)),
            Some(e) if e.mode == MODE_GITLINK => Ok((false, non_space_len(&side_data(objects, Some(e))?))),
            Some(e) => {
                if let Some(&known) = blobs.get(&e.oid) {
                    return Ok(known);
                }
                let data = objects.blob(e.oid)?;
                let shape = (xdiff::is_binary(&data), non_space_len(&data));
                blobs.insert(e.oid, shape);
                Ok(shape)
            }
        }
    };
    for change in diff_trees(objects, Some(old), Some(new))? {
        let (old_binary, old_len) = side(change.old.as_ref())?;
        let (new_binary, new_len) = side(change.new.as_ref())?;
        let content = if old_binary || new_binary {
            ShapeContent::Binary(change.old.as_ref().map(|e| e.oid), change.new.as_ref().map(|e| e.oid))
        } else {
            ShapeContent::Text(new_len as i64 - old_len as i64)
        };
        out.push(FileShape { modes: hashed_modes(&change), path: change.path, content });
    }
    Ok(out)
}

/// The modes the patch-id of one changed file hashes, as (old, new), 0 for
/// none: both of a real mode change, the new file's or the deleted file's,
/// and none when the mode stays what it was, whatever it is (a 100644 file
/// and the same change to its 100755 copy have one patch-id).
fn hashed_modes(change: &FileChange) -> (u32, u32) {
    match (&change.old, &change.new) {
        (Some(o), Some(n)) if o.mode == n.mode => (0, 0),
        (o, n) => (o.as_ref().map_or(0, |e| e.mode), n.as_ref().map_or(0, |e| e.mode)),
    }
}

/// One file of a [`patch_shape`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileShape {
    pub path: Vec<u8>,
    /// The modes the patch-id hashes ([`hashed_modes`]).
    pub modes: (u32, u32),
    pub content: ShapeContent,
}

/// The content part of a [`FileShape`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeContent {
    /// Non-whitespace bytes added (negative: removed).
    Text(i64),
    /// Old and new blob ids.
    Binary(Option<Oid>, Option<Oid>),
}

fn non_space_len(data: &[u8]) -> usize {
    // Branch-free byte compares counted in u8 lanes (a chunk of 255 cannot
    // overflow them), so that it vectorises: this runs over every version
    // of large files when scanning upstream.
    let mut spaces = 0;
    for chunk in data.chunks(255) {
        let mut n: u8 = 0;
        for &b in chunk {
            n += u8::from(b == b' ') | u8::from(b == b'\t') | u8::from(b == b'\n') | u8::from(b == b'\r');
        }
        spaces += usize::from(n);
    }
    data.len() - spaces
}

/// Adds a file's SHA-1 into the running sum, as git's `flush_one_hunk` does.
fn add_with_carry(sum: &mut [u8; 20], hash: [u8; 20]) {
    let mut carry: u16 = 0;
    for (s, h) in sum.iter_mut().zip(hash) {
        carry += u16::from(*s) + u16::from(h);
        *s = carry as u8;
        carry >>= 8;
    }
}

/// Drops the bytes git's `isspace` matches: space, tab, LF and CR (not VT or FF).
fn without_space(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().copied().filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')).collect()
}

/// What git diffs for one side: blob data, or for a submodule the
/// "Subproject commit" line git synthesises.
fn side_data(objects: &impl ObjectRead, entry: Option<&Entry>) -> Result<Vec<u8>> {
    match entry {
        None => Ok(Vec::new()),
        Some(e) if e.mode == MODE_GITLINK => Ok(format!("Subproject commit {}\n", e.oid).into_bytes()),
        Some(e) => Ok(objects.blob(e.oid)?.to_vec()),
    }
}

fn file_patch_id(objects: &impl ObjectRead, change: &FileChange) -> Result<[u8; 20]> {
    let path = without_space(&change.path);
    let mut h = sha1_smol::Sha1::new();
    h.update(b"diff--gita/");
    h.update(&path);
    h.update(b"b/");
    h.update(&path);
    match (&change.old, &change.new) {
        (None, Some(n)) => h.update(format!("newfilemode{:06o}", n.mode).as_bytes()),
        (Some(o), None) => h.update(format!("deletedfilemode{:06o}", o.mode).as_bytes()),
        (Some(o), Some(n)) if o.mode != n.mode => {
            h.update(format!("oldmode{:06o}newmode{:06o}", o.mode, n.mode).as_bytes())
        }
        _ => {}
    }
    let old = side_data(objects, change.old.as_ref())?;
    let new = side_data(objects, change.new.as_ref())?;
    if xdiff::is_binary(&old) || xdiff::is_binary(&new) {
        let hex = |e: &Option<Entry>| e.as_ref().map_or(Oid::ZERO_SHA1, |e| e.oid).to_string();
        h.update(hex(&change.old).as_bytes());
        h.update(hex(&change.new).as_bytes());
        return Ok(h.digest().bytes());
    }
    match (&change.old, &change.new) {
        (None, _) => {
            h.update(b"---/dev/null+++b/");
            h.update(&path);
        }
        (_, None) => {
            h.update(b"---a/");
            h.update(&path);
            h.update(b"+++/dev/null");
        }
        _ => {
            h.update(b"---a/");
            h.update(&path);
            h.update(b"+++b/");
            h.update(&path);
        }
    }
    if old != new {
        let hunks = xdiff::unified(&old, &new, Algorithm::Myers, 3).unwrap_or_default();
        for line in hunks.iter().flat_map(|hunk| &hunk.lines) {
            match line.kind {
                LineKind::Added => h.update(b"+"),
                LineKind::Removed => h.update(b"-"),
                LineKind::Context => {}
            }
            h.update(&without_space(line.text));
        }
    }
    Ok(h.digest().bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_carries_between_bytes() {
        let mut sum = [0u8; 20];
        add_with_carry(&mut sum, [0xff; 20]);
        let mut one = [0u8; 20];
        one[0] = 1;
        add_with_carry(&mut sum, one);
        assert_eq!(sum, [0u8; 20], "0xff..ff + 1 wraps to zero");
    }

    #[test]
    fn whitespace_is_what_git_calls_space() {
        assert_eq!(without_space(b" a \tb\r\n"), b"ab");
        assert_eq!(without_space(b"a\x0bb\x0c"), b"a\x0bb\x0c", "git keeps VT and FF");
    }

    #[test]
    fn non_space_len_counts_what_without_space_keeps() {
        let mut data = Vec::new();
        for i in 0..3000u32 {
            data.push((i.wrapping_mul(2_654_435_761) >> 24) as u8);
            if i % 7 == 0 {
                data.extend_from_slice(b" \t\r\n");
            }
        }
        for len in [0, 1, 254, 255, 256, 511, 1000, data.len()] {
            assert_eq!(non_space_len(&data[..len]), without_space(&data[..len]).len(), "{len} bytes");
        }
        assert_eq!(non_space_len(&[b' '; 600]), 0);
    }
}
