//! The git adapter: the only code that talks to libgit2 or runs `git`.
//!
//! [`repo::Repo`] reads objects (through the engine's pack reader, libgit2
//! for the rest), refs and configuration; [`checkout::Checkout`] is an opened
//! puppetmaster checkout with its upstream; [`write`] makes commits, refs and
//! trees; [`http`] fetches an upstream SHA over HTTPS.

pub mod checkout;
pub mod http;
pub mod repo;
pub mod write;
