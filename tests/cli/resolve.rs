//! `betadrift resolve` end to end, with the real git doing the rebase: a
//! real conflict on the demo, resolved by a script in the scratch worktree
//! (edit, `git add`, `git rebase --continue`), then `--continue` lands it
//! through the rewrite path (branch, backup ref, audit line, post-update,
//! working tree); the refusals of `--continue` (markers left, a patch
//! dropped without `--drop`, the live branch moved, git still rebasing);
//! `--abort` leaves nothing behind; a SIGKILL at every step of `--continue`
//! is recoverable with `undo`.

use crate::common;

use std::path::{Path, PathBuf};

use betadrift::scenario::Scenario;
use betadrift::scenario::build::Built;
use common::{Run, Sandbox, commits, copy_dir};

/// The demo (two patches stop on the same file, #7 and #8) without its
/// hand edits, so that the live checkout is clean.
fn stopping_demo() -> Scenario {
    let mut s = Scenario::demo();
    s.dirty = Default::default();
    s
}

const FILE: &str = "hieradata/cloud/eqiad1/deployment-prep/common.yaml";

fn scratch(built: &Built) -> PathBuf {
    built.checkout.join(".git/betadrift-resolve/scratch")
}

/// betadrift run by `user` (`$USER`), with `config` if given.
fn betadrift_as(sandbox: &Sandbox, dir: &Path, user: &str, config: Option<&Path>, args: &[&str]) -> Run {
    let mut cmd = sandbox.command(env!("CARGO_BIN_EXE_betadrift"));
    cmd.current_dir(dir).env("BETADRIFT_NOW", "2026-11-25T12:00:00Z").env("USER", user);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    Run::from(cmd.args(args).output().expect("running betadrift"))
}

/// A config whose post-update command appends a line to `deploys`.
fn deploy_config(sandbox: &Sandbox) -> (PathBuf, PathBuf) {
    let deploys = sandbox.path().join("deploys");
    let config = sandbox.path().join("deploy-config.toml");
    let script = format!("echo deployed >> '{}'", deploys.display());
    std::fs::write(&config, format!("[sync]\npost_update = [\"/bin/sh\", \"-c\", {script:?}]\n")).unwrap();
    (config, deploys)
}

/// Resolves one file's conflicts as an admin would here: the primary from
/// upstream (the first line of ours), the pool from the patch (the last
/// line of theirs).
fn resolve_markers(text: &str) -> String {
    let mut out = String::new();
    let (mut ours, mut theirs, mut side) = (Vec::new(), Vec::new(), 0);
    for line in text.lines() {
        match (side, line) {
            (0, l) if l.starts_with("<<<<<<< ") => side = 1,
            (1, "=======") => side = 2,
            (2, l) if l.starts_with(">>>>>>> ") => {
                out.push_str(&format!("{}\n{}\n", ours[0], theirs[theirs.len() - 1]));
                (ours, theirs, side) = (Vec::new(), Vec::new(), 0);
            }
            (1, l) => ours.push(l.to_owned()),
            (2, l) => theirs.push(l.to_owned()),
            (_, l) => out.push_str(&format!("{l}\n")),
        }
    }
    out
}

fn rebasing(sandbox: &Sandbox, dir: &Path) -> bool {
    let path = sandbox.git(dir, &["rev-parse", "--git-path", "rebase-merge"]);
    dir.join(path.trim()).exists()
}

/// At each stop of git's rebase in `dir`: `fix` the conflicted file, `git
/// add` it, `git rebase --continue`; until the rebase is done.
fn finish_rebase(sandbox: &Sandbox, dir: &Path, fix: &dyn Fn(&str) -> String) {
    let mut stops = 0;
    while rebasing(sandbox, dir) {
        stops += 1;
        assert!(stops < 20, "the rebase keeps stopping");
        let conflicted = sandbox.git(dir, &["diff", "--name-only", "--diff-filter=U"]);
        for path in conflicted.lines() {
            let text = std::fs::read_to_string(dir.join(path)).unwrap();
            std::fs::write(dir.join(path), fix(&text)).unwrap();
            sandbox.git(dir, &["add", path]);
        }
        let out = sandbox.git_output(dir, &["-c", "core.editor=true", "rebase", "--continue"]);
        assert!(out.status.success() || rebasing(sandbox, dir), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

/// The demo with a resolution started by alice and resolved in the scratch
/// worktree, ready for `--continue`.
fn resolved(sandbox: &Sandbox) -> Built {
    let built = sandbox.build(&stopping_demo());
    let run = betadrift_as(sandbox, &built.checkout, "alice", None, &["resolve"]);
    assert_eq!(run.code, 1, "git stops: {}{}", run.stdout, run.stderr);
    finish_rebase(sandbox, &scratch(&built), &resolve_markers);
    built
}

fn head(sandbox: &Sandbox, dir: &Path) -> String {
    sandbox.git(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}

/// Nothing of a resolution is left: no scratch worktree, no record of it in
/// git or betadrift, no ref but the branch's own.
fn assert_no_resolution_left(sandbox: &Sandbox, built: &Built) {
    let git_dir = built.checkout.join(".git");
    assert!(!git_dir.join("betadrift-resolve").exists(), "no scratch directory");
    assert!(!git_dir.join("worktrees").exists(), "git has no record of a worktree");
    assert!(!git_dir.join("betadrift/resolve.json").exists(), "no resolution record");
    let worktrees = sandbox.git(&built.checkout, &["worktree", "list", "--porcelain"]);
    assert_eq!(worktrees.matches("worktree ").count(), 1, "only the live checkout: {worktrees}");
    let status = sandbox.betadrift(&built.checkout, &["status"]);
    assert!(!status.stdout.contains("RESOLVING"), "{}", status.stdout);
}

#[test]
fn resolve_stops_at_gits_conflict_and_explains_it() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&stopping_demo());
    let dir = &built.checkout;
    let old = head(&sandbox, dir);
    let run = betadrift_as(&sandbox, dir, "alice", None, &["resolve"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(&format!("git rebase stopped: conflict in {FILE}")), "{}", run.stdout);
    assert!(run.stdout.contains("STOP at #7"), "the stop git is at: {}", run.stdout);
    assert!(
        run.stdout.contains("caused by upstream 699a6e63c2 \"deployment-prep: the primary is now deployment-db14\" by Amara Okafor (T359999)"),
        "the culprit, its author and task: {}",
        run.stdout
    );
    assert!(run.stdout.contains("git is predicted to stop again at #8"), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("cd {}", scratch(&built).display())), "{}", run.stdout);
    assert!(run.stdout.contains("betadrift resolve --continue"), "{}", run.stdout);
    // git's own markers, in git's own worktree; the live checkout untouched.
    let text = std::fs::read_to_string(scratch(&built).join(FILE)).unwrap();
    assert!(text.contains("<<<<<<< HEAD") && text.contains(">>>>>>> 07f0026"), "{text}");
    assert!(rebasing(&sandbox, &scratch(&built)));
    assert_eq!(head(&sandbox, dir), old);
    assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "");
    assert!(!rebasing(&sandbox, dir), "no rebase in the live checkout");
    // status shows it, in text and JSON.
    let status = sandbox.betadrift(dir, &["status"]);
    assert!(
        status.stdout.contains("RESOLVING    a resolution started by alice at 2026-11-25T12:00:00Z"),
        "{}",
        status.stdout
    );
    let json = sandbox.betadrift(dir, &["status", "--json"]);
    let wire: betadrift::output::json::status::Status = serde_json::from_str(&json.stdout).unwrap();
    let r = wire.resolution.expect("a resolution in the JSON");
    assert_eq!((r.started_by.as_str(), r.old_head.as_str()), ("alice", old.as_str()));
    assert_eq!(r.target, sandbox.git(dir, &["rev-parse", "origin/production"]).trim());
    // A second resolve, sync, drop and prune refuse while it is in progress.
    sandbox.betadrift(dir, &["resolve"]).assert_error("is in progress already");
    sandbox.betadrift(dir, &["sync"]).assert_error("a resolution started by alice");
    sandbox.betadrift(dir, &["prune", "--merged", "--yes"]).assert_error("betadrift prune changed nothing");
    sandbox.betadrift(dir, &["resolve", "--continue"]).assert_error("is not finished");
    assert_eq!(head(&sandbox, dir), old);
}

#[test]
fn continue_lands_the_resolution_through_the_safe_path() {
    let sandbox = Sandbox::new();
    let built = resolved(&sandbox);
    let dir = &built.checkout;
    let old = head(&sandbox, dir);
    let result = head(&sandbox, &scratch(&built));
    let (config, deploys) = deploy_config(&sandbox);
    let run = betadrift_as(&sandbox, dir, "bob", Some(&config), &["resolve", "--continue"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("started by alice"), "{}", run.stdout);
    assert!(run.stdout.contains("9 patches kept, 4 dropped"), "{}", run.stdout);
    assert!(run.stdout.contains("refs/betadrift/backup/20261125T120000Z-resolve"), "{}", run.stdout);
    assert_eq!(head(&sandbox, dir), result, "the branch is the resolved stack");
    assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "", "worktree and index at the new HEAD");
    let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
    assert!(text.contains("primary: deployment-db14") && text.contains("primary_pool: medium"), "{text}");
    let backup = sandbox.git(dir, &["rev-parse", "refs/betadrift/backup/20261125T120000Z-resolve"]);
    assert_eq!(backup.trim(), old, "the backup ref keeps the old tip");
    assert_eq!(std::fs::read_to_string(&deploys).unwrap(), "deployed\n", "the post-update command ran");
    let audit = std::fs::read_to_string(dir.join(".git/betadrift/audit.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(line["command"], "resolve");
    assert_eq!(line["actor"], "bob", "who landed it");
    assert!(line["reason"].as_str().unwrap().contains("started by alice"), "who started it: {line}");
    assert_eq!((line["old_head"].as_str(), line["new_head"].as_str()), (Some(old.as_str()), Some(result.as_str())));
    assert_eq!(line["removed"].as_array().unwrap().len(), 4, "{line}");
    assert_no_resolution_left(&sandbox, &built);
    // The ages survive: the resolved patches are dated as before.
    let ledger = std::fs::read_to_string(dir.join(".git/betadrift/ledger.json")).unwrap();
    assert!(ledger.contains("deployment-prep: give the new primary a medium pool"), "{ledger}");
    // undo takes it back.
    let undo = sandbox.betadrift(dir, &["undo"]);
    assert_eq!(undo.code, 0, "{}{}", undo.stdout, undo.stderr);
    assert_eq!(head(&sandbox, dir), old);
}

#[test]
fn a_clean_rebase_goes_straight_to_landing_and_equals_git_rebase() {
    let sandbox = Sandbox::new();
    let mut scenario = stopping_demo();
    scenario.local.retain(|c| !c.id.starts_with("p07") && !c.id.starts_with("p08"));
    scenario.snapshot.clear();
    let built = sandbox.build(&scenario);
    let copy = sandbox.path().join("git-copy");
    copy_dir(&built.dir, &copy);
    let out = sandbox.git_output(&copy.join("puppet"), &["rebase", "origin/production"]);
    assert!(out.status.success(), "git rebase: {}", String::from_utf8_lossy(&out.stderr));
    let run = sandbox.betadrift(&built.checkout, &["resolve"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("git rebase ran through with no stop"), "{}", run.stdout);
    let run = sandbox.betadrift(&built.checkout, &["resolve", "--continue"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        commits(&sandbox, &built.checkout, "origin/production"),
        commits(&sandbox, &copy.join("puppet"), "origin/production"),
        "trees, authors and messages equal git rebase's"
    );
    assert_no_resolution_left(&sandbox, &built);
}

/// `resolve --continue` refuses with `needle` and changes nothing: the
/// branch stays, no backup ref is made.
fn continue_refused(sandbox: &Sandbox, dir: &Path, needle: &str) {
    let before = head(sandbox, dir);
    sandbox.betadrift(dir, &["resolve", "--continue"]).assert_error(needle);
    assert_eq!(head(sandbox, dir), before);
    assert!(sandbox.git(dir, &["for-each-ref", "refs/betadrift/"]).is_empty(), "no backup: nothing happened");
}

#[test]
fn continue_refuses_conflict_markers_left() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&stopping_demo());
    let dir = &built.checkout;
    assert_eq!(sandbox.betadrift(dir, &["resolve"]).code, 1);
    // `git add` with the markers in: git takes it.
    finish_rebase(&sandbox, &scratch(&built), &|text| text.to_owned());
    continue_refused(&sandbox, dir, &format!("conflict markers are left in {FILE}"));
}

#[test]
fn continue_refuses_a_patch_dropped_unless_named() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&stopping_demo());
    let dir = &built.checkout;
    let scratch = scratch(&built);
    assert_eq!(sandbox.betadrift(dir, &["resolve"]).code, 1);
    // The admin skips #7 at its stop, then resolves what follows.
    let out = sandbox.git_output(&scratch, &["-c", "core.editor=true", "rebase", "--skip"]);
    assert!(out.status.success() || rebasing(&sandbox, &scratch));
    finish_rebase(&sandbox, &scratch, &resolve_markers);
    let old = head(&sandbox, dir);
    sandbox
        .betadrift(dir, &["resolve", "--continue"])
        .assert_error("the result lacks #7 deployment-prep: move the primary");
    sandbox.betadrift(dir, &["resolve", "--continue", "--drop", "8"]).assert_error("--drop names #8");
    assert_eq!(head(&sandbox, dir), old);
    let result = head(&sandbox, &scratch);
    let run = sandbox.betadrift(dir, &["resolve", "--continue", "--drop", "7"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "drop #7 07f0026bf4 deployment-prep: move the primary to deployment-db13: dropped while resolving (--drop)"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(head(&sandbox, dir), result, "the branch is the result without #7");
    let audit = std::fs::read_to_string(dir.join(".git/betadrift/audit.jsonl")).unwrap();
    assert!(audit.contains("dropped while resolving (--drop)"), "{audit}");
}

#[test]
fn continue_refuses_when_the_live_branch_moved() {
    let sandbox = Sandbox::new();
    let built = resolved(&sandbox);
    let dir = &built.checkout;
    sandbox.git(dir, &["commit", "-q", "--allow-empty", "-m", "a commit on the live branch"]);
    continue_refused(&sandbox, dir, "moved since the resolution started");
}

#[test]
fn abort_leaves_nothing_behind() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&stopping_demo());
    let dir = &built.checkout;
    let refs = sandbox.git(dir, &["for-each-ref"]);
    let old = head(&sandbox, dir);
    assert_eq!(sandbox.betadrift(dir, &["resolve"]).code, 1);
    assert!(scratch(&built).exists());
    let run = sandbox.betadrift(dir, &["resolve", "--abort"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("the live checkout was not touched"), "{}", run.stdout);
    assert_no_resolution_left(&sandbox, &built);
    assert_eq!(sandbox.git(dir, &["for-each-ref"]), refs, "no ref left");
    assert_eq!(head(&sandbox, dir), old);
    assert_eq!(sandbox.git(dir, &["status", "--porcelain", "--ignored"]), "");
    sandbox.betadrift(dir, &["resolve", "--abort"]).assert_error("no resolution is in progress");
    sandbox.betadrift(dir, &["resolve", "--continue"]).assert_error("no resolution is in progress");
    // And a sync is no longer held up by it.
    assert!(!sandbox.betadrift(dir, &["sync"]).stderr.contains("resolution"));
}

#[test]
fn next_stop_rebases_onto_the_upstream_commit_that_stops() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&stopping_demo());
    let dir = &built.checkout;
    let plan = sandbox.betadrift(dir, &["sync", "--as-far-as-possible", "--dry-run", "--json"]);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let culprit = plan["held_back"]["upstream"]["commit"].as_str().unwrap().to_owned();
    let run = sandbox.betadrift(dir, &["resolve", "--next-stop"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let json = sandbox.betadrift(dir, &["status", "--json"]);
    let wire: betadrift::output::json::status::Status = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(wire.resolution.unwrap().target, culprit);
    // git's rebase in the scratch worktree is onto it.
    let onto = sandbox.git(&scratch(&built), &["rev-parse", "--git-path", "rebase-merge/onto"]);
    let onto = std::fs::read_to_string(scratch(&built).join(onto.trim())).unwrap();
    assert_eq!(onto.trim(), culprit);
}

/// Runs `resolve --continue` in `dir`, killed by SIGKILL at `step`.
fn continue_killed_at(sandbox: &Sandbox, dir: &Path, step: &str) {
    let mut cmd = sandbox.command(env!("CARGO_BIN_EXE_betadrift"));
    cmd.current_dir(dir).env("BETADRIFT_NOW", "2026-11-25T12:00:00Z").env("BETADRIFT_FAULT", step);
    let out = cmd.args(["resolve", "--continue"]).output().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&out.status), Some(9), "killed at {step}");
}

#[test]
fn a_continue_killed_after_landing_cleans_up_when_run_again() {
    let sandbox = Sandbox::new();
    let built = resolved(&sandbox);
    let dir = &built.checkout;
    let result = head(&sandbox, &scratch(&built));
    continue_killed_at(&sandbox, dir, "resolve-landed");
    assert_eq!(head(&sandbox, dir), result);
    let status = sandbox.betadrift(dir, &["status"]);
    assert!(status.stdout.contains("RESOLVING"), "{}", status.stdout);
    let run = sandbox.betadrift(dir, &["resolve", "--continue"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("at the resolved stack already: cleaning up"), "{}", run.stdout);
    assert_no_resolution_left(&sandbox, &built);
    assert_eq!(head(&sandbox, dir), result);
}

#[test]
fn sigkill_at_every_step_of_continue_is_recoverable_with_undo() {
    common::crash::sigkill_at_every_step_and_after(
        &resolved,
        &["resolve", "--continue"],
        &["resolve-landed", "resolve-ledger"],
    );
}

#[test]
fn a_continue_killed_mid_update_refuses_until_undo() {
    let sandbox = Sandbox::new();
    let built = resolved(&sandbox);
    let dir = &built.checkout;
    let old = head(&sandbox, dir);
    continue_killed_at(&sandbox, dir, "worktree-partial");
    sandbox.betadrift(dir, &["resolve", "--continue"]).assert_error("run `betadrift undo` to roll it back");
    let undo = sandbox.betadrift(dir, &["undo"]);
    assert_eq!(undo.code, 0, "{}{}", undo.stdout, undo.stderr);
    common::crash::assert_exactly_at(&sandbox, dir, &old, "after undo");
    // The resolution is still there, and lands now.
    let run = sandbox.betadrift(dir, &["resolve", "--continue"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_no_resolution_left(&sandbox, &built);
}

#[test]
fn sigint_and_sigterm_at_every_step_of_continue() {
    common::crash::interrupt_at_every_step(&resolved, &["resolve", "--continue"], "sigint");
    common::crash::interrupt_at_every_step(&resolved, &["resolve", "--continue"], "sigterm");
}

#[test]
fn who_started_it_is_escaped_where_it_is_shown() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&stopping_demo());
    let dir = &built.checkout;
    let run = betadrift_as(&sandbox, dir, "\u{1b}[31mmallory", None, &["resolve"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
    let status = sandbox.betadrift(dir, &["status"]);
    assert!(status.stdout.contains("started by \\x1b[31mmallory"), "{}", status.stdout);
    assert!(!status.stdout.contains('\u{1b}'), "{}", status.stdout);
    let sync = sandbox.betadrift(dir, &["sync"]);
    sync.assert_error("started by \\x1b[31mmallory");
    assert!(!sync.stderr.contains('\u{1b}'));
}
