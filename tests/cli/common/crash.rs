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

/// A file in the sandbox whose text the crash tests' config ends with.
pub const EXTRA_CONFIG: &str = "extra-config.toml";

/// The steps at which the branch has already moved.
const MOVED: &[&str] = &["ref", "worktree-partial", "worktree", "post-update"];

/// The steps a SIGKILL leaves no journal at: nothing is recorded, nothing to undo.
const BEFORE_JOURNAL: &[&str] = &["locked", "objects", "backup"];

/// Starts betadrift with `fault` (`stop:<step>`) and waits until it has
/// stopped itself there (SIGSTOP); the test acts, then sends SIGCONT.
pub fn stopped_at(sandbox: &Sandbox, dir: &Path, fault: &str, args: &[&str]) -> std::process::Child {
    let child = sandbox.spawn_betadrift(dir, Some(fault), args);
    let stat = format!("/proc/{}/stat", child.id());
    let stopped = (0..1000).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::read_to_string(&stat)
            .is_ok_and(|s| s.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('T')))
    });
    assert!(stopped, "betadrift stopped at {fault}");
    child
}

/// The commit HEAD points at.
pub fn head(sandbox: &Sandbox, dir: &Path) -> String {
    sandbox.git(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}

/// A config whose post-update command appends a line to `deploys` in the
/// sandbox, so the crash tests reach (and interrupt) the post-update step;
/// with whatever the scenario's build put in `extra-config.toml` (`pick`'s
/// `[gerrit]` table) after it.
fn deploy_config(sandbox: &Sandbox) -> (String, std::path::PathBuf) {
    let deploys = sandbox.path().join("deploys");
    let config = sandbox.path().join("deploy-config.toml");
    let script = format!("echo deployed >> '{}'", deploys.display());
    let extra = std::fs::read_to_string(sandbox.path().join(EXTRA_CONFIG)).unwrap_or_default();
    std::fs::write(&config, format!("[sync]\npost_update = [\"/bin/sh\", \"-c\", {script:?}]\n{extra}")).unwrap();
    (config.to_str().unwrap().to_owned(), deploys)
}

/// Runs betadrift with `--config config` and `args` in `dir`, with `fault` as `BETADRIFT_FAULT`.
fn run_with_fault(sandbox: &Sandbox, dir: &Path, config: &str, fault: &str, args: &[&str]) -> std::process::Output {
    sandbox
        .command(env!("CARGO_BIN_EXE_betadrift"))
        .current_dir(dir)
        .env("BETADRIFT_NOW", "2026-11-25T12:00:00Z")
        .env("BETADRIFT_FAULT", fault)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

/// The new HEAD `args` make on a fresh `build`, run without a fault.
fn new_head_of(build: &dyn Fn(&Sandbox) -> Built, args: &[&str]) -> String {
    let sandbox = Sandbox::new();
    let built = build(&sandbox);
    let (config, _) = deploy_config(&sandbox);
    let mut all = vec!["--config", config.as_str()];
    all.extend_from_slice(args);
    let run = sandbox.betadrift(&built.checkout, &all);
    // Exit 1 is a rewrite with findings left (a sync held back); one that
    // changes nothing fails the caller's check that the branch moves.
    assert!(matches!(run.code, 0 | 1), "{args:?} without a fault: {}{}", run.stdout, run.stderr);
    head(&sandbox, &built.checkout)
}

/// Nothing of the old state is lost: `git fsck` is clean and every old
/// commit is still reachable from a ref.
fn assert_nothing_lost(sandbox: &Sandbox, dir: &Path, old_commits: &str, what: &str) {
    sandbox.git(dir, &["fsck", "--no-dangling", "--no-progress"]);
    let all = sandbox.git(dir, &["rev-list", "--all"]);
    for c in old_commits.lines() {
        assert!(all.contains(c), "{what}: old commit {c} is still reachable from a ref");
    }
}

/// The checkout is exactly at `head`: index and working tree match it,
/// with no stray file (not even an ignored one), no `index.lock`, no
/// scratch index and no journal left.
pub fn assert_exactly_at(sandbox: &Sandbox, dir: &Path, expected: &str, what: &str) {
    assert_eq!(head(sandbox, dir), expected, "{what}: HEAD");
    assert_eq!(
        sandbox.git(dir, &["status", "--porcelain", "--ignored", "--untracked-files=all"]),
        "",
        "{what}: worktree and index match HEAD, no stray files"
    );
    assert!(!dir.join(".git/index.lock").exists(), "{what}: no index.lock left");
    assert!(!dir.join(".git/betadrift/journal.json").exists(), "{what}: no journal left");
    let scratch = std::fs::read_dir(dir.join(".git"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("betadrift-index-"))
        .count();
    assert_eq!(scratch, 0, "{what}: no scratch index left");
}

/// After a rewrite that recorded nothing, `undo` has nothing of it to take
/// back: it says so, or, when the rewrite was itself an undo, it does the
/// undo that was asked for.
fn nothing_was_done(sandbox: &Sandbox, dir: &Path, args: &[&str], undo: &Run, old: &str, new: &str, what: &str) {
    if args.first() == Some(&"undo") {
        assert_eq!(undo.code, 0, "{what}: the undo asked for: {}{}", undo.stdout, undo.stderr);
        assert_exactly_at(sandbox, dir, new, what);
    } else {
        undo.assert_error("nothing to undo");
        assert_exactly_at(sandbox, dir, old, what);
    }
}

/// Runs betadrift `args` on a fresh `build` once to learn the new HEAD, then
/// once per fault point, killed there with SIGKILL. After each kill HEAD is
/// the old commit (before the ref moved) or exactly the new one, `git fsck`
/// is clean, every old commit is still reachable from a ref, `status` names
/// the unfinished rewrite, and `betadrift undo` puts HEAD, the index and the
/// working tree back, removing the temporary files and the `index.lock` the
/// kill left.
pub fn sigkill_at_every_step(build: &dyn Fn(&Sandbox) -> Built, args: &[&str]) {
    sigkill_at_every_step_and_after(build, args, &[]);
}

/// [`sigkill_at_every_step`], and then at each of `after`: the command's
/// own steps once the rewrite is complete (its journal removed), such as
/// `resolve --continue`'s ledger and clean-up. A kill there leaves HEAD
/// new and nothing half-done; `undo` takes the rewrite back.
pub fn sigkill_at_every_step_and_after(build: &dyn Fn(&Sandbox) -> Built, args: &[&str], after: &[&str]) {
    let new_head = new_head_of(build, args);
    for step in STEPS.iter().chain(after) {
        let complete = after.contains(step);
        let sandbox = Sandbox::new();
        let built = build(&sandbox);
        let dir = &built.checkout;
        let (config, _) = deploy_config(&sandbox);
        let old_head = head(&sandbox, dir);
        assert_ne!(old_head, new_head, "{args:?} moves the branch");
        let old_commits = sandbox.git(dir, &["rev-list", &old_head]);
        let out = run_with_fault(&sandbox, dir, &config, step, args);
        assert_eq!(out.status.signal(), Some(9), "{step}: killed by SIGKILL; {}", String::from_utf8_lossy(&out.stderr));

        let expected = if MOVED.contains(step) || complete { &new_head } else { &old_head };
        assert_eq!(&head(&sandbox, dir), expected, "{step}: HEAD is the old or the new commit");
        assert_nothing_lost(&sandbox, dir, &old_commits, step);

        let status = sandbox.betadrift(dir, &["--config", &config, "status"]);
        let undo = sandbox.betadrift(dir, &["--config", &config, "undo"]);
        if BEFORE_JOURNAL.contains(step) {
            assert!(!status.stdout.contains("INTERRUPTED"), "{step}: nothing half-done: {}", status.stdout);
            nothing_was_done(&sandbox, dir, args, &undo, &old_head, &new_head, step);
            continue;
        }
        if complete {
            assert!(!status.stdout.contains("INTERRUPTED"), "{step}: the rewrite is complete: {}", status.stdout);
            assert_eq!(undo.code, 0, "{step}: undo: {}{}", undo.stdout, undo.stderr);
            assert_exactly_at(&sandbox, dir, &old_head, &format!("{step}: after undo"));
            assert_nothing_lost(&sandbox, dir, &old_commits, step);
            continue;
        }
        let named = if *step == "post-update" {
            "did not finish: betadrift was killed while it ran"
        } else {
            "an interrupted betadrift"
        };
        assert!(status.stdout.contains(named), "{step}: status names the unfinished rewrite: {}", status.stdout);
        assert!(status.stdout.contains("betadrift undo"), "{step}: and what to run: {}", status.stdout);
        assert_eq!(undo.code, 0, "{step}: undo: {}{}", undo.stdout, undo.stderr);
        assert_exactly_at(&sandbox, dir, &old_head, &format!("{step}: after undo"));
        assert_nothing_lost(&sandbox, dir, &old_commits, step);
    }
}

/// Like [`sigkill_at_every_step`], with SIGINT or SIGTERM (`signal`: "sigint"
/// or "sigterm") sent at each step. Before the branch moves, the rewrite
/// rolls back: exit 128+signal, HEAD and everything else as before, no
/// backup, journal or audit line left, nothing to undo. After, it finishes
/// the step it is in, does not start the post-update command (or passes the
/// signal on to it), records that, and says so; `status` names it,
/// `betadrift post-update` runs the command again, and `undo` restores the
/// old state exactly.
pub fn interrupt_at_every_step(build: &dyn Fn(&Sandbox) -> Built, args: &[&str], signal: &str) {
    let new_head = new_head_of(build, args);
    let code = if signal == "sigint" { 130 } else { 143 };
    for step in STEPS {
        let what = format!("{signal} at {step}");
        let sandbox = Sandbox::new();
        let built = build(&sandbox);
        let dir = &built.checkout;
        let (config, deploys) = deploy_config(&sandbox);
        let old_head = head(&sandbox, dir);
        let old_commits = sandbox.git(dir, &["rev-list", &old_head]);
        let audit_path = dir.join(".git/betadrift/audit.jsonl");
        let records = || {
            let refs = sandbox.git(dir, &["for-each-ref", "refs/betadrift/"]);
            (refs, std::fs::read_to_string(&audit_path).unwrap_or_default())
        };
        let records_before = records();
        let out = run_with_fault(&sandbox, dir, &config, &format!("{signal}:{step}"), args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{what}: exit code; {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{what}: one line: {stderr}");
        assert!(!deploys.exists(), "{what}: the post-update command did not run (to completion)");
        assert_nothing_lost(&sandbox, dir, &old_commits, &what);
        if !MOVED.contains(step) {
            assert!(stderr.contains("before the branch moved: nothing was changed"), "{what}: {stderr}");
            assert_exactly_at(&sandbox, dir, &old_head, &what);
            assert_eq!(records(), records_before, "{what}: no backup or audit line for a rewrite that did not happen");
            let undo = sandbox.betadrift(dir, &["--config", &config, "undo"]);
            nothing_was_done(&sandbox, dir, args, &undo, &old_head, &new_head, &what);
            continue;
        }
        assert!(stderr.contains("post-update"), "{what}: says the deployment did not run: {stderr}");
        assert!(stderr.contains("betadrift post-update"), "{what}: and what to run: {stderr}");
        assert_eq!(head(&sandbox, dir), new_head, "{what}: the step in progress was finished");
        assert_eq!(sandbox.git(dir, &["status", "--porcelain", "--ignored"]), "", "{what}: worktree finished");
        let status = sandbox.betadrift(dir, &["--config", &config, "status"]);
        assert!(status.stdout.contains("did not complete"), "{what}: status names it: {}", status.stdout);
        let report = sandbox.betadrift(dir, &["--config", &config, "report", "--repo", ".", "--format", "prometheus"]);
        assert!(report.stdout.contains("betadrift_post_update_failed{"), "{what}: {}", report.stdout);
        assert!(
            report.stdout.lines().any(|l| l.starts_with("betadrift_post_update_failed{") && l.ends_with(" 1")),
            "{what}: the metric says so: {}",
            report.stdout
        );
        let again = sandbox.betadrift(dir, &["--config", &config, "post-update"]);
        assert_eq!(again.code, 0, "{what}: post-update runs again: {}{}", again.stdout, again.stderr);
        assert_eq!(std::fs::read_to_string(&deploys).unwrap(), "deployed\n", "{what}: deployed once");
        let status = sandbox.betadrift(dir, &["--config", &config, "status"]);
        assert!(!status.stdout.contains("DEPLOY"), "{what}: the record is cleared: {}", status.stdout);
        // An undo is taken back by naming its backup: a plain `undo` never re-applies.
        let mut undo_args = vec!["--config", config.as_str(), "undo"];
        let audit = std::fs::read_to_string(&audit_path).unwrap();
        let last: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
        let backup = last["backup"].as_str().unwrap().to_owned();
        if args.first() == Some(&"undo") {
            sandbox.betadrift(dir, &undo_args).assert_error("nothing to undo");
            undo_args.push(&backup);
        }
        let undo = sandbox.betadrift(dir, &undo_args);
        assert_eq!(undo.code, 0, "{what}: undo: {}{}", undo.stdout, undo.stderr);
        assert_exactly_at(&sandbox, dir, &old_head, &format!("{what}: after undo"));
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
