//! The plan `betadrift pick --dry-run --json` prints (see docs/json.md).

use serde::{Deserialize, Serialize};

use crate::model::stack::Stack;
use crate::rewrite::pick::{Incoming, PickReplay, Role};
use crate::support::escape::lossy;

/// Version of the JSON document.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PickPlan {
    pub schema_version: u32,
    pub branch: String,
    pub head: String,
    /// Where the patchsets were fetched from.
    pub fetch_url: String,
    /// The commit the replay starts from: the parent of the first replaced
    /// patch, else HEAD.
    pub base: String,
    /// The patchsets brought in, in stack order.
    pub picks: Vec<Picked>,
    /// Positions (before the pick) of the patches cherry-picked again.
    pub replayed: Vec<usize>,
    /// The tree HEAD will have.
    pub new_tree: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Picked {
    pub change: u64,
    pub patchset: u32,
    pub commit: String,
    pub change_id: Option<String>,
    pub subject: String,
    /// Its position in the new stack.
    pub position: usize,
    /// The local patch it replaces: its position and commit.
    pub replaces: Option<Replaced>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replaced {
    pub position: usize,
    pub commit: String,
}

/// The wire form of a clean pick replay.
pub fn to_wire(stack: &Stack, replay: &PickReplay, incoming: &[Incoming], fetch_url: &str) -> PickPlan {
    let mut picks = Vec::new();
    let mut replayed = Vec::new();
    for (i, role) in replay.roles.iter().enumerate() {
        match *role {
            Role::Reapplied(p) => replayed.push(stack.patches[p].position),
            Role::Incoming { incoming: k, replaces } => {
                let inc = &incoming[k];
                picks.push(Picked {
                    change: inc.change,
                    patchset: inc.patchset,
                    commit: inc.commit.oid.to_string(),
                    change_id: inc.message.change_id.clone(),
                    subject: lossy(&inc.message.subject),
                    position: replay.position(i),
                    replaces: replaces.map(|old| Replaced {
                        position: stack.patches[old].position,
                        commit: stack.patches[old].commit.oid.to_string(),
                    }),
                });
            }
        }
    }
    PickPlan {
        schema_version: SCHEMA_VERSION,
        branch: stack.head.name.clone(),
        head: stack.head.oid.to_string(),
        fetch_url: fetch_url.to_owned(),
        base: replay.base.to_string(),
        picks,
        replayed,
        new_tree: replay.prediction.result_tree.to_string(),
    }
}
