//! Short commit ids for text output: one width everywhere, so columns line up.

/// The width of a commit id in betadrift's text output: enough to be unique
/// in any real repository, fixed so that columns line up.
pub const SHORT_ID: usize = 10;

/// A commit id cut to [`SHORT_ID`] hex digits.
pub fn short_id(oid: git2::Oid) -> String {
    short_id_of(oid, SHORT_ID)
}

/// A commit id cut to `digits` hex digits (tables with many columns use 8).
pub fn short_id_of(oid: git2::Oid, digits: usize) -> String {
    let mut hex = oid.to_string();
    hex.truncate(digits);
    hex
}

/// A commit id already in hex, cut to [`SHORT_ID`] digits.
pub fn short_hex(hex: &str) -> &str {
    hex.get(..SHORT_ID).unwrap_or(hex)
}
