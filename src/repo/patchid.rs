//! Patch-ids as git computes them for `git rebase`'s cherry-pick detection.
//!
//! git skips a local commit during a rebase when upstream has a commit with
//! the same patch-id: a SHA-1 over the commit's diff (no rename detection,
//! three lines of context, no hunk headers) with all whitespace removed,
//! hashed per file and summed so that file order does not matter. Binary
//! files contribute their blob ids instead of lines. Reproducing the same
//! normalisation lets betadrift give the same answers git will.

use git2::{DiffOptions, Oid};

use super::Repo;
use crate::error::{GitContext, Result};
use crate::objects::ObjectRead;

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

fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(8000)].contains(&0)
}

impl Repo {
    /// The patch-id of the change from tree `old` to tree `new`.
    pub fn patch_id(&self, old: Oid, new: Oid) -> Result<PatchId> {
        let ctx = || format!("diffing {old}..{new} for a patch-id");
        let git = self.git();
        let old_tree = git.find_tree(old).git_context(ctx)?;
        let new_tree = git.find_tree(new).git_context(ctx)?;
        let mut opts = DiffOptions::new();
        opts.context_lines(3).interhunk_lines(0).indent_heuristic(false).force_text(true).ignore_submodules(false);
        let diff = git.diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut opts)).git_context(ctx)?;
        let mut sum = PatchId::EMPTY.0;
        for idx in 0..diff.deltas().len() {
            let delta = diff.get_delta(idx).expect("index within deltas");
            let hash = self.file_patch_id(&diff, idx, &delta)?;
            add_with_carry(&mut sum, hash);
        }
        Ok(PatchId(sum))
    }

    /// The patch-id of a commit against its first parent (or the empty tree).
    pub fn commit_patch_id(&self, tree: Oid, parent_tree: Option<Oid>) -> Result<PatchId> {
        self.patch_id(parent_tree.unwrap_or_else(crate::objects::empty_tree), tree)
    }

    fn file_patch_id(&self, diff: &git2::Diff<'_>, idx: usize, delta: &git2::DiffDelta<'_>) -> Result<[u8; 20]> {
        let (one, two) = (delta.old_file(), delta.new_file());
        let one_path = without_space(one.path_bytes().unwrap_or_default());
        let two_path = without_space(two.path_bytes().unwrap_or_default());
        let (one_mode, two_mode) = (u32::from(one.mode()), u32::from(two.mode()));
        let added = one.id().is_zero();
        let deleted = two.id().is_zero();
        let mut h = sha1_smol::Sha1::new();
        h.update(b"diff--gita/");
        h.update(&one_path);
        h.update(b"b/");
        h.update(&two_path);
        if added {
            h.update(format!("newfilemode{two_mode:06o}").as_bytes());
        } else if deleted {
            h.update(format!("deletedfilemode{one_mode:06o}").as_bytes());
        } else if one_mode != two_mode {
            h.update(format!("oldmode{one_mode:06o}newmode{two_mode:06o}").as_bytes());
        }
        let one_data = self.side_blob(one.id(), one_mode)?;
        let two_data = self.side_blob(two.id(), two_mode)?;
        if is_binary(&one_data) || is_binary(&two_data) {
            h.update(one.id().to_string().as_bytes());
            h.update(two.id().to_string().as_bytes());
            return Ok(h.digest().bytes());
        }
        if added {
            h.update(b"---/dev/null+++b/");
            h.update(&two_path);
        } else if deleted {
            h.update(b"---a/");
            h.update(&one_path);
            h.update(b"+++/dev/null");
        } else {
            h.update(b"---a/");
            h.update(&one_path);
            h.update(b"+++b/");
            h.update(&two_path);
        }
        self.hash_lines(diff, idx, &mut h)?;
        Ok(h.digest().bytes())
    }

    /// The content git diffs for one side: blob data, or for a submodule
    /// the "Subproject commit" line git synthesises.
    fn side_blob(&self, oid: Oid, mode: u32) -> Result<Vec<u8>> {
        if oid.is_zero() {
            return Ok(Vec::new());
        }
        if mode == crate::objects::MODE_GITLINK {
            return Ok(format!("Subproject commit {oid}\n").into_bytes());
        }
        Ok(self.blob(oid)?.to_vec())
    }

    fn hash_lines(&self, diff: &git2::Diff<'_>, idx: usize, h: &mut sha1_smol::Sha1) -> Result<()> {
        let Some(patch) = git2::Patch::from_diff(diff, idx).git_context(|| "building a patch".into())? else {
            return Ok(());
        };
        for hunk in 0..patch.num_hunks() {
            let lines = patch.num_lines_in_hunk(hunk).git_context(|| "reading a hunk".into())?;
            for l in 0..lines {
                let line = patch.line_in_hunk(hunk, l).git_context(|| "reading a line".into())?;
                let prefix: &[u8] = match line.origin() {
                    '+' => b"+",
                    '-' => b"-",
                    ' ' => b"",
                    _ => continue, // "\ No newline at end of file" markers are skipped
                };
                h.update(prefix);
                h.update(&without_space(line.content()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_carries_between_bytes() {
        let mut sum = [0u8; 20];
        add_with_carry(&mut sum, [0xff; 20]);
        add_with_carry(&mut sum, {
            let mut one = [0u8; 20];
            one[0] = 1;
            one
        });
        assert_eq!(sum, [0u8; 20], "0xff..ff + 1 wraps to zero");
    }

    #[test]
    fn whitespace_is_ignored() {
        assert_eq!(without_space(b" a \tb\r\n"), b"ab");
        assert_eq!(without_space(b"a\x0bb\x0c"), b"a\x0bb\x0c", "git keeps VT and FF");
    }
}
