//! gitattributes in the prediction, against real `git rebase` (issue 17,
//! reproducer 8): the `merge` attribute (`binary`, `union`, `text`, unset,
//! the `binary` macro, names with and without configured drivers),
//! `conflict-marker-size`, and where git reads them during a rebase (the
//! working tree, which holds HEAD: the upstream tip, then each rebased
//! pick; `$GIT_DIR/info/attributes`; `core.attributesFile`; `merge.default`).

use std::path::Path;

use crate::check_vs_git::{LINE_THREE_BOTH_SIDES, case};
use crate::common;

use betadrift::git::repo::Repo;
use betadrift::model::stack::{Patch, Stack, StackOptions};
use betadrift::model::upstream::LocalChange;
use betadrift::output::json::check as wire;
use betadrift::rebase::predict::{PickOutcome, predict};
use betadrift::scenario::Scenario;
use betadrift_engine::attr::Value;
use betadrift_engine::merge::{ConflictKind, Labels, merge_trees_with};
use betadrift_engine::objects::{ObjectRead, Overlay};
use common::Sandbox;
use common::oracle::{Fate, Rebase, git_rebase, predicted};

const UPSTREAM: &str = "origin/production";

/// A case whose merge base adds the files of `files` (a TOML inline table
/// of `.gitattributes` files), then `body`.
fn attributed(name: &str, files: &str, body: &str) -> String {
    case(name, &format!("[[upstream]]\nid = \"attrs\"\nmessage = \"attributes\\n\"\nfiles = {files}\n{body}"))
}

/// Upstream edits line one of `a.txt`, the patch line ten: text merges
/// them cleanly, the binary driver stops. `attributes` is the
/// `.gitattributes` of the merge base.
fn separated_edits(name: &str, attributes: &str) -> String {
    attributed(
        name,
        &format!("{{ \".gitattributes\" = \"{attributes}\" }}"),
        r#"
[[local]]
id = "l1"
message = "local edits line ten\n"
edit = [{ path = "a.txt", find = "ten\n", replace = "TEN\n" }]
[[later]]
id = "u1"
message = "upstream edits line one\n"
edit = [{ path = "a.txt", find = "one\n", replace = "ONE\n" }]
"#,
    )
}

/// Builds the scenario, runs `setup` on the checkout (git config, files in
/// `.git`), then predicts and rebases for real; returns both.
fn both(toml: &str, setup: impl FnOnce(&Sandbox, &Path)) -> (Rebase, Rebase) {
    let scenario = Scenario::from_toml(toml).expect("valid scenario");
    let sandbox = Sandbox::new();
    let built = sandbox.build(&scenario);
    setup(&sandbox, &built.checkout);
    let ours = predicted(&built.checkout, UPSTREAM);
    let theirs = git_rebase(&sandbox, &built.checkout, UPSTREAM);
    (ours, theirs)
}

fn assert_same(toml: &str, setup: impl FnOnce(&Sandbox, &Path)) -> Rebase {
    let (ours, theirs) = both(toml, setup);
    assert_eq!(ours, theirs, "betadrift (left) and git (right) differ");
    theirs
}

fn stops(rebase: &Rebase) -> usize {
    rebase.fates.iter().filter(|(_, f)| matches!(f, Fate::Stopped { .. })).count()
}

fn no_setup(_: &Sandbox, _: &Path) {}

#[test]
fn merge_binary_and_its_spellings_stop_where_text_merges() {
    for (name, attributes) in [
        ("merge-binary", "a.txt merge=binary\\n"),
        ("merge-unset", "*.txt -merge\\n"),
        ("binary-macro", "a.txt binary\\n"),
        ("own-macro", "[attr]locked -merge\\n*.txt locked\\n"),
    ] {
        let git = assert_same(&separated_edits(name, attributes), no_setup);
        assert_eq!(stops(&git), 1, "{name}: git stops on the binary driver");
    }
    // Without the attribute (or with it on another file) the same edits merge.
    let git = assert_same(&separated_edits("merge-elsewhere", "b.txt merge=binary\\n"), no_setup);
    assert_eq!(stops(&git), 0);
}

#[test]
fn later_lines_deeper_files_and_first_values_win() {
    for (name, attributes, stopped) in [
        // The last matching line of a file wins.
        ("last-line", "*.txt merge=binary\\na.txt merge=text\\n", 0),
        ("last-line-binary", "a.txt merge=text\\n*.txt merge=binary\\n", 1),
        // A macro fills only what the line has not decided, last first.
        ("macro-after", "a.txt binary merge=text\\n", 0),
        ("macro-before", "a.txt merge=text binary\\n", 1),
        // `!merge` makes it unspecified again: text.
        ("unspecified", "*.txt -merge\\na.txt !merge\\n", 0),
        // A name without a configured driver, or `merge` set, is text.
        ("unknown-name", "a.txt merge=nosuchdriver\\n", 0),
        ("merge-set", "a.txt merge\\n", 0),
        // Patterns: a slash anchors to the file's directory.
        ("anchored", "/a.txt -merge\\n", 1),
        ("anchored-elsewhere", "dir/a.txt -merge\\n", 0),
        ("glob", "[ab].t?t -merge\\n", 1),
    ] {
        let git = assert_same(&separated_edits(name, attributes), no_setup);
        assert_eq!(stops(&git), stopped, "{name}");
    }
}

#[test]
fn a_subdirectory_file_overrides_the_top_level_one() {
    let toml = attributed(
        "subdirectory",
        r#"{ ".gitattributes" = "*.pp -merge\n", "dir/.gitattributes" = "x.pp merge=text\n[attr]nope -merge\n" }"#,
        r##"
[[local]]
id = "l1"
message = "local edits x and y at the end\n"
edit = [{ path = "dir/x.pp", find = "}\n}\n", replace = "}\n}\n# local\n" }, { path = "dir/y.pp", find = "}\n}\n", replace = "}\n}\n# local\n" }]
[[later]]
id = "u1"
message = "upstream edits x and y at the start\n"
edit = [{ path = "dir/x.pp", find = "class x", replace = "# upstream\nclass x" }, { path = "dir/y.pp", find = "class y", replace = "# upstream\nclass y" }]
"##,
    );
    let git = assert_same(&toml, no_setup);
    // y.pp is binary (top level), x.pp text (its directory's file wins).
    assert_eq!(git.fates[0].1, Fate::Stopped { paths: vec!["dir/y.pp".into()], kinds: vec!["content".into()] });
}

#[test]
fn union_merges_both_sides_of_a_conflict() {
    let toml = attributed("union", r#"{ ".gitattributes" = "a.txt merge=union\n" }"#, LINE_THREE_BOTH_SIDES);
    let git = assert_same(&toml, no_setup);
    assert_eq!(stops(&git), 0, "union never stops on text");
}

#[test]
fn attributes_come_from_head_as_the_rebase_goes() {
    // The patch that adds the attribute merges with the upstream tip's
    // (none): clean. The next pick merges with the first pick's: binary.
    let toml = case(
        "from-head",
        r#"
[[local]]
id = "l1"
message = "local makes a.txt binary and edits line ten\n"
files = { ".gitattributes" = "a.txt -merge\n" }
edit = [{ path = "a.txt", find = "ten\n", replace = "TEN\n" }]
[[local]]
id = "l2"
message = "local edits line nine\n"
edit = [{ path = "a.txt", find = "nine\n", replace = "NINE\n" }]
[[later]]
id = "u1"
message = "upstream edits line one\n"
edit = [{ path = "a.txt", find = "one\n", replace = "ONE\n" }]
"#,
    );
    let git = assert_same(&toml, no_setup);
    assert!(matches!(git.fates[0].1, Fate::Picked(_)), "{git:?}");
    assert!(matches!(git.fates[1].1, Fate::Stopped { .. }), "{git:?}");

    // Upstream's attributes count from the first pick on; a patch that
    // removes them merges with them still in place.
    let toml = case(
        "upstream-attributes",
        r#"
[[local]]
id = "l1"
message = "local edits line ten\n"
edit = [{ path = "a.txt", find = "ten\n", replace = "TEN\n" }]
[[later]]
id = "u1"
message = "upstream makes a.txt binary and edits line one\n"
files = { ".gitattributes" = "a.txt -merge\n" }
edit = [{ path = "a.txt", find = "one\n", replace = "ONE\n" }]
"#,
    );
    let git = assert_same(&toml, no_setup);
    assert_eq!(stops(&git), 1);
}

#[test]
fn info_attributes_and_the_global_file_count_in_their_order() {
    let info = |text: &'static str| {
        move |_: &Sandbox, checkout: &Path| {
            std::fs::create_dir_all(checkout.join(".git/info")).unwrap();
            std::fs::write(checkout.join(".git/info/attributes"), text).unwrap();
        }
    };
    let git = assert_same(&separated_edits("info-binary", "b.txt -merge\\n"), info("a.txt -merge\n"));
    assert_eq!(stops(&git), 1);
    // info/attributes wins over the tree.
    let git = assert_same(&separated_edits("info-text", "a.txt -merge\\n"), info("a.txt merge=text\n"));
    assert_eq!(stops(&git), 0);
    // core.attributesFile loses to the tree, and counts where the tree is silent.
    let global = |text: &'static str| {
        move |sandbox: &Sandbox, checkout: &Path| {
            let file = sandbox.path().join("attributes");
            std::fs::write(&file, text).unwrap();
            sandbox.git(checkout, &["config", "core.attributesFile", file.to_str().unwrap()]);
        }
    };
    let git = assert_same(&separated_edits("global-binary", "b.txt -merge\\n"), global("a.txt -merge\n"));
    assert_eq!(stops(&git), 1);
    let git = assert_same(&separated_edits("global-text", "a.txt merge=text\\n"), global("a.txt -merge\n"));
    assert_eq!(stops(&git), 0);
    // merge.default names the driver of files whose attribute is unspecified.
    let git = assert_same(&separated_edits("default-binary", "b.txt merge=text\\n"), |sandbox, checkout| {
        sandbox.git(checkout, &["config", "merge.default", "binary"]);
    });
    assert_eq!(stops(&git), 1);
}

#[test]
fn conflict_marker_size_shapes_the_conflicted_file_as_git_does() {
    let toml = attributed(
        "marker-size",
        r#"{ ".gitattributes" = "a.txt conflict-marker-size=12\nb.txt conflict-marker-size=x0\n" }"#,
        r#"
[[local]]
id = "l1"
message = "local edits line three of a and b\n"
edit = [{ path = "a.txt", find = "three\n", replace = "THREE (local)\n" }, { path = "b.txt", find = "gamma\n", replace = "GAMMA (local)\n" }]
[[later]]
id = "u1"
message = "upstream edits line three of a and b\n"
edit = [{ path = "a.txt", find = "three\n", replace = "THREE (upstream)\n" }, { path = "b.txt", find = "gamma\n", replace = "GAMMA (upstream)\n" }]
"#,
    );
    let scenario = Scenario::from_toml(&toml).unwrap();
    let sandbox = Sandbox::new();
    let built = sandbox.build(&scenario);
    let repo = Repo::discover(&built.checkout).unwrap();
    let head = repo.head_branch().unwrap();
    let up = repo.resolve_upstream(&head, Some(UPSTREAM)).unwrap();
    let options = StackOptions { snapshot_prefix: String::new(), ..StackOptions::default() };
    let stack = Stack::load(&repo, head, up, &options).unwrap();
    let locals: Vec<LocalChange> = stack.patches.iter().map(Patch::local_change).collect();
    let overlay = Overlay::new(&repo);
    let prediction =
        predict(&repo, &overlay, &stack.index, &locals, stack.upstream.oid, stack.merge_base, false, &[]).unwrap();
    let PickOutcome::Conflict(stop) = &prediction.picks[0].outcome else { panic!("a stop: {prediction:?}") };
    // The stop's merge again, keeping the tree with the conflict markers.
    let subject = format!("{} (local edits line three of a and b)", repo.abbrev(locals[0].oid).unwrap());
    let labels = Labels {
        ancestor: format!("parent of {subject}").into_bytes(),
        ours: b"HEAD".to_vec(),
        theirs: subject.into_bytes(),
    };
    let [base, tip, theirs] = stop.trees;
    let merged = merge_trees_with(&overlay, base, tip, theirs, &labels, &repo.merge_setup()).unwrap();
    let tree = overlay.tree(merged.tree).unwrap();

    let out = sandbox.git_output(&built.checkout, &["rebase", UPSTREAM]);
    assert!(!out.status.success(), "git stops");
    for path in ["a.txt", "b.txt"] {
        let blob = overlay.blob(tree.get(path.as_bytes()).unwrap().oid()).unwrap();
        let worktree = std::fs::read(built.checkout.join(path)).unwrap();
        assert_eq!(String::from_utf8_lossy(&blob), String::from_utf8_lossy(&worktree), "{path}");
    }
    let a = std::fs::read_to_string(built.checkout.join("a.txt")).unwrap();
    assert!(a.contains("<<<<<<<<<<<< HEAD\n"), "{a}");
    let b = std::fs::read_to_string(built.checkout.join("b.txt")).unwrap();
    assert!(b.contains("<<<<<<< HEAD\n"), "{b}");
}

#[test]
fn a_custom_driver_is_a_stop_betadrift_cannot_see_past() {
    let toml = separated_edits("custom-driver", "a.txt merge=keep\\n");
    let with_driver = |command: &'static str| {
        move |sandbox: &Sandbox, checkout: &Path| {
            sandbox.git(checkout, &["config", "merge.keep.driver", command]);
        }
    };
    // A driver that succeeds: git runs through, betadrift says it cannot know.
    let (ours, git) = both(&toml, with_driver("true"));
    assert_eq!(stops(&git), 0);
    assert_eq!(ours.fates[0].1, Fate::Stopped { paths: vec!["a.txt".into()], kinds: vec![] });
    // A driver that fails: git stops, and so does the prediction.
    let (ours, git) = both(&toml, with_driver("false"));
    assert_eq!(stops(&git), 1);
    assert_eq!(ours.fates[0].1, Fate::Stopped { paths: vec!["a.txt".into()], kinds: vec![] });
    // A driver with a setting but no command: git dies in the pick (no
    // `REBASE_HEAD`); the prediction stops there (merge failed).
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::from_toml(&toml).unwrap());
    sandbox.git(&built.checkout, &["config", "merge.keep.name", "no command"]);
    let ours = predicted(&built.checkout, UPSTREAM);
    assert_eq!(ours.fates[0].1, Fate::Stopped { paths: vec![], kinds: vec![] });
    let out = sandbox.git_output(&built.checkout, &["rebase", UPSTREAM]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("custom merge driver keep lacks command line"));

    // `check` says why, in its text and its JSON.
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::from_toml(&toml).unwrap());
    sandbox.git(&built.checkout, &["config", "merge.keep.driver", "true"]);
    let run = sandbox.betadrift(&built.checkout, &["check"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("custom merge driver"), "{}", run.stdout);
    let run = sandbox.betadrift(&built.checkout, &["check", "--json"]);
    let check: wire::Check = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(check.stops, 1);
    let kinds: Vec<ConflictKind> = check.patches.iter().flat_map(|p| p.conflicts.iter().map(|c| c.kind)).collect();
    assert_eq!(kinds, [ConflictKind::CustomDriver]);
}

/// Reproducer 8 of issue 17: `check` said clean where `git rebase` stops.
#[test]
fn check_predicts_the_stop_of_merge_binary() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::from_toml(&separated_edits("reproducer", "a.txt merge=binary\\n")).unwrap());
    let run = sandbox.betadrift(&built.checkout, &["check"]);
    assert_eq!(run.code, 1, "a stop: {}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("STOP at #1"), "{}", run.stdout);
    let out = sandbox.git_output(&built.checkout, &["rebase", UPSTREAM]);
    assert!(!out.status.success(), "git stops too");
}

/// The attribute values themselves, against `git check-attr`: patterns,
/// precedence between lines, directories and `info/attributes`, macros,
/// quoting, and lines git rejects.
#[test]
fn attribute_values_match_git_check_attr() {
    let files = r#"{ ".gitattributes" = "\ufeff*.pp merge=text conflict-marker-size=9\n[attr]locked -merge conflict-marker-size=3\n*.lock locked\ndir/**/deep.* merge=union\n/top.* -merge\n\"q u.txt\" merge=quoted\n!neg merge=negated\nbad na@me merge=bad\n*.mix merge=first locked\n[ab]?.txt merge=class\n*.nope nope\n", "dir/.gitattributes" = "*.pp -merge\n[attr]nope merge=ignored\nsub/*.pp merge=sub\nx.lock !merge\n", "dir/sub/.gitattributes" = "x.* conflict-marker-size=20\n" }"#;
    let scenario = Scenario::from_toml(&attributed("check-attr", files, "")).unwrap();
    let sandbox = Sandbox::new();
    let built = sandbox.build(&scenario);
    let info = "*.info merge=info\n[attr]locked merge=from-info\n";
    std::fs::create_dir_all(built.checkout.join(".git/info")).unwrap();
    std::fs::write(built.checkout.join(".git/info/attributes"), info).unwrap();
    let paths = [
        "a.pp",
        "dir/a.pp",
        "dir/sub/x.pp",
        "dir/sub/y.pp",
        "dir/sub/deeper/x.pp",
        "x.lock",
        "dir/x.lock",
        "dir/sub/deep.txt",
        "dir/deep.txt",
        "top.txt",
        "dir/top.txt",
        "q u.txt",
        "neg",
        "bad",
        "a.mix",
        "a1.txt",
        "ab.txt",
        "c1.txt",
        "y.info",
        "dir/a.nope",
    ];
    let mut args = vec!["check-attr", "merge", "conflict-marker-size", "--"];
    args.extend(paths);
    let git = sandbox.git(&built.checkout, &args);

    let repo = Repo::discover(&built.checkout).unwrap();
    let setup = repo.merge_setup();
    let head = repo.git().head().unwrap().peel_to_tree().unwrap().id();
    let stack = betadrift_engine::attr::Stack::new(&setup.attributes, head);
    let mut ours = String::new();
    for path in paths {
        let values = stack.check(&repo, path.as_bytes(), &[b"merge", b"conflict-marker-size"]).unwrap();
        for (name, value) in ["merge", "conflict-marker-size"].iter().zip(values) {
            let shown = match value {
                Value::Set => "set".to_owned(),
                Value::Unset => "unset".to_owned(),
                Value::Unspecified => "unspecified".to_owned(),
                Value::String(v) => String::from_utf8(v).unwrap(),
            };
            ours.push_str(&format!("{path}: {name}: {shown}\n"));
        }
    }
    assert_eq!(ours, git);
}
