// Follows git's wildmatch.c (GPL-2.0-only); see NOTICE.
//! git's glob matching (`wildmatch`), as `.gitattributes` patterns use it.
//!
//! A port of `dowild`, with its three-valued result (the aborts that stop a
//! `*` from retrying at every position). No case folding: betadrift runs on
//! Linux, where `core.ignorecase` is false. Character classes use git's
//! ASCII-only tests (its `isspace` is space, tab, LF and CR).

/// Whether `*` may match `/` (`WM_PATHNAME` turns that off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Without `WM_PATHNAME`: `*` matches anything, `/` included.
    Plain,
    /// With `WM_PATHNAME`: `*` and `?` stop at `/`; `**/` spans directories.
    Pathname,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wild {
    Match,
    NoMatch,
    AbortAll,
    AbortToStarStar,
}

/// Whether `pattern` matches all of `text` (`wildmatch() == WM_MATCH`).
pub fn wildmatch(pattern: &[u8], text: &[u8], mode: Mode) -> bool {
    dowild(pattern, text, mode == Mode::Pathname) == Wild::Match
}

fn is_glob_special(c: u8) -> bool {
    matches!(c, b'*' | b'?' | b'[' | b'\\')
}

/// One step of `dowild`: `p` and `t` are what is left of pattern and text.
fn dowild(pattern: &[u8], text: &[u8], pathname: bool) -> Wild {
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let (mut p, mut t) = (0usize, 0usize);
    while at(pattern, p) != 0 {
        let mut p_ch = pattern[p];
        let t_ch = at(text, t);
        if t_ch == 0 && p_ch != b'*' {
            return Wild::AbortAll;
        }
        match p_ch {
            b'?' => {
                if pathname && t_ch == b'/' {
                    return Wild::NoMatch;
                }
            }
            b'*' => return star(pattern, p, text, t, pathname),
            b'[' => match class(pattern, &mut p, t_ch) {
                None => return Wild::AbortAll,
                Some(matched) if !matched || (pathname && t_ch == b'/') => return Wild::NoMatch,
                Some(_) => {}
            },
            _ => {
                if p_ch == b'\\' {
                    p += 1;
                    p_ch = at(pattern, p);
                }
                if t_ch != p_ch {
                    return Wild::NoMatch;
                }
            }
        }
        p += 1;
        t += 1;
    }
    if t < text.len() { Wild::NoMatch } else { Wild::Match }
}

/// `dowild` at a `*` (pattern index `p`), text at `t`.
fn star(pattern: &[u8], mut p: usize, text: &[u8], mut t: usize, pathname: bool) -> Wild {
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let match_slash;
    p += 1;
    if at(pattern, p) == b'*' {
        let prev_p = p;
        while at(pattern, p) == b'*' {
            p += 1;
        }
        if !pathname {
            match_slash = true;
        } else if (prev_p < 2 || pattern[prev_p - 2] == b'/')
            && (at(pattern, p) == 0
                || at(pattern, p) == b'/'
                || (at(pattern, p) == b'\\' && at(pattern, p + 1) == b'/'))
        {
            if at(pattern, p) == b'/' && dowild(&pattern[p + 1..], &text[t..], pathname) == Wild::Match {
                return Wild::Match;
            }
            match_slash = true;
        } else {
            match_slash = false;
        }
    } else {
        match_slash = !pathname;
    }
    let rest = &text[t..];
    if at(pattern, p) == 0 {
        // A trailing "**" matches everything, a trailing "*" only what has
        // no more slashes.
        if !match_slash && rest.contains(&b'/') {
            return Wild::AbortToStarStar;
        }
        return Wild::Match;
    }
    if !match_slash && pattern[p] == b'/' {
        // One '*' then a slash matches up to the next directory.
        let Some(slash) = rest.iter().position(|&b| b == b'/') else { return Wild::AbortAll };
        return dowild(&pattern[p..], &rest[slash..], pathname);
    }
    let mut t_ch = at(text, t);
    loop {
        if t_ch == 0 {
            break;
        }
        if !is_glob_special(pattern[p]) {
            // Skip ahead to the literal that follows the '*'.
            let p_ch = pattern[p];
            while at(text, t) != 0 && (match_slash || at(text, t) != b'/') && at(text, t) != p_ch {
                t += 1;
            }
            t_ch = at(text, t);
            if t_ch != p_ch {
                return if match_slash { Wild::AbortAll } else { Wild::AbortToStarStar };
            }
        }
        let matched = dowild(&pattern[p..], &text[t..], pathname);
        if matched != Wild::NoMatch {
            if !match_slash || matched != Wild::AbortToStarStar {
                return matched;
            }
        } else if !match_slash && t_ch == b'/' {
            return Wild::AbortToStarStar;
        }
        t += 1;
        t_ch = at(text, t);
    }
    Wild::AbortAll
}

/// A bracket expression at `pattern[*p] == '['`: whether `t_ch` is in it
/// (`None` when the expression is malformed: `WM_ABORT_ALL`). Leaves `*p`
/// at the closing `]`.
fn class(pattern: &[u8], p: &mut usize, t_ch: u8) -> Option<bool> {
    let at = |i: usize| pattern.get(i).copied().unwrap_or(0);
    *p += 1;
    let mut p_ch = at(*p);
    let negated = p_ch == b'!' || p_ch == b'^';
    if negated {
        *p += 1;
        p_ch = at(*p);
    }
    let mut prev_ch = 0u8;
    let mut matched = false;
    loop {
        if p_ch == 0 {
            return None;
        }
        if p_ch == b'\\' {
            *p += 1;
            p_ch = at(*p);
            if p_ch == 0 {
                return None;
            }
            matched |= t_ch == p_ch;
        } else if p_ch == b'-' && prev_ch != 0 && at(*p + 1) != 0 && at(*p + 1) != b']' {
            *p += 1;
            p_ch = at(*p);
            if p_ch == b'\\' {
                *p += 1;
                p_ch = at(*p);
                if p_ch == 0 {
                    return None;
                }
            }
            matched |= t_ch <= p_ch && t_ch >= prev_ch;
            p_ch = 0;
        } else if p_ch == b'[' && at(*p + 1) == b':' {
            let s = *p + 2;
            let mut e = s;
            while at(e) != 0 && at(e) != b']' {
                e += 1;
            }
            if at(e) == 0 {
                return None;
            }
            if e == s || pattern[e - 1] != b':' {
                // No ":]": a plain '['.
                matched |= t_ch == b'[';
                p_ch = b'[';
            } else {
                matched |= named_class(&pattern[s..e - 1], t_ch)?;
                *p = e;
                p_ch = 0;
            }
        } else {
            matched |= t_ch == p_ch;
        }
        prev_ch = p_ch;
        *p += 1;
        p_ch = at(*p);
        if p_ch == b']' {
            break;
        }
    }
    Some(matched != negated)
}

/// `[:name:]`: whether `c` is in the class (`None`: no such class).
fn named_class(name: &[u8], c: u8) -> Option<bool> {
    let graph = (0x21..=0x7e).contains(&c);
    Some(match name {
        b"alnum" => c.is_ascii_alphanumeric(),
        b"alpha" => c.is_ascii_alphabetic(),
        b"blank" => c == b' ' || c == b'\t',
        b"cntrl" => c < 0x20 || c == 0x7f,
        b"digit" => c.is_ascii_digit(),
        b"graph" => graph,
        b"lower" => c.is_ascii_lowercase(),
        b"print" => (0x20..=0x7e).contains(&c),
        b"punct" => graph && !c.is_ascii_alphanumeric(),
        b"space" => matches!(c, b' ' | b'\t' | b'\n' | b'\r'),
        b"upper" => c.is_ascii_uppercase(),
        b"xdigit" => c.is_ascii_hexdigit(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{Mode, wildmatch};

    /// Cases from git's t/t3070-wildmatch.sh (wildmatch, and pathmatch
    /// where they differ).
    #[test]
    fn git_test_cases() {
        let cases: &[(&str, &str, bool, bool)] = &[
            ("foo", "foo", true, true),
            ("bar", "foo", false, false),
            ("???", "foo", true, true),
            ("*f", "foo", false, false),
            ("*", "foo", true, true),
            ("f*", "foo", true, true),
            ("*oo", "foo", true, true),
            ("\\*", "*", true, true),
            ("[ten]", "ten", false, false),
            ("**[!te]", "ten", true, true),
            ("t[a-g]n", "ten", true, true),
            ("t[!a-g]n", "ten", false, false),
            ("t[^a-g]n", "ton", true, true),
            ("a[]]b", "a]b", true, true),
            ("a[]-]b", "a-b", true, true),
            ("foo*bar", "foo/baz/bar", true, false),
            ("foo**bar", "foo/baz/bar", true, false),
            ("foo/*/bar", "foo/baz/bar", true, true),
            ("foo/**/bar", "foo/b/a/z/bar", true, true),
            ("foo/**/bar", "foo/bar", false, true),
            ("**/foo", "XXX/foo", true, true),
            ("**/foo", "bar/baz/foo", true, true),
            ("*/foo", "bar/baz/foo", true, false),
            ("**/bar*", "foo/bar/baz", true, false),
            ("**/bar/*", "deep/foo/bar/baz", true, true),
            ("**/bar/**", "deep/foo/bar/baz/", true, true),
            ("*.pp", "manifests/init.pp", true, false),
            ("[[:alpha:]][[:digit:]][[:upper:]]", "a1B", true, true),
            ("[[:digit:][:upper:][:space:]]", "1", true, true),
            ("[[:xdigit:]]", "5", true, true),
            ("[a-", "a", false, false),
            ("[[:nope:]]", "a", false, false),
            ("-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1", true, true),
            (
                "XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*",
                "XXX/adobe/courier/bold/o/normal//12/120/75/75/X/70/iso8859/1",
                false,
                false,
            ),
            ("**/*a*b*g*n*t", "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txt", true, true),
            ("*/*/*", "foo/bba/arr", true, true),
            ("*/*/*", "foo/bb/aa/rr", true, false),
            ("**/**/**", "foo/bb/aa/rr", true, true),
        ];
        for &(pattern, text, plain, pathname) in cases {
            assert_eq!(wildmatch(pattern.as_bytes(), text.as_bytes(), Mode::Plain), plain, "{pattern} {text}");
            assert_eq!(wildmatch(pattern.as_bytes(), text.as_bytes(), Mode::Pathname), pathname, "{pattern} {text} /");
        }
    }
}
