//! The domain model: the stack of local patches on the checkout, their
//! messages and trailers, where upstream stands on each, when each was first
//! seen (the ledger and the snapshot tags), the selectors that name them, and
//! the Gerrit changes `pick` names and what Gerrit says of them now.

pub mod gerrit;
pub mod ledger;
pub mod live;
pub mod message;
pub mod selector;
pub mod snapshot_tags;
pub mod stack;
pub mod upstream;
