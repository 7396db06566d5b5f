//! `betadrift pick CHANGE[/PATCHSET]`: cherry-pick a Gerrit patchset onto
//! the checkout, with a record of who may remove it.
//!
//! By hand this is `git fetch <gerrit> refs/changes/NN/NNNNNN/P && git
//! cherry-pick FETCH_HEAD` as root: nothing checks that the patch applies
//! before the working tree is touched, a newer patchset ends up as a second
//! copy on top, and nobody writes down whether the patch may be removed.
//! `pick` fetches the patchset with git, predicts the cherry-pick with the
//! rebase engine (refusing with the conflict explanation), replaces an
//! older patchset of the same change in place, and carries the rewrite out
//! through [`crate::rewrite`] (lock, backup, journal, compare-and-swap,
//! post-update, audit line; `undo` takes it back), then records the consent
//! decision for the change and the first-seen ledger.

use std::io::Write;
use std::time::Duration;

use git2::Oid;

use super::{Context, Outcome, RepoArgs};
use crate::consent::{Decision, Policy, Rule, Scope, current_user};
use crate::error::{Error, Result};
use crate::git::gerrit::{ChangeInfo, change_ref, query};
use crate::git::repo::{HeadBranch, Repo};
use crate::model::gerrit::{ChangeRef, ChangeSpec, Site};
use crate::model::message::MessageInfo;
use crate::model::stack::{Stack, StackOptions};
use crate::output::check::{render_stop, stop_view};
use crate::output::rewrite::{write_done, write_pick_plan};
use crate::output::write_json;
use crate::rebase::check::explain_without_culprits;
use crate::rewrite::pick::{Incoming, PickReplay, Role, pick_plan, replay_with};
use crate::rewrite::session::Session;
use crate::rewrite::{Kind, Permit};
use crate::support::escape::terminal;
use crate::support::ids::short_id;
use betadrift_engine::objects::Overlay;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// The change: a number (1234567), a Change-Id (I…) or a change URL, with /PATCHSET for one patchset (default: the newest)
    #[arg(value_name = "CHANGE[/PATCHSET]", required_unless_present = "update", conflicts_with = "update")]
    pub change: Option<String>,

    /// Replace every local patch whose Gerrit change has a newer patchset (asks Gerrit, one query)
    #[arg(long)]
    pub update: bool,

    /// Who may remove the picked change later: allow, ask, never, or after DURATION [default: [pick] consent, else asked on a terminal]
    #[arg(long, value_name = "DECISION", num_args = 1..=2)]
    pub consent: Option<Vec<String>>,

    /// Why, recorded with the consent rule (e.g. the task comment that asked for the pick)
    #[arg(long, value_name = "TEXT", requires = "consent")]
    pub note: Option<String>,

    /// Show the plan and change nothing (nothing is fetched into a ref; the objects are)
    #[arg(long)]
    pub dry_run: bool,

    /// With --dry-run: print the plan as JSON (schema in docs/json.md)
    #[arg(long, requires = "dry_run")]
    pub json: bool,

    /// Seconds to wait for another betadrift working on the same repository
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub lock_wait: u64,
}

/// Runs `betadrift pick`.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let config = &ctx.config;
    let decision = consent_decision(args, config)?;
    let session =
        Session::open(args.repo.repo.as_deref(), &args.repo.upstream_args(), config, ctx.clock()?, Kind::Pick)?;
    let site = Site::of(config, session.repo(), &session.stack.head.name)?;
    let incoming = if args.update {
        outdated(&session, &site, out)?
    } else {
        let spec = ChangeSpec::parse(args.change.as_deref().unwrap_or_default())?;
        match one_change(&session, &site, &spec, out)? {
            Some(inc) => vec![inc],
            None => return Ok(Outcome::Clean),
        }
    };
    if incoming.is_empty() {
        writeln!(out, "every local patch is its change's current patchset: nothing to do").map_err(Error::stdout)?;
        return Ok(Outcome::Clean);
    }
    let overlay = Overlay::new(session.repo());
    let replay = replay_with(session.repo(), &overlay, &session.stack, &incoming)?;
    if let Some(outcome) = refuse_unless_clean(&session, &overlay, &replay, &incoming, out)? {
        return Ok(outcome);
    }
    if args.json {
        return write_json(
            out,
            &crate::output::json::pick::to_wire(&session.stack, &replay, &incoming, &site.fetch_url),
        )
        .map(|()| Outcome::Clean);
    }
    write_pick_plan(&session.stack, &replay, &incoming, &site.fetch_url, out).map_err(Error::stdout)?;
    if args.dry_run {
        writeln!(out, "\n--dry-run: nothing was changed").map_err(Error::stdout)?;
        return Ok(Outcome::Clean);
    }
    let names: Vec<String> = incoming.iter().map(Incoming::name).collect();
    let plan = pick_plan(&session.stack, &replay, &incoming, session.old_tree()?, format!("pick {}", names.join(", ")));
    let done = session.carry_out(&overlay, &plan, Permit::granted(), Duration::from_secs(args.lock_wait))?;
    if let Err(e) = record_first_seen(&session, done.new_head) {
        writeln!(out, "warning: first-seen ledger not updated: {e}").map_err(Error::stdout)?;
    }
    let recorded = decision.map(|d| record_consent(&session, &incoming, d, args.note.as_deref(), out)).transpose();
    write_done(&plan, &done, out)?;
    recorded.map(|_| Outcome::Clean)
}

/// The consent decision to record: `--consent`, else (when a new change
/// is picked) `[pick] consent`, else the answer on a terminal. Nothing to
/// record for `--update` or `--dry-run` without `--consent`.
fn consent_decision(args: &Args, config: &crate::config::Config) -> Result<Option<Decision>> {
    let parse = |text: &str, what: &str| {
        text.parse::<Decision>().map(Some).map_err(|e| Error::Usage(format!("{what}: {e}; nothing was changed")))
    };
    if let Some(words) = &args.consent {
        return parse(&words.join(" "), "--consent");
    }
    if args.update || args.dry_run {
        return Ok(None);
    }
    if let Some(text) = &config.pick.consent {
        return parse(text, "[pick] consent in the config");
    }
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "pick records who may remove the change: pass --consent allow|ask|never|after DURATION (or set [pick] consent in the config); standard input is not a terminal to ask, nothing was changed".into(),
        ));
    }
    eprint!("May this change be removed later without asking? allow, ask, never or after DURATION (e.g. after 30d): ");
    let mut answer = String::new();
    std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut answer)
        .map_err(|e| Error::io("reading", "standard input", e))?;
    parse(answer.trim(), "the answer")
}

/// The incoming patchset `spec` names, or `None` (said on `out`) when the
/// stack already holds exactly that patch.
fn one_change(session: &Session<'_>, site: &Site, spec: &ChangeSpec, out: &mut dyn Write) -> Result<Option<Incoming>> {
    let repo = session.repo();
    let number = match &spec.change {
        ChangeRef::Number(n) => *n,
        ChangeRef::ChangeId(id) => {
            let changes = ask_gerrit(site, std::slice::from_ref(id))?;
            changes.iter().find(|c| &c.change_id == id).map(|c| c.number).ok_or_else(|| {
                Error::Usage(format!(
                    "Gerrit at {} knows no change {id}; nothing was changed",
                    terminal(site.url.as_bytes())
                ))
            })?
        }
    };
    let (patchset, oid) = patchset_of(repo, site, number, spec.patchset)?;
    repo.fetch_objects(&site.fetch_url, &change_ref(number, patchset), &[oid])?;
    let mut inc = incoming(repo, number, patchset, oid)?;
    inc.replaces = replaced_by(&session.stack, &inc);
    if let Some(i) = inc.replaces
        && same_patch(repo, &session.stack, i, &inc)?
    {
        let p = &session.stack.patches[i];
        writeln!(out, "#{} {} is already {}: nothing to do", p.position, short_id(p.commit.oid), inc.name())
            .map_err(Error::stdout)?;
        return Ok(None);
    }
    Ok(Some(inc))
}

/// The patchset asked for (else the newest) of change `number` on the
/// fetch URL, with its commit (`git ls-remote`).
fn patchset_of(repo: &Repo, site: &Site, number: u64, wanted: Option<u32>) -> Result<(u32, Oid)> {
    let prefix = format!("refs/changes/{:02}/{number}/", number % 100);
    let refs = repo.ls_remote(&site.fetch_url, &prefix)?;
    let patchsets: Vec<(u32, Oid)> =
        refs.iter().filter_map(|(oid, name)| Some((name.strip_prefix(&prefix)?.parse::<u32>().ok()?, *oid))).collect();
    let found = match wanted {
        Some(p) => patchsets.iter().find(|(n, _)| *n == p).copied(),
        None => patchsets.iter().max_by_key(|(n, _)| *n).copied(),
    };
    found.ok_or_else(|| {
        let what = wanted.map_or_else(|| format!("change {number}"), |p| format!("patchset {p} of change {number}"));
        Error::Usage(format!(
            "{} has no {what} ({prefix}…); check the number, nothing was changed",
            terminal(site.fetch_url.as_bytes())
        ))
    })
}

/// The fetched commit `oid` as an incoming patchset (not yet placed).
fn incoming(repo: &Repo, change: u64, patchset: u32, oid: Oid) -> Result<Incoming> {
    let commit = repo.commit(oid)?;
    if commit.parents.len() != 1 {
        return Err(Error::Usage(format!(
            "change {change} patchset {patchset} ({}) has {} parents; pick cherry-picks one-parent commits only",
            short_id(oid),
            commit.parents.len()
        )));
    }
    let parent_tree = repo.commit_tree_and_time(commit.parents[0])?.0;
    let message = MessageInfo::parse(&commit.message);
    Ok(Incoming { change, patchset, commit, message, parent_tree, replaces: None })
}

/// The local patch with the incoming patchset's Change-Id (the newest, if
/// several carry it).
fn replaced_by(stack: &Stack, inc: &Incoming) -> Option<usize> {
    let id = inc.message.change_id.as_deref()?;
    stack.patches.iter().rposition(|p| p.message.change_id.as_deref() == Some(id) && !p.is_merge())
}

/// Whether the local patch at `i` is the incoming patchset's very patch (same patch-id).
fn same_patch(repo: &Repo, stack: &Stack, i: usize, inc: &Incoming) -> Result<bool> {
    let p = &stack.patches[i];
    let local = betadrift_engine::patchid::patch_id(repo, p.parent_tree, p.commit.tree)?;
    let theirs = betadrift_engine::patchid::patch_id(repo, Some(inc.parent_tree), inc.commit.tree)?;
    Ok(local == theirs)
}

/// `--update`: the current patchset of every local patch's change that
/// Gerrit has open with a different patch, fetched, each in place of the
/// local copy.
fn outdated(session: &Session<'_>, site: &Site, out: &mut dyn Write) -> Result<Vec<Incoming>> {
    let stack = &session.stack;
    let mut ids: Vec<String> = stack.patches.iter().filter_map(|p| p.message.change_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let changes = ask_gerrit(site, &ids)?;
    let current: Vec<(&ChangeInfo, &str, u32)> = changes
        .iter()
        .filter(|c| c.status == "NEW" && ids.contains(&c.change_id))
        .filter_map(|c| c.current().map(|(sha, rev)| (c, sha, rev.number)))
        .collect();
    let mut refs = Vec::new();
    let mut oids = Vec::new();
    for (c, sha, patchset) in &current {
        refs.push(change_ref(c.number, *patchset));
        oids.push(Oid::from_str(sha).map_err(|_| Error::Usage(format!("Gerrit named a bad commit id {sha:?}")))?);
    }
    if !refs.is_empty() {
        session.repo().fetch_objects_all(&site.fetch_url, &refs, &oids)?;
    }
    let mut incoming_list = Vec::new();
    for ((c, _, patchset), oid) in current.iter().zip(&oids) {
        let mut inc = incoming(session.repo(), c.number, *patchset, *oid)?;
        inc.replaces = replaced_by(stack, &inc);
        let Some(i) = inc.replaces else { continue };
        if same_patch(session.repo(), stack, i, &inc)? {
            let p = &stack.patches[i];
            writeln!(out, "current   #{} {} is {}", p.position, short_id(p.commit.oid), inc.name())
                .map_err(Error::stdout)?;
            continue;
        }
        incoming_list.push(inc);
    }
    Ok(incoming_list)
}

/// One Gerrit query; for `pick` a failure is an error (nothing was changed).
fn ask_gerrit(site: &Site, ids: &[String]) -> Result<Vec<ChangeInfo>> {
    query(&site.url, ids, site.timeout).map_err(|e| {
        Error::Usage(format!("asking Gerrit at {} failed: {e}; nothing was changed", terminal(site.url.as_bytes())))
    })
}

/// Refuses a replay that would stop (the conflict explained, exit 1) or
/// leave a commit empty (exit 2); `None` when it is clean.
fn refuse_unless_clean(
    session: &Session<'_>,
    overlay: &Overlay<'_, Repo>,
    replay: &PickReplay,
    incoming: &[Incoming],
    out: &mut dyn Write,
) -> Result<Option<Outcome>> {
    if let Some((i, role)) = replay.first_stop() {
        let details =
            explain_without_culprits(session.repo(), overlay, &replay.prediction, session.checkout.private())?;
        let position = replay.position(i);
        let (patch, what) = match role {
            Role::Incoming { incoming: k, .. } => (incoming[k].as_patch(position), incoming[k].name()),
            Role::Reapplied(p) => {
                let mut patch = session.stack.patches[p].clone();
                patch.position = position;
                (patch, format!("local patch #{}", session.stack.patches[p].position))
            }
        };
        writeln!(out, "pick refused, nothing was changed: {what} would stop on a conflict").map_err(Error::stdout)?;
        render_stop(out, &stop_view(&patch, &details[i], session.checkout.private())).map_err(Error::stdout)?;
        return Ok(Some(Outcome::Findings));
    }
    if let Some(role) = replay.first_empty() {
        let what = match role {
            Role::Incoming { incoming: k, .. } => {
                format!("{} changes nothing the stack does not already have", incoming[k].name())
            }
            Role::Reapplied(p) => format!(
                "local patch #{} would change nothing on top of the new patchset (it is in it?); drop it first",
                session.stack.patches[p].position
            ),
        };
        return Err(Error::Usage(format!("pick refused: {what}; nothing was changed")));
    }
    Ok(None)
}

/// Records the consent decision for each picked change (by Change-Id),
/// with who and when.
fn record_consent(
    session: &Session<'_>,
    incoming: &[Incoming],
    decision: Decision,
    note: Option<&str>,
    out: &mut dyn Write,
) -> Result<()> {
    let path = session.checkout.policy_file(session.config);
    let mut policy = Policy::load(&path)?;
    let note = note.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    let mut missing = Vec::new();
    for inc in incoming {
        let Some(id) = &inc.message.change_id else {
            missing.push(inc.name());
            continue;
        };
        let scope = Scope::change(id).map_err(Error::Usage)?;
        policy.set(Rule { scope, decision, set_by: current_user(), set_at: session.clock.now, note: note.clone() });
        writeln!(out, "consent for {id}: {decision}").map_err(Error::stdout)?;
    }
    policy.save(&path).map_err(|e| {
        Error::Usage(format!("the branch moved, but the consent rule was not saved: {e}; run `betadrift consent set`"))
    })?;
    if !missing.is_empty() {
        return Err(Error::Usage(format!(
            "the branch moved, but {} has no Change-Id: no consent rule could name it",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Records the stack before and after the pick in the first-seen ledger:
/// the patches that were there keep their first-seen times (a replaced
/// patchset and the patches above it have the same Change-Id or patch-id),
/// a new change is first seen now.
fn record_first_seen(session: &Session<'_>, new_head: Oid) -> Result<()> {
    use crate::model::ledger::{Ledger, dated_options, path};
    let (checkout, config, now) = (&session.checkout, session.config, session.clock.now);
    let name = checkout.name();
    let mut ledger = Ledger::read(&path(config, &checkout.repo, &name))?;
    let changed = ledger.record(&checkout.repo, &name, &session.stack, now)?;
    ledger.save(changed)?;
    let head = HeadBranch { oid: new_head, ..session.stack.head.clone() };
    let options = StackOptions {
        upstream_states: false,
        snapshot_prefix: String::new(),
        ..dated_options(Some(&ledger), config, now)
    };
    let stack = Stack::load(&checkout.repo, head, checkout.upstream.clone(), &options)?;
    let changed = ledger.record(&checkout.repo, &name, &stack, now)?;
    ledger.save(changed)
}
