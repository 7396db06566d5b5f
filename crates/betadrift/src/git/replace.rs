//! Replace refs (`git replace`): which ones git would honour here.
//!
//! git reads the object a replace ref points at wherever the object it
//! names is read, commits included, so history walks, merges and
//! patch-ids all see the replacement. betadrift's readers (its pack
//! reader, libgit2's walks and merge bases) do not, so
//! [`crate::git::repo::Repo::discover`] refuses a checkout where git would
//! honour one (see docs/security.md), rather than answer for another
//! history than git's. git honours none with `GIT_NO_REPLACE_OBJECTS` set
//! (to anything) or `core.useReplaceRefs=false`, and finds them under
//! `GIT_REPLACE_REF_BASE` (default `refs/replace/`) when the last part of
//! the name is a full object id (`register_replace_ref`).

use crate::error::{GitContext, Result};
use crate::git::repo::Repo;

impl Repo {
    /// The names of the replace refs git would honour (raw bytes), sorted.
    pub fn replace_refs(&self) -> Result<Vec<Vec<u8>>> {
        if std::env::var_os("GIT_NO_REPLACE_OBJECTS").is_some() {
            return Ok(Vec::new());
        }
        let enabled = self.git().config().ok().and_then(|c| c.get_bool("core.useReplaceRefs").ok());
        if enabled == Some(false) {
            return Ok(Vec::new());
        }
        let base = std::env::var_os("GIT_REPLACE_REF_BASE")
            .map_or_else(|| b"refs/replace/".to_vec(), |b| b.into_encoded_bytes());
        let refs = self.git().references().git_context(|| "listing refs".into())?;
        let mut names: Vec<Vec<u8>> = refs
            .flatten()
            .map(|r| r.name_bytes().to_vec())
            .filter(|name| name.starts_with(&base) && names_an_object(name))
            .collect();
        names.sort();
        Ok(names)
    }
}

/// Whether the last part of a replace ref's name is a full object id.
fn names_an_object(name: &[u8]) -> bool {
    let last = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
    last.len() == 40 && last.iter().all(u8::is_ascii_hexdigit)
}
