//! Everything betadrift shows: the JSON wire types and the renderers of each
//! format. Untrusted text is escaped here, where it is printed.

pub mod report;
