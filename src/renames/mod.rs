//! Rename detection that reproduces git's diffcore-rename as merge-ort drives it.
