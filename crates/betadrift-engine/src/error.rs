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
}

impl Error {
    /// Wraps an object store's error.
    pub fn store(source: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Store(Box::new(source))
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
