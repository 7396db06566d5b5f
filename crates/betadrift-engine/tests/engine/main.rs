//! The engine's tests against the real `git` binary, in one test binary:
//! xdiff (diffs and merges, including their speed on large inputs), rename
//! detection as diffcore-rename does it, and merge-ort's rename handling.
//! The git used is `$BETADRIFT_GIT`, else `git` on the PATH (CI points it at
//! git 2.47); every run is hermetic (no system or global config, TZ=UTC).

#[path = "../../../../tests/hermetic.rs"]
mod hermetic;
mod renames_merge_ort;
mod renames_speed;
mod renames_support;
mod renames_vs_git;
mod xdiff_speed;
mod xdiff_vs_git;
