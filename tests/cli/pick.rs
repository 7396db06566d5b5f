//! `betadrift pick` end to end, against a local bare repository with
//! Gerrit's `refs/changes/` refs and a local stand-in for Gerrit's REST API:
//! the result is the commit `git cherry-pick` makes (a new change) or the
//! stack `git cherry-pick` of the new patchset and the patches above gives
//! (a newer patchset, replaced in place), a predicted conflict is refused
//! with its explanation, consent is recorded with who and when, a SIGKILL
//! at any step is undone, and `--update` replaces every outdated patchset.

use crate::common;

use std::path::{Path, PathBuf};

use betadrift::scenario::Scenario;
use betadrift::scenario::build::Built;
use common::crash::{EXTRA_CONFIG, head, interrupt_at_every_step, sigkill_at_every_step};
use common::gerrit::{FakeServer, GerritRepo, Reply, change_info, gerrit_body};
use common::{Run, Sandbox, assert_unchanged, copy_dir, fingerprint};

/// Nine numbered lines: `a1` … `a9`.
fn lines(prefix: &str) -> String {
    (1..=9).map(|i| format!("{prefix}{i}\n")).collect()
}

/// `lines(prefix)` with line `n` replaced by `text`.
fn edited(prefix: &str, n: usize, text: &str) -> String {
    (1..=9).map(|i| if i == n { format!("{text}\n") } else { format!("{prefix}{i}\n") }).collect()
}

pub fn change_id(n: u64) -> String {
    format!("I{:040}", n)
}

/// Patchset 1 of change `n` as a local patch: `{f}1` → `{F}1` in `{f}.pp`.
fn stacked_change(n: u64, f: char) -> String {
    let big = f.to_ascii_uppercase();
    format!(
        "[[local]]\nid = \"{n}\"\nauthor = \"Ana Costa <ana@example.org>\"\nmessage = \"{f}: first line\\n\\nBug: T{n}\\nChange-Id: {}\\n\"\nedit = [{{ path = \"{f}.pp\", find = \"{f}1\", replace = \"{big}1\" }}]\n",
        change_id(n)
    )
}

/// Upstream has four files; the stack holds patchset 1 of changes 1001,
/// 1002 and 1003 (the first line of a.pp, b.pp, c.pp) and a local patch
/// without a Change-Id on the last line of a.pp.
fn scenario() -> Scenario {
    let toml = format!(
        r#"
name = "gerrit"
start = "2026-10-01T00:00:00Z"
now = "2026-11-25T12:00:00Z"

[[upstream]]
id = "base"
author = "Upstream Dev <dev@example.org>"
message = "Initial import\n"
files = {{ "a.pp" = "{a}", "b.pp" = "{b}", "c.pp" = "{c}", "d.pp" = "{d}" }}

{changes}
[[local]]
id = "four"
author = "Local Admin <root@example.org>"
message = "a: last line, a local hack\n"
edit = [{{ path = "a.pp", find = "a9", replace = "A9" }}]
"#,
        a = lines("a").replace('\n', "\\n"),
        b = lines("b").replace('\n', "\\n"),
        c = lines("c").replace('\n', "\\n"),
        d = lines("d").replace('\n', "\\n"),
        changes = [(1001, 'a'), (1002, 'b'), (1003, 'c')].map(|(n, f)| stacked_change(n, f)).join("\n"),
    );
    Scenario::from_toml(&toml).unwrap()
}

/// The scenario, its Gerrit repository and the commits of the patchsets.
pub struct Setup {
    pub built: Built,
    pub gerrit: GerritRepo,
    /// `(change, patchset)` → commit.
    pub patchsets: Vec<((u64, u32), String)>,
    pub config: PathBuf,
}

impl Setup {
    pub fn commit(&self, change: u64, patchset: u32) -> &str {
        &self.patchsets.iter().find(|(k, _)| *k == (change, patchset)).unwrap().1
    }

    pub fn checkout(&self) -> &Path {
        &self.built.checkout
    }
}

/// Message of a patchset of `change`.
fn message(change: u64, subject: &str) -> String {
    format!("{subject}\n\nChange-Id: {}\n", change_id(change))
}

/// Builds the scenario and uploads the patchsets: 1001-1003 patchsets 1
/// (the stack's patches) and 2 (newer), 1004 (d.pp, new) patchsets 1 and
/// 2, and 1005 (a.pp's first line again: conflicts with the stack). The
/// config names the bare repository as the fetch URL and `gerrit_url` as
/// Gerrit (also in the sandbox's `extra-config.toml`, for the crash tests).
pub fn setup(sandbox: &Sandbox, gerrit_url: &str) -> Setup {
    let built = sandbox.build(&scenario());
    let gerrit = GerritRepo::new(sandbox, &built.upstream);
    let base = built.base.to_string();
    let mut patchsets = Vec::new();
    let uploads: [(u64, u32, &str, String, &str); 9] = [
        (1001, 1, "a.pp", edited("a", 1, "A1"), "a: first line"),
        (1001, 2, "a.pp", edited("a", 1, "A1 second try"), "a: first line, v2"),
        (1002, 1, "b.pp", edited("b", 1, "B1"), "b: first line"),
        (1002, 2, "b.pp", edited("b", 1, "B1 second try"), "b: first line, v2"),
        (1003, 1, "c.pp", edited("c", 1, "C1"), "c: first line"),
        (1003, 2, "c.pp", edited("c", 1, "C1 second try"), "c: first line, v2"),
        (1004, 1, "d.pp", edited("d", 1, "D1"), "d: a new change"),
        (1004, 2, "d.pp", edited("d", 1, "D1 second try"), "d: a new change, v2"),
        (1005, 1, "a.pp", edited("a", 1, "conflicting"), "a: conflicting"),
    ];
    for (change, ps, path, content, subject) in uploads {
        let commit = gerrit.upload(sandbox, &base, change, ps, &[(path, &content)], &message(change, subject));
        patchsets.push(((change, ps), commit));
    }
    let extra = format!("[gerrit]\nurl = \"{gerrit_url}\"\nfetch_url = \"{}\"\n", gerrit.bare.display());
    std::fs::write(sandbox.path().join(EXTRA_CONFIG), &extra).unwrap();
    let config = sandbox.path().join("pick-config.toml");
    std::fs::write(&config, &extra).unwrap();
    Setup { built, gerrit, patchsets, config }
}

/// betadrift with the setup's config.
pub fn run(sandbox: &Sandbox, s: &Setup, args: &[&str]) -> Run {
    let mut all = vec!["--config", s.config.to_str().unwrap()];
    all.extend_from_slice(args);
    sandbox.betadrift(s.checkout(), &all)
}

/// A copy of the checkout, in which `steps` (git argument lists) run.
fn with_git(sandbox: &Sandbox, s: &Setup, steps: &[Vec<String>]) -> PathBuf {
    let copy = sandbox.path().join("git-copy");
    copy_dir(&s.built.dir, &copy);
    let dir = copy.join(s.checkout().file_name().unwrap());
    sandbox.git(&dir, &["fetch", "-q", s.gerrit.bare.to_str().unwrap(), "+refs/changes/*:refs/changes/*"]);
    for step in steps {
        let args: Vec<&str> = step.iter().map(String::as_str).collect();
        sandbox.git(&dir, &args);
    }
    dir
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

fn locals(sandbox: &Sandbox, dir: &Path) -> Vec<String> {
    sandbox
        .git(dir, &["log", "--reverse", "--format=%s", "origin/production..HEAD"])
        .lines()
        .map(str::to_owned)
        .collect()
}

const NO_SERVER: &str = "http://127.0.0.1:9/r/";

#[test]
fn a_new_change_is_the_commit_git_cherry_pick_makes() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox, NO_SERVER);
    let theirs = with_git(&sandbox, &s, &[args(&["cherry-pick", s.commit(1004, 2)])]);
    let run = run(&sandbox, &s, &["pick", "1004", "--consent", "allow"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("pick change 1004 patchset 2"), "the newest patchset: {}", run.stdout);
    assert!(run.stdout.contains("adds      #5 on top"), "{}", run.stdout);
    assert!(run.stdout.contains("betadrift undo puts it back"), "{}", run.stdout);
    assert_eq!(head(&sandbox, s.checkout()), head(&sandbox, &theirs), "the very commit git cherry-pick makes");
    assert_eq!(sandbox.git(s.checkout(), &["status", "--porcelain", "--ignored"]), "", "worktree and index match");
    let audit = std::fs::read_to_string(s.checkout().join(".git/betadrift/audit.jsonl")).unwrap();
    assert!(audit.contains("\"command\":\"pick\"") && audit.contains("pick change 1004 patchset 2"), "{audit}");
}

#[test]
fn a_patchset_url_and_a_dry_run() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox, NO_SERVER);
    let before = fingerprint(s.checkout());
    let url = "https://gerrit.wikimedia.org/r/c/operations/puppet/+/1004/1";
    let dry = run(&sandbox, &s, &["pick", url, "--dry-run"]);
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    assert!(dry.stdout.contains("pick change 1004 patchset 1"), "{}", dry.stdout);
    assert!(dry.stdout.contains("--dry-run: nothing was changed"), "{}", dry.stdout);
    let json = run(&sandbox, &s, &["pick", "1004/1", "--dry-run", "--json"]);
    assert_eq!(json.code, 0, "{}{}", json.stdout, json.stderr);
    let plan: betadrift::output::json::pick::PickPlan = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(plan.picks.len(), 1);
    assert_eq!((plan.picks[0].change, plan.picks[0].patchset, plan.picks[0].position), (1004, 1, 5));
    assert_eq!(plan.picks[0].commit, s.commit(1004, 1));
    assert!(plan.replayed.is_empty() && plan.picks[0].replaces.is_none());
    // The objects were fetched (into the object store, nothing else): refs, HEAD, index, worktree unchanged.
    let after = fingerprint(s.checkout());
    let outside_objects = |f: &std::collections::BTreeMap<String, Vec<u8>>| {
        f.iter().filter(|(k, _)| !k.starts_with(".git/objects")).map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    assert_unchanged(&outside_objects(&before), &outside_objects(&after));
}

#[test]
fn a_newer_patchset_replaces_the_old_in_place() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox, NO_SERVER);
    let old = sandbox.git(s.checkout(), &["rev-list", "--reverse", "origin/production..HEAD"]);
    let old: Vec<&str> = old.lines().collect();
    // By hand: back to below #1, pick patchset 2, pick #2-#4 again.
    let theirs = with_git(
        &sandbox,
        &s,
        &[
            args(&["reset", "-q", "--hard", &format!("{}^", old[0])]),
            args(&["cherry-pick", s.commit(1001, 2)]),
            args(&["cherry-pick", old[1], old[2], old[3]]),
        ],
    );
    let run = run(&sandbox, &s, &["pick", "1001", "--consent", "after", "30d"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("replaces  #1"), "{}", run.stdout);
    assert!(run.stdout.contains("replayed  #2-#4"), "{}", run.stdout);
    assert_eq!(head(&sandbox, s.checkout()), head(&sandbox, &theirs), "the stack git makes, commit for commit");
    assert_eq!(
        locals(&sandbox, s.checkout()),
        ["a: first line, v2", "b: first line", "c: first line", "a: last line, a local hack"],
        "same position, one copy"
    );
    // The patches above are unchanged: the same trees relative to their parents.
    for (i, old_commit) in old.iter().enumerate().skip(1) {
        let new = sandbox.git(s.checkout(), &["rev-parse", &format!("HEAD~{}", 3 - i)]);
        let diff = |c: &str| {
            let text = sandbox.git(s.checkout(), &["diff", &format!("{}^", c.trim()), c.trim()]);
            text.lines().filter(|l| !l.starts_with("index ")).collect::<Vec<_>>().join("\n")
        };
        assert_eq!(diff(&new), diff(old_commit), "#{} changes the same", i + 1);
    }
    let audit = std::fs::read_to_string(s.checkout().join(".git/betadrift/audit.jsonl")).unwrap();
    assert!(audit.contains(&format!("replaced by change 1001 patchset 2 ({})", &s.commit(1001, 2)[..10])), "{audit}");
    assert!(audit.contains(old[0]), "the old commit is recorded: {audit}");
}

#[test]
fn the_same_patchset_again_changes_nothing() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox, NO_SERVER);
    let before = head(&sandbox, s.checkout());
    let run = run(&sandbox, &s, &["pick", "1001/1", "--consent", "allow"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("#1") && run.stdout.contains("is already change 1001 patchset 1"), "{}", run.stdout);
    assert_eq!(head(&sandbox, s.checkout()), before);
}

#[test]
fn a_predicted_conflict_is_refused_with_its_explanation() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox, NO_SERVER);
    // git agrees: the cherry-pick stops.
    let copy = with_git(&sandbox, &s, &[]);
    assert!(!sandbox.git_output(&copy, &["cherry-pick", s.commit(1005, 1)]).status.success(), "git stops too");
    let before = fingerprint(s.checkout());
    let run = run(&sandbox, &s, &["pick", "1005", "--consent", "allow"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("pick refused, nothing was changed: change 1005 patchset 1 would stop"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("STOP at #5"), "{}", run.stdout);
    assert!(run.stdout.contains("CONFLICT (content) a.pp"), "{}", run.stdout);
    assert!(run.stdout.contains("conflicting"), "the hunk is shown: {}", run.stdout);
    let after = fingerprint(s.checkout());
    let refs_and_tree = |f: &std::collections::BTreeMap<String, Vec<u8>>| {
        f.iter().filter(|(k, _)| !k.starts_with(".git/objects")).map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    assert_unchanged(&refs_and_tree(&before), &refs_and_tree(&after));
}

#[test]
fn consent_is_recorded_with_who_and_when() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox, NO_SERVER);
    let out = sandbox
        .command(env!("CARGO_BIN_EXE_betadrift"))
        .current_dir(s.checkout())
        .env("BETADRIFT_NOW", "2026-11-25T12:00:00Z")
        .env("SUDO_USER", "ana")
        .args(["--config", s.config.to_str().unwrap(), "pick", "1004", "--consent", "after", "2w"])
        .args(["--note", "T1004#123: fine to drop after two weeks"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list = run(&sandbox, &s, &["consent", "list", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let rule = &doc["rules"][0];
    assert_eq!((&rule["scope"], &rule["value"]), (&"change".into(), &change_id(1004).into()), "{doc}");
    assert_eq!(rule["decision"], "after 2w", "{doc}");
    assert_eq!(rule["set_by"], "ana", "{doc}");
    assert_eq!(rule["set_at"], "2026-11-25T12:00:00Z", "{doc}");
    assert_eq!(rule["note"], "T1004#123: fine to drop after two weeks", "{doc}");
    let explain = run(&sandbox, &s, &["consent", "explain", "5"]);
    assert!(explain.stdout.contains("after 2w"), "{}", explain.stdout);
}

#[test]
fn without_a_consent_decision_nothing_happens() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox, NO_SERVER);
    let before = fingerprint(s.checkout());
    run(&sandbox, &s, &["pick", "1004"]).assert_error("pass --consent allow|ask|never|after DURATION");
    run(&sandbox, &s, &["pick", "1004", "--consent", "sometimes"]).assert_error("--consent:");
    run(&sandbox, &s, &["pick", "banana", "--consent", "allow"]).assert_error("name a change as");
    assert_unchanged(&before, &fingerprint(s.checkout()));
    run(&sandbox, &s, &["pick", "4242", "--consent", "allow"]).assert_error("has no change 4242");
    run(&sandbox, &s, &["pick", "1004/7", "--consent", "allow"]).assert_error("has no patchset 7 of change 1004");
    // [pick] consent is the default.
    let mut text = std::fs::read_to_string(&s.config).unwrap();
    text.push_str("\n[pick]\nconsent = \"never\"\n");
    std::fs::write(&s.config, text).unwrap();
    let run = run(&sandbox, &s, &["pick", "1004"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(&format!("consent for {}: never", change_id(1004))), "{}", run.stdout);
}

#[test]
fn a_picked_patch_keeps_its_first_seen_time_across_patchsets() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox, NO_SERVER);
    let early = sandbox
        .command(env!("CARGO_BIN_EXE_betadrift"))
        .current_dir(s.checkout())
        .env("BETADRIFT_NOW", "2026-11-20T12:00:00Z")
        .args(["--config", s.config.to_str().unwrap(), "pick", "1004/1", "--consent", "allow"])
        .output()
        .unwrap();
    assert!(early.status.success(), "{}", String::from_utf8_lossy(&early.stderr));
    let run = run(&sandbox, &s, &["pick", "1004/2", "--consent", "allow"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("replaces  #5"), "{}", run.stdout);
    let ledger: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.checkout().join(".git/betadrift/ledger.json")).unwrap())
            .unwrap();
    let entry = &ledger["patches"][format!("change-id:{}", change_id(1004))];
    assert_eq!(entry["first_seen"], "2026-11-20T12:00:00Z", "first seen with patchset 1: {ledger}");
    let status = sandbox.betadrift(s.checkout(), &["--config", s.config.to_str().unwrap(), "status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let patch = doc["patches"].as_array().unwrap().iter().find(|p| p["change_id"] == change_id(1004)).unwrap().clone();
    assert_eq!(patch["first_seen"], "2026-11-20T12:00:00Z", "{patch}");
}

#[test]
fn sigkill_at_every_step_of_a_pick_is_undone() {
    let build = |sandbox: &Sandbox| setup(sandbox, NO_SERVER).built;
    sigkill_at_every_step(&build, &["pick", "1001", "--consent", "allow"]);
}

#[test]
fn sigterm_at_every_step_of_a_pick_is_rolled_back_or_finished() {
    let build = |sandbox: &Sandbox| setup(sandbox, NO_SERVER).built;
    interrupt_at_every_step(&build, &["pick", "1001", "--consent", "allow"], "sigterm");
}

#[test]
fn update_replaces_three_outdated_patchsets() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let s = setup(&sandbox, &server.gerrit_url());
    let changes: Vec<serde_json::Value> =
        [1001, 1002, 1003].iter().map(|&n| change_info(n, &change_id(n), "NEW", (s.commit(n, 2), 2))).collect();
    let body = gerrit_body(&changes);
    server.answer(move |_| Reply::ok(body.clone()));
    let old = sandbox.git(s.checkout(), &["rev-list", "--reverse", "origin/production..HEAD"]);
    let old: Vec<&str> = old.lines().collect();
    let theirs = with_git(
        &sandbox,
        &s,
        &[
            args(&["reset", "-q", "--hard", &format!("{}^", old[0])]),
            args(&["cherry-pick", s.commit(1001, 2), s.commit(1002, 2), s.commit(1003, 2), old[3]]),
        ],
    );
    let run = run(&sandbox, &s, &["pick", "--update"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(server.requests(), 1, "one batched query");
    let query = server.seen.lock().unwrap()[0].line.clone();
    for n in [1001, 1002, 1003] {
        assert!(query.contains(&format!("change:{}", change_id(n))), "{query}");
        assert!(run.stdout.contains(&format!("pick change {n} patchset 2")), "{}", run.stdout);
    }
    assert!(query.contains("o=CURRENT_REVISION") && query.contains("o=DETAILED_ACCOUNTS"), "{query}");
    assert_eq!(head(&sandbox, s.checkout()), head(&sandbox, &theirs), "the stack git makes");
    // Up to date now: a second --update has nothing to do.
    let again = run_again(&sandbox, &s, &["pick", "--update"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
    assert!(again.stdout.contains("current   #1"), "{}", again.stdout);
    // Gerrit down: pick --update is an error that changes nothing.
    server.answer(|_| Reply::status(503));
    let now = head(&sandbox, s.checkout());
    run_again(&sandbox, &s, &["pick", "--update"]).assert_error("HTTP 503");
    assert_eq!(head(&sandbox, s.checkout()), now);
}

fn run_again(sandbox: &Sandbox, s: &Setup, args: &[&str]) -> Run {
    run(sandbox, s, args)
}

#[test]
fn a_change_id_is_looked_up_in_gerrit() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let s = setup(&sandbox, &server.gerrit_url());
    let body = gerrit_body(&[change_info(1004, &change_id(1004), "NEW", (s.commit(1004, 2), 2))]);
    server.answer(move |_| Reply::ok(body.clone()));
    let run = run(&sandbox, &s, &["pick", &format!("{}/1", change_id(1004)), "--consent", "allow"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("pick change 1004 patchset 1"), "{}", run.stdout);
}
