//! The first-seen ledger: when betadrift first saw each local patch.
//!
//! Every sync rewrites the local commits, so their ids and committer dates
//! say nothing about how long a patch has been on the puppetmaster. Snapshot
//! tags backfill that for the past, but they are pruned, renamed, or were
//! never made. So every `betadrift report` run, and every `sync` that moves
//! the branch, writes down, per patch identity (Change-Id, else patch-id),
//! the first time it saw it, in a small JSON file in the state directory
//! (never in refs, the index, the object store or the working tree).
//! `status` and `report` then take the earlier of the ledger and the
//! snapshot tags.
//!
//! The run that creates the ledger cannot tell when the patches already on
//! the checkout arrived: it only knows "at or before now". A patch a
//! snapshot tag holds is recorded with that tag's time; the others are
//! marked `present_at_start` and do not date a patch (its author date
//! does); every patch that appears later is dated by the run that first saw
//! it. Entries made after a snapshot search are `backfilled`: newer tags
//! cannot date them earlier, so the (costly) search is not repeated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::checkout::Checkout;
use crate::git::repo::Repo;
use crate::model::stack::{Seen, SeenSource, Stack, StackOptions};
use crate::support::clock::{parse_timestamp, rfc3339};
use crate::support::escape::lossy;

/// Version of the ledger file.
pub const SCHEMA_VERSION: u32 = 1;
/// File name of the ledger inside the state directory.
pub const FILE_NAME: &str = "ledger.json";

/// The stack of `checkout` at `now` with every patch dated by the one age model:
/// the earliest of the first-seen ledger (read here, never written), the
/// snapshot tags and the branch's reflog. A patch none of them dates has no
/// age (`Patch::arrived` is `None`); its author date is never taken for its
/// arrival. `status`, `consent explain`, `drop` and `prune` read their stack
/// here, and `report` reads the same sources (recording the ledger as it
/// goes), so every command gives a patch the same age.
pub fn load_dated(checkout: &Checkout, config: &Config, now: Timestamp) -> Result<Stack> {
    let ledger = Ledger::read(&path(config, &checkout.repo, &checkout.name()))?;
    let options = dated_options(Some(&ledger), config, now);
    let mut stack = Stack::load(&checkout.repo, checkout.head.clone(), checkout.upstream.clone(), &options)?;
    ledger.apply(&checkout.repo, &mut stack)?;
    Ok(stack)
}

/// How the one age model reads a stack at `now`: the snapshot tags, the
/// branch's reflog up to `now`, and no search for what `ledger` (if it could
/// be read) has already dated.
pub fn dated_options(ledger: Option<&Ledger>, config: &Config, now: Timestamp) -> StackOptions {
    StackOptions {
        first_seen_known: ledger.map(Ledger::backfilled_keys).unwrap_or_default(),
        reflog_until: Some(now),
        ..StackOptions::from_config(config)
    }
}

/// Where the ledger of a repository lives: `ledger.json` in its state
/// directory ([`crate::config::State::dir_for`]): `<git dir>/betadrift/`, or
/// with `[state] dir` set, `<dir>/<name as one safe path component>/`.
pub fn path(config: &Config, repo: &Repo, name: &str) -> PathBuf {
    config.state.dir_for(repo.git_dir(), name).join(FILE_NAME)
}

/// The ledger file as stored: one per repository.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerFile {
    schema_version: u32,
    /// The repository's name when the ledger was last written, for people.
    repository: String,
    /// Per patch identity ([`crate::model::snapshot_tags::Identity::key`]).
    patches: BTreeMap<String, Entry>,
}

/// One patch identity in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The first run that saw the patch (RFC 3339, UTC).
    pub first_seen: String,
    /// The patch was already there when the ledger started: it arrived at
    /// or before `first_seen`, so `first_seen` does not date it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub present_at_start: bool,
    /// The subject when first seen, for people reading the file.
    pub subject: String,
    /// The snapshot tag that dated the patch: `first_seen` is that tag's
    /// time, earlier than any run of betadrift saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// The branch's reflog dated the patch: `first_seen` is the time of the
    /// oldest entry whose stack holds it (reflogs expire; the ledger keeps it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reflog: bool,
    /// The snapshot tags were searched for this patch when the entry was
    /// made (or since): newer tags cannot date it earlier, so `status` and
    /// `report` do not search them again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backfilled: bool,
}

/// A loaded ledger.
#[derive(Debug, Clone)]
pub struct Ledger {
    path: PathBuf,
    file: LedgerFile,
    exists: bool,
}

impl Ledger {
    /// Reads the ledger at `path`; a missing file is an empty ledger.
    pub fn read(path: &Path) -> Result<Ledger> {
        let bad = |message: String| Error::Usage(format!("ledger {}: {message}", path.display()));
        let file = match crate::support::files::read_state(path)? {
            Some(bytes) => {
                let file: LedgerFile = serde_json::from_slice(&bytes)
                    .map_err(|e| bad(format!("{e}; move the file away to start a new ledger")))?;
                if file.schema_version != SCHEMA_VERSION {
                    return Err(bad(format!(
                        "schema_version {} is not {SCHEMA_VERSION}; a newer betadrift wrote it",
                        file.schema_version
                    )));
                }
                file
            }
            None => {
                return Ok(Ledger { path: path.to_owned(), file: LedgerFile::default(), exists: false });
            }
        };
        Ok(Ledger { path: path.to_owned(), file, exists: true })
    }

    /// The path the ledger was read from and is written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries, by identity key.
    pub fn entries(&self) -> &BTreeMap<String, Entry> {
        &self.file.patches
    }

    /// Records every patch of `stack` not in the ledger yet: as first seen
    /// at its snapshot tag if the stack's search found one, else `now`.
    /// When the stack searched the snapshot tags (`stack.first_seen_searched`),
    /// entries are marked `backfilled`, and older entries made without a
    /// search (by `sync`) take what it found. Returns whether anything changed.
    pub fn record(&mut self, repo: &Repo, repo_name: &str, stack: &Stack, now: Timestamp) -> Result<bool> {
        let starting = !self.exists;
        let searched = stack.first_seen_searched;
        let mut changed = starting || self.file.repository != repo_name;
        self.file.repository = repo_name.to_owned();
        for p in &stack.patches {
            // A snapshot tag (its name) or the reflog (no name) dated it.
            let tagged = match &p.first_seen {
                Some(Seen { time, source: SeenSource::Snapshot(name) }) if *time < now => {
                    Some((*time, Some(name.clone())))
                }
                Some(Seen { time, source: SeenSource::Reflog }) if *time < now => Some((*time, None)),
                _ => None,
            };
            match self.file.patches.entry(p.identity(repo)?.key()) {
                std::collections::btree_map::Entry::Vacant(slot) => {
                    let subject = lossy(&p.message.subject).chars().take(200).collect();
                    slot.insert(Entry {
                        first_seen: rfc3339(tagged.as_ref().map_or(now, |(time, _)| *time)),
                        present_at_start: starting && tagged.is_none(),
                        subject,
                        reflog: matches!(tagged, Some((_, None))),
                        snapshot: tagged.and_then(|(_, name)| name),
                        backfilled: searched,
                    });
                    changed = true;
                }
                std::collections::btree_map::Entry::Occupied(mut slot) if searched && !slot.get().backfilled => {
                    let entry = slot.get_mut();
                    if let Some((time, name)) = tagged {
                        let recorded = parse_timestamp(&entry.first_seen, "ledger first_seen").ok();
                        if entry.present_at_start || recorded.is_none_or(|r| time < r) {
                            entry.first_seen = rfc3339(time);
                            entry.present_at_start = false;
                            entry.reflog = name.is_none();
                            entry.snapshot = name;
                        }
                    }
                    entry.backfilled = true;
                    changed = true;
                }
                std::collections::btree_map::Entry::Occupied(_) => {}
            }
        }
        Ok(changed)
    }

    /// Gives the patch identity `to` the entry of `from` (a patch whose
    /// identity changed: its conflict was resolved by hand), unless `to`
    /// has one. Returns whether anything changed.
    pub fn carry(&mut self, from: &str, to: &str) -> bool {
        if from == to || self.file.patches.contains_key(to) {
            return false;
        }
        let Some(entry) = self.file.patches.get(from).cloned() else { return false };
        self.file.patches.insert(to.to_owned(), entry);
        true
    }

    /// The keys whose snapshot search is done ([`Entry::backfilled`]), for
    /// [`crate::model::stack::StackOptions::first_seen_known`].
    pub fn backfilled_keys(&self) -> std::collections::HashSet<String> {
        self.file.patches.iter().filter(|(_, e)| e.backfilled).map(|(k, _)| k.clone()).collect()
    }

    /// Writes the ledger atomically if it changed or does not exist yet.
    pub fn save(&mut self, changed: bool) -> Result<()> {
        if self.exists && !changed {
            return Ok(());
        }
        self.file.schema_version = SCHEMA_VERSION;
        let mut text =
            serde_json::to_vec_pretty(&self.file).map_err(|e| Error::io("encoding", &self.path, e.into()))?;
        text.push(b'\n');
        crate::support::files::write_atomic(&self.path, &text)?;
        self.exists = true;
        Ok(())
    }

    /// Dates the patches of `stack` from the ledger where it is earlier than
    /// what the snapshot tags said.
    pub fn apply(&self, repo: &Repo, stack: &mut Stack) -> Result<()> {
        if self.file.patches.is_empty() {
            return Ok(());
        }
        for p in &mut stack.patches {
            let Some(entry) = self.file.patches.get(&p.identity(repo)?.key()) else { continue };
            if entry.present_at_start {
                continue;
            }
            let source = match (&entry.snapshot, entry.reflog) {
                (Some(tag), _) => SeenSource::Snapshot(tag.clone()),
                (None, true) => SeenSource::Reflog,
                (None, false) => SeenSource::Ledger,
            };
            let time = parse_timestamp(&entry.first_seen, "ledger first_seen")
                .map_err(|e| Error::Usage(format!("ledger {}: {e}", self.path.display())))?;
            if p.first_seen.as_ref().is_none_or(|s| time < s.time) {
                p.first_seen = Some(Seen { time, source });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_empty_and_bad_files_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.json");
        let ledger = Ledger::read(&path).unwrap();
        assert!(ledger.entries().is_empty());
        std::fs::write(&path, b"{\"schema_version\": 1, \"repository\": \"r\", \"patches\": {}, \"extra\": 1}")
            .unwrap();
        let err = Ledger::read(&path).unwrap_err().to_string();
        assert!(err.contains("ledger.json") && err.contains("extra"), "{err}");
        std::fs::write(&path, b"{\"schema_version\": 9, \"repository\": \"r\", \"patches\": {}}").unwrap();
        assert!(Ledger::read(&path).unwrap_err().to_string().contains("schema_version 9"));
    }

    #[test]
    fn carry_gives_a_new_identity_the_old_entry_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::read(&dir.path().join("ledger.json")).unwrap();
        let entry = |time: &str| Entry {
            first_seen: time.into(),
            present_at_start: false,
            subject: "s".into(),
            snapshot: None,
            reflog: false,
            backfilled: true,
        };
        ledger.file.patches.insert("patch-id:old".into(), entry("2026-01-01T00:00:00Z"));
        ledger.file.patches.insert("patch-id:taken".into(), entry("2026-06-01T00:00:00Z"));
        assert!(ledger.carry("patch-id:old", "patch-id:new"));
        assert_eq!(ledger.entries()["patch-id:new"], entry("2026-01-01T00:00:00Z"));
        assert!(!ledger.carry("patch-id:old", "patch-id:new"), "once");
        assert!(!ledger.carry("patch-id:old", "patch-id:taken"), "an entry of its own is kept");
        assert_eq!(ledger.entries()["patch-id:taken"].first_seen, "2026-06-01T00:00:00Z");
        assert!(!ledger.carry("patch-id:unknown", "patch-id:other"));
        assert!(!ledger.carry("patch-id:old", "patch-id:old"));
    }

    #[test]
    fn entries_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/ledger.json");
        let mut ledger = Ledger::read(&path).unwrap();
        let entry = Entry {
            first_seen: "2026-11-25T12:00:00Z".into(),
            present_at_start: false,
            subject: "s".into(),
            snapshot: None,
            reflog: true,
            backfilled: false,
        };
        ledger.file.patches.insert("change-id:I1".into(), entry.clone());
        ledger.save(true).unwrap();
        let again = Ledger::read(&path).unwrap();
        assert_eq!(again.entries()["change-id:I1"], entry);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("present_at_start"), "false flags are left out: {text}");
    }
}
