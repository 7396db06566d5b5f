//! `betadrift sync` and `betadrift undo` end to end: the result equals real
//! `git rebase`, fetches from a file URL, refusals change nothing, a SIGKILL
//! at any step loses nothing and `undo` restores, concurrent runs do not
//! corrupt the branch.

use crate::common;

use std::path::Path;

use betadrift::scenario::Scenario;
use common::{Run, Sandbox, assert_unchanged, commits, copy_dir, fingerprint};

/// A stack that rebases cleanly: the demo without the two patches that
/// stop, and without the hand edit.
fn clean_demo() -> Scenario {
    let mut s = Scenario::demo();
    s.local.retain(|c| !c.id.starts_with("p07") && !c.id.starts_with("p08"));
    s.snapshot.clear();
    s.dirty = Default::default();
    s
}

fn run_sync(sandbox: &Sandbox, dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["sync"];
    args.extend_from_slice(extra);
    sandbox.betadrift(dir, &args)
}

#[test]
fn sync_equals_git_rebase() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&clean_demo());
    let copy = sandbox.path().join("git-copy");
    copy_dir(&built.dir, &copy);
    let git_checkout = copy.join("puppet");
    let out = sandbox.git_output(&git_checkout, &["rebase", "origin/production"]);
    assert!(out.status.success(), "git rebase: {}", String::from_utf8_lossy(&out.stderr));

    let run = run_sync(&sandbox, &built.checkout, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("tagged snapshot-202611251200"), "{}", run.stdout);
    let ours = commits(&sandbox, &built.checkout, "origin/production");
    let theirs = commits(&sandbox, &git_checkout, "origin/production");
    assert_eq!(ours, theirs, "trees, authors and messages equal git rebase's");
    assert_eq!(ours.len(), 7, "11 patches, 3 already upstream, 1 empty");
    assert_eq!(sandbox.git(&built.checkout, &["status", "--porcelain"]), "", "worktree and index match the new HEAD");
    let tag = sandbox.git(&built.checkout, &["rev-parse", "snapshot-202611251200"]);
    assert_eq!(tag, sandbox.git(&built.checkout, &["rev-parse", "HEAD"]));
}

#[test]
fn random_clean_stacks_sync_like_git() {
    let mut compared = 0;
    for seed in 1..400u64 {
        let scenario = common::random::scenario(seed);
        let sandbox = Sandbox::new();
        let built = sandbox.build(&scenario);
        if !common::oracle::predicted(&built.checkout, "origin/production")
            .fates
            .iter()
            .all(|(_, f)| !matches!(f, common::oracle::Fate::Stopped { .. }))
        {
            continue;
        }
        let copy = sandbox.path().join("git-copy");
        copy_dir(&built.dir, &copy);
        let git_checkout = copy.join("puppet");
        let out = sandbox.git_output(&git_checkout, &["rebase", "origin/production"]);
        assert!(out.status.success(), "seed {seed}: git rebase: {}", String::from_utf8_lossy(&out.stderr));
        let run = run_sync(&sandbox, &built.checkout, &[]);
        assert!(run.code == 0, "seed {seed}: {}{}", run.stdout, run.stderr);
        assert_eq!(
            commits(&sandbox, &built.checkout, "origin/production"),
            commits(&sandbox, &git_checkout, "origin/production"),
            "seed {seed}"
        );
        compared += 1;
        if compared == 40 {
            break;
        }
    }
    assert!(compared >= 20, "only {compared} clean random stacks");
}

/// Pushes a new commit to the upstream repository; returns its id.
fn push_upstream_commit(sandbox: &Sandbox, built: &betadrift::scenario::build::Built) -> String {
    let work = sandbox.path().join("upstream-work");
    sandbox.git(sandbox.path(), &["clone", "-q", &built.upstream.to_string_lossy(), "upstream-work"]);
    std::fs::write(work.join("README.md"), "new upstream text\n").unwrap();
    sandbox.git(&work, &["commit", "-qam", "upstream: README"]);
    sandbox.git(&work, &["push", "-q", "origin", "HEAD:production"]);
    sandbox.git(&work, &["rev-parse", "HEAD"]).trim().to_owned()
}

#[test]
fn fetch_from_a_file_url_then_sync() {
    let sandbox = Sandbox::new();
    let mut scenario = clean_demo();
    // The checkout has not fetched the later upstream commits yet.
    let later = std::mem::take(&mut scenario.later);
    scenario.later = later[..1].to_vec();
    let built = sandbox.build(&scenario);
    // Upstream gains a commit the checkout has never seen.
    let new_tip = push_upstream_commit(&sandbox, &built);

    let run = run_sync(&sandbox, &built.checkout, &["--fetch"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(sandbox.git(&built.checkout, &["rev-parse", "origin/production"]).trim(), new_tip);
    let base = sandbox.git(&built.checkout, &["merge-base", "HEAD", "origin/production"]);
    assert_eq!(base.trim(), new_tip, "the stack now sits on the fetched upstream");
}

#[test]
fn fetch_comes_before_reading_the_upstream_sha_file() {
    let sandbox = Sandbox::new();
    let mut scenario = clean_demo();
    scenario.later.truncate(1);
    let built = sandbox.build(&scenario);
    let new_tip = push_upstream_commit(&sandbox, &built);
    // As on deployment-prep: the SHA production deployed, which only the
    // fetch brings into the checkout.
    let sha_file = sandbox.path().join("puppet-sha1.txt");
    std::fs::write(&sha_file, format!("{new_tip}\n")).unwrap();

    let run = run_sync(&sandbox, &built.checkout, &["--fetch", "--upstream-sha-file", sha_file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let base = sandbox.git(&built.checkout, &["merge-base", "HEAD", &new_tip]);
    assert_eq!(base.trim(), new_tip, "the stack sits on the SHA from the file");
}

#[test]
fn a_second_sync_in_the_same_minute_completes_without_a_new_tag() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&clean_demo());
    let marker = sandbox.path().join("deployed");
    let config = sandbox.path().join("config.toml");
    std::fs::write(&config, format!("[sync]\npost_update = [\"touch\", {:?}]\n", marker.to_str().unwrap())).unwrap();
    let cfg = config.to_str().unwrap();
    let first = run_sync(&sandbox, &built.checkout, &["--config", cfg]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let synced = sandbox.git(&built.checkout, &["rev-parse", "HEAD"]);
    let undo = sandbox.betadrift(&built.checkout, &["undo", "--config", cfg]);
    assert_eq!(undo.code, 0, "{}{}", undo.stdout, undo.stderr);
    std::fs::remove_file(&marker).unwrap();

    // Same clock, so the same minute: the tag exists and points elsewhere.
    let second = run_sync(&sandbox, &built.checkout, &["--config", cfg]);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(second.stdout.contains("exists already"), "{}", second.stdout);
    assert!(marker.exists(), "the post-update command ran");
    assert_eq!(sandbox.git(&built.checkout, &["rev-parse", "snapshot-202611251200"]), synced, "the first tag stays");
    let list = sandbox.betadrift(&built.checkout, &["undo", "--list", "--config", cfg]);
    assert!(!list.stdout.contains("INTERRUPTED"), "no journal left behind: {}", list.stdout);
}

#[test]
fn sync_records_first_seen_times_in_the_ledger() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&clean_demo());
    let run = run_sync(&sandbox, &built.checkout, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let ledger = built.checkout.join(".git/betadrift/ledger.json");
    let text = std::fs::read_to_string(&ledger).expect("sync writes the ledger");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let patches = json["patches"].as_object().expect("patches by identity");
    assert_eq!(patches.len(), 11, "every patch of the synced stack: {text}");
    // sync does not search snapshot tags; the next report does, once.
    assert!(patches.values().all(|e| e.get("backfilled").is_none()), "{text}");
    let run = sandbox.betadrift(&built.checkout, &["report", "--repo", "."]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&ledger).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let backfilled = json["patches"].as_object().unwrap().values().filter(|e| e["backfilled"] == true).count();
    let on_stack = sandbox.git(&built.checkout, &["rev-list", "--count", "origin/production..HEAD"]);
    assert_eq!(backfilled.to_string(), on_stack.trim(), "every patch still on the stack: {text}");
}

#[test]
fn unreachable_remote_is_an_error_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&clean_demo());
    sandbox.git(&built.checkout, &["remote", "set-url", "origin", "/nonexistent/upstream.git"]);
    let before = fingerprint(&built.checkout);
    let run = run_sync(&sandbox, &built.checkout, &["--fetch"]);
    run.assert_error("fetching origin");
    assert_unchanged(&before, &fingerprint(&built.checkout));
}

mod refusals {
    use super::*;

    #[test]
    fn dirty_tree() {
        let sandbox = Sandbox::new();
        let mut scenario = clean_demo();
        scenario.dirty = Scenario::demo().dirty;
        let built = sandbox.build(&scenario);
        let before = fingerprint(&built.checkout);
        run_sync(&sandbox, &built.checkout, &[]).assert_error("has uncommitted changes");
        assert_unchanged(&before, &fingerprint(&built.checkout));
    }

    #[test]
    fn operation_in_progress() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&Scenario::demo());
        let dir = &built.checkout;
        sandbox.git(dir, &["stash", "-q", "--include-untracked"]);
        assert!(!sandbox.git_output(dir, &["rebase", "origin/production"]).status.success());
        let before = fingerprint(dir);
        run_sync(&sandbox, dir, &[]).assert_error("rebase is in progress");
        assert_unchanged(&before, &fingerprint(dir));
    }

    #[test]
    fn predicted_conflict() {
        let sandbox = Sandbox::new();
        let mut scenario = Scenario::demo();
        scenario.dirty = Default::default();
        let built = sandbox.build(&scenario);
        let before = fingerprint(&built.checkout);
        let run = run_sync(&sandbox, &built.checkout, &[]);
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("sync refused"), "{}", run.stdout);
        assert!(run.stdout.contains("STOP at #7"), "{}", run.stdout);
        assert!(run.stdout.contains("caused by upstream"), "{}", run.stdout);
        assert_unchanged(&before, &fingerprint(&built.checkout));
    }
}

mod crash_safety {
    use super::*;
    use common::crash::{assert_intact, at_once, head, interrupt_at_every_step, sigkill_at_every_step};

    #[test]
    fn sigkill_at_every_step_loses_nothing_and_undo_restores() {
        sigkill_at_every_step(&|sandbox| sandbox.build(&clean_demo()), &["sync"]);
    }

    #[test]
    fn sigint_at_every_step_rolls_back_or_finishes_the_step() {
        interrupt_at_every_step(&|sandbox| sandbox.build(&clean_demo()), &["sync"], "sigint");
    }

    #[test]
    fn sigterm_at_every_step_rolls_back_or_finishes_the_step() {
        interrupt_at_every_step(&|sandbox| sandbox.build(&clean_demo()), &["sync"], "sigterm");
    }

    /// A checkout synced once: what the undo tests take back.
    fn synced(sandbox: &Sandbox) -> betadrift::scenario::build::Built {
        let built = sandbox.build(&clean_demo());
        let run = sandbox.betadrift(&built.checkout, &["sync"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        built
    }

    #[test]
    fn sigkill_at_every_step_of_undo_loses_nothing() {
        sigkill_at_every_step(&synced, &["undo"]);
    }

    #[test]
    fn sigint_and_sigterm_at_every_step_of_undo() {
        interrupt_at_every_step(&synced, &["undo"], "sigint");
        interrupt_at_every_step(&synced, &["undo"], "sigterm");
    }

    #[test]
    fn concurrent_syncs_never_corrupt_the_branch() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&clean_demo());
        let dir = built.checkout.clone();
        let old_head = head(&sandbox, &dir);
        let sync: &[&str] = &["sync", "--lock-wait", "0"];
        let codes: Vec<i32> = at_once(&sandbox, &dir, &[sync, sync]).iter().map(|r| r.code).collect();
        assert!(codes.contains(&0), "one sync succeeds: {codes:?}");
        assert!(codes.iter().all(|c| matches!(c, 0 | 2)), "the other succeeds or refuses cleanly: {codes:?}");
        assert_intact(&sandbox, &dir, &old_head);
        assert_eq!(commits(&sandbox, &dir, "origin/production").len(), 7);
    }
}
