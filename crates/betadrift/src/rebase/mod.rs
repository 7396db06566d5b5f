//! What git's rebase would do with the stack: the in-memory prediction, the
//! explanation of each stop (hunks, culprit upstream commits) and the check
//! report built from both.

pub mod check;
pub mod culprits;
pub mod predict;
