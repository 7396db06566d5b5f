//! Everything betadrift shows: the text of each command's findings, the
//! report in each format, and every JSON wire type (in `json`), each once.
//! Untrusted text (messages, names, paths) is escaped here, where it is
//! printed, never where it is read.

pub mod check;
pub mod consent;
pub mod json;
pub mod report;
pub mod rewrite;
pub mod status;

use std::io::Write;

use crate::error::{Error, Result};

/// Writes a JSON document and a newline.
pub fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| Error::stdout(e.into()))?;
    writeln!(out).map_err(Error::stdout)
}
