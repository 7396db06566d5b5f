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
use crate::support::files::{append_line, write_atomic};

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
        }
    }

    /// Writes the journal (atomically).
    pub fn write(&self, state_dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("journals serialise");
        write_atomic(&state_dir.join(JOURNAL), text.as_bytes())
    }

    /// The journal of an interrupted rewrite, if there is one.
    pub fn read(state_dir: &Path) -> Result<Option<Journal>> {
        let path = state_dir.join(JOURNAL);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("reading", &path, e)),
        };
        serde_json::from_str(&text).map(Some).map_err(|e| Error::Config {
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
        let path = state_dir.join(JOURNAL);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("removing", &path, e)),
        }
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
        }
    }

    /// Appends the entry to the audit log (one JSON object per line, synced).
    pub fn append(&self, state_dir: &Path) -> Result<()> {
        let line = serde_json::to_string(self).expect("audit entries serialise");
        append_line(&state_dir.join(AUDIT), &line)
    }
}

/// Every entry of the audit log; unreadable lines are skipped.
pub fn read_audit(state_dir: &Path) -> Result<Vec<AuditEntry>> {
    let path = state_dir.join(AUDIT);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("reading", &path, e)),
    };
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

mod oid_hex {
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
