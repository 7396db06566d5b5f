//! Line diffs and three-way merges that reproduce git's xdiff exactly.
