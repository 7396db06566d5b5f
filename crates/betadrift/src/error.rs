//! The one error type of betadrift, and the one place exit codes are decided.
//!
//! Every failure a user can meet is a variant here, rendered as a single line
//! that says what went wrong, where, and what to do about it. Library code
//! returns these; `main` prints them and exits with [`Error::exit_code`].

use std::path::PathBuf;

/// Everything that can stop a betadrift command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The path is not inside a git repository.
    #[error("{} is not inside a git repository; pass --repo PATH or run betadrift in the checkout", .path.display())]
    NotARepository { path: PathBuf },

    /// The repository belongs to another user and git's `safe.directory`
    /// does not list it (git refuses it too: "dubious ownership").
    #[error("{} belongs to {owner}, not to the user running betadrift, and git's safe.directory does not list it; run betadrift as {owner} (e.g. `sudo -u {owner} betadrift ...`) or trust it with `git config --global --add safe.directory {}`", .path.display(), .path.display())]
    NotOwner { path: PathBuf, owner: String },

    /// The repository has no working tree.
    #[error("{} is a bare repository; betadrift needs the puppetmaster's checkout (a working tree)", .path.display())]
    BareRepository { path: PathBuf },

    /// The repository is a shallow clone, so merge bases cannot be trusted.
    #[error("{} is a shallow clone; run `git fetch --unshallow` so history can be compared", .path.display())]
    ShallowRepository { path: PathBuf },

    /// git reads replace refs in place of the objects they name; betadrift
    /// does not, so its answers would not be git's.
    #[error(
        "{} has {count} replace ref(s) ({first}) that git reads in place of the objects they name, and betadrift does not model them: remove them (`git replace -d`), or set GIT_NO_REPLACE_OBJECTS=1 or core.useReplaceRefs=false so git reads the objects as they are too",
        .path.display()
    )]
    ReplaceRefs { path: PathBuf, first: String, count: usize },

    /// HEAD does not point at a branch.
    #[error("HEAD of {} is detached at {oid}; check out the branch the sync timer rebases (e.g. `git switch production`)", .path.display())]
    DetachedHead { path: PathBuf, oid: String },

    /// HEAD points at a branch that has no commits yet.
    #[error("branch {branch} in {} has no commits yet", .path.display())]
    UnbornBranch { path: PathBuf, branch: String },

    /// The upstream to compare against cannot be resolved.
    #[error("upstream {spec} not found in {}: {hint}", .path.display())]
    UnknownUpstream { path: PathBuf, spec: String, hint: String },

    /// HEAD and upstream share no history.
    #[error("HEAD and upstream {upstream} have no common ancestor; is --upstream the right repository's branch?")]
    NoMergeBase { upstream: String },

    /// An object the command needs is not in the object store.
    #[error("object {oid} ({what}) is missing from {}; a partial or damaged clone? run `git fetch --refetch origin`", .path.display())]
    MissingObject { path: PathBuf, oid: String, what: String },

    /// An object the command needs is damaged: betadrift's reader found it
    /// and could not read it (libgit2 is not asked: it may crash on it).
    #[error("object {oid} is corrupt in {} ({why}); `git fsck` shows the damage, betadrift changed nothing", .file.display())]
    CorruptObject { oid: String, file: PathBuf, why: String },

    /// The configuration file cannot be read or parsed.
    #[error("config {}: {message}", .path.display())]
    Config { path: PathBuf, message: String },

    /// The consent policy file cannot be read or parsed (the file is left as it is).
    #[error("consent policy {}: {message}", .path.display())]
    Policy { path: PathBuf, message: String },

    /// A patch selector names no patch, names several where it must name one,
    /// or is not a selector at all.
    #[error("patch '{selector}': {message}")]
    Selector { selector: String, message: String },

    /// A command-line argument or input value is invalid.
    #[error("{0}")]
    Usage(String),

    /// A scenario description (fixture or demo) is invalid.
    #[error("scenario {name}: {message}")]
    Scenario { name: String, message: String },

    /// A file operation failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `report` wrote what it could, but some repositories failed.
    #[error("report incomplete: {problems}")]
    ReportIncomplete { problems: String },

    /// SIGINT or SIGTERM stopped a rewrite; the message says what state
    /// the checkout is in and what to run.
    #[error("{message}")]
    Interrupted { exit_code: u8, message: String },

    /// A bug in betadrift (a panic): never bad input, and said so.
    #[error("internal error, a bug in betadrift (please report it with the command line): {message}")]
    Internal { message: String },

    /// libgit2 reported an error not covered above.
    #[error("git: {context}: {message}")]
    Git { context: String, message: String },
}

/// The result type used across betadrift.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The process exit code for this error: 2 (bad input or a failure), never 1,
    /// which is reserved for "the command worked and found something" (a predicted
    /// conflict, a `--fail-on` match); 3 for a bug; 128 + the signal's number
    /// for an interrupted rewrite (130 for SIGINT, 143 for SIGTERM, as shells say).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Internal { .. } => 3,
            Error::Interrupted { exit_code, .. } => *exit_code,
            _ => 2,
        }
    }

    /// Wraps a libgit2 error with what betadrift was doing at the time.
    pub fn git(context: impl Into<String>, err: git2::Error) -> Error {
        Error::Git { context: context.into(), message: err.message().to_owned() }
    }

    /// An error writing to standard output.
    pub fn stdout(source: std::io::Error) -> Error {
        Error::io("writing", "standard output", source)
    }

    /// Wraps an I/O error with the action and path involved.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { action, path: path.into(), source }
    }
}

impl From<betadrift_engine::Error> for Error {
    /// An object store error comes back as the error betadrift's store
    /// raised; rename detection's as the libgit2-era wording users know.
    fn from(e: betadrift_engine::Error) -> Error {
        match e {
            betadrift_engine::Error::Store(source) => match source.downcast::<Error>() {
                Ok(own) => *own,
                Err(other) => Error::Git { context: "reading objects".into(), message: other.to_string() },
            },
            betadrift_engine::Error::Rename(e) => {
                Error::Git { context: "detecting renames".into(), message: e.to_string() }
            }
            // A bug, said as one (exit 3), never taken for bad input.
            e @ betadrift_engine::Error::Internal(_) => Error::Internal { message: e.to_string() },
        }
    }
}

/// Adds context to libgit2 results without a closure at every call site.
pub trait GitContext<T> {
    /// Turns a `git2::Error` into [`Error::Git`] with `context`.
    fn git_context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> GitContext<T> for std::result::Result<T, git2::Error> {
    fn git_context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::git(context(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_inconsistency_is_an_internal_error_with_its_own_exit_code() {
        let e = Error::from(betadrift_engine::Error::Internal("rename source recorded"));
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("a bug in betadrift"), "{e}");
        assert!(e.to_string().contains("rename source recorded"), "{e}");
    }
}
