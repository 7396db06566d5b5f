//! The layers of `crates/betadrift/src`, checked on its source text.
//!
//! The CLI's top-level modules form layers (ARCHITECTURE.md): each may
//! import its own layer and those below it, never one above, so the graph of
//! top-level modules has no cycle. The compiler enforces neither, so this
//! file does. It lexes every source file (comments, doc comments and string
//! literals dropped), finds each path into another top-level module, and
//! checks the paths against [`LAYERS`]. A path is:
//!
//! - `crate::model::stack::Patch`, in a `use` line or inline in code (also
//!   `$crate::` in macros and `pub use` re-exports);
//! - each item of a grouped use, `use crate::{git::repo::Repo, model}`, over
//!   as many lines as it takes;
//! - a `super::` chain that climbs to the crate root;
//! - in `lib.rs` only, a bare module path such as `commands::sync::run`;
//! - in `main.rs` (the binary crate), `betadrift::…`.
//!
//! `crate::X` where `X` is not a top-level module is an item of the crate
//! root (`crate::Outcome`, `crate::stdout_error`) and counts as an import of
//! `lib`, the top layer. `mod x;` declarations are not imports.
//!
//! `#[cfg(test)]` code is included: a module's unit tests are compiled with
//! it and obey its layer. A test that needs a higher layer (a scenario
//! fixture, a whole command) belongs in this test binary, which the layers do
//! not constrain.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// The top-level modules of `crates/betadrift/src`, lowest layer first. A
/// module may import the modules of its own row and of the rows above it.
/// `lib` is `lib.rs` (the crate root: `run`, `Outcome`), `main` is `main.rs`.
const LAYERS: &[&[&str]] = &[
    &["error"],
    &["support"],
    &["config"],
    &["git"],
    &["model"],
    &["scenario"],
    &["consent"],
    &["rebase"],
    &["rewrite"],
    &["overview"],
    &["output"],
    &["commands"],
    &["lib", "main"],
];

/// Modules that only the listed modules may import, whatever their layers.
/// The scenario builder makes fixture repositories: the demo command and the
/// tests use it, nothing else.
const ONLY_IMPORTED_BY: &[(&str, &[&str])] = &[("scenario", &["commands", "lib", "main"])];

/// The module that stands for the crate root's own items.
const ROOT: &str = "lib";

// ---------------------------------------------------------------------------
// Lexing: identifiers, `::` and punctuation; comments and literals dropped.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

/// Splits Rust source into tokens, dropping whitespace, comments (doc
/// comments included), string, byte-string, raw-string and char literals,
/// lifetimes' quotes and numbers.
fn lex(src: &str) -> Vec<Token> {
    let s: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < s.len() {
        let at = line;
        let next = s.get(i + 1).copied();
        match s[i] {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '/' if next == Some('/') => {
                while i < s.len() && s[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => i = skip_block_comment(&s, i, &mut line),
            '"' => i = skip_string(&s, i + 1, &mut line),
            '\'' => i = skip_char_or_lifetime(&s, i),
            ':' if next == Some(':') => {
                out.push(Token { tok: Tok::PathSep, line: at });
                i += 2;
            }
            c if c.is_ascii_digit() => {
                while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_') {
                    i += 1;
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                if let Some(end) = skip_prefixed_literal(&s, i, &mut line) {
                    i = end;
                    continue;
                }
                let start = if c == 'r' && next == Some('#') { i + 2 } else { i };
                let mut end = start;
                while end < s.len() && (s[end].is_alphanumeric() || s[end] == '_') {
                    end += 1;
                }
                out.push(Token { tok: Tok::Ident(s[start..end].iter().collect()), line: at });
                i = end;
            }
            c => {
                out.push(Token { tok: Tok::Punct(c), line: at });
                i += 1;
            }
        }
    }
    out
}

/// Skips a (nested) block comment starting at `i`; returns the index after it.
fn skip_block_comment(s: &[char], mut i: usize, line: &mut usize) -> usize {
    let mut depth = 0;
    while i < s.len() {
        match (s[i], s.get(i + 1).copied()) {
            ('/', Some('*')) => {
                depth += 1;
                i += 2;
            }
            ('*', Some('/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            (c, _) => {
                *line += usize::from(c == '\n');
                i += 1;
            }
        }
    }
    i
}

/// Skips an escaped string's body from `i` (just after the opening quote).
fn skip_string(s: &[char], mut i: usize, line: &mut usize) -> usize {
    while i < s.len() {
        match s[i] {
            '\\' => {
                *line += usize::from(s.get(i + 1) == Some(&'\n'));
                i += 2;
            }
            '"' => return i + 1,
            c => {
                *line += usize::from(c == '\n');
                i += 1;
            }
        }
    }
    i
}

/// Skips a raw string's body from `i` (just after the opening quote) up to a
/// quote followed by `hashes` `#`s.
fn skip_raw_string(s: &[char], mut i: usize, hashes: usize, line: &mut usize) -> usize {
    while i < s.len() {
        if s[i] == '"' && (1..=hashes).all(|k| s.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        *line += usize::from(s[i] == '\n');
        i += 1;
    }
    i
}

/// Skips `'x'`, `'\n'`, `'\u{..}'`, or only the quote of a lifetime or label.
fn skip_char_or_lifetime(s: &[char], i: usize) -> usize {
    if s.get(i + 1) == Some(&'\\') {
        let mut j = i + 3;
        while j < s.len() && s[j] != '\'' {
            j += 1;
        }
        j + 1
    } else if s.get(i + 2) == Some(&'\'') {
        i + 3
    } else {
        i + 1
    }
}

/// Skips a literal with a letter prefix (`b"…"`, `b'x'`, `c"…"`, `r"…"`,
/// `r#"…"#`, `br#"…"#`, `cr"…"`) starting at `i`, if there is one there.
fn skip_prefixed_literal(s: &[char], i: usize, line: &mut usize) -> Option<usize> {
    let mut j = i;
    if matches!(s[j], 'b' | 'c') {
        if s[j] == 'b' && s.get(j + 1) == Some(&'\'') {
            return Some(skip_char_or_lifetime(s, j + 1));
        }
        j += 1;
    }
    if s.get(j) == Some(&'r') {
        let mut hashes = 0;
        while s.get(j + 1 + hashes) == Some(&'#') {
            hashes += 1;
        }
        return (s.get(j + 1 + hashes) == Some(&'"')).then(|| skip_raw_string(s, j + 2 + hashes, hashes, line));
    }
    (j > i && s.get(j) == Some(&'"')).then(|| skip_string(s, j + 1, line))
}

// ---------------------------------------------------------------------------
// References: which top-level module each path names.

/// One path from a file into another top-level module.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Ref {
    /// The file, relative to `src/`, with `/` separators.
    file: String,
    line: usize,
    /// The file's top-level module.
    from: String,
    /// The top-level module named, or [`ROOT`] for an item of the crate root.
    to: String,
    /// The root's first segment as written (`overview`, `Outcome`).
    item: String,
    /// The path as written, up to its first group (`crate::model::{…}`).
    text: String,
}

/// A source file's top-level module: `lib.rs` → `lib`, `git/repo.rs` → `git`.
fn top_module(file: &str) -> &str {
    let first = file.split('/').next().unwrap_or(file);
    first.strip_suffix(".rs").unwrap_or(first)
}

/// The module path a file defines: `git/repo.rs` → `[git, repo]`,
/// `git/mod.rs` → `[git]`, `lib.rs` → `[]`.
fn module_path(file: &str) -> Vec<String> {
    if file == "lib.rs" || file == "main.rs" {
        return Vec::new();
    }
    let mut parts: Vec<String> = file.split('/').map(|p| p.strip_suffix(".rs").unwrap_or(p).to_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Every reference in one file to another top-level module of `modules`.
/// `root` is the keyword that names the library's root here: `crate`, or
/// `betadrift` from the binary crate (`main.rs`) or from another crate.
fn references(file: &str, src: &str, modules: &BTreeSet<String>, root: &str) -> Vec<Ref> {
    let toks = lex(src);
    let from = top_module(file).to_owned();
    let base = module_path(file);
    let is_lib_root = file == "lib.rs" && root == "crate";
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut depth = 0;
    let mut refs = Vec::new();
    for i in 0..toks.len() {
        match &toks[i].tok {
            Tok::Punct('{') => {
                depth += 1;
                if let (Some(Tok::Ident(kw)), Some(Tok::Ident(name))) = (tok(&toks, i, -2), tok(&toks, i, -1))
                    && kw == "mod"
                {
                    inline.push((depth, name.clone()));
                }
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(d, _)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(_) if starts_path(&toks, i) => {
                let current: Vec<&str> = base.iter().chain(inline.iter().map(|(_, m)| m)).map(String::as_str).collect();
                let bare = is_lib_root && inline.is_empty();
                if let Some(at) = after_root(&toks, i, &current, root, bare, modules) {
                    for (item, line, text) in root_items(&toks, i, at) {
                        let to = if modules.contains(&item) { item.clone() } else { ROOT.to_owned() };
                        if to != from {
                            refs.push(Ref { file: file.to_owned(), line, from: from.clone(), to, item, text });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    refs
}

/// The token `offset` places from `i`, if any.
fn tok(toks: &[Token], i: usize, offset: isize) -> Option<&Tok> {
    toks.get(i.checked_add_signed(offset)?).map(|t| &t.tok)
}

/// Whether an identifier at `i` begins a path: `ident ::`, not after `::`.
fn starts_path(toks: &[Token], i: usize) -> bool {
    tok(toks, i, 1) == Some(&Tok::PathSep) && tok(toks, i, -1) != Some(&Tok::PathSep)
}

/// If the path at `i` starts at the crate root, the index of its first
/// segment below the root (a name, a `{` group or `*`).
fn after_root(
    toks: &[Token],
    i: usize,
    current: &[&str],
    root: &str,
    bare: bool,
    modules: &BTreeSet<String>,
) -> Option<usize> {
    let Tok::Ident(first) = &toks[i].tok else { return None };
    if first == root {
        return Some(i + 2);
    }
    if first == "super" {
        let mut j = i;
        while tok(toks, j, 0) == Some(&Tok::Ident("super".into())) && tok(toks, j, 1) == Some(&Tok::PathSep) {
            j += 2;
        }
        return ((j - i) / 2 == current.len()).then_some(j);
    }
    (bare && modules.contains(first)).then_some(i)
}

/// The crate-root items a path names: `(first segment, line, path as written)`
/// for each, with `start` the path's first token and `at` the first segment
/// below the root.
fn root_items(toks: &[Token], start: usize, at: usize) -> Vec<(String, usize, String)> {
    let prefix = render(toks, start, at);
    match tok(toks, at, 0) {
        Some(Tok::Ident(name)) => vec![(name.clone(), toks[at].line, prefix + &render_path(toks, at))],
        Some(Tok::Punct('*')) => vec![(ROOT.to_owned(), toks[at].line, prefix + "*")],
        Some(Tok::Punct('{')) => {
            let mut items = Vec::new();
            let mut depth = 0;
            let mut item_start = true;
            for j in at + 1..toks.len() {
                match &toks[j].tok {
                    Tok::Punct('{') => depth += 1,
                    Tok::Punct('}') if depth == 0 => break,
                    Tok::Punct('}') => depth -= 1,
                    Tok::Punct(',') if depth == 0 => {
                        item_start = true;
                        continue;
                    }
                    Tok::Ident(name) if item_start && name != "self" => {
                        items.push((name.clone(), toks[j].line, format!("{prefix}{{{}}}", render_path(toks, j))));
                    }
                    _ => {}
                }
                item_start = false;
            }
            items
        }
        _ => Vec::new(),
    }
}

/// The tokens `start..end` as text (a path's prefix, such as `crate::`).
fn render(toks: &[Token], start: usize, end: usize) -> String {
    toks[start..end]
        .iter()
        .map(|t| match &t.tok {
            Tok::Ident(s) => s.clone(),
            Tok::PathSep => "::".to_owned(),
            Tok::Punct(c) => c.to_string(),
        })
        .collect()
}

/// A path from `i` as text, up to its end or its first group (`a::b::{…}`).
fn render_path(toks: &[Token], i: usize) -> String {
    let mut end = i;
    while let Some(Tok::Ident(_) | Tok::PathSep) = tok(toks, end, 0) {
        end += 1;
    }
    let tail = match tok(toks, end, 0) {
        Some(Tok::Punct('{')) if end > i && tok(toks, end, -1) == Some(&Tok::PathSep) => "{…}",
        Some(Tok::Punct('*')) if end > i && tok(toks, end, -1) == Some(&Tok::PathSep) => "*",
        _ => "",
    };
    render(toks, i, end) + tail
}

// ---------------------------------------------------------------------------
// Checks.

/// The top-level modules that a set of files (paths relative to `src/`) has,
/// with `lib` and `main` for the crate roots.
fn modules_of<'a>(files: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    files.into_iter().map(|f| top_module(f).to_owned()).collect()
}

/// Every reference between top-level modules in the given files.
fn scan(files: &[(String, String)]) -> Vec<Ref> {
    let modules = modules_of(files.iter().map(|(f, _)| f.as_str()));
    let mut refs: Vec<Ref> = files
        .iter()
        .flat_map(|(file, src)| {
            let root = if file == "main.rs" { "betadrift" } else { "crate" };
            references(file, src, &modules, root)
        })
        .collect();
    refs.sort();
    refs
}

/// A module's row in [`LAYERS`].
fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|row| row.contains(&module))
}

/// One line per reference that goes up a layer or into a module reserved
/// to others, or that involves a module missing from [`LAYERS`].
fn layer_violations(refs: &[Ref]) -> Vec<String> {
    let mut out = Vec::new();
    for r in refs {
        let head = format!("{}:{} imports crate::{}", r.file, r.line, r.item);
        let why = match (layer(&r.from), layer(&r.to)) {
            (None, _) => Some(format!("{} is not in LAYERS", r.from)),
            (_, None) => Some(format!("{} is not in LAYERS", r.to)),
            (Some(from), Some(to)) if to > from => Some(format!("{} is above {}", r.to, r.from)),
            _ => ONLY_IMPORTED_BY
                .iter()
                .find(|(m, allowed)| *m == r.to && !allowed.contains(&r.from.as_str()))
                .map(|(m, allowed)| format!("{m} may be imported only by {}", allowed.join(", "))),
        };
        if let Some(why) = why {
            out.push(format!("{head} ({why}): {}", r.text));
        }
    }
    out
}

/// Every cycle between top-level modules, each once (the shortest through
/// its first edge), as the modules and the reference that makes each step.
fn cycles(refs: &[Ref]) -> Vec<String> {
    let mut edges: BTreeMap<&str, BTreeMap<&str, &Ref>> = BTreeMap::new();
    for r in refs {
        edges.entry(r.from.as_str()).or_default().entry(r.to.as_str()).or_insert(r);
    }
    let mut seen: BTreeSet<Vec<&str>> = BTreeSet::new();
    let mut out = Vec::new();
    for (&from, tos) in &edges {
        for (&to, &first) in tos {
            let Some(back) = shortest_path(&edges, to, from) else { continue };
            let mut nodes: Vec<&str> = std::iter::once(from).chain(back.iter().map(|r| r.from.as_str())).collect();
            nodes.sort_unstable();
            if !seen.insert(nodes) {
                continue;
            }
            let steps: Vec<&Ref> = std::iter::once(first).chain(back).collect();
            let names: Vec<&str> = std::iter::once(from).chain(steps.iter().map(|r| r.to.as_str())).collect();
            let lines = steps.iter().map(|r| format!("\n    {}:{} {} -> {}: {}", r.file, r.line, r.from, r.to, r.text));
            out.push(format!("cycle {}:{}", names.join(" -> "), lines.collect::<String>()));
        }
    }
    out
}

/// The references along a shortest path from module `a` to module `b`.
fn shortest_path<'a>(edges: &BTreeMap<&str, BTreeMap<&str, &'a Ref>>, a: &str, b: &str) -> Option<Vec<&'a Ref>> {
    let mut came_by: BTreeMap<&str, &Ref> = BTreeMap::new();
    let mut queue = VecDeque::from([a]);
    let mut visited = BTreeSet::from([a]);
    while let Some(node) = queue.pop_front() {
        if node == b {
            let mut path = Vec::new();
            let mut at = b;
            while at != a {
                let r = came_by[at];
                path.push(r);
                at = r.from.as_str();
            }
            path.reverse();
            return Some(path);
        }
        for (&next, &r) in edges.get(node).into_iter().flatten() {
            if visited.insert(next) {
                came_by.insert(next, r);
                queue.push_back(next);
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// The real tree.

/// Every `.rs` file under `dir`, as (path relative to `dir`, contents), sorted.
fn read_tree(dir: &Path) -> Vec<(String, String)> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            if path.is_dir() {
                walk(&path, &rel, out);
            } else if rel.ends_with(".rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.push((rel, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.sort();
    out
}

fn cli_src() -> Vec<(String, String)> {
    read_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn every_module_is_in_the_layers_table() {
    let files = cli_src();
    let modules = modules_of(files.iter().map(|(f, _)| f.as_str()));
    let listed: BTreeSet<String> = LAYERS.iter().flat_map(|row| row.iter()).map(|m| m.to_string()).collect();
    assert_eq!(modules, listed, "the top-level modules of src/ and the LAYERS table differ");
}

#[test]
fn the_scan_sees_the_real_tree() {
    let refs = scan(&cli_src());
    assert!(refs.len() >= 50, "only {} references found: is the scanner blind?", refs.len());
    assert!(
        refs.iter().any(|r| r.file == "lib.rs" && r.to == "commands"),
        "lib.rs dispatches to commands, yet no reference from lib.rs to commands was found"
    );
}

#[test]
fn top_level_modules_form_no_cycle() {
    let found = cycles(&scan(&cli_src()));
    assert!(found.is_empty(), "{} import cycles between top-level modules:\n{}", found.len(), found.join("\n"));
}

#[test]
fn every_import_goes_down_the_layers() {
    let found = layer_violations(&scan(&cli_src()));
    assert!(found.is_empty(), "{} layer violations:\n{}", found.len(), found.join("\n"));
}

#[test]
fn the_engine_imports_nothing_of_the_cli() {
    let engine = Path::new(env!("CARGO_MANIFEST_DIR")).join("../betadrift-engine/src");
    let files = read_tree(&engine);
    assert!(files.len() >= 10, "{} holds only {} files", engine.display(), files.len());
    let found: Vec<String> = files.iter().flat_map(|(file, src)| cli_mentions(file, src)).collect();
    assert!(found.is_empty(), "the engine names the CLI crate:\n{}", found.join("\n"));
}

/// Every use of the identifier `betadrift` (the CLI crate) outside comments
/// and literals: `betadrift::…`, `use betadrift::{…}`, `extern crate betadrift`.
fn cli_mentions(file: &str, src: &str) -> Vec<String> {
    lex(src).iter().filter(|t| t.tok == Tok::Ident("betadrift".into())).map(|t| format!("{file}:{}", t.line)).collect()
}

// ---------------------------------------------------------------------------
// The checker itself, on small inputs.

mod checker {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(f, s)| (f.to_string(), s.to_string())).collect()
    }

    /// The references as `file:line from->to text`.
    fn found(list: &[(&str, &str)]) -> Vec<String> {
        scan(&files(list)).iter().map(|r| format!("{}:{} {}->{} {}", r.file, r.line, r.from, r.to, r.text)).collect()
    }

    const MODULES: &[(&str, &str)] =
        &[("lib.rs", ""), ("git/mod.rs", ""), ("model/mod.rs", ""), ("support/mod.rs", ""), ("overview.rs", "")];

    fn with(file: &str, src: &str) -> Vec<String> {
        let mut list = MODULES.to_vec();
        list.push((file, src));
        found(&list)
    }

    #[test]
    fn a_use_line_and_an_inline_path() {
        let src = "use crate::git::repo::Repo;\nfn f() { let _ = crate::model::stack::Patch::new(); }\n";
        assert_eq!(
            with("overview.rs", src),
            [
                "overview.rs:1 overview->git crate::git::repo::Repo",
                "overview.rs:2 overview->model crate::model::stack::Patch::new"
            ]
        );
    }

    #[test]
    fn a_grouped_multi_line_use() {
        let src =
            "use crate::{\n    git::repo::{Repo, Upstream},\n    model,\n    self,\n    support::clock::Clock,\n};\n";
        assert_eq!(
            with("overview.rs", src),
            [
                "overview.rs:2 overview->git crate::{git::repo::{…}}",
                "overview.rs:3 overview->model crate::{model}",
                "overview.rs:5 overview->support crate::{support::clock::Clock}",
            ]
        );
    }

    #[test]
    fn comments_doc_comments_and_literals_are_ignored() {
        let src = concat!(
            "// crate::git\n",
            "/// [`crate::model::stack::Patch`]\n",
            "//! crate::support\n",
            "/* crate::git /* nested */ crate::model */\n",
            "const A: &str = \"crate::git \\\" crate::model\";\n",
            "const B: &str = r#\"crate::git \"# ;\n",
            "const C: &[u8] = b\"crate::model\";\n",
            "const D: char = '\"'; fn f<'a>(x: &'a str) {}\n",
            "use crate::support::clock;\n",
        );
        assert_eq!(with("overview.rs", src), ["overview.rs:9 overview->support crate::support::clock"]);
    }

    #[test]
    fn super_paths_count_only_when_they_reach_the_root() {
        let src = "use super::repo::Repo;\nmod tests { use super::*; use super::super::super::model::Stack; }\n";
        assert_eq!(with("git/write.rs", src), ["git/write.rs:2 git->model super::super::super::model::Stack"]);
    }

    #[test]
    fn visibility_and_mod_declarations_are_not_imports() {
        let src = "pub(super) fn a() {}\npub(crate) fn b() {}\nmod model;\n";
        assert!(with("git/write.rs", src).is_empty());
    }

    #[test]
    fn lib_rs_bare_paths_and_root_items() {
        let list = [
            ("lib.rs", "pub mod model;\nuse model::Stack;\npub enum Outcome {}\nfn f() { std::mem::drop(()); }\n"),
            ("model/mod.rs", "fn f() -> crate::Outcome { todo!() }\nmacro_rules! m { () => { $crate::Outcome } }\n"),
        ];
        assert_eq!(
            found(&list),
            [
                "lib.rs:2 lib->model model::Stack",
                "model/mod.rs:1 model->lib crate::Outcome",
                "model/mod.rs:2 model->lib crate::Outcome"
            ]
        );
    }

    #[test]
    fn main_rs_names_the_library_by_its_crate_name() {
        let list =
            [("lib.rs", ""), ("commands/mod.rs", ""), ("main.rs", "fn main() { betadrift::commands::Cli::parse(); }")];
        assert_eq!(found(&list), ["main.rs:1 main->commands betadrift::commands::Cli::parse"]);
    }

    #[test]
    fn a_planted_cycle_is_found_with_its_files() {
        let list = [
            ("git/repo.rs", "use crate::model::Stack;"),
            ("model/stack.rs", "use crate::overview::Status;"),
            ("overview.rs", "\n\nfn f(r: crate::git::repo::Repo) {}"),
            ("support/mod.rs", "use crate::git;"),
        ];
        let found = cycles(&scan(&files(&list)));
        assert_eq!(
            found,
            [concat!(
                "cycle git -> model -> overview -> git:\n",
                "    git/repo.rs:1 git -> model: crate::model::Stack\n",
                "    model/stack.rs:1 model -> overview: crate::overview::Status\n",
                "    overview.rs:3 overview -> git: crate::git::repo::Repo"
            )]
        );
    }

    #[test]
    fn no_cycle_in_a_layered_tree() {
        let list = [
            ("model/stack.rs", "use crate::git::repo::Repo;"),
            ("git/repo.rs", "use crate::support::x;"),
            ("support/mod.rs", ""),
        ];
        assert!(cycles(&scan(&files(&list))).is_empty());
    }

    #[test]
    fn an_upward_import_is_named() {
        let list =
            [("model/stack.rs", "use crate::overview::status::Status;"), ("overview/mod.rs", ""), ("git/mod.rs", "")];
        assert_eq!(
            layer_violations(&scan(&files(&list))),
            ["model/stack.rs:1 imports crate::overview (overview is above model): crate::overview::status::Status"]
        );
    }

    #[test]
    fn reserved_and_unknown_modules_are_named() {
        let list = [
            ("consent/mod.rs", "use crate::scenario::Scenario;\nuse crate::plugins::X;"),
            ("scenario/mod.rs", ""),
            ("plugins.rs", ""),
            ("commands/demo.rs", "use crate::scenario::build;"),
        ];
        assert_eq!(
            layer_violations(&scan(&files(&list))),
            [
                "consent/mod.rs:1 imports crate::scenario (scenario may be imported only by commands, lib, main): crate::scenario::Scenario",
                "consent/mod.rs:2 imports crate::plugins (plugins is not in LAYERS): crate::plugins::X",
            ]
        );
    }

    #[test]
    fn the_engine_check_sees_paths_not_comments() {
        let src = "// betadrift::model\nuse betadrift::{model};\nfn f() -> betadrift_engine::Error { todo!() }";
        assert_eq!(cli_mentions("lib.rs", src), ["lib.rs:2"]);
    }
}
