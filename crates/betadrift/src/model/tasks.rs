//! What Phabricator says of the tasks the local patches link (`Bug: T123`):
//! each task's status, title and assignee.
//!
//! Opt-in and offline by default, as Gerrit's live state is
//! ([`super::live`]): with `--online` (or `[phabricator] online = true`) and
//! `[phabricator] url`, one batched `maniphest.search` a run asks for every
//! task the cache does not hold fresh (`[phabricator] cache_ttl`); the
//! answers are kept in the state directory (`phabricator-cache.json`). When
//! Phabricator fails (down, slow, an error status, a Conduit error, a
//! malformed or oversized answer) the run goes on with what the cache has,
//! however old, and one warning says why: never a wrong state, never a
//! failed command. A token file that anyone but its owner may read is
//! refused (exit 2): it is a configuration error, not a service failure.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::phabricator::{TaskInfo, search, users};
use crate::git::repo::Repo;
use crate::model::live::{Versioned, read_cache, write_cache};
use crate::model::message::Task;
use crate::model::stack::Stack;
use crate::support::clock::{parse_timestamp, rfc3339};

/// Version of the cache file.
const SCHEMA_VERSION: u32 = 1;
/// The cache file in the state directory.
pub const CACHE_FILE: &str = "phabricator-cache.json";
/// The statuses that count as closed: done, or not to be done.
pub const CLOSED: [&str; 3] = ["resolved", "declined", "invalid"];

/// One task as Phabricator last described it.
#[derive(Debug, Clone)]
pub struct TaskState {
    pub task: Task,
    pub url: String,
    /// Conduit's status key: `open`, `resolved`, `declined`, `invalid`, `stalled`, …
    pub status: String,
    pub title: String,
    /// The assignee's name (`Real Name (username)`), else its user PHID
    /// when Phabricator could not name it; `None` when nobody is assigned.
    pub assignee: Option<String>,
    /// The assignee's user PHID.
    pub assignee_phid: Option<String>,
    /// When Phabricator said this.
    pub fetched_at: Timestamp,
}

impl TaskState {
    /// Resolved, declined or invalid ([`CLOSED`]).
    pub fn is_closed(&self) -> bool {
        CLOSED.contains(&self.status.as_str())
    }
}

/// The task state of a stack.
#[derive(Debug, Clone, Default)]
pub struct TaskLive {
    /// Every known task the patches link.
    pub tasks: BTreeMap<Task, TaskState>,
    /// Why Phabricator could not be asked, when it could not (one line).
    pub warning: Option<String>,
    /// The Phabricator base URL asked.
    pub url: String,
}

impl TaskLive {
    /// What is known of each of `tasks`, in order.
    pub fn of<'a>(&'a self, tasks: &'a [Task]) -> impl Iterator<Item = (Task, Option<&'a TaskState>)> + 'a {
        tasks.iter().map(|t| (*t, self.tasks.get(t)))
    }

    /// Whether every one of `tasks` is known and closed (and there is one):
    /// an unknown task is never taken as closed.
    pub fn all_closed(&self, tasks: &[Task]) -> bool {
        !tasks.is_empty() && self.of(tasks).all(|(_, s)| s.is_some_and(TaskState::is_closed))
    }
}

/// The cache file as stored.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    schema_version: u32,
    tasks: BTreeMap<u64, Cached>,
    /// Assignees' names by user PHID (asked once: names rarely change).
    #[serde(default)]
    users: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    fetched_at: String,
    task: TaskInfo,
}

/// The Phabricator state of every task the stack's patches link;
/// `repo_name` names the state directory. Fails only on bad configuration
/// (no URL, an unreadable or unprotected token file); every service failure
/// is the returned state's warning.
pub fn task_state(repo: &Repo, repo_name: &str, config: &Config, stack: &Stack, now: Timestamp) -> Result<TaskLive> {
    let phab = &config.phabricator;
    let url = phab.url.clone().ok_or_else(|| {
        Error::Usage(
            "asking Phabricator needs its URL: set [phabricator] url (e.g. https://phabricator.wikimedia.org/)".into(),
        )
    })?;
    let token_file = phab.token_file.as_deref().ok_or_else(|| {
        Error::Usage(
            "[phabricator] url is set but token_file is not: name a file with a Conduit API token (mode 600)".into(),
        )
    })?;
    let token = crate::support::files::read_secret(token_file, "[phabricator] token_file")?;
    let cache_path = config.state.dir_for(repo.git_dir(), repo_name).join(CACHE_FILE);
    let mut cache: CacheFile = read_cache(&cache_path);
    let mut ids: Vec<u64> = stack.patches.iter().flat_map(|p| p.message.tasks.iter().map(|t| t.0)).collect();
    ids.sort_unstable();
    ids.dedup();
    let asked = Asked { url: &url, token: &token, config, now };
    let (changed, mut warning) = match asked.refresh(&mut cache, &ids) {
        Ok(asked_tasks) => match asked.name_users(&mut cache) {
            Ok(named) => (asked_tasks || named, None),
            Err(e) => (asked_tasks, Some(e)),
        },
        Err(e) => (false, Some(e)),
    };
    if changed && let Err(e) = write_cache(&cache_path, &mut cache) {
        warning.get_or_insert(format!("Phabricator cache not saved: {e}"));
    }
    let tasks = ids
        .iter()
        .filter_map(|id| {
            let cached = cache.tasks.get(id)?;
            let fetched_at = parse_timestamp(&cached.fetched_at, "cache").ok()?;
            Some((Task(*id), state_of(config, &cached.task, &cache.users, fetched_at)))
        })
        .collect();
    Ok(TaskLive { tasks, warning, url })
}

/// One run's questions to Phabricator.
struct Asked<'a> {
    url: &'a str,
    token: &'a str,
    config: &'a Config,
    now: Timestamp,
}

impl Asked<'_> {
    /// Asks for the tasks of `ids` the cache does not hold fresh; whether
    /// it asked, or the warning.
    fn refresh(&self, cache: &mut CacheFile, ids: &[u64]) -> std::result::Result<bool, String> {
        let (ttl, now) = (self.config.phabricator.cache_ttl, self.now);
        let fresh = |c: &Cached| parse_timestamp(&c.fetched_at, "cache").is_ok_and(|t| now.duration_since(t) < ttl);
        let wanted: Vec<u64> = ids.iter().copied().filter(|id| !cache.tasks.get(id).is_some_and(fresh)).collect();
        if wanted.is_empty() {
            return Ok(false);
        }
        let tasks = search(self.url, self.token, &wanted, self.timeout()).map_err(|e| self.warning(&e))?;
        for t in tasks.into_iter().filter(|t| wanted.contains(&t.id)) {
            cache.tasks.insert(t.id, Cached { fetched_at: rfc3339(now), task: t });
        }
        Ok(true)
    }

    /// Asks, in one `user.search`, for the names of the assignees the cache
    /// does not name yet (whether it asked); the warning if that fails (the
    /// PHIDs are shown).
    fn name_users(&self, cache: &mut CacheFile) -> std::result::Result<bool, String> {
        let mut phids: Vec<String> = cache
            .tasks
            .values()
            .filter_map(|c| c.task.fields.owner_phid.clone())
            .filter(|p| !cache.users.contains_key(p))
            .collect();
        phids.sort();
        phids.dedup();
        for user in users(self.url, self.token, &phids, self.timeout()).map_err(|e| self.warning(&e))? {
            cache.users.insert(user.phid.clone(), user.display());
        }
        Ok(!phids.is_empty())
    }

    fn timeout(&self) -> std::time::Duration {
        self.config.phabricator.timeout.unsigned_abs()
    }

    /// The one warning line for a failed request (the token never in it).
    fn warning(&self, e: &str) -> String {
        format!(
            "Phabricator at {} could not be asked ({}); showing the cached state where there is one",
            crate::support::escape::terminal(self.url.as_bytes()),
            e.replace(self.token, "<token>")
        )
    }
}

fn state_of(config: &Config, t: &TaskInfo, users: &BTreeMap<String, String>, fetched_at: Timestamp) -> TaskState {
    let base = config.phabricator.url.as_deref().unwrap_or(&config.links.phabricator);
    let phid = t.fields.owner_phid.clone();
    TaskState {
        task: Task(t.id),
        url: format!("{}/T{}", base.trim_end_matches('/'), t.id),
        status: t.fields.status.value.clone(),
        title: t.fields.name.clone(),
        assignee: phid.as_ref().map(|p| users.get(p).cloned().unwrap_or_else(|| p.clone())),
        assignee_phid: phid,
        fetched_at,
    }
}

impl Versioned for CacheFile {
    const VERSION: u32 = SCHEMA_VERSION;
    fn version(&mut self) -> &mut u32 {
        &mut self.schema_version
    }
}
