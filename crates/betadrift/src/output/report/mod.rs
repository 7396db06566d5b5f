//! The report's renderers, one per format, over one view of the facts.

pub mod html;

pub mod markdown;
pub mod prometheus;
pub mod text;
pub mod view;

use std::path::Path;

use crate::overview::owners::OwnerFilter;
use crate::overview::report::Report;

/// An output format of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Plain text for mail and the journal.
    Text,
    /// Markdown for a Phabricator task or a wiki page.
    Markdown,
    /// JSON (schema in docs/report.md).
    Json,
    /// One self-contained HTML page.
    Html,
    /// Prometheus textfile-collector metrics.
    Prometheus,
}

impl Format {
    /// The format a file name implies: `.txt`, `.md`, `.json`, `.html`, `.prom`.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "txt" | "log" => Some(Format::Text),
            "md" | "markdown" => Some(Format::Markdown),
            "json" => Some(Format::Json),
            "html" | "htm" => Some(Format::Html),
            "prom" => Some(Format::Prometheus),
            _ => None,
        }
    }
}

/// Renders only the owners' sections `filter` asks for (`report --owner`,
/// `--task`): text, or Markdown ready to paste into their task. `None` in
/// the formats that have no such view.
pub fn render_owners(report: &Report, filter: &OwnerFilter, format: Format) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        Format::Text => text::render_owners(report, filter, &mut out),
        Format::Markdown => markdown::render_owners(report, filter, &mut out),
        Format::Json | Format::Html | Format::Prometheus => return None,
    }
    .expect("writing to memory cannot fail");
    Some(out)
}

/// Renders the report in one format.
pub fn render(report: &Report, format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        Format::Text => text::render(report, &mut out),
        Format::Markdown => markdown::render(report, &mut out),
        Format::Json => crate::output::json::report::render(report, &mut out),
        Format::Html => html::render(report, &mut out),
        Format::Prometheus => prometheus::render(report, &mut out),
    }
    .expect("writing to memory cannot fail");
    out
}
