//! Patch selectors: how a person names local patches on the command line.
//!
//! Whoever runs `consent explain` or `drop` has just read `status` or
//! a task, and names a patch by what they saw there: its position (`3`,
//! `#3`), a few characters of its commit id, its Gerrit Change-Id (or enough
//! of it to be unique), or a Phabricator task (`T123456`, meaning every patch
//! of that task). Every command resolves them here, the same way, and a
//! selector that could mean two things is an error listing both rather than a
//! guess: the commands that follow may remove patches.

use crate::error::{Error, Result};
use crate::model::message::Task;
use crate::model::stack::{Patch, Stack};
use crate::support::escape::terminal_short;

/// Fewest hex digits accepted as a commit id prefix.
pub const MIN_COMMIT_PREFIX: usize = 4;
/// Fewest characters (with the leading `I`) accepted as a Change-Id prefix.
pub const MIN_CHANGE_PREFIX: usize = 7;
/// Length of a full Change-Id: `I` and 40 hex digits.
const CHANGE_ID_LEN: usize = 41;
/// How many candidates an ambiguity error lists.
const LISTED: usize = 5;

/// What `betadrift status` lists, for error messages.
const SEE_STATUS: &str = "`betadrift status` lists the patches with their positions, commits, tasks and Change-Ids";

/// Resolves a selector to indices into `stack.patches`, in stack order.
pub fn resolve(stack: &Stack, selector: &str) -> Result<Vec<usize>> {
    resolve_patches(&stack.patches, selector)
}

/// Resolves a selector against a list of patches; see [`resolve`].
pub fn resolve_patches(patches: &[Patch], selector: &str) -> Result<Vec<usize>> {
    let fail = |message: String| Error::Selector { selector: selector.to_owned(), message };
    let text = selector.trim();
    if let Some(digits) = text.strip_prefix('#') {
        let n =
            digits.parse::<usize>().map_err(|_| fail(format!("'#' must be followed by a position; {SEE_STATUS}")))?;
        return by_position(patches, n).ok_or_else(|| fail(out_of_range(n, patches.len())));
    }
    if text.len() > 1 && text.starts_with(['T', 't']) && text[1..].bytes().all(|b| b.is_ascii_digit()) {
        let task: Task = text.parse().map_err(fail)?;
        let found = matching(patches, |p| p.message.tasks.contains(&task));
        return nonempty(found).ok_or_else(|| fail(format!("no local patch names task {task}; {SEE_STATUS}")));
    }
    if text.starts_with(['I', 'i']) && text[1..].bytes().all(|b| b.is_ascii_hexdigit()) {
        return by_change_id(patches, text).map_err(fail);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return by_commit_or_position(patches, text).map_err(fail);
    }
    Err(fail(
        "not a patch selector; give a position (3 or #3), a commit id (4+ hex digits), \
         a Change-Id (I…, 7+ characters) or a task (T123456)"
            .into(),
    ))
}

fn matching(patches: &[Patch], keep: impl Fn(&Patch) -> bool) -> Vec<usize> {
    patches.iter().enumerate().filter(|(_, p)| keep(p)).map(|(i, _)| i).collect()
}

fn nonempty(found: Vec<usize>) -> Option<Vec<usize>> {
    (!found.is_empty()).then_some(found)
}

fn by_position(patches: &[Patch], n: usize) -> Option<Vec<usize>> {
    patches.iter().position(|p| p.position == n).map(|i| vec![i])
}

fn out_of_range(n: usize, len: usize) -> String {
    match len {
        0 => format!("position {n} is out of range: there are no local patches"),
        _ => format!("position {n} is out of range: the stack has patches #1 to #{len}"),
    }
}

/// Digits are a position, hex digits a commit id prefix; all-digit text of
/// four or more characters can be both, and must then say which.
fn by_commit_or_position(patches: &[Patch], text: &str) -> std::result::Result<Vec<usize>, String> {
    let lower = text.to_ascii_lowercase();
    let commits = match text.len() >= MIN_COMMIT_PREFIX {
        true => matching(patches, |p| p.commit.oid.to_string().starts_with(&lower)),
        false => Vec::new(),
    };
    let position = text.parse::<usize>().ok();
    match (position.and_then(|n| by_position(patches, n)), commits.len()) {
        (Some(at), 0) => Ok(at),
        (Some(at), _) => Err(format!(
            "ambiguous: position #{} or commit {}; write #{text} for the position or more digits of the commit",
            patches[at[0]].position,
            list(patches, &commits)
        )),
        (None, 1) => Ok(commits),
        (None, 0) => Err(match position {
            Some(n) if text.len() < MIN_COMMIT_PREFIX => out_of_range(n, patches.len()),
            _ if text.len() < MIN_COMMIT_PREFIX => {
                format!("too short for a commit id: give at least {MIN_COMMIT_PREFIX} hex digits")
            }
            _ => format!("no local patch has a commit id starting with {lower}; {SEE_STATUS}"),
        }),
        (None, _) => {
            Err(format!("ambiguous commit id prefix, it matches {}; give more digits", list(patches, &commits)))
        }
    }
}

/// A full Change-Id selects every patch that carries it; a prefix must name
/// exactly one Change-Id.
fn by_change_id(patches: &[Patch], text: &str) -> std::result::Result<Vec<usize>, String> {
    if text.len() < MIN_CHANGE_PREFIX {
        return Err(format!(
            "too short for a Change-Id: give at least {MIN_CHANGE_PREFIX} characters (I and 6 hex digits)"
        ));
    }
    let wanted = format!("I{}", text[1..].to_ascii_lowercase());
    let change_id =
        |p: &Patch| p.message.change_id.as_deref().map(str::to_ascii_lowercase).map(|c| format!("I{}", &c[1..]));
    let found = match text.len() {
        CHANGE_ID_LEN => matching(patches, |p| change_id(p).as_deref() == Some(wanted.as_str())),
        _ => matching(patches, |p| change_id(p).is_some_and(|c| c.starts_with(&wanted))),
    };
    let mut ids: Vec<String> = found.iter().filter_map(|&i| change_id(&patches[i])).collect();
    ids.dedup();
    match ids.len() {
        0 => Err(format!("no local patch has a Change-Id starting with {wanted}; {SEE_STATUS}")),
        1 => Ok(found),
        _ => Err(format!("ambiguous Change-Id prefix, it matches {}; give more characters", list(patches, &found))),
    }
}

/// A short list of patches for an error: `#3 d7ed6b8b (varnish: pass X-Wi…)`.
fn list(patches: &[Patch], indices: &[usize]) -> String {
    let mut shown: Vec<String> = indices
        .iter()
        .take(LISTED)
        .map(|&i| {
            let p = &patches[i];
            let oid = p.commit.oid.to_string();
            format!("#{} {} ({})", p.position, &oid[..10], terminal_short(&p.message.subject, 30))
        })
        .collect();
    if indices.len() > LISTED {
        shown.push(format!("and {} more", indices.len() - LISTED));
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stack::testing::patch;

    const CID_A: &str = "Ia4b5c6d7e8f90123456789012345678901234567";
    const CID_B: &str = "Ia4b5c6d000000000000000000000000000000000";

    /// Five patches; commits 2 and 3 share the prefix 1234, patch 4 and 5
    /// carry the same Change-Id, and patch 1 has a commit id made of digits.
    fn stack() -> Vec<Patch> {
        vec![
            patch(1, "3141592653589793238462643383279502884197", "HACK: one\n\nBug: T100\n"),
            patch(2, "1234aaaa00000000000000000000000000000000", &format!("two\n\nBug: T100\nChange-Id: {CID_A}\n")),
            patch(3, "1234bbbb00000000000000000000000000000000", &format!("three\n\nBug: T200\nChange-Id: {CID_B}\n")),
            patch(4, "abcdef0000000000000000000000000000000000", &format!("four\n\nChange-Id: {CID_A}\n")),
            patch(5, "fedcba0000000000000000000000000000000000", "five\n\nBug: T300, T100\n"),
        ]
    }

    fn ok(selector: &str) -> Vec<usize> {
        resolve_patches(&stack(), selector).unwrap_or_else(|e| panic!("{selector}: {e}"))
    }

    fn err(selector: &str) -> String {
        let e = resolve_patches(&stack(), selector).unwrap_err();
        assert!(matches!(e, Error::Selector { .. }), "{e:?}");
        let message = e.to_string();
        assert!(message.starts_with(&format!("patch '{selector}': ")), "{message}");
        assert!(!message.contains('\n'), "{message}");
        message
    }

    #[test]
    fn positions() {
        assert_eq!(ok("3"), [2]);
        assert_eq!(ok("#3"), [2]);
        assert_eq!(ok(" #5 "), [4]);
        assert!(err("6").contains("position 6 is out of range: the stack has patches #1 to #5"));
        assert!(err("#0").contains("out of range"));
        assert!(err("#99999").contains("out of range"));
        assert!(err("#x").contains("followed by a position"));
        let e = resolve_patches(&[], "1").unwrap_err().to_string();
        assert!(e.contains("there are no local patches"), "{e}");
    }

    #[test]
    fn commit_prefixes() {
        assert_eq!(ok("abcd"), [3]);
        assert_eq!(ok("ABCDEF"), [3], "any case");
        assert_eq!(ok("1234aa"), [1]);
        assert_eq!(ok("3141"), [0], "digits that are no position are a commit");
        assert_eq!(ok("3141592653589793238462643383279502884197"), [0]);
        let e = err("1234");
        assert!(e.contains("ambiguous commit id prefix, it matches #2 1234aaaa00 (two), #3 1234bbbb00 (three)"), "{e}");
        assert!(err("abc").contains("too short for a commit id"));
        assert!(err("beef").contains("no local patch has a commit id starting with beef"));
    }

    #[test]
    fn digits_that_are_both_a_position_and_a_commit() {
        let mut patches = stack();
        patches.push(patch(6, "0006000000000000000000000000000000000000", "six\n"));
        let e = resolve_patches(&patches, "0006").unwrap_err().to_string();
        assert!(e.contains("ambiguous: position #6 or commit #6 0006000000 (six); write #0006"), "{e}");
        assert_eq!(resolve_patches(&patches, "#0006").unwrap(), [5]);
    }

    #[test]
    fn change_ids() {
        assert_eq!(ok(CID_A), [1, 3], "a full Change-Id selects every patch carrying it");
        assert_eq!(ok(&CID_A.to_uppercase()), [1, 3]);
        assert_eq!(ok("Ia4b5c6d7"), [1, 3], "a unique prefix");
        assert_eq!(ok("Ia4b5c6d0"), [2]);
        let e = err("Ia4b5c6d");
        assert!(e.contains("ambiguous Change-Id prefix, it matches #2 "), "{e}");
        assert!(e.contains("#3 ") && e.contains("#4 "), "{e}");
        assert!(err("Ia4b5c").contains("too short for a Change-Id"));
        assert!(err("Iffffffff").contains("no local patch has a Change-Id starting with Iffffffff"));
        assert!(err(&format!("I{}", "f".repeat(40))).contains("no local patch"));
    }

    #[test]
    fn tasks() {
        assert_eq!(ok("T100"), [0, 1, 4]);
        assert_eq!(ok("t200"), [2]);
        assert!(err("T999").contains("no local patch names task T999"));
        assert!(err("T0").contains("not a Phabricator task"));
    }

    #[test]
    fn not_selectors() {
        for bad in ["", "HEAD~1", "T", "#", "I", "xyz", "3.5", "-1", "T12a"] {
            let e = err(bad);
            assert!(
                e.contains("not a patch selector") || e.contains("followed by a position") || e.contains("too short"),
                "{bad}: {e}"
            );
        }
    }
}
