//! `betadrift sync --as-far-as-possible` against the real `git rebase`: on
//! random stacks that stop, U' is a first-parent commit onto which git
//! rebases cleanly while git stops on its successor, and the synced branch
//! equals git's rebase onto U'. Plus the wording, JSON, exit codes and
//! configuration on the demo.

use crate::common;

use std::path::Path;

use betadrift::scenario::Scenario;
use common::{Sandbox, assert_unchanged, commits, copy_dir, fingerprint};

/// Whether the real `git rebase <onto>` runs through, in a copy of the scenario.
fn git_rebase_is_clean(sandbox: &Sandbox, dir: &Path, onto: &str, name: &str) -> bool {
    let copy = sandbox.path().join(name);
    copy_dir(dir, &copy);
    let out = sandbox.git_output(&copy.join("puppet"), &["-c", "core.editor=true", "rebase", onto]);
    out.status.success()
}

fn dry_run_json(sandbox: &Sandbox, checkout: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["sync", "--as-far-as-possible", "--dry-run", "--json"];
    args.extend_from_slice(extra);
    let run = sandbox.betadrift(checkout, &args);
    let plan: betadrift::output::json::sync::SyncPlan =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    (run.code, serde_json::to_value(&plan).unwrap())
}

/// What one random case showed: whether the stack moved at all.
enum Case {
    Clean,
    Moved,
    Stuck,
}

/// Runs one seed through the oracle (see the module doc).
fn one_seed(seed: u64) -> Case {
    let scenario = common::random::scenario_with(seed, 14);
    let sandbox = Sandbox::new();
    let built = sandbox.build(&scenario);
    let checkout = &built.checkout;
    if common::oracle::predicted(checkout, "origin/production")
        .fates
        .iter()
        .all(|(_, f)| !matches!(f, common::oracle::Fate::Stopped { .. }))
    {
        return Case::Clean;
    }
    let (code, plan) = dry_run_json(&sandbox, checkout, &[]);
    assert_eq!(code, 1, "seed {seed}: held back is a finding: {plan}");
    let onto = plan["onto"].as_str().unwrap().to_owned();
    let held = &plan["held_back"];
    let culprit = held["upstream"]["commit"].as_str().unwrap().to_owned();
    let merge_base = sandbox.git(checkout, &["merge-base", "HEAD", "origin/production"]).trim().to_owned();
    let line = sandbox.git(checkout, &["rev-list", "--first-parent", &format!("{merge_base}..origin/production")]);
    assert!(line.lines().any(|c| c == culprit), "seed {seed}: {culprit} is on the first-parent line");
    let parent = sandbox.git(checkout, &["rev-parse", &format!("{culprit}^")]).trim().to_owned();
    assert_eq!(parent, onto, "seed {seed}: U' is the first parent of the commit holding the rest back");
    assert!(
        !git_rebase_is_clean(&sandbox, &built.dir, &culprit, "git-successor"),
        "seed {seed}: git stops on {culprit}"
    );
    let taken = sandbox.git(checkout, &["rev-list", "--count", &format!("{merge_base}..{onto}")]);
    assert_eq!(plan["taken"].as_u64().unwrap().to_string(), taken.trim(), "seed {seed}");
    if onto == merge_base {
        let before = fingerprint(checkout);
        let run = sandbox.betadrift(checkout, &["sync", "--as-far-as-possible"]);
        assert_eq!(run.code, 1, "seed {seed}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("sync held back"), "seed {seed}: {}", run.stdout);
        assert_unchanged(&before, &fingerprint(checkout));
        return Case::Stuck;
    }
    let copy = sandbox.path().join("git-onto");
    copy_dir(&built.dir, &copy);
    let git_checkout = copy.join("puppet");
    let out = sandbox.git_output(&git_checkout, &["-c", "core.editor=true", "rebase", &onto]);
    assert!(out.status.success(), "seed {seed}: git rebase {onto} stops: {}", String::from_utf8_lossy(&out.stderr));
    let run = sandbox.betadrift(checkout, &["sync", "--as-far-as-possible"]);
    assert_eq!(run.code, 1, "seed {seed}: {}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("moved refs/heads/production"), "seed {seed}: {}", run.stdout);
    assert_eq!(commits(&sandbox, checkout, &onto), commits(&sandbox, &git_checkout, &onto), "seed {seed}");
    assert_eq!(sandbox.git(checkout, &["merge-base", "HEAD", "origin/production"]).trim(), onto, "seed {seed}");
    assert_eq!(sandbox.git(checkout, &["status", "--porcelain"]), "", "seed {seed}: worktree follows");
    Case::Moved
}

#[test]
fn random_stacks_go_as_far_as_git_goes() {
    let (mut moved, mut stuck) = (0, 0);
    for seed in 1..600u64 {
        match one_seed(seed) {
            Case::Clean => {}
            Case::Moved => moved += 1,
            Case::Stuck => stuck += 1,
        }
        if moved >= 30 && stuck >= 8 {
            break;
        }
    }
    assert!(moved >= 30 && stuck >= 8, "only {moved} partial syncs and {stuck} stuck stacks");
}

/// The demo, whose rebase stops at #7 and #8, without the hand edit.
fn demo() -> Scenario {
    let mut s = Scenario::demo();
    s.dirty = Default::default();
    s
}

#[test]
fn dry_run_says_where_and_what_holds_the_rest_back() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&demo());
    let before = fingerprint(&built.checkout);
    let run = sandbox.betadrift(&built.checkout, &["sync", "--as-far-as-possible", "--dry-run"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    insta::assert_snapshot!(run.stdout);
    assert_unchanged(&before, &fingerprint(&built.checkout));
}

#[test]
fn without_the_flag_the_refusal_names_it() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&demo());
    let run = sandbox.betadrift(&built.checkout, &["sync"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("sync --as-far-as-possible"), "{}", run.stdout);
}

#[test]
fn the_configuration_makes_the_timer_go_as_far_as_possible() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&demo());
    let config = sandbox.path().join("config.toml");
    std::fs::write(&config, "[sync]\nas_far_as_possible = true\n").unwrap();
    let (_, plan) = dry_run_json(&sandbox, &built.checkout, &[]);
    let onto = plan["onto"].as_str().unwrap();
    let run = sandbox.betadrift(&built.checkout, &["sync", "--config", config.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("held back at"), "{}", run.stdout);
    assert_eq!(sandbox.git(&built.checkout, &["merge-base", "HEAD", "origin/production"]).trim(), onto);
    let undo = sandbox.betadrift(&built.checkout, &["undo", "--config", config.to_str().unwrap()]);
    assert_eq!(undo.code, 0, "a partial sync is undone like any other: {}{}", undo.stdout, undo.stderr);
}

#[test]
fn check_shows_where_the_stack_is_held_back() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&demo());
    let run = sandbox.betadrift(&built.checkout, &["check"]);
    assert_eq!(run.code, 1);
    let (_, plan) = dry_run_json(&sandbox, &built.checkout, &[]);
    let onto = &plan["onto"].as_str().unwrap()[..10];
    assert!(run.stdout.contains(&format!("held back at {onto} by #")), "{}", run.stdout);
    let json = sandbox.betadrift(&built.checkout, &["check", "--json"]);
    let check: betadrift::output::json::check::Check = serde_json::from_str(&json.stdout).unwrap();
    let held = check.held_back.expect("held_back in check --json");
    assert_eq!(serde_json::to_value(&held).unwrap(), plan["held_back"]);
}

#[test]
fn json_needs_dry_run() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&demo());
    let run = sandbox.betadrift(&built.checkout, &["sync", "--json"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
}

/// The demo with a first upstream commit that adds files, so that a
/// partial sync also writes the working tree.
fn demo_with_files_to_take() -> Scenario {
    let mut s = demo();
    let files = (0..4).map(|i| (format!("modules/new/file{i}.pp"), format!("class new{i} {{}}\n"))).collect();
    let first = betadrift::scenario::CommitSpec {
        id: "u-new-module".into(),
        message: Some("new: a module upstream adds\n".into()),
        files,
        ..Default::default()
    };
    s.later.insert(0, first);
    s
}

#[test]
fn sigkill_at_every_step_of_a_partial_sync_is_recoverable() {
    common::crash::sigkill_at_every_step(
        &|sandbox| sandbox.build(&demo_with_files_to_take()),
        &["sync", "--as-far-as-possible"],
    );
}
