//! Why a patch has the decision it has: the winning source and every source
//! that covered it and lost, as `consent explain` shows them.

use jiff::Timestamp;

use super::{Candidate, Decision, PatchFacts, Policy, Source, Verdict};
use crate::model::stack::Patch;

#[derive(Debug)]
/// One patch with its verdict and every source that covered it.
pub struct Explained<'a> {
    pub patch: &'a Patch,
    pub facts: PatchFacts<'a>,
    pub verdict: Verdict,
    pub candidates: Vec<Candidate>,
}

impl<'a> Explained<'a> {
    /// Evaluates `policy` for `patch` at `now`.
    pub fn of(policy: &Policy, patch: &'a Patch, now: Timestamp) -> Explained<'a> {
        let facts = PatchFacts::of(patch, now);
        Explained { patch, facts, verdict: policy.evaluate(&facts), candidates: policy.candidates(&facts) }
    }

    /// Sources that covered the patch and lost (the built-in default only counts when it wins).
    pub fn overruled(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates.iter().skip(1).filter(|c| c.source != Source::Builtin)
    }

    /// When an `after` decision starts to allow removal (never known for a
    /// patch whose arrival nothing dates).
    pub fn allowed_from(&self) -> Option<Timestamp> {
        match self.verdict.decision {
            Decision::After(wait) => self.patch.arrived()?.checked_add(wait).ok(),
            _ => None,
        }
    }
}
