//! `betadrift consent`: record, list, remove and explain consent rules.
//!
//! A policy only helps if the people who grant consent can write it down
//! without learning the file format, and if anyone about to remove a patch
//! can see what the policy means for that patch. These subcommands do both.
//! `set` and `remove` write the repository's policy file (atomically, keeping
//! hand edits) and nothing else; `list` and `explain` write nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{CheckoutArgs, Context, Outcome, RepoArgs};
use crate::config::Config;
use crate::consent::{Candidate, Decision, PatchFacts, Policy, Rule, Scope, Source, Verdict, current_user};
use crate::error::{Error, Result};
use crate::git::checkout::Checkout;
use crate::model::stack::{Patch, Stack, StackOptions};
use crate::output::{stdout_error, write_json};
use crate::support::clock::{Clock, ago, human_age, rfc3339};
use crate::support::escape::{lossy, terminal, terminal_short};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Record a decision for a change, task, author or the default (replacing the rule there was)
    ///
    /// DECISION is allow, ask, never, or after DURATION (as one word or two:
    /// `after 30d`, `"after 2w"`). The rule records who set it ($SUDO_USER,
    /// else $USER) and when.
    Set(SetArgs),
    /// List the rules, most specific first, with who set them, when and why
    List(ListArgs),
    /// Remove the rule for a change, task, author or the default
    ///
    /// Exit status 2 if there is no such rule.
    Remove(RemoveArgs),
    /// Say which decision applies to patches and why, which rules lost, and whether removal is allowed now
    Explain(ExplainArgs),
}

/// Which patches a rule covers: exactly one of these.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct ScopeArgs {
    /// Patches with this Gerrit Change-Id (the full I… of the Change-Id: trailer)
    #[arg(long, value_name = "ID")]
    pub change: Option<String>,

    /// Patches that name this Phabricator task (T123456)
    #[arg(long, value_name = "TASK")]
    pub task: Option<String>,

    /// Patches by this author (email address, as .mailmap maps it)
    #[arg(long, value_name = "EMAIL")]
    pub author: Option<String>,

    /// Every patch that no other rule or trailer covers
    #[arg(long)]
    pub default: bool,
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    #[command(flatten)]
    pub checkout: CheckoutArgs,

    #[command(flatten)]
    pub scope: ScopeArgs,

    /// allow, ask, never, or after DURATION (e.g. after 30d)
    #[arg(value_name = "DECISION", required = true, num_args = 1..=2)]
    pub decision: Vec<String>,

    /// Why, for whoever reads the policy later (e.g. the task comment that granted it)
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub checkout: CheckoutArgs,

    /// Print JSON (schema in docs/consent.md) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    #[command(flatten)]
    pub checkout: CheckoutArgs,

    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub repo: RepoArgs,

    /// The patches: a position (3 or #3), a commit id prefix, a Change-Id (or a unique prefix), or a task (T123456)
    #[arg(value_name = "PATCH")]
    pub patch: String,

    /// Print JSON (schema in docs/consent.md) instead of text
    #[arg(long)]
    pub json: bool,
}

/// Version of the `consent list --json` and `consent explain --json` documents.
pub const SCHEMA_VERSION: u32 = 1;

/// Runs one `consent` subcommand.
pub fn run(ctx: &Context, args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let config = &ctx.config;
    match &args.command {
        Command::Set(a) => set(a, config, ctx.clock()?, out),
        Command::List(a) => list(a, config, out),
        Command::Remove(a) => remove(a, config, out),
        Command::Explain(a) => explain(a, config, ctx.clock()?, out),
    }?;
    Ok(Outcome::Clean)
}

/// The policy file of the checkout at `repo` (or the current directory).
pub fn policy_file(checkout: &CheckoutArgs, config: &Config) -> Result<PathBuf> {
    let repo = crate::git::checkout::open_repo(checkout.repo.as_deref())?;
    let repo_config = repo.workdir().and_then(|w| config.repository_for(w));
    Ok(config.state.policy_for(repo.git_dir(), &crate::git::checkout::repo_name(&repo, repo_config)))
}

/// The scope named on the command line; clap ensures exactly one is given.
fn scope_of(args: &ScopeArgs) -> Result<Scope> {
    let usage = |flag: &'static str| move |e: String| Error::Usage(format!("{flag}: {e}"));
    match (&args.change, &args.task, &args.author) {
        (Some(id), _, _) => Scope::change(id).map_err(usage("--change")),
        (_, Some(task), _) => Scope::task(task).map_err(usage("--task")),
        (_, _, Some(email)) => Scope::author(email).map_err(usage("--author")),
        _ => Ok(Scope::Default),
    }
}

fn set(args: &SetArgs, config: &Config, clock: Clock, out: &mut dyn Write) -> Result<()> {
    let scope = scope_of(&args.scope)?;
    let decision: Decision =
        args.decision.join(" ").parse().map_err(|e: String| Error::Usage(format!("DECISION: {e}")))?;
    let path = policy_file(&args.checkout, config)?;
    let mut policy = Policy::load(&path)?;
    let note = args.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    let rule = Rule { scope, decision, set_by: current_user(), set_at: clock.now, note };
    let was = match policy.set(rule.clone()) {
        Some(old) => format!("was {}", old.decision),
        None => "new rule".to_owned(),
    };
    policy.save(&path)?;
    writeln!(out, "{}: {} ({was}); saved in {}", safe(&rule.scope.to_string()), rule.decision, shown(&path))
        .map_err(stdout_error)
}

fn remove(args: &RemoveArgs, config: &Config, out: &mut dyn Write) -> Result<()> {
    let scope = scope_of(&args.scope)?;
    let path = policy_file(&args.checkout, config)?;
    let mut policy = Policy::load(&path)?;
    let Some(old) = policy.get(&scope).cloned() else {
        return Err(Error::Usage(format!(
            "no consent rule for {scope} in {}; `betadrift consent list` shows the rules",
            path.display()
        )));
    };
    policy.remove(&scope);
    policy.save(&path)?;
    writeln!(out, "{}: removed (was {}); saved in {}", safe(&scope.to_string()), old.decision, shown(&path))
        .map_err(stdout_error)
}

fn list(args: &ListArgs, config: &Config, out: &mut dyn Write) -> Result<()> {
    let path = policy_file(&args.checkout, config)?;
    let policy = Policy::load(&path)?;
    let rules = policy.rules_by_precedence();
    if args.json {
        let rules = rules.into_iter().map(wire::Rule::from).collect();
        return write_json(out, &wire::List { schema_version: SCHEMA_VERSION, policy_file: lossy_path(&path), rules });
    }
    render_list(&path, &rules, out).map_err(stdout_error)
}

fn render_list(path: &Path, rules: &[&Rule], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "policy  {}", shown(path))?;
    if rules.is_empty() {
        writeln!(out, "no rules: a patch may be removed only if its Uncherry-Pick: trailer says so; otherwise ask")?;
        return Ok(());
    }
    writeln!(out)?;
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table.set_header(["scope", "decision", "set by", "set at", "note"]);
    for rule in rules {
        table.add_row(vec![
            safe(&rule.scope.to_string()),
            rule.decision.to_string(),
            terminal_short(rule.set_by.as_bytes(), 24),
            rfc3339(rule.set_at),
            rule.note.as_deref().map_or_else(|| "-".into(), |n| terminal_short(n.as_bytes(), 60)),
        ]);
    }
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "A change rule wins over a patch's Uncherry-Pick: trailer, which wins over task, author and default rules."
    )
}

/// One patch with its verdict and every source that covered it.
struct Explained<'a> {
    patch: &'a Patch,
    facts: PatchFacts<'a>,
    verdict: Verdict,
    candidates: Vec<Candidate>,
}

impl<'a> Explained<'a> {
    fn of(policy: &Policy, patch: &'a Patch, now: Timestamp) -> Explained<'a> {
        let facts = PatchFacts::of(patch, now);
        Explained { patch, facts, verdict: policy.evaluate(&facts), candidates: policy.candidates(&facts) }
    }

    /// Sources that covered the patch and lost (the built-in default only counts when it wins).
    fn overruled(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates.iter().skip(1).filter(|c| c.source != Source::Builtin)
    }

    /// When an `after` decision starts to allow removal.
    fn allowed_from(&self) -> Option<Timestamp> {
        match self.verdict.decision {
            Decision::After(wait) => self.patch.since().checked_add(wait).ok(),
            _ => None,
        }
    }
}

fn explain(args: &ExplainArgs, config: &Config, clock: Clock, out: &mut dyn Write) -> Result<()> {
    let target = Checkout::open(args.repo.repo.as_deref(), &args.repo.upstream_args(), config)?;
    let path = target.policy_file(config);
    let policy = Policy::load(&path)?;
    let options = StackOptions::from_config(config);
    let stack = Stack::load(&target.repo, target.head.clone(), target.upstream.clone(), &options)?;
    let indices = crate::model::selector::resolve(&stack, &args.patch)?;
    let explained: Vec<Explained> =
        indices.iter().map(|&i| Explained::of(&policy, &stack.patches[i], clock.now)).collect();
    if args.json {
        return write_json(out, &wire::explain(&explained, &path, &args.patch, clock.now));
    }
    for (i, e) in explained.iter().enumerate() {
        if i > 0 {
            writeln!(out).map_err(stdout_error)?;
        }
        render_explained(e, clock.now, out).map_err(stdout_error)?;
    }
    Ok(())
}

fn render_explained(e: &Explained, now: Timestamp, out: &mut dyn Write) -> std::io::Result<()> {
    let p = e.patch;
    let oid = p.commit.oid.to_string();
    writeln!(out, "#{} {} {}", p.position, &oid[..10], terminal_short(&p.message.subject, 72))?;
    writeln!(out, "  decision   {}", decision_text(&e.verdict))?;
    writeln!(out, "  removal    {}", removal_text(e, now))?;
    writeln!(out, "  why        {}", terminal(e.verdict.reason.as_bytes()))?;
    let winner = &e.candidates[0];
    let mut overruled = e.overruled().peekable();
    if overruled.peek().is_none() {
        writeln!(out, "  overruled  nothing: no other rule or trailer covers this patch")?;
    }
    for loser in overruled {
        writeln!(out, "  overruled  {}; {}", candidate_text(loser), safe(&loser.lost_to(winner)))?;
    }
    Ok(())
}

/// `allow, from the Uncherry-Pick: trailer`; `never, from the rule for task T1 (set by …)`.
fn decision_text(v: &Verdict) -> String {
    let details = v.rule.as_ref().map_or_else(String::new, |r| format!(" {}", rule_details(r)));
    format!("{}, from {}{details}", v.decision, safe(&v.source.to_string()))
}

/// `(set by kim at 2026-…; note: …)`, sanitized.
fn rule_details(rule: &Rule) -> String {
    let note =
        rule.note.as_deref().map_or_else(String::new, |n| format!("; note: {}", terminal_short(n.as_bytes(), 80)));
    format!("(set by {} at {}{note})", terminal_short(rule.set_by.as_bytes(), 24), rfc3339(rule.set_at))
}

/// `the rule for task T1 says never (set by …)`.
fn candidate_text(c: &Candidate) -> String {
    let details = c.rule.as_ref().map_or_else(String::new, |r| format!(" {}", rule_details(r)));
    format!("{} says {}{details}", safe(&c.source.to_string()), c.decision)
}

/// Whether removal is allowed now, and how long the patch has been around.
fn removal_text(e: &Explained, now: Timestamp) -> String {
    let since = e.patch.since();
    let around = match &e.patch.first_seen {
        Some(_) => format!("on the checkout since {} ({})", rfc3339(since), ago(e.facts.age)),
        None => format!("authored {} ({}; first seen unknown)", rfc3339(since), ago(e.facts.age)),
    };
    let now_text = match (e.verdict.decision, e.verdict.allowed_now, e.allowed_from()) {
        (_, true, _) => "allowed now".to_owned(),
        (Decision::After(_), false, Some(from)) => {
            format!("allowed from {} (in {})", rfc3339(from), human_age(from.duration_since(now)))
        }
        (Decision::Never, ..) => "never allowed".to_owned(),
        _ => "not without the owner's consent".to_owned(),
    };
    format!("{now_text}; {around}")
}

fn shown(path: &Path) -> String {
    terminal(path.as_os_str().as_encoded_bytes())
}

fn lossy_path(path: &Path) -> String {
    lossy(path.as_os_str().as_encoded_bytes())
}

fn safe(text: &str) -> String {
    terminal(text.as_bytes())
}

/// The JSON documents of `consent list --json` and `consent explain --json`
/// (see docs/consent.md).
pub mod wire {
    use super::*;

    /// `consent list --json`.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct List {
        pub schema_version: u32,
        pub policy_file: String,
        /// In precedence order.
        pub rules: Vec<Rule>,
    }

    /// One rule.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Rule {
        /// `change`, `task`, `author` or `default`.
        pub scope: String,
        /// The Change-Id, task or email; null for the default rule.
        pub value: Option<String>,
        /// `allow`, `ask`, `never` or `after <duration>`.
        pub decision: String,
        pub set_by: String,
        pub set_at: String,
        pub note: Option<String>,
    }

    impl From<&crate::consent::Rule> for Rule {
        fn from(rule: &crate::consent::Rule) -> Rule {
            Rule {
                scope: rule.scope.kind().to_owned(),
                value: rule.scope.value(),
                decision: rule.decision.to_string(),
                set_by: rule.set_by.clone(),
                set_at: rfc3339(rule.set_at),
                note: rule.note.clone(),
            }
        }
    }

    /// A patch's effective decision, as `status --json` and `consent explain --json` show it.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Consent {
        /// `allow`, `ask`, `never` or `after <duration>`.
        pub decision: String,
        /// Whether removal is allowed at the patch's current age.
        pub allowed_now: bool,
        /// `change`, `trailer`, `task`, `author`, `default` or `builtin`.
        pub source: String,
    }

    impl From<&Verdict> for Consent {
        fn from(v: &Verdict) -> Consent {
            Consent {
                decision: v.decision.to_string(),
                allowed_now: v.allowed_now,
                source: v.source.as_str().to_owned(),
            }
        }
    }

    /// `consent explain --json`.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Explain {
        pub schema_version: u32,
        pub generated_at: String,
        pub policy_file: String,
        pub selector: String,
        pub patches: Vec<Explained>,
    }

    /// One patch: its facts, its decision and what lost.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Explained {
        pub position: usize,
        pub commit: String,
        pub subject: String,
        pub author_email: String,
        pub change_id: Option<String>,
        pub tasks: Vec<String>,
        /// The raw `Uncherry-Pick:` trailer value.
        pub trailer: Option<String>,
        /// Where the age counts from: first seen on the checkout, else the author date.
        pub since: String,
        pub age_seconds: i64,
        pub consent: Consent,
        /// The winning rule (null when the trailer or the built-in default decided).
        pub rule: Option<Rule>,
        /// For `after` decisions: when removal becomes allowed.
        pub allowed_from: Option<String>,
        pub reason: String,
        /// Every other rule or trailer that covered the patch, in precedence order.
        pub overruled: Vec<Overruled>,
    }

    /// A source that covered the patch and lost.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Overruled {
        pub source: String,
        pub decision: String,
        pub rule: Option<Rule>,
        pub why: String,
    }

    pub(super) fn explain(explained: &[super::Explained], path: &Path, selector: &str, now: Timestamp) -> Explain {
        Explain {
            schema_version: SCHEMA_VERSION,
            generated_at: rfc3339(now),
            policy_file: lossy_path(path),
            selector: selector.to_owned(),
            patches: explained.iter().map(patch).collect(),
        }
    }

    fn patch(e: &super::Explained) -> Explained {
        let p = e.patch;
        let winner = &e.candidates[0];
        Explained {
            position: p.position,
            commit: p.commit.oid.to_string(),
            subject: lossy(&p.message.subject),
            author_email: lossy(e.facts.author_email),
            change_id: p.message.change_id.clone(),
            tasks: p.message.tasks.iter().map(ToString::to_string).collect(),
            trailer: p.message.uncherry_pick.clone(),
            since: rfc3339(p.since()),
            age_seconds: e.facts.age.as_secs(),
            consent: Consent::from(&e.verdict),
            rule: e.verdict.rule.as_ref().map(Rule::from),
            allowed_from: e.allowed_from().map(rfc3339),
            reason: e.verdict.reason.clone(),
            overruled: e
                .overruled()
                .map(|c| Overruled {
                    source: c.source.as_str().to_owned(),
                    decision: c.decision.to_string(),
                    rule: c.rule.as_ref().map(Rule::from),
                    why: c.lost_to(winner),
                })
                .collect(),
        }
    }
}
