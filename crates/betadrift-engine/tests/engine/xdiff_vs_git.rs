//! Differential tests: `betadrift_engine::xdiff` against git 2.47 itself.
//!
//! Every check runs the real git (`/usr/local/bin/git`, or `$BETADRIFT_GIT`)
//! hermetically and compares byte for byte:
//!
//! * [`xdiff::diff`] with the hunks of `git diff --no-index -U0
//!   --no-indent-heuristic --diff-algorithm=<alg>`, for all four algorithms;
//! * [`xdiff::unified`] with the same command at `-U3` (and `-U1`, `-U10`);
//! * [`xdiff::merge`] at [`MergeLevel::ZealousAlnum`] with `git merge-file
//!   -p` (random algorithm, conflict style, marker size and favour);
//! * [`xdiff::merge`] with the default (rebase) options with `git merge-tree
//!   --write-tree`: the set of conflicted paths and every resulting blob.
//!
//! Inputs come from hand-written cases for each known pitfall and from a
//! seeded generator of nasty files. `BETADRIFT_XDIFF_CASES=N` sets the
//! number of random diff and merge cases (default 2,000 and 1,000),
//! `BETADRIFT_XDIFF_SEED` the base seed. A failure prints the inputs as byte
//! string literals, ready to become a regression case below.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use betadrift_engine::xdiff::{self, Algorithm, ConflictStyle, Favor, MergeLevel, MergeOptions, MergeResult};

const ALGORITHMS: [Algorithm; 4] = [Algorithm::Myers, Algorithm::Minimal, Algorithm::Histogram, Algorithm::Patience];

fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Myers => "myers",
        Algorithm::Minimal => "minimal",
        Algorithm::Histogram => "histogram",
        Algorithm::Patience => "patience",
    }
}

// ---------------------------------------------------------------------------
// Running git
// ---------------------------------------------------------------------------

/// The oracle: a git binary run with no user or system configuration.
struct Git {
    program: PathBuf,
    home: tempfile::TempDir,
}

impl Git {
    fn new() -> Self {
        let program =
            std::env::var_os("BETADRIFT_GIT").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/local/bin/git"));
        assert!(program.exists(), "git 2.47 not found at {}; set BETADRIFT_GIT", program.display());
        Git { program, home: tempfile::tempdir().expect("temporary HOME") }
    }

    /// Runs git in `dir`; the exit status is left to the caller.
    fn run(&self, dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_ATTR_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawning git");
        let writer = stdin.map(|input| {
            let mut pipe = child.stdin.take().expect("piped stdin");
            let input = input.to_vec();
            std::thread::spawn(move || pipe.write_all(&input))
        });
        let output = child.wait_with_output().expect("waiting for git");
        if let Some(writer) = writer {
            writer.join().expect("stdin writer").expect("writing to git");
        }
        output
    }

    /// Runs git and insists on an exit status from `allowed`.
    fn run_ok(&self, dir: &Path, args: &[&str], stdin: Option<&[u8]>, allowed: &[i32]) -> Output {
        let output = self.run(dir, args, stdin);
        let code = output.status.code().unwrap_or(-1);
        assert!(
            allowed.contains(&code),
            "git {args:?} exited with {code}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

// ---------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------

/// Collects mismatches and fails the test at the end with the first few.
#[derive(Default)]
struct Failures {
    count: usize,
    report: String,
}

impl Failures {
    fn add(&mut self, what: &str, inputs: &[(&str, &[u8])], expected: &str, actual: &str) {
        self.count += 1;
        if self.count > 3 {
            return;
        }
        writeln!(self.report, "--- {what}").unwrap();
        for (name, data) in inputs {
            writeln!(self.report, "{name}: {}", literal(data)).unwrap();
        }
        writeln!(self.report, "git:  {expected}\nours: {actual}").unwrap();
    }

    fn check(self, total: usize) {
        assert!(self.count == 0, "{} of {total} checks differ from git:\n{}", self.count, self.report);
    }
}

/// Formats bytes as a Rust byte string literal.
fn literal(data: &[u8]) -> String {
    let mut text = String::from("b\"");
    for &byte in data {
        match byte {
            b'\n' => text.push_str("\\n"),
            b'\r' => text.push_str("\\r"),
            b'\t' => text.push_str("\\t"),
            b'"' => text.push_str("\\\""),
            b'\\' => text.push_str("\\\\"),
            0x20..=0x7e => text.push(byte as char),
            _ => write!(text, "\\x{byte:02x}").unwrap(),
        }
    }
    text.push('"');
    text
}

fn show(data: &[u8]) -> String {
    literal(data)
}

// ---------------------------------------------------------------------------
// Diff oracle: git diff --no-index on two directories
// ---------------------------------------------------------------------------

/// What git printed for one file pair: hunks of `-U<n>` output.
type Sections = HashMap<String, Vec<u8>>;

/// Runs `git diff --no-index` over directories `A` and `B` of `dir` and
/// splits the output per file, keeping everything from the first hunk
/// header on, with function names removed from hunk headers.
fn git_diff_sections(git: &Git, dir: &Path, algorithm: Algorithm, context: usize) -> Sections {
    let algorithm_arg = format!("--diff-algorithm={}", algorithm_name(algorithm));
    let context_arg = format!("-U{context}");
    let args = [
        "diff",
        "--no-index",
        "--no-indent-heuristic",
        "--no-color",
        "--no-ext-diff",
        &context_arg,
        &algorithm_arg,
        "A",
        "B",
    ];
    let output = git.run_ok(dir, &args, None, &[0, 1]);
    let mut sections = Sections::new();
    let mut current: Option<(String, Vec<u8>, bool)> = None;
    for line in output.stdout.split_inclusive(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"diff --git a/A/") {
            if let Some((name, body, _)) = current.take() {
                sections.insert(name, body);
            }
            let name = rest.split(|&b| b == b' ').next().unwrap();
            current = Some((String::from_utf8_lossy(name).into_owned(), Vec::new(), false));
            continue;
        }
        let Some((_, body, in_hunks)) = current.as_mut() else {
            panic!("unexpected git diff output: {}", show(line));
        };
        if line.starts_with(b"@@ ") {
            *in_hunks = true;
            let end = 2 + line[2..].windows(2).position(|w| w == b"@@").unwrap() + 2;
            body.extend_from_slice(&line[..end]);
            body.push(b'\n');
        } else if *in_hunks {
            body.extend_from_slice(line);
        }
    }
    if let Some((name, body, _)) = current {
        sections.insert(name, body);
    }
    sections
}

/// Parses `-U0` hunk headers back into changes.
fn changes_from_headers(body: &[u8]) -> Vec<xdiff::Change> {
    let side = |text: &str| {
        let (start, count) = match text.split_once(',') {
            Some((start, count)) => (start.parse::<usize>().unwrap(), count.parse().unwrap()),
            None => (text.parse().unwrap(), 1),
        };
        let start = if count == 0 { start } else { start - 1 };
        start..start + count
    };
    body.split(|&b| b == b'\n')
        .filter(|line| line.starts_with(b"@@ -"))
        .map(|line| {
            let line = std::str::from_utf8(line).unwrap();
            let mut parts = line.split(' ');
            let old = side(&parts.nth(1).unwrap()[1..]);
            let new = side(&parts.next().unwrap()[1..]);
            xdiff::Change { old, new }
        })
        .collect()
}

/// git's `trim_common_tail`: with zero context `git diff` drops the common
/// tail of both files, in 1024-byte blocks, before calling xdiff.
fn trim_common_tail<'a>(a: &'a [u8], b: &'a [u8]) -> (&'a [u8], &'a [u8]) {
    const BLOCK: usize = 1024;
    let smaller = a.len().min(b.len());
    let mut trimmed = 0;
    while BLOCK + trimmed <= smaller
        && a[a.len() - trimmed - BLOCK..a.len() - trimmed] == b[b.len() - trimmed - BLOCK..b.len() - trimmed]
    {
        trimmed += BLOCK;
    }
    let tail = &a[a.len() - trimmed..];
    let recovered = tail.iter().position(|&byte| byte == b'\n').map_or(trimmed, |newline| newline + 1);
    let cut = trimmed - recovered;
    (&a[..a.len() - cut], &b[..b.len() - cut])
}

fn render_hunks(hunks: &[xdiff::Hunk<'_>]) -> Vec<u8> {
    let mut text = Vec::new();
    hunks.iter().for_each(|hunk| hunk.write_to(&mut text));
    text
}

/// The `git diff -U<n>` runs compared with `unified`: every algorithm at
/// three lines of context, the two that matter most at other widths.
const UNIFIED_RUNS: [(Algorithm, usize); 8] = [
    (Algorithm::Myers, 3),
    (Algorithm::Minimal, 3),
    (Algorithm::Histogram, 3),
    (Algorithm::Patience, 3),
    (Algorithm::Myers, 1),
    (Algorithm::Myers, 10),
    (Algorithm::Histogram, 1),
    (Algorithm::Histogram, 10),
];

/// Compares `diff` with `git diff -U0` and `unified` with `git diff -U<n>`
/// for every pair; returns the number of comparisons.
fn check_diffs(git: &Git, pairs: &[(Vec<u8>, Vec<u8>)], failures: &mut Failures) -> usize {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("A")).unwrap();
    std::fs::create_dir(dir.path().join("B")).unwrap();
    for (i, (a, b)) in pairs.iter().enumerate() {
        std::fs::write(dir.path().join("A").join(format!("{i:05}")), a).unwrap();
        std::fs::write(dir.path().join("B").join(format!("{i:05}")), b).unwrap();
    }
    let empty = Vec::new();
    for algorithm in ALGORITHMS {
        let sections = git_diff_sections(git, dir.path(), algorithm, 0);
        for (i, (a, b)) in pairs.iter().enumerate() {
            let expected = changes_from_headers(sections.get(&format!("{i:05}")).unwrap_or(&empty));
            let (a_trimmed, b_trimmed) = trim_common_tail(a, b);
            match xdiff::diff(a_trimmed, b_trimmed, algorithm) {
                Ok(actual) if actual == expected => {}
                actual => failures.add(
                    &format!("diff -U0 {algorithm:?}"),
                    &[("old", a), ("new", b)],
                    &format!("{expected:?}"),
                    &format!("{actual:?}"),
                ),
            }
        }
    }
    for (algorithm, context) in UNIFIED_RUNS {
        let sections = git_diff_sections(git, dir.path(), algorithm, context);
        for (i, (a, b)) in pairs.iter().enumerate() {
            let expected = sections.get(&format!("{i:05}")).unwrap_or(&empty);
            match xdiff::unified(a, b, algorithm, context) {
                Ok(hunks) if render_hunks(&hunks) == *expected => {}
                actual => failures.add(
                    &format!("diff -U{context} {algorithm:?}"),
                    &[("old", a), ("new", b)],
                    &show(expected),
                    &format!("{:?}", actual.map(|hunks| show(&render_hunks(&hunks)))),
                ),
            }
        }
    }
    pairs.len() * (ALGORITHMS.len() + UNIFIED_RUNS.len())
}

// ---------------------------------------------------------------------------
// Merge oracles
// ---------------------------------------------------------------------------

/// One three-way merge input.
#[derive(Clone, Debug)]
struct MergeCase {
    base: Vec<u8>,
    ours: Vec<u8>,
    theirs: Vec<u8>,
}

impl MergeCase {
    fn inputs(&self) -> [(&str, &[u8]); 3] {
        [("base", &self.base), ("ours", &self.ours), ("theirs", &self.theirs)]
    }
}

/// The `git merge-file` settings of one check.
#[derive(Clone, Copy, Debug)]
struct FileMergeSettings {
    algorithm: Algorithm,
    style: ConflictStyle,
    marker_size: usize,
    favor: Option<Favor>,
}

impl FileMergeSettings {
    fn args(&self) -> Vec<String> {
        let mut args = vec![
            "merge-file".to_string(),
            "-p".to_string(),
            format!("--diff-algorithm={}", algorithm_name(self.algorithm)),
            format!("--marker-size={}", self.marker_size),
        ];
        match self.style {
            ConflictStyle::Merge => {}
            ConflictStyle::Diff3 => args.push("--diff3".into()),
            ConflictStyle::ZealousDiff3 => args.push("--zdiff3".into()),
        }
        match self.favor {
            None => {}
            Some(Favor::Ours) => args.push("--ours".into()),
            Some(Favor::Theirs) => args.push("--theirs".into()),
            Some(Favor::Union) => args.push("--union".into()),
        }
        for label in ["ours", "base", "theirs"] {
            args.extend(["-L".to_string(), label.to_string()]);
        }
        args.extend(["o".to_string(), "b".to_string(), "t".to_string()]);
        args
    }

    fn options(&self) -> MergeOptions<'static> {
        MergeOptions {
            algorithm: self.algorithm,
            level: MergeLevel::ZealousAlnum,
            style: self.style,
            favor: self.favor,
            marker_size: self.marker_size,
            ancestor_label: Some(b"base"),
            ours_label: Some(b"ours"),
            theirs_label: Some(b"theirs"),
        }
    }
}

/// Compares `merge` with `git merge-file -p`: output bytes and exit status
/// (the number of conflicts).
fn check_merge_file(git: &Git, case: &MergeCase, settings: &FileMergeSettings, failures: &mut Failures) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("o"), &case.ours).unwrap();
    std::fs::write(dir.path().join("b"), &case.base).unwrap();
    std::fs::write(dir.path().join("t"), &case.theirs).unwrap();
    let args = settings.args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = git.run(dir.path(), &args, None);
    let code = output.status.code().unwrap_or(-1);
    let expected = (code, output.stdout);
    let what = format!("merge-file {settings:?}");
    match xdiff::merge(&case.base, &case.ours, &case.theirs, &settings.options()) {
        Ok(MergeResult { content, conflicts }) => {
            let actual = (conflicts.len().min(127) as i32, content);
            if actual != expected {
                failures.add(&what, &case.inputs(), &show_pair(&expected), &show_pair(&actual));
            }
        }
        Err(error) => failures.add(&what, &case.inputs(), &show_pair(&expected), &error.to_string()),
    }
}

fn show_pair((code, text): &(i32, Vec<u8>)) -> String {
    format!("{code} {}", show(text))
}

/// A bare repository holding one tree per merge side, with one path per
/// case (`c00000`, ...).
struct MergeRepo {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    /// Base, ours and theirs tree ids.
    trees: [String; 3],
}

impl MergeRepo {
    fn new(git: &Git, cases: &[MergeCase]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        git.run_ok(dir.path(), &["init", "-q", "--bare", "repo"], None, &[0]);
        let repo = dir.path().join("repo");
        let mut paths = String::new();
        for (i, case) in cases.iter().enumerate() {
            for (side, data) in [("b", &case.base), ("o", &case.ours), ("t", &case.theirs)] {
                let path = dir.path().join(format!("{side}{i:05}"));
                std::fs::write(&path, data).unwrap();
                writeln!(paths, "{}", path.display()).unwrap();
            }
        }
        let args = ["hash-object", "-w", "--stdin-paths"];
        let hashed = git.run_ok(&repo, &args, Some(paths.as_bytes()), &[0]).stdout;
        let blobs: Vec<String> = String::from_utf8(hashed).unwrap().lines().map(String::from).collect();
        let trees = [0, 1, 2].map(|side| {
            let mut listing = String::new();
            for i in 0..cases.len() {
                writeln!(listing, "100644 blob {}\tc{i:05}", blobs[3 * i + side]).unwrap();
            }
            let tree = git.run_ok(&repo, &["mktree"], Some(listing.as_bytes()), &[0]).stdout;
            String::from_utf8(tree).unwrap().trim().to_string()
        });
        MergeRepo { _dir: dir, repo, trees }
    }

    /// Runs the merge; returns every path's resulting blob and whether the
    /// path is conflicted.
    fn merge(&self, git: &Git) -> HashMap<String, (bool, Vec<u8>)> {
        let [base, ours, theirs] = &self.trees;
        let base_arg = format!("--merge-base={base}");
        let args = ["merge-tree", "--write-tree", "-z", "--name-only", &base_arg, ours, theirs];
        let merged = git.run_ok(&self.repo, &args, None, &[0, 1]).stdout;
        let mut fields = merged.split(|&b| b == 0);
        let tree = String::from_utf8(fields.next().unwrap().to_vec()).unwrap();
        let conflicted: BTreeSet<&[u8]> = fields.take_while(|f| !f.is_empty()).collect();
        read_tree_blobs(git, &self.repo, &tree)
            .into_iter()
            .map(|(path, blob)| (path.clone(), (conflicted.contains(path.as_bytes()), blob)))
            .collect()
    }
}

/// Merges every case as one path of a tree with `git merge-tree
/// --write-tree` (ort, as in a rebase) and compares conflicted paths and
/// blobs with `merge` using the default options.
fn check_merge_tree(git: &Git, cases: &[MergeCase], failures: &mut Failures) -> usize {
    let repo = MergeRepo::new(git, cases);
    let results = repo.merge(git);
    let [_, ours, theirs] = &repo.trees;
    let options = MergeOptions {
        ours_label: Some(ours.as_bytes()),
        theirs_label: Some(theirs.as_bytes()),
        ..MergeOptions::default()
    };
    let show_outcome = |(conflicted, content): &(bool, Vec<u8>)| format!("conflicted={conflicted} {}", show(content));
    for (i, case) in cases.iter().enumerate() {
        let expected = &results[&format!("c{i:05}")];
        let actual = xdiff::merge(&case.base, &case.ours, &case.theirs, &options)
            .map(|result| (!result.is_clean(), result.content));
        if actual.as_ref() != Ok(expected) {
            let actual = match &actual {
                Ok(outcome) => show_outcome(outcome),
                Err(error) => error.to_string(),
            };
            let what = format!("merge-tree (ours={ours}, theirs={theirs})");
            failures.add(&what, &case.inputs(), &show_outcome(expected), &actual);
        }
    }
    cases.len()
}

/// Reads every blob of `tree` (flat) into a map from path to content.
fn read_tree_blobs(git: &Git, repo: &Path, tree: &str) -> HashMap<String, Vec<u8>> {
    let listing = git.run_ok(repo, &["ls-tree", "-r", "-z", tree], None, &[0]).stdout;
    let entries: Vec<(String, String)> = listing
        .split(|&b| b == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let entry = std::str::from_utf8(entry).unwrap();
            let (meta, path) = entry.split_once('\t').unwrap();
            (meta.split(' ').nth(2).unwrap().to_string(), path.to_string())
        })
        .collect();
    let request: String = entries.iter().map(|(oid, _)| format!("{oid}\n")).collect();
    let batch = git.run_ok(repo, &["cat-file", "--batch"], Some(request.as_bytes()), &[0]).stdout;
    let mut rest = &batch[..];
    let mut blobs = HashMap::new();
    for (_, path) in entries {
        let newline = rest.iter().position(|&b| b == b'\n').unwrap();
        let header = std::str::from_utf8(&rest[..newline]).unwrap();
        let size: usize = header.rsplit(' ').next().unwrap().parse().unwrap();
        blobs.insert(path, rest[newline + 1..newline + 1 + size].to_vec());
        rest = &rest[newline + 1 + size + 1..];
    }
    blobs
}

// ---------------------------------------------------------------------------
// Seeded generator of nasty inputs
// ---------------------------------------------------------------------------

/// splitmix64: tiny, seedable, good enough for test inputs.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, numerator: usize, denominator: usize) -> bool {
        self.below(denominator) < numerator
    }
}

/// Line contents a file is drawn from; small pools mean many repeats.
const WORDS: [&str; 18] =
    ["a", "b", "}", "", "c", "1", "{", "d", "  x", "--", "e", ";", "2", "end", "  return;", "if (x)", "f", "g"];

/// How a generated file looks.
#[derive(Clone, Copy)]
struct Shape {
    /// Number of distinct pool words in use.
    pool: usize,
    /// Chance (in percent) that a line is unique instead of a pool word.
    unique_percent: usize,
    /// Chance (in percent) that a line ends in CRLF.
    crlf_percent: usize,
}

fn pick_shape(rng: &mut Rng) -> (Shape, usize) {
    let crlf_percent = match rng.below(10) {
        0 => 90,
        1 => 10,
        _ => 0,
    };
    let (pool, unique_percent, lines) = match rng.below(100) {
        0..=44 => (1 + rng.below(5), 0, rng.below(13)),
        45..=74 => (1 + rng.below(WORDS.len()), 10 + rng.below(50), 10 + rng.below(70)),
        75..=91 => (1 + rng.below(3), rng.below(3), 60 + rng.below(150)),
        92..=95 => (3 + rng.below(13), 60 + rng.below(40), 200 + rng.below(2000)),
        _ => (3 + rng.below(13), rng.below(30), 300 + rng.below(1200)),
    };
    let shape = Shape { pool, unique_percent, crlf_percent };
    (shape, lines)
}

fn random_line(rng: &mut Rng, shape: &Shape) -> Vec<u8> {
    let mut line = if rng.below(100) < shape.unique_percent {
        format!("line {}", rng.next() % 1_000_000).into_bytes()
    } else {
        WORDS[rng.below(shape.pool)].as_bytes().to_vec()
    };
    if rng.below(100) < shape.crlf_percent {
        line.push(b'\r');
    }
    line.push(b'\n');
    line
}

fn random_file(rng: &mut Rng, shape: &Shape, lines: usize) -> Vec<Vec<u8>> {
    let mut file: Vec<Vec<u8>> = (0..lines).map(|_| random_line(rng, shape)).collect();
    if rng.chance(1, 5) {
        drop_final_newline(&mut file);
    }
    file
}

fn drop_final_newline(file: &mut [Vec<u8>]) {
    if let Some(last) = file.last_mut() {
        while last.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            last.pop();
        }
    }
}

/// Applies `edits` random insertions, deletions, replacements, copies and
/// line-ending changes, often at the ends, then possibly toggles the final
/// newline.
fn mutate(rng: &mut Rng, file: &[Vec<u8>], shape: &Shape, edits: usize) -> Vec<Vec<u8>> {
    let mut out = file.to_vec();
    for _ in 0..edits {
        let at = match rng.below(6) {
            0 => 0,
            1 => out.len(),
            _ => rng.below(out.len() + 1),
        };
        let span = 1 + rng.below(3);
        match rng.below(5) {
            0 => {
                let new: Vec<Vec<u8>> = (0..span).map(|_| random_line(rng, shape)).collect();
                out.splice(at..at, new);
            }
            1 => {
                out.drain(at..(at + span).min(out.len()));
            }
            2 => {
                let end = (at + span).min(out.len());
                let new: Vec<Vec<u8>> = (0..span).map(|_| random_line(rng, shape)).collect();
                out.splice(at..end, new);
            }
            3 => {
                if let Some(line) = out.get_mut(at) {
                    toggle_crlf(line);
                }
            }
            _ => {
                let from = rng.below(out.len() + 1);
                let copied = out[from..(from + span).min(out.len())].to_vec();
                out.splice(at..at, copied);
            }
        }
    }
    for line in out.iter_mut().rev().skip(1) {
        if line.last() != Some(&b'\n') {
            line.push(b'\n');
        }
    }
    if rng.chance(1, 6) {
        match out.last_mut() {
            Some(last) if last.last() == Some(&b'\n') => drop_final_newline(&mut out),
            Some(last) => last.push(b'\n'),
            None => {}
        }
    }
    out
}

fn toggle_crlf(line: &mut Vec<u8>) {
    if line.ends_with(b"\r\n") {
        line.remove(line.len() - 2);
    } else if line.ends_with(b"\n") {
        line.insert(line.len() - 1, b'\r');
    }
}

fn edits_for(rng: &mut Rng, lines: usize) -> usize {
    if lines > 150 { 1 + rng.below(lines / 3) } else { rng.below(5) }
}

fn random_pair(seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = Rng::new(seed);
    let (shape, lines) = pick_shape(&mut rng);
    let old = random_file(&mut rng, &shape, lines);
    let new = if rng.chance(1, 5) {
        let lines = rng.below(lines + 5);
        random_file(&mut rng, &shape, lines)
    } else {
        let edits = edits_for(&mut rng, lines);
        mutate(&mut rng, &old, &shape, edits)
    };
    (old.concat(), new.concat())
}

fn random_merge(seed: u64) -> MergeCase {
    let mut rng = Rng::new(seed);
    let (shape, lines) = pick_shape(&mut rng);
    let base = random_file(&mut rng, &shape, lines);
    let shared = if rng.chance(1, 4) {
        let edits = 1 + rng.below(2);
        mutate(&mut rng, &base, &shape, edits)
    } else {
        base.clone()
    };
    let edits = edits_for(&mut rng, lines);
    let ours = mutate(&mut rng, &shared, &shape, edits);
    let theirs = match rng.below(20) {
        0 => ours.clone(),
        1 => base.clone(),
        _ => {
            let edits = edits_for(&mut rng, lines);
            mutate(&mut rng, &shared, &shape, edits)
        }
    };
    MergeCase { base: base.concat(), ours: ours.concat(), theirs: theirs.concat() }
}

fn random_merge_settings(seed: u64) -> FileMergeSettings {
    let mut rng = Rng::new(seed ^ 0x5e77_1265);
    let algorithm = match rng.below(10) {
        0..=5 => Algorithm::Histogram,
        6 | 7 => Algorithm::Myers,
        8 => Algorithm::Minimal,
        _ => Algorithm::Patience,
    };
    let style = match rng.below(6) {
        0 => ConflictStyle::Diff3,
        1 => ConflictStyle::ZealousDiff3,
        _ => ConflictStyle::Merge,
    };
    let favor = match rng.below(12) {
        0 => Some(Favor::Ours),
        1 => Some(Favor::Theirs),
        2 => Some(Favor::Union),
        _ => None,
    };
    let marker_size = [7, 7, 3, 10][rng.below(4)];
    FileMergeSettings { algorithm, style, marker_size, favor }
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let value = value.trim();
    match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

fn case_seed(index: usize) -> u64 {
    let base = env_number("BETADRIFT_XDIFF_SEED").unwrap_or(0x00be_7ad1_f700);
    Rng::new(base ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).next()
}

fn case_count(default: usize) -> usize {
    env_number("BETADRIFT_XDIFF_CASES").map_or(default, |n| n as usize)
}

/// Runs `check` over `count` generated cases in batches of `batch`.
fn in_batches<T>(count: usize, batch: usize, make: impl Fn(u64) -> T, mut check: impl FnMut(&[T])) {
    let mut start = 0;
    while start < count {
        let end = (start + batch).min(count);
        let cases: Vec<T> = (start..end).map(|i| make(case_seed(i))).collect();
        check(&cases);
        start = end;
    }
}

// ---------------------------------------------------------------------------
// Random tests
// ---------------------------------------------------------------------------

#[test]
fn random_diffs_match_git() {
    let git = Git::new();
    let mut failures = Failures::default();
    let mut total = 0;
    in_batches(case_count(2000), 2000, random_pair, |pairs| {
        total += check_diffs(&git, pairs, &mut failures);
    });
    failures.check(total);
}

#[test]
fn random_merges_match_git_merge_file() {
    let git = Git::new();
    let mut failures = Failures::default();
    let count = case_count(1000);
    for i in 0..count {
        let seed = case_seed(i);
        check_merge_file(&git, &random_merge(seed), &random_merge_settings(seed), &mut failures);
    }
    failures.check(count);
}

#[test]
fn random_merges_match_git_merge_tree() {
    let git = Git::new();
    let mut failures = Failures::default();
    let mut total = 0;
    in_batches(case_count(1000), 1000, random_merge, |cases| {
        total += check_merge_tree(&git, cases, &mut failures);
    });
    failures.check(total);
}

// ---------------------------------------------------------------------------
// Hand-written cases
// ---------------------------------------------------------------------------

/// Checks one pair with every algorithm at -U0 and -U3.
fn assert_diff_matches_git(old: &[u8], new: &[u8]) {
    let git = Git::new();
    let mut failures = Failures::default();
    let total = check_diffs(&git, &[(old.to_vec(), new.to_vec())], &mut failures);
    failures.check(total);
}

/// Checks one merge with merge-file (several settings) and merge-tree.
fn assert_merge_matches_git(base: &[u8], ours: &[u8], theirs: &[u8]) {
    let git = Git::new();
    let case = MergeCase { base: base.to_vec(), ours: ours.to_vec(), theirs: theirs.to_vec() };
    let mut failures = Failures::default();
    let mut total = check_merge_tree(&git, std::slice::from_ref(&case), &mut failures);
    for algorithm in ALGORITHMS {
        for style in [ConflictStyle::Merge, ConflictStyle::Diff3, ConflictStyle::ZealousDiff3] {
            let settings = FileMergeSettings { algorithm, style, marker_size: 7, favor: None };
            check_merge_file(&git, &case, &settings, &mut failures);
            total += 1;
        }
    }
    failures.check(total);
}

fn numbered(range: std::ops::Range<usize>) -> String {
    range.map(|i| format!("line {i}\n")).collect()
}

/// Files on which the histogram index overflows a bucket: the last 65 old
/// lines are distinct classes that all hash to one bucket of a 65-line
/// range, and the new file replaces exactly them.
fn crowded_bucket_files() -> (Vec<u8>, Vec<u8>) {
    let common = numbered(0..10_000);
    let lines: Vec<&str> = common.split_inclusive('\n').collect();
    let mut old = common.clone();
    for k in 0..65 {
        old.push_str(lines[k * 128 + (5 + 128 - k) % 128]);
    }
    (old.into_bytes(), format!("{common}X\n").into_bytes())
}

#[test]
fn histogram_bucket_overflow_fails_as_in_git() {
    let (old, new) = crowded_bucket_files();
    let git = Git::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old"), &old).unwrap();
    std::fs::write(dir.path().join("new"), &new).unwrap();
    let args = ["diff", "--no-index", "--histogram", "old", "new"];
    let output = git.run(dir.path(), &args, None);
    assert_eq!(output.status.code(), Some(128), "git is expected to die");
    let failure = xdiff::Error::HistogramBucketOverflow;
    assert_eq!(xdiff::diff(&old, &new, Algorithm::Histogram), Err(failure.clone()));
    assert_eq!(xdiff::unified(&old, &new, Algorithm::Histogram, 3), Err(failure));
    // Myers and patience do not have this failure mode.
    assert!(xdiff::diff(&old, &new, Algorithm::Myers).is_ok());
    assert!(xdiff::diff(&old, &new, Algorithm::Patience).is_ok());

    // A rebase would stop: merge-file fails, and so does our merge.
    std::fs::write(dir.path().join("theirs"), &old).unwrap();
    let args = ["merge-file", "-p", "--diff-algorithm=histogram", "new", "old", "theirs"];
    let output = git.run(dir.path(), &args, None);
    assert!(!output.status.success() && output.status.code() != Some(1));
    let merged = xdiff::merge(&old, &new, &old, &MergeOptions::default());
    assert_eq!(merged, Err(xdiff::Error::HistogramBucketOverflow));
}

#[test]
fn empty_files() {
    assert_diff_matches_git(b"", b"");
    assert_diff_matches_git(b"", b"a\n");
    assert_diff_matches_git(b"a\nb", b"");
    assert_merge_matches_git(b"", b"a\n", b"b\n");
    assert_merge_matches_git(b"", b"a\n", b"");
    assert_merge_matches_git(b"a\n", b"", b"a\nb\n");
    assert_merge_matches_git(b"a\n", b"", b"");
}

#[test]
fn missing_final_newlines() {
    assert_diff_matches_git(b"a\nb", b"a\nb\n");
    assert_diff_matches_git(b"a\nb\n", b"a\nc");
    assert_diff_matches_git(b"a", b"a\nb");
    assert_merge_matches_git(b"a\nb\nc", b"x\nb\nc", b"a\nb\nc\n");
    assert_merge_matches_git(b"a\nb\nc", b"a\nb\nx", b"a\nb\ny");
    assert_merge_matches_git(b"a\nb\n", b"a\nb\nc", b"a\nb\nd");
    assert_merge_matches_git(b"a\nb\n", b"a\nb", b"a\nb");
    assert_merge_matches_git(b"a\nb\n", b"a\nb", b"x\nb\n");
}

#[test]
fn crlf_lines() {
    assert_diff_matches_git(b"a\r\nb\r\nc\r\n", b"a\r\nb\nc\r\n");
    assert_diff_matches_git(b"a\r\nb\r\n", b"a\r\nb");
    assert_merge_matches_git(b"a\r\nb\r\n", b"a\r\nx\r\n", b"a\r\ny\r\n");
    assert_merge_matches_git(b"a\r\nb\r\n", b"a\r\nx", b"a\r\ny");
    assert_merge_matches_git(b"a\r\nb\n", b"a\r\nx\n", b"a\r\ny\n");
    assert_merge_matches_git(b"a\nb\r\n", b"x\r\nb\r\n", b"y\r\nb\r\n");
    assert_merge_matches_git(b"", b"x\r\n", b"y\r\n");
    assert_merge_matches_git(b"b", b"x\r\nb", b"y\r\nb");
}

#[test]
fn insertions_and_deletions_at_the_ends() {
    assert_diff_matches_git(b"a\nb\n", b"x\na\nb\n");
    assert_diff_matches_git(b"a\nb\n", b"a\nb\nx\n");
    assert_diff_matches_git(b"a\nb\nc\n", b"b\n");
    assert_merge_matches_git(b"a\nb\n", b"x\na\nb\n", b"a\nb\ny\n");
    assert_merge_matches_git(b"a\nb\n", b"x\na\nb\n", b"y\na\nb\n");
    assert_merge_matches_git(b"a\nb\n", b"a\nb\nx\n", b"a\nb\ny\n");
}

#[test]
fn compaction_slides_repeated_lines() {
    assert_diff_matches_git(b"a\nb\nc\n", b"a\nb\na\nb\nc\n");
    assert_diff_matches_git(b"x\na\nc\n", b"a\na\nc\n");
    assert_diff_matches_git(b"}\n}\n}\nx\n", b"}\n}\nx\n}\n");
    assert_diff_matches_git(b"a\n\nb\n\nc\n", b"a\n\nb\n\nb\n\nc\n");
}

#[test]
fn myers_discards_unmatched_and_frequent_lines() {
    // Many "}" lines (frequent) between lines that exist on one side only.
    let mut old = String::new();
    let mut new = String::new();
    for i in 0..40 {
        old.push_str(&format!("old {i}\n}}\n}}\nold {i}b\n"));
        new.push_str(&format!("new {i}\n}}\nshared {}\n", i % 3));
    }
    old.push_str("shared 1\n");
    assert_diff_matches_git(old.as_bytes(), new.as_bytes());
}

#[test]
fn myers_cost_heuristics_match_git() {
    // Large, very different files drive Myers past its cost limit, where it
    // stops looking for a minimal script.
    let mut rng = Rng::new(7);
    let shape = Shape { pool: 4, unique_percent: 30, crlf_percent: 0 };
    let old = random_file(&mut rng, &shape, 1500).concat();
    let new = random_file(&mut rng, &shape, 1500).concat();
    let myers = xdiff::diff(&old, &new, Algorithm::Myers).unwrap();
    assert_ne!(myers, xdiff::diff(&old, &new, Algorithm::Minimal).unwrap());
    assert_diff_matches_git(&old, &new);
    // Long runs of unchanged lines with dense edits between them exercise
    // the "good snake" shortcut.
    let old = numbered(0..3000);
    let mut new = String::new();
    for (i, line) in old.split_inclusive('\n').enumerate() {
        if i % 40 < 12 {
            new.push_str(&format!("changed {i}\n"));
        } else {
            new.push_str(line);
        }
    }
    assert_diff_matches_git(old.as_bytes(), new.as_bytes());
}

#[test]
fn myers_snake_heuristic_on_huge_files() {
    // The "good snake" shortcut needs an edit cost above 256 while the cost
    // limit, sqrt(lines), is higher still: more than 65,536 lines in all.
    // Files made of 21-line paragraphs drawn from thirty offer long snakes in
    // many wrong places; this input's result depends on the snake length
    // and the progress factor of the shortcut.
    let mut rng = Rng::new(0);
    let paragraphs = 34_000 / 21;
    let old: Vec<usize> = (0..paragraphs).map(|_| rng.below(30)).collect();
    let mut new = old.clone();
    for _ in 0..paragraphs / 4 {
        let at = rng.below(new.len());
        match rng.below(3) {
            0 => new.insert(at, rng.below(30)),
            1 => drop(new.remove(at)),
            _ => new[at] = rng.below(30),
        }
    }
    let render = |paragraphs: &[usize]| -> String {
        paragraphs.iter().flat_map(|p| (0..21).map(move |k| format!("p{p} l{k}\n"))).collect()
    };
    assert_diff_matches_git(render(&old).as_bytes(), render(&new).as_bytes());
}

#[test]
fn histogram_falls_back_to_myers_on_frequent_lines() {
    let old = "x\n".repeat(100);
    let mut new = "x\n".repeat(40);
    new.push_str("y\n");
    new.push_str(&"x\n".repeat(70));
    assert_diff_matches_git(old.as_bytes(), new.as_bytes());
    let old = "a\nb\n".repeat(70);
    let new = "b\na\nb\n".repeat(50);
    assert_diff_matches_git(old.as_bytes(), new.as_bytes());
    assert_merge_matches_git(old.as_bytes(), new.as_bytes(), "a\nb\n".repeat(69).as_bytes());
}

#[test]
fn histogram_without_common_lines() {
    assert_diff_matches_git(b"a\nb\nc\n", b"x\ny\n");
    assert_diff_matches_git(b"k\na\nb\nk\n", b"k\nx\ny\nk\n");
}

#[test]
fn identical_changes_on_both_sides() {
    assert_merge_matches_git(b"a\nb\nc\n", b"a\nx\nc\n", b"a\nx\nc\n");
    assert_merge_matches_git(b"a\nb\nc\nd\n", b"a\nx\nc\nd\n", b"a\nx\nc\ny\n");
    assert_merge_matches_git(b"a\nb\nc\n", b"a\nx\ny\nc\n", b"a\nx\nz\nc\n");
}

#[test]
fn adjacent_and_overlapping_edits() {
    assert_merge_matches_git(b"a\nb\nc\n", b"A\nb\nc\n", b"a\nB\nc\n");
    assert_merge_matches_git(b"a\nb\nc\n", b"a\nb\nC\n", b"a\nB\nc\n");
    assert_merge_matches_git(b"a\nb\nc\n", b"a\nx\nb\nc\n", b"a\nb\ny\nc\n");
    assert_merge_matches_git(b"a\nb\nc\n", b"a\nx\nb\nc\n", b"a\ny\nb\nc\n");
    assert_merge_matches_git(b"a\nb\nc\nd\ne\n", b"a\nc\ne\n", b"a\nB\nc\nD\ne\n");
}

#[test]
fn conflicts_are_refined_and_joined() {
    // Refinement narrows the conflict to "2" vs "3".
    assert_merge_matches_git(b"1\n", b"a\nb\n2\nc\n", b"a\nb\n3\nc\n");
    // Two conflicts three lines apart are joined; four lines apart are not.
    let base = b"a\nb\nc\nd\ne\nf\ng\nh\n";
    assert_merge_matches_git(base, b"A\nb\nc\nd\nE\nf\ng\nh\n", b"a1\nb\nc\nd\ne1\nf\ng\nh\n");
    assert_merge_matches_git(base, b"A\nb\nc\nd\ne\nF\ng\nh\n", b"a1\nb\nc\nd\ne\nf1\ng\nh\n");
    // Four lines without letters or digits: joined by merge-file only.
    let base = b"a\n}\n}\n;\n\nb\n";
    assert_merge_matches_git(base, b"A\n}\n}\n;\n\nB\n", b"a1\n}\n}\n;\n\nb1\n");
    let zealous = xdiff::merge(base, b"A\n}\n}\n;\n\nB\n", b"a1\n}\n}\n;\n\nb1\n", &MergeOptions::default());
    assert_eq!(zealous.unwrap().conflicts.len(), 2);
    // Digits count as alphanumeric: not joined.
    let base = b"a\n1\n}\n2\n\nb\n";
    assert_merge_matches_git(base, b"A\n1\n}\n2\n\nB\n", b"a1\n1\n}\n2\n\nb1\n");
}

#[test]
fn conflict_styles_and_markers() {
    let base = b"a\nb\nc\nd\n";
    let ours = b"a\nx\ny\nd\n";
    let theirs = b"a\nx\nz\nd\n";
    assert_merge_matches_git(base, ours, theirs);
    let git = Git::new();
    let case = MergeCase { base: base.to_vec(), ours: ours.to_vec(), theirs: theirs.to_vec() };
    let mut failures = Failures::default();
    for favor in [None, Some(Favor::Ours), Some(Favor::Theirs), Some(Favor::Union)] {
        for marker_size in [1, 3, 7, 12] {
            let settings =
                FileMergeSettings { algorithm: Algorithm::Histogram, style: ConflictStyle::Diff3, marker_size, favor };
            check_merge_file(&git, &case, &settings, &mut failures);
        }
    }
    failures.check(16);
}

#[test]
fn rebase_defaults_without_labels() {
    let options = MergeOptions::default();
    let merged = xdiff::merge(b"a\n", b"b\n", b"c\n", &options).unwrap();
    assert_eq!(merged.content, b"<<<<<<<\nb\n=======\nc\n>>>>>>>\n");
    assert_eq!(merged.conflicts.len(), 1);
    assert_eq!(merged.conflicts[0].base, 0..1);
}
