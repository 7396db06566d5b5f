// Follows git's xdiff/xemit.c (LibXDiff, LGPL-2.1-or-later); see NOTICE.
//! Unified diff hunks, grouped as `xdl_emit_diff` groups them.
//!
//! Changes closer than twice the context length share a hunk; each hunk
//! shows up to `context` unchanged lines before its first and after its last
//! change. Unchanged lines are taken from the new side, as git does.

use std::io::Write as _;
use std::ops::Range;

use super::Change;

/// The role of a line in a hunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// An unchanged line (printed with a leading space).
    Context,
    /// A line only in the old input (`-`).
    Removed,
    /// A line only in the new input (`+`).
    Added,
}

/// One line of a hunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HunkLine<'a> {
    /// Whether the line is unchanged, removed or added.
    pub kind: LineKind,
    /// The line with its `\n`, which only an input's last line may lack.
    pub text: &'a [u8],
}

impl HunkLine<'_> {
    /// Whether this is a final line without `\n`, which git follows with
    /// `\ No newline at end of file`.
    pub fn missing_newline(&self) -> bool {
        self.text.last().is_some_and(|&byte| byte != b'\n')
    }
}

/// A hunk of a unified diff.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Hunk<'a> {
    /// The old lines the hunk covers (0-based, half-open), context included.
    pub old: Range<usize>,
    /// The new lines the hunk covers (0-based, half-open), context included.
    pub new: Range<usize>,
    /// The lines in the order git prints them.
    pub lines: Vec<HunkLine<'a>>,
}

impl Hunk<'_> {
    /// The hunk header as git prints it, without function name or newline,
    /// e.g. `@@ -3,2 +3 @@` or `@@ -0,0 +1 @@`.
    pub fn header(&self) -> String {
        format!("@@ -{} +{} @@", header_range(&self.old), header_range(&self.new))
    }

    /// Whether the hunk shows the old input's last line and it lacks `\n`.
    pub fn old_missing_newline(&self) -> bool {
        self.lines.iter().any(|line| line.kind != LineKind::Added && line.missing_newline())
    }

    /// Whether the hunk shows the new input's last line and it lacks `\n`.
    pub fn new_missing_newline(&self) -> bool {
        self.lines.iter().any(|line| line.kind != LineKind::Removed && line.missing_newline())
    }

    /// Appends the hunk as `git diff` prints it (header without function
    /// name, prefixed lines, `\ No newline at end of file` markers).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.header().as_bytes());
        out.push(b'\n');
        for line in &self.lines {
            out.push(match line.kind {
                LineKind::Context => b' ',
                LineKind::Removed => b'-',
                LineKind::Added => b'+',
            });
            out.extend_from_slice(line.text);
            if line.missing_newline() {
                out.extend_from_slice(b"\n\\ No newline at end of file\n");
            }
        }
    }
}

/// Formats one side of a hunk header: `start,count`, where a count of one
/// is omitted and an empty range names the line before it.
fn header_range(range: &Range<usize>) -> String {
    let mut text = Vec::new();
    let count = range.len();
    let start = if count == 0 { range.start } else { range.start + 1 };
    write!(text, "{start}").expect("writing to a Vec");
    if count != 1 {
        write!(text, ",{count}").expect("writing to a Vec");
    }
    String::from_utf8(text).expect("ASCII digits")
}

/// Groups `script` into hunks with `context` lines of context.
pub(crate) fn hunks<'a>(old: &[&'a [u8]], new: &[&'a [u8]], script: &[Change], context: usize) -> Vec<Hunk<'a>> {
    let mut hunks = Vec::new();
    let mut rest = script;
    while let Some(first) = rest.first() {
        let members = 1 + rest.windows(2).take_while(|pair| pair[1].old.start - pair[0].old.end <= 2 * context).count();
        let (group, after) = rest.split_at(members);
        let last = &group[members - 1];
        let old_start = first.old.start.saturating_sub(context);
        let new_start = first.new.start.saturating_sub(context);
        let trailing = context.min(old.len() - last.old.end).min(new.len() - last.new.end);
        let mut lines = Vec::new();
        let context_line = |index: usize| HunkLine { kind: LineKind::Context, text: new[index] };
        let mut next_new = new_start;
        for change in group {
            lines.extend((next_new..change.new.start).map(context_line));
            lines.extend(old[change.old.clone()].iter().map(|&text| HunkLine { kind: LineKind::Removed, text }));
            lines.extend(new[change.new.clone()].iter().map(|&text| HunkLine { kind: LineKind::Added, text }));
            next_new = change.new.end;
        }
        lines.extend((next_new..last.new.end + trailing).map(context_line));
        hunks.push(Hunk { old: old_start..last.old.end + trailing, new: new_start..last.new.end + trailing, lines });
        rest = after;
    }
    hunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_git_conventions() {
        let hunk = |old: Range<usize>, new: Range<usize>| Hunk { old, new, lines: vec![] };
        assert_eq!(hunk(0..0, 0..1).header(), "@@ -0,0 +1 @@");
        assert_eq!(hunk(2..4, 2..3).header(), "@@ -3,2 +3 @@");
        assert_eq!(hunk(5..5, 4..6).header(), "@@ -5,0 +5,2 @@");
    }

    #[test]
    fn close_changes_share_a_hunk() {
        let old: Vec<&[u8]> = vec![b"a\n", b"b\n", b"c\n", b"d\n", b"e\n"];
        let new: Vec<&[u8]> = vec![b"A\n", b"b\n", b"c\n", b"d\n", b"E"];
        let script = [Change { old: 0..1, new: 0..1 }, Change { old: 4..5, new: 4..5 }];
        assert_eq!(hunks(&old, &new, &script, 1).len(), 2);
        let joined = hunks(&old, &new, &script, 2);
        assert_eq!(joined.len(), 1);
        assert!(joined[0].new_missing_newline());
        assert!(!joined[0].old_missing_newline());
        let mut text = Vec::new();
        joined[0].write_to(&mut text);
        let expected = "@@ -1,5 +1,5 @@\n-a\n+A\n b\n c\n d\n-e\n+E\n\\ No newline at end of file\n";
        assert_eq!(String::from_utf8(text).unwrap(), expected);
    }
}
