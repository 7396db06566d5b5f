//! One age model: a patch's age is how long it has been on the checkout, as
//! the first-seen ledger, the snapshot tags and the branch's reflog date it,
//! the same in every command; where nothing dates it, its age is unknown and
//! never stale. The author date is never taken for an arrival.

use std::path::Path;

use crate::common;

use betadrift::output::json::consent::Explain;
use betadrift::output::json::report::Report;
use betadrift::output::json::status::Status;
use betadrift::scenario::Scenario;
use common::Sandbox;

/// The sandbox's "now" (`BETADRIFT_NOW` and git's dates).
const NOW: &str = "2026-11-25T12:00:00Z";

/// The demo puppetmaster with a clean worktree, and a policy allowing
/// removal after 30 days on the checkout.
fn demo(sandbox: &Sandbox) -> std::path::PathBuf {
    let mut scenario = Scenario::demo();
    scenario.dirty = Default::default();
    let dir = sandbox.build(&scenario).checkout;
    let policy = dir.join(".git/betadrift/policy.toml");
    std::fs::create_dir_all(policy.parent().unwrap()).unwrap();
    let rule =
        "[[rule]]\ndefault = true\ndecision = \"after 30d\"\nset_by = \"root\"\nset_at = \"2026-10-01T00:00:00Z\"\n";
    std::fs::write(policy, rule).unwrap();
    dir
}

fn status(sandbox: &Sandbox, dir: &Path, now: &str) -> Status {
    let run = sandbox.betadrift(dir, &["--now", now, "status", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

fn explain(sandbox: &Sandbox, dir: &Path, now: &str, patch: &str) -> Explain {
    let run = sandbox.betadrift(dir, &["--now", now, "consent", "explain", "--json", patch]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

/// Runs git with the committer date (and so the reflog entry) at `date`.
fn git_at(sandbox: &Sandbox, dir: &Path, date: &str, args: &[&str]) {
    let out =
        sandbox.command(common::git_binary()).current_dir(dir).env("GIT_COMMITTER_DATE", date).args(args).output();
    let out = out.unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Deletes the snapshot tags and empties the reflog: a first install.
fn forget_history(sandbox: &Sandbox, dir: &Path) {
    for tag in sandbox.git(dir, &["tag", "--list", "snapshot-*"]).lines() {
        sandbox.git(dir, &["tag", "-d", tag]);
    }
    sandbox.git(dir, &["reflog", "expire", "--expire=all", "--all"]);
}

#[test]
fn a_patch_cherry_picked_today_with_an_old_author_date_is_never_stale() {
    let sandbox = Sandbox::new();
    let dir = demo(&sandbox);
    std::fs::write(dir.join("hotfix.pp"), "class hotfix {}\n").unwrap();
    sandbox.git(&dir, &["add", "hotfix.pp"]);
    let commit = sandbox
        .command(common::git_binary())
        .current_dir(&dir)
        .env("GIT_AUTHOR_DATE", "2024-06-01T09:00:00Z")
        .args(["commit", "-q", "-m", "hotfix: from Gerrit, written two years ago"])
        .output()
        .unwrap();
    assert!(commit.status.success(), "{}", String::from_utf8_lossy(&commit.stderr));

    let later = "2026-12-20T12:00:00Z";
    let s = status(&sandbox, &dir, later);
    let p = s.patches.last().unwrap();
    assert_eq!((p.position, p.author_time.as_str()), (14, "2024-06-01T09:00:00Z"));
    assert_eq!((p.first_seen.as_deref(), p.first_seen_source.as_deref()), (Some(NOW), Some("reflog")));
    assert!(!p.consent.allowed_now, "25 days on the checkout: `after 30d` does not allow it yet");
    let e = explain(&sandbox, &dir, later, "14");
    assert_eq!((e.patches[0].since.as_deref(), e.patches[0].age_seconds), (Some(NOW), Some(25 * 86_400)));

    let prune = sandbox.betadrift(&dir, &["--now", later, "prune", "--stale", "20d", "--yes", "--dry-run"]);
    assert_eq!(prune.code, 0, "{}", prune.stderr);
    assert!(!prune.stdout.contains("hotfix"), "the newest patch is not stale:\n{}", prune.stdout);
    let report = sandbox.betadrift(&dir, &["--now", later, "report", "--format", "json"]);
    let report: Report = serde_json::from_str(&report.stdout).unwrap();
    let stale: Vec<usize> = report.repositories[0].stale.iter().map(|s| s.position).collect();
    assert!(!stale.contains(&14), "{stale:?}");
}

#[test]
fn on_a_first_install_the_reflog_dates_patches_and_the_rest_is_unknown() {
    let sandbox = Sandbox::new();
    let dir = demo(&sandbox);
    forget_history(&sandbox, &dir);
    let s = status(&sandbox, &dir, NOW);
    assert!(s.patches.iter().all(|p| p.first_seen.is_none()), "nothing dates any patch");
    let head = sandbox.git(&dir, &["rev-parse", "HEAD"]);
    let prune = sandbox.betadrift(&dir, &["prune", "--stale", "1d", "--yes"]);
    assert_eq!(prune.code, 0, "{}", prune.stderr);
    assert!(prune.stdout.starts_with("nothing to prune (--stale 1d)"), "{}", prune.stdout);
    assert!(prune.stdout.contains("left alone #1-#13: age unknown, so never stale"), "{}", prune.stdout);
    assert_eq!(sandbox.git(&dir, &["rev-parse", "HEAD"]), head, "prune --stale removed nothing");

    // The branch's reflog: at #10 on October 1st, at the tip since November 20th.
    let tip = head.trim();
    let p10 = sandbox.git(&dir, &["rev-parse", "HEAD~3"]);
    git_at(&sandbox, &dir, "2026-10-01T00:00:00Z", &["update-ref", "-m", "sync", "refs/heads/production", p10.trim()]);
    git_at(&sandbox, &dir, "2026-11-20T00:00:00Z", &["update-ref", "-m", "cherry-pick", "refs/heads/production", tip]);
    let reflog_dated = |s: &Status| {
        for p in &s.patches {
            let want = if p.position <= 10 { "2026-10-01T00:00:00Z" } else { "2026-11-20T00:00:00Z" };
            let got = (p.first_seen.as_deref(), p.first_seen_source.as_deref());
            assert_eq!(got, (Some(want), Some("reflog")), "#{}", p.position);
        }
    };
    reflog_dated(&status(&sandbox, &dir, NOW));
    // The report records those dates in the ledger: they outlive the reflog.
    assert_eq!(sandbox.betadrift(&dir, &["report", "--format", "json"]).code, 0);
    sandbox.git(&dir, &["reflog", "expire", "--expire=all", "--all"]);
    reflog_dated(&status(&sandbox, &dir, NOW));
    // #1-#10 are 55 days old; removing #1 would make #12-#13 conflict.
    let prune = sandbox.betadrift(&dir, &["prune", "--stale", "30d", "--yes", "--dry-run"]);
    assert!(prune.stdout.contains("prune 9 patches of 13"), "{}", prune.stdout);
    assert_eq!(prune.stdout.matches("stale: 55d on the checkout").count(), 9, "{}", prune.stdout);
    assert!(prune.stdout.contains("left alone #1: removing it would make #12-#13 conflict"), "{}", prune.stdout);
}

#[test]
fn with_a_ledger_every_command_gives_each_patch_the_same_age() {
    let sandbox = Sandbox::new();
    let dir = demo(&sandbox);
    // The first report starts the ledger: #1-#12 dated by their snapshot
    // tags, #13 (after the last tag) only known to be there already.
    let report = sandbox.betadrift(&dir, &["report", "--format", "json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    // A patch arrives; tags and reflog are lost; the next report dates it.
    std::fs::write(dir.join("hotfix.pp"), "class hotfix {}\n").unwrap();
    sandbox.git(&dir, &["add", "hotfix.pp"]);
    sandbox.git(&dir, &["commit", "-q", "-m", "hotfix"]);
    forget_history(&sandbox, &dir);
    let report = sandbox.betadrift(&dir, &["--now", "2026-12-01T00:00:00Z", "report", "--format", "json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);

    let later = "2027-01-10T12:00:00Z";
    let s = status(&sandbox, &dir, later);
    let report = sandbox.betadrift(&dir, &["--now", later, "report", "--format", "json"]);
    let report: Report = serde_json::from_str(&report.stdout).unwrap();
    let stale = &report.repositories[0].stale;
    for p in &s.patches {
        let e = explain(&sandbox, &dir, later, &p.position.to_string());
        assert_eq!(e.patches[0].since, p.first_seen, "#{}: consent explain and status", p.position);
        let in_report = stale.iter().find(|r| r.position == p.position).map(|r| &r.since);
        assert_eq!(in_report.is_some(), p.first_seen.is_some(), "#{}: stale in the report iff dated", p.position);
        if let Some(since) = in_report {
            assert_eq!(Some(since), p.first_seen.as_ref(), "#{}: report and status", p.position);
        }
    }
    let seen = |i: usize| (s.patches[i].first_seen.as_deref(), s.patches[i].first_seen_source.as_deref());
    assert_eq!(seen(0).1, Some("tag:snapshot-202606021130"), "#1: the ledger keeps the tag that dated it");
    assert_eq!(seen(12), (None, None), "#13 was there before the ledger: unknown");
    assert_eq!(seen(13), (Some("2026-12-01T00:00:00Z"), Some("ledger")), "#14, first seen by the second report");
    let prune = sandbox.betadrift(&dir, &["--now", later, "prune", "--stale", "30d", "--yes", "--dry-run"]);
    assert!(prune.stdout.contains("left alone #13: age unknown"), "{}", prune.stdout);
    assert!(prune.stdout.contains("stale: 40d on the checkout"), "#14, as the ledger dates it:\n{}", prune.stdout);
}
