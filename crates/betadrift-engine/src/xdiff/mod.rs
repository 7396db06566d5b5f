// Follows git's xdiff/xdiffi.c and xutils.c (LibXDiff, LGPL-2.1-or-later); see NOTICE.
//! Line diffs and three-way merges that reproduce git's xdiff exactly.
//!
//! betadrift predicts what `git rebase` will do without running it. Whether
//! a rebase stops on a conflict, and what a cleanly merged file contains, are
//! decided inside git by its bundled xdiff library: merge-ort runs a
//! histogram diff of the merge base against each side and `xdl_merge`
//! combines the two edit scripts. Any generic diff library agrees with git
//! most of the time and disagrees exactly on the awkward files (repeated
//! lines, missing final newlines, adjacent edits) where a prediction matters
//! most, so this module re-implements the behaviour of git 2.47's xdiff
//! byte for byte instead:
//!
//! * [`diff`] yields the edit script git computes (`git diff -U0`), for the
//!   Myers (default and `--minimal`), histogram and patience algorithms,
//!   after git's change compaction (without the indent heuristic).
//! * [`unified`] groups that script into the hunks `git diff -U<n>` prints;
//!   patch ids are computed from these hunks with Myers and three lines of
//!   context.
//! * [`merge()`] is `xdl_merge`: with [`MergeLevel::Zealous`] and the
//!   histogram algorithm it is the content merge of `git rebase` (ort), with
//!   [`MergeLevel::ZealousAlnum`] it is `git merge-file`.
//!
//! Only the options git uses for these commands are supported: no
//! whitespace-ignoring flags, no `-I<regex>`, no anchors, no indent
//! heuristic. Inputs are plain bytes; git decides beforehand whether a file
//! is binary (see [`is_binary`]) and never hands binary files to xdiff.
//!
//! The algorithms follow git's C sources closely in behaviour, including its
//! cost-cutting heuristics, because those heuristics shape the output. The
//! histogram algorithm derives from JGit (see `histogram.rs`).

mod compact;
mod emit;
mod histogram;
mod merge;
mod myers;
mod patience;
mod prepare;

use std::fmt;
use std::ops::Range;

pub use emit::{Hunk, HunkLine, LineKind};
pub use merge::{ConflictRegion, ConflictStyle, Favor, MergeLevel, MergeOptions, MergeResult};

/// A diff algorithm, as chosen by git's `--diff-algorithm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// Myers' algorithm with xdiff's cost-cutting heuristics (git's default).
    #[default]
    Myers,
    /// Myers' algorithm searching for a minimal edit script (`--minimal`).
    Minimal,
    /// The histogram algorithm; merge-ort always uses it for content merges.
    Histogram,
    /// The patience algorithm.
    Patience,
}

/// One maximal group of changed lines: `old` lines were replaced by `new`.
///
/// Ranges are 0-based and half-open line indices into the two inputs as
/// split by [`split_lines`]. One of the ranges may be empty (a pure
/// insertion or deletion); its start is then the position of the gap.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Change {
    /// The replaced lines of the old input.
    pub old: Range<usize>,
    /// The replacing lines of the new input.
    pub new: Range<usize>,
}

/// A failure that makes git itself abort a diff or merge.
///
/// git reports these as `unable to generate diff` (diff) or `failed to
/// execute internal merge` (merge-ort, which stops the rebase).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The histogram index met more than 64 distinct lines sharing one hash
    /// bucket of a sub-range. git 2.47 gives up on the whole diff instead of
    /// falling back to Myers in this case.
    HistogramBucketOverflow,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::HistogramBucketOverflow => {
                f.write_str("histogram diff failed: too many distinct lines in one hash bucket")
            }
        }
    }
}

impl std::error::Error for Error {}

/// Splits `data` into lines the way xdiff does.
///
/// Every line keeps its terminating `\n`; only the last line may lack one.
/// A `\r` before the `\n` is part of the line. Empty input has no lines.
pub fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    data.split_inclusive(|&byte| byte == b'\n').collect()
}

/// Whether git would treat `data` as binary and keep it away from xdiff.
///
/// This is git's `buffer_is_binary`: a NUL byte among the first 8000 bytes.
pub fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(8000)].contains(&0)
}

/// Computes the edit script git computes between `old` and `new`.
///
/// The changes are in order and separated by at least one unchanged line.
/// They are the edit script of `xdl_diff`, which merges and patch ids use.
/// `git diff -U0 --no-indent-heuristic` prints the same hunks, with one
/// twist: at zero context git first drops the common tail of both files in
/// whole 1024-byte blocks (`trim_common_tail`), which can change the script
/// of large files; pass the trimmed inputs to reproduce that output.
pub fn diff(old: &[u8], new: &[u8], algorithm: Algorithm) -> Result<Vec<Change>, Error> {
    diff_lines(&split_lines(old), &split_lines(new), algorithm)
}

/// Groups the edit script into hunks with `context` lines around each
/// change, exactly as `git diff -U<context>` prints them.
pub fn unified<'a>(old: &'a [u8], new: &'a [u8], algorithm: Algorithm, context: usize) -> Result<Vec<Hunk<'a>>, Error> {
    let old_lines = split_lines(old);
    let new_lines = split_lines(new);
    let script = diff_lines(&old_lines, &new_lines, algorithm)?;
    Ok(emit::hunks(&old_lines, &new_lines, &script, context))
}

/// Merges the changes from `base` to `ours` and from `base` to `theirs`,
/// exactly as `xdl_merge` does.
///
/// `content` is git's output, conflict markers included; `conflicts` lists
/// the regions git counts as conflicts (empty when the merge is clean).
pub fn merge(base: &[u8], ours: &[u8], theirs: &[u8], options: &MergeOptions<'_>) -> Result<MergeResult, Error> {
    merge::merge(base, ours, theirs, options)
}

/// Runs xdiff's pipeline on already split lines: classify, diff, compact,
/// and collect the changes.
/// [`diff`] over inputs already split into lines (each keeps its `\n`, as
/// [`split_lines`] leaves it; lines compare as bytes).
pub fn diff_lines(old: &[&[u8]], new: &[&[u8]], algorithm: Algorithm) -> Result<Vec<Change>, Error> {
    let classes = prepare::classify(old, new);
    let mut changed_old = compact::ChangeMap::new(old.len());
    let mut changed_new = compact::ChangeMap::new(new.len());
    let (marks_old, marks_new) = (changed_old.marks_mut(), changed_new.marks_mut());
    match algorithm {
        Algorithm::Myers => myers::diff(&classes, false, marks_old, marks_new),
        Algorithm::Minimal => myers::diff(&classes, true, marks_old, marks_new),
        Algorithm::Histogram => histogram::diff(old, new, &classes, marks_old, marks_new)?,
        Algorithm::Patience => patience::diff(old, new, &classes, marks_old, marks_new),
    }
    compact::compact(&classes.old, &mut changed_old, &classes.new, &mut changed_new);
    compact::compact(&classes.new, &mut changed_new, &classes.old, &mut changed_old);
    Ok(compact::script(&changed_old, &changed_new))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_newlines_and_a_trailing_partial_line() {
        assert!(split_lines(b"").is_empty());
        assert_eq!(split_lines(b"a"), vec![&b"a"[..]]);
        assert_eq!(split_lines(b"a\r\nb"), vec![&b"a\r\n"[..], b"b"]);
        assert_eq!(split_lines(b"\n\n"), vec![&b"\n"[..], b"\n"]);
    }

    #[test]
    fn binary_means_nul_in_the_first_8000_bytes() {
        assert!(is_binary(b"a\0b"));
        assert!(!is_binary(b"plain\n"));
        let mut late = vec![b'x'; 8000];
        late.push(0);
        assert!(!is_binary(&late));
    }

    #[test]
    fn identical_inputs_have_no_changes() {
        for algorithm in [Algorithm::Myers, Algorithm::Minimal, Algorithm::Histogram, Algorithm::Patience] {
            assert_eq!(diff(b"a\nb\n", b"a\nb\n", algorithm), Ok(vec![]));
            assert_eq!(diff(b"", b"", algorithm), Ok(vec![]));
        }
    }

    #[test]
    fn a_missing_final_newline_changes_the_last_line() {
        let changes = diff(b"a\nb\n", b"a\nb", Algorithm::Histogram).unwrap();
        assert_eq!(changes, vec![Change { old: 1..2, new: 1..2 }]);
    }
}
