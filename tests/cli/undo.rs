//! `betadrift undo` takes back only what it can without loss, per branch,
//! and never re-applies silently; the records of a rewrite match what
//! happened (a lost compare-and-swap, a failure before the branch moved, a
//! post-update command that failed or was interrupted).

use std::os::unix::process::CommandExt;
use std::path::Path;

use betadrift::scenario::Scenario;
use betadrift::scenario::build::Built;

use crate::common::{Run, Sandbox};

/// The demo without the patches that would stop a sync.
fn clean_demo() -> Scenario {
    let mut s = Scenario::demo();
    s.local.retain(|c| !c.id.starts_with("p07") && !c.id.starts_with("p08"));
    s.snapshot.clear();
    s.dirty = Default::default();
    s
}

fn head(sandbox: &Sandbox, dir: &Path) -> String {
    sandbox.git(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}

/// A clean demo checkout, synced once: (checkout, head before, head after).
fn synced(sandbox: &Sandbox) -> (Built, String, String) {
    let built = sandbox.build(&clean_demo());
    let before = head(sandbox, &built.checkout);
    let run = sandbox.betadrift(&built.checkout, &["sync"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let after = head(sandbox, &built.checkout);
    (built, before, after)
}

/// Commits a new file by hand, as an admin would.
fn commit_by_hand(sandbox: &Sandbox, dir: &Path, name: &str) -> String {
    std::fs::create_dir_all(dir.join("hand")).unwrap();
    std::fs::write(dir.join("hand").join(name), format!("{name}\n")).unwrap();
    sandbox.git(dir, &["add", "hand"]);
    sandbox.git(dir, &["commit", "-qm", &format!("hand: {name}")]);
    head(sandbox, dir)
}

fn audit_lines(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(".git/betadrift/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn undo_refuses_when_commits_were_made_after_the_rewrite_and_lists_them() {
    let sandbox = Sandbox::new();
    let (built, _, _) = synced(&sandbox);
    let dir = &built.checkout;
    for name in ["one", "two", "three"] {
        commit_by_hand(&sandbox, dir, name);
    }
    let tip = head(&sandbox, dir);
    for args in [&["undo", "--dry-run"][..], &["undo"][..]] {
        let run = sandbox.betadrift(dir, args);
        run.assert_error("3 commits made on refs/heads/production after the sync would be lost");
        for name in ["one", "two", "three"] {
            assert!(run.stderr.contains(&format!("hand: {name} (Test Runner)")), "{args:?}: {}", run.stderr);
        }
        assert!(run.stderr.contains("--keep-newer"), "{}", run.stderr);
        assert_eq!(head(&sandbox, dir), tip, "{args:?}: nothing moved");
    }
    assert_eq!(audit_lines(dir).len(), 1, "no undo recorded");
}

#[test]
fn keep_newer_replays_them_on_the_restored_tip_like_git_rebase_onto() {
    let sandbox = Sandbox::new();
    let (built, before, after) = synced(&sandbox);
    let dir = &built.checkout;
    for name in ["one", "two"] {
        commit_by_hand(&sandbox, dir, name);
    }
    let tip = head(&sandbox, dir);
    let run = sandbox.betadrift(dir, &["undo", "--keep-newer"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("then 2 commits made since the rewrite will be replayed on top"), "{}", run.stdout);

    // The oracle: git rebase --onto <before> <after> <tip>.
    let oracle = sandbox.path().join("oracle");
    sandbox.git(sandbox.path(), &["clone", "-q", &dir.to_string_lossy(), "oracle"]);
    sandbox.git(&oracle, &["checkout", "-q", "-B", "x", &tip]);
    sandbox.git(&oracle, &["rebase", "-q", "--onto", &before, &after]);
    let tree = |d: &Path, rev: &str| sandbox.git(d, &["rev-parse", &format!("{rev}^{{tree}}")]).trim().to_owned();
    assert_eq!(tree(dir, "HEAD"), tree(&oracle, "x"), "same tree as git");
    assert_eq!(sandbox.git(dir, &["rev-parse", "HEAD~2"]).trim(), before, "replayed on the restored tip");
    let subjects = sandbox.git(dir, &["log", "--format=%s|%an", "-2"]);
    assert_eq!(subjects, "hand: two|Test Runner\nhand: one|Test Runner\n");
    assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "");
    let all = sandbox.git(dir, &["rev-list", "--all"]);
    assert!(all.contains(&tip), "the old tip is kept in a backup");
}

#[test]
fn keep_newer_refuses_a_commit_that_does_not_apply_on_the_restored_tip() {
    let sandbox = Sandbox::new();
    let (built, before, after) = synced(&sandbox);
    let dir = &built.checkout;
    // Edit a file the sync changed, where the restored tip differs.
    let changed = sandbox.git(dir, &["diff", "--name-only", "--diff-filter=M", &before, &after]);
    let path = changed.lines().next().expect("the sync changed a file").to_owned();
    std::fs::write(dir.join(&path), "rewritten by hand\n").unwrap();
    sandbox.git(dir, &["commit", "-qam", "hand: rewrite a synced file"]);
    let tip = head(&sandbox, dir);
    let run = sandbox.betadrift(dir, &["undo", "--keep-newer"]);
    run.assert_error("would not apply on the restored tip");
    assert_eq!(head(&sandbox, dir), tip);
    let run = sandbox.betadrift(dir, &["undo", "--force"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(head(&sandbox, dir), before, "--force goes back");
    assert!(sandbox.git(dir, &["rev-list", "--all"]).contains(&tip), "the hand commit stays in undo's backup");
}

#[test]
fn a_second_undo_goes_further_back_and_never_re_applies() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&clean_demo());
    let dir = &built.checkout;
    std::fs::create_dir_all(dir.join(".git/betadrift")).unwrap();
    std::fs::write(
        dir.join(".git/betadrift/policy.toml"),
        "[[rule]]\ndefault = true\ndecision = \"allow\"\nset_by = \"root\"\nset_at = \"2026-10-01T00:00:00Z\"\n",
    )
    .unwrap();
    let original = head(&sandbox, dir);
    assert_eq!(sandbox.betadrift(dir, &["drop", "--yes", "5"]).code, 0);
    let after_first = head(&sandbox, dir);
    assert_eq!(sandbox.betadrift(dir, &["drop", "--yes", "3"]).code, 0);
    let after_second = head(&sandbox, dir);

    assert_eq!(sandbox.betadrift(dir, &["undo"]).code, 0);
    assert_eq!(head(&sandbox, dir), after_first, "the first undo takes back the second drop");
    assert_eq!(sandbox.betadrift(dir, &["undo"]).code, 0);
    assert_eq!(head(&sandbox, dir), original, "the second undo takes back the first drop");
    let third = sandbox.betadrift(dir, &["undo"]);
    third.assert_error("nothing to undo on refs/heads/production");
    assert!(third.stderr.contains("re-applies it"), "{}", third.stderr);
    assert_eq!(head(&sandbox, dir), original, "never re-applied");

    let list = sandbox.betadrift(dir, &["undo", "--list"]);
    assert_eq!(list.stdout.matches("undone by").count(), 2, "{}", list.stdout);
    assert_eq!(list.stdout.matches("took back").count(), 2, "{}", list.stdout);
    // Re-applying is explicit: name the undo's backup.
    let undos: Vec<String> = audit_lines(dir)
        .iter()
        .filter(|a| a["command"] == "undo")
        .map(|a| a["backup"].as_str().unwrap().to_owned())
        .collect();
    let redo = sandbox.betadrift(dir, &["undo", &undos[1]]);
    assert_eq!(redo.code, 0, "{}", redo.stderr);
    assert_eq!(head(&sandbox, dir), after_first, "the named undo is taken back: the first drop is back");
    let redo = sandbox.betadrift(dir, &["undo", &undos[0]]);
    assert_eq!(redo.code, 0, "{}", redo.stderr);
    assert_eq!(head(&sandbox, dir), after_second);
    assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "");
}

#[test]
fn undo_in_a_linked_worktree_never_moves_that_branch_to_another_branch_backup() {
    let sandbox = Sandbox::new();
    let (built, _, synced_head) = synced(&sandbox);
    let dir = &built.checkout;
    let linked = sandbox.path().join("beta");
    sandbox.git(dir, &["worktree", "add", "-q", "-b", "beta", &linked.to_string_lossy(), "HEAD~1"]);
    let beta = head(&sandbox, &linked);
    let run = sandbox.betadrift(&linked, &["undo"]);
    run.assert_error("nothing to undo");
    let backup = audit_lines(dir)[0]["backup"].as_str().unwrap().to_owned();
    let run = sandbox.betadrift(&linked, &["undo", &backup]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(head(&sandbox, &linked), beta, "beta did not move");
    assert_eq!(head(&sandbox, dir), synced_head, "production did not move");
    // In the checkout itself, on another branch: the backup names its branch.
    sandbox.git(dir, &["switch", "-q", "-c", "hotfix", "HEAD~2"]);
    let hotfix = head(&sandbox, dir);
    sandbox.betadrift(dir, &["undo"]).assert_error("nothing to undo: no betadrift rewrite of refs/heads/hotfix");
    sandbox.betadrift(dir, &["undo", &backup]).assert_error(
        "was taken from refs/heads/production, not refs/heads/hotfix; run undo in the worktree that has refs/heads/production checked out",
    );
    assert_eq!(head(&sandbox, dir), hotfix);
}

#[test]
fn a_lost_compare_and_swap_leaves_no_journal_backup_or_audit_line() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&clean_demo());
    let dir = &built.checkout;
    let child = crate::common::crash::stopped_at(&sandbox, dir, "stop:audit", &["sync"]);
    // git's index.lock is betadrift's from before the branch moves: a
    // commit fails cleanly instead of committing a stale index.
    let commit = sandbox.git_output(dir, &["commit", "-q", "--allow-empty", "-m", "an admin commits meanwhile"]);
    assert!(!commit.status.success() && String::from_utf8_lossy(&commit.stderr).contains("index.lock"));
    // A ref update needs no index: the branch moves under betadrift.
    let ours = head(&sandbox, dir);
    let theirs = sandbox.git(dir, &["commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "pushed meanwhile"]);
    let theirs = theirs.trim().to_owned();
    sandbox.git(dir, &["update-ref", "refs/heads/production", &theirs, &ours]);
    std::process::Command::new("kill").args(["-CONT", &child.id().to_string()]).status().unwrap();
    let run = Run::from(child.wait_with_output().unwrap());
    run.assert_refused("moved while betadrift was working");
    assert_eq!(head(&sandbox, dir), theirs, "the admin's commit stands");
    assert!(!dir.join(".git/betadrift/journal.json").exists(), "no journal");
    assert_eq!(sandbox.git(dir, &["for-each-ref", "refs/betadrift/"]), "", "no backup");
    assert!(audit_lines(dir).is_empty(), "no audit line for a rewrite that did not happen");
    assert!(!dir.join(".git/index.lock").exists(), "index.lock let go");
    sandbox.betadrift(dir, &["undo"]).assert_error("nothing to undo");
    let again = sandbox.betadrift(dir, &["sync"]);
    assert_eq!(again.code, 0, "the next sync works: {}{}", again.stdout, again.stderr);
}

#[test]
fn what_is_in_the_way_of_the_new_tree_is_refused_before_the_branch_moves() {
    for case in ["untracked file where a directory goes", "directory where a file goes"] {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&clean_demo());
        let dir = &built.checkout;
        // Upstream adds a module.
        let work = sandbox.path().join("upstream-work");
        sandbox.git(sandbox.path(), &["clone", "-q", &built.upstream.to_string_lossy(), "upstream-work"]);
        let path = "modules/newmod/manifests/init.pp";
        std::fs::create_dir_all(work.join("modules/newmod/manifests")).unwrap();
        std::fs::write(work.join(path), "class newmod {}\n").unwrap();
        sandbox.git(&work, &["add", "modules"]);
        sandbox.git(&work, &["commit", "-qm", "upstream: newmod"]);
        sandbox.git(&work, &["push", "-q", "origin", "HEAD:production"]);
        sandbox.git(dir, &["fetch", "-q", "origin"]);
        let before = head(&sandbox, dir);
        let top = "modules/newmod";
        if case.starts_with("untracked") {
            if dir.join(top).exists() {
                continue;
            }
            std::fs::write(dir.join(top), "mine\n").unwrap();
        } else {
            std::fs::create_dir_all(dir.join(path)).unwrap();
            std::fs::write(dir.join(path).join("keep.txt"), "mine\n").unwrap();
        }
        let run = sandbox.betadrift(dir, &["sync"]);
        run.assert_refused("in the way of the new tree");
        assert!(run.stderr.contains("nothing was changed"), "{case}: {}", run.stderr);
        assert_eq!(head(&sandbox, dir), before, "{case}: the branch did not move");
        assert!(audit_lines(dir).is_empty(), "{case}: nothing recorded");
    }
}

fn deploy_config(sandbox: &Sandbox, script: &str) -> String {
    let config = sandbox.path().join("deploy.toml");
    std::fs::write(&config, format!("[sync]\npost_update = [\"/bin/sh\", \"-c\", {script:?}]\n")).unwrap();
    config.to_str().unwrap().to_owned()
}

#[test]
fn ctrl_c_during_the_post_update_command_is_recorded_and_can_be_run_again() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&clean_demo());
    let dir = &built.checkout;
    // A terminal's Ctrl-C signals the whole foreground process group:
    // betadrift and the deployment it runs.
    let config = deploy_config(&sandbox, "kill -INT 0; sleep 5");
    let out = sandbox
        .command(env!("CARGO_BIN_EXE_betadrift"))
        .current_dir(dir)
        .env("BETADRIFT_NOW", "2026-11-25T12:00:00Z")
        .args(["--config", &config, "sync"])
        .process_group(0)
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 130, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("the rewrite is complete"), "{}", run.stderr);
    assert!(run.stderr.contains("was interrupted by SIGINT"), "{}", run.stderr);
    assert!(run.stderr.contains("`betadrift post-update`"), "{}", run.stderr);
    let journal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".git/betadrift/journal.json")).unwrap()).unwrap();
    assert_eq!(journal["phase"], "post-update-interrupted");

    let status = sandbox.betadrift(dir, &["--config", &config, "status"]);
    assert!(status.stdout.contains("DEPLOY"), "{}", status.stdout);
    assert!(status.stdout.contains("did not complete"), "{}", status.stdout);
    let json = sandbox.betadrift(dir, &["--config", &config, "status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["unfinished"]["phase"], "post-update-interrupted");
    assert_eq!(doc["unfinished"]["command"], "sync");

    // A failing command is recorded too, and the record stays.
    let failing = deploy_config(&sandbox, "exit 3");
    let run = sandbox.betadrift(dir, &["--config", &failing, "post-update"]);
    run.assert_error("failed");
    let status = sandbox.betadrift(dir, &["--config", &failing, "status"]);
    assert!(status.stdout.contains("failed"), "{}", status.stdout);
    // Fixed: it runs, and the record is cleared.
    let marker = sandbox.path().join("deployed");
    let fixed = deploy_config(&sandbox, &format!("touch '{}'", marker.display()));
    let run = sandbox.betadrift(dir, &["--config", &fixed, "post-update"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(marker.exists());
    assert!(!dir.join(".git/betadrift/journal.json").exists());
    let status = sandbox.betadrift(dir, &["--config", &fixed, "status"]);
    assert!(!status.stdout.contains("DEPLOY"), "{}", status.stdout);
}

#[test]
fn a_mid_update_checkout_gets_the_undo_advice_never_commit_or_stash() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&clean_demo());
    let dir = &built.checkout;
    let out = sandbox
        .command(env!("CARGO_BIN_EXE_betadrift"))
        .current_dir(dir)
        .env("BETADRIFT_NOW", "2026-11-25T12:00:00Z")
        .env("BETADRIFT_FAULT", "worktree-partial")
        .args(["sync"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let advice = "an interrupted betadrift sync (started 2026-11-25T12:00:00Z) left the checkout mid-update: run `betadrift undo` to roll it back";
    for args in [&["sync"][..], &["drop", "--yes", "1"][..], &["prune", "--yes"][..]] {
        let run = sandbox.betadrift(dir, args);
        run.assert_error(advice);
        assert!(!run.stderr.contains("stash"), "{args:?}: {}", run.stderr);
    }
    let status = sandbox.betadrift(dir, &["status"]);
    assert!(status.stdout.contains(&format!("INTERRUPTED  {advice}")), "{}", status.stdout);
    let check = sandbox.betadrift(dir, &["check"]);
    assert!(check.stderr.contains(advice), "{}", check.stderr);
    let config = dir.parent().unwrap().join("report.toml");
    std::fs::write(&config, format!("[[repository]]\nname = \"p\"\npath = \"{}\"\n", dir.display())).unwrap();
    let cfg = config.to_str().unwrap();
    let metrics = sandbox.betadrift(dir, &["--config", cfg, "report", "--format", "prometheus"]);
    assert!(metrics.stdout.contains("betadrift_rewrite_interrupted{repo=\"p\"} 1"), "{}", metrics.stdout);
    assert!(metrics.stdout.contains("betadrift_operation_in_progress{repo=\"p\"} 1"), "{}", metrics.stdout);
    let text = sandbox.betadrift(dir, &["--config", cfg, "report"]);
    assert!(text.stdout.contains(advice), "{}", text.stdout);
}

#[test]
fn drop_asks_and_without_a_terminal_needs_yes() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&clean_demo());
    let dir = &built.checkout;
    let before = head(&sandbox, dir);
    let run = sandbox.betadrift(dir, &["drop", "5", "--force", "--reason", "test"]);
    run.assert_refused("drop asks before removing patches and standard input is not a terminal; pass --yes");
    assert_eq!(head(&sandbox, dir), before);
}
