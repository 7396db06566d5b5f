//! git's rules for a path it will write into a working tree, so that a
//! hostile tree (an upstream commit with a `.git/hooks/post-checkout`, an
//! entry named `..`) is refused before betadrift writes anything, as git
//! refuses to check it out.
//!
//! A port of git 2.47's `verify_path` and `verify_dotfile` (read-cache.c),
//! `is_ntfs_dotgit` and `is_ntfs_dot_generic` (path.c) and `is_hfs_dotgit`
//! with `next_hfs_char` (utf8.c). Both the NTFS and the HFS+ rules apply, as
//! with `core.protectNTFS` and `core.protectHFS` set (git sets the second
//! only on macOS by default; betadrift refuses such names everywhere: no
//! puppet checkout needs a `.git\u{200c}` directory). `is_valid_path` and
//! `has_dos_drive_prefix` are always true and false on a POSIX system.

use betadrift_engine::objects::{Kind, kind_of};

/// True if git would write `path` (a tree entry of `mode`) to a working tree.
pub fn verify_path(path: &[u8], mode: u32) -> bool {
    let is_link = kind_of(mode) == Kind::Link;
    let is_dir = kind_of(mode) == Kind::Tree;
    let mut i = 0;
    // `goto inside`: the first component is checked as if after a slash.
    loop {
        // At the start of a component (`inside:` in git).
        let rest = &path[i..];
        if is_hfs_dotgit(rest) || (is_link && is_hfs_dot_generic(rest, b"gitmodules")) {
            return false;
        }
        if is_ntfs_dotgit(rest) || (is_link && is_ntfs_dot_generic(rest, b"gitmodules", b"gi7eba")) {
            return false;
        }
        let c = at(path, i);
        i += 1;
        if (c == b'.' && !verify_dotfile(&path[i.min(path.len())..], is_link)) || c == b'/' {
            return false;
        }
        if c == 0 {
            return is_dir;
        }
        // The rest of the component.
        loop {
            let c = at(path, i);
            i += 1;
            if c == 0 {
                return true;
            }
            if c == b'/' {
                break;
            }
            if c == b'\\' {
                let rest = &path[i..];
                if is_ntfs_dotgit(rest) || (is_link && is_ntfs_dot_generic(rest, b"gitmodules", b"gi7eba")) {
                    return false;
                }
            }
        }
    }
}

/// The byte at `i`, or NUL past the end (C strings end there).
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// After a leading `.`: refuses `.`, `..`, `.git` in any case, and for a
/// symlink `.gitmodules`.
fn verify_dotfile(rest: &[u8], is_link: bool) -> bool {
    let c0 = at(rest, 0);
    if c0 == 0 || c0 == b'/' {
        return false;
    }
    match c0 {
        b'g' | b'G' => {
            if !at(rest, 1).eq_ignore_ascii_case(&b'i') || !at(rest, 2).eq_ignore_ascii_case(&b't') {
                return true;
            }
            if at(rest, 3) == 0 || at(rest, 3) == b'/' {
                return false;
            }
            if is_link {
                let after = &rest[3..];
                if after.len() >= 7 && after[..7].eq_ignore_ascii_case(b"modules") {
                    let c = at(after, 7);
                    if c == 0 || c == b'/' {
                        return false;
                    }
                }
            }
            true
        }
        b'.' => !(at(rest, 1) == 0 || at(rest, 1) == b'/'),
        _ => true,
    }
}

/// `.git` or `git~1`, in any case, followed by dots and spaces, then the
/// end of the component (or an NTFS stream's `:`).
fn is_ntfs_dotgit(name: &[u8]) -> bool {
    let lower = |i: usize| at(name, i).to_ascii_lowercase();
    let mut i = if lower(0) == b'.' && lower(1) == b'g' && lower(2) == b'i' && lower(3) == b't' {
        4
    } else if lower(0) == b'g' && lower(1) == b'i' && lower(2) == b't' && at(name, 3) == b'~' && at(name, 4) == b'1' {
        5
    } else {
        return false;
    };
    loop {
        let c = at(name, i);
        i += 1;
        if c == 0 || c == b'/' || c == b'\\' || c == b':' {
            return true;
        }
        if c != b'.' && c != b' ' {
            return false;
        }
    }
}

/// `.<dotgit_name>` or one of its NTFS short names (`gitmod~1`, or the
/// fall-back `gi7eba~N`), followed by dots and spaces.
fn is_ntfs_dot_generic(name: &[u8], dotgit_name: &[u8], shortname_prefix: &[u8]) -> bool {
    let len = dotgit_name.len();
    let only_spaces_and_periods = |mut i: usize| loop {
        let c = at(name, i);
        i += 1;
        if c == 0 || c == b':' {
            return true;
        }
        if c != b' ' && c != b'.' {
            return false;
        }
    };
    if at(name, 0) == b'.' && name.len() > len && name[1..=len].eq_ignore_ascii_case(dotgit_name) {
        return only_spaces_and_periods(len + 1);
    }
    if name.len() >= 8
        && name[..6].eq_ignore_ascii_case(&dotgit_name[..6])
        && name[6] == b'~'
        && (b'1'..=b'4').contains(&name[7])
    {
        return only_spaces_and_periods(8);
    }
    let mut saw_tilde = false;
    let mut i = 0;
    while i < 8 {
        let c = at(name, i);
        if c == 0 {
            return false;
        } else if saw_tilde {
            if !c.is_ascii_digit() {
                return false;
            }
        } else if c == b'~' {
            i += 1;
            if !(b'1'..=b'9').contains(&at(name, i)) {
                return false;
            }
            saw_tilde = true;
        } else if i >= 6 || c & 0x80 != 0 || c.to_ascii_lowercase() != shortname_prefix[i] {
            return false;
        }
        i += 1;
    }
    only_spaces_and_periods(i)
}

fn is_hfs_dotgit(path: &[u8]) -> bool {
    is_hfs_dot_generic(path, b"git")
}

/// `.<needle>` as HFS+ sees it: case-folded, with the code points HFS+
/// ignores (zero-width joiners, direction marks, …) left out.
fn is_hfs_dot_generic(mut path: &[u8], needle: &[u8]) -> bool {
    if next_hfs_char(&mut path) != u32::from(b'.') {
        return false;
    }
    for &n in needle {
        let c = next_hfs_char(&mut path);
        if c > 127 || (c as u8).to_ascii_lowercase() != n {
            return false;
        }
    }
    let c = next_hfs_char(&mut path);
    c == 0 || c == u32::from(b'/')
}

/// The next code point HFS+ does not ignore; 0 at the end or at malformed
/// UTF-8 (which git then takes as the end too).
fn next_hfs_char(input: &mut &[u8]) -> u32 {
    loop {
        let Some((c, len)) = pick_one_utf8_char(input) else {
            *input = &[];
            return 0;
        };
        *input = &input[len..];
        match c {
            0x200c..=0x200f | 0x202a..=0x202e | 0x206a..=0x206f | 0xfeff => continue,
            _ => return c,
        }
    }
}

/// One UTF-8 code point and its length; `Some((0, 0))` at the end, `None`
/// if malformed.
fn pick_one_utf8_char(s: &[u8]) -> Option<(u32, usize)> {
    let Some(&first) = s.first() else { return Some((0, 0)) };
    let len = match first {
        0x00..=0x7f => return Some((u32::from(first), 1)),
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let text = std::str::from_utf8(s.get(..len)?).ok()?;
    Some((u32::from(text.chars().next()?), len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use betadrift_engine::objects::{MODE_EXEC, MODE_FILE};

    const LINK: u32 = 0o120000;
    const TREE: u32 = 0o040000;
    const GITLINK: u32 = 0o160000;

    /// git's own t/t0060 and t1014 cases, and the ones the issue names.
    #[test]
    fn git_refuses_these() {
        for path in [
            ".git/hooks/post-checkout",
            ".GIT/config",
            ".Git",
            "a/.git/hooks/x",
            ".git./x",
            ".git . ./x",
            ".git:stream",
            "git~1/config",
            "GIT~1",
            "a/git~1 ./x",
            ".git\u{200c}/hooks/post-checkout",
            "\u{200e}.\u{200d}g\u{feff}I\u{206f}t",
            "..",
            "../x",
            "a/../x",
            "a/..",
            ".",
            "./x",
            "a/./x",
            "",
            "/x",
            "a//b",
            "a/",
            "a\\.git\\hooks",
        ] {
            assert!(!verify_path(path.as_bytes(), MODE_FILE), "{path:?} must be refused");
        }
        assert!(!verify_path(b".git\xff", MODE_FILE), "malformed UTF-8 after .git ends the name for HFS+");
    }

    #[test]
    fn git_accepts_these() {
        for path in [
            "modules/scap/manifests/init.pp",
            ".gitignore",
            ".gitmodules",
            ".gitattributes",
            "a/.github/workflows/ci.yml",
            "git~2",
            "gitx",
            ".gi",
            "...",
            "a/.../b",
            ".git-credentials",
            "a b/c.d",
            "caf\u{e9}",
        ] {
            assert!(verify_path(path.as_bytes(), MODE_FILE), "{path:?} must be accepted");
            assert!(verify_path(path.as_bytes(), MODE_EXEC), "{path:?} must be accepted");
        }
        assert!(verify_path(b"\xff\xfe", MODE_FILE), "malformed UTF-8 alone is a name like any other");
        assert!(verify_path(b"vendor/sub", GITLINK));
        assert!(verify_path(b"a/", TREE), "a trailing slash is a sparse directory entry");
    }

    #[test]
    fn a_symbolic_link_may_not_be_gitmodules() {
        for path in [".gitmodules", ".GITMODULES", "a/.gitmodules", ".gitmodules .", "gitmod~1", "GI7EBA~1", "gi7eba~9"]
        {
            assert!(!verify_path(path.as_bytes(), LINK), "{path:?} as a symlink must be refused");
        }
        assert!(verify_path(b".gitmodules", MODE_FILE));
        assert!(verify_path(b"gitmod~1", MODE_FILE));
        assert!(verify_path(b".gitmodulesx", LINK));
        assert!(verify_path(b"gitmod~5", LINK));
    }
}
