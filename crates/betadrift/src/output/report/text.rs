//! The plain-text report: for mail and the journal.
//!
//! No colour and no terminal control of any kind: it is read in mail
//! clients, `journalctl` and `less`, often long after it was written.
//! Untrusted text arrives terminal-safe from [`super::view`].

use std::io::{Result, Write};

use super::view;
use crate::output::check::render_stop;
use crate::overview::owners::OwnerFilter;
use crate::overview::report::{Facts, RepoReport, Report};

/// Writes the text report.
pub fn render(report: &Report, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "{}", view::headline(report))?;
    for r in &report.repos {
        writeln!(out)?;
        writeln!(out, "== {} ==", view::repo_title(r))?;
        for problem in &r.problems {
            writeln!(out, "FAILED       {}", crate::support::escape::terminal(problem.as_bytes()))?;
        }
        if let Some(f) = r.facts.as_deref() {
            render_repo(report, r, f, out)?;
        }
    }
    Ok(())
}

fn render_repo(report: &Report, r: &RepoReport, f: &Facts, out: &mut dyn Write) -> Result<()> {
    for (label, value) in view::summary(r, f) {
        writeln!(out, "{label:<12} {value}")?;
    }
    writeln!(out)?;
    if f.patches().is_empty() {
        writeln!(out, "no local patches: the branch is upstream as of the merge base")?;
    } else {
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::NOTHING);
        table.set_header(view::PATCHES);
        for row in view::patch_rows(f) {
            table.add_row(row.to_vec());
        }
        write_table(out, &table)?;
    }
    for stop in view::stops(f, r.private) {
        render_stop(out, &stop)?;
    }
    let stale = view::stale_rows(f);
    if !stale.is_empty() {
        writeln!(out)?;
        writeln!(out, "Stale: {}", view::stale_rule(report))?;
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::NOTHING);
        table.set_header(view::STALE);
        for row in stale {
            table.add_row(row);
        }
        write_table(out, &table)?;
    }
    let actions = view::actions(f);
    if !actions.is_empty() {
        writeln!(out)?;
        writeln!(out, "Suggested actions:")?;
        write_commands(out, &actions, "  ")?;
    }
    let (people, tasks) = view::owners(f);
    for (title, sections) in [(view::OWNERS_BY_PERSON, people), (view::OWNERS_BY_TASK, tasks)] {
        if !sections.is_empty() {
            writeln!(out)?;
            writeln!(out, "{title}:")?;
            for section in &sections {
                render_owner(out, section, "  ")?;
            }
        }
    }
    let dirty = view::dirty_rows(f);
    if !dirty.is_empty() {
        writeln!(out)?;
        writeln!(out, "Dirty files:")?;
        for (kind, path) in dirty {
            writeln!(out, "  {kind:<10} {path}")?;
        }
    }
    Ok(())
}

/// One owner's section: the patches, what each needs, and the commands.
fn render_owner(out: &mut dyn Write, section: &view::OwnerSection, indent: &str) -> Result<()> {
    writeln!(out, "{indent}{}", section.title)?;
    render_owner_body(out, section, indent)
}

/// The patches of one owner's section, and the commands.
fn render_owner_body(out: &mut dyn Write, section: &view::OwnerSection, indent: &str) -> Result<()> {
    for [position, commit, subject, tasks, what] in &section.rows {
        let tasks = if tasks == "-" { String::new() } else { format!(" ({tasks})") };
        writeln!(out, "{indent}  #{position} {commit} {subject}{tasks}")?;
        writeln!(out, "{indent}    {what}")?;
    }
    write_commands(out, &section.commands, &format!("{indent}  "))
}

/// Commands under the reasons for them, as shell comments.
fn write_commands(out: &mut dyn Write, commands: &[(Vec<String>, String)], indent: &str) -> Result<()> {
    for (whys, command) in commands {
        for why in whys {
            writeln!(out, "{indent}# {why}")?;
        }
        writeln!(out, "{indent}{command}")?;
    }
    Ok(())
}

/// Writes `report --owner`/`--task`: the sections asked for, per repository.
pub fn render_owners(report: &Report, filter: &OwnerFilter, out: &mut dyn Write) -> Result<()> {
    for (r, f) in report.repos.iter().filter_map(|r| r.facts.as_deref().map(|f| (r, f))) {
        for section in view::owner_sections(f, filter) {
            writeln!(out, "{}", view::owner_headline(report, r, &section.title))?;
            render_owner_body(out, &section, "")?;
        }
    }
    Ok(())
}

fn write_table(out: &mut dyn Write, table: &comfy_table::Table) -> Result<()> {
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
