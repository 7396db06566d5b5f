//! The engine's one error type.
//!
//! The engine itself fails only when its object store does, or when rename
//! detection cannot read a blob it needs: both are passed up unchanged, so
//! the caller can tell its own store's errors apart and word them for users.

use crate::diffcore_rename::RenameError;

/// What the engine reports when it cannot finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object store could not produce an object; its own error, whole.
    #[error(transparent)]
    Store(Box<dyn std::error::Error + Send + Sync + 'static>),

    /// Rename detection could not read a blob it needed.
    #[error(transparent)]
    Rename(#[from] RenameError),

    /// The merge's own bookkeeping disagrees with itself: a bug in the
    /// engine, reported as an error (never a panic) naming what was missing.
    #[error("merge engine inconsistency, a bug: {0}")]
    Internal(&'static str),
}

/// `Option` → the engine's [`Error::Internal`] when what must be there is not.
pub(crate) trait OrInternal<T> {
    fn or_internal(self, what: &'static str) -> Result<T>;
}

impl<T> OrInternal<T> for Option<T> {
    fn or_internal(self, what: &'static str) -> Result<T> {
        self.ok_or(Error::Internal(what))
    }
}

impl Error {
    /// Wraps an object store's error.
    pub fn store(source: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Store(Box::new(source))
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_record_is_an_error_not_a_panic() {
        let e = None::<u8>.or_internal("rename target recorded").unwrap_err();
        assert!(matches!(e, Error::Internal("rename target recorded")));
        assert_eq!(e.to_string(), "merge engine inconsistency, a bug: rename target recorded");
        assert_eq!(Some(7).or_internal("x").unwrap(), 7);
    }
}
