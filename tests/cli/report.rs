//! `betadrift report` end to end: every format on the demo (snapshots), on
//! hostile data, on a private repository; the first-seen ledger across a
//! real rebase; read-only-ness, exit codes and partial failure.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use betadrift::output::json::report as wire;
use betadrift::scenario::Scenario;
use common::{Run, Sandbox, assert_unchanged, fingerprint};

const FORMATS: [&str; 5] = ["text", "markdown", "json", "html", "prometheus"];

/// A config naming the checkout `operations/puppet`, written into the sandbox.
pub(crate) fn config(sandbox: &Sandbox, checkout: &Path, extra: &str) -> PathBuf {
    let path = sandbox.path().join("config.toml");
    let text = format!("[[repository]]\nname = \"operations/puppet\"\npath = \"{}\"\n{extra}\n", checkout.display());
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `report` with a config file.
pub(crate) fn report(sandbox: &Sandbox, config: &Path, args: &[&str]) -> Run {
    let mut all = vec!["--config", config.to_str().unwrap(), "report"];
    all.extend_from_slice(args);
    sandbox.betadrift(sandbox.path(), &all)
}

/// Replaces the sandbox's path, as is and as Markdown escapes it.
pub(crate) fn scrub(sandbox: &Sandbox, text: &str) -> String {
    let path = sandbox.path().to_string_lossy();
    text.replace(&*path, "[SANDBOX]").replace(&betadrift::support::escape::markdown_str(&path), "[SANDBOX]")
}

fn parse_json(text: &str) -> wire::Report {
    serde_json::from_str(text).expect("report JSON matches the documented schema")
}

mod demo {
    use super::*;

    fn demo_report(format: &str) -> String {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&Scenario::demo());
        let config = config(&sandbox, &built.checkout, "");
        let run = report(&sandbox, &config, &["--format", format]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stderr, "", "nothing on stderr under a non-terminal");
        scrub(&sandbox, &run.stdout)
    }

    #[test]
    fn text() {
        insta::assert_snapshot!(demo_report("text"));
    }

    #[test]
    fn markdown() {
        insta::assert_snapshot!(demo_report("markdown"));
    }

    #[test]
    fn json() {
        insta::assert_snapshot!(demo_report("json"));
    }

    #[test]
    fn html() {
        insta::assert_snapshot!(demo_report("html"));
    }

    #[test]
    fn prometheus() {
        insta::assert_snapshot!(demo_report("prometheus"));
    }

    #[test]
    fn json_has_every_section() {
        let r = parse_json(&demo_report("json"));
        assert_eq!(r.schema_version, 1);
        assert_eq!(r.generated_at, "2026-11-25T12:00:00Z");
        assert_eq!(r.stale_after, "30d");
        let repo = &r.repositories[0];
        assert!(repo.success && repo.errors.is_empty());
        let summary = repo.summary.as_ref().unwrap();
        assert_eq!((summary.behind, summary.stops_predicted), (8, 2));
        assert_eq!(repo.patches.len(), 13);
        let stops: Vec<usize> = repo.stops.iter().map(|s| s.position).collect();
        assert_eq!(stops, [7, 8]);
        assert!(repo.stops[0].conflicts[0].culprits[0].subject.contains("deployment-db14"));
        assert!(!repo.stops[0].conflicts[0].hunks.is_empty(), "not private: hunks shown");
        let stale: Vec<usize> = repo.stale.iter().map(|s| s.position).collect();
        assert_eq!(stale, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(repo.stale[0].since_source, "tag:snapshot-202606021130");
        let actions: Vec<(usize, &str)> = repo.actions.iter().map(|a| (a.position, a.reason.as_str())).collect();
        assert_eq!(actions, [(2, "merged"), (3, "merged-differs"), (4, "reverted"), (10, "merged")]);
        assert_eq!(repo.actions[0].argv[..3], ["betadrift", "prune", "--merged"], "one prune for every merged patch");
        assert_eq!(repo.actions[2].argv[..3], ["betadrift", "drop", "--repo"], "a reverted patch is dropped alone");
        assert_eq!(repo.dirty.as_ref().unwrap().modified, ["modules/scap/manifests/init.pp"]);
    }

    #[test]
    fn prometheus_parses_with_every_metric_and_label() {
        let metrics = parse_prometheus(&demo_report("prometheus"));
        let repo = |extra: &[(&str, &str)]| {
            let mut labels: Vec<(String, String)> = vec![("repo".into(), "operations/puppet".into())];
            labels.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            labels.sort();
            labels
        };
        let get = |name: &str, labels: Vec<(String, String)>| metrics[name][&labels];
        assert_eq!(get("betadrift_last_run_timestamp_seconds", vec![]), 1_795_608_000.0);
        assert_eq!(get("betadrift_run_success", repo(&[])), 1.0);
        assert_eq!(get("betadrift_local_patches", repo(&[("state", "pending")])), 9.0);
        assert_eq!(get("betadrift_local_patches", repo(&[("state", "merged")])), 2.0);
        assert_eq!(get("betadrift_local_patches", repo(&[("state", "merged-differs")])), 1.0);
        assert_eq!(get("betadrift_local_patches", repo(&[("state", "reverted")])), 1.0);
        assert_eq!(get("betadrift_predicted_conflicts", repo(&[])), 2.0);
        assert_eq!(get("betadrift_commits_behind_upstream", repo(&[])), 8.0);
        assert_eq!(get("betadrift_dirty_files", repo(&[])), 2.0);
        assert_eq!(get("betadrift_stale_patches", repo(&[])), 8.0);
        assert_eq!(get("betadrift_operation_in_progress", repo(&[])), 0.0);
        // Patch #1, first seen 2026-06-02T11:30:00Z (snapshot tag).
        assert_eq!(get("betadrift_oldest_patch_age_seconds", repo(&[])), 15_208_200.0);
        assert_eq!(get("betadrift_last_fetch_timestamp_seconds", repo(&[])), 1_795_607_400.0);
        assert!(metrics.contains_key("betadrift_merge_base_timestamp_seconds"));
    }

    #[test]
    fn promtool_accepts_the_metrics_when_installed() {
        let Ok(mut child) = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
        else {
            eprintln!("promtool not installed (apt-get install prometheus): skipped");
            return;
        };
        use std::io::Write;
        child.stdin.take().unwrap().write_all(demo_report("prometheus").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics: {said}");
    }

    /// The alert rules and the Grafana dashboard name only metrics and
    /// labels the report writes, and every alert has Wikimedia's labels and
    /// annotations and a section in the runbook.
    #[test]
    fn alerts_and_dashboard_use_the_metrics_the_report_writes() {
        let metrics = demo_report("prometheus");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let alerts = std::fs::read_to_string(root.join("docs/prometheus/betadrift-alerts.yml")).unwrap();
        let dashboard = std::fs::read_to_string(root.join("docs/grafana/betadrift-fleet.json")).unwrap();
        let runbook = std::fs::read_to_string(root.join("docs/runbook.md")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&dashboard).expect("the dashboard is JSON");
        assert_eq!(json["uid"], "betadrift-fleet", "the uid the alerts' dashboard links name");
        let names = regex::Regex::new(r"betadrift_[a-z_]+").unwrap();
        for text in [&alerts, &dashboard] {
            for name in names.find_iter(text).map(|m| m.as_str()) {
                assert!(metrics.contains(&format!("\n{name}")), "{name} is not a metric of the report");
            }
        }
        let rules: Vec<&str> = alerts.split("- alert: ").skip(1).collect();
        assert_eq!(rules.len(), 10);
        for rule in rules {
            let name = rule.lines().next().unwrap().trim();
            for key in ["team: wmcs", "severity: ", "summary: ", "runbook: ", "dashboard: "] {
                assert!(rule.contains(key), "{name} lacks {key}");
            }
            assert!(rule.contains(&format!("runbook.md#{}", name.to_lowercase())), "{name}'s runbook anchor");
            assert!(runbook.contains(&format!("\n## {name}\n")), "{name} has no runbook section");
        }
    }

    #[test]
    fn html_is_self_contained() {
        let html = demo_report("html");
        assert_self_contained(&html);
        let doc = scraper::Html::parse_document(&html);
        assert!(doc.errors.is_empty(), "HTML5 parse errors: {:?}", doc.errors);
        let rows = doc.select(&selector("table.cards tbody tr")).count();
        assert_eq!(rows, 13 + 8 + 7 + 7, "patch rows, stale rows, owners' patches per person and per task");
        assert_eq!(doc.select(&selector("tr.stop")).count(), 2);
        let csp = doc.select(&selector("meta[http-equiv=Content-Security-Policy]")).next().unwrap();
        assert!(csp.value().attr("content").unwrap().starts_with("default-src 'none'"));
        assert!(doc.select(&selector("meta[name=viewport]")).next().is_some(), "readable on a phone");
    }

    #[test]
    fn markdown_tables_are_well_formed() {
        assert_markdown_tables(&demo_report("markdown"));
    }
}

/// Parses with a real exposition-format parser; checks HELP and TYPE and
/// returns name → labels → value.
fn parse_prometheus(text: &str) -> HashMap<String, HashMap<Vec<(String, String)>, f64>> {
    use openmetrics_parser::{PrometheusType, PrometheusValue};
    let exposition = openmetrics_parser::prometheus::parse_prometheus(text).expect("valid exposition format");
    let mut out = HashMap::new();
    for (name, family) in &exposition.families {
        assert!(!family.help.is_empty(), "{name} has HELP");
        assert_eq!(family.family_type, PrometheusType::Gauge, "{name} is a gauge");
        let mut samples = HashMap::new();
        for sample in family.iter_samples() {
            let set = sample.get_labelset().expect("labels");
            let mut labels: Vec<(String, String)> = set.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            labels.sort();
            let PrometheusValue::Gauge(v) = &sample.value else { panic!("{name}: not a gauge value") };
            samples.insert(labels, v.as_f64());
        }
        out.insert(name.clone(), samples);
    }
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap();
        assert!(text.contains(&format!("# HELP {name} ")) && text.contains(&format!("# TYPE {name} gauge")));
    }
    out
}

fn selector(css: &str) -> scraper::Selector {
    scraper::Selector::parse(css).unwrap()
}

/// No element or attribute that loads or runs anything.
fn assert_self_contained(html: &str) {
    let doc = scraper::Html::parse_document(html);
    for tag in ["script", "link", "img", "iframe", "object", "embed", "base", "form", "svg", "video", "audio"] {
        assert_eq!(doc.select(&selector(tag)).count(), 0, "<{tag}> in the page");
    }
    let allowed = ["class", "data-label", "charset", "name", "content", "http-equiv", "lang"];
    for element in doc.select(&selector("*")) {
        for (attr, value) in element.value().attrs() {
            assert!(allowed.contains(&attr), "attribute {attr}={value:?} on <{}>", element.value().name());
        }
    }
    let lower = html.to_lowercase();
    for needle in ["src=", "href=", "@import", "url(", "http://", "https://", "//fonts"] {
        let unescaped_in_markup = lower.match_indices(needle).any(|(i, _)| !inside_text(&lower, i));
        assert!(!unescaped_in_markup, "{needle} in the page's markup");
    }
}

/// Whether byte `i` of the page is inside element text (after a `>`, before
/// the next `<`) rather than inside a tag or the style sheet.
fn inside_text(html: &str, i: usize) -> bool {
    let before = &html[..i];
    let in_style = before.rfind("<style>").is_some_and(|s| before[s..].find("</style>").is_none());
    let last_open = before.rfind('<');
    let last_close = before.rfind('>');
    !in_style && last_close.is_some() && last_close > last_open
}

/// Every table row has as many cell separators as its header; no raw
/// newline or unescaped pipe can add or split cells.
fn assert_markdown_tables(md: &str) {
    let separators = |line: &str| {
        let bytes = line.as_bytes();
        (0..bytes.len()).filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\')).count()
    };
    let mut expected = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            expected = None;
            continue;
        }
        let n = separators(line);
        assert_eq!(*expected.get_or_insert(n), n, "table row with a different cell count: {line}");
        assert_eq!(line.matches('|').count(), n, "no pipe inside a cell, escaped or not (Remarkup): {line}");
        assert!(!line.contains('<') && !line.contains('>'), "no raw HTML: {line}");
    }
}

mod hostile {
    use super::*;

    /// The hostile repository under a hostile name, rendered in every format.
    fn outputs() -> HashMap<&'static str, String> {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&common::hostile_scenario());
        let path = sandbox.path().join("config.toml");
        let name = r#"evil \"repo\"\n\\ {x=\"y\"}, <script>|`"#;
        let text = format!("[[repository]]\nname = \"{name}\"\npath = \"{}\"\n", built.checkout.display());
        std::fs::write(&path, text).unwrap();
        FORMATS
            .iter()
            .map(|f| {
                let run = report(&sandbox, &path, &["--format", f]);
                assert_eq!(run.code, 0, "{f}: {}", run.stderr);
                (*f, run.stdout)
            })
            .collect()
    }

    #[test]
    fn every_format_is_safe() {
        let out = outputs();
        for c in out["text"].chars() {
            assert!(!c.is_control() || c == '\n', "control character {c:?} in text");
            assert!(!matches!(c, '\u{202e}' | '\u{200b}' | '\u{2028}'), "{c:?} in text");
        }
        assert!(out["text"].contains("\\x1b[2J\\x1b[Hclear screen"));
        assert!(out["text"].contains("invalid \\xc3( utf-8 \\xff here"));
        for (format, text) in &out {
            if *format != "json" {
                assert!(text.lines().all(|l| l.chars().count() < 1000), "{format}: the 100 KB subject is cut");
                assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{format}: control characters");
            }
        }

        assert_markdown_tables(&out["markdown"]);
        assert!(!out["markdown"].contains("<script"), "no raw HTML in Markdown");
        assert!(out["markdown"].contains("&lt;script&gt;alert\\('x'\\)&lt;/script&gt; \u{a6} table \u{a6} \\`code\\`"));

        assert_self_contained(&out["html"]);
        let doc = scraper::Html::parse_document(&out["html"]);
        let text: String = doc.root_element().text().collect();
        assert!(text.contains("<script>alert('x')</script> | table"), "shown as text");

        let json = parse_json(&out["json"]);
        let repo = &json.repositories[0];
        assert_eq!(repo.patches.len(), 6);
        assert_eq!(repo.patches[3].subject, "invalid \u{fffd}( utf-8 \u{fffd} here");
        assert_eq!(repo.patches[5].subject.len(), 100 * 1024, "JSON is complete");

        let metrics = parse_prometheus(&out["prometheus"]);
        let name = &metrics["betadrift_run_success"].keys().next().unwrap()[0].1;
        assert_eq!(name, "evil \"repo\"\\n\\ {x=\"y\"}, <script>|`", "label escaped, then read back");
    }
}

mod private {
    use super::*;

    #[test]
    fn no_contents_in_any_format() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&Scenario::demo());
        let config = config(&sandbox, &built.checkout, "private = true");
        for format in FORMATS {
            let run = report(&sandbox, &config, &["--format", format]);
            assert_eq!(run.code, 0, "{}", run.stderr);
            // The conflicting lines and the dirty file's content.
            for content in ["profile::mariadb::primary:", "primary_pool: small", "edited on the server", "@@"] {
                assert!(!run.stdout.contains(content), "{format} shows content {content:?}");
            }
            if format != "prometheus" {
                assert!(run.stdout.contains("hieradata/cloud/eqiad1/deployment-prep/common.yaml"), "{format}: paths");
                assert!(run.stdout.contains("db14"), "{format}: culprit subjects are metadata");
            }
        }
        let json = parse_json(&report(&sandbox, &config, &["--format", "json"]).stdout);
        assert!(json.repositories[0].private);
        assert!(json.repositories[0].stops.iter().flat_map(|s| &s.conflicts).all(|c| c.hunks.is_empty()));
    }
}

mod ledger {
    use super::*;

    fn ledger_path(checkout: &Path) -> PathBuf {
        checkout.join(".git/betadrift/ledger.json")
    }

    fn status(sandbox: &Sandbox, dir: &Path, now: &str) -> betadrift::output::json::status::Status {
        let run = sandbox.betadrift(dir, &["status", "--json", "--now", now]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        serde_json::from_str(&run.stdout).unwrap()
    }

    #[test]
    fn first_seen_survives_a_real_rebase() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&Scenario::demo());
        let dir = &built.checkout;
        let config = config(&sandbox, dir, "");

        status(&sandbox, dir, "2026-11-25T12:00:00Z");
        assert!(!ledger_path(dir).exists(), "status only reads the ledger");

        // First run: every patch is recorded, dated by its snapshot tag,
        // else as present from the start; the tags need no search again.
        assert_eq!(report(&sandbox, &config, &["--format", "json"]).code, 0);
        let ledger: serde_json::Value = serde_json::from_slice(&std::fs::read(ledger_path(dir)).unwrap()).unwrap();
        assert_eq!(ledger["repository"], "operations/puppet");
        let entries = ledger["patches"].as_object().unwrap();
        assert_eq!(entries.len(), 13);
        assert!(entries.values().all(|e| e["backfilled"] == true));
        assert!(entries.values().all(|e| (e["present_at_start"] == true) != e["snapshot"].is_string()), "{entries:?}");
        let tagged = entries.values().filter(|e| e["snapshot"].is_string()).count();
        assert!(tagged > 0 && tagged < 13, "{entries:?}");
        assert!(
            entries.keys().any(|k| k.starts_with("patch-id:")) && entries.keys().any(|k| k.starts_with("change-id:"))
        );
        let before = status(&sandbox, dir, "2026-11-25T12:00:00Z");
        assert_eq!(before.patches[12].first_seen, None, "a patch present at the start is not dated by the ledger");

        // A new patch (no Change-Id: identified by patch-id) arrives, and a later run sees it.
        std::fs::write(dir.join("README.md"), "new local readme\n").unwrap();
        sandbox.git(dir, &["commit", "-q", "-m", "HACK: new local patch", "README.md"]);
        let later = "2026-11-26T08:00:00Z";
        assert_eq!(report(&sandbox, &config, &["--now", later]).code, 0);

        // A real rebase rewrites every commit of the top of the stack.
        let head_before = sandbox.git(dir, &["rev-parse", "HEAD"]);
        sandbox.git(dir, &["stash", "-q", "--include-untracked"]);
        let rebase = sandbox
            .command(common::git_binary())
            .current_dir(dir)
            .env("GIT_COMMITTER_DATE", "2026-11-27T09:00:00Z")
            .args(["rebase", "-q", "--force-rebase", "HEAD~3"])
            .output()
            .unwrap();
        assert!(rebase.status.success(), "{}", String::from_utf8_lossy(&rebase.stderr));
        assert_ne!(sandbox.git(dir, &["rev-parse", "HEAD"]), head_before);

        let after = status(&sandbox, dir, "2026-12-30T08:00:00Z");
        let new = after.patches.last().unwrap();
        assert_eq!(new.subject, "HACK: new local patch");
        // The commit's reflog entry dates it before the run that first saw
        // it (`later`); the ledger recorded that date, and keeps it.
        let committed = "2026-11-25T12:00:00Z";
        assert_eq!(new.first_seen.as_deref(), Some(committed));
        assert_eq!(new.first_seen_source.as_deref(), Some("reflog"));
        let ledger: serde_json::Value = serde_json::from_slice(&std::fs::read(ledger_path(dir)).unwrap()).unwrap();
        let recorded =
            ledger["patches"].as_object().unwrap().values().find(|e| e["subject"] == "HACK: new local patch");
        assert_eq!(recorded.map(|e| (&e["first_seen"], &e["reflog"])), Some((&committed.into(), &true.into())));
        assert_eq!(after.patches[0].first_seen_source.as_deref(), Some("tag:snapshot-202606021130"));
        // The ledger keeps what the tags said: pruned tags change nothing.
        let tags = sandbox.git(dir, &["tag", "--list", "snapshot-*"]);
        sandbox.git(dir, ["tag", "-d"].into_iter().chain(tags.lines()).collect::<Vec<_>>().as_slice());
        let pruned = status(&sandbox, dir, "2026-12-30T08:00:00Z");
        for (a, b) in after.patches.iter().zip(&pruned.patches) {
            assert_eq!((&a.first_seen, &a.first_seen_source), (&b.first_seen, &b.first_seen_source), "{}", a.subject);
        }
        let json =
            parse_json(&report(&sandbox, &config, &["--format", "json", "--now", "2026-12-30T08:00:00Z"]).stdout);
        let stale = json.repositories[0].stale.iter().find(|s| s.position == 14).expect("35 days after first seen");
        assert_eq!((stale.since.as_str(), stale.since_source.as_str()), (committed, "reflog"));
        // With the reflog gone too, the ledger still dates it.
        sandbox.git(dir, &["reflog", "expire", "--expire=all", "--all"]);
        let last = status(&sandbox, dir, "2026-12-30T08:00:00Z");
        let new = last.patches.last().unwrap();
        assert_eq!((new.first_seen.as_deref(), new.first_seen_source.as_deref()), (Some(committed), Some("reflog")));
    }

    #[test]
    fn written_atomically_and_a_failure_is_reported() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&Scenario::demo());
        let state = sandbox.path().join("state");
        let config = config(&sandbox, &built.checkout, "");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, format!("[state]\ndir = \"{}\"\n{text}", state.display())).unwrap();
        assert_eq!(report(&sandbox, &config, &[]).code, 0);
        let names: Vec<_> = std::fs::read_dir(&state).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["operations_puppet"]);
        let names: Vec<_> =
            std::fs::read_dir(state.join("operations_puppet")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["ledger.json"], "no temporary file left");

        // A state directory that cannot be written: the report still comes out, and says so.
        std::fs::remove_dir_all(&state).unwrap();
        std::fs::write(&state, "not a directory").unwrap();
        let out = sandbox.path().join("out/betadrift.prom");
        let run = report(&sandbox, &config, &["--output", out.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.starts_with("betadrift: error: report incomplete: operations/puppet: "), "{}", run.stderr);
        assert!(run.stderr.contains("first-seen ledger not updated"), "{}", run.stderr);
        let metrics = parse_prometheus(&std::fs::read_to_string(&out).unwrap());
        let success: Vec<f64> = metrics["betadrift_run_success"].values().copied().collect();
        assert_eq!(success, [0.0]);
        assert!(metrics["betadrift_predicted_conflicts"].values().all(|&v| v == 2.0), "the rest was reported");
    }
}

#[test]
fn report_changes_nothing_but_its_output_and_the_ledger() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let config = config(&sandbox, &built.checkout, "");
    let unrelated = |fp: std::collections::BTreeMap<String, Vec<u8>>| {
        fp.into_iter().filter(|(k, _)| !k.starts_with(".git/betadrift")).collect()
    };
    let before = unrelated(fingerprint(&built.checkout));
    let out = sandbox.path().join("out");
    let files: Vec<String> = ["r.txt", "r.md", "r.json", "r.html", "r.prom"]
        .iter()
        .map(|f| out.join(f).to_string_lossy().into_owned())
        .collect();
    let mut args: Vec<&str> = Vec::new();
    for f in &files {
        args.extend(["--output", f]);
    }
    for _ in 0..2 {
        let run = report(&sandbox, &config, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout, "", "outputs go to files only");
    }
    assert_unchanged(&before, &unrelated(fingerprint(&built.checkout)));
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["r.html", "r.json", "r.md", "r.prom", "r.txt"], "no temporary files");
    assert!(std::fs::read_to_string(out.join("r.prom")).unwrap().starts_with("# HELP"));
    parse_json(&std::fs::read_to_string(out.join("r.json")).unwrap());
}

#[test]
fn stale_patches_show_their_consent_and_allowed_ones_get_a_drop_line() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let config = config(&sandbox, &built.checkout, "");
    let run = sandbox.betadrift(&built.checkout, &["consent", "set", "--author", "ktran@example.org", "allow"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = sandbox.betadrift(&built.checkout, &["consent", "set", "--task", "T359010", "after", "8w"]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let json = parse_json(&report(&sandbox, &config, &["--format", "json"]).stdout);
    let repo = &json.repositories[0];
    let consent = |pos: usize| &repo.stale.iter().find(|s| s.position == pos).unwrap().consent;
    assert_eq!(
        (consent(1).decision.as_str(), consent(1).allowed_now, consent(1).source.as_str()),
        ("allow", true, "author")
    );
    assert_eq!((consent(7).decision.as_str(), consent(7).allowed_now), ("after 8w", false), "40 days is not 8 weeks");
    assert_eq!(consent(5).decision, "ask");
    let stale_drops: Vec<usize> =
        repo.actions.iter().filter(|a| a.reason == "stale-allowed").map(|a| a.position).collect();
    assert_eq!(stale_drops, [1], "only the stale patch whose policy allows removal now");
    assert_eq!(repo.actions.iter().find(|a| a.position == 1).unwrap().upstream_commit, None);

    let text = report(&sandbox, &config, &[]).stdout;
    assert!(text.contains("# #1 is stale and the rule for author ktran@example.org says allow"), "{text}");
    assert!(text.contains("after 8w (in 15d)"), "{text}");
}

#[test]
fn exit_codes_and_fail_on() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let config = config(&sandbox, &built.checkout, "");
    let code = |args: &[&str]| report(&sandbox, &config, args).code;
    assert_eq!(code(&[]), 0, "findings alone do not fail");
    assert_eq!(code(&["--fail-on", "conflict"]), 1);
    assert_eq!(code(&["--fail-on", "stale,dirty"]), 1);
    assert_eq!(code(&["--fail-on", "dirty", "--fail-on", "conflict"]), 1);

    // On the merge base nothing stops; dirty files and stale patches remain.
    let base = built.base.to_string();
    let repo = built.checkout.to_str().unwrap();
    let on_base = |fail_on: &str| {
        sandbox.betadrift(sandbox.path(), &["report", "--repo", repo, "--upstream", &base, "--fail-on", fail_on]).code
    };
    assert_eq!(on_base("conflict"), 0);
    assert_eq!(on_base("dirty"), 1);

    let run = report(&sandbox, &config, &["--output", "report.weird"]);
    run.assert_error("cannot tell the format of report.weird");
    let run = report(&sandbox, &config, &["--format", "html", "--output", "a.html", "--output", "b.html"]);
    run.assert_error("--format applies to one --output");
}

#[test]
fn a_failing_repository_does_not_hide_the_others() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let missing = sandbox.path().join("no-such-checkout");
    let config = config(
        &sandbox,
        &built.checkout,
        &format!("\n[[repository]]\nname = \"labs/private\"\npath = \"{}\"\nprivate = true\n", missing.display()),
    );
    let out = sandbox.path().join("node.d/betadrift.prom");
    let run = report(&sandbox, &config, &["--output", out.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("labs/private: "), "{}", run.stderr);
    let metrics = parse_prometheus(&std::fs::read_to_string(&out).unwrap());
    let success = &metrics["betadrift_run_success"];
    let by_repo = |name: &str| success[&vec![("repo".to_string(), name.to_string())]];
    assert_eq!((by_repo("operations/puppet"), by_repo("labs/private")), (1.0, 0.0));
    assert_eq!(metrics["betadrift_predicted_conflicts"].len(), 1, "no made-up numbers for the failed one");

    let text = report(&sandbox, &config, &[]).stdout;
    assert!(text.contains("== labs/private ==\nFAILED"), "{text}");
    let json = parse_json(&report(&sandbox, &config, &["--format", "json"]).stdout);
    assert!(!json.repositories[1].success && json.repositories[1].summary.is_none());
}
