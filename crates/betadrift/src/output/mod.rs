//! Everything betadrift shows: the text of each command's findings, the
//! report in each format, and every JSON wire type (in `json`), each once.
//! Untrusted text (messages, names, paths) is escaped here, where it is
//! printed, never where it is read.

pub mod check;
pub mod consent;
pub mod held_back;
pub mod json;
pub mod report;
pub mod resolve;
pub mod rewrite;
pub mod status;

use std::io::Write;

use crate::error::{Error, Result};

/// A table for text output: no borders and, on a terminal, cells wrapped
/// so each row fits its width (elsewhere, one row per line whatever its
/// length, for grep and mail).
pub fn table() -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    table
}

/// Writes a JSON document and a newline.
pub fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| Error::stdout(e.into()))?;
    writeln!(out).map_err(Error::stdout)
}

#[cfg(test)]
mod tests {
    /// On a terminal 60 columns wide, a plan's long subjects wrap inside
    /// their column: no line is wider than the terminal.
    #[test]
    fn tables_wrap_to_the_width_they_are_given() {
        let mut table = super::table();
        table.set_header(["#", "commit", "subject", "removed because"]);
        table.add_row(["1", "0123456789ab", &"a long subject ".repeat(8), &"because of many things ".repeat(4)]);
        table.set_width(60);
        let text = table.to_string();
        assert!(text.lines().count() > 2, "{text}");
        assert!(text.lines().all(|l| l.trim_end().chars().count() <= 60), "{text}");
    }
}
