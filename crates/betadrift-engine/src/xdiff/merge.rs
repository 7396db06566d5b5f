// Follows git's xdiff/xmerge.c (LibXDiff, LGPL-2.1-or-later); see NOTICE.
//! Three-way merge as `xdl_merge` performs it.
//!
//! Both sides are diffed against the base. Walking the two edit scripts in
//! step, a change only one side made is taken from that side; changes of both
//! sides that overlap or touch form a conflict unless they are identical
//! (from [`MergeLevel::Eager`] on). From [`MergeLevel::Zealous`] on, each
//! conflict is re-diffed between the two sides so that only the lines that
//! really differ stay conflicting, and conflicts separated by at most three
//! lines are joined (at [`MergeLevel::ZealousAlnum`] also when the lines
//! between them contain no letter or digit). Finally the result is written
//! with conflict markers whose line endings follow the surrounding lines.
//!
//! Positions are kept signed, as in git, because some intermediate
//! positions of touching changes are computed by subtraction.

use std::ops::Range;

use super::{Algorithm, Change, Error, diff_lines, split_lines};

/// How hard the merge tries to resolve overlapping changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MergeLevel {
    /// Every pair of overlapping changes conflicts.
    Minimal,
    /// Identical changes on both sides do not conflict.
    Eager,
    /// Conflicts are narrowed to the lines where the sides differ, and
    /// conflicts at most three lines apart are joined. `git rebase` and
    /// `git merge` (ll_merge) use this level.
    Zealous,
    /// Like [`MergeLevel::Zealous`], and conflicts separated only by lines
    /// without letters or digits are joined too. `git merge-file` uses it.
    ZealousAlnum,
}

/// How conflicts are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ConflictStyle {
    /// `<<<<<<<`, ours, `=======`, theirs, `>>>>>>>`.
    #[default]
    Merge,
    /// Also shows the base between `|||||||` and `=======`; implies at most
    /// [`MergeLevel::Eager`].
    Diff3,
    /// Like [`ConflictStyle::Diff3`], but lines common to both sides at the
    /// start and end of a conflict are moved out of it.
    ZealousDiff3,
}

/// Resolves every conflict in favour of one side (`-X ours`, `-X theirs`,
/// `--union`); the merge then reports no conflicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Favor {
    /// Take our side of each conflict.
    Ours,
    /// Take their side of each conflict.
    Theirs,
    /// Take our side followed by their side.
    Union,
}

/// Parameters of a three-way merge (`xmparam_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MergeOptions<'a> {
    /// The algorithm used to diff each side against the base and to refine
    /// conflicts.
    pub algorithm: Algorithm,
    /// How hard to try to resolve overlapping changes.
    pub level: MergeLevel,
    /// How conflicts are written.
    pub style: ConflictStyle,
    /// Resolve conflicts in favour of a side instead of writing them.
    pub favor: Option<Favor>,
    /// The length of conflict markers; 0 means git's default of 7.
    pub marker_size: usize,
    /// Label after `|||||||` (diff3 styles only).
    pub ancestor_label: Option<&'a [u8]>,
    /// Label after `<<<<<<<`.
    pub ours_label: Option<&'a [u8]>,
    /// Label after `>>>>>>>`.
    pub theirs_label: Option<&'a [u8]>,
}

impl Default for MergeOptions<'_> {
    /// The content merge of `git rebase`/`git merge` with the ort strategy
    /// and no configuration: histogram, zealous, merge style, 7-character
    /// markers. Only the labels (git uses branch names) are left unset.
    fn default() -> Self {
        MergeOptions {
            algorithm: Algorithm::Histogram,
            level: MergeLevel::Zealous,
            style: ConflictStyle::Merge,
            favor: None,
            marker_size: DEFAULT_MARKER_SIZE,
            ancestor_label: None,
            ours_label: None,
            theirs_label: None,
        }
    }
}

/// The outcome of a merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeResult {
    /// The merged text exactly as git produces it, conflict markers included.
    pub content: Vec<u8>,
    /// The conflicts, in order; empty when the merge is clean.
    pub conflicts: Vec<ConflictRegion>,
}

impl MergeResult {
    /// Whether the merge had no conflicts.
    pub fn is_clean(&self) -> bool {
        self.conflicts.is_empty()
    }
}

/// One conflict, as line ranges (0-based, half-open) of the three inputs.
///
/// `ours` and `theirs` are the lines between the markers. `base` is the base
/// range of the overlapping changes the conflict came from; after the
/// zealous levels narrow a conflict or join several, it covers the whole
/// original overlap (git itself does not track it any more).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConflictRegion {
    /// Lines of the base.
    pub base: Range<usize>,
    /// Lines of our side.
    pub ours: Range<usize>,
    /// Lines of their side.
    pub theirs: Range<usize>,
}

const DEFAULT_MARKER_SIZE: usize = 7;

/// Merges `ours` and `theirs` relative to `base` (`xdl_merge`).
pub(crate) fn merge(base: &[u8], ours: &[u8], theirs: &[u8], options: &MergeOptions<'_>) -> Result<MergeResult, Error> {
    let files = Files { base: split_lines(base), ours: split_lines(ours), theirs: split_lines(theirs) };
    let script_ours = diff_lines(&files.base, &files.ours, options.algorithm)?;
    let script_theirs = diff_lines(&files.base, &files.theirs, options.algorithm)?;
    let verbatim = |content: &[u8]| MergeResult { content: content.to_vec(), conflicts: vec![] };
    if script_ours.is_empty() {
        return Ok(verbatim(theirs));
    }
    if script_theirs.is_empty() {
        return Ok(verbatim(ours));
    }
    let mut level = options.level;
    if options.style != ConflictStyle::Merge {
        level = level.min(MergeLevel::Eager);
    }
    let mut regions = combine(&files, &script_ours, &script_theirs, level);
    if options.style == ConflictStyle::ZealousDiff3 {
        trim_common_ends(&files, &mut regions);
    } else if level >= MergeLevel::Zealous {
        regions = refine(&files, regions, options.algorithm)?;
        join_close_conflicts(&files, &mut regions, level == MergeLevel::ZealousAlnum);
    }
    if let Some(favor) = options.favor {
        for region in regions.iter_mut().filter(|r| r.outcome == Resolution::Conflict) {
            region.outcome = match favor {
                Favor::Ours => Resolution::Ours,
                Favor::Theirs => Resolution::Theirs,
                Favor::Union => Resolution::Both,
            };
        }
    }
    Ok(Writer { files: &files, options, out: Vec::with_capacity(ours.len() + theirs.len()) }.write(&regions))
}

/// The three inputs, split into lines.
struct Files<'a> {
    base: Vec<&'a [u8]>,
    ours: Vec<&'a [u8]>,
    theirs: Vec<&'a [u8]>,
}

/// How a region of the merge is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resolution {
    /// Both sides changed it differently.
    Conflict,
    /// Only our side changed it.
    Ours,
    /// Only their side changed it.
    Theirs,
    /// Our side followed by theirs (union favour).
    Both,
    /// Both sides changed it identically (found by refinement); our lines
    /// are kept as unchanged text.
    Identical,
}

/// A changed region: `base_len` base lines at `base_at` became `ours_len`
/// lines at `ours_at` in ours and `theirs_len` lines at `theirs_at` in
/// theirs (git's `xdmerge_t`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Region {
    outcome: Resolution,
    base_at: isize,
    base_len: isize,
    ours_at: isize,
    ours_len: isize,
    theirs_at: isize,
    theirs_len: isize,
}

impl Region {
    /// The end of the region in ours.
    fn ours_end(&self) -> isize {
        self.ours_at + self.ours_len
    }

    /// The end of the region in theirs.
    fn theirs_end(&self) -> isize {
        self.theirs_at + self.theirs_len
    }
}

/// A line position or count as the signed value git computes with.
fn signed(value: usize) -> isize {
    isize::try_from(value).expect("line numbers fit in isize")
}

/// The lines `start..start + len`, clamping negative values to zero.
fn range(start: isize, len: isize) -> Range<usize> {
    let start = usize::try_from(start).unwrap_or(0);
    start..start + usize::try_from(len).unwrap_or(0)
}

/// Adds `region` to the list, folding it into the last region if the two
/// touch or overlap on either side (`xdl_append_merge`).
fn append(regions: &mut Vec<Region>, region: Region) {
    if let Some(last) = regions.last_mut()
        && (region.ours_at <= last.ours_end() || region.theirs_at <= last.theirs_end())
    {
        if region.outcome != last.outcome {
            last.outcome = Resolution::Conflict;
        }
        last.base_len = region.base_at + region.base_len - last.base_at;
        last.ours_len = region.ours_end() - last.ours_at;
        last.theirs_len = region.theirs_end() - last.theirs_at;
        return;
    }
    regions.push(region);
}

/// Walks both edit scripts in step and lists the regions each side or both
/// sides changed.
fn combine(files: &Files<'_>, ours: &[Change], theirs: &[Change], level: MergeLevel) -> Vec<Region> {
    let mut regions = Vec::new();
    let (mut x1, mut x2) = (0, 0);
    while let (Some(c1), Some(c2)) = (ours.get(x1), theirs.get(x2)) {
        if c1.old.end < c2.old.start {
            let shift = signed(c2.new.start) - signed(c2.old.start);
            append(&mut regions, only_ours(c1, shift));
            x1 += 1;
            continue;
        }
        if c2.old.end < c1.old.start {
            let shift = signed(c1.new.start) - signed(c1.old.start);
            append(&mut regions, only_theirs(c2, shift));
            x2 += 1;
            continue;
        }
        let identical = c1.old == c2.old
            && c1.new.len() == c2.new.len()
            && files.ours[c1.new.clone()] == files.theirs[c2.new.clone()];
        if level == MergeLevel::Minimal || !identical {
            append(&mut regions, overlap(c1, c2));
        }
        if c1.old.end >= c2.old.end {
            x2 += 1;
        }
        if c2.old.end >= c1.old.end {
            x1 += 1;
        }
    }
    let ours_shift = signed(files.ours.len()) - signed(files.base.len());
    let theirs_shift = signed(files.theirs.len()) - signed(files.base.len());
    for c1 in &ours[x1..] {
        append(&mut regions, only_ours(c1, theirs_shift));
    }
    for c2 in &theirs[x2..] {
        append(&mut regions, only_theirs(c2, ours_shift));
    }
    regions
}

/// A change of ours alone; `theirs_shift` maps base lines around it to
/// their lines.
fn only_ours(c1: &Change, theirs_shift: isize) -> Region {
    Region {
        outcome: Resolution::Ours,
        base_at: signed(c1.old.start),
        base_len: signed(c1.old.len()),
        ours_at: signed(c1.new.start),
        ours_len: signed(c1.new.len()),
        theirs_at: signed(c1.old.start) + theirs_shift,
        theirs_len: signed(c1.old.len()),
    }
}

/// A change of theirs alone; `ours_shift` maps base lines around it to our
/// lines.
fn only_theirs(c2: &Change, ours_shift: isize) -> Region {
    Region {
        outcome: Resolution::Theirs,
        base_at: signed(c2.old.start),
        base_len: signed(c2.old.len()),
        ours_at: signed(c2.old.start) + ours_shift,
        ours_len: signed(c2.old.len()),
        theirs_at: signed(c2.new.start),
        theirs_len: signed(c2.new.len()),
    }
}

/// The conflict spanning two overlapping changes, each side widened by the
/// base lines only the other side touched.
fn overlap(c1: &Change, c2: &Change) -> Region {
    // Where one change starts earlier in the base, the other side's part of
    // the conflict is extended back over the base lines it left alone; where
    // one ends later, the other side's part is extended forward likewise.
    let lead = signed(c1.old.start) - signed(c2.old.start);
    let overhang = lead + signed(c1.old.len()) - signed(c2.old.len());
    let (mut base_at, mut ours_at, mut theirs_at) = (signed(c1.old.start), signed(c1.new.start), signed(c2.new.start));
    if lead > 0 {
        base_at -= lead;
        ours_at -= lead;
    } else {
        theirs_at += lead;
    }
    let mut base_len = signed(c1.old.end) - base_at;
    let mut ours_len = signed(c1.new.end) - ours_at;
    let mut theirs_len = signed(c2.new.end) - theirs_at;
    if overhang < 0 {
        base_len -= overhang;
        ours_len -= overhang;
    } else {
        theirs_len += overhang;
    }
    Region { outcome: Resolution::Conflict, base_at, base_len, ours_at, ours_len, theirs_at, theirs_len }
}

/// Narrows each conflict to the changes between the two sides' versions of
/// it; a conflict whose sides turn out equal is resolved
/// (`xdl_refine_conflicts`).
fn refine(files: &Files<'_>, regions: Vec<Region>, algorithm: Algorithm) -> Result<Vec<Region>, Error> {
    let mut refined = Vec::with_capacity(regions.len());
    for region in regions {
        if region.outcome != Resolution::Conflict || region.ours_len == 0 || region.theirs_len == 0 {
            refined.push(region);
            continue;
        }
        let ours = &files.ours[range(region.ours_at, region.ours_len)];
        let theirs = &files.theirs[range(region.theirs_at, region.theirs_len)];
        let script = diff_lines(ours, theirs, algorithm)?;
        if script.is_empty() {
            refined.push(Region { outcome: Resolution::Identical, ..region });
            continue;
        }
        refined.extend(script.iter().map(|change| Region {
            ours_at: region.ours_at + signed(change.old.start),
            ours_len: signed(change.old.len()),
            theirs_at: region.theirs_at + signed(change.new.start),
            theirs_len: signed(change.new.len()),
            ..region.clone()
        }));
    }
    Ok(refined)
}

/// Moves lines common to both sides at the start and end of each conflict
/// out of it (`xdl_refine_zdiff3_conflicts`).
fn trim_common_ends(files: &Files<'_>, regions: &mut [Region]) {
    let line1 = |i: isize| files.ours[i as usize];
    let line2 = |i: isize| files.theirs[i as usize];
    for m in regions.iter_mut().filter(|r| r.outcome == Resolution::Conflict) {
        while m.ours_len > 0 && m.theirs_len > 0 && line1(m.ours_at) == line2(m.theirs_at) {
            m.ours_len -= 1;
            m.theirs_len -= 1;
            m.ours_at += 1;
            m.theirs_at += 1;
        }
        while m.ours_len > 0 && m.theirs_len > 0 && line1(m.ours_end() - 1) == line2(m.theirs_end() - 1) {
            m.ours_len -= 1;
            m.theirs_len -= 1;
        }
    }
}

/// Joins consecutive conflicts separated by at most three lines, or, with
/// `unless_alnum`, by lines without any ASCII letter or digit
/// (`xdl_simplify_non_conflicts`).
fn join_close_conflicts(files: &Files<'_>, regions: &mut Vec<Region>, unless_alnum: bool) {
    let mut joined: Vec<Region> = Vec::with_capacity(regions.len());
    for next in regions.drain(..) {
        if let Some(m) = joined.last_mut() {
            let between = range(m.ours_end(), next.ours_at - m.ours_end());
            let keep_apart = m.outcome != Resolution::Conflict
                || next.outcome != Resolution::Conflict
                || (between.len() > 3 && (!unless_alnum || files.ours[between].iter().any(|line| has_alnum(line))));
            if !keep_apart {
                m.ours_len = next.ours_end() - m.ours_at;
                m.theirs_len = next.theirs_end() - m.theirs_at;
                m.base_len = (next.base_at + next.base_len).max(m.base_at + m.base_len) - m.base_at;
                continue;
            }
        }
        joined.push(next);
    }
    *regions = joined;
}

/// Whether `line` has an ASCII letter or digit (git's `isalnum`).
fn has_alnum(line: &[u8]) -> bool {
    line.iter().any(u8::is_ascii_alphanumeric)
}

/// Renders the merge result (`xdl_fill_merge_buffer`).
struct Writer<'a, 'f> {
    files: &'a Files<'f>,
    options: &'a MergeOptions<'a>,
    out: Vec<u8>,
}

impl Writer<'_, '_> {
    /// Writes our text with the regions resolved.
    fn write(mut self, regions: &[Region]) -> MergeResult {
        let files = self.files;
        let mut conflicts = Vec::new();
        let mut copied = 0;
        for m in regions {
            if m.outcome == Resolution::Identical {
                continue;
            }
            copy(&mut self.out, &files.ours, copied, m.ours_at - copied, None);
            match m.outcome {
                Resolution::Conflict => {
                    self.conflict(m);
                    conflicts.push(ConflictRegion {
                        base: range(m.base_at, m.base_len),
                        ours: range(m.ours_at, m.ours_len),
                        theirs: range(m.theirs_at, m.theirs_len),
                    });
                }
                Resolution::Ours => copy(&mut self.out, &files.ours, m.ours_at, m.ours_len, None),
                Resolution::Theirs => copy(&mut self.out, &files.theirs, m.theirs_at, m.theirs_len, None),
                Resolution::Both => {
                    let newline = Some(self.needs_cr(m));
                    copy(&mut self.out, &files.ours, m.ours_at, m.ours_len, newline);
                    copy(&mut self.out, &files.theirs, m.theirs_at, m.theirs_len, None);
                }
                Resolution::Identical => unreachable!("skipped above"),
            }
            copied = m.ours_end();
        }
        let rest = signed(files.ours.len()) - copied;
        copy(&mut self.out, &files.ours, copied, rest, None);
        MergeResult { content: self.out, conflicts }
    }

    /// Writes one conflict with its markers (`fill_conflict_hunk`).
    fn conflict(&mut self, m: &Region) {
        let files = self.files;
        let options = self.options;
        let crlf = self.needs_cr(m);
        self.marker(b'<', options.ours_label, crlf);
        copy(&mut self.out, &files.ours, m.ours_at, m.ours_len, Some(crlf));
        if options.style != ConflictStyle::Merge {
            self.marker(b'|', options.ancestor_label, crlf);
            copy(&mut self.out, &files.base, m.base_at, m.base_len, Some(crlf));
        }
        self.marker(b'=', None, crlf);
        copy(&mut self.out, &files.theirs, m.theirs_at, m.theirs_len, Some(crlf));
        self.marker(b'>', options.theirs_label, crlf);
    }

    /// Writes one conflict marker line.
    fn marker(&mut self, symbol: u8, label: Option<&[u8]>, crlf: bool) {
        let size = match self.options.marker_size {
            0 => DEFAULT_MARKER_SIZE,
            size => size,
        };
        self.out.extend(std::iter::repeat_n(symbol, size));
        if let Some(label) = label {
            self.out.push(b' ');
            self.out.extend_from_slice(label);
        }
        self.out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }

    /// Whether added line ends should be CRLF (`is_cr_needed`): the line
    /// before the region on each side must not end in a bare LF, and the
    /// base's first line must end in CRLF.
    fn needs_cr(&self, m: &Region) -> bool {
        let before = |i: isize| if i > 0 { i - 1 } else { 0 };
        ends_in_crlf(&self.files.ours, before(m.ours_at)) != Some(false)
            && ends_in_crlf(&self.files.theirs, before(m.theirs_at)) != Some(false)
            && ends_in_crlf(&self.files.base, 0) == Some(true)
    }
}

/// Whether line `i` of `lines` ends in CRLF (for a last line without end of
/// line, the line before it); `None` if it cannot be told (`is_eol_crlf`).
fn ends_in_crlf(lines: &[&[u8]], i: isize) -> Option<bool> {
    let crlf = |line: &[u8]| line.len() > 1 && line[line.len() - 2] == b'\r';
    let count = signed(lines.len());
    if i < count - 1 {
        return Some(crlf(lines[i as usize]));
    }
    if count == 0 {
        return None;
    }
    let line = lines[i as usize];
    if line.last() == Some(&b'\n') {
        return Some(crlf(line));
    }
    if i == 0 {
        return None;
    }
    Some(crlf(lines[i as usize - 1]))
}

/// Appends `count` lines of `lines` from `start`; with `newline` set, a
/// missing final end of line is supplied (CRLF if `newline` is true).
fn copy(out: &mut Vec<u8>, lines: &[&[u8]], start: isize, count: isize, newline: Option<bool>) {
    if count < 1 {
        return;
    }
    let copied = &lines[range(start, count)];
    copied.iter().for_each(|line| out.extend_from_slice(line));
    let last = copied[copied.len() - 1];
    match newline {
        Some(crlf) if last.last() != Some(&b'\n') => {
            out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(base: &str, ours: &str, theirs: &str, level: MergeLevel) -> (String, usize) {
        let options =
            MergeOptions { level, ours_label: Some(b"ours"), theirs_label: Some(b"theirs"), ..MergeOptions::default() };
        let result = merge(base.as_bytes(), ours.as_bytes(), theirs.as_bytes(), &options).unwrap();
        (String::from_utf8(result.content).unwrap(), result.conflicts.len())
    }

    #[test]
    fn separate_changes_merge_cleanly() {
        let (text, conflicts) = merged("a\nb\nc\nd\n", "A\nb\nc\nd\n", "a\nb\nc\nD\n", MergeLevel::Zealous);
        assert_eq!((text.as_str(), conflicts), ("A\nb\nc\nD\n", 0));
    }

    #[test]
    fn adjacent_changes_conflict() {
        let (text, conflicts) = merged("a\nb\n", "A\nb\n", "a\nB\n", MergeLevel::Zealous);
        assert_eq!(conflicts, 1);
        assert_eq!(text, "<<<<<<< ours\nA\nb\n=======\na\nB\n>>>>>>> theirs\n");
    }

    #[test]
    fn identical_changes_conflict_only_at_the_minimal_level() {
        assert_eq!(merged("a\n", "b\n", "b\n", MergeLevel::Eager), ("b\n".to_string(), 0));
        assert_eq!(merged("a\n", "b\n", "b\n", MergeLevel::Minimal).1, 1);
    }

    #[test]
    fn zealous_narrows_a_conflict_to_the_differing_lines() {
        let (text, conflicts) = merged("a\n", "x\nsame\ny\n", "x\nsame\nz\n", MergeLevel::Zealous);
        assert_eq!(conflicts, 1);
        assert_eq!(text, "x\nsame\n<<<<<<< ours\ny\n=======\nz\n>>>>>>> theirs\n");
    }

    #[test]
    fn missing_newlines_inside_conflicts_are_supplied() {
        let (text, _) = merged("a", "b", "c", MergeLevel::Zealous);
        assert_eq!(text, "<<<<<<< ours\nb\n=======\nc\n>>>>>>> theirs\n");
    }

    #[test]
    fn crlf_files_get_crlf_markers() {
        let (text, _) = merged("a\r\nb\r\n", "a\r\nx\r\n", "a\r\ny\r\n", MergeLevel::Zealous);
        assert_eq!(text, "a\r\n<<<<<<< ours\r\nx\r\n=======\r\ny\r\n>>>>>>> theirs\r\n");
    }

    #[test]
    fn eol_detection_looks_at_the_line_before_an_unterminated_last_line() {
        assert_eq!(ends_in_crlf(&[b"a\r\n", b"b"], 1), Some(true));
        assert_eq!(ends_in_crlf(&[b"b"], 0), None);
        assert_eq!(ends_in_crlf(&[], 0), None);
        assert_eq!(ends_in_crlf(&[b"a\n", b"b\r\n"], 0), Some(false));
    }
}
