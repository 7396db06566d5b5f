//! The HTML report: one self-contained page to serve or mail.
//!
//! People open it on a phone when the alert fires, often from a web server
//! on the puppetmaster itself. So it is one file with inline CSS and nothing
//! else: no scripts, no fonts, no images, no links that load anything, and
//! a Content-Security-Policy that forbids all of it anyway. Tables turn into
//! cards on narrow screens. Every piece of data is escaped
//! ([`crate::support::escape::html_str`] over terminal-safe text), so commit
//! messages cannot add markup or attributes.

use std::io::{Result, Write};

use crate::model::upstream::UpstreamState;
use crate::rebase::predict::PickOutcome;
use crate::support::escape::html_str;

use super::view::{self, StopView};
use crate::overview::report::{Facts, RepoReport, Report};

/// The page's style sheet: system fonts, light and dark, cards below 700px.
const STYLE: &str = r#"
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #5b6470; --bg: #fff; --card: #f5f6f8;
  --line: #d8dce1; --bad: #b42318; --badbg: #fde8e6; --warn: #8a5a00; --warnbg: #fff4d6;
  --ok: #1a7f37; --okbg: #e6f4ea; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #a0a8b3; --bg: #15181c; --card: #1f242a;
  --line: #353c44; --bad: #ff8a80; --badbg: #3a1c1a; --warn: #f5c451; --warnbg: #3a2f12; --ok: #7ee2a0;
  --okbg: #143322; } }
* { box-sizing: border-box; }
body { margin: 0 auto; padding: 12px; max-width: 1200px; font: 15px/1.45 system-ui, -apple-system, "Segoe UI",
  Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.3em; margin: 0 0 4px; } h2 { font-size: 1.15em; margin: 0; } h3 { font-size: 1em; margin: 18px 0 6px; }
h4 { font-size: .95em; margin: 12px 0 4px; overflow-wrap: anywhere; }
.headline { color: var(--muted); margin: 0 0 12px; overflow-wrap: anywhere; }
section.repo { border: 1px solid var(--line); border-radius: 8px; padding: 12px; margin: 0 0 16px; }
.title { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; overflow-wrap: anywhere; }
.badge { font-size: .8em; font-weight: 600; padding: 2px 8px; border-radius: 999px; white-space: nowrap; }
.bad { color: var(--bad); background: var(--badbg); } .warn { color: var(--warn); background: var(--warnbg); }
.ok { color: var(--ok); background: var(--okbg); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 10px 0; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; font-size: .92em; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; white-space: nowrap; }
td { overflow-wrap: anywhere; }
tr.stop td { background: var(--badbg); } tr.gone td { color: var(--muted); }
code, pre { font: .88em/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
pre { background: var(--card); border-radius: 6px; padding: 8px; overflow-x: auto; margin: 6px 0; }
pre.cmd { white-space: pre-wrap; overflow-wrap: anywhere; }
.stopbox { border-left: 4px solid var(--bad); padding: 2px 0 2px 10px; margin: 10px 0; }
.muted { color: var(--muted); }
ul { margin: 4px 0; padding-left: 20px; } li { overflow-wrap: anywhere; }
@media (max-width: 700px) {
  body { padding: 8px; font-size: 14px; }
  dl { grid-template-columns: 6.5em 1fr; gap: 2px 8px; }
  table.cards thead { display: none; }
  table.cards tr { display: block; border: 1px solid var(--line); border-radius: 6px; margin: 0 0 8px; padding: 4px 0; }
  table.cards td { display: grid; grid-template-columns: 6.5em 1fr; gap: 8px; border: 0; padding: 2px 8px; }
  table.cards td::before { content: attr(data-label); color: var(--muted); }
}
"#;

/// Writes the HTML report.
pub fn render(report: &Report, out: &mut dyn Write) -> Result<()> {
    let headline = view::headline(report);
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, "<html lang=\"en\">")?;
    writeln!(out, "<head>")?;
    writeln!(out, "<meta charset=\"utf-8\">")?;
    writeln!(out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")?;
    writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    )?;
    writeln!(out, "<meta name=\"robots\" content=\"noindex\">")?;
    writeln!(out, "<title>{}</title>", html_str(&headline))?;
    writeln!(out, "<style>{STYLE}</style>")?;
    writeln!(out, "</head>")?;
    writeln!(out, "<body>")?;
    writeln!(out, "<h1>betadrift report</h1>")?;
    writeln!(out, "<p class=\"headline\">{}</p>", html_str(&headline))?;
    for r in &report.repos {
        render_repo(report, r, out)?;
    }
    writeln!(out, "</body>")?;
    writeln!(out, "</html>")
}

fn render_repo(report: &Report, r: &RepoReport, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "<section class=\"repo\">")?;
    writeln!(out, "<div class=\"title\"><h2>{}</h2>{}</div>", html_str(&view::repo_title(r)), badges(r))?;
    for problem in &r.problems {
        writeln!(out, "<p class=\"bad\">FAILED: {}</p>", crate::support::escape::html(problem.as_bytes()))?;
    }
    if let Some(f) = r.facts.as_deref() {
        writeln!(out, "<dl>")?;
        for (k, v) in view::summary(r, f) {
            writeln!(out, "<dt>{}</dt><dd>{}</dd>", html_str(k), html_str(&v))?;
        }
        writeln!(out, "</dl>")?;
        render_facts(report, r, f, out)?;
    }
    writeln!(out, "</section>")
}

/// Status badges: failed, stops, stale, dirty, or all clear.
fn badges(r: &RepoReport) -> String {
    let Some(f) = r.facts.as_deref() else { return badge("bad", "FAILED") };
    let mut out = String::new();
    if !r.problems.is_empty() {
        out += &badge("bad", "PROBLEMS");
    }
    if f.stops() > 0 {
        out += &badge("bad", &format!("rebase stops ×{}", f.stops()));
    }
    if f.status.operation.is_some() {
        out += &badge("bad", "operation in progress");
    }
    if let Some(u) = &f.status.unfinished {
        if u.mid_update() {
            out += &badge("bad", "interrupted rewrite");
        } else if u.post_update_failed() {
            out += &badge("bad", "post-update failed");
        }
    }
    if !f.stale.is_empty() {
        out += &badge("warn", &format!("{} stale", f.stale.len()));
    }
    if f.dirty_count() > 0 {
        out += &badge("warn", "dirty");
    }
    if out.is_empty() { badge("ok", "in sync") } else { out }
}

fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"badge {class}\">{}</span>", html_str(text))
}

/// The sections, most urgent first: on a phone, what made the alert fire
/// must not be below thirteen patch cards.
fn render_facts(report: &Report, r: &RepoReport, f: &Facts, out: &mut dyn Write) -> Result<()> {
    let stops = view::stops(f, r.private);
    if !stops.is_empty() {
        writeln!(out, "<h3>Predicted rebase stops</h3>")?;
        for stop in &stops {
            render_stop(out, stop)?;
        }
    }
    let actions = view::actions(f);
    if !actions.is_empty() {
        writeln!(out, "<h3>Suggested actions</h3>")?;
        commands(out, &actions)?;
    }
    let (people, tasks) = view::owners(f);
    for (title, sections) in [(view::OWNERS_BY_PERSON, people), (view::OWNERS_BY_TASK, tasks)] {
        if !sections.is_empty() {
            writeln!(out, "<h3>{}</h3>", html_str(title))?;
            for s in &sections {
                writeln!(out, "<h4>{}</h4>", html_str(&s.title))?;
                let rows: Vec<Vec<String>> = s.rows.iter().map(|r| r.to_vec()).collect();
                table(out, &view::OWNER_ITEMS, &rows, &[])?;
                commands(out, &s.commands)?;
            }
        }
    }
    let stale = view::stale_rows(f);
    if !stale.is_empty() {
        writeln!(out, "<h3>Stale patches</h3>")?;
        writeln!(out, "<p class=\"muted\">{}</p>", html_str(&view::stale_rule(report)))?;
        table(out, &view::STALE, &stale, &[])?;
    }
    render_patches(f, out)?;
    let dirty = view::dirty_rows(f);
    if !dirty.is_empty() {
        writeln!(out, "<h3>Dirty files</h3>")?;
        writeln!(out, "<ul>")?;
        for (kind, path) in dirty {
            writeln!(out, "<li><span class=\"muted\">{kind}</span> <code>{}</code></li>", html_str(&path))?;
        }
        writeln!(out, "</ul>")?;
    }
    Ok(())
}

/// Commands under the reasons for them.
fn commands(out: &mut dyn Write, commands: &[(Vec<String>, String)]) -> Result<()> {
    for (whys, command) in commands {
        let whys: Vec<String> = whys.iter().map(|w| html_str(w)).collect();
        writeln!(out, "<p class=\"muted\">{}</p><pre class=\"cmd\">{}</pre>", whys.join("<br>"), html_str(command))?;
    }
    Ok(())
}

fn render_patches(f: &Facts, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "<h3>Patches</h3>")?;
    if f.patches().is_empty() {
        return writeln!(out, "<p class=\"muted\">No local patches: the branch is upstream as of the merge base.</p>");
    }
    let picks = &f.check.prediction.picks;
    let classes: Vec<&str> = f.patches().iter().zip(picks).map(|(p, pick)| row_class(p, &pick.outcome)).collect();
    let rows: Vec<Vec<String>> = view::patch_rows(f).into_iter().map(|r| r.to_vec()).collect();
    table(out, &view::PATCHES, &rows, &classes)
}

/// Highlights stopping patches and mutes the ones upstream already has.
fn row_class(p: &crate::model::stack::Patch, outcome: &PickOutcome) -> &'static str {
    if outcome.is_stop() {
        "stop"
    } else if p.upstream.state != UpstreamState::Pending {
        "gone"
    } else {
        ""
    }
}

/// A table that becomes cards on narrow screens; `classes` per row, if any.
fn table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>], classes: &[&str]) -> Result<()> {
    writeln!(out, "<table class=\"cards\">")?;
    let heads: String = header.iter().map(|h| format!("<th>{}</th>", html_str(h))).collect();
    writeln!(out, "<thead><tr>{heads}</tr></thead>")?;
    writeln!(out, "<tbody>")?;
    for (i, row) in rows.iter().enumerate() {
        let class = classes.get(i).filter(|c| !c.is_empty()).map_or_else(String::new, |c| format!(" class=\"{c}\""));
        let cells: String = row
            .iter()
            .zip(header)
            .map(|(cell, label)| format!("<td data-label=\"{}\">{}</td>", html_str(label), html_str(cell)))
            .collect();
        writeln!(out, "<tr{class}>{cells}</tr>")?;
    }
    writeln!(out, "</tbody>")?;
    writeln!(out, "</table>")
}

fn render_stop(out: &mut dyn Write, stop: &StopView) -> Result<()> {
    writeln!(out, "<div class=\"stopbox\">")?;
    writeln!(
        out,
        "<p><strong>STOP at {}</strong><br><span class=\"muted\">{}</span></p>",
        html_str(&stop.title),
        html_str(&stop.by)
    )?;
    for c in &stop.conflicts {
        writeln!(out, "<p>CONFLICT <code>{}</code></p>", html_str(&c.heading()))?;
        writeln!(out, "<ul>")?;
        for line in c.culprits.iter().chain(&c.notes) {
            writeln!(out, "<li>{}</li>", html_str(line))?;
        }
        writeln!(out, "</ul>")?;
        for h in &c.hunks {
            let mut text = format!("@@ {} @@\n", h.title);
            for (label, lines) in &h.sides {
                text += &format!("{label} changed it to:\n");
                for line in lines {
                    text += &format!("  {line}\n");
                }
            }
            writeln!(out, "<pre>{}</pre>", html_str(&text))?;
        }
    }
    writeln!(out, "</div>")
}
