//! `betadrift prune`: the batch form of `drop`, for people and for timers.
//!
//! Two kinds of patches can go without anyone naming them: those upstream
//! already has (merged, as the same or as another patchset; not those
//! merged and then reverted, which upstream does not have any more), and
//! stale ones whose consent policy allows their removal by now. Merged
//! patches need no consent: upstream carries the change, and the next
//! rebase would drop them or stumble over them anyway.
//!
//! Prune never removes a patch implicitly: a candidate whose removal would
//! make a remaining patch conflict stays, and prune says so (`drop
//! --with-dependents` is the explicit way). It asks before rewriting on a
//! terminal; a timer passes `--yes`.

use std::io::Write;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::drop::carry_out;
use super::{Confirm, Context, Outcome, RepoArgs, ask_on_terminal};
use crate::consent::{PatchFacts, Policy};
use crate::error::{Error, Result};
use crate::git::repo::Repo;
use crate::model::stack::{Patch, Stack};
use crate::model::upstream::UpstreamState;
use crate::output::rewrite::write_removal_plan;
use crate::rewrite::Kind;
use crate::rewrite::plan::{Leaving, Why, consequences, permit, rewrite_plan, sort_leaving};
use crate::rewrite::replay::{Replay, replay_without};
use crate::rewrite::session::Session;
use crate::support::clock::format_duration;
use crate::support::words::ranges;
use betadrift_engine::objects::Overlay;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Remove the patches upstream has merged
    #[arg(long)]
    pub merged: bool,

    /// Remove the patches older than DURATION (30d, 2w, …) whose consent allows removal
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration_arg)]
    pub stale: Option<jiff::SignedDuration>,

    /// Do not ask: go ahead (for timers)
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Show the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Seconds to wait for another betadrift working on the same repository
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub lock_wait: u64,
}

/// What `prune` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// Remove the patches upstream has.
    pub merged: bool,
    /// Remove the patches older than this whose consent allows it.
    pub stale: Option<SignedDuration>,
    pub dry_run: bool,
    pub lock_wait: Duration,
}

impl From<&Args> for PruneOptions {
    fn from(args: &Args) -> PruneOptions {
        PruneOptions {
            merged: args.merged,
            stale: args.stale,
            dry_run: args.dry_run,
            lock_wait: Duration::from_secs(args.lock_wait),
        }
    }
}

/// The patches prune would like to remove, and the stale ones it may not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Candidates {
    /// Index into the stack, and why.
    pub chosen: Vec<(usize, Why)>,
    /// Stale patches whose consent does not allow removal now.
    pub no_consent: Vec<usize>,
    /// Patches whose arrival nothing dates: their age is unknown, so they
    /// are never stale.
    pub undated: Vec<usize>,
}

/// Picks the candidates: with `merged`, patches upstream has (merged or
/// merged as another patchset); with `stale`, patches at least that long on
/// the checkout whose policy allows removal at `now`. A patch whose arrival
/// nothing dates is never stale (its author date says nothing of it).
pub fn candidates(
    patches: &[Patch],
    policy: &Policy,
    now: Timestamp,
    merged: bool,
    stale: Option<SignedDuration>,
) -> Candidates {
    let mut out = Candidates::default();
    for (i, p) in patches.iter().enumerate() {
        let state = p.upstream.state;
        if merged && matches!(state, UpstreamState::Merged | UpstreamState::MergedDiffers) {
            let differs = state == UpstreamState::MergedDiffers;
            out.chosen.push((i, Why::Merged { upstream: p.upstream.commit, differs }));
            continue;
        }
        let Some(after) = stale else { continue };
        let facts = PatchFacts::of(p, now);
        let Some(age) = facts.age else {
            out.undated.push(i);
            continue;
        };
        if age < after {
            continue;
        }
        match policy.evaluate(&facts).allowed_now {
            true => out.chosen.push((i, Why::Stale { age })),
            false => out.no_consent.push(i),
        }
    }
    out
}

/// The candidates that can go without making another patch conflict.
#[derive(Debug)]
struct Choice {
    accepted: Vec<(usize, Why)>,
    /// The replay without the accepted ones.
    replay: Option<Replay>,
    /// Candidates left in place, with the patches their removal would break.
    skipped: Vec<(usize, Vec<usize>)>,
}

/// All candidates if the rest replays cleanly without them; else, newest
/// first (later patches build on earlier ones, not the other way round),
/// each candidate whose removal, with the ones accepted so far, leaves the
/// rest clean.
fn choose(repo: &Repo, overlay: &Overlay<'_, Repo>, stack: &Stack, wanted: &[(usize, Why)]) -> Result<Choice> {
    let mut choice = Choice { accepted: Vec::new(), replay: None, skipped: Vec::new() };
    if wanted.is_empty() {
        return Ok(choice);
    }
    let all: Vec<usize> = wanted.iter().map(|(i, _)| *i).collect();
    let replay = replay_without(repo, overlay, stack, &all, false)?;
    if replay.is_clean() {
        return Ok(Choice { accepted: wanted.to_vec(), replay: Some(replay), skipped: Vec::new() });
    }
    for (i, why) in wanted.iter().rev() {
        let mut trial: Vec<usize> = choice.accepted.iter().map(|(a, _)| *a).collect();
        trial.push(*i);
        let replay = replay_without(repo, overlay, stack, &trial, false)?;
        if replay.is_clean() {
            choice.accepted.push((*i, why.clone()));
            choice.replay = Some(replay);
        } else {
            choice.skipped.push((*i, replay.conflicts().iter().map(|(c, _)| *c).collect()));
        }
    }
    choice.accepted.reverse();
    choice.skipped.reverse();
    Ok(choice)
}

/// Runs `betadrift prune`: asks on a terminal, else needs `--yes`.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let session =
        Session::open(args.repo.repo.as_deref(), &args.repo.upstream_args(), &ctx.config, ctx.clock()?, Kind::Prune)?;
    let mut ask = ask_on_terminal;
    prune(&session, &PruneOptions::from(args), Confirm::from_flag(args.yes, &mut ask), out)
}

/// Prunes the session's stack and reports on `out`.
pub fn prune(
    session: &Session<'_>,
    options: &PruneOptions,
    confirm: Confirm<'_>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let stack = &session.stack;
    let (merged, stale) = match (options.merged, options.stale) {
        (false, None) => (true, Some(session.config.stale.after)),
        given => given,
    };
    let found = candidates(&stack.patches, &session.policy, session.clock.now, merged, stale);
    let overlay = Overlay::new(session.repo());
    let choice = choose(session.repo(), &overlay, stack, &found.chosen)?;
    let Some(replay) = &choice.replay else {
        writeln!(out, "nothing to prune ({})", criteria(merged, stale)).map_err(Error::stdout)?;
        write_left_alone(stack, &found, &choice, out).map_err(Error::stdout)?;
        return Ok(Outcome::Clean);
    };
    let now = session.clock.now;
    let mut leaving: Vec<Leaving> = choice
        .accepted
        .iter()
        .map(|(i, why)| Leaving::new(&stack.patches[*i], why.clone(), &session.policy, now))
        .collect();
    leaving.extend(consequences(stack, replay, &session.policy, now));
    sort_leaving(&mut leaving);
    write_removal_plan(Kind::Prune, stack, replay, &leaving, false, out).map_err(Error::stdout)?;
    write_left_alone(stack, &found, &choice, out).map_err(Error::stdout)?;
    let (permit, forced) = permit(&leaving, false)?;
    let reason = Some(format!("prune {}", criteria(merged, stale)));
    let plan = rewrite_plan(Kind::Prune, stack, replay, &leaving, session.old_tree()?, reason, forced);
    if !options.dry_run && !confirm.confirmed(Kind::Prune, leaving.len(), stack, out)? {
        writeln!(out, "\nnot confirmed: nothing was changed").map_err(Error::stdout)?;
        return Ok(Outcome::Clean);
    }
    carry_out(session, &overlay, &plan, permit, (options.dry_run, options.lock_wait), out)
}

/// `--merged --stale 30d`, as the criteria were applied.
fn criteria(merged: bool, stale: Option<SignedDuration>) -> String {
    let mut words = Vec::new();
    if merged {
        words.push("--merged".to_owned());
    }
    if let Some(after) = stale {
        words.push(format!("--stale {}", format_duration(after)));
    }
    words.join(" ")
}

/// Says which candidates stay and why: dependents, and stale patches without consent.
fn write_left_alone(stack: &Stack, found: &Candidates, choice: &Choice, out: &mut dyn Write) -> std::io::Result<()> {
    let position = |i: usize| stack.patches[i].position;
    if !choice.skipped.is_empty() || !found.no_consent.is_empty() || !found.undated.is_empty() {
        writeln!(out)?;
    }
    for (i, broken) in &choice.skipped {
        let broken: Vec<usize> = broken.iter().map(|&b| position(b)).collect();
        writeln!(
            out,
            "left alone #{}: removing it would make {} conflict (prune never removes dependents; `betadrift drop {} --with-dependents` does)",
            position(*i),
            ranges(&broken),
            position(*i)
        )?;
    }
    if !found.no_consent.is_empty() {
        let stale: Vec<usize> = found.no_consent.iter().map(|&i| position(i)).collect();
        writeln!(
            out,
            "left alone {}: stale, but consent does not allow removal (`betadrift consent explain {}` says why)",
            ranges(&stale),
            stale[0]
        )?;
    }
    if !found.undated.is_empty() {
        let undated: Vec<usize> = found.undated.iter().map(|&i| position(i)).collect();
        writeln!(
            out,
            "left alone {}: age unknown, so never stale (no ledger entry, snapshot tag or reflog entry dates its arrival on the checkout)",
            ranges(&undated)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::model::stack::testing::patch;
    use crate::model::stack::{Seen, SeenSource};

    const DAY: i64 = 86_400;
    const CID_NEVER: &str = "I1111111111111111111111111111111111111111";

    /// Five patches authored, and first seen on the checkout, at
    /// 1,700,000,000: pending, merged, merged as another patchset, merged
    /// then reverted, and pending with a `never` rule.
    fn patches() -> Vec<Patch> {
        let states = [
            UpstreamState::Pending,
            UpstreamState::Merged,
            UpstreamState::MergedDiffers,
            UpstreamState::Reverted,
            UpstreamState::Pending,
        ];
        states
            .iter()
            .enumerate()
            .map(|(i, &state)| {
                let message = match i {
                    4 => format!("p5\n\nChange-Id: {CID_NEVER}\n"),
                    _ => format!("p{}\n", i + 1),
                };
                let mut p = patch(i + 1, &format!("{:040x}", i + 1), &message);
                p.upstream.state = state;
                p.first_seen = Some(Seen { time: at(0), source: SeenSource::Ledger });
                p
            })
            .collect()
    }

    fn policy() -> Policy {
        let text = format!(
            "[[rule]]\ndefault = true\ndecision = \"after 30d\"\nset_by = \"r\"\nset_at = \"2023-01-01T00:00:00Z\"\n\n\
             [[rule]]\nchange = \"{CID_NEVER}\"\ndecision = \"never\"\nset_by = \"r\"\nset_at = \"2023-01-01T00:00:00Z\"\n"
        );
        Policy::parse(&text, Path::new("policy.toml")).unwrap()
    }

    /// `days` after the patches were authored.
    fn at(days: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + days * DAY).unwrap()
    }

    fn chosen(c: &Candidates) -> Vec<usize> {
        c.chosen.iter().map(|(i, _)| *i).collect()
    }

    #[test]
    fn merged_means_upstream_has_it_now() {
        let c = candidates(&patches(), &policy(), at(1), true, None);
        assert_eq!(chosen(&c), [1, 2], "merged and merged-differs; not reverted, not pending");
        assert_eq!(c.chosen[1].1, Why::Merged { upstream: None, differs: true });
        assert!(c.no_consent.is_empty());
    }

    #[test]
    fn stale_needs_the_age_and_the_consent() {
        let day = SignedDuration::from_hours(24);
        let c = candidates(&patches(), &policy(), at(10), false, Some(day * 5));
        assert!(c.chosen.is_empty(), "stale, but `after 30d` does not allow it yet");
        assert_eq!(c.no_consent, [0, 1, 2, 3, 4]);
        let c = candidates(&patches(), &policy(), at(31), false, Some(day * 40));
        assert_eq!(c, Candidates::default(), "not stale yet");
        let c = candidates(&patches(), &policy(), at(31), false, Some(day * 30));
        assert_eq!(chosen(&c), [0, 1, 2, 3], "merged ones count as stale without --merged");
        assert_eq!(c.chosen[0].1, Why::Stale { age: day * 31 });
        assert_eq!(c.no_consent, [4], "the never rule");
    }

    /// A patch cherry-picked today keeps its author date of years ago; with
    /// nothing dating its arrival it is not stale, whatever its author date.
    #[test]
    fn undated_patches_are_never_stale() {
        let mut patches = patches();
        patches[0].first_seen = None;
        patches[3].first_seen = None;
        let allow = Policy::parse(
            "[[rule]]\ndefault = true\ndecision = \"after 30d\"\nset_by = \"r\"\nset_at = \"2023-01-01T00:00:00Z\"\n",
            Path::new("policy.toml"),
        )
        .unwrap();
        let c = candidates(&patches, &allow, at(3 * 365), false, Some(SignedDuration::from_hours(24)));
        assert_eq!(chosen(&c), [1, 2, 4], "the dated ones, three years on the checkout");
        assert_eq!(c.undated, [0, 3]);
        let c = candidates(&patches, &allow, at(3 * 365), true, Some(SignedDuration::from_hours(24)));
        assert_eq!(chosen(&c), [1, 2, 4], "merged ones need no age");
        assert_eq!(c.undated, [0, 3]);
    }

    #[test]
    fn merged_and_stale_together() {
        let c = candidates(&patches(), &policy(), at(31), true, Some(SignedDuration::from_hours(24 * 30)));
        assert_eq!(chosen(&c), [0, 1, 2, 3]);
        assert!(matches!(c.chosen[1].1, Why::Merged { .. }), "merged wins: it needs no consent");
        assert!(matches!(c.chosen[3].1, Why::Stale { .. }), "reverted is only stale");
        assert_eq!(criteria(true, Some(SignedDuration::from_hours(24 * 30))), "--merged --stale 30d");
    }
}
