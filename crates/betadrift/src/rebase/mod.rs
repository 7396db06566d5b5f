//! What git's rebase would do with the stack: the in-memory prediction, the
//! explanation of each stop (hunks, culprit upstream commits) and the check
//! report built from both, and how far upstream the stack can go when the
//! rebase onto the target would stop.

pub mod check;
pub mod culprits;
pub mod forward;
pub mod predict;
