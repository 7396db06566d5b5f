//! What Gerrit says of the local patches now: each change's status, owner,
//! current patchset, and whether the local copy is that patchset.
//!
//! Opt-in and offline by default (`--online` or `[gerrit] online = true`):
//! a puppetmaster's report must not hang on, or depend on, a web service.
//! One batched query a run asks for every Change-Id the cache does not hold
//! fresh (`[gerrit] cache_ttl`); the answers are kept in the state directory
//! (`gerrit-cache.json`, written as every state file is). When Gerrit fails
//! (down, slow, an error status, a malformed or oversized answer) the run
//! goes on with what the cache has, however old, each shown with its age,
//! and one warning says why: never a wrong state, never a failed command.
//!
//! Whether the local copy is the current patchset is decided by patch-id
//! (the change the commit makes, as `git patch-id` sees it), not by the
//! Change-Id alone: the current revision is read from the checkout if a
//! `pick` fetched it, else fetched with git into betadrift's own object
//! cache in the state directory (`gerrit-objects.git`, borrowing the
//! checkout's objects), so the checkout itself is never written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::Oid;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::gerrit::{ChangeInfo, change_ref, query};
use crate::git::repo::Repo;
use crate::model::stack::Stack;
use crate::support::clock::{parse_timestamp, rfc3339};

/// Version of the cache file.
const SCHEMA_VERSION: u32 = 1;
/// The cache file in the state directory.
pub const CACHE_FILE: &str = "gerrit-cache.json";
/// betadrift's own object store for fetched revisions, in the state directory.
pub const OBJECTS_DIR: &str = "gerrit-objects.git";

/// A change's status in Gerrit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeStatus {
    New,
    Merged,
    Abandoned,
    /// Anything else Gerrit says (newer versions may add states).
    Other(String),
}

impl ChangeStatus {
    fn from_gerrit(s: &str) -> ChangeStatus {
        match s {
            "NEW" => ChangeStatus::New,
            "MERGED" => ChangeStatus::Merged,
            "ABANDONED" => ChangeStatus::Abandoned,
            other => ChangeStatus::Other(other.to_owned()),
        }
    }

    /// As Gerrit spells it.
    pub fn as_str(&self) -> &str {
        match self {
            ChangeStatus::New => "NEW",
            ChangeStatus::Merged => "MERGED",
            ChangeStatus::Abandoned => "ABANDONED",
            ChangeStatus::Other(s) => s,
        }
    }
}

/// Whether the local commit is the change's current patchset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalCopy {
    /// Same patch-id as the current revision.
    Current,
    /// Another patch: an older patchset, or edited locally.
    Differs,
    /// The current revision could not be read to compare.
    Unknown,
}

impl LocalCopy {
    pub fn as_str(self) -> &'static str {
        match self {
            LocalCopy::Current => "current",
            LocalCopy::Differs => "differs",
            LocalCopy::Unknown => "unknown",
        }
    }
}

/// One change as Gerrit last described it, for one local patch.
#[derive(Debug, Clone)]
pub struct ChangeState {
    pub number: u64,
    pub url: String,
    pub status: ChangeStatus,
    pub owner: String,
    pub current_patchset: Option<u32>,
    pub current_revision: Option<String>,
    pub submittable: Option<bool>,
    pub local: LocalCopy,
    /// When Gerrit said this.
    pub fetched_at: Timestamp,
}

/// The live state of a stack.
#[derive(Debug, Clone, Default)]
pub struct LiveState {
    /// Per local patch (stack order): its change's state, if known.
    pub patches: Vec<Option<ChangeState>>,
    /// Why Gerrit could not be asked, when it could not (one line).
    pub warning: Option<String>,
    /// The Gerrit base URL asked.
    pub url: String,
}

/// The cache file as stored.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    schema_version: u32,
    changes: BTreeMap<String, Cached>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    fetched_at: String,
    change: ChangeInfo,
}

/// The Gerrit state of every local patch with a Change-Id; `repo_name`
/// names the state directory. Fails only on bad configuration; every
/// service failure is the returned state's warning.
pub fn gerrit_state(repo: &Repo, repo_name: &str, config: &Config, stack: &Stack, now: Timestamp) -> Result<LiveState> {
    let url = config.gerrit.url.clone().ok_or_else(|| {
        Error::Usage(
            "--online needs the Gerrit URL: set [gerrit] url in the config (e.g. https://gerrit.wikimedia.org/r/)"
                .into(),
        )
    })?;
    let state_dir = config.state.dir_for(repo.git_dir(), repo_name);
    let cache_path = state_dir.join(CACHE_FILE);
    let mut cache: CacheFile = read_cache(&cache_path);
    let mut ids: Vec<String> = stack.patches.iter().filter_map(|p| p.message.change_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let ttl = config.gerrit.cache_ttl;
    let fresh = |c: &Cached| parse_timestamp(&c.fetched_at, "cache").is_ok_and(|t| now.duration_since(t) < ttl);
    let wanted: Vec<String> = ids.iter().filter(|id| !cache.changes.get(*id).is_some_and(fresh)).cloned().collect();
    let mut warning = None;
    if !wanted.is_empty() {
        match query(&url, &wanted, config.gerrit.timeout.unsigned_abs()) {
            Ok(changes) => {
                for c in changes.into_iter().filter(|c| wanted.contains(&c.change_id)) {
                    cache.changes.insert(c.change_id.clone(), Cached { fetched_at: rfc3339(now), change: c });
                }
                if let Err(e) = write_cache(&cache_path, &mut cache) {
                    warning = Some(format!("Gerrit cache not saved: {e}"));
                }
            }
            Err(e) => {
                warning = Some(format!(
                    "Gerrit at {} could not be asked ({e}); showing the cached state where there is one",
                    crate::support::escape::terminal(url.as_bytes())
                ))
            }
        }
    }
    let site = crate::model::gerrit::Site::of(config, repo, &stack.head.name).ok();
    let revisions = Revisions::new(repo, &state_dir, site.as_ref().map(|s| s.fetch_url.as_str()), &cache, stack);
    let patches = stack
        .patches
        .iter()
        .map(|p| {
            let cached = cache.changes.get(p.message.change_id.as_deref()?)?;
            let fetched_at = parse_timestamp(&cached.fetched_at, "cache").ok()?;
            let local = revisions.compare(repo, p.parent_tree, p.commit.tree, &cached.change);
            Some(state_of(&url, &cached.change, local, fetched_at))
        })
        .collect();
    Ok(LiveState { patches, warning, url })
}

fn state_of(url: &str, c: &ChangeInfo, local: LocalCopy, fetched_at: Timestamp) -> ChangeState {
    let current = c.current();
    ChangeState {
        number: c.number,
        url: format!("{}/c/{}/+/{}", url.trim_end_matches('/'), c.project, c.number),
        status: ChangeStatus::from_gerrit(&c.status),
        owner: c.owner.display(),
        current_patchset: current.map(|(_, r)| r.number),
        current_revision: current.map(|(sha, _)| sha.to_owned()),
        submittable: c.submittable,
        local,
        fetched_at,
    }
}

/// A cache file with its schema version.
pub(crate) trait Versioned: serde::de::DeserializeOwned + Serialize + Default {
    const VERSION: u32;
    /// The `schema_version` field.
    fn version(&mut self) -> &mut u32;
}

impl Versioned for CacheFile {
    const VERSION: u32 = SCHEMA_VERSION;
    fn version(&mut self) -> &mut u32 {
        &mut self.schema_version
    }
}

/// The cache, or an empty one if it is missing, unreadable or of another
/// version (it is only a cache).
pub(crate) fn read_cache<T: Versioned>(path: &Path) -> T {
    read_json::<T>(path).and_then(|mut c| (*c.version() == T::VERSION).then_some(c)).unwrap_or_default()
}

pub(crate) fn write_cache<T: Versioned>(path: &Path, cache: &mut T) -> Result<()> {
    *cache.version() = T::VERSION;
    write_json(path, cache)
}

/// A JSON state file (a cache), or `None` if it is missing or unreadable.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    crate::support::files::read_state(path).ok().flatten().and_then(|bytes| serde_json::from_slice(&bytes).ok())
}

/// Writes a JSON state file (a cache) atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::Internal { message: e.to_string() })?;
    bytes.push(b'\n');
    crate::support::files::write_atomic(path, &bytes)
}

/// Where the current revisions are read: the checkout, else betadrift's
/// object cache (fetched into once per run, for what the checkout lacks).
struct Revisions {
    cache: Option<Repo>,
}

impl Revisions {
    fn new(repo: &Repo, state_dir: &Path, fetch_url: Option<&str>, cache: &CacheFile, stack: &Stack) -> Revisions {
        let mut refs = Vec::new();
        let mut missing = Vec::new();
        for p in &stack.patches {
            let Some(c) = p.message.change_id.as_deref().and_then(|id| cache.changes.get(id)) else { continue };
            let Some((sha, rev)) = c.change.current() else { continue };
            let Ok(oid) = Oid::from_str(sha) else { continue };
            if repo.git().find_commit(oid).is_err() {
                refs.push(change_ref(c.change.number, rev.number));
                missing.push(oid);
            }
        }
        let dir: PathBuf = state_dir.join(OBJECTS_DIR);
        let cache = match (fetch_url, refs.is_empty()) {
            (_, true) => crate::git::cli::open_object_cache(&dir),
            (Some(url), false) => crate::git::cli::fetch_into_object_cache(repo, &dir, url, &refs).ok(),
            (None, false) => None,
        };
        Revisions { cache }
    }

    /// Compares the local patch (`parent_tree` → `tree`) with the change's current revision.
    fn compare(&self, repo: &Repo, parent_tree: Option<Oid>, tree: Oid, c: &ChangeInfo) -> LocalCopy {
        let Some(oid) = c.current().and_then(|(sha, _)| Oid::from_str(sha).ok()) else { return LocalCopy::Unknown };
        let in_checkout = repo.git().find_commit(oid).is_ok();
        let objects = if in_checkout { Some(repo) } else { self.cache.as_ref() };
        let Some(objects) = objects else { return LocalCopy::Unknown };
        let theirs = (|| -> Result<_> {
            let (their_tree, parents, _) = objects.commit_tree_and_time(oid)?;
            let parent = parents.first().map(|p| objects.commit_tree_and_time(*p).map(|t| t.0)).transpose()?;
            Ok(betadrift_engine::patchid::patch_id(objects, parent, their_tree)?)
        })();
        let ours = betadrift_engine::patchid::patch_id(repo, parent_tree, tree);
        match (ours, theirs) {
            (Ok(a), Ok(b)) if a == b => LocalCopy::Current,
            (Ok(_), Ok(_)) => LocalCopy::Differs,
            _ => LocalCopy::Unknown,
        }
    }
}
