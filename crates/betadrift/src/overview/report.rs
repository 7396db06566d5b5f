//! `betadrift report`: the whole truth about every synced checkout, every
//! ten minutes, for people and for monitoring.
//!
//! The sync timer says nothing when a rebase stops, and a stopped rebase
//! freezes the beta cluster until someone looks. The report is what the
//! timer runs next to it: for each configured repository it gathers the
//! status (how far behind, what is half-done, what is dirty), the prediction
//! of the next rebase (where it stops, which upstream commits cause it, and
//! how far upstream the stack could go instead),
//! the stale patches and the `betadrift drop` lines that would clean up.
//!
//! A [`Report`] is built once, from plain data; each output format is one
//! pure renderer of it in `output` (`output::report`, `output::json::report`).
//! A repository that cannot be read does not stop the others: it is
//! reported as failed (and the command exits 2 after writing everything).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use git2::Oid;
use jiff::{SignedDuration, Timestamp};

use crate::config::{Config, Links};
use crate::consent::Policy;
use crate::error::{Error, Result};
use crate::git::checkout::{Checkout, UpstreamArgs};
use crate::git::repo::Repo;
use crate::model::ledger::Ledger;
use crate::model::stack::{Patch, SeenSource, Stack};
use crate::model::upstream::UpstreamState;
use crate::overview::owners::{OwnerFacts, Owners, drop_argv, owners, with_repo};
use crate::overview::status::Status;
use crate::rebase::check::{CheckReport, check_stack};
use crate::rebase::forward::held_back;
use crate::rewrite::Unfinished;
use crate::support::clock::Clock;

/// A finding that makes `report --fail-on` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum FailOn {
    /// The next rebase is predicted to stop.
    Conflict,
    /// A patch is older than `[stale] after`.
    Stale,
    /// A checkout has uncommitted or untracked files, or a half-done operation.
    Dirty,
}

/// The whole report: every repository, as of one instant.
#[derive(Debug)]
pub struct Report {
    pub generated_at: Timestamp,
    pub stale_after: SignedDuration,
    /// Where Change-Ids and tasks link to (JSON carries the URLs).
    pub links: Links,
    pub repos: Vec<RepoReport>,
}

/// One repository's part of the report.
#[derive(Debug)]
pub struct RepoReport {
    /// The name used in reports and metric labels.
    pub name: String,
    /// The checkout, as configured or given.
    pub path: PathBuf,
    pub private: bool,
    /// What was found, unless the repository could not be read at all.
    pub facts: Option<Box<Facts>>,
    /// Errors met while reading or recording (one line each).
    pub problems: Vec<String>,
}

impl RepoReport {
    /// Whether everything about this repository was read and recorded.
    pub fn succeeded(&self) -> bool {
        self.facts.is_some() && self.problems.is_empty()
    }
}

/// Everything known about a repository that could be read.
#[derive(Debug)]
pub struct Facts {
    pub status: Status,
    pub check: CheckReport,
    /// Patches older than `[stale] after`, oldest stack position first.
    pub stale: Vec<StalePatch>,
    /// Suggested clean-ups, in stack order.
    pub actions: Vec<Action>,
    /// What needs each patch's owner, per author and per task.
    pub owners: Owners,
}

impl Facts {
    /// The local patches.
    pub fn patches(&self) -> &[Patch] {
        &self.status.stack.patches
    }

    /// The patch at a 1-based stack position.
    pub fn patch(&self, position: usize) -> &Patch {
        &self.status.stack.patches[position - 1]
    }

    /// How many picks of the next rebase stop.
    pub fn stops(&self) -> usize {
        self.check.prediction.picks.iter().filter(|p| p.outcome.is_stop()).count()
    }

    /// How many dirty paths of all kinds there are.
    pub fn dirty_count(&self) -> usize {
        let d = &self.status.dirty;
        d.modified.len() + d.staged.len() + d.untracked.len() + d.conflicted.len()
    }

    /// The age of the oldest patch whose arrival something dates.
    pub fn oldest_age(&self) -> Option<SignedDuration> {
        self.patches().iter().filter_map(|p| p.age(self.status.now)).max()
    }
}

/// A patch that has been on the checkout longer than `[stale] after`.
#[derive(Debug, Clone)]
pub struct StalePatch {
    pub position: usize,
    /// When it arrived on the checkout.
    pub since: Timestamp,
    /// What dates its arrival.
    pub basis: SeenSource,
    pub age: SignedDuration,
}

/// Why a drop is suggested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Upstream has the same change; the next rebase drops it anyway.
    Merged { upstream: Oid },
    /// Upstream merged another patchset of the same change.
    MergedDiffers { upstream: Oid },
    /// Upstream merged it and then reverted it.
    Reverted { upstream: Oid, reverted_by: Option<Oid> },
    /// Gerrit says its change was abandoned (`--online`).
    Abandoned { change: u64 },
    /// Gerrit merged its change as a patch other than the local copy (`--online`).
    GerritMergedDiffers { change: u64 },
    /// Phabricator says every task it links is closed (`--online`); `task` is the first.
    TaskClosed { task: crate::model::message::Task },
    /// Stale, and its consent policy allows removing it now
    /// ([`Status::consent`] says which rule).
    StaleAllowed,
}

/// A suggested command.
#[derive(Debug, Clone)]
pub struct Action {
    pub position: usize,
    pub reason: DropReason,
    /// The command line, one argument per element (raw bytes: paths need not be UTF-8).
    pub argv: Vec<Vec<u8>>,
}

impl Action {
    /// The command as one shell line, every argument quoted as needed.
    pub fn shell_line(&self) -> String {
        crate::overview::owners::shell_line(&self.argv)
    }
}

/// Which repositories a report covers, and how to open each.
#[derive(Debug, Clone)]
pub struct Source {
    /// The checkout (`None`: the current directory).
    pub path: Option<PathBuf>,
    /// The name shown if it cannot be opened.
    pub name: String,
    pub upstream: UpstreamArgs,
}

/// The repositories to report on: `--repo` (or the current directory when
/// there is no config entry), else every `[[repository]]` of the config.
pub fn sources(repo: Option<&Path>, upstream: &UpstreamArgs, config: &Config) -> Vec<Source> {
    let given = repo.is_some() || upstream.rev.is_some() || upstream.sha_file.is_some() || upstream.sha_url.is_some();
    if given || config.repositories.is_empty() {
        let name = repo.map_or_else(|| ".".to_owned(), |p| p.display().to_string());
        return vec![Source { path: repo.map(Path::to_owned), name, upstream: upstream.clone() }];
    }
    config
        .repositories
        .iter()
        .map(|r| Source { path: Some(r.path.clone()), name: r.display_name(), upstream: UpstreamArgs::default() })
        .collect()
}

/// Whether a report run records first-seen times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerMode {
    /// Read the ledger and add what is new (what `report` does).
    Record,
    /// Only read it.
    ReadOnly,
}

/// Builds the report for `sources`.
pub fn build(sources: &[Source], config: &Config, clock: Clock, ledger: LedgerMode) -> Report {
    let progress = crate::support::progress::Spinner::start();
    let repos = sources
        .iter()
        .map(|source| {
            progress.set(&format!("reading {}", source.name));
            // A bug met in one repository leaves the others reported.
            crate::support::panics::catch(|| gather(source, config, clock, ledger))
                .unwrap_or_else(|message| failed(source, Error::Internal { message }))
        })
        .collect();
    progress.finish();
    Report { generated_at: clock.now, stale_after: config.stale.after, links: config.links.clone(), repos }
}

/// Reads one repository; failures become the report's problems.
fn gather(source: &Source, config: &Config, clock: Clock, mode: LedgerMode) -> RepoReport {
    crate::support::panics::panic_point(&format!("report:{}", source.name));
    let target = match Checkout::open(source.path.as_deref(), &source.upstream, config) {
        Ok(t) => t,
        Err(e) => return failed(source, e),
    };
    let name = target.name();
    let path = target.repo.workdir().map_or_else(|| target.repo.display_path().to_owned(), Path::to_owned);
    let private = target.private();
    let mut problems = Vec::new();
    match gather_facts(&target, &name, config, clock, mode, &mut problems) {
        Ok(facts) => RepoReport { name, path, private, facts: Some(Box::new(facts)), problems },
        Err(e) => {
            problems.push(e.to_string());
            RepoReport { name, path, private, facts: None, problems }
        }
    }
}

fn failed(source: &Source, e: Error) -> RepoReport {
    RepoReport {
        name: source.name.clone(),
        path: source.path.clone().unwrap_or_else(|| PathBuf::from(".")),
        private: false,
        facts: None,
        problems: vec![e.to_string()],
    }
}

/// Loads the stack once and derives status, prediction, staleness and actions.
fn gather_facts(
    target: &Checkout,
    name: &str,
    config: &Config,
    clock: Clock,
    mode: LedgerMode,
    problems: &mut Vec<String>,
) -> Result<Facts> {
    let repo = &target.repo;
    let policy = Policy::load(&target.policy_file(config)).unwrap_or_else(|e| {
        problems.push(format!("consent policy not read, every patch shown as the built-in default: {e}"));
        Policy::default()
    });
    // Patches the ledger has dated need no snapshot search; a ledger that
    // cannot be read is reported by `use_ledger` below.
    let ledger = Ledger::read(&crate::model::ledger::path(config, repo, name));
    let options = crate::model::ledger::dated_options(ledger.as_ref().ok(), config, clock.now);
    let mut stack = Stack::load(repo, target.head.clone(), target.upstream.clone(), &options)?;
    let t = crate::support::timing::phase("ledger");
    if let Err(e) = use_ledger(ledger, repo, name, clock, mode, &mut stack) {
        problems.push(format!("first-seen ledger not updated: {e}"));
    }
    drop(t);
    // The working-tree scan reads files, the prediction reads objects: on a
    // second core they overlap.
    let (check, dirty) = std::thread::scope(|scope| {
        let (git_dir, workdir) = (repo.git_dir(), repo.workdir());
        let dirty = scope.spawn(move || {
            let _t = crate::support::timing::phase("dirty (in parallel)");
            crate::git::status::dirty_at(git_dir, workdir)
        });
        let check = {
            let _t = crate::support::timing::phase("check");
            check_stack(repo, name.to_owned(), stack.clone(), target.private(), false)
        };
        let dirty = dirty.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (check, dirty)
    });
    let unfinished = Unfinished::find(repo, &crate::rewrite::state_dir(repo, config, name))?;
    let mut status = Status::with(repo, name.to_owned(), stack, &policy, dirty?, clock, unfinished)?;
    if config.gerrit.online {
        // A Gerrit that cannot be asked is a warning, never a failed report.
        let live = crate::model::live::gerrit_state(repo, name, config, &status.stack, clock.now)?;
        warn(name, live.warning.as_deref());
        status.live = Some(live);
    }
    if config.phabricator.online {
        let tasks = crate::model::tasks::task_state(repo, name, config, &status.stack, clock.now)?;
        warn(name, tasks.warning.as_deref());
        status.tasks = Some(tasks);
    }
    if config.gerrit.online || config.phabricator.online {
        status.reevaluate(&policy);
    }
    let check = check?;
    let held_back = if check.has_stops() {
        held_back(repo, &check.stack, &[], &check.prediction, &check.culprit_commits())?
    } else {
        None
    };
    let status = Status { held_back, ..status };
    let stale = stale_patches(&status.stack, clock.now, config.stale.after);
    let repo_arg = repo_argument(target);
    let actions = actions(&status, &stale, &repo_arg, config.stale.after);
    let mut facts = Facts { status, check, stale, actions, owners: Owners::default() };
    let stale: Vec<(usize, SignedDuration)> = facts.stale.iter().map(|s| (s.position, s.age)).collect();
    facts.owners = owners(&OwnerFacts { status: &facts.status, check: &facts.check, stale: &stale }, &repo_arg);
    Ok(facts)
}

/// One warning line on standard error for the repository `name`.
fn warn(name: &str, warning: Option<&str>) {
    if let Some(w) = warning {
        let escape = |s: &str| crate::support::escape::terminal(s.as_bytes());
        eprintln!("betadrift: warning: {}: {}", escape(name), escape(w));
    }
}

/// Records new patches in the `ledger` just read (in [`LedgerMode::Record`])
/// and dates the stack from it. A ledger that cannot be read or written is a
/// problem of the run, not a reason to report nothing.
fn use_ledger(
    ledger: Result<Ledger>,
    repo: &Repo,
    name: &str,
    clock: Clock,
    mode: LedgerMode,
    stack: &mut Stack,
) -> Result<()> {
    let mut ledger = ledger?;
    if mode == LedgerMode::Record {
        let changed = ledger.record(repo, name, stack, clock.now)?;
        ledger.save(changed)?;
    }
    ledger.apply(repo, stack)
}

/// The `--repo` argument of suggested commands: the working tree.
fn repo_argument(target: &Checkout) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let path = target.repo.workdir().unwrap_or_else(|| target.repo.display_path());
    let bytes = path.as_os_str().as_bytes();
    bytes.strip_suffix(b"/").filter(|b| !b.is_empty()).unwrap_or(bytes).to_vec()
}

/// The patches older than `after`.
pub fn stale_patches(stack: &Stack, now: Timestamp, after: SignedDuration) -> Vec<StalePatch> {
    stack
        .patches
        .iter()
        .filter(|p| !p.is_merge())
        .filter_map(|p| {
            // Only what something dates can be stale: unknown is never old.
            let seen = p.first_seen.as_ref()?;
            let age = now.duration_since(seen.time);
            (age > after).then(|| StalePatch {
                position: p.position,
                since: seen.time,
                basis: seen.source.clone(),
                age,
            })
        })
        .collect()
}

/// What to do about patches upstream already has or reverted, and about
/// stale patches whose consent policy allows their removal now. Patches
/// one command settles share it (one `prune --merged` for every merged
/// patch, one `prune --stale` for every stale one); a reverted patch is a
/// decision of its own, a `drop`.
pub fn actions(status: &Status, stale: &[StalePatch], repo_path: &[u8], after: SignedDuration) -> Vec<Action> {
    let stale_allowed =
        |p: &Patch| stale.iter().any(|s| s.position == p.position) && status.consent[p.position - 1].allowed_now;
    status
        .stack
        .patches
        .iter()
        .filter_map(|p| {
            let u = &p.upstream;
            let reason = match (u.state, u.commit) {
                (UpstreamState::Merged, Some(upstream)) => DropReason::Merged { upstream },
                (UpstreamState::MergedDiffers, Some(upstream)) => DropReason::MergedDiffers { upstream },
                (UpstreamState::Reverted, Some(upstream)) => {
                    DropReason::Reverted { upstream, reverted_by: u.reverted_by }
                }
                _ if stale_allowed(p) => DropReason::StaleAllowed,
                _ => gerrit_reason(status, p).or_else(|| task_reason(status, p))?,
            };
            let argv = match reason {
                DropReason::Merged { .. } | DropReason::MergedDiffers { .. } => {
                    with_repo(&[b"prune", b"--merged"], repo_path, Vec::new())
                }
                DropReason::StaleAllowed => {
                    let after = crate::support::clock::format_duration(after);
                    with_repo(&[b"prune", b"--stale", after.as_bytes()], repo_path, Vec::new())
                }
                DropReason::Reverted { .. }
                | DropReason::Abandoned { .. }
                | DropReason::GerritMergedDiffers { .. }
                | DropReason::TaskClosed { .. } => drop_argv(repo_path, p),
            };
            Some(Action { position: p.position, reason, argv })
        })
        .collect()
}

/// Why Gerrit's live state (if any) suggests dropping `p`.
fn gerrit_reason(status: &Status, p: &Patch) -> Option<DropReason> {
    use crate::model::live::{ChangeStatus, LocalCopy};
    let c = status.live.as_ref()?.patches.get(p.position - 1)?.as_ref()?;
    match (&c.status, c.local) {
        (ChangeStatus::Abandoned, _) => Some(DropReason::Abandoned { change: c.number }),
        (ChangeStatus::Merged, LocalCopy::Differs) => Some(DropReason::GerritMergedDiffers { change: c.number }),
        _ => None,
    }
}

/// Whether Phabricator's state (if any) suggests dropping `p`: every task
/// it links is known and closed.
fn task_reason(status: &Status, p: &Patch) -> Option<DropReason> {
    let tasks = status.tasks.as_ref()?;
    let first = *p.message.tasks.first()?;
    tasks.all_closed(&p.message.tasks).then_some(DropReason::TaskClosed { task: first })
}

impl Report {
    /// The `--fail-on` conditions that hold.
    pub fn findings(&self) -> BTreeSet<FailOn> {
        let mut found = BTreeSet::new();
        for facts in self.repos.iter().filter_map(|r| r.facts.as_deref()) {
            if facts.stops() > 0 {
                found.insert(FailOn::Conflict);
            }
            if !facts.stale.is_empty() {
                found.insert(FailOn::Stale);
            }
            if facts.dirty_count() > 0 || facts.status.operation.is_some() {
                found.insert(FailOn::Dirty);
            }
        }
        found
    }

    /// Whether any repository failed to load or record.
    pub fn failures(&self) -> Vec<String> {
        self.repos.iter().flat_map(|r| r.problems.iter().map(move |p| format!("{}: {p}", r.name))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_the_config_unless_a_repository_is_given() {
        let config =
            Config::parse("[[repository]]\nname = \"a\"\npath = \"/a\"\n[[repository]]\npath = \"/b\"\n").unwrap();
        let names: Vec<String> = sources(None, &UpstreamArgs::default(), &config).into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["a", "/b"]);
        let one = sources(Some(Path::new("/c")), &UpstreamArgs::default(), &config);
        assert_eq!((one.len(), one[0].name.as_str()), (1, "/c"));
        let upstream = UpstreamArgs { rev: Some("HEAD~1".into()), ..UpstreamArgs::default() };
        assert_eq!(sources(None, &upstream, &config)[0].path, None, "--upstream alone: the current directory");
    }
}
