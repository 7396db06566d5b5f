// Follows git's merge-ort.c and ll-merge.c (GPL-2.0-only); see NOTICE.
//! Three-way merge of one file's content and mode (merge-ort's
//! `handle_content_merge`, with `ll_merge`'s built-in text driver).
//!
//! Text is merged line by line with [`crate::xdiff`] exactly as git does for
//! a rebase (histogram diff, "zealous" conflict level); binary files,
//! symlinks and submodules cannot be merged and conflict.

use super::{ConflictKind, Labels, Version};
use crate::error::Result;
use crate::objects::{Kind, ObjectRead, Overlay, kind_of};
use crate::xdiff::{self, Algorithm, ConflictStyle, MergeLevel, MergeOptions};

/// git's conflict marker length.
const MARKER_SIZE: usize = 7;
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
    objects: &Overlay<'_, R>,
    labels: &Labels,
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
                let merged = merge_text(objects, labels, [o, a, b], two_way, pathnames, extra_marker_size)?;
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
    let _ = path;
    Ok(ContentMerge { result: Version { mode, oid }, clean, conflict_kind })
}

struct TextMerge {
    oid: git2::Oid,
    clean: bool,
    kind: ConflictKind,
}

/// `ll_merge` with the built-in text driver.
fn merge_text<R: ObjectRead>(
    objects: &Overlay<'_, R>,
    labels: &Labels,
    [o, a, b]: [Version; 3],
    two_way: bool,
    pathnames: &[Vec<u8>; 3],
    extra_marker_size: usize,
) -> Result<TextMerge> {
    let base = if two_way { None } else { Some(objects.blob(o.oid)?) };
    let ours = objects.blob(a.oid)?;
    let theirs = objects.blob(b.oid)?;
    let base_bytes: &[u8] = base.as_deref().unwrap_or(b"");
    let too_big = [base_bytes.len(), ours.len(), theirs.len()].iter().any(|&n| n > MAX_XDIFF_SIZE);
    if too_big || [base_bytes, &ours, &theirs].iter().any(|d| xdiff::is_binary(d)) {
        // git keeps our version and reports a binary conflict.
        return Ok(TextMerge { oid: a.oid, clean: false, kind: ConflictKind::Binary });
    }
    let names = marker_labels(labels, pathnames);
    let options = MergeOptions {
        algorithm: Algorithm::Histogram,
        level: MergeLevel::Zealous,
        style: ConflictStyle::Merge,
        favor: None,
        marker_size: MARKER_SIZE + extra_marker_size,
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
        Err(_) => Ok(TextMerge { oid: a.oid, clean: false, kind: ConflictKind::MergeFailed }),
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
