//! The text of history rewrites: the plans of `drop`, `prune`, `sync` and
//! `pick`, a
//! refusal because remaining patches would conflict, and what a rewrite did.

use std::io::Write;

use crate::error::{Error, Result};
use crate::model::stack::Stack;
use crate::rebase::check::CheckReport;
use crate::rewrite::pick::{Incoming, PickReplay, Role};
use crate::rewrite::plan::Leaving;
use crate::rewrite::replay::{Fate, Replay};
use crate::rewrite::{Change, Done, Kind, Plan};
use crate::support::escape::{terminal, terminal_short};
use crate::support::ids::{short_hex, short_id};
use crate::support::words::{count, ranges};

/// Writes the plan: the leaving patches as a table, then what stays as it
/// is, what is replayed and what would conflict.
pub fn write_removal_plan(
    kind: Kind,
    stack: &Stack,
    replay: &Replay,
    leaving: &[Leaving],
    force: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{} {} of {} local patches from {}:\n",
        kind.as_str(),
        count(leaving.len(), "patch"),
        stack.patches.len(),
        terminal(stack.head.name.as_bytes()),
    )?;
    let mut table = super::table();
    table.set_header(["#", "commit", "subject", "author", "removed because", "consent"]);
    for l in leaving {
        let p = l.patch;
        table.add_row(vec![
            p.position.to_string(),
            short_id(p.commit.oid),
            terminal_short(&p.message.subject, 50),
            terminal_short(&p.commit.author.name, 20),
            l.why.text(|path| terminal_short(path, 60)),
            l.consent_text(force),
        ]);
    }
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;
    let positions = |keep: &dyn Fn(&Fate) -> bool| -> Vec<usize> {
        replay.indices(keep).into_iter().map(|i| stack.patches[i].position).collect()
    };
    let kept = positions(&|f| *f == Fate::Kept);
    let replayed = positions(&|f| matches!(f, Fate::Replayed { .. }));
    writeln!(out, "kept      {}", ranges_or(&kept, "none", "unchanged, same commits"))?;
    writeln!(out, "replayed  {}", ranges_or(&replayed, "none", "new commits, same authors and messages"))?;
    let first = replay.fates.iter().position(|f| *f != Fate::Kept).map_or(0, |i| stack.patches[i].position);
    writeln!(out, "onto      {} (the parent of #{first})", short_id(replay.base))
}

/// Writes why a replay cannot be carried out: the patches that would conflict.
pub fn write_conflicts(kind: Kind, stack: &Stack, replay: &Replay, out: &mut dyn Write) -> std::io::Result<()> {
    let conflicts = replay.conflicts();
    let verb = if conflicts.len() == 1 { "depends" } else { "depend" };
    writeln!(
        out,
        "\n{} refused, nothing was changed: {} {verb} on a removed patch and would conflict:",
        kind.as_str(),
        count(conflicts.len(), "remaining patch")
    )?;
    for (i, stop) in conflicts {
        let p = &stack.patches[i];
        let paths: Vec<String> = stop.unmerged.iter().take(3).map(|u| terminal_short(&u.path, 60)).collect();
        writeln!(
            out,
            "  #{} {} {}: conflict in {}",
            p.position,
            short_id(p.commit.oid),
            terminal_short(&p.message.subject, 60),
            paths.join(", ")
        )?;
    }
    Ok(())
}

/// `#1-#4, #6` and a note, or `none`.
fn ranges_or(positions: &[usize], none: &str, note: &str) -> String {
    if positions.is_empty() {
        return none.to_owned();
    }
    format!("{} ({note})", ranges(positions))
}

/// Writes what `sync` will do: the rebase, and each patch it drops.
pub fn write_sync_plan(plan: &Plan, report: &CheckReport, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &report.stack;
    let kept = match &plan.change {
        Change::Commits { commits, .. } => commits.len(),
        Change::Existing(_) => 0,
    };
    writeln!(
        out,
        "rebase {} onto {} ({}): {} kept, {} dropped",
        terminal(s.head.name.as_bytes()),
        terminal(s.upstream.name.as_bytes()),
        count(s.behind, "new upstream commit"),
        count(kept, "patch"),
        plan.removed.len()
    )?;
    write_removals(&plan.removed, out)
}

/// One line per patch a rewrite drops: position, commit, subject, why.
pub fn write_removals(removed: &[crate::rewrite::Removal], out: &mut dyn Write) -> std::io::Result<()> {
    for r in removed {
        writeln!(
            out,
            "  drop #{} {} {}: {}",
            r.position,
            short_hex(&r.commit),
            terminal_short(r.subject.as_bytes(), 60),
            r.why
        )?;
    }
    Ok(())
}

/// Writes what `pick` will do: each incoming patchset, where it goes, and
/// the patches cherry-picked again above a replaced one.
pub fn write_pick_plan(
    stack: &Stack,
    replay: &PickReplay,
    incoming: &[Incoming],
    fetch_url: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for (i, role) in replay.roles.iter().enumerate() {
        let Role::Incoming { incoming: k, replaces } = *role else { continue };
        let inc = &incoming[k];
        writeln!(out, "pick {} ({}) from {}", inc.name(), short_id(inc.commit.oid), terminal(fetch_url.as_bytes()))?;
        writeln!(
            out,
            "  {} by {}",
            terminal_short(&inc.message.subject, 70),
            terminal_short(&inc.commit.author.name, 40)
        )?;
        match replaces {
            Some(old) => {
                let p = &stack.patches[old];
                writeln!(
                    out,
                    "  replaces  #{} {} in place (#{})",
                    p.position,
                    short_id(p.commit.oid),
                    replay.position(i)
                )?
            }
            None => writeln!(out, "  adds      #{} on top", replay.position(i))?,
        }
    }
    let replayed: Vec<usize> = replay
        .roles
        .iter()
        .filter_map(|r| match r {
            Role::Reapplied(i) => Some(stack.patches[*i].position),
            Role::Incoming { .. } => None,
        })
        .collect();
    writeln!(
        out,
        "kept      {}",
        ranges_or(&(1..=replay.first).collect::<Vec<_>>(), "none", "unchanged, same commits")
    )?;
    writeln!(out, "replayed  {}", ranges_or(&replayed, "none", "new commits, same authors and messages"))
}

/// Tells what a rewrite did: where the branch moved, the backup ref that
/// `undo` returns to, the snapshot tag, and any warning. A failed
/// post-update command is then the error of [`Done::post_update_result`].
pub fn write_done(plan: &Plan, done: &Done, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "\nmoved {} from {} to {}", plan.branch.refname, short_id(done.old_head), short_id(done.new_head))
        .map_err(Error::stdout)?;
    writeln!(out, "backup of the old tip: {}  (betadrift undo puts it back)", done.backup).map_err(Error::stdout)?;
    if let Some(tag) = &plan.snapshot_tag
        && done.warnings.iter().all(|w| !w.starts_with("snapshot tag"))
    {
        writeln!(out, "tagged {tag}").map_err(Error::stdout)?;
    }
    for w in &done.warnings {
        writeln!(out, "warning: {}", terminal(w.as_bytes())).map_err(Error::stdout)?;
    }
    done.post_update_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_positions_read_as_the_word_given() {
        assert_eq!(ranges_or(&[], "none", "x"), "none");
        assert_eq!(ranges_or(&[2, 3], "none", "kept"), "#2-#3 (kept)");
    }
}
