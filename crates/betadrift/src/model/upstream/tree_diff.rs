//! Which files two trees differ in, and whether they are exactly some paths.
//!
//! A local patch and an upstream commit can only have the same patch-id if
//! they change the same files. `changes_exactly` answers that without
//! diffing whole trees: it follows the differences only into directories
//! that hold one of the paths, and stops at the first other changed file.

use git2::Oid;

use crate::error::Result;
use betadrift_engine::objects::ObjectRead;
use betadrift_engine::patchid::{diff_trees, differing_entries};

/// Paths of files that differ between two trees, sorted.
pub fn changed_paths(repo: &impl ObjectRead, old: Option<Oid>, new: Oid) -> Result<Vec<Vec<u8>>> {
    let old = old.unwrap_or_else(betadrift_engine::objects::empty_tree);
    Ok(diff_trees(repo, Some(old), Some(new))?.into_iter().map(|c| c.path).collect())
}

/// Whether the files that differ between trees `old` (`None`: the empty
/// tree) and `new` are exactly `paths`: what `changed_paths(..) == paths`
/// says, without diffing whole trees. A directory that none of `paths`
/// lies in is walked only as far as its first changed file, so a commit
/// that touches other files as well is told apart at once.
pub fn changes_exactly(repo: &impl ObjectRead, old: Option<Oid>, new: Oid, paths: &[Vec<u8>]) -> Result<bool> {
    let old = old.unwrap_or_else(betadrift_engine::objects::empty_tree);
    let paths: Vec<&[u8]> = paths.iter().map(Vec::as_slice).collect();
    let mut found = 0;
    let only_those = exact_walk(repo, &mut Vec::new(), Some(old), Some(new), &paths, &mut found)?;
    Ok(only_those && found == paths.len())
}

/// Follows the differences of trees `a` and `b` (at `prefix`) into the
/// directories of `paths`, counting the files of `paths` that differ into
/// `found`; `false` at the first differing file that is not one of them.
fn exact_walk(
    repo: &impl ObjectRead,
    prefix: &mut Vec<u8>,
    a: Option<Oid>,
    b: Option<Oid>,
    paths: &[&[u8]],
    found: &mut usize,
) -> Result<bool> {
    let load = |t: Option<Oid>| t.map(|t| repo.tree(t)).transpose();
    let (ta, tb) = (load(a)?, load(b)?);
    for (ea, eb) in differing_entries(ta.as_deref(), tb.as_deref()) {
        let entry = ea.or(eb).expect("one side has the entry");
        let len = prefix.len();
        prefix.extend_from_slice(entry.name);
        let only_those = if entry.is_tree() {
            prefix.push(b'/');
            let under: Vec<&[u8]> = paths.iter().copied().filter(|p| p.starts_with(prefix)).collect();
            let (a, b) = (ea.map(|e| e.oid()), eb.map(|e| e.oid()));
            if under.is_empty() {
                !any_file_differs(repo, a, b)?
            } else {
                exact_walk(repo, prefix, a, b, &under, found)?
            }
        } else if paths.contains(&prefix.as_slice()) {
            *found += 1;
            true
        } else {
            false
        };
        prefix.truncate(len);
        if !only_those {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether any file differs between trees `a` and `b` (`None`: absent).
/// Two different trees can hold the same files: an empty directory is
/// not a change to git's diff.
fn any_file_differs(repo: &impl ObjectRead, a: Option<Oid>, b: Option<Oid>) -> Result<bool> {
    let load = |t: Option<Oid>| t.map(|t| repo.tree(t)).transpose();
    let (ta, tb) = (load(a)?, load(b)?);
    for (ea, eb) in differing_entries(ta.as_deref(), tb.as_deref()) {
        let entry = ea.or(eb).expect("one side has the entry");
        if !entry.is_tree() || any_file_differs(repo, ea.map(|e| e.oid()), eb.map(|e| e.oid()))? {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::error::Error;
    use crate::model::upstream::bits;
    use betadrift_engine::objects::Tree;

    /// No objects: the overlay holds every tree and blob of a test.
    struct Nothing;

    impl ObjectRead for Nothing {
        fn tree(&self, oid: Oid) -> betadrift_engine::Result<Rc<Tree>> {
            Err(betadrift_engine::Error::store(Error::Git { context: format!("tree {oid}"), message: "absent".into() }))
        }
        fn blob(&self, oid: Oid) -> betadrift_engine::Result<betadrift_engine::objects::Blob> {
            Err(betadrift_engine::Error::store(Error::Git { context: format!("blob {oid}"), message: "absent".into() }))
        }
    }

    /// Paths where files and directories of one name, nesting, and empty
    /// directories meet.
    const PATHS: [&str; 9] = ["a", "a.b", "a/x", "a/y/z", "a/y/w", "b/c", "b/d/e", "c", "d/e/f"];

    /// A tree holding the paths of `present`, each with one of two contents
    /// or modes by `variant`; "a" as a file only where "a/..." is absent.
    fn tree_of(
        objects: &betadrift_engine::objects::Overlay<'_, Nothing>,
        present: u64,
        variant: u64,
        empty_dir: bool,
    ) -> Oid {
        let mut files: Vec<(&str, u32, Oid)> = Vec::new();
        for (k, path) in PATHS.iter().enumerate() {
            let dir_taken = *path == "a" && present & 0b1100 != 0;
            if present & (1 << k) == 0 || dir_taken {
                continue;
            }
            let v = (variant >> (2 * k)) & 3;
            let mode = if v == 3 { betadrift_engine::objects::MODE_EXEC } else { betadrift_engine::objects::MODE_FILE };
            files.push((path, mode, objects.add_blob(format!("{path} {}\n", v & 1).into_bytes())));
        }
        fn build(
            objects: &betadrift_engine::objects::Overlay<'_, Nothing>,
            files: &[(&str, u32, Oid)],
            prefix: &str,
            empty_dir: bool,
        ) -> Oid {
            let mut entries = Vec::new();
            let mut dirs: Vec<&str> = Vec::new();
            for (path, mode, oid) in files {
                let Some(rest) = path.strip_prefix(prefix) else { continue };
                match rest.split_once('/') {
                    None => entries.push(betadrift_engine::objects::Entry {
                        name: rest.as_bytes().into(),
                        mode: *mode,
                        oid: *oid,
                    }),
                    Some((dir, _)) if !dirs.contains(&dir) => dirs.push(dir),
                    Some(_) => {}
                }
            }
            for dir in dirs {
                let oid = build(objects, files, &format!("{prefix}{dir}/"), empty_dir);
                entries.push(betadrift_engine::objects::Entry {
                    name: dir.as_bytes().into(),
                    mode: betadrift_engine::objects::MODE_TREE,
                    oid,
                });
            }
            if empty_dir && prefix.is_empty() {
                let oid = objects.add_tree(Tree::from_entries(Vec::new()));
                entries.push(betadrift_engine::objects::Entry {
                    name: b"empty".as_slice().into(),
                    mode: betadrift_engine::objects::MODE_TREE,
                    oid,
                });
            }
            objects.add_tree(Tree::from_entries(entries))
        }
        build(objects, &files, "", empty_dir)
    }

    #[test]
    fn exact_changes_agree_with_a_full_diff() {
        let objects = betadrift_engine::objects::Overlay::new(&Nothing);
        objects.add_tree(Tree::from_entries(Vec::new()));
        let mut seed = 3;
        let (mut same, mut differ) = (0, 0);
        for case in 0..4000 {
            let old = tree_of(&objects, bits(&mut seed), bits(&mut seed), bits(&mut seed).is_multiple_of(3));
            let new = tree_of(&objects, bits(&mut seed), bits(&mut seed), bits(&mut seed).is_multiple_of(3));
            let old = (!bits(&mut seed).is_multiple_of(5)).then_some(old);
            let changed = changed_paths(&objects, old, new).unwrap();
            // The true answer, and answers one path off either way.
            let mut asked = vec![changed.clone()];
            let extra = PATHS[bits(&mut seed) as usize % PATHS.len()].as_bytes().to_vec();
            if !changed.contains(&extra) {
                let mut more = changed.clone();
                more.push(extra);
                more.sort();
                asked.push(more);
            }
            if !changed.is_empty() {
                let mut fewer = changed.clone();
                fewer.remove(bits(&mut seed) as usize % changed.len());
                asked.push(fewer);
            }
            for paths in asked {
                let exact = changes_exactly(&objects, old, new, &paths).unwrap();
                assert_eq!(exact, paths == changed, "case {case}: {paths:?} against {changed:?}");
                if exact { same += 1 } else { differ += 1 }
            }
        }
        assert!(same > 1000 && differ > 1000, "{same} equal, {differ} not");
    }
}
