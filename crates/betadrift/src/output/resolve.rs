//! The words of `betadrift resolve`: where git stopped and why (the
//! predicted stop, worded once by [`super::check::StopView`], with its
//! culprit upstream commits, their authors and tasks), the commands to run
//! next, and what landing will do.

use std::io::Write;

use crate::git::scratch::RebaseRun;
use crate::rebase::check::CheckReport;
use crate::rebase::predict::PickOutcome;
use crate::rewrite::Plan;
use crate::rewrite::resolution::{Landing, Resolution};
use crate::support::escape::{terminal, terminal_short};
use crate::support::ids::short_id;
use crate::support::words::count;

/// Writes what `resolve` did: the rebase started in the scratch worktree,
/// where git stopped and why, and the next commands.
pub fn write_started(
    resolution: &Resolution,
    report: &CheckReport,
    run: &RebaseRun,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let dir = terminal(resolution.worktree.as_os_str().as_encoded_bytes());
    writeln!(
        out,
        "resolving {} ({}) onto {} ({}) in the scratch worktree {dir}",
        terminal(resolution.branch_name().as_bytes()),
        short_id(resolution.old_head),
        terminal(resolution.target_name.as_bytes()),
        short_id(resolution.target)
    )?;
    writeln!(out, "started by {} at {}", terminal(resolution.actor.as_bytes()), resolution.started)?;
    let RebaseRun::Stopped { conflicted } = run else {
        writeln!(out, "\ngit rebase ran through with no stop: {}.", count(report.stack.patches.len(), "patch"))?;
        writeln!(out, "\nLand it on the live checkout:\n  betadrift resolve --continue")?;
        writeln!(out, "or drop it: betadrift resolve --abort")?;
        return Ok(());
    };
    let paths: Vec<String> = conflicted.iter().map(|p| terminal_short(p, 200)).collect();
    writeln!(out, "\ngit rebase stopped: conflict in {}", paths.join(", "))?;
    write_predicted_stops(report, out)?;
    writeln!(out, "\nNext:")?;
    writeln!(out, "  cd {dir}")?;
    writeln!(out, "  resolve the conflicts with git's markers (git status, git diff, git mergetool)")?;
    writeln!(out, "  git add <each resolved file>")?;
    writeln!(out, "  git rebase --continue        (again at each further stop)")?;
    writeln!(out, "  betadrift resolve --continue (lands the result on the live checkout)")?;
    writeln!(out, "or drop it all: betadrift resolve --abort")?;
    Ok(())
}

/// The predicted stops, the first (where git is now) explained with its
/// culprits, the others listed.
fn write_predicted_stops(report: &CheckReport, out: &mut dyn Write) -> std::io::Result<()> {
    let stops: Vec<usize> = report
        .prediction
        .picks
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.outcome, PickOutcome::Conflict(_)))
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = stops.first() else { return Ok(()) };
    let patch = &report.stack.patches[first];
    let view = super::check::stop_view(patch, &report.details[first], report.private);
    super::check::render_stop(out, &view)?;
    if stops.len() > 1 {
        let later: Vec<String> = stops[1..].iter().map(|&i| format!("#{}", report.stack.patches[i].position)).collect();
        writeln!(out, "\ngit is predicted to stop again at {}", later.join(", "))?;
    }
    Ok(())
}

/// Writes what landing will do: the branch, the result, the patches kept
/// and those that leave (and why).
pub fn write_landing(
    plan: &Plan,
    landing: &Landing,
    resolution: &Resolution,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "landing the resolution of {} onto {} ({}) started by {} at {}",
        terminal(resolution.branch_name().as_bytes()),
        terminal(resolution.target_name.as_bytes()),
        short_id(resolution.target),
        terminal(resolution.actor.as_bytes()),
        resolution.started
    )?;
    let added = landing.new.patches.len() - landing.kept.len();
    writeln!(
        out,
        "{} -> {}: {} kept, {} dropped{}",
        short_id(plan.branch.oid),
        short_id(landing.new_head),
        count(landing.kept.len(), "patch"),
        plan.removed.len(),
        if added > 0 { format!(", {} added while resolving", count(added, "commit")) } else { String::new() }
    )?;
    super::rewrite::write_removals(&plan.removed, out)
}
