//! betadrift: the drift between a puppetmaster's checkout and its upstream,
//! and safe ways to reduce it.
//!
//! The binary in `main.rs` only parses arguments and turns the result of
//! [`run`] into an exit code; everything else lives in this library so that
//! tests can drive it without spawning processes. ARCHITECTURE.md at the top
//! of the repository describes the layers below and which may import which.

pub mod commands;
pub mod config;
pub mod consent;
pub mod error;
pub mod git;
pub mod model;
pub mod output;
pub mod overview;
pub mod rebase;
pub mod rewrite;
pub mod scenario;
pub mod support;

pub use commands::{Outcome, run};

// Unit tests run hermetic, as the integration tests do (see the file).
#[cfg(test)]
#[path = "../../../tests/hermetic.rs"]
mod hermetic;
