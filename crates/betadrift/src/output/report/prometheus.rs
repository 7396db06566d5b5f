//! The Prometheus textfile: what alerting sees.
//!
//! node-exporter's textfile collector reads `*.prom` files from a directory
//! on every scrape; the report writes one there atomically. Every metric
//! has HELP and TYPE lines, label values are escaped, and every series of a
//! repository that could be read is always present (zeros included), so
//! alert rules need no `absent()` tricks. A repository that failed has only
//! `betadrift_run_success{repo} 0`.

use std::io::{Result, Write};

use crate::model::upstream::UpstreamState;
use crate::overview::owners::Need;
use crate::support::escape::prometheus_label;

use crate::overview::report::{Facts, Report};

/// One metric family: name, help, and its samples (label pairs, value).
struct Family {
    name: &'static str,
    help: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Family {
    fn new(name: &'static str, help: &'static str) -> Family {
        Family { name, help, samples: Vec::new() }
    }

    fn add(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        self.samples.push((labels, value));
    }

    fn write(&self, out: &mut dyn Write) -> Result<()> {
        writeln!(out, "# HELP {} {}", self.name, self.help)?;
        writeln!(out, "# TYPE {} gauge", self.name)?;
        for (labels, value) in &self.samples {
            let labels: Vec<String> =
                labels.iter().map(|(k, v)| format!("{k}=\"{}\"", prometheus_label(v.as_bytes()))).collect();
            let labels = if labels.is_empty() { String::new() } else { format!("{{{}}}", labels.join(",")) };
            writeln!(out, "{}{labels} {value}", self.name)?;
        }
        Ok(())
    }
}

/// Per-repository gauges: name, help, and how to read the value.
type Gauge = (&'static str, &'static str, fn(&Facts) -> Option<f64>);

const GAUGES: &[Gauge] = &[
    ("betadrift_commits_behind_upstream", "Upstream commits the checkout does not have yet.", |f| {
        Some(f.status.stack.behind as f64)
    }),
    ("betadrift_predicted_conflicts", "Local patches the next rebase is predicted to stop on.", |f| {
        Some(f.stops() as f64)
    }),
    (
        "betadrift_held_back_commits",
        "Upstream commits `sync --as-far-as-possible` cannot take yet (0 when the next rebase goes through).",
        |f| Some(f.status.held_back.as_ref().map_or(0, |h| h.held_back()) as f64),
    ),
    (
        "betadrift_oldest_patch_age_seconds",
        "Age of the oldest local patch (first seen, else authored); 0 with none.",
        |f| Some(f.oldest_age().map_or(0, |d| d.as_secs().max(0)) as f64),
    ),
    ("betadrift_stale_patches", "Local patches older than the configured stale age.", |f| Some(f.stale.len() as f64)),
    ("betadrift_dirty_files", "Modified, staged, untracked and conflicted paths in the working tree.", |f| {
        Some(f.dirty_count() as f64)
    }),
    (
        "betadrift_operation_in_progress",
        "1 if a git rebase, merge, cherry-pick, revert, bisect or am, or a betadrift rewrite, is half-done.",
        |f| {
            Some(if f.status.operation.is_some() || f.status.unfinished.as_ref().is_some_and(|u| u.mid_update()) {
                1.0
            } else {
                0.0
            })
        },
    ),
    (
        "betadrift_rewrite_interrupted",
        "1 if an interrupted betadrift rewrite left the checkout mid-update (`betadrift undo` rolls it back).",
        |f| Some(if f.status.unfinished.as_ref().is_some_and(|u| u.mid_update()) { 1.0 } else { 0.0 }),
    ),
    (
        "betadrift_post_update_failed",
        "1 if the post-update command of the last rewrite failed, was interrupted or never finished.",
        |f| Some(if f.status.unfinished.as_ref().is_some_and(|u| u.post_update_failed()) { 1.0 } else { 0.0 }),
    ),
    (
        "betadrift_merge_base_timestamp_seconds",
        "Commit time of the merge base: how old the upstream the checkout is on is.",
        |f| Some(f.status.stack.merge_base_time.as_second() as f64),
    ),
    ("betadrift_last_fetch_timestamp_seconds", "Modification time of FETCH_HEAD (absent if never fetched).", |f| {
        f.status.last_fetch.map(|t| t.as_second() as f64)
    }),
];

/// The per-patch Gerrit series (`--online`): each patch's change status
/// (1 on the series of its status), and whether Gerrit has a newer
/// patchset than the local copy. Patches Gerrit does not know have none;
/// without `--online` the families are left out.
fn write_gerrit(loaded: &[(&str, &Facts)], out: &mut dyn Write) -> Result<()> {
    use crate::model::live::{ChangeStatus, LocalCopy};
    if loaded.iter().all(|(_, f)| f.status.live.is_none()) {
        return Ok(());
    }
    let mut status = Family::new(
        "betadrift_patch_gerrit_status",
        "1 on the series of the Gerrit status of each local patch's change (with --online).",
    );
    let mut outdated = Family::new(
        "betadrift_patch_outdated_patchset",
        "1 if Gerrit has an open change whose current patchset is not the local copy (with --online), else 0.",
    );
    for (repo, f) in loaded {
        let Some(live) = &f.status.live else { continue };
        for (p, c) in f.patches().iter().zip(&live.patches) {
            let Some(c) = c else { continue };
            let labels = |extra: Option<(&'static str, String)>| {
                let mut l = vec![
                    ("repo", (*repo).to_owned()),
                    ("position", p.position.to_string()),
                    ("change", c.number.to_string()),
                ];
                l.extend(extra);
                l
            };
            status.add(labels(Some(("status", c.status.as_str().to_owned()))), 1.0);
            let newer = c.status == ChangeStatus::New && c.local == LocalCopy::Differs;
            outdated.add(labels(None), if newer { 1.0 } else { 0.0 });
        }
    }
    status.write(out)?;
    outdated.write(out)
}

/// The per-patch Phabricator series (`--online` with `[phabricator] url`):
/// one per task a patch links that Phabricator (or the cache) knows, 1 when
/// it is closed (resolved, declined, invalid), else 0. Without it the
/// family is left out.
fn write_tasks(loaded: &[(&str, &Facts)], out: &mut dyn Write) -> Result<()> {
    if loaded.iter().all(|(_, f)| f.status.tasks.is_none()) {
        return Ok(());
    }
    let mut closed = Family::new(
        "betadrift_patch_task_closed",
        "1 if a task the local patch links is closed in Phabricator (resolved, declined, invalid; with --online), else 0.",
    );
    for (repo, f) in loaded {
        let Some(tasks) = &f.status.tasks else { continue };
        for p in f.patches() {
            for (task, state) in tasks.of(&p.message.tasks) {
                let Some(state) = state else { continue };
                let labels = vec![
                    ("repo", (*repo).to_owned()),
                    ("position", p.position.to_string()),
                    ("task", task.to_string()),
                ];
                closed.add(labels, if state.is_closed() { 1.0 } else { 0.0 });
            }
        }
    }
    closed.write(out)
}

/// Writes the metrics.
pub fn render(report: &Report, out: &mut dyn Write) -> Result<()> {
    let mut last_run = Family::new("betadrift_last_run_timestamp_seconds", "When betadrift report last ran.");
    last_run.add(Vec::new(), report.generated_at.as_second() as f64);
    last_run.write(out)?;

    let mut success = Family::new(
        "betadrift_run_success",
        "1 if the repository was read (and its ledger recorded) without error, else 0.",
    );
    for r in &report.repos {
        success.add(vec![("repo", r.name.clone())], if r.succeeded() { 1.0 } else { 0.0 });
    }
    success.write(out)?;

    let loaded: Vec<(&str, &Facts)> =
        report.repos.iter().filter_map(|r| r.facts.as_deref().map(|f| (r.name.as_str(), f))).collect();
    let mut patches = Family::new("betadrift_local_patches", "Local patches by what upstream has of them.");
    for (name, f) in &loaded {
        for state in UpstreamState::ALL {
            let n = f.patches().iter().filter(|p| p.upstream.state == state).count();
            patches.add(vec![("repo", (*name).to_owned()), ("state", state.as_str().to_owned())], n as f64);
        }
    }
    patches.write(out)?;

    let mut needing = Family::new(
        "betadrift_patches_needing_owner",
        "Local patches that need their owner, by what: holds-back, stops, merged-differs, reverted, stale-ask.",
    );
    for (name, f) in &loaded {
        for kind in Need::KINDS {
            let n = f.owners.people.iter().flat_map(|o| &o.items).filter(|i| i.need.kind() == kind).count();
            needing.add(vec![("repo", (*name).to_owned()), ("need", kind.to_owned())], n as f64);
        }
    }
    needing.write(out)?;
    write_gerrit(&loaded, out)?;
    write_tasks(&loaded, out)?;

    for (name, help, value) in GAUGES {
        let mut family = Family::new(name, help);
        for (repo, f) in &loaded {
            if let Some(v) = value(f) {
                family.add(vec![("repo", (*repo).to_owned())], v);
            }
        }
        family.write(out)?;
    }
    Ok(())
}
