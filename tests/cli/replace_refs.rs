//! Replace refs (`git replace`), issue 17 reproducer 8: git reads the
//! replacement wherever the replaced object is read; betadrift's readers
//! do not, so it refuses a checkout where git would honour one (exit 2,
//! nothing written) and works as before where git would not
//! (`GIT_NO_REPLACE_OBJECTS`, `core.useReplaceRefs=false`, a ref outside
//! `GIT_REPLACE_REF_BASE`), agreeing with `git rebase` there.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use crate::check_vs_git::{LINE_THREE_BOTH_SIDES, case};
use crate::common;

use betadrift::scenario::Scenario;
use common::oracle::{Fate, git_rebase, predicted};
use common::{Run, Sandbox, assert_unchanged, fingerprint, git_binary};

const UPSTREAM: &str = "origin/production";

/// Runs git in `dir` with `input` on its standard input; its trimmed output.
fn git_with_input(sandbox: &Sandbox, dir: &Path, args: &[&str], input: &[u8]) -> String {
    let mut child = sandbox
        .command(git_binary())
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running git");
    child.stdin.take().expect("stdin").write_all(input).expect("writing to git");
    let out = child.wait_with_output().expect("git output");
    assert!(out.status.success(), "git {args:?} failed");
    String::from_utf8(out.stdout).expect("UTF-8").trim().to_owned()
}

/// Both sides edit line three of `a.txt`; `git rebase` stops. Returns the
/// built checkout and the blob id of the upstream tip's `a.txt`.
fn conflicting(sandbox: &Sandbox, name: &str) -> (std::path::PathBuf, String) {
    let built = sandbox.build(&Scenario::from_toml(&case(name, LINE_THREE_BOTH_SIDES)).unwrap());
    let blob = sandbox.git(&built.checkout, &["rev-parse", &format!("{UPSTREAM}:a.txt")]).trim().to_owned();
    (built.checkout, blob)
}

/// A blob with the merge base's `a.txt`, line one changed: merges cleanly
/// with the local patch.
fn harmless_blob(sandbox: &Sandbox, checkout: &Path) -> String {
    let base = sandbox.git(checkout, &["show", &format!("{UPSTREAM}~1:a.txt")]);
    let harmless = base.replacen("one\n", "ONE (replaced)\n", 1);
    git_with_input(sandbox, checkout, &["hash-object", "-w", "--stdin"], harmless.as_bytes())
}

/// Makes a replace ref in a checkout, given the upstream tip's `a.txt` blob.
type Replace = fn(&Sandbox, &Path, &str);

/// Replaces the upstream tip's `a.txt` blob with a harmless one.
fn replace_blob(sandbox: &Sandbox, checkout: &Path, tip_blob: &str) {
    let harmless = harmless_blob(sandbox, checkout);
    sandbox.git(checkout, &["replace", tip_blob, &harmless]);
}

/// Replaces the upstream tip commit with one whose `a.txt` is harmless.
fn replace_commit(sandbox: &Sandbox, checkout: &Path, tip_blob: &str) {
    let harmless = harmless_blob(sandbox, checkout);
    let listing = sandbox.git(checkout, &["ls-tree", UPSTREAM]).replace(tip_blob, &harmless);
    let tree = git_with_input(sandbox, checkout, &["mktree"], listing.as_bytes());
    let parent = format!("{UPSTREAM}~1");
    let commit = git_with_input(sandbox, checkout, &["commit-tree", &tree, "-p", &parent, "-m", "replacement"], b"");
    let tip = sandbox.git(checkout, &["rev-parse", UPSTREAM]);
    sandbox.git(checkout, &["replace", tip.trim(), &commit]);
}

fn stops(fates: &[(String, Fate)]) -> usize {
    fates.iter().filter(|(_, f)| matches!(f, Fate::Stopped { .. })).count()
}

/// Reproducer: `check` predicted a stop where `git rebase`, reading the
/// replacement, runs through. Now every command refuses, writing nothing.
#[test]
fn commands_refuse_a_checkout_with_replace_refs() {
    let replacements: [(&str, Replace); 2] = [("replaced-blob", replace_blob), ("replaced-commit", replace_commit)];
    for (name, replace) in replacements {
        let sandbox = Sandbox::new();
        let (checkout, blob) = conflicting(&sandbox, name);
        replace(&sandbox, &checkout, &blob);
        let before = fingerprint(&checkout);
        for args in [&["check"][..], &["status"], &["sync"], &["drop", "--yes", "1"]] {
            sandbox.betadrift(&checkout, args).assert_error("replace ref(s) (refs/replace/");
        }
        assert_unchanged(&before, &fingerprint(&checkout));
        // git itself reads the replacement.
        let tip = sandbox.git(&checkout, &["show", &format!("{UPSTREAM}:a.txt")]);
        assert!(tip.contains("ONE (replaced)") && !tip.contains("THREE (upstream)"), "{name}: {tip}");
    }
}

/// The reproducer's rebase: with the upstream tip commit replaced, `git
/// rebase` runs through where the objects as they are would stop it.
#[test]
fn git_rebases_onto_the_replacement() {
    let sandbox = Sandbox::new();
    let (checkout, blob) = conflicting(&sandbox, "rebase-replaced");
    replace_commit(&sandbox, &checkout, &blob);
    let git = git_rebase(&sandbox, &checkout, UPSTREAM);
    assert_eq!(stops(&git.fates), 0, "{git:?}");
}

/// With replace refs turned off, betadrift reads what git reads.
#[test]
fn replace_refs_git_ignores_are_no_reason_to_refuse() {
    // core.useReplaceRefs=false: betadrift and git agree (both stop).
    let sandbox = Sandbox::new();
    let (checkout, blob) = conflicting(&sandbox, "use-replace-refs-false");
    replace_blob(&sandbox, &checkout, &blob);
    sandbox.git(&checkout, &["config", "core.useReplaceRefs", "false"]);
    let ours = predicted(&checkout, UPSTREAM);
    let git = git_rebase(&sandbox, &checkout, UPSTREAM);
    assert_eq!(ours, git);
    assert_eq!(stops(&git.fates), 1);

    // GIT_NO_REPLACE_OBJECTS, set to anything: `check` and `status` run.
    let sandbox = Sandbox::new();
    let (checkout, blob) = conflicting(&sandbox, "no-replace-objects");
    replace_commit(&sandbox, &checkout, &blob);
    let run = |args: &[&str]| {
        let out = sandbox
            .command(env!("CARGO_BIN_EXE_betadrift"))
            .current_dir(&checkout)
            .env("BETADRIFT_NOW", "2026-11-25T12:00:00Z")
            .env("GIT_NO_REPLACE_OBJECTS", "")
            .args(args)
            .output()
            .unwrap();
        Run::from(out)
    };
    let check = run(&["check"]);
    assert_eq!(check.code, 1, "one stop: {}{}", check.stdout, check.stderr);
    assert!(check.stdout.contains("STOP at #1"), "{}", check.stdout);
    assert_eq!(run(&["status"]).code, 0);
    let out = sandbox
        .command(git_binary())
        .current_dir(&checkout)
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .args(["rebase", UPSTREAM])
        .output()
        .unwrap();
    assert!(!out.status.success(), "git stops as well without the replacement");

    // A ref outside GIT_REPLACE_REF_BASE is not a replace ref; one inside is.
    let sandbox = Sandbox::new();
    let (checkout, blob) = conflicting(&sandbox, "replace-ref-base");
    let harmless = harmless_blob(&sandbox, &checkout);
    sandbox.git(&checkout, &["update-ref", &format!("refs/elsewhere/{blob}"), &harmless]);
    assert_eq!(sandbox.betadrift(&checkout, &["check"]).code, 1);
    let out = sandbox
        .command(env!("CARGO_BIN_EXE_betadrift"))
        .current_dir(&checkout)
        .env("GIT_REPLACE_REF_BASE", "refs/elsewhere/")
        .args(["check"])
        .output()
        .unwrap();
    Run::from(out).assert_error("replace ref(s) (refs/elsewhere/");
}
