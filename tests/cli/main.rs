//! betadrift's integration tests, in one test binary (linked once): each
//! command end to end on scenarios built in temp directories, and the
//! differential tests of `check` against the real `git rebase`.
//! Every test is hermetic: the process itself (`hermetic.rs`, before `main`)
//! and every git or betadrift it starts (`common::Sandbox::command`).

mod ages;
mod as_far_as_possible;
mod attributes;
mod bad_input;
mod check;
mod check_vs_git;
mod common;
mod completions;
mod consent;
mod drop;
mod fuzz;
mod gerrit_state;
#[path = "../hermetic.rs"]
mod hermetic;
mod layers;
mod owners;
mod pack;
mod phabricator_state;
mod pick;
mod replace_refs;
mod report;
mod resolve;
mod security;
mod status;
mod sync;
mod tidy;
mod undo;
