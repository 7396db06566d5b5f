//! The git-compatible engine of betadrift.
//!
//! Everything here must give git's answer, byte for byte: reading objects
//! from packs and loose files, xdiff (Myers, histogram, patience, merge),
//! rename detection as diffcore-rename does it, merge-ort's tree merge and
//! patch-id. It knows nothing of puppetmasters, ledgers or consent; the
//! `betadrift` crate builds on it. Each module that follows a git source
//! file names it in its first line, and the workspace's NOTICE credits each
//! source with its licence (the project is GPL-2.0-only, as git is).

pub mod attr;
pub mod diffcore_rename;
pub mod error;
pub mod merge;
pub mod objects;
pub mod pack;
pub mod patchid;
pub mod wildmatch;
pub mod xdiff;

pub use error::{Error, Result};
