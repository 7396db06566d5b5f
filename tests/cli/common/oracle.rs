//! Real `git rebase` as the oracle, and betadrift's prediction in the same
//! shape, so a test can compare them field by field.

use std::collections::BTreeMap;
use std::path::Path;

use betadrift::git::repo::Repo;
use betadrift::model::stack::{Patch, Stack, StackOptions};
use betadrift::model::upstream::LocalChange;
use betadrift::rebase::predict::{PickOutcome, predict};
use betadrift_engine::objects::Overlay;

use super::Sandbox;

/// What happened to one local commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Picked; the tree of the rebased commit.
    Picked(String),
    /// Skipped by cherry-pick detection (patch already upstream).
    AlreadyUpstream,
    /// Picked but dropped because it changed nothing.
    Dropped,
    /// The rebase stopped here: the unmerged paths, and the kinds of the
    /// conflicts as git's `CONFLICT (<kind>): …` lines name them, sorted.
    /// Paths are bytes shown with `escape_ascii`, so that a label with a CR
    /// or invalid UTF-8 is compared exactly.
    Stopped { paths: Vec<String>, kinds: Vec<String> },
}

/// A path or label as bytes, shown exactly (`\r`, `\xe9`).
pub fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// The kinds of git's `CONFLICT (<kind>): …` lines in a rebase's output, sorted.
pub fn conflict_lines(output: &[u8]) -> Vec<String> {
    let mut kinds: Vec<String> = output
        .split(|&b| b == b'\n' || b == b'\r') // progress lines end in CR
        .filter_map(|line| line.strip_prefix(b"CONFLICT ("))
        .filter_map(|rest| rest.windows(2).position(|w| w == b"):").map(|end| show(&rest[..end])))
        .collect();
    kinds.sort();
    kinds
}

/// The whole rebase: each local commit's fate, oldest first, and the final tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebase {
    pub fates: Vec<(String, Fate)>,
    pub final_tree: String,
}

/// Runs `git rebase <upstream>` in `checkout` with `--skip` at every stop,
/// and reports each commit's fate. Changes the checkout.
pub fn git_rebase(sandbox: &Sandbox, checkout: &Path, upstream: &str) -> Rebase {
    try_git_rebase(sandbox, checkout, upstream).unwrap_or_else(|bug| panic!("git itself failed: {bug}"))
}

/// Like [`git_rebase`], or git's own `BUG:` line when git 2.47 aborts on an
/// internal error (merge-ort has a few on file/directory changes inside
/// renamed directories): then there is no answer to compare with.
pub fn try_git_rebase(sandbox: &Sandbox, checkout: &Path, upstream: &str) -> Result<Rebase, String> {
    let git = |args: &[&str]| sandbox.git(checkout, args);
    let locals: Vec<String> = git(&["rev-list", "--reverse", "--no-merges", &format!("{upstream}..HEAD")])
        .lines()
        .map(str::to_owned)
        .collect();
    let picked: Vec<String> =
        git(&["rev-list", "--reverse", "--right-only", "--cherry-pick", "--no-merges", &format!("{upstream}...HEAD")])
            .lines()
            .map(str::to_owned)
            .collect();
    // git rewrites a message when it picks a commit (re-encoded to UTF-8,
    // invalid UTF-8 read as Latin-1, blank lines and CRs around it cleaned
    // up), so a rebased commit is matched to its original by author, date
    // and the ASCII of its message without whitespace.
    let identity = |c: &str| {
        let out = sandbox.git_output(checkout, &["show", "-s", "--format=%an%x00%ae%x00%ad%x00%B", c]);
        let ascii: Vec<u8> = out.stdout.into_iter().filter(|b| b.is_ascii() && !b.is_ascii_whitespace()).collect();
        String::from_utf8(ascii).expect("ASCII")
    };
    let by_identity: BTreeMap<String, String> = locals.iter().map(|c| (identity(c), c.clone())).collect();
    assert_eq!(by_identity.len(), locals.len(), "local commits must have distinct messages/dates");

    let mut stops: BTreeMap<String, Fate> = BTreeMap::new();
    let mut out = sandbox.git_output(checkout, &["-c", "core.editor=true", "rebase", upstream]);
    for _ in 0..=locals.len() {
        if out.status.success() {
            break;
        }
        if let Some(bug) = git_bug(&out.stderr) {
            return Err(bug);
        }
        let stopped = sandbox.git_output(checkout, &["rev-parse", "REBASE_HEAD"]);
        assert!(
            stopped.status.success(),
            "rebase failed without stopping on a commit: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let commit = String::from_utf8_lossy(&stopped.stdout).trim().to_owned();
        let ls_files = sandbox.git_output(checkout, &["ls-files", "-u", "-z"]);
        let kinds = conflict_lines(&[out.stdout.as_slice(), &out.stderr].concat());
        stops.insert(commit, Fate::Stopped { paths: unmerged_paths(&ls_files.stdout), kinds });
        // A stop can leave untracked files behind (the other side of a
        // file/directory conflict) that `--skip` keeps and a later pick
        // would refuse to overwrite; the prediction is of the merges, on a
        // clean working tree.
        git(&["clean", "-fdq"]);
        out = sandbox.git_output(checkout, &["-c", "core.editor=true", "rebase", "--skip"]);
    }
    if let Some(bug) = git_bug(&out.stderr).filter(|_| !out.status.success()) {
        return Err(bug);
    }
    assert!(out.status.success(), "rebase did not finish: {}", String::from_utf8_lossy(&out.stderr));

    let mut rebased: BTreeMap<String, String> = BTreeMap::new();
    for c in git(&["rev-list", "--reverse", &format!("{upstream}..HEAD")]).lines() {
        let original = by_identity.get(&identity(c)).unwrap_or_else(|| panic!("rebased {c} matches no original"));
        rebased.insert(original.clone(), git(&["rev-parse", &format!("{c}^{{tree}}")]).trim().to_owned());
    }
    let fates = locals
        .iter()
        .map(|c| {
            // What git did decides; `--cherry-pick` only tells a skip from a
            // drop (it also marks commits that start empty when upstream
            // has an empty commit, but the sequencer keeps those).
            let fate = if let Some(stop) = stops.get(c) {
                stop.clone()
            } else if let Some(tree) = rebased.get(c) {
                Fate::Picked(tree.clone())
            } else if !picked.contains(c) {
                Fate::AlreadyUpstream
            } else {
                Fate::Dropped
            };
            (c.clone(), fate)
        })
        .collect();
    Ok(Rebase { fates, final_tree: git(&["rev-parse", "HEAD^{tree}"]).trim().to_owned() })
}

/// git's `BUG: <file>:<line>: <message>` line, if it printed one.
fn git_bug(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    // Besides `BUG:`, git 2.47 can produce a merge result its own index
    // writer refuses (a gitlink with a null id at a path moved aside on a
    // file/directory conflict: random seed 1479), and stops with "Unable to
    // write new index file": no answer to compare with either.
    let bug = |l: &str| l.find("BUG: ").or_else(|| l.find("cache entry has null sha1"));
    text.split(['\n', '\r']).find_map(|l| bug(l).map(|at| l[at..].to_owned()))
}

fn unmerged_paths(ls_files: &[u8]) -> Vec<String> {
    let mut paths: Vec<String> = ls_files
        .split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .filter_map(|e| e.iter().position(|&b| b == b'\t').map(|tab| show(&e[tab + 1..])))
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// betadrift's prediction for the checkout, in the oracle's shape.
pub fn predicted(checkout: &Path, upstream: &str) -> Rebase {
    let repo = Repo::discover(checkout).expect("open checkout");
    let head = repo.head_branch().expect("head");
    let up = repo.resolve_upstream(&head, Some(upstream)).expect("upstream");
    let options = StackOptions { snapshot_prefix: String::new(), ..StackOptions::default() };
    let stack = Stack::load(&repo, head, up, &options).expect("stack");
    let locals: Vec<LocalChange> = stack.patches.iter().map(Patch::local_change).collect();
    let overlay = Overlay::new(&repo);
    let prediction = predict(&repo, &overlay, &stack.index, &locals, stack.upstream.oid, stack.merge_base, false, &[])
        .expect("prediction");
    let fates = prediction
        .picks
        .iter()
        .filter(|p| p.outcome != PickOutcome::MergeCommit)
        .map(|p| {
            let fate = match &p.outcome {
                PickOutcome::Applies => Fate::Picked(p.tree.expect("applied picks have a tree").to_string()),
                PickOutcome::AlreadyUpstream { .. } => Fate::AlreadyUpstream,
                PickOutcome::BecomesEmpty => Fate::Dropped,
                PickOutcome::Conflict(stop) => {
                    let mut kinds: Vec<String> = stop
                        .conflicts
                        .iter()
                        .filter(|c| c.kind.has_conflict_line())
                        .map(|c| c.kind.as_str().to_owned())
                        .collect();
                    kinds.sort();
                    Fate::Stopped { paths: stop.unmerged.iter().map(|u| show(&u.path)).collect(), kinds }
                }
                PickOutcome::MergeCommit | PickOutcome::Removed => unreachable!(),
            };
            (p.commit.to_string(), fate)
        })
        .collect();
    Rebase { fates, final_tree: prediction.result_tree.to_string() }
}
