//! Live Gerrit state in `status` (`--online`), against a local stand-in for
//! Gerrit's REST API (127.0.0.1, exact `ChangeInfo` JSON with the XSSI
//! prefix) and a bare repository with the patchsets: each change status,
//! current and outdated local copies (by patch-id), the cache (hit and
//! expiry), and every failure of the service degrading to the cached or
//! offline answer with one warning line, exit 0, the checkout untouched.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::gerrit::{FakeServer, Reply, change_info, gerrit_body};
use crate::common::{Run, Sandbox, assert_unchanged, fingerprint};
use crate::pick::{Setup, change_id, setup};

/// `status --online --json` (or other args) at `now`, with the setup's config.
fn status_at(sandbox: &Sandbox, s: &Setup, now: &str, extra: &[&str]) -> Run {
    let mut args = vec!["--config", s.config.to_str().unwrap(), "--now", now, "status", "--online"];
    args.extend_from_slice(extra);
    sandbox.betadrift(s.checkout(), &args)
}

const NOW: &str = "2026-11-25T12:00:00Z";

/// A one-second timeout, so that the slow server is slow.
fn short_timeout(s: &Setup) {
    let mut text = std::fs::read_to_string(&s.config).unwrap();
    text = text.replace("[gerrit]\n", "[gerrit]\ntimeout = \"1s\"\n");
    std::fs::write(&s.config, text).unwrap();
}

/// The `gerrit` object of each patch (Null where absent), by position.
fn gerrit_of(run: &Run) -> Vec<serde_json::Value> {
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let doc: betadrift::output::json::status::Status = serde_json::from_str(&run.stdout).expect("strict schema");
    doc.patches.iter().map(|p| serde_json::to_value(&p.gerrit).unwrap()).collect()
}

/// Everything but betadrift's own state directory.
fn outside_state(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    fingerprint(dir).into_iter().filter(|(k, _)| !k.starts_with(".git/betadrift")).collect()
}

/// Changes 1001 NEW at patchset 1 (the local copy), 1002 NEW at patchset 2
/// (newer than the local copy), 1003 MERGED as patchset 2 (not the local copy).
fn three_states(s: &Setup) -> Vec<u8> {
    gerrit_body(&[
        change_info(1001, &change_id(1001), "NEW", (s.commit(1001, 1), 1)),
        change_info(1002, &change_id(1002), "NEW", (s.commit(1002, 2), 2)),
        change_info(1003, &change_id(1003), "MERGED", (s.commit(1003, 2), 2)),
    ])
}

#[test]
fn each_status_and_whether_the_local_copy_is_current() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let s = setup(&sandbox, &server.gerrit_url());
    let body = three_states(&s);
    server.answer(move |_| Reply::ok(body.clone()));
    let before = outside_state(s.checkout());
    let run = status_at(&sandbox, &s, NOW, &["--json"]);
    assert!(run.stderr.is_empty(), "no warning: {}", run.stderr);
    let g = gerrit_of(&run);
    assert_eq!((g[0]["number"].as_u64(), g[0]["status"].as_str()), (Some(1001), Some("NEW")));
    assert_eq!(g[0]["local_copy"], "current", "{}", g[0]);
    assert_eq!(g[0]["owner"], "Ana Costa");
    assert_eq!(g[0]["current_patchset"], 1);
    assert_eq!(g[0]["url"], format!("{}c/operations/puppet/+/1001", server.gerrit_url()));
    assert_eq!((g[1]["status"].as_str(), g[1]["local_copy"].as_str()), (Some("NEW"), Some("differs")), "{}", g[1]);
    assert_eq!(g[1]["current_patchset"], 2);
    assert_eq!((g[2]["status"].as_str(), g[2]["local_copy"].as_str()), (Some("MERGED"), Some("differs")), "{}", g[2]);
    assert!(g[3].is_null(), "no Change-Id, no Gerrit state: {}", g[3]);
    assert_eq!(server.requests(), 1, "one batched query");
    let query = server.seen.lock().unwrap()[0].line.clone();
    assert!(query.starts_with("GET /r/changes/?q=change:I") && query.contains("+OR+change:I"), "{query}");
    // The checkout is not written: the cache and the objects are in the state dir.
    assert_unchanged(&before, &outside_state(s.checkout()));

    let text = status_at(&sandbox, &s, NOW, &[]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("gerrit       live state of 3 changes from"), "{}", text.stdout);
    assert!(text.stdout.contains("1001 NEW ps1 current"), "{}", text.stdout);
    assert!(text.stdout.contains("1002 NEW ps2 NEWER in Gerrit"), "{}", text.stdout);
    assert!(text.stdout.contains("1003 MERGED ps2 merged differs"), "{}", text.stdout);
    assert!(text.stdout.contains("#2 have a newer patchset in Gerrit: betadrift pick --update"), "{}", text.stdout);
    assert!(
        text.stdout.contains("#3 merged in Gerrit, but the local copy differs from what merged"),
        "{}",
        text.stdout
    );
}

#[test]
fn an_abandoned_change_is_suggested_for_removal() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let s = setup(&sandbox, &server.gerrit_url());
    let body = gerrit_body(&[change_info(1002, &change_id(1002), "ABANDONED", (s.commit(1002, 1), 1))]);
    server.answer(move |_| Reply::ok(body.clone()));
    let run = status_at(&sandbox, &s, NOW, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("1002 ABANDONED ps1 current"), "{}", run.stdout);
    assert!(run.stdout.contains("#2 abandoned in Gerrit; drop them?"), "{}", run.stdout);
    let g = gerrit_of(&status_at(&sandbox, &s, NOW, &["--json"]));
    assert!(g[0].is_null() && g[2].is_null(), "changes Gerrit did not return have no state");
}

#[test]
fn the_cache_answers_until_it_expires() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let s = setup(&sandbox, &server.gerrit_url());
    let body = three_states(&s);
    server.answer(move |_| Reply::ok(body.clone()));
    gerrit_of(&status_at(&sandbox, &s, NOW, &["--json"]));
    assert_eq!(server.requests(), 1);
    let hit = gerrit_of(&status_at(&sandbox, &s, "2026-11-25T12:09:00Z", &["--json"]));
    assert_eq!(server.requests(), 1, "within the 10 minutes: no request");
    assert_eq!(hit[0]["fetched_at"], NOW);
    let expired = gerrit_of(&status_at(&sandbox, &s, "2026-11-25T12:11:00Z", &["--json"]));
    assert_eq!(server.requests(), 2, "expired: asked again");
    assert_eq!(expired[0]["fetched_at"], "2026-11-25T12:11:00Z");
    // Without --online (and online = false) Gerrit is never asked.
    let offline = sandbox.betadrift(s.checkout(), &["--config", s.config.to_str().unwrap(), "status", "--json"]);
    assert!(gerrit_of(&offline).iter().all(serde_json::Value::is_null));
    assert_eq!(server.requests(), 2);
}

/// Every way the service fails.
fn failures() -> Vec<(&'static str, Reply, &'static str)> {
    vec![
        ("401", Reply::status(401), "HTTP 401"),
        ("404", Reply::status(404), "HTTP 404"),
        ("500", Reply::status(500), "HTTP 500"),
        ("slow", Reply::slow(gerrit_body(&[]), Duration::from_secs(3)), "timed out"),
        ("malformed", Reply::ok(b")]}'\n[{\"_number\": 1, ".to_vec()), "malformed Gerrit JSON"),
        ("no prefix", Reply::ok(b"[]".to_vec()), "prefix"),
        ("10 MB", Reply::ok(vec![b' '; 10 << 20]), "ximum file size"),
    ]
}

#[test]
fn a_failing_gerrit_is_one_warning_and_the_offline_answer() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let s = setup(&sandbox, &server.gerrit_url());
    short_timeout(&s);
    let before = outside_state(s.checkout());
    for (what, reply, needle) in failures() {
        server.answer(move |_| reply.clone());
        let run = status_at(&sandbox, &s, NOW, &["--json"]);
        assert_eq!(run.stderr.lines().count(), 1, "{what}: one warning line: {}", run.stderr);
        assert!(run.stderr.starts_with("betadrift: warning: Gerrit at "), "{what}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{what}: {needle:?} in {}", run.stderr);
        assert!(gerrit_of(&run).iter().all(serde_json::Value::is_null), "{what}: no state rather than a wrong one");
        let text = status_at(&sandbox, &s, NOW, &[]);
        assert_eq!(text.code, 0, "{what}: {}", text.stderr);
        assert!(text.stdout.contains("UNREACHABLE, cached state of 0 changes"), "{what}: {}", text.stdout);
    }
    assert_unchanged(&before, &outside_state(s.checkout()));
}

#[test]
fn a_failing_gerrit_shows_the_cached_state_with_its_age() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let s = setup(&sandbox, &server.gerrit_url());
    short_timeout(&s);
    let body = three_states(&s);
    server.answer(move |_| Reply::ok(body.clone()));
    gerrit_of(&status_at(&sandbox, &s, NOW, &["--json"]));
    for (what, reply, needle) in failures() {
        server.answer(move |_| reply.clone());
        let run = status_at(&sandbox, &s, "2026-11-25T14:00:00Z", &["--json"]);
        assert!(run.stderr.contains(needle) && run.stderr.contains("cached state"), "{what}: {}", run.stderr);
        let g = gerrit_of(&run);
        assert_eq!(
            (g[0]["status"].as_str(), g[0]["fetched_at"].as_str()),
            (Some("NEW"), Some(NOW)),
            "{what}: {}",
            g[0]
        );
        let text = status_at(&sandbox, &s, "2026-11-25T14:00:00Z", &[]);
        assert!(text.stdout.contains("UNREACHABLE, cached state of 3 changes"), "{what}: {}", text.stdout);
        assert!(text.stdout.contains("as of 2h ago"), "{what}: {}", text.stdout);
    }
}

#[test]
fn online_needs_a_gerrit_url() {
    let sandbox = Sandbox::new();
    let s = setup(&sandbox, "http://127.0.0.1:9/r/");
    std::fs::write(&s.config, "").unwrap();
    status_at(&sandbox, &s, NOW, &[]).assert_error("set [gerrit] url");
}

/// `report --online` in `format`, at `NOW`.
fn report(sandbox: &Sandbox, s: &Setup, format: &str) -> Run {
    let args = ["--config", s.config.to_str().unwrap(), "report", "--online", "--repo", ".", "--format", format];
    sandbox.betadrift(s.checkout(), &args)
}

#[test]
fn the_report_shows_it_in_every_format_and_metrics() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let s = setup(&sandbox, &server.gerrit_url());
    let body = gerrit_body(&[
        change_info(1001, &change_id(1001), "NEW", (s.commit(1001, 1), 1)),
        change_info(1002, &change_id(1002), "NEW", (s.commit(1002, 2), 2)),
        change_info(1003, &change_id(1003), "ABANDONED", (s.commit(1003, 1), 1)),
    ]);
    server.answer(move |_| Reply::ok(body.clone()));
    let prom = report(&sandbox, &s, "prometheus");
    assert_eq!(prom.code, 0, "{}{}", prom.stdout, prom.stderr);
    let metrics = openmetrics_parser::prometheus::parse_prometheus(&prom.stdout).expect("valid exposition format");
    assert!(metrics.families.contains_key("betadrift_patch_gerrit_status"));
    for (metric, rest) in [
        ("betadrift_patch_gerrit_status", r#"",position="1",change="1001",status="NEW"} 1"#),
        ("betadrift_patch_gerrit_status", r#"",position="3",change="1003",status="ABANDONED"} 1"#),
        ("betadrift_patch_outdated_patchset", r#"",position="1",change="1001"} 0"#),
        ("betadrift_patch_outdated_patchset", r#"",position="2",change="1002"} 1"#),
    ] {
        let found = prom.stdout.lines().any(|l| l.starts_with(&format!("{metric}{{repo=\"")) && l.ends_with(rest));
        assert!(found, "{metric}…{rest} in {}", prom.stdout);
    }
    let json = report(&sandbox, &s, "json");
    let doc: betadrift::output::json::report::Report = serde_json::from_str(&json.stdout).expect("strict schema");
    let doc = serde_json::to_value(doc).unwrap();
    let repo = &doc["repositories"][0];
    assert_eq!(repo["patches"][1]["gerrit"]["local_copy"], "differs", "{repo}");
    let actions = repo["actions"].to_string();
    assert!(actions.contains("gerrit-abandoned"), "{actions}");
    for format in ["text", "markdown", "html"] {
        let run = report(&sandbox, &s, format);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        assert!(run.stdout.contains("1002 NEW ps2 NEWER in Gerrit"), "{format}: {}", run.stdout);
        assert!(run.stdout.contains("change 1003, abandoned in Gerrit"), "{format}: {}", run.stdout);
    }
    // Gerrit down (after the cache expired): the report still succeeds, with one warning.
    server.answer(|_| Reply::status(502));
    let args = ["--config", s.config.to_str().unwrap(), "--now", "2026-11-26T00:00:00Z", "report", "--online"];
    let down = sandbox.betadrift(s.checkout(), &[&args[..], &["--repo", ".", "--format", "prometheus"]].concat());
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(down.stderr.lines().count(), 1, "{}", down.stderr);
    assert!(down.stderr.contains("HTTP 502"), "{}", down.stderr);
    assert!(down.stdout.contains(r#"status="ABANDONED"} 1"#), "the cached state: {}", down.stdout);
}
