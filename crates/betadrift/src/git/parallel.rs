//! Work shared with a second thread that has its own handle on the repository.
//!
//! A [`Repo`] is not `Send` (libgit2's handle and betadrift's caches are
//! single-threaded), yet on a two-core puppetmaster the costly scans
//! (patch-ids, first-seen times, culprits) finish sooner when a second
//! thread takes part. Every such split opens the repository again, by its
//! git directory, on the helper thread; this is the one place that does so.

use crate::error::Result;
use crate::git::repo::Repo;

/// Runs `helper` on a scoped thread with a freshly opened handle on `repo`'s
/// repository while `main` runs on this thread; returns both results, the
/// helper's last. Failing to open the second handle is the helper's error;
/// a panic on the helper thread is resumed here once `main` is done.
pub fn with_helper_thread<M, H>(
    repo: &Repo,
    helper: impl FnOnce(&Repo) -> Result<H> + Send,
    main: impl FnOnce() -> M,
) -> (M, Result<H>)
where
    H: Send,
{
    let git_dir = repo.git_dir();
    std::thread::scope(|s| {
        let helper = s.spawn(move || helper(&Repo::open_git_dir(git_dir)?));
        let mine = main();
        (mine, helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}
