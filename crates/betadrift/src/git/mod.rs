//! The git adapter: the only code that reads or writes a checkout through
//! libgit2 or runs `git` (the scenario builder creates its fixture
//! repositories with libgit2 itself, and touches no checkout).
//!
//! [`repo::Repo`] opens a checkout and reads refs, commits and
//! configuration ([`replace`]: the replace refs that make it refuse a
//! checkout); [`attributes`] reads what git's merges take from outside
//! the trees (attributes files, merge drivers); [`objects`] reads objects (through the engine's pack
//! reader, libgit2 for the rest) and [`history`] walks commits;
//! [`commit`] holds commits as plain data and parses their headers;
//! [`status`] says what is uncommitted (by `git status`);
//! [`parallel`] shares work with a second thread and its own handle;
//! [`checkout::Checkout`] is an opened puppetmaster checkout with its
//! upstream; [`write`] makes commits, refs and trees; [`cli`] runs the git
//! CLI on a checkout (`git fetch`); [`scratch`] is `resolve`'s
//! scratch worktree and the `git rebase` run there; [`maintenance`] keeps its object store
//! tidy after a rewrite; [`http`] makes HTTP(S) requests (by `curl`), for
//! upstream SHA URLs and the live state; [`gerrit`] asks Gerrit's REST API
//! about changes, [`phabricator`] Phabricator's Conduit API about tasks.

pub mod attributes;
pub mod checkout;
pub mod cli;
pub mod commit;
pub mod gerrit;
pub mod history;
pub mod http;
pub mod maintenance;
pub mod objects;
pub mod parallel;
pub mod phabricator;
pub mod replace;
pub mod repo;
pub mod scratch;
pub mod status;
pub mod verify_path;
pub mod write;
