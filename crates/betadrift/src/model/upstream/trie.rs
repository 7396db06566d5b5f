//! The trees of upstream commits, projected onto the paths local patches touch.
//!
//! The patch-id scan must tell, for thousands of upstream commits, which of
//! a few dozen paths each one changed. Diffing whole trees would read most
//! of every tree; instead the paths are merged into a trie, and each tree
//! body is read only as far as the entries the trie's node names (found by
//! a bit set of first bytes and git's tree order), with the projections
//! cached by (node, tree id), since consecutive commits share most trees.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use git2::Oid;

use super::index::Side;
use crate::error::{Error, Result};
use crate::git::repo::Repo;
use betadrift_engine::objects::{Kind, RawEntries, kind_of, tree_order};

/// The union of the local patches' paths, for scanning upstream commits
/// without diffing whole trees.
#[derive(Debug, Default)]
pub(super) struct PathTrie {
    /// Sorted by name.
    children: Vec<(Vec<u8>, PathTrie)>,
    leaf: Option<Vec<u8>>,
    /// This node's number, unique in its trie.
    id: usize,
    /// The greatest of the children's names followed by `/`: in a tree,
    /// an entry that sorts after it is past every child.
    bound: Vec<u8>,
    /// The first bytes of the children's names, as a bit set: most entries
    /// of a large tree are ruled out by one test.
    first_bytes: [u64; 4],
}

impl PathTrie {
    pub(super) fn new<'a>(paths: impl Iterator<Item = &'a Vec<u8>>) -> PathTrie {
        let mut root = PathTrie::default();
        for path in paths {
            let mut node = &mut root;
            for part in path.split(|&b| b == b'/') {
                let k = match node.children.binary_search_by(|(name, _)| name.as_slice().cmp(part)) {
                    Ok(k) => k,
                    Err(k) => {
                        node.children.insert(k, (part.to_vec(), PathTrie::default()));
                        k
                    }
                };
                node = &mut node.children[k].1;
            }
            node.leaf = Some(path.clone());
        }
        root.finish(&mut 0);
        root
    }

    fn finish(&mut self, next: &mut usize) {
        self.id = *next;
        *next += 1;
        self.bound = self.children.iter().map(|(name, _)| [name.as_slice(), b"/"].concat()).max().unwrap_or_default();
        for (name, _) in &self.children {
            let first = name.first().copied().unwrap_or(0);
            self.first_bytes[usize::from(first >> 6)] |= 1 << (first & 63);
        }
        for (_, child) in &mut self.children {
            child.finish(next);
        }
    }

    /// The entries of a tree body that this node's children name, in the
    /// children's order; reads no further than the last of them.
    fn project(&self, data: &[u8]) -> std::result::Result<Box<[Side]>, String> {
        let mut out = vec![None; self.children.len()].into_boxed_slice();
        let mut left = out.len();
        let last_first = self.bound.first().copied().unwrap_or(0);
        for entry in RawEntries::new(data) {
            let e = entry?;
            let first = e.name.first().copied().unwrap_or(0);
            if self.first_bytes[usize::from(first >> 6)] & (1 << (first & 63)) == 0 {
                if first > last_first {
                    break;
                }
                continue;
            }
            if let Ok(k) = self.children.binary_search_by(|(name, _)| name.as_slice().cmp(e.name)) {
                if out[k].is_none() {
                    out[k] = Some((e.mode, e.oid()));
                    left -= 1;
                }
                if left == 0 {
                    break;
                }
            } else if tree_order(e.name, e.is_tree(), &self.bound, false) == std::cmp::Ordering::Greater {
                break;
            }
        }
        Ok(out)
    }

    /// The paths of this trie whose entries differ between two trees: as
    /// files (a set, for matching patches), and as entries of any kind with
    /// their (mode, id) on each side (for path histories).
    pub(super) fn changed_leaves<'s>(
        &'s self,
        repo: &Repo,
        trees: &mut TrieTrees,
        old: Option<Oid>,
        new: Oid,
        entries: &mut Vec<(&'s [u8], Side, Side)>,
    ) -> Result<HashSet<&'s [u8]>> {
        let mut out = HashSet::new();
        if old != Some(new) {
            self.walk(repo, trees, old, Some(new), &mut out, entries)?;
        }
        Ok(out)
    }

    fn walk<'s>(
        &'s self,
        repo: &Repo,
        trees: &mut TrieTrees,
        a: Option<Oid>,
        b: Option<Oid>,
        out: &mut HashSet<&'s [u8]>,
        entries: &mut Vec<(&'s [u8], Side, Side)>,
    ) -> Result<()> {
        let (pa, pb) =
            (a.map(|o| trees.get(repo, self, o)).transpose()?, b.map(|o| trees.get(repo, self, o)).transpose()?);
        let is_tree = |side: Side| side.is_some_and(|(mode, _)| kind_of(mode) == Kind::Tree);
        for (k, (_, child)) in self.children.iter().enumerate() {
            let (sa, sb) = (pa.as_ref().and_then(|p| p[k]), pb.as_ref().and_then(|p| p[k]));
            if sa == sb {
                continue;
            }
            if let Some(leaf) = &child.leaf {
                entries.push((leaf, sa, sb));
                if (sa.is_some() && !is_tree(sa)) || (sb.is_some() && !is_tree(sb)) {
                    out.insert(leaf);
                }
            }
            if !child.children.is_empty() {
                let sub = |side: Side| side.filter(|_| is_tree(side)).map(|(_, oid)| oid);
                child.walk(repo, trees, sub(sa), sub(sb), out, entries)?;
            }
        }
        Ok(())
    }
}

/// Trees as the trie's nodes see them, by (node, tree id): consecutive
/// upstream commits share most of their trees.
#[derive(Debug, Default)]
pub(super) struct TrieTrees(HashMap<(usize, Oid), Rc<[Side]>>);

impl TrieTrees {
    fn get(&mut self, repo: &Repo, node: &PathTrie, oid: Oid) -> Result<Rc<[Side]>> {
        if let Some(seen) = self.0.get(&(node.id, oid)) {
            return Ok(Rc::clone(seen));
        }
        let data = repo.raw_tree(oid)?;
        let projected: Rc<[Side]> = node
            .project(&data)
            .map_err(|message| Error::Git { context: format!("parsing tree {oid}"), message })?
            .into();
        self.0.insert((node.id, oid), Rc::clone(&projected));
        Ok(projected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::upstream::bits;
    use betadrift_engine::objects::{Entry, MODE_FILE, MODE_TREE, Tree, empty_tree, hash_object};

    /// Names around every edge of git's tree order: a directory sorts as
    /// "name/", so "a!" ('!' < '/') comes before directory "a", "a0"
    /// ('0' > '/') after it, and a file "a" before both.
    const NAMES: [&[u8]; 10] = [b"a", b"a!", b"a-", b"a.b", b"a0", b"ab", b"b", b"A", b"_", b"\xff"];

    #[test]
    fn projecting_a_tree_finds_what_lookup_finds() {
        let blob = hash_object("blob", b"x");
        let mut seed = 7;
        for case in 0..3000 {
            let (in_tree, dirs, wanted) = (bits(&mut seed), bits(&mut seed), bits(&mut seed));
            let entries: Vec<Entry> = (0..NAMES.len())
                .filter(|k| in_tree & (1 << k) != 0)
                .map(|k| {
                    let dir = dirs & (1 << k) != 0;
                    let (mode, oid) = if dir { (MODE_TREE, empty_tree()) } else { (MODE_FILE, blob) };
                    Entry { name: NAMES[k].into(), mode, oid }
                })
                .collect();
            let tree = Tree::from_entries(entries);
            let paths: Vec<Vec<u8>> =
                (0..NAMES.len()).filter(|k| wanted & (1 << k) != 0).map(|k| NAMES[k].to_vec()).collect();
            let trie = PathTrie::new(paths.iter());
            let projected = trie.project(&tree.serialize()).unwrap();
            for (k, (name, _)) in trie.children.iter().enumerate() {
                let expected = tree.get(name).map(|e| (e.mode, e.oid()));
                assert_eq!(projected[k], expected, "case {case}: {:?} in {tree:?}", String::from_utf8_lossy(name));
            }
        }
    }

    #[test]
    fn a_malformed_tree_is_an_error_not_a_guess() {
        let trie = PathTrie::new([b"a".to_vec()].iter());
        assert!(trie.project(b"100644 a").is_err());
        assert!(trie.project(b"10x644 a\0").is_err());
    }
}
