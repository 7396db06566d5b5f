//! `betadrift drop` and `betadrift prune` end to end: the result is the one
//! real `git rebase --onto X^ X` gives (commit for commit), dependents are
//! refused or removed on request, every refusal changes nothing, a SIGKILL
//! at any step loses nothing and `undo` restores, concurrent runs do not
//! corrupt the branch, and prune removes exactly what it should.

use crate::common;

use std::path::{Path, PathBuf};

use betadrift::rewrite::AuditEntry;
use betadrift::scenario::Scenario;
use betadrift::scenario::build::Built;
use common::crash::{assert_intact, at_once, head, interrupt_at_every_step, sigkill_at_every_step};
use common::{Run, Sandbox, assert_unchanged, commits, copy_dir, fingerprint};

/// The demo puppetmaster without its hand edit and untracked file.
fn demo() -> Scenario {
    let mut s = Scenario::demo();
    s.dirty = Default::default();
    s
}

/// Demo patches whose removal the tests rely on.
const P05_SCAP: usize = 5;
const P07_DB_PRIMARY: usize = 7;
const P08_DB_POOL: usize = 8;

fn write_policy(dir: &Path, text: &str) {
    let path = dir.join(".git/betadrift/policy.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// One `[[rule]]` of a policy file; `scope` is `default = true`, `change = "I…"`, ….
fn rule(scope: &str, decision: &str) -> String {
    format!("[[rule]]\n{scope}\ndecision = \"{decision}\"\nset_by = \"root\"\nset_at = \"2026-10-01T00:00:00Z\"\n\n")
}

/// A default rule that allows removing any patch.
fn allow_all(dir: &Path) {
    write_policy(dir, &rule("default = true", "allow"));
}

/// Builds `scenario` with a policy that allows every removal.
fn build_allowed(sandbox: &Sandbox, scenario: &Scenario) -> Built {
    let built = sandbox.build(scenario);
    allow_all(&built.checkout);
    built
}

/// The local commits, oldest first (position 1 is index 0).
fn locals(sandbox: &Sandbox, dir: &Path) -> Vec<String> {
    sandbox.git(dir, &["rev-list", "--reverse", "origin/production..HEAD"]).lines().map(str::to_owned).collect()
}

fn subjects(sandbox: &Sandbox, dir: &Path) -> Vec<String> {
    sandbox
        .git(dir, &["log", "--reverse", "--format=%s", "origin/production..HEAD"])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Runs `git rebase --onto X^ X` in a copy of `built` for each position,
/// newest first, as an admin removing those patches by hand would; returns
/// the copy's checkout, or the stopped commit if git stopped on a conflict.
fn git_drop(sandbox: &Sandbox, built: &Built, positions: &[usize]) -> Result<PathBuf, String> {
    let copy = sandbox.path().join("git-copy");
    copy_dir(&built.dir, &copy);
    let checkout = copy.join(built.checkout.file_name().unwrap());
    let originals = locals(sandbox, &checkout);
    let mut positions = positions.to_vec();
    positions.sort_unstable();
    for p in positions.iter().rev() {
        let x = &originals[p - 1];
        let out = sandbox.git_output(&checkout, &["rebase", "--onto", &format!("{x}^"), x]);
        if !out.status.success() {
            let stopped = sandbox.git_output(&checkout, &["rev-parse", "REBASE_HEAD"]);
            assert!(stopped.status.success(), "git rebase failed: {}", String::from_utf8_lossy(&out.stderr));
            return Err(String::from_utf8_lossy(&stopped.stdout).trim().to_owned());
        }
    }
    Ok(checkout)
}

/// Drops `positions` (named by `selectors`) with betadrift and with git, and
/// requires the same commits: the same ids (the clock, committer and dates
/// are fixed), hence the same trees, authors, messages and order.
fn assert_drop_equals_git(scenario: &Scenario, selectors: &[&str], positions: &[usize]) -> Run {
    let sandbox = Sandbox::new();
    let built = build_allowed(&sandbox, scenario);
    let theirs = git_drop(&sandbox, &built, positions).expect("git rebase --onto goes through");
    let mut args = vec!["drop", "--yes"];
    args.extend_from_slice(selectors);
    let run = sandbox.betadrift(&built.checkout, &args);
    assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
    let ours = &built.checkout;
    assert_eq!(
        commits(&sandbox, ours, "origin/production"),
        commits(&sandbox, &theirs, "origin/production"),
        "{args:?}: trees, authors and messages equal git's"
    );
    assert_eq!(head(&sandbox, ours), head(&sandbox, &theirs), "{args:?}: the very same commits");
    assert_eq!(sandbox.git(ours, &["status", "--porcelain", "--ignored"]), "", "{args:?}: worktree and index match");
    run
}

mod oracle {
    use super::*;

    #[test]
    fn dropping_a_middle_patch_equals_git_rebase_onto() {
        let run = assert_drop_equals_git(&demo(), &["5"], &[P05_SCAP]);
        assert!(run.stdout.contains("kept      #1-#4 (unchanged, same commits)"), "{}", run.stdout);
        assert!(run.stdout.contains("replayed  #6-#13"), "{}", run.stdout);
        assert!(run.stdout.contains("betadrift undo puts it back"), "{}", run.stdout);
    }

    #[test]
    fn dropping_the_first_and_the_last_patch_equals_git() {
        // #12 and #13 edit lines next to the one #1 changes: without #1
        // they conflict, where git rebase --onto stops too.
        let sandbox = Sandbox::new();
        let built = build_allowed(&sandbox, &demo());
        let stopped = git_drop(&sandbox, &built, &[1]).unwrap_err();
        assert_eq!(stopped, locals(&sandbox, &built.checkout)[11], "git stops on #12");
        let run = sandbox.betadrift(&built.checkout, &["drop", "--yes", "1"]);
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("2 remaining patches depend on a removed patch"), "{}", run.stdout);
        assert!(run.stdout.contains("\n  #12 1c0b256c7b ferm: quieter logging"), "{}", run.stdout);
        assert!(run.stdout.contains("\n  #13 ddce962766 HACK: hotfix"), "{}", run.stdout);

        assert_drop_equals_git(&demo(), &["#1", "--with-dependents"], &[1, 12, 13]);
        assert_drop_equals_git(&demo(), &["13"], &[13]);
    }

    #[test]
    fn dropping_several_patches_equals_git() {
        // By position and by commit id prefix; a task names #7 and #8.
        let sandbox = Sandbox::new();
        let built = sandbox.build(&demo());
        let p10 = locals(&sandbox, &built.checkout)[9][..8].to_owned();
        assert_drop_equals_git(&demo(), &["5", &p10, "2"], &[2, P05_SCAP, 10]);
        let run = assert_drop_equals_git(&demo(), &["T359010"], &[P07_DB_PRIMARY, P08_DB_POOL]);
        assert!(run.stdout.contains("drop 2 patches of 13"), "{}", run.stdout);
    }

    #[test]
    fn with_dependents_equals_git_dropping_them_too() {
        let run = assert_drop_equals_git(&demo(), &["7", "--with-dependents"], &[P07_DB_PRIMARY, P08_DB_POOL]);
        assert!(run.stdout.contains("depends on a removed patch (conflict in hieradata/cloud"), "{}", run.stdout);
    }

    /// p2 takes back a line p1 added: without p1 it changes nothing, and
    /// git rebase drops it; so does drop, and says so.
    #[test]
    fn a_patch_that_becomes_empty_is_dropped_like_git_does() {
        let scenario = Scenario::from_toml(
            r#"
name = "empty"
start = "2026-01-01T00:00:00Z"

[[upstream]]
id = "base"
files = { "f.txt" = "one\ntwo\n", "g.txt" = "g\n" }

[[local]]
id = "p1"
message = "add three\n"
append = { "f.txt" = "three\n" }

[[local]]
id = "p2"
message = "take three back\n"
edit = [{ path = "f.txt", find = "three\n", replace = "" }]

[[local]]
id = "p3"
message = "touch g\n"
append = { "g.txt" = "more g\n" }
"#,
        )
        .unwrap();
        let run = assert_drop_equals_git(&scenario, &["1"], &[1]);
        assert!(run.stdout.contains("becomes empty without the removed patches"), "{}", run.stdout);
        assert!(run.stdout.contains("drop 2 patches of 3"), "{}", run.stdout);
    }

    /// Random stacks: drop one patch; where git goes through, the commits
    /// are git's; where git stops, drop refuses (exit 1) naming the patch
    /// git stopped on, and changes nothing.
    #[test]
    fn random_stacks_drop_like_git() {
        let (mut clean, mut refused) = (0, 0);
        for seed in 1..300u64 {
            let scenario = common::random::scenario(seed);
            let sandbox = Sandbox::new();
            let built = build_allowed(&sandbox, &scenario);
            let originals = locals(&sandbox, &built.checkout);
            let position = 1 + (seed as usize) % originals.len();
            let git = git_drop(&sandbox, &built, &[position]);
            let before = fingerprint(&built.checkout);
            let run = sandbox.betadrift(&built.checkout, &["drop", "--yes", &format!("#{position}")]);
            match git {
                Ok(theirs) => {
                    if run.code != 0 || head(&sandbox, &built.checkout) != head(&sandbox, &theirs) {
                        let saved = common::random::save_failure(&scenario);
                        panic!("seed {seed} (#{position}, saved as {}): {}{}", saved.display(), run.stdout, run.stderr);
                    }
                    assert_eq!(sandbox.git(&built.checkout, &["status", "--porcelain"]), "", "seed {seed}");
                    clean += 1;
                }
                Err(stopped) => {
                    let at = originals.iter().position(|c| *c == stopped).expect("git stops on a local commit");
                    let named = format!("  #{} {} ", at + 1, &stopped[..10]);
                    assert_eq!(run.code, 1, "seed {seed}: {}{}", run.stdout, run.stderr);
                    assert!(run.stdout.contains(&named), "seed {seed}: {named:?} in {}", run.stdout);
                    assert_unchanged(&before, &fingerprint(&built.checkout));
                    refused += 1;
                }
            }
            if clean >= 40 && refused >= 10 {
                break;
            }
        }
        assert!(clean >= 20 && refused >= 3, "only {clean} clean and {refused} refused random drops");
    }
}

mod refusals {
    use super::*;

    /// Runs `args` on a fresh build of `scenario` after `prepare`, and
    /// requires the repository to be byte-for-byte unchanged.
    fn refused(scenario: &Scenario, prepare: &dyn Fn(&Sandbox, &Path), args: &[&str]) -> Run {
        let sandbox = Sandbox::new();
        let built = sandbox.build(scenario);
        prepare(&sandbox, &built.checkout);
        let before = fingerprint(&built.checkout);
        let run = sandbox.betadrift(&built.checkout, args);
        assert_unchanged(&before, &fingerprint(&built.checkout));
        run
    }

    fn allowed(_: &Sandbox, dir: &Path) {
        allow_all(dir);
    }

    #[test]
    fn dirty_tree() {
        refused(&Scenario::demo(), &allowed, &["drop", "5"]).assert_error("has uncommitted changes");
    }

    #[test]
    fn rebase_in_progress() {
        let mkdir = |_: &Sandbox, dir: &Path| {
            allow_all(dir);
            std::fs::create_dir(dir.join(".git/rebase-merge")).unwrap();
        };
        refused(&demo(), &mkdir, &["drop", "5"]).assert_error("a git rebase is in progress");
        let stopped = |sandbox: &Sandbox, dir: &Path| {
            allow_all(dir);
            assert!(!sandbox.git_output(dir, &["rebase", "origin/production"]).status.success());
        };
        refused(&demo(), &stopped, &["prune", "--merged", "--yes"]).assert_error("a git rebase is in progress");
    }

    #[test]
    fn no_consent() {
        let run = refused(&demo(), &|_, _| {}, &["drop", "5", "T359010"]);
        run.assert_refused("no consent to remove #5 103d1c7386 (ask, from the built-in default), #7 ");
        assert!(run.stderr.contains("--force --reason TEXT"), "{}", run.stderr);
        assert!(run.stdout.contains("NO: ask, builtin"), "the plan shows why: {}", run.stdout);
        // The trailer of #11 allows it; a change rule can take that back.
        let never = |_: &Sandbox, dir: &Path| {
            write_policy(dir, &rule("change = \"Ia4b5c6d7e8f90123456789012345678901234567\"", "never"));
        };
        refused(&demo(), &never, &["drop", "11", "13"])
            .assert_refused("#11 d58e432ace (never, from the rule for change");
    }

    #[test]
    fn dependent_patch() {
        let run = refused(&demo(), &allowed, &["drop", "7"]);
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert_eq!(run.stderr, "");
        assert!(run.stdout.contains("drop refused, nothing was changed: 1 remaining patch depends on a removed patch"));
        assert!(
            run.stdout.contains(
                "  #8 64b103f90c deployment-prep: give the new primary a medium pool: conflict in hieradata/cloud/eqiad1/deployment-prep/common.yaml"
            ),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("--with-dependents"), "{}", run.stdout);
    }

    #[test]
    fn dependents_need_consent_too() {
        let only_7 = |_: &Sandbox, dir: &Path| {
            write_policy(dir, &rule("change = \"I8293a4b5c6d7e8f9012345678901234567890123\"", "allow"));
        };
        refused(&demo(), &only_7, &["drop", "7", "--with-dependents"])
            .assert_refused("no consent to remove #8 64b103f90c (ask, from the built-in default)");
    }

    #[test]
    fn unknown_and_ambiguous_patches() {
        refused(&demo(), &allowed, &["drop", "beef"])
            .assert_error("patch 'beef': no local patch has a commit id starting with beef");
        refused(&demo(), &allowed, &["drop", "5", "14"]).assert_error("patch '14': position 14 is out of range");
        refused(&demo(), &allowed, &["drop", "HEAD~2"]).assert_error("patch 'HEAD~2': not a patch selector");
        // A fourteenth patch whose Change-Id shares 8 characters with #11's.
        let mut scenario = demo();
        let mut extra = scenario.local[10].clone();
        extra.id = "p14-twin".into();
        extra.message = Some("twin\n\nChange-Id: Ia4b5c6d0000000000000000000000000000000ff\n".into());
        extra.edit.clear();
        extra.append = [("README.md".to_owned(), "twin\n".to_owned())].into();
        scenario.local.push(extra);
        refused(&scenario, &allowed, &["drop", "Ia4b5c6d"])
            .assert_error("patch 'Ia4b5c6d': ambiguous Change-Id prefix, it matches #11 d58e432ace (beta: send logs");
    }

    #[test]
    fn detached_head() {
        let detach = |sandbox: &Sandbox, dir: &Path| {
            allow_all(dir);
            sandbox.git(dir, &["checkout", "-q", "--detach"]);
        };
        refused(&demo(), &detach, &["drop", "5"]).assert_error("HEAD of ");
        refused(&demo(), &detach, &["prune", "--yes"]).assert_error("is detached at");
    }

    #[test]
    fn force_needs_a_reason() {
        let run = refused(&demo(), &|_, _| {}, &["drop", "5", "--force"]);
        assert_eq!(run.code, 2);
        assert!(run.stderr.contains("--reason <TEXT>"), "{}", run.stderr);
        refused(&demo(), &|_, _| {}, &["drop", "5", "--force", "--reason", "  "])
            .assert_error("--force needs --reason TEXT");
    }

    #[test]
    fn dry_run_writes_nothing() {
        let run = refused(&demo(), &allowed, &["drop", "5", "--dry-run"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains("drop 1 patch of 13 local patches from production"), "{}", run.stdout);
        assert!(run.stdout.ends_with("\n--dry-run: nothing was changed\n"), "{}", run.stdout);
        let run = refused(&demo(), &|_, _| {}, &["prune", "--dry-run"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains("prune 3 patches"), "{}", run.stdout);
    }
}

mod records {
    use super::*;

    #[test]
    fn forced_drop_is_audited_and_undo_restores() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&demo());
        let dir = &built.checkout;
        let old_head = head(&sandbox, dir);
        let mut cmd = sandbox.command(env!("CARGO_BIN_EXE_betadrift"));
        cmd.current_dir(dir).env("BETADRIFT_NOW", "2026-11-25T12:00:00Z").env("SUDO_USER", "kim");
        let run =
            Run::from(cmd.args(["drop", "--yes", "5", "--force", "--reason", "T358002 is closed"]).output().unwrap());
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("FORCED: ask, builtin"), "{}", run.stdout);

        let audit = std::fs::read_to_string(dir.join(".git/betadrift/audit.jsonl")).unwrap();
        assert_eq!(audit.lines().count(), 1);
        let entry: AuditEntry = serde_json::from_str(audit.trim()).unwrap();
        assert_eq!(entry.actor, "kim");
        assert_eq!(entry.command, "drop");
        assert_eq!(entry.time, "2026-11-25T12:00:00Z");
        assert_eq!(entry.reason.as_deref(), Some("T358002 is closed"));
        assert!(entry.forced);
        assert_eq!(entry.old_head, old_head);
        assert_eq!(entry.new_head, head(&sandbox, dir));
        assert_eq!(entry.removed.len(), 1);
        assert_eq!(entry.removed[0].subject, "TEMP: verbose scap logging while debugging T358002");
        assert_eq!(entry.removed[0].why, "asked for; consent: FORCED: ask, builtin");
        assert_eq!(
            sandbox.git(dir, &["rev-parse", &entry.backup]).trim(),
            old_head,
            "the backup ref keeps the old tip"
        );

        let undo = sandbox.betadrift(dir, &["undo"]);
        assert_eq!(undo.code, 0, "{}", undo.stderr);
        assert_eq!(head(&sandbox, dir), old_head);
        assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "");
    }

    #[test]
    fn allowed_drop_is_not_forced_and_runs_the_post_update_command() {
        let sandbox = Sandbox::new();
        let built = build_allowed(&sandbox, &demo());
        let dir = &built.checkout;
        let marker = sandbox.path().join("deployed");
        let config = sandbox.path().join("config.toml");
        let script = format!("git rev-parse HEAD > {}", marker.display());
        std::fs::write(&config, format!("[sync]\npost_update = [\"/bin/sh\", \"-c\", {script:?}]\n")).unwrap();
        let run = sandbox.betadrift(dir, &["--config", config.to_str().unwrap(), "drop", "--yes", "11"]);
        assert_eq!(run.code, 1, "#13 depends on #11: {}", run.stdout);
        assert!(!marker.exists(), "nothing ran");
        let run =
            sandbox.betadrift(dir, &["--config", config.to_str().unwrap(), "drop", "--yes", "11", "--with-dependents"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("yes: allow, trailer"), "{}", run.stdout);
        let deployed = std::fs::read_to_string(&marker).unwrap();
        assert_eq!(deployed.trim(), head(&sandbox, dir), "the command ran after the branch moved");
        let audit = std::fs::read_to_string(dir.join(".git/betadrift/audit.jsonl")).unwrap();
        let entry: AuditEntry = serde_json::from_str(audit.trim()).unwrap();
        assert!(!entry.forced);
        assert_eq!(entry.reason, None);
        let why: Vec<&str> = entry.removed.iter().map(|r| r.why.as_str()).collect();
        assert_eq!(why.len(), 2);
        assert_eq!(why[0], "asked for; consent: yes: allow, trailer");
        assert!(why[1].starts_with("depends on a removed patch (conflict in hieradata/"), "{why:?}");
    }
}

mod safety {
    use super::*;

    #[test]
    fn sigkill_at_every_step_of_drop_loses_nothing_and_undo_restores() {
        sigkill_at_every_step(&|sandbox| build_allowed(sandbox, &demo()), &["drop", "--yes", "5"]);
    }

    #[test]
    fn sigkill_at_every_step_of_prune_loses_nothing_and_undo_restores() {
        sigkill_at_every_step(&|sandbox| sandbox.build(&demo()), &["prune", "--merged", "--yes"]);
    }

    #[test]
    fn sigint_and_sigterm_at_every_step_of_drop() {
        interrupt_at_every_step(&|sandbox| build_allowed(sandbox, &demo()), &["drop", "--yes", "5"], "sigint");
        interrupt_at_every_step(&|sandbox| build_allowed(sandbox, &demo()), &["drop", "--yes", "5"], "sigterm");
    }

    #[test]
    fn sigint_and_sigterm_at_every_step_of_prune() {
        interrupt_at_every_step(&|sandbox| sandbox.build(&demo()), &["prune", "--merged", "--yes"], "sigint");
        interrupt_at_every_step(&|sandbox| sandbox.build(&demo()), &["prune", "--merged", "--yes"], "sigterm");
    }

    /// Two admins drop two patches at the same moment. Each run either
    /// removes its patch or refuses with exit 2 (the branch moved under it,
    /// or its commit is gone); nothing is corrupted or lost.
    #[test]
    fn concurrent_drops_never_corrupt_the_branch_or_lose_a_commit() {
        for round in 0..3 {
            let sandbox = Sandbox::new();
            let built = build_allowed(&sandbox, &demo());
            let dir = &built.checkout;
            let old_head = head(&sandbox, dir);
            let all_subjects = subjects(&sandbox, dir);
            let ids = locals(&sandbox, dir);
            let (a, b) = (&ids[P05_SCAP - 1][..12], &ids[9 - 1][..12]);
            let runs = at_once(&sandbox, dir, &[&["drop", "--yes", a], &["drop", "--yes", b]]);
            assert_intact(&sandbox, dir, &old_head);
            let now = subjects(&sandbox, dir);
            let mut done = 0;
            for (run, position) in runs.iter().zip([P05_SCAP, 9]) {
                let subject = &all_subjects[position - 1];
                match run.code {
                    0 => {
                        assert!(!now.contains(subject), "round {round}: #{position} is gone");
                        done += 1;
                    }
                    2 => assert!(now.contains(subject), "round {round}: #{position} stays: {}", run.stderr),
                    _ => panic!("round {round}: {}{}", run.stdout, run.stderr),
                }
            }
            assert!(done >= 1, "round {round}: at least one drop goes through");
            assert_eq!(now.len(), all_subjects.len() - done, "round {round}: nothing else removed");
            let audit = std::fs::read_to_string(dir.join(".git/betadrift/audit.jsonl")).unwrap();
            assert_eq!(audit.lines().count(), done, "round {round}: one audit line per rewrite");
        }
    }
}

mod prune {
    use super::*;
    use betadrift::commands::Confirm;
    use betadrift::commands::prune::{PruneOptions, prune};
    use betadrift::config::Config;
    use betadrift::rewrite::Kind;
    use betadrift::rewrite::session::Session;
    use betadrift::support::clock::Clock;

    /// Demo patches #2, #3 (another patchset) and #10 are merged upstream;
    /// #4 was merged, then reverted, and stays.
    const MERGED: [usize; 3] = [2, 3, 10];

    #[test]
    fn merged_drops_exactly_the_merged_ones_like_git() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&demo());
        let theirs = git_drop(&sandbox, &built, &MERGED).unwrap();
        let run = sandbox.betadrift(&built.checkout, &["prune", "--merged", "--yes"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("merged upstream as a9cc8d95d3 (another patchset)  not needed"), "{}", run.stdout);
        assert_eq!(head(&sandbox, &built.checkout), head(&sandbox, &theirs));
        let left = subjects(&sandbox, &built.checkout);
        assert_eq!(left.len(), 10);
        assert!(left.contains(&"logstash: keep the original channel field for MediaWiki logs".to_owned()));
        let audit = std::fs::read_to_string(built.checkout.join(".git/betadrift/audit.jsonl")).unwrap();
        let entry: AuditEntry = serde_json::from_str(audit.trim()).unwrap();
        assert_eq!(entry.command, "prune");
        assert_eq!(entry.reason.as_deref(), Some("prune --merged"));
        assert_eq!(entry.removed.len(), 3);
    }

    #[test]
    fn without_a_terminal_it_needs_yes() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&demo());
        let before = fingerprint(&built.checkout);
        let run = sandbox.betadrift(&built.checkout, &["prune", "--merged"]);
        run.assert_refused("standard input is not a terminal; pass --yes");
        assert_unchanged(&before, &fingerprint(&built.checkout));
    }

    /// Default rule `after 30d`; #5 is `never`. Stale over 30d: #1 to #8.
    /// #5 lacks consent; removing #1 would make #12 and #13 conflict.
    #[test]
    fn stale_with_policy_skips_refusals_and_dependents() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&demo());
        let dir = &built.checkout;
        let scap = rule("change = \"I60718293a4b5c6d7e8f901234567890123456789\"", "never");
        write_policy(dir, &(rule("default = true", "after 30d") + &scap));
        let theirs = git_drop(&sandbox, &built, &[2, 3, 4, 6, 7, 8]).unwrap();
        let run = sandbox.betadrift(dir, &["prune", "--stale", "30d", "--yes"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("prune 6 patches of 13"), "{}", run.stdout);
        assert!(run.stdout.contains("left alone #1: removing it would make #12-#13 conflict"), "{}", run.stdout);
        assert!(run.stdout.contains("left alone #5: stale, but consent does not allow removal"), "{}", run.stdout);
        assert_eq!(head(&sandbox, dir), head(&sandbox, &theirs));

        let before = fingerprint(dir);
        let run = sandbox.betadrift(dir, &["prune", "--stale", "30d", "--yes"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.starts_with("nothing to prune (--stale 30d)\n"), "{}", run.stdout);
        assert_unchanged(&before, &fingerprint(dir));
    }

    fn session_options() -> (Config, PruneOptions) {
        let config =
            Config::parse("[sync]\ncommitter_name = \"Test Runner\"\ncommitter_email = \"runner@example.org\"\n")
                .unwrap();
        (config, PruneOptions { merged: true, ..PruneOptions::default() })
    }

    /// On a terminal prune asks; only a yes rewrites.
    #[test]
    fn it_asks_and_a_no_changes_nothing() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&demo());
        let dir = &built.checkout;
        let (config, options) = session_options();
        let clock = Clock::from_args(Some("2026-11-25T12:00:00Z")).unwrap();
        let before = fingerprint(dir);
        let mut asked = Vec::new();
        for answer in [false, true] {
            let session = Session::open(Some(dir), &Default::default(), &config, clock, Kind::Prune).unwrap();
            let mut ask = |question: &str| {
                asked.push(question.to_owned());
                Ok(answer)
            };
            let mut out = Vec::new();
            prune(&session, &options, Confirm::Ask(&mut ask), &mut out).unwrap();
            let out = String::from_utf8(out).unwrap();
            if answer {
                assert!(out.contains("moved refs/heads/production"), "{out}");
            } else {
                assert!(out.ends_with("\nnot confirmed: nothing was changed\n"), "{out}");
                assert_unchanged(&before, &fingerprint(dir));
            }
        }
        assert_eq!(asked, ["Drop 3 patches from production? [y/N] "; 2]);
        assert_eq!(subjects(&sandbox, dir).len(), 10);
    }
}
