//! betadrift: the drift between a puppetmaster's checkout and its upstream,
//! and safe ways to reduce it.
//!
//! The binary in `main.rs` only parses arguments and turns the result of
//! [`run`] into an exit code; everything else lives in this library so that
//! tests can drive it without spawning processes.

pub mod renames;
pub mod xdiff;
