// Follows git's merge-ort.c (GPL-2.0-only); see NOTICE.
//! A three-way tree merge that gives the answers git's merge-ort gives.
//!
//! `betadrift check` replays the local stack in memory, one cherry-pick at a
//! time, and must stop exactly where `git rebase` stops. libgit2's merge does
//! not detect directory renames and detects renames differently; gix's runs
//! full rename detection between the old base and the new upstream on every
//! pick. This engine follows merge-ort's own structure instead, and with it
//! merge-ort's central economy: renames are only looked for where they can
//! change the result (a path one side deleted that the other side modified,
//! a directory one side removed where the other side added files), and
//! directories that only one side touched are taken whole, unvisited.
//!
//! The phases mirror merge-ort's, so that its behaviour can be checked
//! against its source function by function:
//!
//! 1. [`collect`]: walk the three trees together, resolve what is trivially
//!    resolvable, and gather rename candidates (`collect_merge_info`);
//! 2. [`renames`]: detect regular and directory renames where relevant and
//!    fold them into the path map (`detect_and_process_renames`);
//! 3. [`process`]: settle every remaining path, three-way merging file
//!    contents, and write the result trees in memory (`process_entries`).
//!
//! New blobs and trees go to an [`Overlay`]: nothing is written to the
//! repository. Trees are hashed as git hashes them, so a clean result's tree
//! id equals the one git would commit.

mod cache;
mod collect;
mod content;
mod driver;
mod process;
mod renames;

pub use driver::{CustomDriver, MergeSetup};

use std::collections::HashMap;

use git2::Oid;

use crate::attr;
use crate::error::Result;
use crate::objects::{ObjectRead, Overlay};

/// A mode and object id at one stage; mode 0 means absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version {
    pub mode: u32,
    pub oid: Oid,
}

impl Version {
    /// No entry.
    pub const NONE: Version = Version { mode: 0, oid: Oid::ZERO_SHA1 };

    /// Whether there is an entry.
    pub fn exists(self) -> bool {
        self.mode != 0
    }
}

/// The kind of a conflict, in merge-ort's terms.
///
/// Each kind has two names: [`ConflictKind::as_str`], the word git prints in
/// its `CONFLICT (<word>): …` line for it (several kinds share one: git says
/// `content` for text, binary, symlink and mode conflicts alike), and the
/// kebab-case key of the variant, which the JSON documents carry and which
/// tells those apart. Both are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "kebab-case"))]
pub enum ConflictKind {
    /// Both sides changed the same lines of a text file ("content").
    Content,
    /// Both sides added different files at the same path ("add/add"),
    /// whatever the files are (text, binary, symlinks).
    AddAdd,
    /// Both sides changed a binary file ("content").
    Binary,
    /// Both sides moved a submodule to different commits ("submodule").
    Submodule,
    /// Both sides changed a symbolic link differently ("content").
    Symlink,
    /// One side modified a file the other deleted ("modify/delete").
    ModifyDelete,
    /// One side renamed a file the other deleted ("rename/delete").
    RenameDelete,
    /// Both sides renamed the same file differently ("rename/rename").
    RenameRename,
    /// A rename with content conflicts collides with another path ("rename
    /// involved in collision").
    RenameCollision,
    /// A file where the other side has a directory ("file/directory").
    FileDirectory,
    /// The sides disagree on the type (file, symlink, submodule) of a path
    /// ("distinct types").
    DistinctTypes,
    /// Both sides changed the executable bit differently ("content").
    Mode,
    /// A file added or renamed into a directory the other side renamed
    /// ("file location").
    DirectoryRename,
    /// A directory was split among several new directories ("directory
    /// rename split").
    DirectoryRenameSplit,
    /// A file or directory is in the way of a directory rename ("implicit
    /// dir rename").
    DirectoryRenameInTheWay,
    /// Several paths would move onto one path by directory renames
    /// ("implicit dir rename").
    DirectoryRenameCollision,
    /// git itself could not run the content merge (it stops the rebase
    /// with an error, not a `CONFLICT` line).
    MergeFailed,
    /// Both sides changed a file that the `merge` attribute gives to a
    /// configured merge driver (`merge.<name>.driver`): git runs that
    /// command, betadrift cannot, so the prediction counts it as a stop.
    CustomDriver,
}

impl ConflictKind {
    /// git's name for the kind: the word of its `CONFLICT (…)` line.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::Content | ConflictKind::Binary | ConflictKind::Symlink | ConflictKind::Mode => "content",
            ConflictKind::AddAdd => "add/add",
            ConflictKind::Submodule => "submodule",
            ConflictKind::ModifyDelete => "modify/delete",
            ConflictKind::RenameDelete => "rename/delete",
            ConflictKind::RenameRename => "rename/rename",
            ConflictKind::RenameCollision => "rename involved in collision",
            ConflictKind::FileDirectory => "file/directory",
            ConflictKind::DistinctTypes => "distinct types",
            ConflictKind::DirectoryRename => "file location",
            ConflictKind::DirectoryRenameSplit => "directory rename split",
            ConflictKind::DirectoryRenameInTheWay | ConflictKind::DirectoryRenameCollision => "implicit dir rename",
            ConflictKind::MergeFailed => "merge failed",
            ConflictKind::CustomDriver => "custom merge driver",
        }
    }

    /// Whether git reports the kind with a `CONFLICT (…)` line (a custom
    /// driver's outcome is the driver's: betadrift does not know it).
    pub fn has_conflict_line(self) -> bool {
        !matches!(self, ConflictKind::MergeFailed | ConflictKind::CustomDriver)
    }
}

/// One logical conflict: its kind and the paths involved, primary first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub kind: ConflictKind,
    pub paths: Vec<Vec<u8>>,
    /// For content conflicts: the three versions that failed to merge, to
    /// show hunks. Base may be absent (add/add).
    pub versions: Option<[Version; 3]>,
}

/// A path left unmerged in the index, with its stages (base, ours, theirs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmerged {
    pub path: Vec<u8>,
    pub stages: [Version; 3],
}

/// What a merge produced.
#[derive(Debug, Clone)]
pub struct MergeOutcome {
    /// Whether git would call this merge clean.
    pub clean: bool,
    /// The merged tree (with conflict markers where unclean).
    pub tree: Oid,
    /// Logical conflicts, in the order they were found.
    pub conflicts: Vec<Conflict>,
    /// Paths git would leave unmerged in the index, sorted.
    pub unmerged: Vec<Unmerged>,
}

/// Names for the sides: they label conflict markers and, for paths moved out
/// of the way, become part of the new file name (`path~HEAD`). Bytes, not
/// text: the sequencer builds them from commit subjects, which git keeps as
/// they are (a CR, invalid UTF-8).
#[derive(Debug, Clone)]
pub struct Labels {
    pub ancestor: Vec<u8>,
    pub ours: Vec<u8>,
    pub theirs: Vec<u8>,
}

/// One path's state during the merge (merge-ort's `merged_info` and
/// `conflict_info` in one).
#[derive(Debug, Clone)]
struct PathInfo {
    /// The merged result, valid once `clean` or once processed.
    result: Version,
    is_null: bool,
    clean: bool,
    /// The directory holding this path ("" at the top).
    dir: Vec<u8>,
    /// The three versions, for unresolved paths.
    stages: [Version; 3],
    /// Where each stage came from (differs after renames).
    pathnames: [Vec<u8>; 3],
    df_conflict: bool,
    path_conflict: bool,
    filemask: u8,
    dirmask: u8,
    match_mask: u8,
}

impl PathInfo {
    fn basename<'p>(&self, path: &'p [u8]) -> &'p [u8] {
        let offset = if self.dir.is_empty() { 0 } else { self.dir.len() + 1 };
        &path[offset..]
    }
}

/// The state shared by the phases.
struct Merge<'o, 'r, R: ObjectRead> {
    objects: &'o Overlay<'r, R>,
    labels: &'o Labels,
    setup: &'o MergeSetup,
    /// The attributes of our side's tree, which choose content merge drivers.
    attributes: attr::Stack<'o>,
    paths: HashMap<Vec<u8>, PathInfo>,
    conflicted: HashMap<Vec<u8>, ()>,
    conflicts: Vec<Conflict>,
    renames: collect::RenameInfo,
}

/// Merges `side1` (ours) and `side2` (theirs) with `base` as their common
/// ancestor, as `git merge-tree --write-tree --merge-base` would with the
/// ort strategy and default options, no attributes files outside the trees
/// and no merge configuration.
pub fn merge_trees<R: ObjectRead>(
    objects: &Overlay<'_, R>,
    base: Oid,
    side1: Oid,
    side2: Oid,
    labels: &Labels,
) -> Result<MergeOutcome> {
    merge_trees_with(objects, base, side1, side2, labels, &MergeSetup::default())
}

/// [`merge_trees`] with the repository's attributes files and merge-driver
/// configuration. The `.gitattributes` files are read from `side1`: a
/// rebase's working tree holds HEAD when git merges a pick.
pub fn merge_trees_with<R: ObjectRead>(
    objects: &Overlay<'_, R>,
    base: Oid,
    side1: Oid,
    side2: Oid,
    labels: &Labels,
    setup: &MergeSetup,
) -> Result<MergeOutcome> {
    let mut merge = Merge {
        objects,
        labels,
        setup,
        attributes: attr::Stack::new(&setup.attributes, side1),
        paths: HashMap::new(),
        conflicted: HashMap::new(),
        conflicts: Vec::new(),
        renames: collect::RenameInfo::default(),
    };
    let renames_clean = loop {
        merge.collect_merge_info([base, side1, side2])?;
        match merge.detect_and_process_renames()? {
            renames::Renamed::Done { clean } => break clean,
            renames::Renamed::Restart => merge.restart(),
        }
    };
    let processed = merge.process_entries()?;
    let (tree, failed) = match processed {
        Some(tree) => (tree, false),
        None => (crate::objects::empty_tree(), true),
    };
    let mut unmerged: Vec<Unmerged> = merge
        .conflicted
        .keys()
        .filter_map(|path| {
            let info = &merge.paths[path];
            (info.filemask != 0).then(|| Unmerged { path: path.clone(), stages: masked_stages(info) })
        })
        .collect();
    unmerged.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(MergeOutcome {
        clean: renames_clean && !failed && merge.conflicted.is_empty(),
        tree,
        conflicts: merge.conflicts,
        unmerged,
    })
}

impl<R: ObjectRead> Merge<'_, '_, R> {
    /// merge-ort's `clear_or_reinit_internal_opts` before a redo: a new
    /// walk from scratch, keeping only what rename detection learned.
    fn restart(&mut self) {
        let renames = std::mem::take(&mut self.renames);
        self.paths.clear();
        self.conflicted.clear();
        self.conflicts.clear();
        self.renames = collect::RenameInfo { cache: renames.cache, redo: cache::Redo::Restarted, ..Default::default() };
    }
}

fn masked_stages(info: &PathInfo) -> [Version; 3] {
    let mut stages = [Version::NONE; 3];
    for (i, stage) in stages.iter_mut().enumerate() {
        if info.filemask & (1 << i) != 0 {
            *stage = info.stages[i];
        }
    }
    stages
}

/// Joins a directory and a name into a path.
fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut path = Vec::with_capacity(dir.len() + 1 + name.len());
    if !dir.is_empty() {
        path.extend_from_slice(dir);
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

/// The directory part of a path ("" for a top-level name).
fn parent_dir(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[..i],
        None => b"",
    }
}
