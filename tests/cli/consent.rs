//! `betadrift consent` end to end, on the demo puppetmaster.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use betadrift::output::json::consent as wire;
use betadrift::scenario::Scenario;
use betadrift::scenario::build::Built;
use common::{Run, Sandbox, assert_unchanged, fingerprint};

/// Demo patch #11: `Uncherry-Pick: allow`, tasks T360100 and T360101.
const CID_11: &str = "Ia4b5c6d7e8f90123456789012345678901234567";

struct Demo {
    sandbox: Sandbox,
    built: Built,
}

impl Demo {
    fn new() -> Demo {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&Scenario::demo());
        Demo { sandbox, built }
    }

    fn policy_path(&self) -> PathBuf {
        self.built.checkout.join(".git/betadrift/policy.toml")
    }

    /// Writes the policy file by hand, as an admin with an editor would.
    fn write_policy(&self, text: &str) -> PathBuf {
        let path = self.policy_path();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs betadrift in the checkout with extra environment variables.
    fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut cmd = self.sandbox.command(env!("CARGO_BIN_EXE_betadrift"));
        cmd.current_dir(&self.built.checkout).env("BETADRIFT_NOW", "2026-11-25T12:00:00Z").args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(cmd.output().expect("running betadrift"))
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_env(&[], args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr, "", "{args:?}");
        run.stdout
    }

    fn list(&self) -> wire::List {
        serde_json::from_str(&self.ok(&["consent", "list", "--json"])).expect("list JSON matches the documented schema")
    }

    fn explain(&self, args: &[&str]) -> wire::Explain {
        let mut all = vec!["consent", "explain", "--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).expect("explain JSON matches the documented schema")
    }

    fn status(&self) -> betadrift::output::json::status::Status {
        serde_json::from_str(&self.ok(&["status", "--json"])).expect("status JSON matches the documented schema")
    }
}

fn scopes(list: &wire::List) -> Vec<String> {
    list.rules.iter().map(|r| format!("{} {}", r.scope, r.value.as_deref().unwrap_or("-"))).collect()
}

#[test]
fn set_list_and_remove() {
    let d = Demo::new();
    assert!(d.list().rules.is_empty(), "no policy file: no rules");
    let sudo = [("SUDO_USER", "kim"), ("USER", "root")];
    let out = d.run_env(&sudo, &["consent", "set", "--task", "T360100", "never", "--note", "Tomás wants it back"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, format!("task T360100: never (new rule); saved in {}\n", d.policy_path().display()));
    d.ok(&["consent", "set", "--default", "after", "30d"]);
    d.ok(&["consent", "set", "--author", "<KTran@Example.org>", "after 2w"]);
    d.ok(&["consent", "set", "--change", CID_11, "ask"]);

    let list = d.list();
    assert_eq!(list.schema_version, 2);
    assert_eq!(list.policy_file, d.policy_path().to_string_lossy());
    assert_eq!(
        scopes(&list),
        [&format!("change {CID_11}"), "task T360100", "author ktran@example.org", "default -"],
        "precedence order"
    );
    let task = &list.rules[1];
    assert_eq!((task.decision.as_str(), task.set_by.as_str()), ("never", "kim"), "SUDO_USER is who set it");
    assert_eq!(task.set_at, "2026-11-25T12:00:00Z");
    assert_eq!(task.note.as_deref(), Some("Tomás wants it back"));
    assert_eq!(list.rules[3].decision, "after 30d");
    assert_eq!(list.rules[2].decision, "after 2w");
    assert_eq!(list.rules[3].set_by, "unknown", "no SUDO_USER, no USER");

    let out = d.run_env(&[("USER", "root")], &["consent", "set", "--task", "t360100", "allow"]);
    assert!(out.stdout.starts_with("task T360100: allow (was never); saved in "), "{}", out.stdout);
    let task = &d.list().rules[1];
    assert_eq!((task.decision.as_str(), task.set_by.as_str(), task.note.as_deref()), ("allow", "root", None));

    let text = d.ok(&["consent", "list"]);
    assert!(text.starts_with(&format!("policy  {}\n\n", d.policy_path().display())), "{text}");
    let row = ["author", "ktran@example.org", "after", "2w", "unknown", "2026-11-25T12:00:00Z", "-"];
    assert!(text.lines().any(|l| l.split_whitespace().eq(row)), "{text}");

    let out = d.ok(&["consent", "remove", "--task", "T360100"]);
    assert!(out.starts_with("task T360100: removed (was allow); saved in "), "{out}");
    assert_eq!(scopes(&d.list()).len(), 3);
    d.run(&["consent", "remove", "--task", "T360100"]).assert_error("no consent rule for task T360100 in ");
}

#[test]
fn the_uncherry_pick_trailer_of_patch_11() {
    let d = Demo::new();
    let e = d.explain(&["11"]);
    assert_eq!((e.schema_version, e.selector.as_str(), e.generated_at.as_str()), (2, "11", "2026-11-25T12:00:00Z"));
    let p = &e.patches[0];
    assert_eq!((p.position, p.trailer.as_deref(), p.change_id.as_deref()), (11, Some("allow"), Some(CID_11)));
    assert_eq!(p.consent, wire::Consent { decision: "allow".into(), allowed_now: true, source: "trailer".into() });
    assert_eq!(p.rule, None);
    assert!(p.overruled.is_empty());
    assert_eq!(p.reason, "Removal is allowed: its commit message says Uncherry-Pick: allow.");

    let status = d.status();
    assert_eq!(status.patches[10].consent.source, "trailer");
    assert!(
        status
            .patches
            .iter()
            .filter(|p| p.position != 11)
            .all(|p| p.consent.decision == "ask" && p.consent.source == "builtin" && !p.consent.allowed_now)
    );

    // A task rule loses to the trailer; a change rule beats it.
    d.ok(&["consent", "set", "--task", "T360101", "never"]);
    let p = &d.explain(&["#11"]).patches[0];
    assert_eq!(p.consent.source, "trailer");
    assert_eq!(p.overruled.len(), 1);
    assert_eq!(p.overruled[0].source, "task");
    assert_eq!(p.overruled[0].why, "outranked by the Uncherry-Pick: trailer");
    assert_eq!(p.overruled[0].rule.as_ref().unwrap().value.as_deref(), Some("T360101"));
    d.ok(&["consent", "set", "--change", CID_11, "never"]);
    let p = &d.explain(&["Ia4b5c6d"]).patches[0];
    assert_eq!(p.consent, wire::Consent { decision: "never".into(), allowed_now: false, source: "change".into() });
    let lost: Vec<&str> = p.overruled.iter().map(|o| o.source.as_str()).collect();
    assert_eq!(lost, ["trailer", "task"]);
    assert_eq!(d.status().patches[10].consent.decision, "never");
}

#[test]
fn after_counts_from_first_seen_to_the_second() {
    let d = Demo::new();
    d.ok(&["consent", "set", "--default", "after 30d"]);
    // #9 was first seen at 2026-11-03T10:20:00Z: 22 days before now.
    let p = &d.explain(&["9"]).patches[0];
    assert_eq!((p.since.as_deref(), p.age_seconds), (Some("2026-11-03T10:20:00Z"), Some(22 * 86_400 + 6000)));
    assert_eq!(p.consent, wire::Consent { decision: "after 30d".into(), allowed_now: false, source: "default".into() });
    assert_eq!(p.allowed_from.as_deref(), Some("2026-12-03T10:20:00Z"));
    let at = |now: &str| d.explain(&["--now", now, "9"]).patches[0].consent.allowed_now;
    assert!(!at("2026-12-03T10:19:59Z"));
    assert!(at("2026-12-03T10:20:00Z"));
    assert!(at("2026-12-03T10:20:01Z"));
    // A task selects every patch of it: #7 and #8 have been on the box for 40 days.
    let e = d.explain(&["T359010"]);
    let seen: Vec<(usize, bool)> = e.patches.iter().map(|p| (p.position, p.consent.allowed_now)).collect();
    assert_eq!(seen, [(7, true), (8, true)]);
    let status = d.ok(&["status"]);
    let ends = |cell: &str| status.lines().filter(|l| l.ends_with(&format!("  {cell}"))).count();
    // #13 arrived after the last snapshot tag and nothing else dates it: its
    // age is unknown, however old its author date (23d), never "in 6d".
    assert_eq!(
        (ends("after 30d (ok)"), ends("after 30d (in 7d)"), ends("after 30d (age ?)"), ends("allow")),
        (8, 3, 1, 1),
        "{status}"
    );
    // Its explanation says so, and no `after` rule allows its removal: an
    // unknown age is never old.
    let p = &d.explain(&["13"]).patches[0];
    assert_eq!((p.since.as_deref(), p.age_seconds, p.allowed_from.as_deref()), (None, None, None));
    assert!(!p.consent.allowed_now);
    assert!(p.reason.contains("nothing dates the patch's arrival on the checkout"), "{}", p.reason);
    let text = d.ok(&["consent", "explain", "13"]);
    assert!(
        text.contains("  removal    not while its age is unknown; age unknown: nothing dates its arrival"),
        "{text}"
    );
}

#[test]
fn explain_text() {
    let d = Demo::new();
    d.run_env(
        &[("SUDO_USER", "kim")],
        &["consent", "set", "--task", "T360100", "never", "--note", "ask \u{1b}[31mTomás"],
    );
    let text = d.ok(&["consent", "explain", CID_11]);
    let want = "\
#11 d58e432ace beta: send logs to the new logging pipeline
  decision   allow, from the Uncherry-Pick: trailer
  removal    allowed now; on the checkout since 2026-11-03T10:20:00Z (22d ago)
  why        Removal is allowed: its commit message says Uncherry-Pick: allow.
  overruled  the rule for task T360100 says never (set by kim at 2026-11-25T12:00:00Z; note: ask \\x1b[31mTomás); outranked by the Uncherry-Pick: trailer
";
    assert_eq!(text, want);
    let text = d.ok(&["consent", "explain", "T359010"]);
    assert!(text.starts_with("#7 07f0026bf4 deployment-prep: move the primary to deployment-db13\n"), "{text}");
    assert!(text.contains("\n\n#8 64b103f90c "), "patches are separated by a blank line: {text}");
    assert!(text.contains("  decision   ask, from the built-in default\n"), "{text}");
    assert!(text.contains(
        "  removal    not without the owner's consent; on the checkout since 2026-10-16T10:00:00Z (40d ago)\n"
    ));
    assert!(text.contains("  overruled  nothing: no other rule or trailer covers this patch\n"));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let d = Demo::new();
    let error = |args: &[&str], needle: &str| d.run(args).assert_error(needle);
    error(&["consent", "set", "--task", "T1", "maybe"], "DECISION: 'maybe' is not a decision");
    error(&["consent", "set", "--task", "T1", "after", "soon"], "'soon' is not a duration");
    error(&["consent", "set", "--change", "Iabc", "allow"], "--change: 'Iabc' is not a full Change-Id");
    error(&["consent", "set", "--author", "Kim Tran", "allow"], "--author: 'Kim Tran' is not an email address");
    error(&["consent", "set", "--task", "Tx", "allow"], "--task: 'Tx' is not a Phabricator task");
    error(&["consent", "remove", "--default"], "no consent rule for default in");
    error(&["consent", "explain", "99"], "patch '99': position 99 is out of range: the stack has patches #1 to #13");
    error(&["consent", "explain", "Ia4b5"], "too short for a Change-Id");
    error(&["consent", "explain", "T1"], "no local patch names task T1");
    error(&["consent", "explain", "HEAD"], "not a patch selector");
    error(&["consent", "explain", "--now", "soon", "1"], "RFC 3339");
    assert!(!d.policy_path().exists(), "failed commands wrote nothing");
    let clap = d.run(&["consent", "set", "--task", "T1", "--default", "allow"]);
    assert_eq!(clap.code, 2, "clap's own usage errors exit 2 too");
}

#[test]
fn a_corrupt_policy_is_reported_and_left_alone() {
    let d = Demo::new();
    let corrupt = "# hand edited\n[[rule]]\ntask = \"T360100\"\ndecision = \"alow\"\nset_by = \"kim\"\nset_at = \"2026-11-20T00:00:00Z\"\n";
    let path = d.write_policy(corrupt);
    let want = format!("consent policy {}: line 4, column 12: 'alow' is not a decision", path.display());
    for args in [
        &["consent", "list"][..],
        &["consent", "set", "--default", "ask"],
        &["consent", "remove", "--task", "T360100"],
        &["consent", "explain", "11"],
        &["status"],
    ] {
        d.run(args).assert_error(&want);
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), corrupt);
}

#[test]
fn hand_edits_survive_set_and_remove() {
    let d = Demo::new();
    let hand = "# deployment-prep consent\n\n# Tomás, T360100#4711\n[[rule]]\ntask = \"T360100\"  # pipeline\ndecision = 'allow'\nset_by = \"tomas\"\nset_at = 2026-11-01T10:00:00Z\n\n# end\n";
    let path = d.write_policy(hand);
    d.ok(&["consent", "set", "--author", "ktran@example.org", "never"]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(&hand[..hand.len() - "\n# end\n".len()]), "{text}");
    d.ok(&["consent", "remove", "--author", "ktran@example.org"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), hand, "byte for byte");
}

#[test]
fn config_and_repo_options() {
    let d = Demo::new();
    let custom = d.sandbox.path().join("etc/policy.toml");
    let config = d.sandbox.path().join("config.toml");
    std::fs::write(&config, format!("[state]\npolicy = {:?}\n", custom.to_str().unwrap())).unwrap();
    let repo = d.built.checkout.to_str().unwrap();
    let elsewhere = d.sandbox.path();
    let run = |args: &[&str]| {
        let out = d.sandbox.betadrift(elsewhere, args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        out.stdout
    };
    run(&["--config", config.to_str().unwrap(), "consent", "set", "--repo", repo, "--default", "never"]);
    assert!(custom.exists());
    assert!(!d.policy_path().exists(), "[state] policy decides where the file is");
    let list: wire::List = serde_json::from_str(&run(&[
        "consent",
        "list",
        "--repo",
        repo,
        "--json",
        "--config",
        config.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!((list.policy_file.as_str(), list.rules.len()), (custom.to_str().unwrap(), 1));
    let without: wire::List = serde_json::from_str(&run(&["consent", "list", "--repo", repo, "--json"])).unwrap();
    assert!(without.rules.is_empty(), "without the config: the default file, which does not exist");
    let e: wire::Explain = serde_json::from_str(&run(&[
        "--config",
        config.to_str().unwrap(),
        "consent",
        "explain",
        "--repo",
        repo,
        "--json",
        "1",
    ]))
    .unwrap();
    assert_eq!(e.patches[0].consent.decision, "never");
}

/// The fingerprint without betadrift's own state directory.
fn outside_state(map: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    map.into_iter().filter(|(k, _)| !k.starts_with(".git/betadrift")).collect()
}

#[test]
fn consent_changes_only_the_policy_file() {
    let d = Demo::new();
    let before = fingerprint(&d.built.checkout);
    d.ok(&["consent", "set", "--task", "T360100", "never"]);
    d.ok(&["consent", "list"]);
    d.ok(&["consent", "list", "--json"]);
    d.ok(&["consent", "explain", "T360100"]);
    d.ok(&["consent", "explain", "--json", "1"]);
    d.ok(&["consent", "set", "--default", "ask"]);
    d.ok(&["consent", "remove", "--default"]);
    let after = fingerprint(&d.built.checkout);
    let state: Vec<&String> = after.keys().filter(|k| k.starts_with(".git/betadrift")).collect();
    assert_eq!(state, [".git/betadrift/", ".git/betadrift/policy.toml"], "the policy file and nothing else");
    assert_unchanged(&outside_state(before), &outside_state(after));
}

#[test]
fn policy_is_per_repository() {
    let d = Demo::new();
    d.ok(&["consent", "set", "--default", "never"]);
    let other = d.sandbox.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let built = betadrift::scenario::build::build(&Scenario::demo(), &other).unwrap();
    let out = d.sandbox.betadrift(&built.checkout, &["consent", "list", "--json"]);
    let list: wire::List = serde_json::from_str(&out.stdout).unwrap();
    assert!(list.rules.is_empty());
    assert_eq!(Path::new(&list.policy_file), built.checkout.join(".git/betadrift/policy.toml"));
}
