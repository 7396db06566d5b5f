//! The domain model: the stack of local patches on the checkout, their
//! messages and trailers, where upstream stands on each, when each was first
//! seen (the ledger and the snapshot tags), the selectors that name them, and
//! the Gerrit changes `pick` names and what Gerrit says of them now, and what
//! Phabricator says of their tasks (`tasks`).

pub mod gerrit;
pub mod ledger;
pub mod live;
pub mod message;
pub mod selector;
pub mod snapshot_tags;
pub mod stack;
pub mod tasks;
pub mod upstream;
