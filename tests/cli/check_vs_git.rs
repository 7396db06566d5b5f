//! The differential suite: betadrift's prediction against real `git rebase`
//! (git 2.47, hermetic config, `--skip` at every stop). Compared: which
//! commits are skipped as already upstream, which are dropped as empty,
//! every stop with its unmerged paths, the tree of every rebased commit and
//! the final tree.

use crate::common;

use betadrift::scenario::Scenario;
use common::Sandbox;
use common::oracle::{git_rebase, predicted, try_git_rebase};

/// Builds the scenario, predicts, rebases for real, and compares.
fn assert_same_as_git(toml: &str) {
    let scenario = Scenario::from_toml(toml).expect("valid scenario");
    match compare(&scenario) {
        Ok(Compared::Same) => {}
        Ok(Compared::GitBug(bug)) => panic!("git itself failed: {bug}"),
        Err(message) => panic!("{message}"),
    }
}

/// How a comparison went, when it did not find a difference.
enum Compared {
    Same,
    /// git 2.47 aborted with an internal error (`BUG:`): nothing to compare.
    GitBug(String),
}

/// Compares betadrift with git on one scenario; the error describes the difference.
fn compare(scenario: &Scenario) -> Result<Compared, String> {
    let sandbox = Sandbox::new();
    let built = sandbox.build(scenario);
    let ours = predicted(&built.checkout, "origin/production");
    let theirs = match try_git_rebase(&sandbox, &built.checkout, "origin/production") {
        Ok(theirs) => theirs,
        Err(bug) => return Ok(Compared::GitBug(bug)),
    };
    if std::env::var_os("BETADRIFT_SHOW").is_some() {
        eprintln!("FATES {}: {:?}", scenario.name, theirs.fates.iter().map(|f| &f.1).collect::<Vec<_>>());
    }
    if ours == theirs {
        return Ok(Compared::Same);
    }
    let mut message = format!("scenario {}:", scenario.name);
    for (i, (a, b)) in ours.fates.iter().zip(&theirs.fates).enumerate() {
        if a != b {
            message.push_str(&format!("\n  #{} {}\n    betadrift: {:?}\n    git:       {:?}", i + 1, b.0, a.1, b.1));
        }
    }
    if ours.fates.len() != theirs.fates.len() || ours.final_tree != theirs.final_tree {
        message.push_str(&format!("\n  betadrift: {ours:?}\n  git:       {theirs:?}"));
    }
    Err(message)
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

/// Both sides edit line three of `a.txt` differently: a text conflict.
pub const LINE_THREE_BOTH_SIDES: &str = r#"
[[local]]
id = "l1"
message = "local edits line three\n"
edit = [{ path = "a.txt", find = "three\n", replace = "THREE (local)\n" }]
[[later]]
id = "u1"
message = "upstream edits line three\n"
edit = [{ path = "a.txt", find = "three\n", replace = "THREE (upstream)\n" }]
"#;

pub fn case(name: &str, body: &str) -> String {
    format!("name = \"{name}\"\n{BASE}\n{body}")
}

#[test]
fn content_conflict() {
    assert_same_as_git(&case("content", LINE_THREE_BOTH_SIDES));
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

/// Issue 16, class 1: a local commit that starts empty is kept and rebased
/// even when upstream has an empty commit (`rev-list --cherry-pick` marks
/// both, the sequencer keeps the local one).
#[test]
fn empty_local_commits_are_kept_when_upstream_has_empty_commits() {
    assert_same_as_git(&case(
        "empty-both",
        r#"
[[local]]
id = "l1"
message = "local: an empty commit\n"
empty = true
[[local]]
id = "l2"
message = "local: a change\n"
edit = [{ path = "a.txt", find = "eight\n", replace = "EIGHT\n" }]
[[local]]
id = "l3"
message = "local: another empty commit\n"
empty = true
[[later]]
id = "u1"
message = "upstream: an empty commit\n"
empty = true
[[later]]
id = "u2"
message = "upstream change\n"
edit = [{ path = "b.txt", find = "beta", replace = "BETA" }]
"#,
    ));
}

/// Issue 16, class 2: the same change to a file whose mode differs
/// between the local and the upstream copy, neither changing it, has one
/// patch-id: git skips the local commit. Also when upstream reverts it
/// later (the local copy is skipped all the same, and the revert stands).
#[test]
fn a_mode_neither_side_changes_does_not_hide_a_change_already_upstream() {
    assert_same_as_git(&case(
        "mode-only",
        r#"
[[local]]
id = "l1"
message = "local: edit a.txt (100644 here)\n"
edit = [{ path = "a.txt", find = "three\n", replace = "THREE\n" }]
[[local]]
id = "l2"
message = "local: edit b.txt (100644 here)\n"
edit = [{ path = "b.txt", find = "gamma\n", replace = "GAMMA\n" }]
[[local]]
id = "l3"
message = "local: builds on the b.txt edit\n"
edit = [{ path = "b.txt", find = "GAMMA\n", replace = "GAMMA!\n" }]
[[later]]
id = "u1"
message = "upstream: a.txt and b.txt become executable\n"
exec = ["a.txt", "b.txt"]
[[later]]
id = "u2"
message = "upstream: the same a.txt edit\n"
edit = [{ path = "a.txt", find = "three\n", replace = "THREE\n" }]
[[later]]
id = "u3"
message = "upstream: the same b.txt edit\n"
edit = [{ path = "b.txt", find = "gamma\n", replace = "GAMMA\n" }]
[[later]]
id = "u4"
revert = "u3"
message = "Revert the b.txt edit\n"
"#,
    ));
}

/// Issue 16, class 3: a file moved aside is named `path~<abbrev>
/// (<subject>)` from the raw subject: a CRLF subject keeps its CR, a
/// message with an `encoding` header is re-encoded to UTF-8, invalid UTF-8
/// without one is kept as it is.
#[test]
fn files_moved_aside_are_named_from_the_raw_subject() {
    // TOML basic strings: `\r\n` are TOML's escapes, `\\xNN` become `\xNN`
    // for the scenario's raw_escapes.
    let locals = [
        ("crlf", r"local: CRLF subject\r\n\r\nbody\r\n", None),
        ("latin1", r"local: caf\\xe9 \\xbd\n", Some("ISO-8859-1")),
        ("cp1252", r"local: \\x93quoted\\x94\n", Some("windows-1252")),
        ("raw", r"local: invalid \\xff\\xfe\n", None),
        ("unknown", r"local: unknown \\xe9\n", Some("no-such-encoding")),
    ];
    let mut body = String::new();
    for (i, (id, message, encoding)) in locals.iter().enumerate() {
        let encoding = encoding.map(|e| format!("encoding = \"{e}\"\n")).unwrap_or_default();
        body.push_str(&format!(
            "[[local]]\nid = \"{id}\"\nraw_escapes = true\n{encoding}message = \"{message}\"\n\
             files = {{ \"conf{i}\" = \"a file\\n\", \"link{i}\" = \"a file\\n\" }}\n"
        ));
    }
    for i in 0..locals.len() {
        body.push_str(&format!(
            "[[later]]\nid = \"u{i}\"\nmessage = \"upstream: conf{i}/ and link{i}\\n\"\n\
             files = {{ \"conf{i}/main.yaml\" = \"key: value\\n\" }}\n\
             symlinks = {{ \"link{i}\" = \"target\" }}\n"
        ));
    }
    assert_same_as_git(&case("raw-subjects", &body));
}

/// Issue 16, class 4: a path that is a file in the patch's base and in the
/// patch and a directory upstream (here a file an earlier stopping patch
/// added). A later patch that stops for its own reason reports only its own
/// conflict (the directory is taken whole); one whose merge walks into the
/// directory (upstream moved a file the patch edits there) also reports the
/// file/directory conflict, as git does.
#[test]
fn a_file_the_patch_keeps_where_upstream_has_a_directory() {
    assert_same_as_git(&case(
        "df-phantom",
        r#"
[[local]]
id = "l1"
message = "local adds conf, a directory upstream\n"
files = { "conf" = "plain file\n" }
[[local]]
id = "l2"
message = "local edits line three\n"
edit = [{ path = "a.txt", find = "three\n", replace = "THREE (local)\n" }]
[[local]]
id = "l3"
message = "local edits dir/x.pp\n"
edit = [{ path = "dir/x.pp", find = "present", replace = "absent" }]
[[later]]
id = "u1"
message = "upstream adds a directory named conf\n"
files = { "conf/main.yaml" = "key: value\n" }
[[later]]
id = "u2"
message = "upstream edits line three\n"
edit = [{ path = "a.txt", find = "three\n", replace = "THREE (upstream)\n" }]
[[later]]
id = "u3"
message = "upstream moves dir/x.pp into conf/\n"
rename = [{ from = "dir/x.pp", to = "conf/x.pp" }]
[[later]]
id = "u4"
message = "upstream edits conf/x.pp\n"
edit = [{ path = "conf/x.pp", find = "class x", replace = "class conf::x" }]
"#,
    ));
}

/// Issue 16, class 4 (found on real history: old submodules turned into
/// directories upstream). When walking the directories rename detection
/// needs at least triples the paths of the merge, merge-ort starts over with
/// the renames it found cached, and the second walk takes directories changed
/// on one side whole: a file the patch keeps unchanged where upstream put a
/// directory then vanishes without git's "file/directory" message, even when
/// the pick stops for another reason (here a modify/delete).
#[test]
fn a_merge_git_restarts_after_renames_reports_no_phantom_file_directory_conflict() {
    let mut base_files = String::from("\"m/z\" = \"was a submodule\\n\"\n\"m/keep.txt\" = \"keep\\n\"\n");
    let mut upstream_edits = String::new();
    for i in 0..30 {
        base_files.push_str(&format!("\"big/f{i:02}.pp\" = \"class f{i} {{\\n  notify {{ 'f{i}': }}\\n}}\\n\"\n"));
        upstream_edits.push_str(&format!("{{ path = \"big/f{i:02}.pp\", find = \"notify\", replace = \"warn\" }},\n"));
    }
    let body = format!(
        r#"
[[upstream]]
id = "tree"
message = "the submodule and the big directory\n"
[upstream.files]
{base_files}
[[local]]
id = "l1"
message = "local edits a.txt, which upstream deletes\n"
edit = [{{ path = "a.txt", find = "three\n", replace = "THREE (local)\n" }}]
[[later]]
id = "u1"
message = "upstream deletes a.txt, turns m/z into a directory, edits big/\n"
delete = ["a.txt", "m/z"]
files = {{ "m/z/init.pp" = "class z {{}}\n", "m/z/params.pp" = "class z::params {{}}\n" }}
edit = [
{upstream_edits}]
"#
    );
    assert_same_as_git(&case("restart-after-renames", &body));
}

/// Issue 16, classes 5 and 6: stops caused by upstream directory renames
/// (git's "file location" and "implicit dir rename"), their kinds compared
/// with git's `CONFLICT (…)` lines.
#[test]
fn directory_rename_stops_and_their_kinds() {
    assert_same_as_git(&case("dir-rename-kinds", DIRECTORY_RENAMES));
}

/// Upstream moves dir/ into modules/, where v.pp already is; local patches
/// add files to dir/: w.pp ("file location"), v.pp ("implicit dir rename":
/// modules/v.pp is in the way), u.pp where upstream adds modules/u.pp too.
pub const DIRECTORY_RENAMES: &str = r#"
[[upstream]]
id = "modules"
message = "modules/v.pp\n"
files = { "modules/v.pp" = "class v {}\n" }
[[local]]
id = "l1"
message = "local adds a file in dir/\n"
files = { "dir/w.pp" = "class w {}\n" }
[[local]]
id = "l2"
message = "local adds dir/v.pp, in the way upstream\n"
files = { "dir/v.pp" = "class v { local }\n" }
[[local]]
id = "l3"
message = "local adds dir/u.pp, which upstream adds as modules/u.pp\n"
files = { "dir/u.pp" = "class u { local }\n" }
[[later]]
id = "u1"
message = "upstream adds modules/u.pp\n"
files = { "modules/u.pp" = "class u { upstream }\n" }
[[later]]
id = "u2"
message = "upstream moves dir/ to modules/\n"
rename = [{ from = "dir/x.pp", to = "modules/x.pp" }, { from = "dir/y.pp", to = "modules/y.pp" }, { from = "dir/z.pp", to = "modules/z.pp" }]
"#;

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
    compare_random(random_range());
}

/// The full sweep: seeds 1 to 3,000 (a quarter of an hour on two cores).
/// `cargo test --release -p betadrift --test cli random_scenarios_3000 -- --ignored`
#[test]
#[ignore]
fn random_scenarios_3000() {
    compare_random(1..3001);
}

/// Compares every seed of `range` on two threads; fails naming each case
/// that differs (saved as a scenario file), and if git itself aborted with
/// an internal error (`BUG:`, so there is nothing to compare) on more than
/// one case in fifty.
fn compare_random(range: std::ops::Range<u64>) {
    let threads = 2u64;
    let (failures, git_bugs): (Vec<String>, Vec<String>) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = range.clone();
                scope.spawn(move || {
                    let (mut failed, mut git_bugs) = (Vec::new(), Vec::new());
                    for seed in range.filter(|s| s % threads == t) {
                        let scenario = common::random::scenario(seed);
                        let outcome = std::panic::catch_unwind(|| compare(&scenario));
                        let message = match outcome {
                            Ok(Ok(Compared::Same)) => continue,
                            Ok(Ok(Compared::GitBug(bug))) => {
                                git_bugs.push(format!("seed {seed}: {bug}"));
                                continue;
                            }
                            Ok(Err(m)) => m,
                            Err(_) => format!("seed {seed}: panicked"),
                        };
                        let saved = common::random::save_failure(&scenario);
                        failed.push(format!("{message}\n  saved as {}", saved.display()));
                    }
                    (failed, git_bugs)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).fold((Vec::new(), Vec::new()), |mut acc, (f, b)| {
            acc.0.extend(f);
            acc.1.extend(b);
            acc
        })
    });
    let total = range.end - range.start;
    eprintln!(
        "random cases, seeds {}..={}: {} compared, {} agree with git; git aborted on {}{}",
        range.start,
        range.end - 1,
        total - git_bugs.len() as u64,
        total - git_bugs.len() as u64 - failures.len() as u64,
        git_bugs.len(),
        git_bugs.iter().map(|b| format!("\n  {b}")).collect::<String>()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} random cases differ from git:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(git_bugs.len() as u64 * 50 <= total, "git aborted on too many cases to trust the sweep");
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
