// Follows git's merge-ort.c and merge-ll.c (GPL-2.0-only); see NOTICE.
//! Three-way merge of one file's content and mode (merge-ort's
//! `handle_content_merge`, with `ll_merge`'s built-in drivers).
//!
//! Text is merged line by line with [`crate::xdiff`] exactly as git does for
//! a rebase (histogram diff, "zealous" conflict level); binary files,
//! symlinks and submodules cannot be merged and conflict. The file's
//! attributes choose the driver ([`super::driver`]): `binary` keeps our
//! side and conflicts, `union` takes both sides' lines, a configured
//! command is a stop betadrift cannot predict past.

use super::driver::{Driver, LowLevel};
use super::{ConflictKind, Labels, Merge, Version};
use crate::error::Result;
use crate::objects::{Kind, ObjectRead, Overlay, kind_of};
use crate::xdiff::{self, Algorithm, ConflictStyle, Favor, MergeLevel, MergeOptions};
/// Files this large are never handed to xdiff (git's MAX_XDIFF_SIZE).
const MAX_XDIFF_SIZE: usize = 1024 * 1024 * 1023;

/// The result of merging one file.
#[derive(Debug, Clone)]
pub(super) struct ContentMerge {
    pub result: Version,
    pub clean: bool,
    /// Why it is not clean, when the reason is specific (binary, symlink,
    /// submodule, mode, or git failing to merge at all).
    pub conflict_kind: Option<ConflictKind>,
}

/// Merges versions `[o, a, b]` (base, ours, theirs) of one path. The
/// versions must be of one type (file, symlink or submodule) on both sides.
pub(super) fn handle_content_merge<R: ObjectRead>(
    merge: &Merge<'_, '_, R>,
    path: &[u8],
    [o, a, b]: [Version; 3],
    pathnames: &[Vec<u8>; 3],
    extra_marker_size: usize,
) -> Result<ContentMerge> {
    let mut clean = true;
    let mut conflict_kind = None;
    let mode = if a.mode == b.mode || a.mode == o.mode {
        b.mode
    } else {
        clean = b.mode == o.mode;
        if !clean {
            conflict_kind = Some(ConflictKind::Mode);
        }
        a.mode
    };
    let oid = if a.oid == b.oid || a.oid == o.oid {
        b.oid
    } else if b.oid == o.oid {
        a.oid
    } else {
        match kind_of(a.mode) {
            Kind::File => {
                let two_way = kind_of(o.mode) != kind_of(a.mode) || !o.exists();
                let mut low_level = merge.low_level(path)?;
                low_level.marker_size += extra_marker_size;
                let merged = merge_text(merge.objects, merge.labels, [o, a, b], two_way, pathnames, &low_level)?;
                if !merged.clean {
                    clean = false;
                    conflict_kind = Some(merged.kind);
                }
                merged.oid
            }
            Kind::Gitlink => {
                // Submodule commits live in another repository; git cannot
                // merge them here either ("submodule not initialized").
                clean = false;
                conflict_kind = Some(ConflictKind::Submodule);
                a.oid
            }
            Kind::Link | Kind::Tree => {
                clean = false;
                conflict_kind = Some(ConflictKind::Symlink);
                a.oid
            }
        }
    };
    Ok(ContentMerge { result: Version { mode, oid }, clean, conflict_kind })
}

struct TextMerge {
    oid: git2::Oid,
    clean: bool,
    kind: ConflictKind,
}

/// `ll_merge` with the driver and marker size of `low_level`.
fn merge_text<R: ObjectRead>(
    objects: &Overlay<'_, R>,
    labels: &Labels,
    [o, a, b]: [Version; 3],
    two_way: bool,
    pathnames: &[Vec<u8>; 3],
    low_level: &LowLevel,
) -> Result<TextMerge> {
    // What git does for a conflict it cannot merge: keep our version.
    let ours_kept = |kind| Ok(TextMerge { oid: a.oid, clean: false, kind });
    let favor = match low_level.driver {
        Driver::Binary => return ours_kept(ConflictKind::Binary),
        Driver::Custom => return ours_kept(ConflictKind::CustomDriver),
        Driver::NoCommand => return ours_kept(ConflictKind::MergeFailed),
        Driver::Union => Some(Favor::Union),
        Driver::Text => None,
    };
    let base = if two_way { None } else { Some(objects.blob(o.oid)?) };
    let ours = objects.blob(a.oid)?;
    let theirs = objects.blob(b.oid)?;
    let base_bytes: &[u8] = base.as_deref().unwrap_or(b"");
    let too_big = [base_bytes.len(), ours.len(), theirs.len()].iter().any(|&n| n > MAX_XDIFF_SIZE);
    if too_big || [base_bytes, &ours, &theirs].iter().any(|d| xdiff::is_binary(d)) {
        // `ll_xdl_merge` hands binary files to the binary driver.
        return ours_kept(ConflictKind::Binary);
    }
    let names = marker_labels(labels, pathnames);
    let options = MergeOptions {
        algorithm: Algorithm::Histogram,
        level: MergeLevel::Zealous,
        style: ConflictStyle::Merge,
        favor,
        marker_size: low_level.marker_size,
        ancestor_label: Some(&names[0]),
        ours_label: Some(&names[1]),
        theirs_label: Some(&names[2]),
    };
    match xdiff::merge(base_bytes, &ours, &theirs, &options) {
        Ok(merged) => {
            let clean = merged.is_clean();
            let oid = objects.add_blob(merged.content);
            Ok(TextMerge { oid, clean, kind: ConflictKind::Content })
        }
        Err(_) => ours_kept(ConflictKind::MergeFailed),
    }
}

/// Conflict marker labels: the branch names, with paths when a rename made
/// the three versions come from different paths.
fn marker_labels(labels: &Labels, pathnames: &[Vec<u8>; 3]) -> [Vec<u8>; 3] {
    let same = pathnames[0] == pathnames[1] && pathnames[1] == pathnames[2];
    let label = |name: &[u8], path: &[u8]| {
        let mut label = name.to_vec();
        if !same {
            label.push(b':');
            label.extend_from_slice(path);
        }
        label
    };
    [label(&labels.ancestor, &pathnames[0]), label(&labels.ours, &pathnames[1]), label(&labels.theirs, &pathnames[2])]
}
