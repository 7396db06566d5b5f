//! The held-back object `check`, `status`, `report` and `sync --dry-run`
//! share: how far the stack can go when the rebase would stop.

use serde::{Deserialize, Serialize};

use super::common::{Culprit, Person};
use crate::model::stack::Stack;
use crate::rebase::forward::HeldBack as Found;
use crate::support::escape::lossy;

/// Why the stack cannot go further than `onto`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldBack {
    /// U': the newest first-parent commit the stack rebases onto with no stop.
    pub onto: String,
    /// U' as `<upstream>~<n>`.
    pub onto_name: String,
    pub taken: usize,
    /// Upstream commits held back.
    pub commits: usize,
    /// The first-parent commit after U', on which a patch stops.
    pub upstream: Culprit,
    /// The first patch that stops on it.
    pub patch: HeldPatch,
    /// The paths that stop leaves unmerged.
    pub paths: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldPatch {
    pub position: usize,
    pub commit: String,
    pub subject: String,
    pub author: Person,
    pub tasks: Vec<String>,
}

/// The held-back object for `held`, found on `stack`.
pub fn held_back(held: &Found, stack: &Stack) -> HeldBack {
    let c = &held.culprit;
    let patch = stack.at(held.position);
    HeldBack {
        onto: held.onto.to_string(),
        onto_name: format!("{}~{}", stack.upstream.name, held.below_target),
        taken: held.taken,
        commits: held.held_back(),
        upstream: Culprit {
            commit: c.commit.to_string(),
            change_id: c.message.change_id.clone(),
            author: Person { name: lossy(&c.author.name), email: lossy(&c.author.email) },
            tasks: c.message.tasks.iter().map(ToString::to_string).collect(),
            subject: lossy(&c.message.subject),
        },
        patch: HeldPatch {
            position: held.position,
            commit: patch.map(|p| p.commit.oid.to_string()).unwrap_or_default(),
            subject: patch.map(|p| lossy(&p.message.subject)).unwrap_or_default(),
            author: Person {
                name: patch.map(|p| lossy(&p.commit.author.name)).unwrap_or_default(),
                email: patch.map(|p| lossy(&p.commit.author.email)).unwrap_or_default(),
            },
            tasks: patch.map(|p| p.message.tasks.iter().map(ToString::to_string).collect()).unwrap_or_default(),
        },
        paths: held.paths.iter().map(|p| lossy(p)).collect(),
    }
}
