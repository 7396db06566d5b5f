//! `report`'s owners view end to end: what needs each author and each task,
//! the mailmap as `git check-mailmap` applies it, grouped commands, the
//! `--owner`/`--task` sections (snapshots), and hostile names.

use crate::common;

use std::path::Path;

use crate::report::{config, report, scrub};
use betadrift::output::json::report as wire;
use betadrift::scenario::Scenario;
use common::Sandbox;

fn json(sandbox: &Sandbox, config: &Path) -> wire::Repository {
    let run = report(sandbox, config, &["--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: wire::Report = serde_json::from_str(&run.stdout).expect("report JSON matches the documented schema");
    doc.repositories.into_iter().next().unwrap()
}

/// Owner sections of the demo, as `report --owner`/`--task` print them.
fn demo_section(args: &[&str]) -> String {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let config = config(&sandbox, &built.checkout, "");
    let run = report(&sandbox, &config, args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    scrub(&sandbox, &run.stdout)
}

#[test]
fn owner_section_markdown() {
    insta::assert_snapshot!(demo_section(&["--owner", "Ana Costa", "--format", "markdown"]));
}

#[test]
fn task_section_text() {
    insta::assert_snapshot!(demo_section(&["--task", "T357100"]));
}

#[test]
fn what_needs_whom_on_the_demo() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let config = config(&sandbox, &built.checkout, "");
    let repo = json(&sandbox, &config);
    let needs: Vec<(String, Vec<(usize, String)>)> = repo
        .owners
        .iter()
        .map(|o| (o.name.clone(), o.items.iter().map(|i| (i.position, i.need.clone())).collect()))
        .collect();
    let n = |pairs: &[(usize, &str)]| pairs.iter().map(|(p, k)| (*p, k.to_string())).collect::<Vec<_>>();
    assert_eq!(
        needs,
        vec![
            ("Ana Costa".to_string(), n(&[(7, "holds-back"), (8, "stops")])),
            ("Jonas Becker".to_string(), n(&[(6, "stale-ask")])),
            ("Kim Tran".to_string(), n(&[(1, "stale-ask")])),
            ("Lena Fischer".to_string(), n(&[(3, "merged-differs"), (5, "stale-ask")])),
            ("Omar Haddad".to_string(), n(&[(4, "reverted")])),
        ],
        "merged patches need nobody, #11's consent says allow, #13 has no age"
    );
    let held = &repo.owners[0].items[0];
    assert_eq!(held.upstream_commit.as_deref(), Some(built.ids["u-db-rename"].to_string().as_str()));
    assert_eq!(held.argv[1..3], ["sync", "--as-far-as-possible"]);
    let tasks: Vec<&str> = repo.tasks.iter().map(|t| t.task.as_str()).collect();
    assert_eq!(tasks, ["T356789", "T357100", "T358002", "T358500", "T358501", "T359010"]);
    let t359010: Vec<usize> = repo.tasks[5].items.iter().map(|i| i.position).collect();
    assert_eq!(t359010, [7, 8]);
}

/// Merged patches get one `prune --merged`, not a `drop` each; a reverted
/// one keeps its own `drop` (a decision per patch).
#[test]
fn merged_patches_share_one_prune_line() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let config = config(&sandbox, &built.checkout, "");
    let repo = json(&sandbox, &config);
    let merged: Vec<&wire::Action> =
        repo.actions.iter().filter(|a| a.reason == "merged" || a.reason == "merged-differs").collect();
    assert_eq!(merged.iter().map(|a| a.position).collect::<Vec<_>>(), [2, 3, 10]);
    let prune = format!("betadrift prune --merged --repo {}", built.checkout.display());
    assert!(merged.iter().all(|a| a.command == prune), "{merged:?}");

    for format in ["text", "markdown", "html"] {
        let out = report(&sandbox, &config, &["--format", format]).stdout;
        let actions = out.split("Suggested actions").nth(1).expect(format);
        let actions = actions.split("Who to tell").next().unwrap();
        assert_eq!(actions.matches("betadrift prune --merged").count(), 1, "{format}: {actions}");
        assert_eq!(actions.matches("betadrift drop").count(), 1, "{format}: only the reverted #4: {actions}");
        for position in ["#2 is merged", "#3 was merged", "#10 is merged"] {
            assert!(actions.contains(position), "{format}: {actions}");
        }
    }

    // Stale patches that may go: one `prune --stale`, whatever their number.
    let allow = sandbox.betadrift(&built.checkout, &["consent", "set", "--default", "allow"]);
    assert_eq!(allow.code, 0, "{}", allow.stderr);
    let repo = json(&sandbox, &config);
    let stale: Vec<&wire::Action> = repo.actions.iter().filter(|a| a.reason == "stale-allowed").collect();
    assert!(stale.len() >= 3, "{stale:?}");
    let prune = format!("betadrift prune --stale 30d --repo {}", built.checkout.display());
    assert!(stale.iter().all(|a| a.command == prune), "{stale:?}");
}

/// The authors the owners view groups by are the ones `git check-mailmap`
/// gives: the checkout's `.mailmap`, then `mailmap.blob`, then
/// `mailmap.file`, each overriding the one before.
#[test]
fn owners_are_mailmapped_as_git_check_mailmap_says() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let dir = &built.checkout;
    let blob_text = "Jonas B. <jonas@example.org> <jbecker@example.org>\n\
                     Kim From Blob <blob@example.org> <kim@old-laptop.example.org>\n";
    std::fs::write(sandbox.path().join("blob-mailmap"), blob_text).unwrap();
    let blob = sandbox.git(dir, &["hash-object", "-w", sandbox.path().join("blob-mailmap").to_str().unwrap()]);
    sandbox.git(dir, &["config", "mailmap.blob", blob.trim()]);
    let file = sandbox.path().join("mailmap");
    let file_text = "Ana C. Costa <ana@wikimedia.example> <acosta@example.org>\n\
                     Lena F. <lena@example.org> Lena Fischer <lfischer@example.org>\n\
                     Kim From File <file@example.org> <kim@old-laptop.example.org>\n";
    std::fs::write(&file, file_text).unwrap();
    sandbox.git(dir, &["config", "mailmap.file", file.to_str().unwrap()]);
    // Every patch stale, so that every author with a pending patch shows up.
    let config = config(&sandbox, dir, "[stale]\nafter = \"1d\"\n");
    let repo = json(&sandbox, &config);

    let check_mailmap = |commit: &str| {
        let raw = sandbox.git(dir, &["log", "-1", "--no-mailmap", "--format=%an <%ae>", commit]);
        sandbox.git(dir, &["check-mailmap", raw.trim()]).trim().to_owned()
    };
    let mut seen = 0;
    for owner in &repo.owners {
        for item in &owner.items {
            let expected = check_mailmap(&item.commit);
            assert_eq!(format!("{} <{}>", owner.name, owner.email), expected, "#{}", item.position);
            assert_eq!(format!("{} <{}>", item.author.name, item.author.email), expected);
            seen += 1;
        }
    }
    assert!(seen >= 8, "{seen} patches");
    let names: Vec<&str> = repo.owners.iter().map(|o| o.name.as_str()).collect();
    for mapped in ["Ana C. Costa", "Jonas B.", "Lena F.", "Kim From File", "Kim Tran"] {
        assert!(names.contains(&mapped), "{mapped} in {names:?}");
    }
    let run = report(&sandbox, &config, &["--owner", "file@example.org"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("What needs Kim From File <file@example.org> on operations/puppet"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("#12 "), "{}", run.stdout);
}

#[test]
fn bad_owner_arguments_are_one_line_and_exit_2() {
    let sandbox = Sandbox::new();
    let built = sandbox.build(&Scenario::demo());
    let config = config(&sandbox, &built.checkout, "");
    let cases: [(&[&str], &str); 4] = [
        (&["--task", "X12"], "--task X12: not a Phabricator task; write it as T123456"),
        (&["--task", "T1"], "--task T1: nothing in the report needs them"),
        (&["--owner", "nobody@example.org"], "--owner nobody@example.org: nothing in the report needs them"),
        (&["--owner", "Ana Costa", "--format", "html"], "--owner and --task print text or Markdown, not html"),
    ];
    for (args, message) in cases {
        let run = report(&sandbox, &config, args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
}

/// Hostile authors, subjects and a hostile upstream culprit in the owners
/// view of every format, and in `--owner` Markdown.
#[test]
fn hostile_owners_are_escaped_in_every_format() {
    let sandbox = Sandbox::new();
    let mut scenario = common::hostile_scenario();
    let culprit = Scenario::from_toml(
        "name = \"culprit\"\nstart = \"2026-10-01T00:00:00Z\"\n[[upstream]]\nid = \"unused\"\n[[later]]\nid = \"evil-upstream\"\n\
         author = \"Up \\u001b[31mStream & | `x` <up@example.org>\"\n\
         message = \"upstream \\u001b[2J<script>boom</script> | *x*\\n\\nBug: T100009\\n\"\n\
         edit = [{ path = \"hieradata/common.yaml\", find = \"a: 1\", replace = \"a: 100\" }]\n",
    )
    .unwrap();
    scenario.later.extend(culprit.later);
    let built = sandbox.build(&scenario);
    let config = config(&sandbox, &built.checkout, "");
    let repo = json(&sandbox, &config);
    let eve = repo.owners.iter().find(|o| o.email == "markup@example.org").expect("the markup patch stops");
    assert_eq!(eve.name, "Eve & \"Co\" | `tick` **bold**");
    assert_eq!(eve.items[0].need, "holds-back");

    let text = report(&sandbox, &config, &["--format", "text"]).stdout;
    let owners = text.split("Who to tell").nth(1).expect("an owners view");
    assert!(owners.contains("by Up \\x1b[31mStream & | `x` (T100009)"), "{owners}");
    assert!(owners.contains("\\x1b[2J<script>boom</script>"), "{owners}");
    assert!(!owners.chars().any(|c| c.is_control() && c != '\n'), "{owners}");

    let md = report(&sandbox, &config, &["--format", "markdown"]).stdout;
    let html = report(&sandbox, &config, &["--format", "html"]).stdout;
    let section = report(&sandbox, &config, &["--owner", "markup@example.org", "--format", "markdown"]).stdout;
    for (what, out) in [("markdown", &md), ("--owner markdown", &section)] {
        // Indented code blocks show their lines literally; everything else is escaped.
        let prose: Vec<&str> = out.lines().filter(|l| !l.starts_with("    ")).collect();
        assert!(prose.iter().all(|l| !l.contains("<script") && !l.contains("<img")), "{what}: no raw HTML\n{out}");
        assert!(out.contains("&lt;script&gt;boom&lt;/script&gt;"), "{what}: the culprit's subject, escaped");
        assert!(
            out.contains("Eve &amp; \"Co\" \\| \\`tick\\` \\*\\*bold\\*\\* &lt;markup\\@example.org&gt;"),
            "{what}: {out}"
        );
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{what}");
    }
    let doc = scraper::Html::parse_document(&html);
    let shown: String = doc.root_element().text().collect();
    assert!(shown.contains("Eve & \"Co\" | `tick` **bold**"), "shown as text");
    assert!(shown.contains("<script>boom</script>"), "the culprit's subject as text");
    let b = scraper::Selector::parse("script, img").unwrap();
    assert_eq!(doc.select(&b).count(), 0, "no markup from commit data");
}
