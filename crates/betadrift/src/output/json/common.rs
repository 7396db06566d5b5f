//! Wire types several JSON documents share: people and culprit commits.

use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// An upstream commit blamed for a stop (or holding the stack back).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Culprit {
    pub commit: String,
    pub change_id: Option<String>,
    pub author: Person,
    pub tasks: Vec<String>,
    pub subject: String,
}
