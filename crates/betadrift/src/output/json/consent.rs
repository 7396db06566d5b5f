//! The documents of `consent list --json` and `consent explain --json`, and
//! the consent object of `status --json` (see docs/consent.md).

use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::consent::Verdict;
use crate::consent::explain::Explained;
use crate::support::clock::rfc3339;
use crate::support::escape::lossy;

/// Version of the `consent list --json` and `consent explain --json`
/// documents. 2: `since` and `age_seconds` are null when nothing dates the
/// patch's arrival (1 fell back to the author date).
pub const SCHEMA_VERSION: u32 = 2;

/// `consent list --json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct List {
    pub schema_version: u32,
    pub policy_file: String,
    /// In precedence order.
    pub rules: Vec<Rule>,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `change`, `task`, `author` or `default`.
    pub scope: String,
    /// The Change-Id, task or email; null for the default rule.
    pub value: Option<String>,
    /// `allow`, `ask`, `never` or `after <duration>`.
    pub decision: String,
    pub set_by: String,
    pub set_at: String,
    pub note: Option<String>,
}

impl From<&crate::consent::Rule> for Rule {
    fn from(rule: &crate::consent::Rule) -> Rule {
        Rule {
            scope: rule.scope.kind().to_owned(),
            value: rule.scope.value(),
            decision: rule.decision.to_string(),
            set_by: rule.set_by.clone(),
            set_at: rfc3339(rule.set_at),
            note: rule.note.clone(),
        }
    }
}

/// A patch's effective decision, as `status --json` and `consent explain --json` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// `allow`, `ask`, `never` or `after <duration>`.
    pub decision: String,
    /// Whether removal is allowed at the patch's current age.
    pub allowed_now: bool,
    /// `change`, `trailer`, `task`, `author`, `default` or `builtin`.
    pub source: String,
}

impl From<&Verdict> for Consent {
    fn from(v: &Verdict) -> Consent {
        Consent { decision: v.decision.to_string(), allowed_now: v.allowed_now, source: v.source.as_str().to_owned() }
    }
}

/// `consent explain --json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Explain {
    pub schema_version: u32,
    pub generated_at: String,
    pub policy_file: String,
    pub selector: String,
    pub patches: Vec<ExplainedPatch>,
}

/// One patch: its facts, its decision and what lost.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainedPatch {
    pub position: usize,
    pub commit: String,
    pub subject: String,
    pub author_email: String,
    pub change_id: Option<String>,
    pub tasks: Vec<String>,
    /// The raw `Uncherry-Pick:` trailer value.
    pub trailer: Option<String>,
    /// When the patch arrived on the checkout (first seen); null when
    /// nothing dates it, and then its age is unknown.
    pub since: Option<String>,
    /// The age at `generated_at`; null when `since` is.
    pub age_seconds: Option<i64>,
    pub consent: Consent,
    /// The winning rule (null when the trailer or the built-in default decided).
    pub rule: Option<Rule>,
    /// For `after` decisions: when removal becomes allowed.
    pub allowed_from: Option<String>,
    pub reason: String,
    /// Every other rule or trailer that covered the patch, in precedence order.
    pub overruled: Vec<Overruled>,
}

/// A source that covered the patch and lost.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overruled {
    pub source: String,
    pub decision: String,
    pub rule: Option<Rule>,
    pub why: String,
}

pub fn explain(explained: &[Explained<'_>], path: &Path, selector: &str, now: Timestamp) -> Explain {
    Explain {
        schema_version: SCHEMA_VERSION,
        generated_at: rfc3339(now),
        policy_file: lossy_path(path),
        selector: selector.to_owned(),
        patches: explained.iter().map(patch).collect(),
    }
}

fn patch(e: &Explained<'_>) -> ExplainedPatch {
    let p = e.patch;
    let winner = &e.candidates[0];
    ExplainedPatch {
        position: p.position,
        commit: p.commit.oid.to_string(),
        subject: lossy(&p.message.subject),
        author_email: lossy(e.facts.author_email),
        change_id: p.message.change_id.clone(),
        tasks: p.message.tasks.iter().map(ToString::to_string).collect(),
        trailer: p.message.uncherry_pick.clone(),
        since: p.arrived().map(rfc3339),
        age_seconds: e.facts.age.map(|age| age.as_secs()),
        consent: Consent::from(&e.verdict),
        rule: e.verdict.rule.as_ref().map(Rule::from),
        allowed_from: e.allowed_from().map(rfc3339),
        reason: e.verdict.reason.clone(),
        overruled: e
            .overruled()
            .map(|c| Overruled {
                source: c.source.as_str().to_owned(),
                decision: c.decision.to_string(),
                rule: c.rule.as_ref().map(Rule::from),
                why: c.lost_to(winner),
            })
            .collect(),
    }
}

pub fn lossy_path(path: &Path) -> String {
    lossy(path.as_os_str().as_encoded_bytes())
}
