//! Everything betadrift shows: the JSON wire types and the renderers of each
//! format. Untrusted text is escaped here, where it is printed.

pub mod report;

use std::io::Write;

use crate::error::{Error, Result};

/// Writes a JSON document and a newline.
pub fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| stdout_error(e.into()))?;
    writeln!(out).map_err(stdout_error)
}

/// An error writing to standard output.
pub fn stdout_error(e: std::io::Error) -> Error {
    Error::io("writing", "standard output", e)
}
