//! Hostile trees, planted symbolic links and races (docs/security.md):
//! each claim of the threat model, shown on the demo puppetmaster. A
//! hostile upstream cannot make a rewrite write where git would not; the
//! checkout's owner cannot make a root-run betadrift write outside the
//! checkout or through a link; a human `git commit` during a rewrite fails
//! cleanly instead of putting dropped content back.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use betadrift::scenario::Scenario;
use betadrift::scenario::build::Built;
use common::crash::{head, stopped_at};
use common::{Run, Sandbox, copy_dir, fingerprint};

/// The demo puppetmaster without its hand edit and untracked file.
fn demo() -> Scenario {
    let mut s = Scenario::demo();
    s.dirty = Default::default();
    s
}

/// The demo, with a policy that allows every removal.
fn build_allowed(sandbox: &Sandbox) -> Built {
    let built = sandbox.build(&demo());
    let policy = built.checkout.join(".git/betadrift/policy.toml");
    std::fs::create_dir_all(policy.parent().unwrap()).unwrap();
    let rule = "[[rule]]\ndefault = true\ndecision = \"allow\"\nset_by = \"root\"\nset_at = \"2026-10-01T00:00:00Z\"\n";
    std::fs::write(policy, rule).unwrap();
    built
}

/// What demo patch #5 adds; dropping #5 takes it out of init.pp.
const P05_LINE: &str = "Boolean $verbose = true, # TEMP T358002";
const SCAP: &str = "modules/scap/manifests/init.pp";

/// A file outside the checkout that must never change.
fn victim(sandbox: &Sandbox) -> PathBuf {
    let path = sandbox.path().join("victim");
    std::fs::write(&path, "precious\n").unwrap();
    path
}

fn assert_victim_intact(victim: &Path) {
    assert_eq!(std::fs::read_to_string(victim).unwrap(), "precious\n", "the file outside the checkout is unchanged");
}

/// The checkout's refs, HEAD, index and working tree (not the lock file a
/// rewrite takes before it refuses).
fn state(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut all = fingerprint(dir);
    all.retain(|k, _| k != ".git/betadrift.lock");
    all
}

mod hostile_trees {
    use super::*;

    /// A tree object made with `git mktree`, which checks no names.
    fn mktree(sandbox: &Sandbox, dir: &Path, lines: &str) -> String {
        let mut child = sandbox
            .command(common::git_binary())
            .current_dir(dir)
            .args(["mktree"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), lines.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// An upstream commit on origin/production whose tree also has a
    /// directory `name` holding `hooks/post-checkout`.
    fn hostile_upstream(sandbox: &Sandbox, dir: &Path, name: &str) -> String {
        let hook = sandbox.git(dir, &["hash-object", "-w", "--stdin"]);
        let hook = hook.trim();
        let hooks = mktree(sandbox, dir, &format!("100755 blob {hook}\tpost-checkout\n"));
        let evil = mktree(sandbox, dir, &format!("040000 tree {hooks}\thooks\n"));
        let mut root = sandbox.git(dir, &["ls-tree", "origin/production^{tree}"]);
        root.push_str(&format!("040000 tree {evil}\t{name}\n"));
        let tree = mktree(sandbox, dir, &root);
        let commit = sandbox.git(dir, &["commit-tree", &tree, "-p", "origin/production", "-m", "upstream"]);
        commit.trim().to_owned()
    }

    fn sync_refuses(name: &str, written: &str) {
        let sandbox = Sandbox::new();
        let mut scenario = demo();
        scenario.local.retain(|c| !c.id.starts_with("p07") && !c.id.starts_with("p08"));
        scenario.snapshot.clear();
        let built = sandbox.build(&scenario);
        let dir = &built.checkout;
        let upstream = hostile_upstream(&sandbox, dir, name);
        let before = state(dir);
        let run = sandbox.betadrift(dir, &["sync", "--upstream", &upstream]);
        run.assert_refused("a path git refuses to check out");
        assert!(run.stderr.contains(written), "{}", run.stderr);
        common::assert_unchanged(&before, &state(dir));
        assert!(!dir.join(written).exists() && !built.dir.join("hooks").exists(), "nothing written");
        // git agrees: it will not check the tree out either.
        let git = sandbox.git_output(dir, &["checkout", "-q", &upstream]);
        assert!(!git.status.success(), "git checks out {name}/hooks/post-checkout");
        assert!(String::from_utf8_lossy(&git.stderr).contains("invalid path"));
    }

    /// Reproducer 1: the upstream tree writes into `.git/hooks`.
    #[test]
    fn an_upstream_tree_with_a_git_directory_is_refused() {
        sync_refuses(".git", ".git/hooks/post-checkout");
    }

    /// The NTFS and HFS+ spellings of `.git` are refused as git refuses them.
    #[test]
    fn other_spellings_of_dot_git_are_refused() {
        sync_refuses(".GIT", ".GIT/hooks/post-checkout");
        sync_refuses("git~1", "git~1/hooks/post-checkout");
        sync_refuses(".git. .", ".git. ./hooks/post-checkout");
    }

    /// Reproducer 2: a tree entry named `..` would write next to the checkout.
    #[test]
    fn a_tree_entry_named_dot_dot_is_refused() {
        sync_refuses("..", "../hooks/post-checkout");
    }
}

mod planted_links {
    use super::*;

    /// Reproducer 4: `modules/scap` is an untracked link to a copy of the
    /// directory outside the checkout (its files hidden from `git status`
    /// with skip-worktree, the link with info/exclude); dropping #5 would
    /// rewrite init.pp there.
    fn hide_scap(sandbox: &Sandbox, built: &Built) {
        let dir = &built.checkout;
        for file in sandbox.git(dir, &["ls-files", "modules/scap"]).lines() {
            sandbox.git(dir, &["update-index", "--skip-worktree", file]);
        }
        std::fs::write(dir.join(".git/info/exclude"), "modules/scap\n").unwrap();
    }

    /// Moves `modules/scap` outside the checkout and links it back.
    fn plant_scap_link(sandbox: &Sandbox, built: &Built) -> PathBuf {
        let dir = &built.checkout;
        let outside = sandbox.path().join("outside-scap");
        copy_dir(&dir.join("modules/scap"), &outside);
        std::fs::remove_dir_all(dir.join("modules/scap")).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("modules/scap")).unwrap();
        outside
    }

    #[test]
    fn a_link_in_place_of_a_tracked_directory_is_refused_before_the_branch_moves() {
        let sandbox = Sandbox::new();
        let built = build_allowed(&sandbox);
        let dir = &built.checkout;
        hide_scap(&sandbox, &built);
        let outside = plant_scap_link(&sandbox, &built);
        assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "", "git status sees nothing");
        let (before, outside_before) = (state(dir), fingerprint(&outside));
        let run = sandbox.betadrift(dir, &["drop", "--yes", "5"]);
        run.assert_refused("modules/scap is a symbolic link where the tree has a directory");
        common::assert_unchanged(&before, &state(dir));
        common::assert_unchanged(&outside_before, &fingerprint(&outside));
    }

    /// The link planted after the check (betadrift stopped just before the
    /// branch moves): the write itself refuses to go through it.
    #[test]
    fn a_link_planted_during_the_rewrite_is_not_written_through() {
        let sandbox = Sandbox::new();
        let built = build_allowed(&sandbox);
        let dir = &built.checkout;
        hide_scap(&sandbox, &built);
        let child = stopped_at(&sandbox, dir, "stop:audit", &["drop", "--yes", "5"]);
        let outside = plant_scap_link(&sandbox, &built);
        let outside_before = fingerprint(&outside);
        std::process::Command::new("kill").args(["-CONT", &child.id().to_string()]).status().unwrap();
        let run = Run::from(child.wait_with_output().unwrap());
        run.assert_refused("modules/scap is a symbolic link");
        assert!(run.stderr.contains("`betadrift undo` rolls it back"), "{}", run.stderr);
        common::assert_unchanged(&outside_before, &fingerprint(&outside));
    }

    /// Reproducer 3: a link at each state file; the rewrite refuses and the
    /// link's target is untouched (not truncated, replaced or appended to).
    #[test]
    fn links_at_state_files_are_never_followed() {
        for file in [".git/betadrift.lock", ".git/betadrift/journal.json", ".git/betadrift/audit.jsonl"] {
            let sandbox = Sandbox::new();
            let built = build_allowed(&sandbox);
            let dir = &built.checkout;
            let victim = victim(&sandbox);
            std::os::unix::fs::symlink(&victim, dir.join(file)).unwrap();
            let old = head(&sandbox, dir);
            let run = sandbox.betadrift(dir, &["drop", "--yes", "5"]);
            run.assert_refused("is a symbolic link");
            assert!(run.stderr.contains(file), "{file}: {}", run.stderr);
            assert_victim_intact(&victim);
            assert_eq!(head(&sandbox, dir), old, "{file}: the branch did not move");
            assert_eq!(sandbox.git(dir, &["for-each-ref", "refs/betadrift/"]), "", "{file}: no backup left");
        }
    }

    /// A dangling link at the audit log would create a root-owned file
    /// wherever it points; a link at the state directory would put the
    /// journal there.
    #[test]
    fn dangling_links_and_linked_state_directories_create_nothing() {
        let sandbox = Sandbox::new();
        let built = build_allowed(&sandbox);
        let dir = &built.checkout;
        let target = sandbox.path().join("created-by-root");
        std::os::unix::fs::symlink(&target, dir.join(".git/betadrift/audit.jsonl")).unwrap();
        sandbox.betadrift(dir, &["drop", "--yes", "5"]).assert_refused("audit.jsonl is a symbolic link");
        assert!(!target.exists());

        let sandbox = Sandbox::new();
        let built = build_allowed(&sandbox);
        let dir = &built.checkout;
        let elsewhere = sandbox.path().join("elsewhere");
        std::fs::rename(dir.join(".git/betadrift"), &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.join(".git/betadrift")).unwrap();
        sandbox.betadrift(dir, &["drop", "--yes", "5"]).assert_refused(".git/betadrift is a symbolic link");
        let names: Vec<_> = std::fs::read_dir(&elsewhere).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["policy.toml"], "nothing written into the linked directory");
    }

    /// A state file of a user who is neither the one running betadrift,
    /// nor root, nor the repository's owner is refused. The documented way
    /// to run as root in gitpuppet's checkout (git's safe.directory lists
    /// it) uses the state files gitpuppet's own runs left there.
    #[test]
    fn state_files_of_other_users_are_refused_but_the_safe_directory_owner_is_trusted() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("not root: cannot give files to other users, nothing checked");
            return;
        }
        let sandbox = Sandbox::new();
        let built = build_allowed(&sandbox);
        let dir = &built.checkout;
        let audit = dir.join(".git/betadrift/audit.jsonl");
        std::fs::write(&audit, "").unwrap();
        rustix::fs::chown(&audit, Some(rustix::fs::Uid::from_raw(4242)), None).unwrap();
        sandbox.betadrift(dir, &["drop", "--yes", "5"]).assert_refused("audit.jsonl belongs to uid 4242");
        assert_eq!(std::fs::read(&audit).unwrap(), b"");

        let out = std::process::Command::new("chown").args(["-R", "65534"]).arg(dir).output().unwrap();
        assert!(out.status.success());
        sandbox.git(sandbox.path(), &["config", "--file", "home/.gitconfig", "--add", "safe.directory", "*"]);
        let run = sandbox.betadrift(dir, &["drop", "--yes", "5"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert_eq!(std::fs::read_to_string(&audit).unwrap().lines().count(), 1);
    }

    /// `report --output` replaces a link at its path instead of writing
    /// through it (a shared textfile-collector directory).
    #[test]
    fn report_output_replaces_a_link() {
        let sandbox = Sandbox::new();
        let built = sandbox.build(&demo());
        let config = sandbox.path().join("config.toml");
        let text = format!("[[repository]]\nname = \"operations/puppet\"\npath = \"{}\"\n", built.checkout.display());
        std::fs::write(&config, text).unwrap();
        let victim = victim(&sandbox);
        let out = sandbox.path().join("betadrift.prom");
        std::os::unix::fs::symlink(&victim, &out).unwrap();
        let run = sandbox.betadrift(
            sandbox.path(),
            &["--config", config.to_str().unwrap(), "report", "--output", out.to_str().unwrap()],
        );
        assert!(run.code == 0 || run.code == 1, "{}{}", run.stdout, run.stderr);
        assert!(std::fs::symlink_metadata(&out).unwrap().is_file(), "the link was replaced by the report");
        assert!(std::fs::read_to_string(&out).unwrap().contains("betadrift_run_success"));
        assert_victim_intact(&victim);
    }
}

mod races {
    use super::*;

    /// Reproducer 5: `betadrift drop --yes 5 &` and, at a random moment, a
    /// human's `git commit --allow-empty`, `iterations` times. Whatever
    /// wins, the dropped content never comes back and `git status` is
    /// clean: git's `index.lock` is betadrift's from before the branch
    /// moves until the index is written, so the commit fails cleanly or
    /// comes before or after the rewrite. Returns how often each side won.
    pub fn drop_against_git_commit(iterations: usize) -> [usize; 4] {
        let sandbox = Sandbox::new();
        let built = build_allowed(&sandbox);
        let name = built.checkout.file_name().unwrap().to_owned();
        // The span of one drop: commits start anywhere from before it
        // begins to after it ends.
        let warm = sandbox.path().join("warm");
        copy_dir(&built.dir, &warm);
        let started = Instant::now();
        let run = sandbox.betadrift(&warm.join(&name), &["drop", "--yes", "5"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        let span = started.elapsed().mul_f64(1.5);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        // [drop only, commit only, both, neither]
        let mut wins = [0usize; 4];
        for i in 0..iterations {
            let copy = sandbox.path().join(format!("race-{i}"));
            copy_dir(&built.dir, &copy);
            let dir = copy.join(&name);
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let delay = span.mul_f64((seed % 1000) as f64 / 1000.0);
            let child = sandbox.spawn_betadrift(&dir, None, &["drop", "--yes", "5"]);
            std::thread::sleep(delay);
            let commit = sandbox.git_output(&dir, &["commit", "-q", "--allow-empty", "-m", "hotfix"]);
            let drop = Run::from(child.wait_with_output().unwrap());
            let what = format!("iteration {i} (commit after {delay:?}): drop {drop:?}");
            assert_eq!(sandbox.git(&dir, &["status", "--porcelain"]), "", "{what}: git status is clean");
            let scap = sandbox.git(&dir, &["show", &format!("HEAD:{SCAP}")]);
            match drop.code {
                0 => assert!(!scap.contains(P05_LINE), "{what}: the dropped patch came back"),
                2 => {
                    assert!(scap.contains(P05_LINE), "{what}: a refused drop changed nothing");
                    assert_eq!(drop.stderr.lines().count(), 1, "{what}");
                }
                _ => panic!("{what}"),
            }
            wins[match (drop.code == 0, commit.status.success()) {
                (true, false) => 0,
                (false, true) => 1,
                (true, true) => 2,
                (false, false) => 3,
            }] += 1;
            std::fs::remove_dir_all(&copy).unwrap();
        }
        wins
    }

    #[test]
    fn a_git_commit_during_a_drop_never_resurrects_it() {
        let wins = drop_against_git_commit(12);
        assert_eq!(wins.iter().sum::<usize>(), 12, "{wins:?}");
    }

    /// The long run: `cargo test --release -p betadrift --test cli -- --ignored races`
    /// (bench/race-drop.sh).
    #[test]
    #[ignore = "200 races take minutes; bench/race-drop.sh runs it"]
    fn two_hundred_races() {
        let iterations = std::env::var("BETADRIFT_RACE_ITERATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(200);
        let wins = drop_against_git_commit(iterations);
        eprintln!(
            "{iterations} races: drop alone {}, commit alone {}, both {}, neither {}; 0 resurrected",
            wins[0], wins[1], wins[2], wins[3]
        );
    }
}

mod submodules {
    use super::*;

    /// The demo with two more local patches: #14 adds the submodule
    /// `vendor/sub` (at upstream's tip, any commit id will do), #15 bumps it.
    fn with_submodule(sandbox: &Sandbox) -> (Built, String, String) {
        let built = build_allowed(sandbox);
        let dir = &built.checkout;
        let first = sandbox.git(dir, &["rev-parse", "origin/production"]).trim().to_owned();
        let second = sandbox.git(dir, &["rev-parse", "origin/production~1"]).trim().to_owned();
        std::fs::create_dir_all(dir.join("vendor/sub")).unwrap();
        for (commit, message) in [(&first, "vendor: add sub"), (&second, "vendor: bump sub")] {
            sandbox.git(dir, &["update-index", "--add", "--cacheinfo", &format!("160000,{commit},vendor/sub")]);
            sandbox.git(dir, &["commit", "-q", "-m", message]);
        }
        assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "");
        (built, first, second)
    }

    /// Reproducer 6: dropping the bump left the index at the bumped commit
    /// (`M  vendor/sub`); the index now stages the old one, as `git rebase`
    /// does, and git status is clean.
    #[test]
    fn dropping_a_submodule_bump_restages_the_old_commit() {
        let sandbox = Sandbox::new();
        let (built, first, _) = with_submodule(&sandbox);
        let dir = &built.checkout;
        let run = sandbox.betadrift(dir, &["drop", "--yes", "15"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "", "index and HEAD agree on the submodule");
        assert_eq!(sandbox.git(dir, &["ls-files", "-s", "vendor/sub"]), format!("160000 {first} 0\tvendor/sub\n"));
        // Dropping the patch that added it removes the entry and the empty directory.
        let run = sandbox.betadrift(dir, &["drop", "--yes", "14"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert_eq!(sandbox.git(dir, &["status", "--porcelain"]), "");
        assert!(!dir.join("vendor/sub").exists());
    }

    /// A staged submodule commit is an uncommitted change: the rewrite,
    /// which restages gitlinks, refuses instead of losing it.
    #[test]
    fn a_staged_submodule_change_blocks_a_rewrite() {
        let sandbox = Sandbox::new();
        let (built, ..) = with_submodule(&sandbox);
        let dir = &built.checkout;
        let third = sandbox.git(dir, &["rev-parse", "origin/production~2"]).trim().to_owned();
        sandbox.git(dir, &["update-index", "--cacheinfo", &format!("160000,{third},vendor/sub")]);
        let before = state(dir);
        sandbox.betadrift(dir, &["drop", "--yes", "15"]).assert_refused("has uncommitted changes");
        common::assert_unchanged(&before, &state(dir));
    }
}

mod git_settings {
    use super::*;

    /// Reproducer 8 (GIT_DIR): git would use the other repository, and
    /// betadrift rewrote the current directory's; now every variable that
    /// points git elsewhere is refused, naming it.
    #[test]
    fn variables_that_point_git_elsewhere_are_refused() {
        let sandbox = Sandbox::new();
        let built = build_allowed(&sandbox);
        let dir = &built.checkout;
        let before = state(dir);
        for name in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"] {
            for args in [&["status"][..], &["drop", "--yes", "5"]] {
                let out = sandbox
                    .command(env!("CARGO_BIN_EXE_betadrift"))
                    .current_dir(dir)
                    .env(name, sandbox.path().join("other"))
                    .args(args)
                    .output()
                    .unwrap();
                Run::from(out).assert_error(&format!("{name} is set ("));
            }
        }
        common::assert_unchanged(&before, &state(dir));
    }
}
