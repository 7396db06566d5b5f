//! `betadrift check` end to end: what it prints and exits with on the demo,
//! its JSON document, and that it writes nothing. (Fidelity to `git rebase`
//! is tests/check_vs_git.rs.)

use crate::common;

use betadrift::output::json::check as wire;
use betadrift::scenario::Scenario;
use betadrift_engine::merge::ConflictKind;
use common::{Sandbox, assert_unchanged, fingerprint};

/// The demo without the two patches that stop and without the hand edit.
fn clean_demo() -> Scenario {
    let mut s = Scenario::demo();
    s.local.retain(|c| !c.id.starts_with("p07") && !c.id.starts_with("p08"));
    s.snapshot.clear();
    s.dirty = Default::default();
    s
}

fn check_json(sandbox: &Sandbox, dir: &std::path::Path, extra: &[&str]) -> (i32, wire::Check) {
    let mut args = vec!["check", "--json"];
    args.extend_from_slice(extra);
    let run = sandbox.betadrift(dir, &args);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    (run.code, serde_json::from_str(&run.stdout).expect("check JSON matches the documented schema"))
}

#[test]
fn demo_check_text() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let run = sandbox.betadrift(&built.checkout, &["check"]);
    assert_eq!(run.code, 1, "stops predicted: {}", run.stderr);
    assert_eq!(run.stderr, "");
    let text = run.stdout.replace(&*sandbox.path().to_string_lossy(), "[SANDBOX]");
    // Every stop names the upstream change that caused it, with its hunk.
    assert_eq!(text.matches("STOP at #").count(), 2, "{text}");
    assert_eq!(text.matches("caused by upstream").count(), 2, "{text}");
    assert!(text.contains("@@ line 5 of the patch's base @@"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn demo_check_json() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let (code, check) = check_json(&sandbox, &built.checkout, &["--each"]);
    assert_eq!(code, 1);
    assert_eq!(check.schema_version, 1);
    assert!(!check.clean);
    assert_eq!(check.stops, 2);
    assert_eq!(check.head, built.ids["p13-incident-hotfix"].to_string());
    let outcomes: Vec<&str> = check.patches.iter().map(|p| p.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "applies",
            "already-upstream",
            "becomes-empty",
            "already-upstream",
            "applies",
            "applies",
            "conflict",
            "conflict",
            "applies",
            "already-upstream",
            "applies",
            "applies",
            "applies"
        ]
    );
    let fpm = &check.patches[1];
    assert_eq!(fpm.matched_upstream.as_deref(), Some(built.ids["u-fpm-merged"].to_string().as_str()));
    let culprit = built.ids["u-db-rename"].to_string();
    for stop in check.patches.iter().filter(|p| p.outcome == "conflict") {
        assert_eq!(stop.conflict_paths, ["hieradata/cloud/eqiad1/deployment-prep/common.yaml"]);
        let [conflict] = &stop.conflicts[..] else { panic!("one conflict: {stop:?}") };
        assert_eq!(conflict.kind, ConflictKind::Content);
        assert_eq!(conflict.hunks.len(), 1);
        assert!(conflict.hunks[0].theirs.iter().any(|l| l.contains("primary_pool")), "{conflict:?}");
        let [c] = &conflict.culprits[..] else { panic!("one culprit: {conflict:?}") };
        assert_eq!(c.commit, culprit);
        assert_eq!(c.tasks, ["T359999"]);
        assert_eq!(c.author.name, "Amara Okafor");
    }
    // --each: #8 conflicts alone too (it edits the line upstream changed).
    assert_eq!(check.patches[7].alone.as_deref(), Some("conflict"));
    assert_eq!(check.patches[0].alone.as_deref(), Some("applies"));
    // The JSON kind is the kebab-case name, like every other enum value.
    assert!(serde_json::to_string(&check).unwrap().contains(r#""kind":"content""#));
}

#[test]
fn clean_stack_exits_0_with_the_rebased_tree() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&clean_demo());
    let (code, check) = check_json(&sandbox, &built.checkout, &[]);
    assert_eq!(code, 0);
    assert!(check.clean);
    assert_eq!(check.stops, 0);
    // The tree git rebase produces.
    let out = sandbox.git_output(&built.checkout, &["rebase", "origin/production"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(check.result_tree, sandbox.git(&built.checkout, &["rev-parse", "HEAD^{tree}"]).trim());
}

#[test]
fn check_writes_nothing() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let before = fingerprint(&built.dir);
    for args in [&["check"][..], &["check", "--json", "--each"], &["check", "--upstream", "origin/production~2"]] {
        let run = sandbox.betadrift(&built.checkout, args);
        assert!(run.code == 0 || run.code == 1, "{args:?}: {}", run.stderr);
    }
    assert_unchanged(&before, &fingerprint(&built.dir));
}

#[test]
fn upstream_from_a_sha_file() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let file = sandbox.path().join("puppet-sha1.txt");
    // Before the upstream commit that causes both stops.
    let before_culprit = sandbox.git(&built.checkout, &["rev-parse", &format!("{}^", built.ids["u-db-rename"])]);
    std::fs::write(&file, &before_culprit).unwrap();
    let (code, check) = check_json(&sandbox, &built.checkout, &["--upstream-sha-file", file.to_str().unwrap()]);
    assert_eq!(code, 0, "no stop without the culprit");
    assert_eq!(check.upstream.commit, before_culprit.trim());

    std::fs::write(&file, "not a commit id\n").unwrap();
    let run = sandbox.betadrift(&built.checkout, &["check", "--upstream-sha-file", file.to_str().unwrap()]);
    run.assert_error("40-character commit id");
    let run = sandbox.betadrift(&built.checkout, &["check", "--upstream", "no-such-rev"]);
    run.assert_error("no-such-rev");
}

#[test]
fn private_repository_shows_no_hunks() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let config = sandbox.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[repository]]\nname = \"labs/private\"\npath = {:?}\nprivate = true\n",
            built.checkout.to_str().unwrap()
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let (code, check) = check_json(&sandbox, &built.checkout, &["--config", cfg]);
    assert_eq!(code, 1);
    let conflicts: Vec<_> = check.patches.iter().flat_map(|p| &p.conflicts).collect();
    assert_eq!(conflicts.len(), 2);
    assert!(conflicts.iter().all(|c| c.hunks.is_empty() && !c.culprits.is_empty()));
    let text = sandbox.betadrift(&built.checkout, &["check", "--config", cfg]);
    assert!(!text.stdout.contains("primary_pool"), "no content line: {}", text.stdout);
    assert!(text.stdout.contains("caused by upstream"), "{}", text.stdout);
}

/// Over a long upstream range the patch-id scan is split between threads
/// that take chunks of commits as they go. Whatever order the chunks finish
/// in, every patch upstream has is found, and it is matched to the oldest
/// upstream commit with its patch-id, as in a scan from the merge base up.
#[test]
fn long_upstream_scan_finds_the_oldest_match() {
    use std::fmt::Write as _;
    use std::io::Write as _;
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("long");
    std::fs::create_dir_all(&dir).unwrap();
    sandbox.git(&dir, &["init", "-q", "-b", "production"]);
    // One fast-import stream: a base, 1,500 upstream commits, 4 local ones.
    let mut stream = String::new();
    let mut mark = 0;
    let mut commit = |stream: &mut String, branch: &str, from: Option<usize>, msg: &str, ops: &str| -> usize {
        mark += 1;
        let time = 1_700_000_000 + mark * 60;
        write!(stream, "commit refs/heads/{branch}\nmark :{mark}\n").unwrap();
        writeln!(stream, "author Up Stream <up@example.org> {time} +0000").unwrap();
        writeln!(stream, "committer Up Stream <up@example.org> {time} +0000").unwrap();
        write!(stream, "data {}\n{msg}\n", msg.len()).unwrap();
        if let Some(from) = from {
            writeln!(stream, "from :{from}").unwrap();
        }
        stream.push_str(ops);
        stream.push('\n');
        mark
    };
    let file = |path: &str, text: &str| format!("M 100644 inline {path}\ndata {}\n{text}\n", text.len());
    let mut base_ops = String::new();
    for f in 0..10 {
        base_ops += &file(&format!("f{f}.txt"), "start\n");
    }
    let base = commit(&mut stream, "upstream", None, "base", &base_ops);
    let mut tip = base;
    let mut text: Vec<String> = vec!["start\n".into(); 10];
    for k in 1..=1500usize {
        let ops = match k {
            // The same new file, twice: the first is the match.
            150 | 1350 => file("shared.txt", "shared line\n"),
            700 => "D shared.txt\n".to_owned(),
            // Only once, late: found by whichever thread scans it.
            1234 => file("late.txt", "late line\n"),
            // Same path as a local patch, other content: not a match.
            900 => file("hack.txt", "upstream's version\n"),
            1000 => "D hack.txt\n".to_owned(),
            _ => {
                let f = k % 10;
                text[f].push_str(&format!("line {k}\n"));
                file(&format!("f{f}.txt"), &text[f])
            }
        };
        tip = commit(&mut stream, "upstream", Some(tip), &format!("upstream {k}"), &ops);
    }
    let mut local = base;
    for (name, ops) in [
        ("shared", file("shared.txt", "shared line\n")),
        ("late", file("late.txt", "late line\n")),
        ("hack", file("hack.txt", "local version\n")),
        ("own", file("own.txt", "nobody else\n")),
    ] {
        local = commit(&mut stream, "production", Some(local), &format!("local {name}"), &ops);
    }
    stream.push_str("done\n");
    let mut import = sandbox
        .command(common::git_binary())
        .current_dir(&dir)
        .args(["fast-import", "--quiet", "--done"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    import.stdin.take().unwrap().write_all(stream.as_bytes()).unwrap();
    assert!(import.wait().unwrap().success());
    sandbox.git(&dir, &["checkout", "-qf", "production"]);
    let oid = |k: usize| sandbox.git(&dir, &["rev-parse", &format!("upstream~{}", 1500 - k)]).trim().to_owned();

    let (code, check) = check_json(&sandbox, &dir, &["--upstream", "upstream"]);
    assert_eq!(code, 0);
    let outcomes: Vec<(&str, Option<&str>)> =
        check.patches.iter().map(|p| (p.outcome.as_str(), p.matched_upstream.as_deref())).collect();
    assert_eq!(
        outcomes,
        [
            ("already-upstream", Some(oid(150).as_str())),
            ("already-upstream", Some(oid(1234).as_str())),
            ("applies", None),
            ("applies", None)
        ]
    );
    // git agrees on which commits upstream has.
    let kept =
        sandbox.git(&dir, &["log", "--cherry-pick", "--right-only", "--no-merges", "--format=%s", "upstream...HEAD"]);
    assert_eq!(kept.lines().collect::<Vec<_>>(), ["local own", "local hack"]);
}

/// A stop caused by an upstream directory rename names the upstream commit
/// that renamed the directory ("file location"), also when a path is in
/// the way ("implicit dir rename"), and never claims that an earlier local
/// patch moved lines.
#[test]
fn directory_rename_stops_name_the_upstream_rename() {
    use crate::check_vs_git::{DIRECTORY_RENAMES, case};
    let sandbox = Sandbox::new();
    let scenario = Scenario::from_toml(&case("dir-rename-culprits", DIRECTORY_RENAMES)).unwrap();
    let built = sandbox.build(&scenario);
    let (code, check) = check_json(&sandbox, &built.checkout, &[]);
    assert_eq!(code, 1);
    let (added, renamed) = (built.ids["u1"].to_string(), built.ids["u2"].to_string());
    let blamed = |i: usize| -> Vec<(ConflictKind, Vec<&str>)> {
        let conflicts = &check.patches[i].conflicts;
        conflicts.iter().map(|c| (c.kind, c.culprits.iter().map(|c| c.commit.as_str()).collect())).collect()
    };
    assert_eq!(blamed(0), [(ConflictKind::DirectoryRename, vec![renamed.as_str()])]);
    assert_eq!(blamed(1), [(ConflictKind::DirectoryRenameInTheWay, vec![renamed.as_str()])]);
    let third = blamed(2);
    assert!(third.contains(&(ConflictKind::DirectoryRename, vec![added.as_str(), renamed.as_str()])), "{third:?}");
    let text = sandbox.betadrift(&built.checkout, &["check"]).stdout;
    assert!(text.contains("CONFLICT (file location) modules/w.pp <- dir/w.pp"), "{text}");
    assert!(text.contains("CONFLICT (implicit dir rename) modules/v.pp <- dir/v.pp"), "{text}");
    assert!(!text.contains("local patch"), "{text}");
}
