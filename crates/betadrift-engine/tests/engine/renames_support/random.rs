//! Random tree pairs aimed at the corners of rename detection: shared lines
//! and blocks, edits around the 50% threshold, repeated basenames, identical
//! contents, CRLF, binary-ish and empty blobs, symlinks and gitlinks.

use super::{Case, File, Rng, Tree};

const DIRS: &[&str] = &["", "a", "b", "a/c", "b/c", "d", "d/e/f", "manifests", "modules/x/manifests"];
const BASENAMES: &[&str] = &["init.pp", "params.pp", "f.txt", "g", "README", "x.rb", "y.rb", "z", "e"];

/// Per-seed shared material: lines that several files reuse.
struct Material {
    lines: Vec<Vec<u8>>,
}

impl Material {
    fn new(rng: &mut Rng) -> Self {
        let count = 8 + rng.below(40);
        let lines = (0..count).map(|_| random_line(rng)).collect();
        Self { lines }
    }
}

/// A line of printable bytes, sometimes longer than a 64-byte span.
fn random_line(rng: &mut Rng) -> Vec<u8> {
    let len = match rng.below(10) {
        0 => 0,
        1..=6 => 1 + rng.below(20),
        7 | 8 => 20 + rng.below(60),
        _ => 64 + rng.below(140),
    };
    let alphabet = b"abcdefghij klmnop{}();=$\"'";
    let mut line: Vec<u8> = (0..len).map(|_| *rng.pick(alphabet)).collect();
    line.push(b'\n');
    line
}

/// Fresh text content as a list of lines.
fn random_lines(rng: &mut Rng, material: &Material) -> Vec<Vec<u8>> {
    let max = if rng.chance(20) { 60 } else { 16 };
    let count = rng.below(max);
    (0..count).map(|_| if rng.chance(60) { rng.pick(&material.lines).clone() } else { random_line(rng) }).collect()
}

/// Applies a random number of line edits, from none to a full rewrite.
fn mutate(rng: &mut Rng, material: &Material, lines: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = lines.to_vec();
    let edits = rng.below(lines.len().max(1) + 2);
    for _ in 0..edits {
        let at = rng.below(out.len() + 1);
        match rng.below(3) {
            0 if at < out.len() => {
                out.remove(at);
            }
            1 if at < out.len() => out[at] = random_line(rng),
            _ => out.insert(at, rng.pick(&material.lines).clone()),
        }
    }
    out
}

/// Turns lines into bytes with optional CRLF, binary noise or no final LF.
fn render(rng: &mut Rng, lines: &[Vec<u8>]) -> Vec<u8> {
    let crlf = rng.below(10);
    let mut out = Vec::new();
    for line in lines {
        if (crlf == 0 || (crlf == 1 && rng.chance(50))) && line.ends_with(b"\n") {
            out.extend_from_slice(&line[..line.len() - 1]);
            out.extend_from_slice(b"\r\n");
        } else {
            out.extend_from_slice(line);
        }
    }
    if rng.chance(8) && !out.is_empty() {
        let at = rng.below(out.len());
        out.insert(at, 0);
    }
    if rng.chance(5) && rng.chance(50) {
        out.push(b'\r');
    }
    if rng.chance(10) {
        out.pop();
    }
    out
}

fn random_path(rng: &mut Rng) -> Vec<u8> {
    let dir = *rng.pick(DIRS);
    let base = *rng.pick(BASENAMES);
    if dir.is_empty() { base.as_bytes().to_vec() } else { format!("{dir}/{base}").into_bytes() }
}

/// Whether `path` can join `tree` (no same path, no file/directory clash).
fn fits(tree: &Tree, path: &[u8]) -> bool {
    let is_dir_of = |dir: &[u8], p: &[u8]| p.len() > dir.len() && p.starts_with(dir) && p[dir.len()] == b'/';
    !tree.keys().any(|q| q == path || is_dir_of(q, path) || is_dir_of(path, q))
}

/// Inserts at a random free path; gives up silently after a few tries.
fn insert_somewhere(rng: &mut Rng, tree: &mut Tree, avoid: &Tree, file: File) {
    for _ in 0..8 {
        let path = random_path(rng);
        if fits(tree, &path) && !avoid.contains_key(&path) {
            tree.insert(path, file);
            return;
        }
    }
}

/// A new file: mostly regular text, sometimes empty, a symlink or a gitlink.
fn random_file(rng: &mut Rng, material: &Material) -> File {
    match rng.below(100) {
        0..=4 => File { mode: 0o100644, content: Vec::new() },
        5..=8 => File { mode: 0o120000, content: random_line(rng).trim_ascii_end().to_vec() },
        9 => File { mode: 0o160000, content: format!("{:040x}", rng.next() as u128 * 7919).into_bytes() },
        n => {
            let lines = random_lines(rng, material);
            let mode = if n < 15 { 0o100755 } else { 0o100644 };
            File { mode, content: render(rng, &lines) }
        }
    }
}

/// Splits content back into lines (keeping terminators) for mutation.
fn lines_of(content: &[u8]) -> Vec<Vec<u8>> {
    content.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

/// A random case from its own seed (so any case can be replayed alone).
pub fn random_case(seed: u64) -> Case {
    let mut rng = Rng::new(seed);
    let material = Material::new(&mut rng);
    let mut case = Case::default();
    let max = if rng.chance(10) { 40 } else { 12 };
    let base_count = rng.below(max);
    for _ in 0..base_count {
        let file = random_file(&mut rng, &material);
        insert_somewhere(&mut rng, &mut case.old, &Tree::new(), file);
    }
    // Identical sources make scores tie, which exercises tie-breaking.
    for _ in 0..rng.below(4) {
        if case.old.is_empty() {
            break;
        }
        let twin = rng.pick(&case.old.values().cloned().collect::<Vec<_>>()).clone();
        let tree = &mut case.old;
        insert_somewhere(&mut rng, tree, &Tree::new(), twin);
    }
    let old = case.old.clone();
    for (path, file) in &old {
        match rng.below(10) {
            0 | 1 => {
                if fits(&case.new, path) {
                    case.new.insert(path.clone(), file.clone());
                }
            }
            2 if file.mode != 0o160000 => {
                let lines = mutate(&mut rng, &material, &lines_of(&file.content));
                let content = render(&mut rng, &lines);
                if fits(&case.new, path) {
                    case.new.insert(path.clone(), File { mode: file.mode, content });
                }
            }
            3 | 4 => {} // deleted
            _ => {
                let moved = derived_file(&mut rng, &material, file);
                insert_somewhere(&mut rng, &mut case.new, &case.old, moved);
                if rng.chance(15) {
                    let copy = derived_file(&mut rng, &material, file);
                    insert_somewhere(&mut rng, &mut case.new, &case.old, copy);
                }
            }
        }
    }
    for _ in 0..rng.below(4) {
        let file = random_file(&mut rng, &material);
        insert_somewhere(&mut rng, &mut case.new, &case.old, file);
    }
    case
}

/// A file that may be a rename of `file`: identical, re-moded or edited.
fn derived_file(rng: &mut Rng, material: &Material, file: &File) -> File {
    if file.mode != 0o100644 && file.mode != 0o100755 || rng.chance(30) {
        let mode = match (file.mode, rng.below(4)) {
            (0o100644, 0) => 0o100755,
            (0o100644, 1) => 0o120000,
            (mode, _) => mode,
        };
        return File { mode, content: file.content.clone() };
    }
    let lines = mutate(rng, material, &lines_of(&file.content));
    File { mode: file.mode, content: render(rng, &lines) }
}
