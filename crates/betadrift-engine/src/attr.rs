// Follows git's attr.c and the pattern matching of dir.c (GPL-2.0-only); see NOTICE.
//! gitattributes as git reads them: the files, their lines, their patterns
//! and the order in which they win.
//!
//! A path's attributes come from a stack of files, highest precedence
//! first: `$GIT_DIR/info/attributes`, the `.gitattributes` of the path's
//! directory, of each directory above it up to the top, the file named by
//! `core.attributesFile`, the system file, and git's built-in macro
//! `[attr]binary -diff -merge -text`. Within a file the last matching line
//! wins; for each attribute the first value found, in that order, is the
//! value (`fill`, `fill_one`), and a macro set on a path sets what it
//! stands for where nothing above has decided it (`macroexpand_one`).
//! Macros may be defined only in the top-level files (not in a
//! subdirectory's `.gitattributes`); the highest definition wins.
//!
//! Where the `.gitattributes` files come from is the caller's question:
//! [`Stack`] takes the repository's files as bytes and reads the in-tree
//! files from one tree (for a rebase: the tree of HEAD, see
//! `docs/engine.md`). A `.gitattributes` that is not a regular file is not
//! read, as git does not follow a symbolic link there.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use git2::Oid;

use crate::error::Result;
use crate::objects::{Kind, ObjectRead, kind_of};
use crate::wildmatch::{Mode, wildmatch};

/// git ignores a line this long or longer (`ATTR_MAX_LINE_LENGTH`).
const MAX_LINE_LENGTH: usize = 2048;
/// git ignores a file this large or larger (`ATTR_MAX_FILE_SIZE`).
pub const MAX_FILE_SIZE: usize = 100 * 1024 * 1024;
/// git's built-in attributes.
const BUILTIN: &[u8] = b"[attr]binary -diff -merge -text";
const BLANK: &[u8] = b" \t\r\n";

/// The value of an attribute for a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `attr`: set.
    Set,
    /// `-attr`: unset (git's `ATTR__FALSE`).
    Unset,
    /// `!attr`, or no line says anything: unspecified.
    Unspecified,
    /// `attr=value`.
    String(Vec<u8>),
}

/// One `attr`, `-attr`, `!attr` or `attr=value` of a line.
#[derive(Debug, Clone)]
struct State {
    name: Vec<u8>,
    value: Value,
}

/// A pattern as `parse_path_pattern` leaves it.
#[derive(Debug, Clone)]
struct Pattern {
    text: Vec<u8>,
    /// The length of the leading part without wildcards.
    nowildcard: usize,
    /// No slash in the pattern: matched against the basename.
    nodir: bool,
    /// `*literal`: a suffix test.
    endswith: bool,
    /// Ends with `/`: matches only directories, so never a file.
    mustbedir: bool,
}

#[derive(Debug, Clone)]
enum Line {
    Macro { name: Vec<u8>, states: Vec<State> },
    Match { pattern: Pattern, states: Vec<State> },
}

/// One parsed attributes file.
#[derive(Debug, Clone, Default)]
pub struct File {
    lines: Vec<Line>,
}

impl File {
    /// Parses a file's bytes as `read_attr_from_file` does (a UTF-8 byte
    /// order mark dropped, lines split at LF, each cut at a NUL); macro
    /// definitions are kept only when `macros_allowed`.
    pub fn parse(data: &[u8], macros_allowed: bool) -> File {
        if data.len() >= MAX_FILE_SIZE {
            return File::default();
        }
        let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
        let lines = data
            .split(|&b| b == b'\n')
            .map(|line| line.split(|&b| b == 0).next().unwrap_or(line))
            .filter_map(|line| parse_line(line, macros_allowed))
            .collect();
        File { lines }
    }
}

fn skip_blank(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| BLANK.contains(b)).count();
    &s[n..]
}

fn until_blank(s: &[u8]) -> usize {
    s.iter().position(|b| BLANK.contains(b)).unwrap_or(s.len())
}

/// `parse_attr_line`: `None` for blank lines, comments and lines git
/// rejects (a bad attribute name, a negative pattern, a macro where macros
/// are not allowed).
fn parse_line(line: &[u8], macros_allowed: bool) -> Option<Line> {
    let cp = skip_blank(line);
    if cp.is_empty() || cp[0] == b'#' || line.len() >= MAX_LINE_LENGTH {
        return None;
    }
    let (name, states): (Vec<u8>, &[u8]) = match unquote(cp) {
        Some((unquoted, rest)) => (unquoted, rest),
        None => (cp[..until_blank(cp)].to_vec(), &cp[until_blank(cp)..]),
    };
    let is_macro = name.len() > 6 && name.starts_with(b"[attr]");
    let states = parse_states(skip_blank(states))?;
    if is_macro {
        if !macros_allowed {
            return None;
        }
        let rest = skip_blank(&name[6..]);
        let macro_name = rest[..until_blank(rest)].to_vec();
        if !name_valid(&macro_name) {
            return None;
        }
        return Some(Line::Macro { name: macro_name, states });
    }
    if name.first() == Some(&b'!') {
        // "Negative patterns are ignored in git attributes".
        return None;
    }
    Some(Line::Match { pattern: parse_pattern(&name), states })
}

/// The attributes of a line (`parse_attr`, both passes): `None` when one
/// of them has an invalid name, which makes git drop the line.
fn parse_states(mut cp: &[u8]) -> Option<Vec<State>> {
    let mut states = Vec::new();
    while !cp.is_empty() {
        let end = until_blank(cp);
        let word = &cp[..end];
        let (key, value) = match word.iter().position(|&b| b == b'=') {
            Some(eq) => (&word[..eq], Some(&word[eq + 1..])),
            None => (word, None),
        };
        let (name, value) = match (key.first(), value) {
            (Some(b'-'), _) => (&key[1..], Value::Unset),
            (Some(b'!'), _) => (&key[1..], Value::Unspecified),
            (_, None) => (key, Value::Set),
            (_, Some(v)) => (key, Value::String(v.to_vec())),
        };
        if !name_valid(name) || name.starts_with(b"builtin_") {
            return None;
        }
        states.push(State { name: name.to_vec(), value });
        cp = skip_blank(&cp[end..]);
    }
    Some(states)
}

/// `attr_name_valid`: letters, digits, `-`, `.`, `_`, not starting with `-`.
fn name_valid(name: &[u8]) -> bool {
    !name.is_empty()
        && name[0] != b'-'
        && name.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
}

/// `unquote_c_style` of a pattern starting with `"`: the pattern and what
/// follows the closing quote, or `None` when it is not a valid C string.
fn unquote(s: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut rest = s.strip_prefix(b"\"")?;
    let mut out = Vec::new();
    loop {
        let (&c, tail) = rest.split_first()?;
        rest = tail;
        match c {
            b'"' => return Some((out, rest)),
            b'\\' => {
                let (&e, tail) = rest.split_first()?;
                rest = tail;
                out.push(match e {
                    b'a' => 7,
                    b'b' => 8,
                    b'f' => 12,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'v' => 11,
                    b'\\' | b'"' => e,
                    b'0'..=b'3' => {
                        let digits = rest.get(..2).filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)))?;
                        rest = &rest[2..];
                        ((e - b'0') << 6) | ((digits[0] - b'0') << 3) | (digits[1] - b'0')
                    }
                    _ => return None,
                });
            }
            _ => out.push(c),
        }
    }
}

/// `parse_path_pattern` (the caller has left out negative patterns).
fn parse_pattern(p: &[u8]) -> Pattern {
    let p = p.split(|&b| b == 0).next().unwrap_or(p);
    let mustbedir = p.last() == Some(&b'/');
    let text = if mustbedir { &p[..p.len() - 1] } else { p };
    let simple = |s: &[u8]| s.iter().position(|&c| matches!(c, b'*' | b'?' | b'[' | b'\\')).unwrap_or(s.len());
    Pattern {
        nodir: !text.contains(&b'/'),
        nowildcard: simple(p).min(text.len()),
        endswith: p.first() == Some(&b'*') && simple(&p[1..]) == p.len() - 1,
        mustbedir,
        text: text.to_vec(),
    }
}

impl Pattern {
    /// `path_matches` for a file (never a directory) at `path`, for a
    /// pattern from the `.gitattributes` of directory `base` ("" at the top).
    fn matches(&self, path: &[u8], base: &[u8]) -> bool {
        if self.mustbedir {
            return false;
        }
        if self.nodir {
            let basename = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
            return self.match_basename(basename);
        }
        self.match_pathname(path, base)
    }

    fn match_basename(&self, basename: &[u8]) -> bool {
        let pattern = &self.text;
        if self.nowildcard == pattern.len() {
            pattern[..] == *basename
        } else if self.endswith {
            basename.ends_with(&pattern[1..])
        } else {
            wildmatch(pattern, basename, Mode::Plain)
        }
    }

    fn match_pathname(&self, path: &[u8], base: &[u8]) -> bool {
        let (mut pattern, mut prefix) = (&self.text[..], self.nowildcard);
        if pattern.first() == Some(&b'/') {
            pattern = &pattern[1..];
            prefix = prefix.saturating_sub(1);
        }
        let name = if base.is_empty() {
            path
        } else {
            match path.strip_prefix(base).and_then(|rest| rest.strip_prefix(b"/")) {
                Some(name) => name,
                None => return false,
            }
        };
        if prefix > 0 {
            if prefix > name.len() || pattern[..prefix] != name[..prefix] {
                return false;
            }
            if pattern.len() == prefix && name.len() == prefix {
                return true;
            }
            return wildmatch(&pattern[prefix..], &name[prefix..], Mode::Pathname);
        }
        wildmatch(pattern, name, Mode::Pathname)
    }
}

/// The repository's own attributes files, as bytes (absent files empty).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `$GIT_DIR/info/attributes`.
    pub info: Vec<u8>,
    /// The file `core.attributesFile` names (or `~/.config/git/attributes`).
    pub global: Vec<u8>,
    /// The system file (`/etc/gitattributes`), unless `GIT_ATTR_NOSYSTEM`.
    pub system: Vec<u8>,
}

/// The parsed top-level files: what does not depend on the tree.
#[derive(Debug, Clone)]
pub struct Base {
    info: File,
    global: File,
    system: File,
    builtin: File,
}

impl Base {
    /// Parses the repository's files.
    pub fn new(sources: &Sources) -> Base {
        Base {
            info: File::parse(&sources.info, true),
            global: File::parse(&sources.global, true),
            system: File::parse(&sources.system, true),
            builtin: File::parse(BUILTIN, true),
        }
    }
}

/// Attributes of paths in one tree, the in-tree files read as needed.
#[derive(Debug)]
pub struct Stack<'b> {
    base: &'b Base,
    tree: Oid,
    /// Each directory's `.gitattributes` (empty when absent or not a file).
    dirs: RefCell<HashMap<Vec<u8>, Rc<File>>>,
}

impl<'b> Stack<'b> {
    /// The attributes of paths in `tree`, with the repository's `base`.
    pub fn new(base: &'b Base, tree: Oid) -> Stack<'b> {
        Stack { base, tree, dirs: RefCell::default() }
    }

    /// The values of `names` for the file at `path` (`git check-attr`).
    pub fn check<R: ObjectRead>(&self, objects: &R, path: &[u8], names: &[&[u8]]) -> Result<Vec<Value>> {
        let frames = self.frames(objects, path)?;
        let mut top: Vec<&File> = vec![&self.base.info];
        top.extend(frames.iter().rev().filter(|(dir, _)| dir.is_empty()).map(|(_, f)| &**f));
        top.extend([&self.base.global, &self.base.system, &self.base.builtin]);
        let macros = determine_macros(&top);
        let mut values: HashMap<&[u8], &Value> = HashMap::new();
        let ordered = std::iter::once((&b""[..], &self.base.info))
            .chain(frames.iter().rev().map(|(dir, f)| (&dir[..], &**f)))
            .chain([&self.base.global, &self.base.system, &self.base.builtin].map(|f| (&b""[..], f)));
        for (dir, file) in ordered {
            for line in file.lines.iter().rev() {
                if let Line::Match { pattern, states } = line
                    && pattern.matches(path, dir)
                {
                    fill_one(&mut values, states, &macros);
                }
            }
        }
        Ok(names.iter().map(|n| values.get(n).map_or(Value::Unspecified, |v| (*v).clone())).collect())
    }

    /// The in-tree files for `path`: its directories, the top first.
    fn frames<R: ObjectRead>(&self, objects: &R, path: &[u8]) -> Result<Vec<(Vec<u8>, Rc<File>)>> {
        let mut frames = Vec::new();
        let mut dir = Vec::new();
        let components: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
        for (i, component) in components.iter().enumerate() {
            let file = self.dir_file(objects, &dir)?;
            frames.push((dir.clone(), file));
            if i + 1 == components.len() {
                break;
            }
            if !dir.is_empty() {
                dir.push(b'/');
            }
            dir.extend_from_slice(component);
        }
        Ok(frames)
    }

    /// The `.gitattributes` of directory `dir` of the tree, parsed once.
    fn dir_file<R: ObjectRead>(&self, objects: &R, dir: &[u8]) -> Result<Rc<File>> {
        if let Some(file) = self.dirs.borrow().get(dir) {
            return Ok(Rc::clone(file));
        }
        let mut path = dir.to_vec();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(b".gitattributes");
        let file = match entry_at(objects, self.tree, &path)? {
            Some((mode, oid)) if kind_of(mode) == Kind::File => File::parse(&objects.blob(oid)?, dir.is_empty()),
            _ => File::default(),
        };
        let file = Rc::new(file);
        self.dirs.borrow_mut().insert(dir.to_vec(), Rc::clone(&file));
        Ok(file)
    }
}

/// The mode and id at `path` in `tree`, if there is an entry.
fn entry_at<R: ObjectRead>(objects: &R, tree: Oid, path: &[u8]) -> Result<Option<(u32, Oid)>> {
    let mut current = tree;
    let mut components = path.split(|&b| b == b'/').peekable();
    while let Some(name) = components.next() {
        let tree = objects.tree(current)?;
        let Some(entry) = tree.get(name) else { return Ok(None) };
        if components.peek().is_none() {
            return Ok(Some((entry.mode, entry.oid())));
        }
        if !entry.is_tree() {
            return Ok(None);
        }
        current = entry.oid();
    }
    Ok(None)
}

/// `determine_macros`: each macro's highest definition.
fn determine_macros<'f>(files: &[&'f File]) -> HashMap<&'f [u8], &'f [State]> {
    let mut macros = HashMap::new();
    for file in files {
        for line in file.lines.iter().rev() {
            if let Line::Macro { name, states } = line {
                macros.entry(&name[..]).or_insert(&states[..]);
            }
        }
    }
    macros
}

/// `fill_one`: the line's attributes, last first, where nothing above has
/// decided them; a macro set here sets what it stands for (`macroexpand_one`).
fn fill_one<'f>(
    values: &mut HashMap<&'f [u8], &'f Value>,
    states: &'f [State],
    macros: &HashMap<&'f [u8], &'f [State]>,
) {
    for state in states.iter().rev() {
        if values.contains_key(&state.name[..]) {
            continue;
        }
        values.insert(&state.name, &state.value);
        if state.value == Value::Set
            && let Some(expansion) = macros.get(&state.name[..])
        {
            fill_one(values, expansion, macros);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{File, Line, Value, parse_pattern};

    fn matches(pattern: &str, path: &str, base: &str) -> bool {
        parse_pattern(pattern.as_bytes()).matches(path.as_bytes(), base.as_bytes())
    }

    #[test]
    fn patterns_match_as_in_git() {
        assert!(matches("*.bin", "a/b/c.bin", ""));
        assert!(matches("c.bin", "a/b/c.bin", "a"));
        assert!(!matches("b/c.bin", "a/b/c.bin", ""));
        assert!(matches("b/c.bin", "a/b/c.bin", "a"));
        assert!(matches("/a/*/c.bin", "a/b/c.bin", ""));
        assert!(!matches("a/*", "a/b/c.bin", ""));
        assert!(matches("a/**", "a/b/c.bin", ""));
        assert!(!matches("a/", "a", ""));
        // A pattern without a slash matches basenames (its file's directory
        // is already known to hold the path).
        assert!(matches("*", "sub/x", "sub") && matches("x", "sub/y/x", "sub"));
    }

    #[test]
    fn lines_parse_as_in_git() {
        let file = File::parse(
            b"\xef\xbb\xbf*.bin binary\n# c\n!neg merge\n*.x -merge !diff a=b\n[attr]m merge=union\nbad na\xffme\n",
            true,
        );
        assert_eq!(file.lines.len(), 3);
        let Line::Match { states, .. } = &file.lines[1] else { panic!("a match line") };
        assert_eq!(states[0].value, Value::Unset);
        assert_eq!(states[1].value, Value::Unspecified);
        assert_eq!(states[2].value, Value::String(b"b".to_vec()));
        assert!(File::parse(b"[attr]m merge=union\n", false).lines.is_empty());
        let quoted = File::parse(b"\"a b.txt\" merge=union\n", true);
        let Line::Match { pattern, .. } = &quoted.lines[0] else { panic!("a match line") };
        assert_eq!(pattern.text, b"a b.txt");
    }
}
