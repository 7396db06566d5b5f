//! The differential suite: betadrift's prediction against real `git rebase`
//! (git 2.47, hermetic config, `--skip` at every stop). Compared: which
//! commits are skipped as already upstream, which are dropped as empty,
//! every stop with its unmerged paths, the tree of every rebased commit and
//! the final tree.

use crate::common;

use betadrift::scenario::Scenario;
use common::Sandbox;
use common::oracle::{git_rebase, predicted};

/// Builds the scenario, predicts, rebases for real, and compares.
fn assert_same_as_git(toml: &str) {
    let scenario = Scenario::from_toml(toml).expect("valid scenario");
    if let Err(message) = compare(&scenario) {
        panic!("{message}");
    }
}

/// Compares betadrift with git on one scenario; the error describes the difference.
fn compare(scenario: &Scenario) -> Result<(), String> {
    let sandbox = Sandbox::new();
    let built = sandbox.build(scenario);
    let ours = predicted(&built.checkout, "origin/production");
    let theirs = git_rebase(&sandbox, &built.checkout, "origin/production");
    if std::env::var_os("BETADRIFT_SHOW").is_some() {
        eprintln!("FATES {}: {:?}", scenario.name, theirs.fates.iter().map(|f| &f.1).collect::<Vec<_>>());
    }
    if ours == theirs {
        Ok(())
    } else {
        Err(format!("scenario {}:\nbetadrift: {ours:?}\ngit:       {theirs:?}", scenario.name))
    }
}

/// A base with a few files every case can edit.
const BASE: &str = r#"
start = "2026-01-01T00:00:00Z"
[[upstream]]
id = "base"
message = "base\n"
[upstream.files]
"a.txt" = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n"
"b.txt" = "alpha\nbeta\ngamma\ndelta\nepsilon\n"
"dir/x.pp" = "class x {\n  file { '/etc/x': ensure => present }\n}\n"
"dir/y.pp" = "class y {\n  service { 'y': ensure => running }\n}\n"
"dir/z.pp" = "class z {\n  package { 'z': ensure => latest }\n}\n"
"link" = "placeholder\n"
"#;

fn case(name: &str, body: &str) -> String {
    format!("name = \"{name}\"\n{BASE}\n{body}")
}

#[test]
fn content_conflict() {
    assert_same_as_git(&case(
        "content",
        r#"
[[local]]
id = "l1"
message = "local edits line three\n"
edit = [{ path = "a.txt", find = "three\n", replace = "THREE (local)\n" }]
[[later]]
id = "u1"
message = "upstream edits line three\n"
edit = [{ path = "a.txt", find = "three\n", replace = "THREE (upstream)\n" }]
"#,
    ));
}

#[test]
fn adjacent_edits_conflict_and_separated_edits_merge() {
    assert_same_as_git(&case(
        "adjacent",
        r#"
[[local]]
id = "l1"
message = "local edits line four\n"
edit = [{ path = "a.txt", find = "four\n", replace = "FOUR\n" }]
[[local]]
id = "l2"
message = "local edits line nine\n"
edit = [{ path = "a.txt", find = "nine\n", replace = "NINE\n" }]
[[later]]
id = "u1"
message = "upstream edits lines three and six\n"
edit = [{ path = "a.txt", find = "three\n", replace = "THREE\n" }, { path = "a.txt", find = "six\n", replace = "SIX\n" }]
"#,
    ));
}

#[test]
fn modify_delete_both_ways() {
    assert_same_as_git(&case(
        "modify-delete",
        r#"
[[local]]
id = "l1"
message = "local modifies b\n"
edit = [{ path = "b.txt", find = "gamma", replace = "GAMMA" }]
[[local]]
id = "l2"
message = "local deletes dir/y.pp\n"
delete = ["dir/y.pp"]
[[later]]
id = "u1"
message = "upstream deletes b\n"
delete = ["b.txt"]
[[later]]
id = "u2"
message = "upstream modifies dir/y.pp\n"
edit = [{ path = "dir/y.pp", find = "running", replace = "stopped" }]
"#,
    ));
}

#[test]
fn add_add() {
    assert_same_as_git(&case(
        "add-add",
        r#"
[[local]]
id = "l1"
message = "local adds new.pp\n"
files = { "new.pp" = "class new {\n  # local\n}\n" }
[[local]]
id = "l2"
message = "local adds same.pp\n"
files = { "same.pp" = "identical\n" }
[[later]]
id = "u1"
message = "upstream adds new.pp and same.pp\n"
files = { "new.pp" = "class new {\n  # upstream\n}\n", "same.pp" = "identical\n" }
"#,
    ));
}

#[test]
fn rename_on_one_side_edit_on_the_other() {
    assert_same_as_git(&case(
        "rename-edit",
        r#"
[[local]]
id = "l1"
message = "local edits a.txt\n"
edit = [{ path = "a.txt", find = "seven\n", replace = "SEVEN\n" }]
[[local]]
id = "l2"
message = "local renames dir/x.pp\n"
rename = [{ from = "dir/x.pp", to = "dir/x_renamed.pp" }]
[[later]]
id = "u1"
message = "upstream renames a.txt\n"
rename = [{ from = "a.txt", to = "docs/a.txt" }]
[[later]]
id = "u2"
message = "upstream edits dir/x.pp\n"
edit = [{ path = "dir/x.pp", find = "present", replace = "absent" }]
"#,
    ));
}

#[test]
fn rename_rename_and_rename_delete() {
    assert_same_as_git(&case(
        "rename-rename",
        r#"
[[local]]
id = "l1"
message = "local renames b.txt one way\n"
rename = [{ from = "b.txt", to = "b-local.txt" }]
[[local]]
id = "l2"
message = "local renames dir/z.pp\n"
rename = [{ from = "dir/z.pp", to = "z.pp" }]
[[later]]
id = "u1"
message = "upstream renames b.txt another way\n"
rename = [{ from = "b.txt", to = "b-upstream.txt" }]
[[later]]
id = "u2"
message = "upstream deletes dir/z.pp\n"
delete = ["dir/z.pp"]
"#,
    ));
}

#[test]
fn directory_rename_with_a_file_added_in_the_old_directory() {
    assert_same_as_git(&case(
        "dir-rename",
        r#"
[[local]]
id = "l1"
message = "local adds a file in dir/\n"
files = { "dir/w.pp" = "class w {}\n" }
[[local]]
id = "l2"
message = "local edits a.txt\n"
edit = [{ path = "a.txt", find = "two\n", replace = "TWO\n" }]
[[later]]
id = "u1"
message = "upstream moves dir/ to modules/\n"
rename = [{ from = "dir/x.pp", to = "modules/x.pp" }, { from = "dir/y.pp", to = "modules/y.pp" }, { from = "dir/z.pp", to = "modules/z.pp" }]
"#,
    ));
}

#[test]
fn mode_changes() {
    assert_same_as_git(&case(
        "modes",
        r#"
[[local]]
id = "l1"
message = "local makes a.txt executable\n"
exec = ["a.txt"]
[[local]]
id = "l2"
message = "local makes b.txt executable and edits it\n"
exec = ["b.txt"]
edit = [{ path = "b.txt", find = "alpha", replace = "ALPHA" }]
[[later]]
id = "u1"
message = "upstream edits a.txt and b.txt\n"
edit = [{ path = "a.txt", find = "ten\n", replace = "TEN\n" }, { path = "b.txt", find = "epsilon", replace = "EPSILON" }]
[[later]]
id = "u2"
message = "upstream makes b.txt executable\n"
exec = ["b.txt"]
"#,
    ));
}

#[test]
fn binary_files() {
    assert_same_as_git(&case(
        "binary",
        r#"
[[local]]
id = "l0"
message = "local adds two binaries\n"
binary = { "img/a.bin" = "00 01 02 03 04", "img/b.bin" = "00 ff ee dd" }
[[later]]
id = "u1"
message = "upstream adds the same two binaries, one differently\n"
binary = { "img/a.bin" = "00 01 02 03 04", "img/b.bin" = "00 aa bb cc" }
"#,
    ));
}

#[test]
fn symlinks() {
    assert_same_as_git(&case(
        "symlinks",
        r#"
[[local]]
id = "l1"
message = "local turns link into a symlink to a.txt\n"
symlinks = { "link" = "a.txt" }
[[local]]
id = "l2"
message = "local adds a symlink\n"
symlinks = { "current" = "releases/1" }
[[later]]
id = "u1"
message = "upstream adds the same symlink pointing elsewhere\n"
symlinks = { "current" = "releases/2" }
"#,
    ));
}

#[test]
fn whitespace_only_twin_is_already_upstream() {
    assert_same_as_git(&case(
        "whitespace-twin",
        r#"
[[local]]
id = "l1"
message = "local: fix spacing\n"
edit = [{ path = "dir/z.pp", find = "package { 'z': ensure => latest }", replace = "package { 'z':  ensure => installed }" }]
[[later]]
id = "u1"
message = "upstream: same change, other whitespace\n"
edit = [{ path = "dir/z.pp", find = "package { 'z': ensure => latest }", replace = "package { 'z': ensure =>installed }" }]
"#,
    ));
}

#[test]
fn fully_and_partially_upstreamed() {
    assert_same_as_git(&case(
        "upstreamed",
        r#"
[[local]]
id = "full"
message = "local: fully upstreamed later\n"
edit = [{ path = "a.txt", find = "one\n", replace = "ONE\n" }]
[[local]]
id = "partial"
message = "local: partly upstreamed later\n"
edit = [{ path = "b.txt", find = "alpha", replace = "ALPHA" }, { path = "b.txt", find = "epsilon", replace = "EPSILON" }]
[[later]]
id = "u-full"
pick = "full"
message = "upstream: the full change\n"
[[later]]
id = "u-partial"
message = "upstream: half of the change\n"
edit = [{ path = "b.txt", find = "alpha", replace = "ALPHA" }]
"#,
    ));
}

#[test]
fn patch_depending_on_skipped_and_on_stopped_patches() {
    assert_same_as_git(&case(
        "dependent",
        r#"
[[local]]
id = "p1"
message = "local adds a line (also upstream)\n"
edit = [{ path = "a.txt", find = "five\n", replace = "five\nfive and a half\n" }]
[[local]]
id = "p2"
message = "local edits the added line\n"
edit = [{ path = "a.txt", find = "five and a half\n", replace = "five and three quarters\n" }]
[[local]]
id = "p3"
message = "local edits line one of b\n"
edit = [{ path = "b.txt", find = "alpha", replace = "ALPHA (local)" }]
[[local]]
id = "p4"
message = "local builds on p3\n"
edit = [{ path = "b.txt", find = "ALPHA (local)", replace = "ALPHA (local, again)" }]
[[later]]
id = "u1"
pick = "p1"
message = "upstream: the same added line\n"
[[later]]
id = "u2"
message = "upstream edits line one of b\n"
edit = [{ path = "b.txt", find = "alpha", replace = "ALPHA (upstream)" }]
"#,
    ));
}

#[test]
fn empty_commits() {
    assert_same_as_git(&case(
        "empty",
        r#"
[[local]]
id = "l1"
message = "local: an empty commit\n"
empty = true
[[local]]
id = "l2"
message = "local: a real change\n"
edit = [{ path = "a.txt", find = "eight\n", replace = "EIGHT\n" }]
[[later]]
id = "u1"
message = "upstream change\n"
edit = [{ path = "b.txt", find = "beta", replace = "BETA" }]
"#,
    ));
}

#[test]
fn file_directory_conflicts() {
    assert_same_as_git(&case(
        "file-dir",
        r#"
[[local]]
id = "l1"
message = "local adds a file where upstream adds a directory\n"
files = { "conf" = "plain file\n" }
[[local]]
id = "l2"
message = "local replaces b.txt by a directory\n"
delete = ["b.txt"]
files = { "b.txt/inner" = "inside\n" }
[[later]]
id = "u1"
message = "upstream adds a directory named conf\n"
files = { "conf/main.yaml" = "key: value\n" }
[[later]]
id = "u2"
message = "upstream edits b.txt\n"
edit = [{ path = "b.txt", find = "delta", replace = "DELTA" }]
"#,
    ));
}

#[test]
fn the_demo_puppetmaster() {
    let sandbox = Sandbox::new();
    let mut scenario = Scenario::demo();
    scenario.dirty = Default::default();
    let built = sandbox.build(&scenario);
    let ours = predicted(&built.checkout, "origin/production");
    let theirs = git_rebase(&sandbox, &built.checkout, "origin/production");
    assert_eq!(ours, theirs);
}

/// How many random cases to run: `BETADRIFT_RANDOM_CASES` (default 300),
/// from seed `BETADRIFT_RANDOM_SEED` (default 1).
fn random_range() -> std::ops::Range<u64> {
    let env = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let start = env("BETADRIFT_RANDOM_SEED", 1);
    start..start + env("BETADRIFT_RANDOM_CASES", 300)
}

#[test]
fn random_scenarios() {
    let range = random_range();
    let threads = 2u64;
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = range.clone();
                scope.spawn(move || {
                    let mut failed = Vec::new();
                    for seed in range.filter(|s| s % threads == t) {
                        let scenario = common::random::scenario(seed);
                        let outcome = std::panic::catch_unwind(|| compare(&scenario));
                        let message = match outcome {
                            Ok(Ok(())) => continue,
                            Ok(Err(m)) => m,
                            Err(_) => format!("seed {seed}: panicked"),
                        };
                        let saved = common::random::save_failure(&scenario);
                        failed.push(format!("{message}\n  saved as {}", saved.display()));
                    }
                    failed
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("worker")).collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} random cases differ from git:\n{}",
        failures.len(),
        range.end - range.start,
        failures.join("\n")
    );
}

/// Cases the random generator once found: kept so they stay fixed.
#[test]
fn regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/regressions");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    let mut ran = 0;
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("fixture");
        assert_same_as_git(&text);
        ran += 1;
    }
    eprintln!("{ran} regression fixtures");
}

/// Builds the scenario file named by `BETADRIFT_SCENARIO` into
/// `BETADRIFT_SCENARIO_DIR` and leaves it there, to debug a difference by hand.
#[test]
#[ignore]
fn build_scenario_for_debugging() {
    let (Some(file), Some(dir)) = (std::env::var_os("BETADRIFT_SCENARIO"), std::env::var_os("BETADRIFT_SCENARIO_DIR"))
    else {
        return;
    };
    let scenario = Scenario::from_toml(&std::fs::read_to_string(file).expect("scenario file")).expect("scenario");
    std::fs::create_dir_all(&dir).expect("dir");
    let built = betadrift::scenario::build::build(&scenario, std::path::Path::new(&dir)).expect("build");
    eprintln!("built {}", built.checkout.display());
}
