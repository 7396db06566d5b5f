//! What every history rewrite must survive: a SIGKILL at any step, and
//! another betadrift running at the same time. Shared by the tests of sync,
//! drop and prune.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use betadrift::scenario::build::Built;

use super::{Run, Sandbox};

/// The fault-injection points of a rewrite (`BETADRIFT_FAULT`), in order.
pub const STEPS: &[&str] =
    &["locked", "objects", "backup", "journal", "audit", "ref", "worktree-partial", "worktree", "post-update"];

/// The steps at which the branch has already moved.
const MOVED: &[&str] = &["ref", "worktree-partial", "worktree", "post-update"];

/// The steps before the backup ref exists: nothing happened, nothing to undo.
const BEFORE_BACKUP: &[&str] = &["locked", "objects"];

/// The commit HEAD points at.
pub fn head(sandbox: &Sandbox, dir: &Path) -> String {
    sandbox.git(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}

/// Runs betadrift `args` on a fresh `build` once to learn the new HEAD, then
/// once per fault point, killed there with SIGKILL. After each kill HEAD is
/// the old commit (before the ref moved) or exactly the new one, every old
/// commit is still reachable from a ref, and `betadrift undo` puts HEAD, the
/// index and the working tree back.
pub fn sigkill_at_every_step(build: &dyn Fn(&Sandbox) -> Built, args: &[&str]) {
    let new_head = {
        let sandbox = Sandbox::new();
        let built = build(&sandbox);
        let run = sandbox.betadrift(&built.checkout, args);
        assert_eq!(run.code, 0, "{args:?} without a fault: {}{}", run.stdout, run.stderr);
        head(&sandbox, &built.checkout)
    };
    for step in STEPS {
        let sandbox = Sandbox::new();
        let built = build(&sandbox);
        let dir = &built.checkout;
        let old_head = head(&sandbox, dir);
        assert_ne!(old_head, new_head, "{args:?} moves the branch");
        let old_commits = sandbox.git(dir, &["rev-list", &old_head]);
        let out = sandbox
            .command(env!("CARGO_BIN_EXE_betadrift"))
            .current_dir(dir)
            .env("BETADRIFT_NOW", "2026-11-25T12:00:00Z")
            .env("BETADRIFT_FAULT", step)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(9), "{step}: killed by SIGKILL; {}", String::from_utf8_lossy(&out.stderr));

        let expected = if MOVED.contains(step) { &new_head } else { &old_head };
        assert_eq!(&head(&sandbox, dir), expected, "{step}: HEAD is the old or the new commit");
        let all = sandbox.git(dir, &["rev-list", "--all"]);
        for c in old_commits.lines() {
            assert!(all.contains(c), "{step}: old commit {c} is still reachable from a ref");
        }

        let undo = sandbox.betadrift(dir, &["undo"]);
        if BEFORE_BACKUP.contains(step) {
            undo.assert_error("nothing to undo");
            assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "");
            continue;
        }
        assert_eq!(undo.code, 0, "{step}: undo: {}{}", undo.stdout, undo.stderr);
        assert_eq!(head(&sandbox, dir), old_head, "{step}: undo restores HEAD");
        assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "", "{step}: worktree and index restored");
    }
}

/// Starts betadrift once per argument list, all at the same time, in `dir`;
/// waits for all of them.
pub fn at_once(sandbox: &Sandbox, dir: &Path, runs: &[&[&str]]) -> Vec<Run> {
    let children: Vec<_> = runs
        .iter()
        .map(|args| {
            sandbox
                .command(env!("CARGO_BIN_EXE_betadrift"))
                .current_dir(dir)
                .env("BETADRIFT_NOW", "2026-11-25T12:00:00Z")
                .args(*args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children.into_iter().map(|c| Run::from(c.wait_with_output().unwrap())).collect()
}

/// Nothing is corrupted or lost: `git fsck` is clean, the working tree and
/// index match HEAD, and `old_head` (with all its history) is reachable.
pub fn assert_intact(sandbox: &Sandbox, dir: &Path, old_head: &str) {
    assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "", "worktree and index match HEAD");
    sandbox.git(dir, &["fsck", "--no-dangling"]);
    let all = sandbox.git(dir, &["rev-list", "--all"]);
    assert!(all.contains(old_head), "the old stack stays reachable");
}
