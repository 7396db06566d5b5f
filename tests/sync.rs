//! `betadrift sync` and `betadrift undo` end to end: the result equals real
//! `git rebase`, fetches from a file URL, refusals change nothing, a SIGKILL
//! at any step loses nothing and `undo` restores, concurrent runs do not
//! corrupt the branch.

mod common;

use std::path::Path;

use betadrift::scenario::Scenario;
use common::{Run, Sandbox, assert_unchanged, fingerprint};

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

/// (tree, author line, message) of each commit in `upstream..HEAD`, oldest first.
fn commits(sandbox: &Sandbox, dir: &Path, upstream: &str) -> Vec<(String, String, String)> {
    let log = sandbox
        .git(dir, &["log", "--reverse", "-z", "--format=%T%x01%an <%ae> %ad%x01%B", &format!("{upstream}..HEAD")]);
    log.split('\0')
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let mut f = e.trim_start_matches('\n').splitn(3, '\u{1}');
            let mut next = || f.next().unwrap_or_default().to_owned();
            (next(), next(), next())
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp").arg("-a").arg(from).arg(to).status().expect("cp");
    assert!(status.success());
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
            .all(|(_, f)| !matches!(f, common::oracle::Fate::Stopped(_)))
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

#[test]
fn fetch_from_a_file_url_then_sync() {
    let sandbox = Sandbox::new();
    let mut scenario = clean_demo();
    // The checkout has not fetched the later upstream commits yet.
    let later = std::mem::take(&mut scenario.later);
    scenario.later = later[..1].to_vec();
    let built = sandbox.build(&scenario);
    // Upstream gains a commit the checkout has never seen.
    let work = sandbox.path().join("upstream-work");
    sandbox.git(sandbox.path(), &["clone", "-q", &built.upstream.to_string_lossy(), "upstream-work"]);
    std::fs::write(work.join("README.md"), "new upstream text\n").unwrap();
    sandbox.git(&work, &["commit", "-qam", "upstream: README"]);
    sandbox.git(&work, &["push", "-q", "origin", "HEAD:production"]);
    let new_tip = sandbox.git(&work, &["rev-parse", "HEAD"]).trim().to_owned();

    let run = run_sync(&sandbox, &built.checkout, &["--fetch"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(sandbox.git(&built.checkout, &["rev-parse", "origin/production"]).trim(), new_tip);
    let base = sandbox.git(&built.checkout, &["merge-base", "HEAD", "origin/production"]);
    assert_eq!(base.trim(), new_tip, "the stack now sits on the fetched upstream");
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

    const STEPS: &[&str] =
        &["locked", "objects", "backup", "journal", "audit", "ref", "worktree-partial", "worktree", "post-update"];

    /// Every ref's tip and what it can reach.
    fn reachable(sandbox: &Sandbox, dir: &Path) -> String {
        sandbox.git(dir, &["rev-list", "--all"])
    }

    #[test]
    fn sigkill_at_every_step_loses_nothing_and_undo_restores() {
        for step in STEPS {
            let sandbox = Sandbox::new();
            let built = sandbox.build(&clean_demo());
            let dir = &built.checkout;
            let old_head = sandbox.git(dir, &["rev-parse", "HEAD"]).trim().to_owned();
            let old_commits = sandbox.git(dir, &["rev-list", &old_head]);
            let run = sandbox
                .command(env!("CARGO_BIN_EXE_betadrift"))
                .current_dir(dir)
                .env("BETADRIFT_NOW", "2026-11-25T12:00:00Z")
                .env("BETADRIFT_FAULT", step)
                .arg("sync")
                .output()
                .unwrap();
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                run.status.signal(),
                Some(9),
                "{step}: killed by SIGKILL; {}",
                String::from_utf8_lossy(&run.stderr)
            );

            let head = sandbox.git(dir, &["rev-parse", "HEAD"]).trim().to_owned();
            let all = reachable(&sandbox, dir);
            for c in old_commits.lines() {
                assert!(all.contains(c), "{step}: old commit {c} is still reachable from a ref");
            }
            let moved = head != old_head;
            assert!(
                !moved || ["ref", "worktree-partial", "worktree", "post-update"].contains(step),
                "{step}: HEAD moved too early"
            );

            let undo = sandbox.betadrift(dir, &["undo"]);
            if ["locked", "objects"].contains(step) {
                // Killed before the backup: nothing happened, nothing to undo.
                undo.assert_error("nothing to undo");
                assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "");
                continue;
            }
            assert_eq!(undo.code, 0, "{step}: undo: {}{}", undo.stdout, undo.stderr);
            assert_eq!(sandbox.git(dir, &["rev-parse", "HEAD"]).trim(), old_head, "{step}: undo restores HEAD");
            assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "", "{step}: worktree and index restored");
        }
    }

    #[test]
    fn concurrent_syncs_never_corrupt_the_branch() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&clean_demo());
        let dir = built.checkout.clone();
        let old_head = sandbox.git(&dir, &["rev-parse", "HEAD"]).trim().to_owned();
        let spawn = || {
            sandbox
                .command(env!("CARGO_BIN_EXE_betadrift"))
                .current_dir(&dir)
                .env("BETADRIFT_NOW", "2026-11-25T12:00:00Z")
                .args(["sync", "--lock-wait", "0"])
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let codes = [a.wait_with_output().unwrap().status.code(), b.wait_with_output().unwrap().status.code()];
        assert!(codes.contains(&Some(0)), "one sync succeeds: {codes:?}");
        assert!(
            codes.iter().all(|c| matches!(c, Some(0) | Some(2))),
            "the other succeeds or refuses cleanly: {codes:?}"
        );
        assert_eq!(sandbox.git(&dir, &["status", "--porcelain"]), "");
        sandbox.git(&dir, &["fsck", "--no-dangling"]);
        let all = sandbox.git(&dir, &["rev-list", "--all"]);
        assert!(all.contains(&old_head), "the old stack stays reachable");
        assert_eq!(commits(&sandbox, &dir, "origin/production").len(), 7);
    }
}
