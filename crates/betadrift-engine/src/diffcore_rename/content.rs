// Follows git's diffcore-rename.c (GPL-2.0-only); see NOTICE.
//! Where rename detection gets blob contents, and the caches in front of it.
//!
//! Rename detection reads blobs only for inexact matching, and git reads them
//! lazily: first the size (to rule out pairs whose sizes differ too much),
//! then the content.  A blob may be missing (partial clones), so every read
//! can fail; the failure is reported with the oid and path that needed it.

use std::borrow::Cow;
use std::collections::HashMap;

use git2::Oid;

use super::Side;
use super::similarity::{Fingerprint, is_binary, score_from_copied, sizes_rule_out};

/// The error a [`BlobSource`] reports for a blob it cannot produce.
pub type BlobError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Supplies blob contents (and sizes) by object id.
pub trait BlobSource {
    /// Returns the content of blob `oid`.
    fn blob(&mut self, oid: Oid) -> Result<Cow<'_, [u8]>, BlobError>;

    /// Returns the size of blob `oid`; override when it is cheaper than
    /// reading the content (git reads only the object header here).
    fn size(&mut self, oid: Oid) -> Result<u64, BlobError> {
        Ok(self.blob(oid)?.len() as u64)
    }

    /// Whether gitattributes force `path` binary (`-diff`, `binary`, or a
    /// diff driver with `binary = true`: `Some(true)`) or text (`diff`:
    /// `Some(false)`); `None`, the default, lets the content decide (a NUL
    /// in the first 8000 bytes means binary).  Binary blobs keep the CR of
    /// CRLF in similarity estimates.
    fn forced_binary(&mut self, path: &[u8]) -> Option<bool> {
        let _ = path;
        None
    }
}

impl BlobSource for HashMap<Oid, Vec<u8>> {
    fn blob(&mut self, oid: Oid) -> Result<Cow<'_, [u8]>, BlobError> {
        match self.get(&oid) {
            Some(content) => Ok(Cow::Borrowed(content)),
            None => Err(format!("blob {oid} is not in the map").into()),
        }
    }
}

/// Adapts a closure `FnMut(Oid) -> Result<Vec<u8>, BlobError>` to a
/// [`BlobSource`].
#[derive(Debug)]
pub struct BlobFn<F>(pub F);

impl<F> BlobSource for BlobFn<F>
where
    F: FnMut(Oid) -> Result<Vec<u8>, BlobError>,
{
    fn blob(&mut self, oid: Oid) -> Result<Cow<'_, [u8]>, BlobError> {
        (self.0)(oid).map(Cow::Owned)
    }
}

/// Why rename detection could not finish.
#[derive(Debug, thiserror::Error)]
pub enum RenameError {
    /// A blob that similarity estimation needs could not be read.
    #[error("cannot read blob {oid} of '{path}' for rename detection")]
    UnreadableBlob {
        /// The blob that was asked for.
        oid: Oid,
        /// The path (lossily decoded) whose content it is.
        path: String,
        /// What the blob source reported.
        #[source]
        source: BlobError,
    },
}

/// Sizes and fingerprints of the blobs seen so far, by oid.
///
/// git caches both per file pair; content is all that either depends on, so
/// caching by oid gives the same answers with fewer reads.
pub(crate) struct ContentCache<'b, B: BlobSource> {
    blobs: &'b mut B,
    sizes: HashMap<Oid, u64>,
    prints: HashMap<(Oid, Option<bool>), Fingerprint>,
}

impl<'b, B: BlobSource> ContentCache<'b, B> {
    /// Wraps `blobs` with empty caches.
    pub(crate) fn new(blobs: &'b mut B) -> Self {
        Self { blobs, sizes: HashMap::new(), prints: HashMap::new() }
    }

    /// git's `estimate_similarity()`: how much of `dst` came from `src`.
    ///
    /// Non-regular files never match inexactly; pairs whose sizes already
    /// rule out `min_score` score 0 without their content being read.
    pub(crate) fn similarity(&mut self, src: &Side, dst: &Side, min_score: u32) -> Result<u32, RenameError> {
        if !is_regular(src.mode) || !is_regular(dst.mode) {
            return Ok(0);
        }
        let src_size = self.size(src)?;
        let dst_size = self.size(dst)?;
        if sizes_rule_out(src_size, dst_size, min_score) {
            return Ok(0);
        }
        let src_key = self.ensure_fingerprint(src)?;
        let dst_key = self.ensure_fingerprint(dst)?;
        let copied = self.prints[&src_key].copied_into(&self.prints[&dst_key]);
        Ok(score_from_copied(copied, src_size, dst_size))
    }

    /// The size of `side`'s blob, read from the source once.
    fn size(&mut self, side: &Side) -> Result<u64, RenameError> {
        if let Some(&size) = self.sizes.get(&side.oid) {
            return Ok(size);
        }
        let size = self.blobs.size(side.oid).map_err(|source| unreadable(side, source))?;
        self.sizes.insert(side.oid, size);
        Ok(size)
    }

    /// Makes sure `side`'s fingerprint is cached; returns its cache key.
    fn ensure_fingerprint(&mut self, side: &Side) -> Result<(Oid, Option<bool>), RenameError> {
        let key = (side.oid, self.blobs.forced_binary(&side.path));
        if self.prints.contains_key(&key) {
            return Ok(key);
        }
        let content = self.blobs.blob(side.oid).map_err(|source| unreadable(side, source))?;
        let binary = key.1.unwrap_or_else(|| is_binary(&content));
        let print = Fingerprint::with_binary(&content, binary);
        let size = content.len() as u64;
        self.sizes.insert(side.oid, size);
        self.prints.insert(key, print);
        Ok(key)
    }
}

/// Builds the error for an unreadable blob of `side`.
fn unreadable(side: &Side, source: BlobError) -> RenameError {
    RenameError::UnreadableBlob { oid: side.oid, path: String::from_utf8_lossy(&side.path).into_owned(), source }
}

/// Whether `mode` is a regular file (with or without the executable bit).
pub(crate) fn is_regular(mode: u32) -> bool {
    mode & 0o170000 == 0o100000
}
