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
    /// The rebase stopped here; the unmerged paths.
    Stopped(Vec<String>),
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
    let identity = |c: &str| git(&["show", "-s", "--format=%an%x00%ae%x00%ad%x00%B", c]);
    let by_identity: BTreeMap<String, String> = locals.iter().map(|c| (identity(c), c.clone())).collect();
    assert_eq!(by_identity.len(), locals.len(), "local commits must have distinct messages/dates");

    let mut stops: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut out = sandbox.git_output(checkout, &["-c", "core.editor=true", "rebase", upstream]);
    for _ in 0..=locals.len() {
        if out.status.success() {
            break;
        }
        let stopped = sandbox.git_output(checkout, &["rev-parse", "REBASE_HEAD"]);
        assert!(
            stopped.status.success(),
            "rebase failed without stopping on a commit: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let commit = String::from_utf8_lossy(&stopped.stdout).trim().to_owned();
        stops.insert(commit, unmerged_paths(&git(&["ls-files", "-u", "-z"])));
        out = sandbox.git_output(checkout, &["-c", "core.editor=true", "rebase", "--skip"]);
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
            let fate = if !picked.contains(c) {
                Fate::AlreadyUpstream
            } else if let Some(paths) = stops.get(c) {
                Fate::Stopped(paths.clone())
            } else if let Some(tree) = rebased.get(c) {
                Fate::Picked(tree.clone())
            } else {
                Fate::Dropped
            };
            (c.clone(), fate)
        })
        .collect();
    Rebase { fates, final_tree: git(&["rev-parse", "HEAD^{tree}"]).trim().to_owned() }
}

fn unmerged_paths(ls_files: &str) -> Vec<String> {
    let mut paths: Vec<String> = ls_files
        .split('\0')
        .filter(|e| !e.is_empty())
        .filter_map(|e| e.split_once('\t').map(|(_, p)| p.to_owned()))
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
                    Fate::Stopped(stop.unmerged.iter().map(|u| String::from_utf8_lossy(&u.path).into_owned()).collect())
                }
                PickOutcome::MergeCommit | PickOutcome::Removed => unreachable!(),
            };
            (p.commit.to_string(), fate)
        })
        .collect();
    Rebase { fates, final_tree: prediction.result_tree.to_string() }
}
