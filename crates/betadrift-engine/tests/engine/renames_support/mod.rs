//! Shared machinery for the rename differential tests: a hermetic git, a
//! tiny PRNG, random tree pairs, and the translation of both git's and our
//! answers into comparable records.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use betadrift_engine::diffcore_rename::{BlobSource, MAX_SCORE, Pair, RenameOptions, Side, detect_renames};
use git2::{ObjectType, Oid};

pub mod merge;
pub mod random;

/// A git binary run with no system or user configuration.
pub struct Git {
    binary: PathBuf,
    home: tempfile::TempDir,
}

impl Git {
    /// The oracle: `BETADRIFT_GIT` or `/usr/local/bin/git`.
    pub fn new() -> Self {
        let binary =
            std::env::var_os("BETADRIFT_GIT").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/local/bin/git"));
        Self { binary, home: tempfile::tempdir().expect("temp HOME") }
    }

    /// A command for `git args...` in `dir`, with a hermetic environment.
    pub fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.current_dir(dir)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_ATTR_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", self.home.path())
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "A")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            .env("GIT_AUTHOR_DATE", "1700000000 +0000")
            .env("GIT_COMMITTER_DATE", "1700000000 +0000");
        cmd
    }

    /// Runs git with `stdin`, panicking (with stderr) on failure.
    pub fn run(&self, dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
        let output = self.run_unchecked(dir, args, stdin);
        assert!(output.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        output
    }

    /// Runs git with `stdin` and returns whatever it did.
    pub fn run_unchecked(&self, dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .command(dir, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run git {args:?}: {e}"));
        let mut input = child.stdin.take().expect("stdin");
        let data = stdin.to_vec();
        let writer = std::thread::spawn(move || input.write_all(&data));
        let output = child.wait_with_output().expect("git output");
        let written = writer.join().expect("writer thread");
        if output.status.success() {
            written.expect("write stdin");
        }
        output
    }

    /// A fresh bare repository in a temp dir.
    pub fn bare_repo(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp repo");
        self.run(dir.path(), &["init", "-q", "--bare", "."], b"");
        dir
    }
}

/// splitmix64: a tiny, good-enough deterministic generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`%.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.below(items.len())]
    }
}

/// One file in a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub mode: u32,
    /// Blob content; for gitlinks, the 40-hex commit id.
    pub content: Vec<u8>,
}

impl File {
    pub fn oid(&self) -> Oid {
        if self.mode == 0o160000 {
            Oid::from_str(std::str::from_utf8(&self.content).expect("hex")).expect("oid")
        } else {
            Oid::hash_object(ObjectType::Blob, &self.content).expect("hash")
        }
    }
}

/// A tree: path -> file.
pub type Tree = BTreeMap<Vec<u8>, File>;

/// Two trees to diff.
#[derive(Debug, Clone, Default)]
pub struct Case {
    pub old: Tree,
    pub new: Tree,
}

/// One line of `--name-status` output other than modifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Added(String),
    Deleted(String),
    /// Similarity percentage as git prints it, old path, new path.
    Renamed(u32, String, String),
}

impl Case {
    /// The diff queue git builds for `diff-tree -r`, deletions and
    /// additions only, in path order.
    pub fn queue(&self) -> Vec<Pair> {
        let mut paths: Vec<&Vec<u8>> = self.old.keys().chain(self.new.keys()).collect();
        paths.sort();
        paths.dedup();
        let side = |path: &Vec<u8>, file: &File| Side { path: path.clone(), oid: file.oid(), mode: file.mode };
        paths
            .into_iter()
            .filter_map(|path| match (self.old.get(path), self.new.get(path)) {
                (Some(old), None) => Some(Pair::Delete(side(path, old))),
                (None, Some(new)) => Some(Pair::Add(side(path, new))),
                _ => None,
            })
            .collect()
    }

    /// All blob contents by oid.
    pub fn blobs(&self) -> HashMap<Oid, Vec<u8>> {
        self.old
            .values()
            .chain(self.new.values())
            .filter(|f| f.mode != 0o160000)
            .map(|f| (f.oid(), f.content.clone()))
            .collect()
    }

    /// Our answer as the records `git diff-tree --name-status` would print.
    pub fn expected_records(&self, options: &RenameOptions) -> (Vec<Record>, usize) {
        self.expected_records_with(options, &mut self.blobs())
    }

    /// Like [`Case::expected_records`], reading blobs from `blobs`.
    pub fn expected_records_with(&self, options: &RenameOptions, blobs: &mut impl BlobSource) -> (Vec<Record>, usize) {
        let queue = self.queue();
        let result = detect_renames(&queue, options, None, None, blobs).expect("all blobs present");
        let by_add: HashMap<usize, _> = result.renames.iter().map(|r| (r.add, r)).collect();
        let used: Vec<usize> = result.renames.iter().map(|r| r.delete).collect();
        let name = |i: usize| String::from_utf8_lossy(&queue[i].side().path).into_owned();
        let mut records = Vec::new();
        for (i, pair) in queue.iter().enumerate() {
            match pair {
                Pair::Delete(_) if !used.contains(&i) => records.push(Record::Deleted(name(i))),
                Pair::Delete(_) => {}
                Pair::Add(_) => records.push(match by_add.get(&i) {
                    Some(r) => Record::Renamed(r.score * 100 / MAX_SCORE, name(r.delete), name(i)),
                    None => Record::Added(name(i)),
                }),
            }
        }
        (records, result.needed_limit)
    }

    /// fast-import commands for this case's two commits (marks `2k+1`, `2k+2`).
    pub fn write_fast_import(&self, k: usize, out: &mut Vec<u8>) {
        for (which, tree) in [(1, &self.old), (2, &self.new)] {
            let mark = 2 * k + which;
            writeln!(out, "commit refs/heads/c{mark}\nmark :{mark}").unwrap();
            writeln!(out, "committer A <a@example.com> 1700000000 +0000").unwrap();
            let message = format!("case {k} side {which}");
            writeln!(out, "data {}\n{message}", message.len()).unwrap();
            for (path, file) in tree {
                let path = String::from_utf8_lossy(path);
                if file.mode == 0o160000 {
                    let oid = String::from_utf8_lossy(&file.content);
                    writeln!(out, "M 160000 {oid} {path}").unwrap();
                } else {
                    writeln!(out, "M {:o} inline {path}", file.mode).unwrap();
                    writeln!(out, "data {}", file.content.len()).unwrap();
                    out.extend_from_slice(&file.content);
                    out.push(b'\n');
                }
            }
            out.push(b'\n');
        }
    }
}

/// The `-M` argument that makes git use exactly `min_score`.
pub fn rename_score_arg(min_score: u32) -> String {
    if min_score >= MAX_SCORE {
        return "-M100%".to_string();
    }
    // git reads five digits as a fraction of 100000 and truncates
    // 60000 * n / 100000; the smallest n reaching min_score gives it exactly.
    let n = (u64::from(min_score) * 5).div_ceil(3);
    format!("-M{n:05}")
}

/// git's answers for a batch of cases diffed with the same options: the
/// records of each case and the largest rename limit it said it needed.
pub fn git_records(git: &Git, cases: &[Case], options: &RenameOptions) -> (Vec<Vec<Record>>, usize) {
    git_records_with_attributes(git, cases, options, None)
}

/// [`git_records`] with `attributes` as the `.gitattributes` git applies
/// (through `attr.tree`).
pub fn git_records_with_attributes(
    git: &Git,
    cases: &[Case],
    options: &RenameOptions,
    attributes: Option<&str>,
) -> (Vec<Vec<Record>>, usize) {
    let repo = git.bare_repo();
    let attr_config = attributes.map(|text| {
        let blob = git.run(repo.path(), &["hash-object", "-w", "--stdin"], text.as_bytes());
        let blob = String::from_utf8_lossy(&blob.stdout).trim().to_string();
        let entry = format!("100644 blob {blob}\t.gitattributes\n");
        let tree = git.run(repo.path(), &["mktree"], entry.as_bytes());
        format!("attr.tree={}", String::from_utf8_lossy(&tree.stdout).trim())
    });
    let mut stream = Vec::new();
    for (k, case) in cases.iter().enumerate() {
        case.write_fast_import(k, &mut stream);
    }
    let marks = repo.path().join("marks");
    let marks_arg = format!("--export-marks={}", marks.display());
    git.run(repo.path(), &["fast-import", "--quiet", &marks_arg], &stream);
    let marks = parse_marks(&std::fs::read_to_string(&marks).expect("marks"));

    let mut lines = String::new();
    let mut case_of_commit = HashMap::new();
    for k in 0..cases.len() {
        let (old, new) = (&marks[&(2 * k + 1)], &marks[&(2 * k + 2)]);
        lines.push_str(&format!("{new} {old}\n"));
        case_of_commit.insert(new.clone(), k);
    }
    let limit = format!("diff.renameLimit={}", options.rename_limit);
    let score = rename_score_arg(options.min_score);
    let mut args = vec!["-c", &limit, "-c", "diff.renames=true"];
    if let Some(config) = &attr_config {
        args.extend(["-c", config.as_str()]);
    }
    args.extend(["diff-tree", "--stdin", "-r"]);
    args.extend([score.as_str(), "--always", "-z", "--name-status"]);
    if !options.rename_empty {
        args.push("--no-rename-empty");
    }
    let output = git.run(repo.path(), &args, lines.as_bytes());
    let records = parse_name_status(&output.stdout, &case_of_commit, cases.len());
    (records, parse_needed_limit(&output.stderr))
}

fn parse_marks(text: &str) -> HashMap<usize, String> {
    text.lines()
        .filter_map(|line| {
            let (mark, oid) = line.split_once(' ')?;
            Some((mark.trim_start_matches(':').parse().ok()?, oid.to_string()))
        })
        .collect()
}

/// Splits `diff-tree --stdin -z --name-status` output into per-case records.
fn parse_name_status(out: &[u8], case_of_commit: &HashMap<String, usize>, n: usize) -> Vec<Vec<Record>> {
    let mut records = vec![Vec::new(); n];
    let mut tokens = out.split(|&b| b == 0).map(|t| String::from_utf8_lossy(t).into_owned());
    let mut current = None;
    while let Some(token) = tokens.next() {
        let token = token.trim_start_matches('\n').to_string();
        if token.is_empty() {
            continue;
        }
        if let Some(&k) = case_of_commit.get(&token) {
            current = Some(k);
            continue;
        }
        let k = current.unwrap_or_else(|| panic!("record before header: {token:?}"));
        let mut path = || tokens.next().expect("path after status");
        let record = match token.as_bytes()[0] {
            b'A' => Record::Added(path()),
            b'D' => Record::Deleted(path()),
            b'R' => {
                let score = token[1..].parse().expect("rename score");
                let old = path();
                Record::Renamed(score, old, path())
            }
            b'M' | b'T' => {
                path();
                continue;
            }
            other => panic!("unexpected status {}", other as char),
        };
        records[k].push(record);
    }
    records
}

/// The limit from git's "set your diff.renameLimit variable to at least N".
fn parse_needed_limit(stderr: &[u8]) -> usize {
    let text = String::from_utf8_lossy(stderr);
    text.split("to at least ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}
