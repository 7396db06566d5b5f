//! What a removal plan says, in one place for `drop` and `prune`: why each
//! patch leaves, whether its owner agreed, the rewrite that carries it out,
//! and the text an admin reads before anything is written.

use git2::Oid;
use jiff::{SignedDuration, Timestamp};

use super::replay::{Fate, Replay};
use crate::consent::{PatchFacts, Policy, Verdict};
use crate::error::{Error, Result};
use crate::model::stack::{Patch, Stack};
use crate::rewrite::{Change, Kind, Permit, Plan, Removal};
use crate::support::clock::human_age;
use crate::support::escape::{lossy, terminal};
use crate::support::ids::short_id;

/// Why a patch leaves the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Named on the command line.
    Asked,
    /// Would conflict without the removed patches (`--with-dependents`);
    /// the paths that would conflict.
    Dependent { paths: Vec<Vec<u8>> },
    /// Changes nothing once the removed patches are gone.
    Empty,
    /// Upstream has it (`prune --merged`); `differs` for another patchset.
    Merged { upstream: Option<Oid>, differs: bool },
    /// Older than the stale threshold, and its consent allows removal now.
    Stale { age: SignedDuration },
}

impl Why {
    /// Whether removal needs the owner's consent. Upstream already has a
    /// merged patch (the next rebase drops it anyway), and an empty one
    /// changes nothing: neither needs it.
    pub fn needs_consent(&self) -> bool {
        matches!(self, Why::Asked | Why::Dependent { .. } | Why::Stale { .. })
    }

    /// One phrase, for the plan table and the audit log (`lossy` paths).
    pub fn text(&self, path: impl Fn(&[u8]) -> String) -> String {
        let short = |oid: &Option<Oid>| oid.map_or_else(String::new, |o| format!(" as {}", short_id(o)));
        match self {
            Why::Asked => "asked for".to_owned(),
            Why::Dependent { paths: all } => {
                let paths: Vec<String> = all.iter().take(3).map(|p| path(p)).collect();
                let more = if all.len() > 3 { ", …" } else { "" };
                format!("depends on a removed patch (conflict in {}{more})", paths.join(", "))
            }
            Why::Empty => "becomes empty without the removed patches".to_owned(),
            Why::Merged { upstream, differs: false } => format!("merged upstream{}", short(upstream)),
            Why::Merged { upstream, differs: true } => {
                format!("merged upstream{} (another patchset)", short(upstream))
            }
            Why::Stale { age } => format!("stale: {} on the checkout", human_age(*age)),
        }
    }
}

/// A patch leaving the stack, why, and what the consent policy says of it.
#[derive(Debug, Clone)]
pub struct Leaving<'a> {
    pub patch: &'a Patch,
    pub why: Why,
    pub verdict: Verdict,
    /// How long it has been on the checkout; `None` when nothing dates it.
    pub age: Option<SignedDuration>,
}

impl<'a> Leaving<'a> {
    /// `patch` leaving for `why`, judged by `policy` at `now`.
    pub fn new(patch: &'a Patch, why: Why, policy: &Policy, now: Timestamp) -> Leaving<'a> {
        let facts = PatchFacts::of(patch, now);
        Leaving { patch, why, verdict: policy.evaluate(&facts), age: facts.age }
    }

    /// Whether this removal lacks the consent it needs.
    pub fn lacks_consent(&self) -> bool {
        self.why.needs_consent() && !self.verdict.allowed_now
    }

    /// The consent cell: `yes: allow, trailer`, `NO: ask, builtin`, `not needed`.
    pub fn consent_text(&self, forced: bool) -> String {
        let decision = format!("{}, {}", self.verdict.summary(self.age), self.verdict.source.as_str());
        match (self.why.needs_consent(), self.verdict.allowed_now, forced) {
            (false, ..) => "not needed".to_owned(),
            (true, true, _) => format!("yes: {decision}"),
            (true, false, true) => format!("FORCED: {decision}"),
            (true, false, false) => format!("NO: {decision}"),
        }
    }

    /// `#5 103d1c7386 (ask, from the built-in default)`.
    fn named(&self) -> String {
        format!(
            "#{} {} ({}, from {})",
            self.patch.position,
            short_id(self.patch.commit.oid),
            self.verdict.summary(self.age),
            terminal(self.verdict.source.to_string().as_bytes())
        )
    }
}

/// The leaving patches of a replay that the caller did not name: the
/// dependents and the ones that become empty.
pub fn consequences<'a>(stack: &'a Stack, replay: &Replay, policy: &Policy, now: Timestamp) -> Vec<Leaving<'a>> {
    let mut out = Vec::new();
    for (fate, patch) in replay.fates.iter().zip(&stack.patches) {
        let why = match fate {
            Fate::Dependent(stop) => Why::Dependent { paths: stop.unmerged.iter().map(|u| u.path.clone()).collect() },
            Fate::BecomesEmpty => Why::Empty,
            _ => continue,
        };
        out.push(Leaving::new(patch, why, policy, now));
    }
    out
}

/// The consent check: every removal that needs consent has it, or `force`
/// overrides it (and then the plan is marked forced). Returns the permit and
/// whether force was needed.
pub fn permit(leaving: &[Leaving], force: bool) -> Result<(Permit, bool)> {
    let lacking: Vec<&Leaving> = leaving.iter().filter(|l| l.lacks_consent()).collect();
    if lacking.is_empty() {
        return Ok((Permit::granted(), false));
    }
    if force {
        return Ok((Permit::granted(), true));
    }
    let names: Vec<String> = lacking.iter().map(|l| l.named()).collect();
    Err(Error::Usage(format!(
        "no consent to remove {}; nothing was changed. Record consent (`betadrift consent set`) or pass --force --reason TEXT",
        names.join(", ")
    )))
}

/// In stack order, without duplicates.
pub fn sort_leaving(leaving: &mut Vec<Leaving>) {
    leaving.sort_by_key(|l| l.patch.position);
    leaving.dedup_by_key(|l| l.patch.position);
}

/// The rewrite that carries out `replay`, with `leaving` recorded in the
/// audit log (each with its reason and consent).
pub fn rewrite_plan(
    kind: Kind,
    stack: &Stack,
    replay: &Replay,
    leaving: &[Leaving],
    old_tree: Oid,
    reason: Option<String>,
    forced: bool,
) -> Plan {
    let removed = leaving
        .iter()
        .map(|l| Removal {
            commit: l.patch.commit.oid.to_string(),
            position: l.patch.position,
            subject: lossy(&l.patch.message.subject),
            change_id: l.patch.message.change_id.clone(),
            why: format!("{}; consent: {}", l.why.text(lossy), l.consent_text(forced)),
        })
        .collect();
    Plan {
        kind,
        branch: stack.head.clone(),
        old_tree,
        change: Change::Commits { base: replay.base, commits: replay.planned_commits(stack) },
        new_tree: replay.new_tree,
        removed,
        reason,
        forced,
        upstream: None,
        snapshot_tag: None,
        recovering: None,
        undoes: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_is_needed_for_what_the_checkout_loses() {
        assert!(Why::Asked.needs_consent());
        assert!(Why::Dependent { paths: Vec::new() }.needs_consent());
        assert!(Why::Stale { age: SignedDuration::ZERO }.needs_consent());
        assert!(!Why::Empty.needs_consent());
        assert!(!Why::Merged { upstream: None, differs: true }.needs_consent());
    }

    #[test]
    fn reasons_read_as_phrases() {
        let paths = vec![b"a/\x1b[31m.pp".to_vec()];
        let text = Why::Dependent { paths }.text(terminal);
        assert_eq!(text, "depends on a removed patch (conflict in a/\\x1b[31m.pp)");
        let oid = Oid::from_str("4d48a19e00000000000000000000000000000000").unwrap();
        assert_eq!(Why::Merged { upstream: Some(oid), differs: false }.text(lossy), "merged upstream as 4d48a19e00");
        assert_eq!(Why::Stale { age: SignedDuration::from_hours(24 * 40) }.text(lossy), "stale: 40d on the checkout");
    }
}
