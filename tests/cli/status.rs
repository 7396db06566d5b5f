//! `betadrift status` end to end, on scenario repositories.

use crate::common;

use betadrift::output::json::status as wire;
use betadrift::scenario::Scenario;
use common::{Sandbox, assert_unchanged, fingerprint};

fn demo(sandbox: &Sandbox) -> betadrift::scenario::build::Built {
    sandbox.build(&Scenario::demo())
}

fn status_json(sandbox: &Sandbox, dir: &std::path::Path, extra: &[&str]) -> wire::Status {
    let mut args = vec!["status", "--json"];
    args.extend_from_slice(extra);
    let run = sandbox.betadrift(dir, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).expect("status JSON matches the documented schema")
}

#[test]
fn demo_status_text() {
    let sandbox = Sandbox::new();
    let built = demo(&sandbox);
    let run = sandbox.betadrift(&built.checkout, &["status"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let text = run.stdout.replace(&*sandbox.path().to_string_lossy(), "[SANDBOX]");
    insta::assert_snapshot!(text);
}

#[test]
fn every_upstream_state_with_the_commit_it_matched() {
    let sandbox = Sandbox::new();
    let built = demo(&sandbox);
    let status = status_json(&sandbox, &built.checkout, &[]);
    let by_subject = |needle: &str| status.patches.iter().find(|p| p.subject.contains(needle)).expect(needle);
    let id = |name: &str| built.ids[name].to_string();

    let merged = by_subject("php-fpm worker counts");
    assert_eq!(merged.upstream_state, "merged");
    assert_eq!(merged.upstream_commit.as_deref(), Some(id("u-fpm-merged").as_str()));
    assert_eq!(merged.matched_by.as_deref(), Some("change-id"));

    let differs = by_subject("X-Wikimedia-Debug");
    assert_eq!(differs.upstream_state, "merged-differs");
    assert_eq!(differs.upstream_commit.as_deref(), Some(id("u-varnish-ps5").as_str()));

    let reverted = by_subject("original channel field");
    assert_eq!(reverted.upstream_state, "reverted");
    assert_eq!(reverted.upstream_commit.as_deref(), Some(id("u-logstash-merged").as_str()));
    assert_eq!(reverted.reverted_by.as_deref(), Some(id("u-logstash-revert").as_str()));

    let by_patch_id = by_subject("max_connections");
    assert_eq!(by_patch_id.change_id, None);
    assert_eq!(by_patch_id.upstream_state, "merged");
    assert_eq!(by_patch_id.matched_by.as_deref(), Some("patch-id"));
    assert_eq!(by_patch_id.upstream_commit.as_deref(), Some(id("u-mariadb").as_str()));

    let pending = by_subject("apt at the local mirror");
    assert_eq!(pending.upstream_state, "pending");
    assert_eq!(pending.upstream_commit, None);
}

#[test]
fn header_fields() {
    let sandbox = Sandbox::new();
    let built = demo(&sandbox);
    let s = status_json(&sandbox, &built.checkout, &[]);
    assert_eq!(s.schema_version, 1);
    assert_eq!(s.branch, "production");
    assert_eq!(s.head, built.head.to_string());
    assert_eq!(s.upstream.name, "origin/production");
    assert_eq!(s.upstream.commit, built.upstream_tip.to_string());
    assert_eq!(s.merge_base, built.base.to_string());
    assert_eq!(s.merge_base_time, "2026-11-03T09:12:00Z");
    assert_eq!(s.behind, 8);
    assert_eq!(s.last_fetch.as_deref(), Some("2026-11-25T11:50:00Z"));
    assert_eq!(s.operation_in_progress, None);
    assert_eq!(s.dirty.modified, vec!["modules/scap/manifests/init.pp"]);
    assert_eq!(s.dirty.untracked, vec!["modules/profile/files/"]);
    assert!(s.dirty.staged.is_empty() && s.dirty.conflicted.is_empty());
    assert_eq!(s.generated_at, "2026-11-25T12:00:00Z");
    assert_eq!(s.patches.len(), 13);
    let positions: Vec<usize> = s.patches.iter().map(|p| p.position).collect();
    assert_eq!(positions, (1..=13).collect::<Vec<_>>());
}

#[test]
fn patch_fields_tasks_links_mailmap_and_first_seen() {
    let sandbox = Sandbox::new();
    let built = demo(&sandbox);
    let s = status_json(&sandbox, &built.checkout, &[]);
    let p = |pos: usize| &s.patches[pos - 1];

    assert_eq!(p(6).tasks, vec!["T358500", "T358501"], "two Bug: lines");
    assert_eq!(p(11).tasks, vec!["T360100", "T360101"], "two tasks on one line");
    assert_eq!(p(9).tasks, vec!["T359321"], "lower-case bug:");
    assert_eq!(p(13).tasks, vec!["T360777"], "Phabricator URL in the body");
    assert_eq!(p(5).tasks, vec!["T358002"], "mention in the subject");
    assert_eq!(
        p(6).links.tasks,
        vec!["https://phabricator.wikimedia.org/T358500", "https://phabricator.wikimedia.org/T358501"]
    );
    assert_eq!(
        p(2).links.change.as_deref(),
        Some("https://gerrit.wikimedia.org/r/q/I3d4e5f60718293a4b5c6d7e8f901234567890123")
    );
    assert_eq!(p(1).links.change, None);

    // .mailmap maps both an old address and a short name to Kim Tran.
    assert_eq!(p(9).author.name, "Kim Tran");
    assert_eq!(p(12).author.name, "Kim Tran");
    assert_eq!(p(12).author.email, "ktran@example.org");

    assert_eq!(p(1).author_time, "2026-06-02T10:15:00Z");
    assert_eq!(p(1).first_seen.as_deref(), Some("2026-06-02T11:30:00Z"));
    assert_eq!(p(1).first_seen_source.as_deref(), Some("tag:snapshot-202606021130"));
    assert_eq!(p(3).first_seen.as_deref(), Some("2026-09-19T07:00:00Z"));
    assert_eq!(p(8).first_seen.as_deref(), Some("2026-10-16T10:00:00Z"));
    // Patch-id identity (no Change-Id) through rebases onto other bases:
    assert_eq!(p(9).first_seen.as_deref(), Some("2026-11-03T10:20:00Z"));
    assert_eq!(p(10).first_seen.as_deref(), Some("2026-11-03T10:20:00Z"));
    // Arrived after the last snapshot: unknown.
    assert_eq!(p(13).first_seen, None);
    assert_eq!(p(13).commit, built.head.to_string());
}

#[test]
fn operation_in_progress_is_reported() {
    let sandbox = Sandbox::new();
    let built = demo(&sandbox);
    let dir = &built.checkout;
    sandbox.git(dir, &["stash", "--include-untracked"]);
    let out = sandbox.git_output(dir, &["rebase", "origin/production"]);
    assert!(!out.status.success(), "the demo's rebase stops on a conflict");
    let s = status_json(&sandbox, dir, &[]);
    assert_eq!(s.operation_in_progress.as_deref(), Some("rebase"));
    let text = sandbox.betadrift(dir, &["status"]);
    assert!(text.stdout.contains("IN PROGRESS  a rebase is half-done"), "{}", text.stdout);
}

#[test]
fn status_writes_nothing() {
    let sandbox = Sandbox::new();
    let built = demo(&sandbox);
    let before = fingerprint(&built.checkout);
    for args in [&["status"][..], &["status", "--json"], &["status", "--upstream", "HEAD~3"]] {
        let run = sandbox.betadrift(&built.checkout, args);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_unchanged(&before, &fingerprint(&built.checkout));
}

#[test]
fn explicit_upstream_and_sha_file() {
    let sandbox = Sandbox::new();
    let built = demo(&sandbox);
    let s = status_json(&sandbox, &built.checkout, &["--upstream", &built.base.to_string()]);
    assert_eq!(s.behind, 0);
    assert!(s.patches.iter().all(|p| p.upstream_state == "pending" || p.upstream_state == "merged-differs"));
    let sha_file = sandbox.path().join("puppet-sha1.txt");
    std::fs::write(&sha_file, format!("{}\n", built.upstream_tip)).unwrap();
    let s = status_json(&sandbox, &built.checkout, &["--upstream-sha-file", sha_file.to_str().unwrap()]);
    assert_eq!(s.upstream.commit, built.upstream_tip.to_string());
    assert_eq!(s.behind, 8);
}

mod errors {
    use super::*;

    #[test]
    fn not_a_repository() {
        let sandbox = Sandbox::new();
        sandbox.betadrift(sandbox.path(), &["status"]).assert_error("is not inside a git repository");
    }

    #[test]
    fn bare_repository() {
        let sandbox = Sandbox::new();
        let built = demo(&sandbox);
        sandbox.betadrift(&built.upstream, &["status"]).assert_error("is a bare repository");
    }

    /// The puppetmaster's checkout belongs to gitpuppet; root (or anyone
    /// else) is refused as git refuses, with how to proceed, unless git's
    /// safe.directory lists it. Changing a file's owner needs root (as the
    /// test runs here and in CI).
    #[test]
    fn checkout_owned_by_another_user() {
        use std::os::unix::fs::MetadataExt;
        let sandbox = Sandbox::new();
        let built = demo(&sandbox);
        let me = std::fs::metadata("/proc/self").unwrap().uid();
        if me == 0 {
            let out = std::process::Command::new("chown").args(["-R", "65534"]).arg(&built.checkout).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        } else {
            eprintln!("not root: cannot give the checkout to another user, nothing checked");
            return;
        }
        let run = sandbox.betadrift(&built.checkout, &["status"]);
        run.assert_error("not to the user running betadrift, and git's safe.directory does not list it");
        assert!(run.stderr.contains("sudo -u "), "{}", run.stderr);
        sandbox.git(sandbox.path(), &["config", "--file", "home/.gitconfig", "--add", "safe.directory", "*"]);
        let run = sandbox.betadrift(&built.checkout, &["status"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }

    #[test]
    fn unknown_upstream() {
        let sandbox = Sandbox::new();
        let built = demo(&sandbox);
        let run = sandbox.betadrift(&built.checkout, &["status", "--upstream", "origin/nope"]);
        run.assert_error("upstream origin/nope not found");
        sandbox.git(&built.checkout, &["branch", "--unset-upstream"]);
        sandbox.git(&built.checkout, &["update-ref", "-d", "refs/remotes/origin/production"]);
        sandbox.betadrift(&built.checkout, &["status"]).assert_error("run `git fetch origin` or pass --upstream");
    }

    #[test]
    fn detached_head() {
        let sandbox = Sandbox::new();
        let built = demo(&sandbox);
        sandbox.git(&built.checkout, &["checkout", "--detach", "HEAD~1"]);
        sandbox.betadrift(&built.checkout, &["status"]).assert_error("is detached at");
    }

    #[test]
    fn shallow_clone() {
        let sandbox = Sandbox::new();
        let built = demo(&sandbox);
        let url = format!("file://{}", built.upstream.display());
        sandbox.git(sandbox.path(), &["clone", "-q", "--depth", "1", &url, "shallow"]);
        sandbox.betadrift(&sandbox.path().join("shallow"), &["status"]).assert_error("is a shallow clone");
    }

    #[test]
    fn missing_objects_of_a_partial_clone() {
        let sandbox = Sandbox::new();
        let built = demo(&sandbox);
        // A blob-less partial clone of the checkout: the local patches' old
        // blobs were never fetched, and libgit2 cannot fetch them lazily.
        let url = format!("file://{}", built.checkout.display());
        sandbox.git(
            sandbox.path(),
            &[
                "clone",
                "-q",
                "--filter=blob:none",
                "--no-checkout",
                "--upload-pack=git -c uploadpack.allowFilter=true upload-pack",
                &url,
                "partial",
            ],
        );
        let partial = sandbox.path().join("partial");
        sandbox.git(&partial, &["update-ref", "refs/remotes/upstream/production", &built.upstream_tip.to_string()]);
        let run = sandbox.betadrift(&partial, &["status", "--upstream", "upstream/production"]);
        run.assert_error("is missing from");
        assert!(run.stderr.contains("partial"), "{}", run.stderr);
    }

    #[test]
    fn invalid_and_unreadable_config() {
        let sandbox = Sandbox::new();
        let built = demo(&sandbox);
        let bad = sandbox.path().join("bad.toml");
        std::fs::write(&bad, "[stale]\nafter = \"soonish\"\n").unwrap();
        let run = sandbox.betadrift(&built.checkout, &["--config", bad.to_str().unwrap(), "status"]);
        run.assert_error("line 2, column 9");
        let missing = sandbox.path().join("missing.toml");
        let run = sandbox.betadrift(&built.checkout, &["--config", missing.to_str().unwrap(), "status"]);
        run.assert_error("cannot read it");
        let run = sandbox
            .command(env!("CARGO_BIN_EXE_betadrift"))
            .current_dir(&built.checkout)
            .env("BETADRIFT_CONFIG", &bad)
            .arg("status")
            .output()
            .unwrap();
        common::Run::from(run).assert_error("line 2, column 9");
    }

    #[test]
    fn bad_now() {
        let sandbox = Sandbox::new();
        let built = demo(&sandbox);
        sandbox.betadrift(&built.checkout, &["status", "--now", "yesterday"]).assert_error("RFC 3339");
    }
}

mod hostile {
    use super::*;

    #[test]
    fn text_output_is_safe() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&common::hostile_scenario());
        let run = sandbox.betadrift(&built.checkout, &["status"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        for c in run.stdout.chars() {
            assert!(!c.is_control() || c == '\n', "control character {c:?} reached the terminal");
            assert!(!matches!(c, '\u{202e}' | '\u{200b}' | '\u{2028}'), "{c:?} reached the terminal");
        }
        assert!(run.stdout.contains("\\x1b[2J\\x1b[Hclear screen \\x1b]8;;http"), "escapes shown visibly");
        assert!(run.stdout.contains("Mallory \\x1b[31mRed\\x1b"), "{}", run.stdout);
        assert!(run.stdout.contains("bidi \\u{202e}gnp.exe\\u{202c}"));
        assert!(run.stdout.contains("invalid \\xc3( utf-8 \\xff here"));
        assert!(run.stdout.contains("Bad \\xff\\xfe Bytes"));
        assert!(run.stdout.lines().all(|l| l.chars().count() < 400), "long subject truncated");
    }

    #[test]
    fn json_output_is_valid_and_complete() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&common::hostile_scenario());
        let s = status_json(&sandbox, &built.checkout, &[]);
        assert_eq!(s.patches.len(), 6);
        assert!(s.patches[0].subject.starts_with("\u{1b}[2J"), "JSON keeps the text, escaped by JSON");
        assert_eq!(s.patches[3].subject, "invalid \u{fffd}( utf-8 \u{fffd} here");
        assert_eq!(s.patches[5].subject.len(), 100 * 1024);
        assert_eq!(s.patches[0].tasks, vec!["T100001"]);
    }
}

/// `status` asks `git status` for the dirty files and falls back to libgit2;
/// both must say the same, for every kind of entry and any path.
#[test]
fn dirty_files_by_git_and_by_libgit2_agree() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("dirty");
    std::fs::create_dir_all(&dir).unwrap();
    let git = |args: &[&str]| sandbox.git(&dir, args);
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    git(&["init", "-q", "-b", "production"]);
    for path in ["a.pp", "with space.pp", "gone.pp", "staged.pp", "both.pp", "conflict.pp", "dir/x.pp"] {
        write(path, "one\n");
    }
    git(&["add", "."]);
    git(&["commit", "-qm", "base"]);
    git(&["checkout", "-qb", "other"]);
    write("conflict.pp", "theirs\n");
    git(&["commit", "-qam", "theirs"]);
    git(&["checkout", "-q", "production"]);
    write("conflict.pp", "ours\n");
    git(&["commit", "-qam", "ours"]);
    let merge = sandbox.git_output(&dir, &["merge", "-q", "other"]);
    assert!(!merge.status.success(), "the merge conflicts");

    write("a.pp", "two\n");
    write("with space.pp", "two\n");
    std::fs::remove_file(dir.join("gone.pp")).unwrap();
    write("staged.pp", "two\n");
    git(&["add", "staged.pp"]);
    write("both.pp", "two\n");
    git(&["add", "both.pp"]);
    write("both.pp", "three\n");
    write("new file\twith tab.pp", "x\n");
    write("newdir/inner/y.pp", "x\n");
    write("dir/untracked.pp", "x\n");
    write(".gitignore", "*.log\n");
    write("ignored.log", "x\n");
    std::fs::write(dir.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"latin1-\xe9.pp")), "x")
        .unwrap();

    let repo = betadrift::git::repo::Repo::discover(&dir).unwrap();
    let by_git = repo.dirty_by_git(sandbox.command(common::git_binary())).expect("git status answers");
    let by_libgit2 = repo.dirty_by_libgit2().unwrap();
    assert_eq!(by_git, by_libgit2);
    let names = |paths: &[Vec<u8>]| paths.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect::<Vec<_>>();
    assert_eq!(names(&by_git.modified), ["a.pp", "both.pp", "gone.pp", "with space.pp"]);
    assert_eq!(names(&by_git.staged), ["both.pp", "staged.pp"]);
    assert_eq!(names(&by_git.conflicted), ["conflict.pp"]);
    assert_eq!(by_git.untracked.len(), 5, "{:?}", names(&by_git.untracked));

    // A program that is not git: the fallback answers instead.
    let repo_status = repo.dirty_by_git(std::process::Command::new("/nonexistent/git"));
    assert_eq!(repo_status, None);
}

/// With `--held-back`, when the rebase would stop, status says how far the
/// stack can go, in the words and the JSON object of `check`; when it goes
/// through, nothing. Without it status makes no search and says nothing.
#[test]
fn held_back_line_when_the_rebase_would_stop() {
    let sandbox = Sandbox::new();
    let built = demo(&sandbox);
    let dir = &built.checkout;
    let check = sandbox.betadrift(dir, &["check", "--json"]);
    let check: betadrift::output::json::check::Check = serde_json::from_str(&check.stdout).unwrap();
    let expected = check.held_back.expect("the demo's rebase stops");

    let s = status_json(&sandbox, dir, &["--held-back"]);
    let held = s.held_back.expect("status --json --held-back has the held-back object");
    assert_eq!(serde_json::to_value(&held).unwrap(), serde_json::to_value(&expected).unwrap(), "as check says");
    assert_eq!((held.patch.position, held.taken, held.commits), (7, 1, 7));
    assert_eq!(held.onto, built.ids["u-fpm-merged"].to_string());

    let text = sandbox.betadrift(dir, &["status", "--held-back"]).stdout;
    let onto = &held.onto[..10];
    let culprit = &held.upstream.commit[..10];
    let patch = &held.patch.commit[..10];
    let line = format!("next sync    held back at {onto} by #7 {patch} ↔ upstream {culprit}\n");
    assert!(text.contains(&line), "{text}");
    assert!(text.contains("origin/production~7: the stack takes 1 of 8 upstream commits, 7 held back"), "{text}");

    // The quick look makes no search.
    assert!(status_json(&sandbox, dir, &[]).held_back.is_none());
    assert!(!sandbox.betadrift(dir, &["status"]).stdout.contains("held back"));

    // Onto a commit the stack rebases onto cleanly: no line, no object.
    let clean = status_json(&sandbox, dir, &["--held-back", "--upstream", &held.onto]);
    assert!(clean.held_back.is_none());
    let text = sandbox.betadrift(dir, &["status", "--held-back", "--upstream", &held.onto]).stdout;
    assert!(!text.contains("held back"), "{text}");
}
