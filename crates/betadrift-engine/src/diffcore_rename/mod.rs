// Follows git's diffcore-rename.c (GPL-2.0-only); see NOTICE.
//! Rename detection that reproduces git's diffcore-rename as merge-ort drives it.
//!
//! A rebase replays commits with merge-ort, and merge-ort's results hinge on
//! which deleted files each side of a three-way merge is said to have renamed
//! to which added files.  To predict a rebase we must make exactly git's
//! choices, including its heuristics, tie-breaks and cut-offs, so this module
//! follows git 2.47's `diffcore_rename_extended()` step by step:
//!
//! 1. exact renames (same blob), preferring unused sources with the same
//!    basename (`exact.rs`);
//! 2. basename-guided matching: a source and destination with the same
//!    basename, unique on both sides or located through an already known
//!    directory rename, pair up when at least 75% similar (`basename.rs`);
//! 3. culling sources merge-ort does not care about, including those only
//!    needed to decide directory renames that are already decided (`dirs.rs`);
//! 4. the inexact similarity matrix, subject to the rename limit
//!    (`matrix.rs`), with similarity from [`similarity`].
//!
//! Plain `git diff -M` runs the same function without relevance information;
//! pass `None` for both maps to get that behaviour.

mod basename;
mod content;
mod dirs;
mod exact;
pub(crate) mod gitmap;
mod matrix;
pub mod similarity;

use std::collections::{BTreeMap, HashMap};

use git2::Oid;

pub use content::{BlobError, BlobFn, BlobSource, RenameError};
pub use similarity::{DEFAULT_RENAME_SCORE, MAX_SCORE, estimate_similarity};

use content::ContentCache;
use dirs::DirRenameInfo;

/// One side of a file pair: a path with the blob and mode found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// Path from the repository root, `/`-separated, no leading slash.
    pub path: Vec<u8>,
    /// The blob (or, for a gitlink, the commit) at that path.
    pub oid: Oid,
    /// The git file mode (`0o100644`, `0o100755`, `0o120000`, `0o160000`).
    pub mode: u32,
}

/// A change handed to rename detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pair {
    /// A path present before and gone after: a possible rename source.
    Delete(Side),
    /// A path absent before and present after: a possible rename target.
    Add(Side),
}

impl Pair {
    /// The side this pair carries, whichever kind it is.
    pub fn side(&self) -> &Side {
        match self {
            Pair::Delete(side) | Pair::Add(side) => side,
        }
    }
}

/// Why merge-ort wants a rename found for a deleted path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceRelevance {
    /// The other side changed the content, so it must follow the rename.
    Content,
    /// Only needed to locate where its directory went.
    Location,
}

/// Why merge-ort wants to know where a removed directory went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DirRelevance {
    /// Not needed (also the meaning of a directory absent from the map).
    NotRelevant,
    /// Needed only because an ancestor directory needs it.
    ForAncestor,
    /// The other side added files to it, so its new location matters.
    ForSelf,
}

/// The knobs of rename detection, as `diff_options` carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenameOptions {
    /// Minimum similarity, out of [`MAX_SCORE`]; 0 means the default 50%.
    pub min_score: u32,
    /// Maximum matrix side (`sources * destinations <= limit^2`); 0 means
    /// unlimited.
    pub rename_limit: usize,
    /// Whether empty blobs may be renamed at all.
    pub rename_empty: bool,
}

impl RenameOptions {
    /// The options merge-ort uses with default configuration.
    pub fn merge_ort() -> Self {
        Self { min_score: DEFAULT_RENAME_SCORE, rename_limit: 7000, rename_empty: false }
    }

    /// The options `git diff -M` uses with default configuration.
    pub fn diff() -> Self {
        Self { min_score: DEFAULT_RENAME_SCORE, rename_limit: 1000, rename_empty: true }
    }
}

/// A detected rename: indices into the input queue and the similarity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rename {
    /// Index of the [`Pair::Delete`] in the queue.
    pub delete: usize,
    /// Index of the [`Pair::Add`] in the queue.
    pub add: usize,
    /// Similarity out of [`MAX_SCORE`] (exactly [`MAX_SCORE`] for exact renames).
    pub score: u32,
}

/// Directory-rename evidence: old directory -> new directory -> file count.
pub type DirRenameCount = BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, usize>>;

/// What rename detection found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    /// Renames in git's output-queue order, i.e. ordered by `add`.
    pub renames: Vec<Rename>,
    /// Renames per removed directory, only when `dirs_removed` was given.
    /// An old directory may map to an empty map: git keeps such entries.
    pub dir_rename_count: DirRenameCount,
    /// Non-zero when the rename limit stopped inexact detection: the limit
    /// that would have been needed.
    pub needed_limit: usize,
    /// Sources git downgraded to `RELEVANT_NO_MORE` because the directory
    /// renames they could inform are already decided.
    pub sources_no_longer_relevant: Vec<Vec<u8>>,
}

/// The oid of the empty blob.
fn empty_blob_oid() -> Oid {
    Oid::from_str("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391").expect("valid hex")
}

/// A rename recorded against a destination.
#[derive(Debug, Clone, Copy)]
struct Match {
    /// Queue index of the source.
    source: usize,
    score: u32,
}

/// The working state of one `diffcore_rename_extended()` run.
struct Detection<'a, 'b, B: BlobSource> {
    queue: &'a [Pair],
    min_score: u32,
    rename_limit: usize,
    /// Queue indices of the remaining rename sources (git's `rename_src`).
    sources: Vec<usize>,
    /// Queue indices of all rename destinations (git's `rename_dst`).
    dests: Vec<usize>,
    /// The rename found for each destination, by position in `dests`.
    matched: Vec<Option<Match>>,
    /// Whether a source (by queue index) was used by a rename.
    source_used: Vec<bool>,
    relevant_sources: Option<&'a HashMap<Vec<u8>, SourceRelevance>>,
    dirs_removed: Option<&'a mut HashMap<Vec<u8>, DirRelevance>>,
    info: Option<DirRenameInfo>,
    content: ContentCache<'b, B>,
    needed_limit: usize,
    no_longer_relevant: Vec<Vec<u8>>,
}

/// Detects renames among the deletions and additions in `queue`, as git's
/// `diffcore_rename_extended()` does for rename (not copy) detection.
///
/// `queue` must hold this side's deletions and additions in the order git
/// queued them, because ties are broken by that order:
/// - for merge-ort, the order `collect_merge_info()` called `add_pair()` for
///   this side: its depth-first walk in git tree order.  That is byte-wise
///   order of the full paths, except that when a path is a file in one tree
///   and a directory in another, the directory's contents are visited right
///   after the file, before siblings such as `name-x` or `name.x`;
/// - for plain `git diff-tree -r`, byte-wise order of the full paths.
///
/// With `relevant_sources` and `dirs_removed` (merge-ort's mode), sources
/// not in `relevant_sources` are only paired by exact renames, directory
/// rename counts are produced, and `dirs_removed` entries may be
/// downgraded from [`DirRelevance::ForSelf`] to [`DirRelevance::ForAncestor`].
/// `dirs_removed` must list every removed directory, including those that
/// are [`DirRelevance::NotRelevant`]: git tests membership, not just value.
/// merge-ort does not call rename detection at all for a side whose
/// `relevant_sources` is empty; that decision is the caller's.
///
/// With both `None` this is plain `git diff -M`.  Blobs are read only where
/// git reads them: sizes for every pair the inexact passes consider, content
/// for pairs whose sizes are close enough.
pub fn detect_renames<B: BlobSource>(
    queue: &[Pair],
    options: &RenameOptions,
    relevant_sources: Option<&HashMap<Vec<u8>, SourceRelevance>>,
    dirs_removed: Option<&mut HashMap<Vec<u8>, DirRelevance>>,
    blobs: &mut B,
) -> Result<Renames, RenameError> {
    let mut detection = Detection::new(queue, options, relevant_sources, dirs_removed, blobs);
    detection.run()?;
    Ok(detection.finish())
}

impl<'a, 'b, B: BlobSource> Detection<'a, 'b, B> {
    /// Registers sources and destinations as git's setup loop does.
    fn new(
        queue: &'a [Pair],
        options: &RenameOptions,
        relevant_sources: Option<&'a HashMap<Vec<u8>, SourceRelevance>>,
        dirs_removed: Option<&'a mut HashMap<Vec<u8>, DirRelevance>>,
        blobs: &'b mut B,
    ) -> Self {
        let empty = empty_blob_oid();
        let (mut sources, mut dests) = (Vec::new(), Vec::new());
        for (index, pair) in queue.iter().enumerate() {
            if !options.rename_empty && pair.side().oid == empty {
                continue;
            }
            match pair {
                Pair::Delete(_) => sources.push(index),
                Pair::Add(_) => dests.push(index),
            }
        }
        let min_score = match options.min_score {
            0 => DEFAULT_RENAME_SCORE,
            score => score,
        };
        Self {
            queue,
            min_score,
            rename_limit: options.rename_limit,
            matched: vec![None; dests.len()],
            source_used: vec![false; queue.len()],
            sources,
            dests,
            relevant_sources,
            dirs_removed,
            info: None,
            content: ContentCache::new(blobs),
            needed_limit: 0,
            no_longer_relevant: Vec::new(),
        }
    }

    /// Runs the detection phases in git's order, stopping where git stops.
    fn run(&mut self) -> Result<(), RenameError> {
        if self.sources.is_empty() || self.dests.is_empty() {
            return Ok(());
        }
        self.find_exact_renames();
        if self.min_score >= MAX_SCORE {
            return Ok(());
        }
        self.drop_used_sources();
        self.info = DirRenameInfo::setup(self);
        self.find_basename_matches()?;
        self.drop_used_sources();
        self.drop_irrelevant_sources();
        self.handle_early_known_dir_renames();
        self.find_inexact_renames()
    }

    /// The side of queue entry `index`.
    fn side(&self, index: usize) -> &'a Side {
        self.queue[index].side()
    }

    /// Records that destination `dest` (position in `dests`) was renamed
    /// from source queue index `source`, and counts it for directory renames.
    fn record_rename(&mut self, dest: usize, source: usize, score: u32) {
        debug_assert!(self.matched[dest].is_none(), "destination matched twice");
        self.matched[dest] = Some(Match { source, score });
        self.source_used[source] = true;
    }

    /// Removes sources already used by a rename (`remove_unneeded_paths_from_src`).
    fn drop_used_sources(&mut self) {
        let used = &self.source_used;
        self.sources.retain(|&source| !used[source]);
    }

    /// Removes sources merge-ort did not ask about.
    fn drop_irrelevant_sources(&mut self) {
        if let Some(relevant) = self.relevant_sources {
            let queue = self.queue;
            self.sources.retain(|&source| relevant.contains_key(&queue[source].side().path));
        }
    }

    /// Whether merge-ort asked about the source at queue index `source`.
    fn is_relevant(&self, source: usize) -> bool {
        self.relevant_sources.is_none_or(|relevant| relevant.contains_key(&self.side(source).path))
    }

    /// Number of destinations not yet renamed.
    fn unmatched_dest_count(&self) -> usize {
        self.matched.iter().filter(|m| m.is_none()).count()
    }

    /// Builds the result: renames in output-queue order plus bookkeeping.
    fn finish(mut self) -> Renames {
        let renames = self
            .dests
            .iter()
            .zip(&self.matched)
            .filter_map(|(&add, found)| found.map(|m| Rename { delete: m.source, add, score: m.score }))
            .collect();
        let dir_rename_count = match (self.info.take(), self.dirs_removed.as_deref()) {
            (Some(info), Some(dirs_removed)) => info.into_counts(dirs_removed),
            _ => DirRenameCount::new(),
        };
        Renames {
            renames,
            dir_rename_count,
            needed_limit: self.needed_limit,
            sources_no_longer_relevant: self.no_longer_relevant,
        }
    }
}

#[cfg(test)]
mod tests;
