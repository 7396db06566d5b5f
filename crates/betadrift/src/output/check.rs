//! The text of `betadrift check`, and the one wording of a predicted stop
//! (its title, conflicts, culprits, notes and hunks) that `check`, `sync` and
//! every report format share.

use std::io::Write;

use crate::model::stack::Patch;
use crate::rebase::check::{CheckReport, ConflictDetail, Culprit, Hunk};
use crate::rebase::predict::PickOutcome;
use crate::support::escape::{terminal, terminal_short};
use crate::support::ids::{short_id, short_id_of};
use crate::support::words::count;
use betadrift_engine::merge::ConflictKind;
use betadrift_engine::xdiff;

/// Writes the human-readable prediction.
pub fn render_text(report: &CheckReport, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &report.stack;
    let p = &report.prediction;
    writeln!(out, "repository   {}", terminal(report.repo_path.as_bytes()))?;
    writeln!(
        out,
        "upstream     {} at {}, {} since the merge base {}",
        terminal(s.upstream.name.as_bytes()),
        short_id(s.upstream.oid),
        count(s.behind, "commit"),
        short_id(s.merge_base)
    )?;
    writeln!(out)?;
    if p.picks.is_empty() {
        writeln!(out, "no local patches: the rebase is a fast-forward")?;
        return Ok(());
    }
    let mut table = super::table();
    let mut header = vec!["#", "commit", "outcome", "subject"];
    let each = p.picks.iter().any(|pick| pick.alone.is_some());
    if each {
        header.insert(3, "alone");
    }
    table.set_header(header);
    for (pick, patch) in p.picks.iter().zip(&s.patches) {
        let mut row = vec![pick.position.to_string(), short_id(pick.commit), outcome_text(&pick.outcome)];
        if each {
            row.push(pick.alone.as_ref().map_or_else(String::new, outcome_text));
        }
        row.push(terminal_short(&patch.message.subject, 64));
        table.add_row(row);
    }
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    for ((pick, patch), details) in p.picks.iter().zip(&s.patches).zip(&report.details) {
        if pick.outcome.is_stop() {
            render_stop(out, &stop_view(patch, details, report.private))?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", verdict(report))?;
    writeln!(out, "result tree  {}", p.result_tree)
}

fn outcome_text(outcome: &PickOutcome) -> String {
    match outcome {
        PickOutcome::Applies => "applies".into(),
        PickOutcome::AlreadyUpstream { matched } => format!("already upstream ({})", short_id_of(*matched, 8)),
        PickOutcome::BecomesEmpty => "becomes empty, dropped".into(),
        PickOutcome::Conflict(_) => "STOPS: conflict".into(),
        PickOutcome::MergeCommit => "merge, dropped".into(),
        PickOutcome::Removed => "removed".into(),
    }
}

/// Writes one predicted stop as text: `check`, `sync` and the text report.
pub fn render_stop(out: &mut dyn Write, stop: &StopView) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(out, "STOP at {}", stop.title)?;
    writeln!(out, "  {}", stop.by)?;
    for c in &stop.conflicts {
        writeln!(out, "  CONFLICT ({}) {}", c.kind, c.paths)?;
        for culprit in &c.culprits {
            writeln!(out, "    {culprit}")?;
        }
        for note in &c.notes {
            writeln!(out, "    ({note})")?;
        }
        for h in &c.hunks {
            writeln!(out, "    @@ {} @@", h.title)?;
            for (label, lines) in &h.sides {
                writeln!(out, "    {label} changed it to:")?;
                for line in lines {
                    writeln!(out, "      {line}")?;
                }
            }
        }
    }
    Ok(())
}

/// One predicted stop, in words: what every format shows of it.
#[derive(Debug)]
pub struct StopView {
    /// `#7 07f0026bf4 subject`
    pub title: String,
    /// `by Ana Costa for T359010`
    pub by: String,
    pub conflicts: Vec<ConflictView>,
}

/// One conflict of a stop.
#[derive(Debug)]
pub struct ConflictView {
    /// git's conflict kind, as `CONFLICT (...)` names it in betadrift's words.
    pub kind: &'static str,
    /// The paths involved, `a <- b` where a rename brought one to the other.
    pub paths: String,
    /// One line per upstream commit blamed.
    pub culprits: Vec<String>,
    /// A remark instead of, or besides, the culprits.
    pub notes: Vec<String>,
    pub hunks: Vec<HunkView>,
}

impl ConflictView {
    /// `content: hieradata/common.yaml`
    pub fn heading(&self) -> String {
        format!("{}: {}", self.kind, self.paths)
    }
}

/// The conflicting lines of one region.
#[derive(Debug)]
pub struct HunkView {
    /// `line 12 of the patch's base`
    pub title: String,
    /// `("upstream", diff lines)`, `("this patch", diff lines)`.
    pub sides: [(&'static str, Vec<String>); 2],
}

/// The stop of `patch`, explained by `details`; a private repository's
/// contents are left out.
pub fn stop_view(patch: &Patch, details: &[ConflictDetail], private: bool) -> StopView {
    let tasks: Vec<String> = patch.message.tasks.iter().map(ToString::to_string).collect();
    StopView {
        title: format!(
            "#{} {} {}",
            patch.position,
            short_id(patch.commit.oid),
            terminal_short(&patch.message.subject, 80)
        ),
        by: format!(
            "by {}{}",
            terminal_short(&patch.commit.author.name, 40),
            if tasks.is_empty() { String::new() } else { format!(" for {}", tasks.join(" ")) }
        ),
        conflicts: details.iter().map(|d| conflict_view(d, patch.position > 1, private)).collect(),
    }
}

/// One conflict in words; `after_others` when local patches come before
/// this one (they may be what it conflicts with).
fn conflict_view(d: &ConflictDetail, after_others: bool, private: bool) -> ConflictView {
    let paths: Vec<String> = d.conflict.paths.iter().map(|p| terminal_short(p, 200)).collect();
    let mut notes = Vec::new();
    if d.culprits.is_empty() {
        // Lines upstream left alone but that differ on the rebased side were
        // changed by local patches below; with none below, nothing is known.
        let of_lines = matches!(
            d.conflict.kind,
            ConflictKind::Content
                | ConflictKind::AddAdd
                | ConflictKind::Binary
                | ConflictKind::Symlink
                | ConflictKind::Mode
        );
        notes.push(if of_lines && after_others {
            "no upstream commit since the merge base touched these lines: an earlier local patch did".into()
        } else {
            "no upstream commit since the merge base was found to cause it".into()
        });
    }
    if private && d.conflict.versions.is_some() {
        notes.push("private repository: contents not shown".into());
    }
    let hunks = if private { &[][..] } else { &d.hunks[..] };
    ConflictView {
        kind: d.conflict.kind.as_str(),
        paths: paths.join(" <- "),
        culprits: d.culprits.iter().map(|c| format!("caused by upstream {}", culprit_line(c))).collect(),
        notes,
        hunks: hunks
            .iter()
            .map(|h| HunkView { title: format!("line {} of the patch's base", h.base_start), sides: hunk_sides(h) })
            .collect(),
    }
}

fn culprit_line(c: &Culprit) -> String {
    let tasks: Vec<String> = c.message.tasks.iter().map(ToString::to_string).collect();
    format!(
        "{} \"{}\" by {}{}",
        short_id(c.commit),
        terminal_short(&c.message.subject, 70),
        terminal_short(&c.author.name, 40),
        if tasks.is_empty() { String::new() } else { format!(" ({})", tasks.join(", ")) }
    )
}

/// Each side of a conflicting hunk as diff lines against the base
/// (`- old`, `+ new`, `  same`), terminal-safe.
fn hunk_sides(h: &Hunk) -> [(&'static str, Vec<String>); 2] {
    let visible = |lines: &[Vec<u8>]| -> Vec<String> {
        lines.iter().map(|l| terminal(l.strip_suffix(b"\n").unwrap_or(l))).collect()
    };
    let base = visible(&h.base);
    let side = |new: &[Vec<u8>]| -> Vec<String> { diff_view(&base, &visible(new)) };
    [("upstream", side(&h.ours)), ("this patch", side(&h.theirs))]
}

/// `new` as diff lines against `base` (`- old`, `+ new`, `  same`), aligned
/// by git's own Myers diff, as `git diff` would align them.
fn diff_view(base: &[String], new: &[String]) -> Vec<String> {
    let bytes = |lines: &[String]| -> Vec<Vec<u8>> { lines.iter().map(|l| l.as_bytes().to_vec()).collect() };
    let (old_lines, new_lines) = (bytes(base), bytes(new));
    let old_refs: Vec<&[u8]> = old_lines.iter().map(Vec::as_slice).collect();
    let new_refs: Vec<&[u8]> = new_lines.iter().map(Vec::as_slice).collect();
    // Myers never gives up (only histogram can); were it to, show a replacement.
    let script = xdiff::diff_lines(&old_refs, &new_refs, xdiff::Algorithm::Myers)
        .unwrap_or_else(|_| vec![xdiff::Change { old: 0..base.len(), new: 0..new.len() }]);
    let end = xdiff::Change { old: base.len()..base.len(), new: new.len()..new.len() };
    let mut view = Vec::with_capacity(base.len() + new.len());
    let mut at = 0;
    for change in script.iter().chain([&end]) {
        view.extend(base[at..change.old.start].iter().map(|line| format!("  {line}")));
        view.extend(base[change.old.clone()].iter().map(|line| format!("- {line}")));
        view.extend(new[change.new.clone()].iter().map(|line| format!("+ {line}")));
        at = change.old.end;
    }
    view
}

fn verdict(report: &CheckReport) -> String {
    let p = &report.prediction;
    let stops: Vec<String> =
        p.picks.iter().filter(|x| x.outcome.is_stop()).map(|x| format!("#{}", x.position)).collect();
    let upstreamed = p.picks.iter().filter(|x| matches!(x.outcome, PickOutcome::AlreadyUpstream { .. })).count();
    let empty = p.picks.iter().filter(|x| x.outcome == PickOutcome::BecomesEmpty).count();
    let mut text = if stops.is_empty() {
        "The rebase will go through cleanly.".to_owned()
    } else {
        format!(
            "The rebase will stop {} time{}: {}.",
            stops.len(),
            if stops.len() == 1 { "" } else { "s" },
            stops.join(" ")
        )
    };
    if upstreamed + empty > 0 {
        text.push_str(&format!(" {upstreamed} already upstream and {empty} becoming empty will drop out."));
    }
    let chained: Vec<String> = p
        .picks
        .iter()
        .filter(|x| x.outcome.is_stop() && x.alone.as_ref().is_some_and(|a| !a.is_stop()))
        .map(|x| format!("#{}", x.position))
        .collect();
    if !chained.is_empty() {
        text.push_str(&format!(
            " Alone on upstream these would apply, so an earlier patch causes their stop: {}.",
            chained.join(" ")
        ));
    }
    text
}
