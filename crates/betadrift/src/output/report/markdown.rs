//! The Markdown report: pasted into a Phabricator task or a wiki page.
//!
//! Written for the common ground of CommonMark/GFM and Phabricator's
//! Remarkup: `##` headings, pipe tables, and 4-space indented code blocks.
//! Untrusted text in prose and table cells is escaped (no raw HTML, no
//! markup, `|` cannot split a cell, newlines are shown as `\n`). Conflicts
//! and commands go into indented code blocks, which nothing inside can end:
//! every line is indented and terminal-safe, so no line can dedent.

use std::io::{Result, Write};

use crate::support::escape::{markdown_cell, markdown_str};

use super::view::{self, StopView};
use crate::overview::owners::OwnerFilter;
use crate::overview::report::{Facts, RepoReport, Report};

/// Writes the Markdown report.
pub fn render(report: &Report, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "## {}", markdown_str(&view::headline(report)))?;
    for r in &report.repos {
        writeln!(out)?;
        writeln!(out, "### {}", markdown_str(&view::repo_title(r)))?;
        for problem in &r.problems {
            writeln!(out)?;
            writeln!(out, "**FAILED:** {}", markdown_str(&crate::support::escape::terminal(problem.as_bytes())))?;
        }
        if let Some(f) = r.facts.as_deref() {
            render_repo(report, r, f, out)?;
        }
    }
    Ok(())
}

fn render_repo(report: &Report, r: &RepoReport, f: &Facts, out: &mut dyn Write) -> Result<()> {
    writeln!(out)?;
    let summary: Vec<Vec<String>> = view::summary(r, f).into_iter().map(|(k, v)| vec![k.to_owned(), v]).collect();
    table(out, &["what", "value"], &summary)?;
    section(out, "Patches")?;
    let patches: Vec<Vec<String>> = view::patch_rows(f).into_iter().map(|r| r.to_vec()).collect();
    if patches.is_empty() {
        writeln!(out, "No local patches: the branch is upstream as of the merge base.")?;
    } else {
        table(out, &view::PATCHES, &patches)?;
    }
    let stops = view::stops(f, r.private);
    if !stops.is_empty() {
        section(out, "Predicted rebase stops")?;
        for stop in &stops {
            render_stop(out, stop)?;
        }
    }
    let stale = view::stale_rows(f);
    if !stale.is_empty() {
        section(out, &format!("Stale patches: {}", view::stale_rule(report)))?;
        table(out, &view::STALE, &stale)?;
    }
    let actions = view::actions(f);
    if !actions.is_empty() {
        section(out, "Suggested actions")?;
        code(out, &command_lines(&actions))?;
    }
    let (people, tasks) = view::owners(f);
    for (title, sections) in [(view::OWNERS_BY_PERSON, people), (view::OWNERS_BY_TASK, tasks)] {
        if !sections.is_empty() {
            section(out, title)?;
            for s in &sections {
                writeln!(out, "*{}*", markdown_str(&s.title))?;
                writeln!(out)?;
                render_owner_body(out, s)?;
            }
        }
    }
    let dirty: Vec<Vec<String>> = view::dirty_rows(f).into_iter().map(|(k, p)| vec![k.to_owned(), p]).collect();
    if !dirty.is_empty() {
        section(out, "Dirty files")?;
        table(out, &["state", "path"], &dirty)?;
    }
    Ok(())
}

/// Commands under the reasons for them, as shell comments.
fn command_lines(commands: &[(Vec<String>, String)]) -> Vec<String> {
    commands
        .iter()
        .flat_map(|(whys, cmd)| whys.iter().map(|w| format!("# {w}")).chain(std::iter::once(cmd.clone())))
        .collect()
}

/// One owner's patches (a table) and the commands (a code block).
fn render_owner_body(out: &mut dyn Write, s: &view::OwnerSection) -> Result<()> {
    let rows: Vec<Vec<String>> = s.rows.iter().map(|r| r.to_vec()).collect();
    table(out, &view::OWNER_ITEMS, &rows)?;
    writeln!(out)?;
    code(out, &command_lines(&s.commands))?;
    writeln!(out)
}

/// Writes `report --owner`/`--task`: the sections asked for, each ready to
/// paste into the owner's Phabricator task.
pub fn render_owners(report: &Report, filter: &OwnerFilter, out: &mut dyn Write) -> Result<()> {
    for (r, f) in report.repos.iter().filter_map(|r| r.facts.as_deref().map(|f| (r, f))) {
        for s in view::owner_sections(f, filter) {
            writeln!(out, "**{}**", markdown_str(&view::owner_headline(report, r, &s.title)))?;
            writeln!(out)?;
            render_owner_body(out, &s)?;
        }
    }
    Ok(())
}

fn section(out: &mut dyn Write, title: &str) -> Result<()> {
    writeln!(out)?;
    writeln!(out, "**{}**", markdown_str(title))?;
    writeln!(out)
}

/// A pipe table; every cell escaped.
fn table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let line = |cells: &mut dyn Iterator<Item = String>| format!("| {} |", cells.collect::<Vec<_>>().join(" | "));
    writeln!(out, "{}", line(&mut header.iter().map(|h| markdown_cell(h))))?;
    writeln!(out, "{}", line(&mut header.iter().map(|_| "---".to_owned())))?;
    for row in rows {
        writeln!(out, "{}", line(&mut row.iter().map(|c| markdown_cell(c))))?;
    }
    Ok(())
}

/// An indented code block of terminal-safe lines.
fn code(out: &mut dyn Write, lines: &[String]) -> Result<()> {
    for line in lines {
        writeln!(out, "    {line}")?;
    }
    Ok(())
}

fn render_stop(out: &mut dyn Write, stop: &StopView) -> Result<()> {
    writeln!(out, "**STOP at {}** {}", markdown_str(&stop.title), markdown_str(&stop.by))?;
    writeln!(out)?;
    let mut lines = Vec::new();
    for c in &stop.conflicts {
        lines.push(format!("CONFLICT ({})", c.heading()));
        lines.extend(c.culprits.iter().chain(&c.notes).map(|l| format!("  {l}")));
        for h in &c.hunks {
            lines.push(format!("  @@ {} @@", h.title));
            for (label, side) in &h.sides {
                lines.push(format!("  {label} changed it to:"));
                lines.extend(side.iter().map(|l| format!("    {l}")));
            }
        }
    }
    code(out, &lines)?;
    writeln!(out)
}
