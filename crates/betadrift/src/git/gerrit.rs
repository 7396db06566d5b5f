//! Gerrit's REST API, as `pick` and the live state ask it: one batched
//! `GET /changes/?q=change:I…+OR+change:I…` per run, over [`super::http`].
//!
//! Gerrit prefixes every JSON answer with `)]}'` against cross-site script
//! inclusion; the answer is a list of `ChangeInfo` objects, of which only
//! the fields below are read (the others are ignored, as Gerrit adds fields
//! between versions). Reference:
//! <https://gerrit-review.googlesource.com/Documentation/rest-api-changes.html>.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::http::{Request, request};

/// The most a query answer may hold.
pub const MAX_BYTES: usize = 4 << 20;
/// The prefix Gerrit puts before every JSON answer.
const XSSI: &[u8] = b")]}'";

/// A change as Gerrit's `ChangeInfo` describes it (the fields betadrift reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeInfo {
    #[serde(rename = "_number")]
    pub number: u64,
    pub change_id: String,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub branch: String,
    #[serde(default)]
    pub subject: String,
    /// NEW, MERGED or ABANDONED.
    pub status: String,
    #[serde(default)]
    pub owner: Account,
    /// The commit of the current patchset.
    #[serde(default)]
    pub current_revision: Option<String>,
    /// Patchsets by commit (with `o=CURRENT_REVISION`, the current one only).
    #[serde(default)]
    pub revisions: BTreeMap<String, RevisionInfo>,
    #[serde(default)]
    pub submittable: Option<bool>,
}

/// Who owns a change (`o=DETAILED_ACCOUNTS`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl Account {
    /// The name to show: the full name, else the username, else the email.
    pub fn display(&self) -> String {
        self.name.clone().or_else(|| self.username.clone()).or_else(|| self.email.clone()).unwrap_or_default()
    }
}

/// One patchset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionInfo {
    #[serde(rename = "_number")]
    pub number: u32,
    /// `refs/changes/NN/NNNNNN/P`.
    #[serde(rename = "ref")]
    pub refname: String,
}

impl ChangeInfo {
    /// The current patchset: its commit, number and ref.
    pub fn current(&self) -> Option<(&str, &RevisionInfo)> {
        let sha = self.current_revision.as_deref()?;
        self.revisions.get(sha).map(|r| (sha, r))
    }
}

/// The query URL for `change_ids` on the Gerrit at `base`.
pub fn query_url(base: &str, change_ids: &[String]) -> String {
    let terms: Vec<String> = change_ids.iter().map(|id| format!("change:{}", super::http::percent(id))).collect();
    format!(
        "{}/changes/?q={}&o=CURRENT_REVISION&o=DETAILED_ACCOUNTS&o=SUBMITTABLE&n={}",
        base.trim_end_matches('/'),
        terms.join("+OR+"),
        change_ids.len().max(1)
    )
}

/// Asks the Gerrit at `base` for the changes `change_ids` name, in one
/// request. A failure is one line saying what went wrong (the caller
/// decides whether that is a warning or an error).
pub fn query(base: &str, change_ids: &[String], timeout: std::time::Duration) -> Result<Vec<ChangeInfo>, String> {
    if change_ids.is_empty() {
        return Ok(Vec::new());
    }
    let url = query_url(base, change_ids);
    let response = request(&Request { url: &url, form: Vec::new(), timeout, max_bytes: MAX_BYTES })?;
    match response.status {
        200 => parse_changes(&response.body),
        401 | 403 => Err(format!("HTTP {}: Gerrit refused the query (anonymous access?)", response.status)),
        404 => Err("HTTP 404: no Gerrit REST API there; check [gerrit] url".into()),
        s => Err(format!("HTTP {s} from Gerrit")),
    }
}

/// Parses a `/changes/` answer: the XSSI prefix, then a JSON list.
pub fn parse_changes(body: &[u8]) -> Result<Vec<ChangeInfo>, String> {
    let json = body.strip_prefix(XSSI).ok_or("the answer does not start with Gerrit's )]}' prefix")?;
    serde_json::from_slice(json).map_err(|e| format!("malformed Gerrit JSON: {e}"))
}

/// Where Gerrit keeps patchset `patchset` of change `number`:
/// `refs/changes/45/12345/3` (the last two digits, zero-padded).
pub fn change_ref(number: u64, patchset: u32) -> String {
    format!("refs/changes/{:02}/{number}/{patchset}", number % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_name_the_last_two_digits() {
        assert_eq!(change_ref(1234567, 3), "refs/changes/67/1234567/3");
        assert_eq!(change_ref(5, 1), "refs/changes/05/5/1");
    }

    #[test]
    fn answers_need_the_prefix_and_valid_json() {
        let body = br#")]}'
[{"id":"operations%2Fpuppet~production~I1","project":"operations/puppet","branch":"production","change_id":"I1","subject":"s","status":"NEW","_number":42,"owner":{"_account_id":1,"name":"Ana"},"current_revision":"abc","revisions":{"abc":{"kind":"REWORK","_number":3,"ref":"refs/changes/42/42/3"}},"submittable":false}]"#;
        let changes = parse_changes(body).unwrap();
        assert_eq!(changes[0].number, 42);
        assert_eq!(changes[0].current().unwrap().1.number, 3);
        assert_eq!(changes[0].owner.display(), "Ana");
        assert!(parse_changes(b"[]").unwrap_err().contains("prefix"));
        assert!(parse_changes(b")]}'\n[{").unwrap_err().contains("malformed"));
    }

    #[test]
    fn the_query_is_one_request() {
        let url = query_url("https://g.example/r/", &["I1".into(), "I2".into()]);
        assert_eq!(
            url,
            "https://g.example/r/changes/?q=change:I1+OR+change:I2&o=CURRENT_REVISION&o=DETAILED_ACCOUNTS&o=SUBMITTABLE&n=2"
        );
    }
}
