//! Scenario descriptions: a small text format for "an upstream history and a
//! puppetmaster's local stack on top of it".
//!
//! Tests, the differential suite and `betadrift demo` all build their
//! repositories from these descriptions through one builder
//! ([`crate::scenario::build`]), with fixed dates and identities so that object
//! ids are the same on every machine. A description lists:
//!
//! - `[[upstream]]`: upstream history up to the checkout's merge base;
//! - `[[local]]`: the local stack on that base, oldest first;
//! - `[[later]]`: upstream commits that landed since (what `origin/<branch>`
//!   has after the last fetch);
//! - `[[snapshot]]`: older states of the stack, tagged as the sync script does;
//! - `[dirty]`: uncommitted edits and untracked files in the checkout.
//!
//! Commit ids are referred to by the `id` of each commit; `{id:NAME}` in a
//! message is replaced by the full object id of commit NAME (for reverts).

pub mod build;

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::support::clock::{parse_duration, parse_timestamp};

/// A whole scenario.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The branch on both sides (`production` for operations/puppet).
    #[serde(default = "default_branch")]
    pub branch: String,
    /// Directory name of the checkout inside the build directory.
    #[serde(default = "default_checkout")]
    pub checkout: String,
    /// Date of the first commit without an explicit `date`.
    pub start: String,
    /// Gap between consecutive commits without an explicit `date`.
    #[serde(default = "default_step")]
    pub step: String,
    /// The instant `status` should treat as now when showing this scenario.
    pub now: Option<String>,
    /// Committer date of the local commits (the last successful rebase).
    pub last_sync: Option<String>,
    /// Modification time of FETCH_HEAD (the last fetch).
    pub fetched: Option<String>,
    /// Committer of local commits, "Name <email>".
    #[serde(default = "default_local_committer")]
    pub committer: String,
    #[serde(default)]
    pub upstream: Vec<CommitSpec>,
    #[serde(default)]
    pub local: Vec<CommitSpec>,
    #[serde(default)]
    pub later: Vec<CommitSpec>,
    #[serde(default)]
    pub snapshot: Vec<SnapshotSpec>,
    #[serde(default)]
    pub dirty: DirtySpec,
}

fn default_branch() -> String {
    "production".into()
}

fn default_checkout() -> String {
    "puppet".into()
}

fn default_step() -> String {
    "1h".into()
}

fn default_local_committer() -> String {
    "gitpuppet <gitpuppet@puppetmaster.invalid>".into()
}

/// One commit and the change it makes.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommitSpec {
    /// Handle used to refer to this commit elsewhere in the scenario.
    pub id: String,
    /// "Name <email>"; default: the author of the picked commit, else a test identity.
    pub author: Option<String>,
    /// Author date (RFC 3339); default: the scenario clock.
    pub date: Option<String>,
    /// "Name <email>" of the committer; default: the author (upstream) or the
    /// scenario's committer (local).
    pub committer: Option<String>,
    /// Committer date; default: the author date (upstream) or `last_sync` (local).
    pub committed: Option<String>,
    /// The full message; default: the picked commit's message.
    pub message: Option<String>,
    /// Apply the same change as commit `pick` (a three-way cherry-pick).
    pub pick: Option<String>,
    /// Apply the inverse of commit `revert`.
    pub revert: Option<String>,
    /// Files written with this full content.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Text appended to existing files.
    #[serde(default)]
    pub append: BTreeMap<String, String>,
    /// In-place text replacements (each `find` must occur).
    #[serde(default)]
    pub edit: Vec<Edit>,
    /// Files removed.
    #[serde(default)]
    pub delete: Vec<String>,
    /// Files moved (content kept).
    #[serde(default)]
    pub rename: Vec<Rename>,
    /// Files whose mode becomes 100755.
    #[serde(default)]
    pub exec: Vec<String>,
    /// Files whose mode becomes 100644.
    #[serde(default)]
    pub noexec: Vec<String>,
    /// Symbolic links: path = target.
    #[serde(default)]
    pub symlinks: BTreeMap<String, String>,
    /// Binary files: path = hexadecimal bytes.
    #[serde(default)]
    pub binary: BTreeMap<String, String>,
    /// Allow a commit that changes nothing.
    #[serde(default)]
    pub empty: bool,
    /// Decode `\\xNN` escapes in message, author and committer into raw
    /// bytes (for hostile, non-UTF-8 test data).
    #[serde(default)]
    pub raw_escapes: bool,
    /// An `encoding` header: what the message bytes claim to be in (with
    /// `raw_escapes`, the bytes can be in that encoding).
    pub encoding: Option<String>,
}

/// A text replacement inside one file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    pub path: String,
    pub find: String,
    pub replace: String,
}

/// A file move.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub from: String,
    pub to: String,
}

/// An older state of the stack, tagged as git-sync-upstream tags it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSpec {
    /// Tag name, `snapshot-YYYYmmddHHMM`; the time in it is the rebase time.
    pub tag: String,
    /// The upstream commit that stack was rebased onto.
    pub onto: String,
    /// The local patches it held, by id, oldest first.
    pub patches: Vec<String>,
}

/// Uncommitted state of the checkout.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DirtySpec {
    /// Tracked files overwritten in the working tree (not staged).
    #[serde(default)]
    pub modify: BTreeMap<String, String>,
    /// Files overwritten and staged.
    #[serde(default)]
    pub stage: BTreeMap<String, String>,
    /// New files git does not track.
    #[serde(default)]
    pub untracked: BTreeMap<String, String>,
}

/// The scenario's times, parsed.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    pub start: Timestamp,
    pub step: SignedDuration,
    pub now: Option<Timestamp>,
    pub last_sync: Option<Timestamp>,
    pub fetched: Option<Timestamp>,
}

impl Scenario {
    /// Writes the scenario as TOML (to keep a generated case as a fixture).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("scenarios serialise")
    }

    /// Parses a scenario from TOML text.
    pub fn from_toml(text: &str) -> Result<Scenario> {
        let scenario: Scenario = toml::from_str(text)
            .map_err(|e| Error::Scenario { name: "(unparsed)".into(), message: crate::config::toml_error(text, &e) })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// The built-in demo puppetmaster.
    pub fn demo() -> Scenario {
        Scenario::from_toml(include_str!("../../../../fixtures/demo.toml"))
            .expect("the built-in demo scenario is valid")
    }

    /// An error about this scenario.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::Scenario { name: self.name.clone(), message: message.into() }
    }

    /// Parses the scenario's times.
    pub fn times(&self) -> Result<Times> {
        let ts = |t: &Option<String>, what: &str| -> Result<Option<Timestamp>> {
            t.as_deref().map(|t| parse_timestamp(t, what).map_err(|e| self.error(e.to_string()))).transpose()
        };
        Ok(Times {
            start: parse_timestamp(&self.start, "start").map_err(|e| self.error(e.to_string()))?,
            step: parse_duration(&self.step).map_err(|e| self.error(format!("step: {e}")))?,
            now: ts(&self.now, "now")?,
            last_sync: ts(&self.last_sync, "last_sync")?,
            fetched: ts(&self.fetched, "fetched")?,
        })
    }

    /// Checks ids are unique and references point backwards to known commits.
    pub fn validate(&self) -> Result<()> {
        self.times()?;
        let mut seen: Vec<&str> = Vec::new();
        // Build order: upstream, local, later; snapshots refer to any of them.
        for c in self.upstream.iter().chain(&self.local).chain(&self.later) {
            if c.id.is_empty() || seen.contains(&c.id.as_str()) {
                return Err(self.error(format!("commit id '{}' is empty or used twice", c.id)));
            }
            for r in c.pick.iter().chain(&c.revert) {
                if !seen.contains(&r.as_str()) {
                    return Err(
                        self.error(format!("commit '{}' refers to '{r}', which is not defined before it", c.id))
                    );
                }
            }
            seen.push(&c.id);
        }
        for s in &self.snapshot {
            let local: Vec<&str> = self.local.iter().map(|c| c.id.as_str()).collect();
            if !self.upstream.iter().chain(&self.later).any(|c| c.id == s.onto) {
                return Err(self.error(format!("snapshot {}: onto '{}' is not an upstream commit", s.tag, s.onto)));
            }
            if let Some(p) = s.patches.iter().find(|p| !local.contains(&p.as_str())) {
                return Err(self.error(format!("snapshot {}: '{p}' is not a local patch", s.tag)));
            }
        }
        if self.upstream.is_empty() {
            return Err(self.error("needs at least one [[upstream]] commit"));
        }
        Ok(())
    }
}

/// Splits "Name <email>" into its parts.
pub fn parse_identity(text: &str) -> Option<(String, String)> {
    let open = text.rfind('<')?;
    let close = text.rfind('>')?;
    if close < open {
        return None;
    }
    Some((text[..open].trim().to_owned(), text[open + 1..close].trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_scenario_is_valid() {
        let demo = Scenario::demo();
        assert!(demo.local.len() >= 12);
    }

    #[test]
    fn references_must_point_backwards() {
        let text = r#"
            name = "t"
            start = "2026-01-01T00:00:00Z"
            [[upstream]]
            id = "a"
            files = { "f" = "x\n" }
            pick = "b"
            [[local]]
            id = "b"
        "#;
        let err = Scenario::from_toml(text).unwrap_err().to_string();
        assert!(err.contains("refers to 'b'"), "{err}");
    }

    #[test]
    fn identities_parse() {
        assert_eq!(parse_identity("A B <a@b>"), Some(("A B".into(), "a@b".into())));
        assert_eq!(parse_identity("nobody"), None);
    }
}
