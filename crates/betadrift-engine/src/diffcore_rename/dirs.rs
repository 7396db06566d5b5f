// Follows git's diffcore-rename.c (GPL-2.0-only); see NOTICE.
//! Directory-rename bookkeeping inside rename detection.
//!
//! merge-ort infers directory renames by majority vote over the file renames
//! out of each removed directory.  Rename detection feeds that vote
//! (`dir_rename_count`), uses the early votes from exact renames to guess
//! where files with common basenames went, and skips work once a vote is
//! decided: sources wanted only for their location are dropped when no
//! directory above them still needs votes.
//!
//! Directories are byte strings without a trailing slash; the top level is
//! the empty string.  A map of counts per old directory keeps its targets in
//! insertion order because git breaks ties in the order its hashmap iterates.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::content::BlobSource;
use super::exact::basename;
use super::gitmap::{ChainedTable, strhash};
use super::{Detection, DirRelevance, DirRenameCount, SourceRelevance};

/// Placeholder target for "some rename not yet detected" (not a legal dir).
const UNKNOWN_DIR: &[u8] = b"/";

/// The directory part of `path` (empty at the top level).
pub(super) fn dirname(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(slash) => &path[..slash],
        None => b"",
    }
}

/// `dirs_removed` lookup with git's default of "not relevant".
fn relevance(dirs_removed: Option<&HashMap<Vec<u8>, DirRelevance>>, dir: &[u8]) -> DirRelevance {
    dirs_removed.and_then(|dirs| dirs.get(dir).copied()).unwrap_or(DirRelevance::NotRelevant)
}

/// New-directory counts for one old directory, in first-insertion order.
#[derive(Debug, Default)]
struct TargetCounts {
    entries: Vec<(Vec<u8>, usize)>,
    position: HashMap<Vec<u8>, usize>,
}

impl TargetCounts {
    /// Adds one to the count of `target`.
    fn increment(&mut self, target: &[u8]) {
        match self.position.get(target) {
            Some(&at) => self.entries[at].1 += 1,
            None => {
                self.position.insert(target.to_vec(), self.entries.len());
                self.entries.push((target.to_vec(), 1));
            }
        }
    }

    /// The target with the highest count, ties going to the first one git's
    /// hashmap iterates (`get_highest_rename_path()`).
    fn highest(&self) -> Option<&[u8]> {
        let mut table = ChainedTable::with_expected(0);
        for (target, _) in &self.entries {
            table.add(strhash(target));
        }
        let mut best: Option<(usize, &[u8])> = None;
        for entry in table.iteration_order() {
            let (target, count) = &self.entries[entry];
            if best.is_none_or(|(top, _)| *count > top) {
                best = Some((*count, target));
            }
        }
        best.map(|(_, target)| target)
    }

    /// Whether the leader can no longer be overtaken, even if every unknown
    /// rename went to the runner-up (`dir_rename_already_determinable()`).
    fn already_determinable(&self) -> bool {
        let (mut first, mut second, mut unknown) = (0, 0, 0);
        for (target, count) in &self.entries {
            if target == UNKNOWN_DIR {
                unknown = *count;
            } else if *count >= first {
                second = first;
                first = *count;
            } else if *count >= second {
                second = *count;
            }
        }
        first > second + unknown
    }
}

/// Which old directories are worth counting renames for.
#[derive(Debug)]
enum SourceDirs {
    /// Exactly the keys of `dirs_removed`, whatever their relevance.
    RemovedDirs,
    /// The directories of the relevant sources (no `dirs_removed` given).
    Listed(HashSet<Vec<u8>>),
}

/// git's `struct dir_rename_info`, set up after exact renames.
#[derive(Debug)]
pub(super) struct DirRenameInfo {
    counts: HashMap<Vec<u8>, TargetCounts>,
    /// Old directory -> most likely new directory, from exact renames.
    guesses: HashMap<Vec<u8>, Vec<u8>>,
    /// Destinations not renamed at setup: path -> position in `dests`.
    unmatched_dests: HashMap<Vec<u8>, usize>,
    source_dirs: SourceDirs,
}

impl DirRenameInfo {
    /// Sets up directory bookkeeping from the exact renames found so far
    /// (git's `initialize_dir_rename_info()`); `None` in plain diff mode.
    pub(super) fn setup<B: BlobSource>(det: &Detection<'_, '_, B>) -> Option<Self> {
        let source_dirs = match (det.dirs_removed.is_some(), det.relevant_sources) {
            (false, None) => return None,
            (true, _) => SourceDirs::RemovedDirs,
            (false, Some(relevant)) => SourceDirs::Listed(relevant.keys().map(|path| dirname(path).to_vec()).collect()),
        };
        let mut info =
            Self { counts: HashMap::new(), guesses: HashMap::new(), unmatched_dests: HashMap::new(), source_dirs };
        let dirs_removed = det.dirs_removed.as_deref();
        for (position, (&dest, found)) in det.dests.iter().zip(&det.matched).enumerate() {
            let new_path = &det.side(dest).path;
            match found {
                None => {
                    info.unmatched_dests.insert(new_path.clone(), position);
                }
                Some(m) => info.count_rename(dirs_removed, &det.side(m.source).path, new_path),
            }
        }
        info.guesses =
            info.counts.iter().filter_map(|(old, counts)| Some((old.clone(), counts.highest()?.to_vec()))).collect();
        Some(info)
    }

    /// Whether renames out of `dir` are counted at all.
    fn counts_dir(&self, dirs_removed: Option<&HashMap<Vec<u8>, DirRelevance>>, dir: &[u8]) -> bool {
        match &self.source_dirs {
            SourceDirs::RemovedDirs => dirs_removed.is_some_and(|dirs| dirs.contains_key(dir)),
            SourceDirs::Listed(dirs) => dirs.contains(dir),
        }
    }

    /// Adds one to the votes for `old_dir` having moved to `new_dir`.
    fn increment(&mut self, old_dir: &[u8], new_dir: &[u8]) {
        self.counts.entry(old_dir.to_vec()).or_default().increment(new_dir);
    }

    /// Counts the rename `old_path` -> `new_path` for its directory and for
    /// each ancestor whose trailing components were kept, as git's
    /// `update_dir_rename_counts()` does.  The parent directory is always
    /// counted (the basename heuristic uses it); ancestors only when they
    /// are [`DirRelevance::ForSelf`].
    fn count_rename(
        &mut self,
        dirs_removed: Option<&HashMap<Vec<u8>, DirRelevance>>,
        old_path: &[u8],
        new_path: &[u8],
    ) {
        let (mut old_rest, mut new_rest) = (old_path, new_path);
        let mut first = true;
        loop {
            let (old_dir, old_component) = split_last_old(old_rest);
            if !self.counts_dir(dirs_removed, old_dir) {
                break;
            }
            let (new_dir, new_component) = split_last(new_rest);
            if !first && old_component != new_component {
                break;
            }
            let flag = relevance(dirs_removed, old_dir);
            if first || flag == DirRelevance::ForSelf {
                self.increment(old_dir, new_dir);
            }
            first = false;
            if flag == DirRelevance::NotRelevant || old_dir.is_empty() || new_dir.is_empty() {
                break;
            }
            (old_rest, new_rest) = (old_dir, new_dir);
        }
    }

    /// Where the basename heuristic expects `source_path` went: the
    /// unmatched destination at the guessed new directory with the same
    /// basename (git's `idx_possible_rename()`), as a position in `dests`.
    pub(super) fn possible_rename(&self, source_path: &[u8]) -> Option<usize> {
        let new_dir = self.guesses.get(dirname(source_path))?;
        let mut candidate = new_dir.clone();
        candidate.push(b'/');
        candidate.extend_from_slice(basename(source_path));
        self.unmatched_dests.get(&candidate).copied()
    }

    /// The counts merge-ort keeps: directories still relevant, without the
    /// placeholder votes (git's `cleanup_dir_rename_info()`).
    pub(super) fn into_counts(self, dirs_removed: &HashMap<Vec<u8>, DirRelevance>) -> DirRenameCount {
        self.counts
            .into_iter()
            .filter(|(old, _)| relevance(Some(dirs_removed), old) != DirRelevance::NotRelevant)
            .map(|(old, counts)| {
                let targets: BTreeMap<_, _> =
                    counts.entries.into_iter().filter(|(target, _)| target != UNKNOWN_DIR).collect();
                (old, targets)
            })
            .collect()
    }
}

/// Splits `path` into its directory and last component.
fn split_last(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(slash) => (&path[..slash], &path[slash + 1..]),
        None => (b"", path),
    }
}

/// Like [`split_last`] for the old side of `update_dir_rename_counts()`:
/// for a path without a slash, git's `dirname_munge()` overwrites the first
/// byte with the terminator, so the component it compares loses that byte.
fn split_last_old(path: &[u8]) -> (&[u8], &[u8]) {
    match split_last(path) {
        (b"", component) => (b"", component.get(1..).unwrap_or_default()),
        split => split,
    }
}

impl<B: BlobSource> Detection<'_, '_, B> {
    /// Counts a rename found by the basename or inexact pass towards
    /// directory renames.
    pub(super) fn count_dir_rename(&mut self, source: usize, dest_index: usize) {
        let (old_path, new_path) = (&self.side(source).path, &self.side(dest_index).path);
        if let Some(info) = self.info.as_mut() {
            info.count_rename(self.dirs_removed.as_deref(), old_path, new_path);
        }
    }

    /// git's `handle_early_known_dir_renames()`: records the undetected
    /// sources as unknown votes, marks directories whose vote is already
    /// decided as [`DirRelevance::ForAncestor`], and drops sources wanted
    /// only for their location when nothing above them needs more votes.
    pub(super) fn handle_early_known_dir_renames(&mut self) {
        let (Some(relevant), Some(dirs_removed), Some(info)) =
            (self.relevant_sources, self.dirs_removed.as_deref_mut(), self.info.as_mut())
        else {
            return;
        };
        for &source in &self.sources {
            let mut dir = dirname(&self.queue[source].side().path);
            while !dir.is_empty() && relevance(Some(dirs_removed), dir) != DirRelevance::NotRelevant {
                info.increment(dir, UNKNOWN_DIR);
                dir = dirname(dir);
            }
        }
        for (old_dir, counts) in &info.counts {
            if let Some(flag) = dirs_removed.get_mut(old_dir)
                && *flag == DirRelevance::ForSelf
                && counts.already_determinable()
            {
                *flag = DirRelevance::ForAncestor;
            }
        }
        let queue = self.queue;
        let dirs_removed = &*dirs_removed;
        let mut dropped = Vec::new();
        self.sources.retain(|&source| {
            let path = &queue[source].side().path;
            let location_only = relevant.get(path) == Some(&SourceRelevance::Location);
            let keep = !location_only || needed_by_some_dir(dirs_removed, path);
            if !keep {
                dropped.push(path.clone());
            }
            keep
        });
        self.no_longer_relevant.extend(dropped);
    }
}

/// Whether some directory above `path`, walking up through directories
/// relevant for an ancestor, still needs rename votes for itself.
fn needed_by_some_dir(dirs_removed: &HashMap<Vec<u8>, DirRelevance>, path: &[u8]) -> bool {
    let mut dir = dirname(path);
    loop {
        match relevance(Some(dirs_removed), dir) {
            DirRelevance::NotRelevant => return false,
            DirRelevance::ForSelf => return true,
            // git would loop forever on a top level marked this way.
            DirRelevance::ForAncestor if dir.is_empty() => return false,
            DirRelevance::ForAncestor => dir = dirname(dir),
        }
    }
}

#[cfg(test)]
mod tests;
