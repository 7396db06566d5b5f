//! Phabricator task state in `status` and `report` (`--online`), against a
//! local stand-in for Conduit's `maniphest.search` (127.0.0.1, the exact
//! `result.data[].fields` JSON): each task status, the cache (hit and
//! expiry), every failure degrading to the cached or offline answer with one
//! warning line and exit 0, the token file's permissions, and the token
//! sent in the POST body only.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::common::gerrit::{FakeServer, Reply};
use crate::common::{Run, Sandbox};
use crate::pick::{Setup, setup};

const NOW: &str = "2026-11-25T12:00:00Z";
const TOKEN: &str = "api-sekrit0token0for0tests";

/// The pick scenario (patches #1-#3 link T1001-T1003, #4 none) with only
/// `[phabricator]` configured: the server's URL and a 0600 token file.
fn phab_setup(sandbox: &Sandbox, server: &FakeServer) -> (Setup, PathBuf) {
    let s = setup(sandbox, &server.gerrit_url());
    let token = sandbox.path().join("conduit.token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = format!(
        "[phabricator]\nurl = \"{}\"\ntoken_file = \"{}\"\ntimeout = \"1s\"\n",
        server.phabricator_url(),
        token.display()
    );
    std::fs::write(&s.config, config).unwrap();
    (s, token)
}

/// A `maniphest.search` answer with tasks `(id, status, title, owner)`.
fn conduit_body(tasks: &[(u64, &str, &str, Option<&str>)]) -> Vec<u8> {
    let data: Vec<serde_json::Value> = tasks
        .iter()
        .map(|(id, status, title, owner)| {
            serde_json::json!({
                "id": id, "type": "TASK", "phid": format!("PHID-TASK-{id}"),
                "fields": {
                    "name": title, "description": {"raw": "…"}, "authorPHID": "PHID-USER-author",
                    "ownerPHID": owner, "status": {"value": status, "name": status, "color": null},
                    "priority": {"value": 50, "name": "Normal", "color": "orange"},
                    "points": null, "subtype": "default", "closerPHID": null, "dateClosed": null,
                    "spacePHID": null, "dateCreated": 1700000000, "dateModified": 1700000001,
                    "policy": {"view": "public", "interact": "public", "edit": "users"}
                },
                "attachments": {}
            })
        })
        .collect();
    let doc = serde_json::json!({
        "result": {"data": data, "maps": {}, "query": {"queryKey": null},
                   "cursor": {"limit": 100, "after": null, "before": null, "order": null}},
        "error_code": null, "error_info": null
    });
    doc.to_string().into_bytes()
}

/// A `user.search` answer naming `(phid, username, real name)`.
fn users_body(users: &[(&str, &str, &str)]) -> Vec<u8> {
    let data: Vec<serde_json::Value> = users
        .iter()
        .map(|(phid, user, real)| {
            serde_json::json!({"id": 1, "type": "USER", "phid": phid,
                "fields": {"username": user, "realName": real, "roles": ["verified"], "dateCreated": 1, "dateModified": 2,
                           "policy": {"view": "public", "edit": "no-one"}},
                "attachments": {}})
        })
        .collect();
    let doc = serde_json::json!({"result": {"data": data, "cursor": {"limit": 100, "after": null}},
                                 "error_code": null, "error_info": null});
    doc.to_string().into_bytes()
}

fn status_at(sandbox: &Sandbox, s: &Setup, now: &str, extra: &[&str]) -> Run {
    let mut args = vec!["--config", s.config.to_str().unwrap(), "--now", now, "status", "--online"];
    args.extend_from_slice(extra);
    sandbox.betadrift(s.checkout(), &args)
}

/// The `phabricator` list of each patch, by position.
fn tasks_of(run: &Run) -> Vec<serde_json::Value> {
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN), "the token never shows");
    let doc: betadrift::output::json::status::Status = serde_json::from_str(&run.stdout).expect("strict schema");
    doc.patches.iter().map(|p| serde_json::to_value(&p.phabricator).unwrap()).collect()
}

#[test]
fn each_task_state_with_title_and_assignee() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let (s, _) = phab_setup(&sandbox, &server);
    let body = conduit_body(&[
        (1001, "open", "beta: a\u{1b}[31m red title", Some("PHID-USER-ana")),
        (1002, "resolved", "b: done", None),
        (1003, "declined", "c: no", Some("PHID-USER-omar")),
    ]);
    let names = users_body(&[("PHID-USER-ana", "acosta", "Ana Costa"), ("PHID-USER-omar", "ohaddad", "")]);
    server.answer(move |seen| match seen.line.contains("/api/user.search") {
        true => Reply::ok(names.clone()),
        false => Reply::ok(body.clone()),
    });
    let run = status_at(&sandbox, &s, NOW, &["--json"]);
    assert!(run.stderr.is_empty(), "no warning: {}", run.stderr);
    let t = tasks_of(&run);
    assert_eq!(t[0][0]["task"], "T1001");
    assert_eq!((t[0][0]["status"].as_str(), t[0][0]["closed"].as_bool()), (Some("open"), Some(false)));
    assert_eq!(t[0][0]["assignee"], "Ana Costa (acosta)");
    assert_eq!(t[0][0]["assignee_phid"], "PHID-USER-ana");
    assert_eq!(t[2][0]["assignee"], "ohaddad");
    assert_eq!(t[0][0]["url"], format!("{}T1001", server.phabricator_url()));
    assert_eq!((t[1][0]["status"].as_str(), t[1][0]["closed"].as_bool()), (Some("resolved"), Some(true)));
    assert!(t[1][0]["assignee"].is_null());
    assert_eq!((t[2][0]["status"].as_str(), t[2][0]["closed"].as_bool()), (Some("declined"), Some(true)));
    assert_eq!(t[3], serde_json::json!([]), "no task linked");
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "one batched request for the tasks, one for the assignees' names");
    assert!(seen[1].line.starts_with("POST /api/user.search "), "{}", seen[1].line);
    let users = "constraints%5Bphids%5D%5B0%5D=PHID-USER-ana&constraints%5Bphids%5D%5B1%5D=PHID-USER-omar&limit=2";
    assert!(seen[1].body.starts_with("api.token=") && seen[1].body.ends_with(users), "{}", seen[1].body);
    assert!(seen[0].line.starts_with("POST /api/maniphest.search "), "{}", seen[0].line);
    let expected = format!(
        "api.token={TOKEN}&constraints%5Bids%5D%5B0%5D=1001&constraints%5Bids%5D%5B1%5D=1002&constraints%5Bids%5D%5B2%5D=1003"
    );
    assert!(seen[0].body.starts_with(&expected), "the token in the POST body: {}", seen[0].body);
    assert!(!seen[0].line.contains(TOKEN), "never in the URL");

    let text = status_at(&sandbox, &s, NOW, &[]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(!text.stdout.contains(TOKEN) && !text.stdout.contains('\u{1b}'), "escaped: {}", text.stdout);
    assert!(text.stdout.contains("phabricator  live state of 3 tasks from"), "{}", text.stdout);
    for cell in ["T1001 open", "T1002 resolved", "T1003 declined", "#2 #3 link only closed tasks in Phabricator"] {
        assert!(text.stdout.contains(cell), "{cell}: {}", text.stdout);
    }
    assert!(text.stdout.contains("T1002     resolved  b: done; unassigned"), "{}", text.stdout);
    assert!(text.stdout.contains("red title; assigned to Ana Costa (acosta)"), "{}", text.stdout);
    assert_eq!(server.requests(), 2, "the names are cached too");
}

#[test]
fn unnamed_assignees_are_shown_by_phid_with_one_warning() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let (s, _) = phab_setup(&sandbox, &server);
    let body = conduit_body(&[(1001, "open", "a", Some("PHID-USER-ana"))]);
    server.answer(move |seen| match seen.line.contains("/api/user.search") {
        true => Reply::status(500),
        false => Reply::ok(body.clone()),
    });
    let run = status_at(&sandbox, &s, NOW, &["--json"]);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("HTTP 500"), "{}", run.stderr);
    let t = tasks_of(&run);
    assert_eq!((t[0][0]["status"].as_str(), t[0][0]["assignee"].as_str()), (Some("open"), Some("PHID-USER-ana")));
}

#[test]
fn every_status_conduit_returns_is_shown_and_only_three_are_closed() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let (s, _) = phab_setup(&sandbox, &server);
    let statuses = [("open", false), ("resolved", true), ("declined", true), ("invalid", true), ("stalled", false)];
    for (i, (status, closed)) in statuses.into_iter().chain([("duplicate", false), ("progress", false)]).enumerate() {
        let body = conduit_body(&[(1001, status, "a", None)]);
        server.answer(move |_| Reply::ok(body.clone()));
        // Each round past the 10-minute TTL of the round before.
        let now = format!("2026-11-25T{:02}:00:00Z", 12 + i);
        let t = tasks_of(&status_at(&sandbox, &s, &now, &["--json"]));
        assert_eq!((t[0][0]["status"].as_str(), t[0][0]["closed"].as_bool()), (Some(status), Some(closed)));
    }
    assert_eq!(server.requests(), 7);
}

#[test]
fn the_cache_answers_until_it_expires() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let (s, _) = phab_setup(&sandbox, &server);
    let body = conduit_body(&[(1001, "open", "a", None), (1002, "resolved", "b", None)]);
    server.answer(move |_| Reply::ok(body.clone()));
    tasks_of(&status_at(&sandbox, &s, NOW, &["--json"]));
    assert_eq!(server.requests(), 1);
    // T1003 was not returned: it is asked again each run, the others are cached.
    let hit = tasks_of(&status_at(&sandbox, &s, "2026-11-25T12:09:00Z", &["--json"]));
    assert_eq!(hit[0][0]["fetched_at"], NOW);
    assert_eq!(server.requests(), 2);
    assert!(server.seen.lock().unwrap()[1].body.ends_with("constraints%5Bids%5D%5B0%5D=1003&limit=1"));
    let expired = tasks_of(&status_at(&sandbox, &s, "2026-11-25T12:11:00Z", &["--json"]));
    assert_eq!(expired[0][0]["fetched_at"], "2026-11-25T12:11:00Z");
    assert_eq!(server.requests(), 3);
    let offline = sandbox.betadrift(s.checkout(), &["--config", s.config.to_str().unwrap(), "status", "--json"]);
    assert!(tasks_of(&offline).iter().all(serde_json::Value::is_null), "offline by default");
    assert_eq!(server.requests(), 3);
}

/// Every way the service fails.
fn failures() -> Vec<(&'static str, Reply, &'static str)> {
    let conduit_error = br#"{"result":null,"error_code":"ERR-INVALID-AUTH","error_info":"API token is invalid."}"#;
    vec![
        ("401", Reply::status(401), "HTTP 401"),
        ("500", Reply::status(500), "HTTP 500"),
        ("slow", Reply::slow(conduit_body(&[]), Duration::from_secs(3)), "timed out"),
        ("malformed", Reply::ok(b"{\"result\":{\"data\":[{".to_vec()), "malformed Conduit JSON"),
        ("error_code", Reply::ok(conduit_error.to_vec()), "Conduit error ERR-INVALID-AUTH"),
        ("10 MB", Reply::ok(vec![b' '; 10 << 20]), "ximum file size"),
    ]
}

#[test]
fn a_failing_phabricator_is_one_warning_and_the_offline_or_cached_answer() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let (s, _) = phab_setup(&sandbox, &server);
    for (what, reply, needle) in failures() {
        server.answer(move |_| reply.clone());
        let run = status_at(&sandbox, &s, NOW, &["--json"]);
        assert_eq!(run.stderr.lines().count(), 1, "{what}: one warning line: {}", run.stderr);
        assert!(run.stderr.starts_with("betadrift: warning: Phabricator at "), "{what}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{what}: {needle:?} in {}", run.stderr);
        let t = tasks_of(&run);
        assert!(t[..3].iter().all(|p| p == &serde_json::json!([])), "{what}: no state rather than a wrong one");
    }
    let body = conduit_body(&[(1001, "resolved", "a", None)]);
    server.answer(move |_| Reply::ok(body.clone()));
    tasks_of(&status_at(&sandbox, &s, NOW, &["--json"]));
    for (what, reply, needle) in failures() {
        server.answer(move |_| reply.clone());
        let run = status_at(&sandbox, &s, "2026-11-25T14:00:00Z", &["--json"]);
        assert!(run.stderr.contains(needle) && run.stderr.contains("cached state"), "{what}: {}", run.stderr);
        let t = tasks_of(&run);
        assert_eq!((t[0][0]["status"].as_str(), t[0][0]["fetched_at"].as_str()), (Some("resolved"), Some(NOW)));
        let text = status_at(&sandbox, &s, "2026-11-25T14:00:00Z", &[]);
        assert!(text.stdout.contains("UNREACHABLE, cached state of 1 task"), "{what}: {}", text.stdout);
        assert!(text.stdout.contains("as of 2h ago"), "{what}: {}", text.stdout);
    }
}

#[test]
fn the_token_file_must_be_private_and_regular() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::ok(conduit_body(&[])));
    let (s, token) = phab_setup(&sandbox, &server);
    for mode in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(mode)).unwrap();
        let run = status_at(&sandbox, &s, NOW, &[]);
        run.assert_error(&format!("run chmod 600 {}", token.display()));
        assert!(run.stderr.contains(&format!("mode {mode:04o}")) && !run.stderr.contains(TOKEN), "{}", run.stderr);
    }
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = sandbox.path().join("token-link");
    std::os::unix::fs::symlink(&token, &link).unwrap();
    let config = std::fs::read_to_string(&s.config).unwrap();
    std::fs::write(&s.config, config.replace(token.to_str().unwrap(), link.to_str().unwrap())).unwrap();
    status_at(&sandbox, &s, NOW, &[]).assert_error("is a symbolic link");
    assert_eq!(server.requests(), 0, "nothing asked with a refused token");
    std::fs::write(&s.config, config).unwrap();
    let ok = status_at(&sandbox, &s, NOW, &[]);
    assert_eq!(ok.code, 0, "0600 is accepted: {}", ok.stderr);
    assert_eq!(server.requests(), 1);
}

fn report(sandbox: &Sandbox, s: &Setup, format: &str) -> Run {
    let args = ["--config", s.config.to_str().unwrap(), "--now", NOW, "report", "--online", "--repo", "."];
    sandbox.betadrift(s.checkout(), &[&args[..], &["--format", format]].concat())
}

#[test]
fn the_report_shows_tasks_in_every_format_and_the_metric() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(500));
    let (s, _) = phab_setup(&sandbox, &server);
    let body = conduit_body(&[(1001, "open", "a", None), (1002, "invalid", "b <b>", None)]);
    server.answer(move |_| Reply::ok(body.clone()));
    let prom = report(&sandbox, &s, "prometheus");
    assert_eq!(prom.code, 0, "{}{}", prom.stdout, prom.stderr);
    openmetrics_parser::prometheus::parse_prometheus(&prom.stdout).expect("valid exposition format");
    for rest in [r#"",position="1",task="T1001"} 0"#, r#"",position="2",task="T1002"} 1"#] {
        let found =
            prom.stdout.lines().any(|l| l.starts_with("betadrift_patch_task_closed{repo=\"") && l.ends_with(rest));
        assert!(found, "{rest} in {}", prom.stdout);
    }
    assert!(!prom.stdout.contains("task=\"T1003\""), "an unknown task has no series");
    let json = report(&sandbox, &s, "json");
    let doc: betadrift::output::json::report::Report = serde_json::from_str(&json.stdout).expect("strict schema");
    let doc = serde_json::to_value(doc).unwrap();
    let repo = &doc["repositories"][0];
    assert_eq!(repo["patches"][1]["phabricator"][0]["status"], "invalid", "{repo}");
    assert!(repo["actions"].to_string().contains("task-closed"), "{}", repo["actions"]);
    for format in ["text", "markdown", "html"] {
        let run = report(&sandbox, &s, format);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        assert!(run.stdout.contains("T1002 invalid"), "{format}: {}", run.stdout);
        assert!(run.stdout.contains("links T1002, closed in Phabricator"), "{format}: {}", run.stdout);
    }
    // Without --online the family is left out, as Gerrit's are.
    let offline = sandbox.betadrift(
        s.checkout(),
        &["--config", s.config.to_str().unwrap(), "report", "--repo", ".", "--format", "prometheus"],
    );
    assert!(!offline.stdout.contains("betadrift_patch_task_closed"), "{}", offline.stdout);
}

/// The consent of each patch in `status --json` (with `extra` args): (decision, allowed_now).
fn consent_of(sandbox: &Sandbox, s: &Setup, args: &[&str]) -> Vec<(String, bool)> {
    let mut all = vec!["--config", s.config.to_str().unwrap(), "--now", NOW, "status", "--json"];
    all.extend_from_slice(args);
    let run = sandbox.betadrift(s.checkout(), &all);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let patches = doc["patches"].as_array().unwrap();
    patches
        .iter()
        .map(|p| {
            (p["consent"]["decision"].as_str().unwrap().to_owned(), p["consent"]["allowed_now"].as_bool().unwrap())
        })
        .collect()
}

#[test]
fn after_task_closed_allows_removal_only_once_phabricator_says_so() {
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(503));
    let (s, _) = phab_setup(&sandbox, &server);
    for task in ["T1001", "T1002"] {
        let args = ["--config", s.config.to_str().unwrap(), "consent", "set", "--task", task, "after-task-closed"];
        let run = sandbox.betadrift(s.checkout(), &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let decision = |c: &[(String, bool)]| c[..2].iter().all(|(d, _)| d == "after-task-closed");
    let offline = consent_of(&sandbox, &s, &[]);
    assert!(decision(&offline) && offline.iter().all(|(_, allowed)| !allowed), "offline: unknown: {offline:?}");
    let down = consent_of(&sandbox, &s, &["--online"]);
    assert!(down.iter().all(|(_, allowed)| !allowed), "Phabricator down, no cache: unknown: {down:?}");
    let body = conduit_body(&[(1001, "open", "a", None), (1002, "resolved", "b", None)]);
    server.answer(move |_| Reply::ok(body.clone()));
    let online = consent_of(&sandbox, &s, &["--online"]);
    assert!(decision(&online), "{online:?}");
    assert_eq!((online[0].1, online[1].1, online[2].1), (false, true, false), "only #2's task is closed");
    // drop and prune do not ask Phabricator: for them the state is unknown, so no consent.
    let args = ["--config", s.config.to_str().unwrap(), "--now", NOW, "drop", "2", "--dry-run"];
    let drop = sandbox.betadrift(s.checkout(), &args);
    assert_eq!(drop.code, 2, "{}{}", drop.stdout, drop.stderr);
    assert!(drop.stderr.contains("no consent to remove #2"), "{}", drop.stderr);
}

#[test]
fn after_change_abandoned_allows_removal_only_once_gerrit_says_so() {
    use crate::common::gerrit::{change_info, gerrit_body};
    use crate::pick::change_id;
    let sandbox = Sandbox::new();
    let server = FakeServer::start(|_| Reply::status(503));
    let s = setup(&sandbox, &server.gerrit_url());
    for n in [1001, 1003] {
        let id = change_id(n);
        let args =
            ["--config", s.config.to_str().unwrap(), "consent", "set", "--change", &id, "after-change-abandoned"];
        assert_eq!(sandbox.betadrift(s.checkout(), &args).code, 0);
    }
    assert!(consent_of(&sandbox, &s, &[]).iter().all(|(_, allowed)| !allowed), "offline: unknown");
    assert!(consent_of(&sandbox, &s, &["--online"]).iter().all(|(_, allowed)| !allowed), "Gerrit down: unknown");
    let body = gerrit_body(&[
        change_info(1001, &change_id(1001), "NEW", (s.commit(1001, 1), 1)),
        change_info(1003, &change_id(1003), "ABANDONED", (s.commit(1003, 1), 1)),
    ]);
    server.answer(move |_| Reply::ok(body.clone()));
    let online = consent_of(&sandbox, &s, &["--online"]);
    assert_eq!(online[0], ("after-change-abandoned".to_owned(), false), "open change");
    assert_eq!(online[2], ("after-change-abandoned".to_owned(), true), "abandoned change");
}
