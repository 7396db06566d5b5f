//! A checkout opened for a rewrite, shared by `drop` and `prune`.

use std::path::Path;
use std::time::Duration;

use super::{Done, Kind, Permit, Plan, Setup};
use crate::config::Config;
use crate::consent::Policy;
use crate::error::Result;
use crate::git::checkout::{Checkout, UpstreamArgs};
use crate::git::repo::Repo;
use crate::model::stack::Stack;
use crate::support::clock::Clock;
use betadrift_engine::objects::Overlay;

/// A checkout opened for a rewrite: its branch and upstream, its stack (with
/// first-seen times, which consent ages count from) and its consent policy.
#[derive(Debug)]
pub struct Session<'c> {
    pub checkout: Checkout,
    pub stack: Stack,
    pub policy: Policy,
    pub config: &'c Config,
    pub clock: Clock,
}

impl<'c> Session<'c> {
    /// Opens the checkout at `path` for `kind`; refuses a half-done git
    /// operation or uncommitted changes before reading anything else.
    pub fn open(
        path: Option<&Path>,
        upstream: &UpstreamArgs,
        config: &'c Config,
        clock: Clock,
        kind: Kind,
    ) -> Result<Self> {
        let checkout = Checkout::open(path, upstream, config)?;
        let state = super::state_dir(&checkout.repo, config, &checkout.name());
        super::refuse_unsafe_state(&checkout.repo, &state, kind)?;
        let policy = Policy::load(&checkout.policy_file(config))?;
        let stack = crate::model::ledger::load_dated(&checkout, config, clock.now)?;
        Ok(Session { checkout, stack, policy, config, clock })
    }

    /// The repository.
    pub fn repo(&self) -> &Repo {
        &self.checkout.repo
    }

    /// The tree of the branch tip now.
    pub fn old_tree(&self) -> Result<git2::Oid> {
        Ok(self.repo().commit_tree_and_time(self.stack.head.oid)?.0)
    }

    /// Carries out a checked plan.
    pub fn carry_out(
        &self,
        overlay: &Overlay<'_, Repo>,
        plan: &Plan,
        permit: Permit,
        lock_wait: Duration,
    ) -> Result<Done> {
        let setup = Setup::for_checkout(&self.checkout, Some(overlay), self.config, self.clock, lock_wait)?;
        super::execute(&setup, plan, permit)
    }
}
