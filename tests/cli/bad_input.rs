//! Bad input gets one clear line on stderr and exit 2, changes nothing,
//! and never panics: hostile files where betadrift reads its records, an
//! upstream SHA "file" that is a device or a pipe, times git cannot record,
//! empty configuration values.

use std::path::Path;

use crate::common;

use betadrift::scenario::Scenario;
use common::{Sandbox, assert_unchanged, fingerprint};

fn demo(sandbox: &Sandbox) -> std::path::PathBuf {
    let mut scenario = Scenario::demo();
    scenario.dirty = Default::default();
    sandbox.build(&scenario).checkout
}

#[test]
fn undo_list_shows_a_hostile_audit_log_without_panicking() {
    let sandbox = Sandbox::new();
    let dir = demo(&sandbox);
    let head = sandbox.git(&dir, &["rev-parse", "HEAD"]);
    sandbox.git(&dir, &["update-ref", "refs/betadrift/backup/production-1", head.trim()]);
    let removed = r#"{"commit":"aééééééééé\u001b[31m","subject":"s","change_id":null,"why":"asked for"}"#;
    let line = format!(
        r#"{{"time":"2026-11-25T12:00:00Z\u001b[2J","actor":"kim","command":"drop\u0007","repo":"r","branch":"refs/heads/production","old_head":"x","new_head":"y","backup":"refs/betadrift/backup/production-1","reason":null,"forced":false,"removed":[{removed}],"upstream":null}}"#
    );
    std::fs::create_dir_all(dir.join(".git/betadrift")).unwrap();
    std::fs::write(dir.join(".git/betadrift/audit.jsonl"), format!("{line}\n")).unwrap();
    let run = sandbox.betadrift(&dir, &["undo", "--list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("removed aéééé"), "no cut inside a character: {}", run.stdout);
    assert!(
        run.stdout.contains("drop\\x07 of refs/heads/production by kim at 2026-11-25T12:00:00Z\\x1b[2J"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{7}'), "escapes made visible: {}", run.stdout);
}

#[test]
fn a_time_before_1970_is_refused() {
    let sandbox = Sandbox::new();
    let dir = demo(&sandbox);
    let before = fingerprint(&dir);
    let run = sandbox.betadrift(&dir, &["--now", "1969-12-31T23:59:59Z", "sync", "--upstream", "origin/production"]);
    run.assert_error("--now: '1969-12-31T23:59:59Z' is before 1970-01-01T00:00:00Z");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert_unchanged(&before, &fingerprint(&dir));
}

#[test]
fn an_upstream_sha_file_must_be_a_regular_file_and_is_read_bounded() {
    let sandbox = Sandbox::new();
    let dir = demo(&sandbox);
    let fifo = sandbox.path().join("sha.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for file in [Path::new("/dev/zero"), fifo.as_path()] {
        let started = std::time::Instant::now();
        let run = sandbox.betadrift(&dir, &["status", "--upstream-sha-file", file.to_str().unwrap()]);
        run.assert_error("is not a regular file; name the file that holds the SHA");
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{} blocked", file.display());
    }
    // A huge file: only its beginning is read, and it is no SHA.
    let huge = sandbox.path().join("huge.txt");
    std::fs::write(&huge, vec![b'a'; 64 << 20]).unwrap();
    let run = sandbox.betadrift(&dir, &["status", "--upstream-sha-file", huge.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.len() < 1000, "one short line: {}", run.stderr.len());
}

#[test]
fn an_empty_state_dir_is_a_config_error_not_the_current_directory() {
    let sandbox = Sandbox::new();
    let dir = demo(&sandbox);
    let config = sandbox.path().join("config.toml");
    for key in ["dir", "policy"] {
        std::fs::write(&config, format!("[state]\n{key} = \"\"\n")).unwrap();
        let before = fingerprint(&dir);
        let run = sandbox.betadrift(&dir, &["--config", config.to_str().unwrap(), "report"]);
        run.assert_error(&format!("[state] {key} is empty; remove the line to use the default, or name a path"));
        assert_unchanged(&before, &fingerprint(&dir));
    }
}

/// Runs betadrift in `dir` with `BETADRIFT_FAULT` set.
fn with_fault(sandbox: &Sandbox, dir: &Path, fault: &str, args: &[&str]) -> common::Run {
    let out = sandbox
        .command(env!("CARGO_BIN_EXE_betadrift"))
        .current_dir(dir)
        .env("BETADRIFT_NOW", "2026-11-25T12:00:00Z")
        .env("BETADRIFT_FAULT", fault)
        .args(args)
        .output()
        .unwrap();
    common::Run::from(out)
}

#[test]
fn a_bug_is_one_line_and_its_own_exit_code() {
    let sandbox = Sandbox::new();
    let dir = demo(&sandbox);
    let run = with_fault(&sandbox, &dir, "panic:run", &["status"]);
    assert_eq!(run.code, 3, "an internal error is not bad input (2): {}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("betadrift: error: internal error, a bug in betadrift"), "{}", run.stderr);
}

#[test]
fn a_bug_in_one_repository_leaves_the_others_reported() {
    let sandbox = Sandbox::new();
    let first = demo(&sandbox);
    let mut other = Scenario::demo();
    other.name = "other".into();
    let second = sandbox.build(&other).checkout;
    let config = sandbox.path().join("config.toml");
    let entry = |name: &str, path: &Path| format!("[[repository]]\nname = \"{name}\"\npath = \"{}\"\n", path.display());
    std::fs::write(&config, entry("first", &first) + &entry("second", &second)).unwrap();
    let args = ["--config", config.to_str().unwrap(), "report", "--format", "json"];
    let run = with_fault(&sandbox, sandbox.path(), "panic:report:first", &args);
    assert_eq!(run.code, 2, "the report is incomplete: {}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("first: internal error, a bug in betadrift"), "{}", run.stderr);
    let report: betadrift::output::json::report::Report = serde_json::from_str(&run.stdout).unwrap();
    let [a, b] = &report.repositories[..] else { panic!("two repositories: {}", run.stdout) };
    assert!(!a.success && a.errors[0].starts_with("internal error"), "{:?}", a.errors);
    assert!(b.success && b.patches.len() == 13, "the second is reported whole: {:?}", b.errors);
}
