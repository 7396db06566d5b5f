//! Phabricator's Conduit API, as the live state asks it: one batched
//! `POST <url>/api/maniphest.search` per run, over [`super::http`].
//!
//! The token goes in the form (`api.token`), which [`super::http::request`]
//! hands to curl on its standard input: it is never on a command line, in a
//! URL or in a message. The answer is `{"result":{"data":[…]},
//! "error_code":null,"error_info":null}`; of each task only the fields below
//! are read (Phabricator adds others). Reference:
//! <https://secure.phabricator.com/conduit/method/maniphest.search/>.

use serde::{Deserialize, Serialize};

use super::http::{Request, request};

/// The most an answer may hold (a hundred tasks take a few hundred KiB).
pub const MAX_BYTES: usize = 4 << 20;

/// A task as `maniphest.search` describes it (the fields betadrift reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub id: u64,
    #[serde(default)]
    pub phid: String,
    pub fields: TaskFields,
}

/// A task's `fields`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFields {
    #[serde(default)]
    pub name: String,
    pub status: TaskStatusInfo,
    /// The assignee's user PHID; `null` when nobody is assigned.
    #[serde(default, rename = "ownerPHID")]
    pub owner_phid: Option<String>,
}

/// A task's status: `value` is the key (`open`, `resolved`, …), `name` its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskStatusInfo {
    pub value: String,
    #[serde(default)]
    pub name: String,
}

/// A user as `user.search` describes it (the fields betadrift reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub phid: String,
    pub fields: UserFields,
}

/// A user's `fields`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFields {
    #[serde(default)]
    pub username: String,
    #[serde(default, rename = "realName")]
    pub real_name: String,
}

impl UserInfo {
    /// `Real Name (username)`, or the one of them there is.
    pub fn display(&self) -> String {
        match (self.fields.real_name.trim(), self.fields.username.trim()) {
            ("", user) => user.to_owned(),
            (real, "") => real.to_owned(),
            (real, user) => format!("{real} ({user})"),
        }
    }
}

#[derive(Deserialize)]
struct Answer<T> {
    result: Option<ResultData<T>>,
    error_code: Option<String>,
    error_info: Option<String>,
}

#[derive(Deserialize)]
struct ResultData<T> {
    data: Vec<T>,
}

/// The form of one `*.search` call constraining `key` (`ids`, `phids`) to `values`.
pub fn search_form(token: &str, key: &str, values: &[String]) -> Vec<(String, String)> {
    let mut form = vec![("api.token".to_owned(), token.to_owned())];
    form.extend(values.iter().enumerate().map(|(i, v)| (format!("constraints[{key}][{i}]"), v.clone())));
    form.push(("limit".into(), values.len().clamp(1, 100).to_string()));
    form
}

/// Asks the Phabricator at `base` for the tasks `ids`, in one request (at
/// most 100, Conduit's page). A failure is one line saying what went wrong,
/// never the token.
pub fn search(base: &str, token: &str, ids: &[u64], timeout: std::time::Duration) -> Result<Vec<TaskInfo>, String> {
    let ids: Vec<String> = ids.iter().take(100).map(u64::to_string).collect();
    call(base, "maniphest.search", search_form(token, "ids", &ids), timeout)
}

/// Asks for the users `phids` (assignees), in one request (at most 100).
pub fn users(base: &str, token: &str, phids: &[String], timeout: std::time::Duration) -> Result<Vec<UserInfo>, String> {
    let phids = &phids[..phids.len().min(100)];
    call(base, "user.search", search_form(token, "phids", phids), timeout)
}

/// One Conduit call of `method`; nothing asked when the form constrains nothing.
fn call<T: serde::de::DeserializeOwned>(
    base: &str,
    method: &str,
    form: Vec<(String, String)>,
    timeout: std::time::Duration,
) -> Result<Vec<T>, String> {
    if form.len() <= 2 {
        return Ok(Vec::new());
    }
    let url = format!("{}/api/{method}", base.trim_end_matches('/'));
    let response = request(&Request { url: &url, form, timeout, max_bytes: MAX_BYTES })?;
    match response.status {
        200 => parse_search(&response.body),
        401 | 403 => Err(format!("HTTP {}: Phabricator refused the token", response.status)),
        404 => Err("HTTP 404: no Conduit API there; check [phabricator] url".into()),
        s => Err(format!("HTTP {s} from Phabricator")),
    }
}

/// Parses a `*.search` answer; a Conduit error is an error.
pub fn parse_search<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, String> {
    let answer: Answer<T> = serde_json::from_slice(body).map_err(|e| format!("malformed Conduit JSON: {e}"))?;
    if let Some(code) = answer.error_code {
        let info = answer.error_info.unwrap_or_default();
        return Err(format!("Conduit error {code}: {info}"));
    }
    answer.result.map(|r| r.data).ok_or_else(|| "Conduit answered no result and no error".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_tasks_or_conduit_errors() {
        let body = br#"{"result":{"data":[{"id":123,"type":"TASK","phid":"PHID-TASK-1","fields":{"name":"t","status":{"value":"resolved","name":"Resolved","color":null},"ownerPHID":"PHID-USER-1","priority":{"value":50}}}],"cursor":{"limit":100,"after":null,"before":null,"order":null}},"error_code":null,"error_info":null}"#;
        let tasks: Vec<TaskInfo> = parse_search(body).unwrap();
        assert_eq!((tasks[0].id, tasks[0].fields.status.value.as_str()), (123, "resolved"));
        assert_eq!(tasks[0].fields.owner_phid.as_deref(), Some("PHID-USER-1"));
        let err = br#"{"result":null,"error_code":"ERR-INVALID-AUTH","error_info":"API token is invalid."}"#;
        assert_eq!(parse_search::<TaskInfo>(err).unwrap_err(), "Conduit error ERR-INVALID-AUTH: API token is invalid.");
        assert!(parse_search::<TaskInfo>(b"{\"result\":").unwrap_err().contains("malformed"));
        let users = br#"{"result":{"data":[{"id":1,"type":"USER","phid":"PHID-USER-1","fields":{"username":"acosta","realName":"Ana Costa","roles":[]}}]},"error_code":null,"error_info":null}"#;
        assert_eq!(parse_search::<UserInfo>(users).unwrap()[0].display(), "Ana Costa (acosta)");
    }

    #[test]
    fn the_form_names_every_task_and_the_token() {
        let form = search_form("api-xyz", "ids", &["12".into(), "34".into()]);
        let body = super::super::http::form_body(&form);
        assert_eq!(body, "api.token=api-xyz&constraints%5Bids%5D%5B0%5D=12&constraints%5Bids%5D%5B1%5D=34&limit=2");
    }
}
