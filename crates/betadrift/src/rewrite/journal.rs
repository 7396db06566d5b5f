//! The records a rewrite leaves: a backup ref of the old tip, a journal
//! while the rewrite is under way (so an interrupted one can be rolled
//! back), and an append-only audit log of who changed what, when and why.

use std::path::Path;

use git2::Oid;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Kind, Plan, Removal, Setup};
use crate::error::{Error, Result};
use crate::git::repo::Repo;
use crate::support::clock::rfc3339;
use crate::support::files::{append_line, read_state, write_atomic};

/// Where backup refs live.
pub const BACKUP_PREFIX: &str = "refs/betadrift/backup/";
const JOURNAL: &str = "journal.json";
const AUDIT: &str = "audit.jsonl";

/// Keeps `oid` under a new `refs/betadrift/backup/<time>-<command>[-<n>]`
/// ref. Backups made within one second are numbered in the order they were
/// made, whatever their command: the second is `-2`, and so on.
pub fn create_backup(repo: &Repo, oid: Oid, now: Timestamp, kind: Kind) -> Result<String> {
    let stamp = now.strftime("%Y%m%dT%H%M%SZ").to_string();
    let same_second = repo.refs_under(&format!("{BACKUP_PREFIX}{stamp}-"))?;
    let first_free = same_second.iter().map(|(name, _)| order_key(name).1).max().map_or(1, |n| n + 1);
    for n in first_free.. {
        let suffix = if n == 1 { String::new() } else { format!("-{n}") };
        let name = format!("{BACKUP_PREFIX}{stamp}-{}{suffix}", kind.as_str());
        if repo.ref_target(&name)?.is_none() {
            repo.create_ref(&name, oid, &format!("betadrift {}: backup before rewriting", kind.as_str()))?;
            return Ok(name);
        }
    }
    unreachable!("an unused backup name always exists")
}

/// When a backup was made, from its name: the second, then its number
/// within the second (1 without a suffix). Names are not in that order as
/// text (`-10` sorts before `-9`).
fn order_key(name: &str) -> (&str, u64) {
    let rest = name.strip_prefix(BACKUP_PREFIX).unwrap_or(name);
    let (stamp, tail) = rest.split_once('-').unwrap_or((rest, ""));
    let n = tail.rsplit_once('-').and_then(|(_, n)| n.parse().ok()).unwrap_or(1);
    (stamp, n)
}

/// A backup ref and what it points at.
#[derive(Debug, Clone)]
pub struct Backup {
    pub name: String,
    pub commit: Oid,
}

/// Backup refs, newest first (by when they were made, not by name).
pub fn backups(repo: &Repo) -> Result<Vec<Backup>> {
    let mut list: Vec<Backup> =
        repo.refs_under(BACKUP_PREFIX)?.into_iter().map(|(name, commit)| Backup { name, commit }).collect();
    list.sort_by(|a, b| order_key(&b.name).cmp(&order_key(&a.name)).then_with(|| b.name.cmp(&a.name)));
    Ok(list)
}

/// The record of a rewrite in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    pub command: String,
    pub branch: String,
    #[serde(with = "oid_hex")]
    pub old_head: Oid,
    #[serde(with = "oid_hex")]
    pub new_head: Oid,
    #[serde(with = "oid_hex")]
    pub old_tree: Oid,
    #[serde(with = "oid_hex")]
    pub new_tree: Oid,
    pub backup: String,
    pub started: String,
    /// How far the rewrite got (journals written before phases were
    /// recorded are mid-rewrite).
    #[serde(default)]
    pub phase: Phase,
    /// What happened to the post-update command, in words, once it failed
    /// or was interrupted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_update: Option<String>,
    /// The inode of the `index.lock` the rewrite holds while it writes the
    /// index: after a crash, `undo` removes that file and no other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_lock: Option<u64>,
}

/// How far a journalled rewrite got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Between the backup and the end of the working-tree update: the
    /// checkout may be half old, half new; `undo` rolls it back.
    #[default]
    Rewriting,
    /// The rewrite is complete and the post-update command was started; if
    /// the journal is still there, betadrift died before it finished.
    PostUpdate,
    /// The post-update command failed.
    PostUpdateFailed,
    /// The post-update command was interrupted, or never started because
    /// betadrift was.
    PostUpdateInterrupted,
}

impl Journal {
    /// The journal of `plan`, about to move the branch to `new_head`.
    pub fn new(plan: &Plan, new_head: Oid, backup: &str, now: Timestamp) -> Journal {
        let (old_head, old_tree) = match &plan.recovering {
            Some(j) => (j.new_head, j.new_tree),
            None => (plan.branch.oid, plan.old_tree),
        };
        Journal {
            command: plan.kind.as_str().to_owned(),
            branch: plan.branch.refname.clone(),
            old_head,
            new_head,
            old_tree,
            new_tree: plan.new_tree,
            backup: backup.to_owned(),
            started: rfc3339(now),
            phase: Phase::Rewriting,
            post_update: None,
            index_lock: None,
        }
    }

    /// True while the checkout may be between the old and the new state.
    pub fn mid_update(&self) -> bool {
        self.phase == Phase::Rewriting
    }

    /// One line for any command that finds this journal: what state the
    /// checkout is in and what to run. Never advice to commit or stash: the
    /// changes in the working tree are the rewrite's own.
    pub fn describe(&self) -> String {
        let (command, started) = (&self.command, &self.started);
        let what = self.post_update.as_deref().map(|w| format!(" ({w})")).unwrap_or_default();
        match self.phase {
            Phase::Rewriting => format!(
                "an interrupted betadrift {command} (started {started}) left the checkout mid-update: run `betadrift undo` to roll it back"
            ),
            Phase::PostUpdate => format!(
                "the post-update command of betadrift {command} (started {started}) did not finish: betadrift was killed while it ran; the branch and the working tree are updated; run `betadrift post-update` to run it again, or `betadrift undo` to roll back"
            ),
            Phase::PostUpdateFailed => format!(
                "the post-update command of betadrift {command} (started {started}) failed{what}: the branch and the working tree are updated; run `betadrift post-update` to run it again, or `betadrift undo` to roll back"
            ),
            Phase::PostUpdateInterrupted => format!(
                "the post-update command of betadrift {command} (started {started}) did not complete{what}: the branch and the working tree are updated; run `betadrift post-update` to run it again, or `betadrift undo` to roll back"
            ),
        }
    }

    /// Writes the journal (atomically).
    pub fn write(&self, state_dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Internal { message: e.to_string() })?;
        write_atomic(&state_dir.join(JOURNAL), text.as_bytes())
    }

    /// The journal of an interrupted rewrite, if there is one.
    pub fn read(state_dir: &Path) -> Result<Option<Journal>> {
        let path = state_dir.join(JOURNAL);
        let Some(text) = read_state(&path)? else { return Ok(None) };
        serde_json::from_slice(&text).map(Some).map_err(|e| Error::Config {
            path: path.clone(),
            message: format!(
                "line {}, column {}: {e}; move the file away if it is not betadrift's",
                e.line(),
                e.column()
            ),
        })
    }

    /// Removes the journal once the rewrite is complete.
    pub fn remove(state_dir: &Path) -> Result<()> {
        crate::support::files::remove_state(&state_dir.join(JOURNAL))
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    pub time: String,
    pub actor: String,
    pub command: String,
    pub repo: String,
    pub branch: String,
    pub old_head: String,
    pub new_head: String,
    pub backup: String,
    pub reason: Option<String>,
    pub forced: bool,
    pub removed: Vec<AuditRemoval>,
    pub upstream: Option<String>,
    /// For an undo: the backup ref of the rewrite it took back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
}

/// A removed patch, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRemoval {
    pub commit: String,
    pub subject: String,
    pub change_id: Option<String>,
    pub why: String,
}

impl From<&Removal> for AuditRemoval {
    fn from(r: &Removal) -> AuditRemoval {
        AuditRemoval {
            commit: r.commit.clone(),
            subject: r.subject.clone(),
            change_id: r.change_id.clone(),
            why: r.why.clone(),
        }
    }
}

impl AuditEntry {
    /// The record of `plan` about to move the branch to `new_head`.
    pub fn new(setup: &Setup<'_>, plan: &Plan, new_head: Oid, backup: &str) -> AuditEntry {
        AuditEntry {
            time: rfc3339(setup.now),
            actor: setup.actor.clone(),
            command: plan.kind.as_str().to_owned(),
            repo: setup.repo.display_path().display().to_string(),
            branch: plan.branch.refname.clone(),
            old_head: plan.branch.oid.to_string(),
            new_head: new_head.to_string(),
            backup: backup.to_owned(),
            reason: plan.reason.clone(),
            forced: plan.forced,
            removed: plan.removed.iter().map(AuditRemoval::from).collect(),
            upstream: plan.upstream.map(|u| u.to_string()),
            undoes: plan.undoes.clone(),
        }
    }

    /// Appends the entry to the audit log (one JSON object per line,
    /// synced); returns the log's length before, for [`AuditEntry::retract`].
    pub fn append(&self, state_dir: &Path) -> Result<u64> {
        let line = serde_json::to_string(self).map_err(|e| Error::Internal { message: e.to_string() })?;
        append_line(&state_dir.join(AUDIT), &line)
    }

    /// Takes back the line just appended (the log was `len` bytes before):
    /// the rewrite it announced did not happen. Only under the repository
    /// lock, so no other betadrift appended since.
    pub fn retract(state_dir: &Path, len: u64) -> Result<()> {
        crate::support::files::truncate_to(&state_dir.join(AUDIT), len)
    }
}

/// Every entry of the audit log; unreadable lines are skipped.
pub fn read_audit(state_dir: &Path) -> Result<Vec<AuditEntry>> {
    let Some(text) = read_state(&state_dir.join(AUDIT))? else { return Ok(Vec::new()) };
    let text = String::from_utf8_lossy(&text);
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

pub(super) mod oid_hex {
    use git2::Oid;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(oid: &Oid, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&oid.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Oid, D::Error> {
        let text = String::deserialize(d)?;
        Oid::from_str(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_order_by_when_they_were_made() {
        let mut names = [
            "refs/betadrift/backup/20261125T120000Z-drop-10",
            "refs/betadrift/backup/20261125T120000Z-undo-9",
            "refs/betadrift/backup/20261125T115959Z-sync",
            "refs/betadrift/backup/20261125T120000Z-drop",
            "refs/betadrift/backup/20261125T120000Z-prune-2",
        ];
        names.sort_by_key(|n| order_key(n));
        let short: Vec<&str> = names.iter().map(|n| n.trim_start_matches(BACKUP_PREFIX)).collect();
        assert_eq!(
            short,
            [
                "20261125T115959Z-sync",
                "20261125T120000Z-drop",
                "20261125T120000Z-prune-2",
                "20261125T120000Z-undo-9",
                "20261125T120000Z-drop-10"
            ]
        );
    }
}
