//! Differential tests of `betadrift_engine::diffcore_rename` against real git.
//!
//! Plain `git diff-tree -r -M` runs the same rename detection merge-ort uses,
//! minus the relevance information, so random tree pairs diffed by both must
//! give the same renames, scores and leftovers.  Environment:
//! `BETADRIFT_GIT` picks the git binary, `BETADRIFT_RENAME_CASES` the number
//! of random cases, `BETADRIFT_RENAME_SEED` the first seed.

use crate::renames_support;

use std::collections::BTreeMap;

use betadrift_engine::diffcore_rename::{DEFAULT_RENAME_SCORE, MAX_SCORE, Pair, RenameOptions, estimate_similarity};
use renames_support::random::random_case;
use renames_support::{Case, File, Git, Record, Rng, git_records, git_records_with_attributes};

/// Cases per git process.
const BATCH: usize = 250;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Picks the options of one batch; sometimes the threshold sits exactly on
/// (or one above) a score we computed, to catch off-by-one scores.
fn batch_options(rng: &mut Rng, cases: &[Case]) -> RenameOptions {
    let min_score = match rng.below(10) {
        0..=3 => DEFAULT_RENAME_SCORE,
        4..=6 => probe_score(rng, cases).unwrap_or(DEFAULT_RENAME_SCORE),
        _ => 1 + rng.below(MAX_SCORE as usize) as u32,
    };
    let rename_limit = if rng.chance(15) { 1 + rng.below(6) } else { 1000 };
    RenameOptions { min_score, rename_limit, rename_empty: rng.chance(50) }
}

/// Our score for some regular delete/add pair in the batch, or one more.
fn probe_score(rng: &mut Rng, cases: &[Case]) -> Option<u32> {
    for _ in 0..20 {
        let case = rng.pick(cases);
        let queue = case.queue();
        let blobs = case.blobs();
        let regular = |p: &&Pair| p.side().mode & 0o170000 == 0o100000;
        let deletes: Vec<_> = queue.iter().filter(|p| matches!(p, Pair::Delete(_))).filter(regular).collect();
        let adds: Vec<_> = queue.iter().filter(|p| matches!(p, Pair::Add(_))).filter(regular).collect();
        if deletes.is_empty() || adds.is_empty() {
            continue;
        }
        let (src, dst) = (rng.pick(&deletes).side(), rng.pick(&adds).side());
        let score = estimate_similarity(&blobs[&src.oid], &blobs[&dst.oid], 1);
        if score > 0 && score < MAX_SCORE {
            return Some(score + u32::from(rng.chance(50)));
        }
    }
    None
}

/// Compares a batch with git; returns descriptions of the mismatches.
fn check_batch(
    git: &Git,
    seeds: &[u64],
    options: &RenameOptions,
    stats: &mut BTreeMap<&'static str, usize>,
) -> Vec<String> {
    let cases: Vec<Case> = seeds.iter().map(|&s| random_case(s)).collect();
    let (theirs, their_limit) = git_records(git, &cases, options);
    let mut failures = Vec::new();
    let mut our_limit = 0;
    for ((case, seed), theirs) in cases.iter().zip(seeds).zip(theirs) {
        let (ours, needed) = case.expected_records(options);
        for record in &ours {
            let kind = match record {
                Record::Renamed(100, ..) => "exact-or-100%",
                Record::Renamed(..) => "inexact",
                Record::Added(_) => "added",
                Record::Deleted(_) => "deleted",
            };
            *stats.entry(kind).or_default() += 1;
        }
        our_limit = our_limit.max(needed);
        if ours != theirs {
            failures.push(format!(
                "seed {seed:#x} with {options:?}:\n  ours: {ours:?}\n  git:  {theirs:?}\n  case: {}",
                describe(case)
            ));
        }
    }
    if our_limit != their_limit {
        failures.push(format!("batch needed rename limit: ours {our_limit}, git {their_limit} ({options:?})"));
    }
    failures
}

/// A short listing of a case for failure messages.
fn describe(case: &Case) -> String {
    let list = |tree: &BTreeMap<Vec<u8>, File>| {
        tree.iter()
            .map(|(p, f)| {
                format!(
                    "{} {:o} {}B {}",
                    String::from_utf8_lossy(p),
                    f.mode,
                    f.content.len(),
                    &f.oid().to_string()[..7]
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("old [{}] new [{}]", list(&case.old), list(&case.new))
}

#[test]
fn random_tree_pairs_match_git_diff_tree() {
    let total = env_number("BETADRIFT_RENAME_CASES", 2000) as usize;
    let first_seed = env_number("BETADRIFT_RENAME_SEED", 0x5eed_0000);
    let git = Git::new();
    let mut rng = Rng::new(first_seed ^ 0xabcdef);
    let mut failures = Vec::new();
    let mut stats = BTreeMap::new();
    let seeds: Vec<u64> = (0..total as u64).map(|i| first_seed + i).collect();
    for chunk in seeds.chunks(BATCH) {
        let cases: Vec<Case> = chunk.iter().map(|&s| random_case(s)).collect();
        let options = batch_options(&mut rng, &cases);
        failures.extend(check_batch(&git, chunk, &options, &mut stats));
    }
    eprintln!("random rename cases checked against git: {total}; records: {stats:?}");
    assert!(
        failures.is_empty(),
        "{} mismatches, first ones:\n{}",
        failures.len(),
        failures.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Checks one handcrafted case against git with `options`.
fn assert_matches_git(case: Case, options: &RenameOptions) {
    let git = Git::new();
    let (theirs, their_limit) = git_records(&git, std::slice::from_ref(&case), options);
    let (ours, our_limit) = case.expected_records(options);
    assert_eq!(ours, theirs[0], "records differ for {}", describe(&case));
    assert_eq!(our_limit, their_limit, "needed rename limit differs");
}

fn text(content: &str) -> File {
    File { mode: 0o100644, content: content.as_bytes().to_vec() }
}

fn tree(files: &[(&str, File)]) -> BTreeMap<Vec<u8>, File> {
    files.iter().map(|(p, f)| (p.as_bytes().to_vec(), f.clone())).collect()
}

/// `n` deleted files with distinct contents plus, at `twins`, files sharing
/// the content of one added file.
fn identical_sources_case(n: usize, twins: &[usize], added_path: &str) -> Case {
    let shared = text("the shared content\n");
    let mut old = BTreeMap::new();
    for i in 0..n {
        let file = if twins.contains(&i) { shared.clone() } else { text(&format!("distinct content {i}\n")) };
        old.insert(format!("src/{i:05}/s{i}.txt").into_bytes(), file);
    }
    let new = tree(&[(added_path, shared)]);
    Case { old, new }
}

#[test]
fn identical_sources_are_taken_in_source_order() {
    let case = identical_sources_case(20, &[3, 11], "dst/other.txt");
    assert_matches_git(case, &RenameOptions::diff());
}

#[test]
fn git_hashmap_rehash_reverses_identical_candidates() {
    // 205 sources overflow git's 256-bucket table on the last insertion;
    // the rehash reverses the chain, so git takes the later twin.
    let case = identical_sources_case(205, &[7, 150], "dst/other.txt");
    assert_matches_git(case, &RenameOptions::diff());
    let case = identical_sources_case(204, &[7, 150], "dst/other.txt");
    assert_matches_git(case, &RenameOptions::diff());
}

#[test]
fn identical_candidates_stop_after_one_hundred() {
    let twins: Vec<usize> = (0..150).collect();
    // Same basename as source 50: preferred.  As source 120: out of reach.
    assert_matches_git(identical_sources_case(150, &twins, "dst/s50.txt"), &RenameOptions::diff());
    assert_matches_git(identical_sources_case(150, &twins, "dst/s120.txt"), &RenameOptions::diff());
}

#[test]
fn exact_rename_needs_same_mode_unless_regular() {
    let link = File { mode: 0o120000, content: b"target".to_vec() };
    let exec = File { mode: 0o100755, content: b"target".to_vec() };
    let case = Case {
        old: tree(&[("a/link", link.clone()), ("a/plain", text("target"))]),
        new: tree(&[("b/link", exec), ("b/plain", link)]),
    };
    assert_matches_git(case, &RenameOptions::diff());
}

#[test]
fn rename_limit_skips_only_the_matrix() {
    let mut old = BTreeMap::new();
    let mut new = BTreeMap::new();
    for i in 0..4 {
        let body = format!("line one {i}\nline two\nline three\nline four\n");
        old.insert(format!("old/f{i}").into_bytes(), text(&body));
        new.insert(format!("new/g{i}").into_bytes(), text(&format!("{body}extra\n")));
    }
    // An exact rename survives the limit; basename matches too.
    old.insert(b"old/same".to_vec(), text("exact\n"));
    new.insert(b"new/same2".to_vec(), text("exact\n"));
    old.insert(b"old/keep.pp".to_vec(), text("a\nb\nc\nd\ne\nf\ng\nh\n"));
    new.insert(b"new/keep.pp".to_vec(), text("a\nb\nc\nd\ne\nf\ng\nX\n"));
    let case = Case { old, new };
    for limit in [1, 2, 3, 4, 5, 0] {
        let options = RenameOptions { rename_limit: limit, ..RenameOptions::diff() };
        assert_matches_git(case.clone(), &options);
    }
}

#[test]
fn empty_files_follow_rename_empty() {
    let case = Case {
        old: tree(&[("a/empty", text("")), ("a/full", text("x\n"))]),
        new: tree(&[("b/empty", text("")), ("b/other", text(""))]),
    };
    for rename_empty in [false, true] {
        let options = RenameOptions { rename_empty, ..RenameOptions::diff() };
        assert_matches_git(case.clone(), &options);
    }
}

#[test]
fn five_equal_candidates_keep_the_first_four() {
    // One edited copy of a blob that six sources share: all six tie, git
    // keeps the first four candidates and takes the first.
    let body = "one\ntwo\nthree\nfour\nfive\nsix\n";
    let mut old = BTreeMap::new();
    for i in 0..6 {
        old.insert(format!("s{i}/src{i}.txt").into_bytes(), text(body));
    }
    let new = tree(&[("dst/moved.txt", text(&format!("{body}seven\n")))]);
    assert_matches_git(Case { old, new }, &RenameOptions::diff());
}

/// Blobs plus the binary-ness `*.bin -diff` and `*.txt diff` force.
struct Attributed(std::collections::HashMap<git2::Oid, Vec<u8>>);

impl betadrift_engine::diffcore_rename::BlobSource for Attributed {
    fn blob(
        &mut self,
        oid: git2::Oid,
    ) -> Result<std::borrow::Cow<'_, [u8]>, betadrift_engine::diffcore_rename::BlobError> {
        self.0.blob(oid)
    }

    fn forced_binary(&mut self, path: &[u8]) -> Option<bool> {
        if path.ends_with(b".bin") {
            Some(true)
        } else if path.ends_with(b".txt") {
            Some(false)
        } else {
            None
        }
    }
}

#[test]
fn gitattributes_decide_binary_handling_of_crlf() {
    let lf = "a\nb\nc\nd\n";
    let crlf = "a\r\nb\r\nc\r\nd\r\n";
    let with_nul = "a\r\nb\r\nc\r\nd\r\n\0\n";
    let case = Case {
        old: tree(&[("x/one.bin", text(lf)), ("x/two.txt", text(lf)), ("x/three", text(lf))]),
        new: tree(&[("y/uno.bin", text(crlf)), ("y/dos.txt", text(with_nul)), ("y/tres", text(crlf))]),
    };
    let attributes = "*.bin -diff\n*.txt diff\n";
    let git = Git::new();
    let options = RenameOptions::diff();
    let (theirs, _) = git_records_with_attributes(&git, std::slice::from_ref(&case), &options, Some(attributes));
    let (ours, _) = case.expected_records_with(&options, &mut Attributed(case.blobs()));
    assert_eq!(ours, theirs[0]);
    // Without attributes the answer differs, so the attributes mattered.
    let (plain, _) = case.expected_records(&options);
    assert_ne!(plain, ours);
}
