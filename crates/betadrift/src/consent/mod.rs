//! Consent policies: who agreed that which local patches may be removed.
//!
//! Local patches rot on a puppetmaster because nobody knows whose patch may be
//! taken out: "please un-cherry-pick mine at will" lives in a task comment, or
//! in nobody's memory. A policy writes that consent down once, per Gerrit
//! change, per Phabricator task, per author or as a default, so that `drop`
//! and `prune` can decide without asking around and `consent explain` can say
//! why.
//!
//! A patch's decision comes from the most specific source that covers it:
//!
//! 1. a rule for its Change-Id;
//! 2. its own `Uncherry-Pick:` trailer (the author's word in the commit);
//! 3. a rule for one of its tasks (with several, the strictest of them);
//! 4. a rule for its author's email;
//! 5. the default rule;
//! 6. the built-in default, [`Decision::Ask`].
//!
//! A change rule outranks the trailer because it is the newer word: the
//! trailer was written when the patch was, a rule is set on this checkout by
//! someone who looked at it since. The trailer outranks task, author and
//! default rules because it speaks for this one patch and they speak for
//! many.
//!
//! Among several task rules the strictest wins (Never, then Ask, then After
//! with the longest wait, then Allow): removing the patch removes it for every
//! task it serves, so one owner's "never" must not be overridden by another
//! owner's "allow". A wrong "ask" costs a question; a wrong "allow" costs a
//! broken beta cluster.
//!
//! Evaluation is pure: it works on [`PatchFacts`], plain data taken from a
//! [`Patch`]. The file format and its hand-edit-preserving writer live in
//! `policy/file.rs`; docs/consent.md describes both for users.

pub mod explain;
mod file;

use std::path::Path;

use jiff::{SignedDuration, Timestamp};

use crate::error::Result;
use crate::model::message::Task;
use crate::model::stack::Patch;
use crate::support::clock::{format_duration, human_age, parse_duration};

/// What may happen to a patch without asking anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Remove it whenever it is in the way.
    Allow,
    /// Remove it once it has been on the checkout this long.
    After(SignedDuration),
    /// Remove it once Phabricator says every task it links is closed
    /// (`--online`); while that is unknown, ask.
    AfterTaskClosed,
    /// Remove it once Gerrit says its change is abandoned (`--online`);
    /// while that is unknown, ask.
    AfterChangeAbandoned,
    /// Ask its owner first (the built-in default).
    Ask,
    /// Never remove it.
    Never,
}

impl Decision {
    /// Whether a patch this old may be removed now. A patch whose age is
    /// unknown (`None`: nothing dates its arrival) is never old enough; the
    /// decisions that wait for Gerrit or Phabricator need
    /// [`Decision::allows_for`].
    pub fn allows(self, age: Option<SignedDuration>) -> bool {
        match self {
            Decision::Allow => true,
            Decision::After(wait) => age.is_some_and(|age| age >= wait),
            Decision::AfterTaskClosed | Decision::AfterChangeAbandoned | Decision::Ask | Decision::Never => false,
        }
    }

    /// Whether the patch may be removed now, live state included: an
    /// unknown live state (offline, or not known to the service) is never
    /// permission.
    pub fn allows_for(self, facts: &PatchFacts) -> bool {
        match self {
            Decision::AfterTaskClosed => facts.tasks_closed == Some(true),
            Decision::AfterChangeAbandoned => facts.change_abandoned == Some(true),
            other => other.allows(facts.age),
        }
    }

    /// How much longer a patch this old must wait before removal is allowed:
    /// zero if it already is, `None` if waiting never helps (ask, never) or
    /// cannot be told (an `after` decision and an unknown age).
    pub fn wait(self, age: Option<SignedDuration>) -> Option<SignedDuration> {
        match self {
            Decision::Allow => Some(SignedDuration::ZERO),
            Decision::After(wait) => age.map(|age| (wait - age.max(SignedDuration::ZERO)).max(SignedDuration::ZERO)),
            Decision::AfterTaskClosed | Decision::AfterChangeAbandoned | Decision::Ask | Decision::Never => None,
        }
    }

    /// A key that orders decisions from the most permissive to the strictest:
    /// Allow, After (shorter waits first), after-change-abandoned,
    /// after-task-closed, Ask, Never.
    pub fn strictness(self) -> (u8, SignedDuration) {
        match self {
            Decision::Allow => (0, SignedDuration::ZERO),
            Decision::After(wait) => (1, wait),
            Decision::AfterChangeAbandoned => (2, SignedDuration::ZERO),
            Decision::AfterTaskClosed => (3, SignedDuration::ZERO),
            Decision::Ask => (4, SignedDuration::ZERO),
            Decision::Never => (5, SignedDuration::ZERO),
        }
    }
}

impl std::str::FromStr for Decision {
    type Err = String;

    /// Parses `allow`, `ask`, `never` or `after DURATION` (`after 30d`), in any case.
    fn from_str(text: &str) -> std::result::Result<Decision, String> {
        let lower = text.trim().to_ascii_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        match words.as_slice() {
            ["allow"] => Ok(Decision::Allow),
            ["ask"] => Ok(Decision::Ask),
            ["never"] => Ok(Decision::Never),
            ["after-task-closed"] => Ok(Decision::AfterTaskClosed),
            ["after-change-abandoned"] => Ok(Decision::AfterChangeAbandoned),
            ["after", duration] => parse_duration(duration).map(Decision::After),
            ["after"] => Err("'after' needs a duration, as in after 30d".into()),
            _ => Err(format!(
                "'{text}' is not a decision: write allow, ask, never, after DURATION (e.g. after 30d), \
                 after-task-closed or after-change-abandoned"
            )),
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Decision::Allow => f.write_str("allow"),
            Decision::After(wait) => write!(f, "after {}", format_duration(*wait)),
            Decision::AfterTaskClosed => f.write_str("after-task-closed"),
            Decision::AfterChangeAbandoned => f.write_str("after-change-abandoned"),
            Decision::Ask => f.write_str("ask"),
            Decision::Never => f.write_str("never"),
        }
    }
}

/// Which patches a rule covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Patches with this Gerrit Change-Id (`I` and 40 lower-case hex digits).
    Change(String),
    /// Patches that name this Phabricator task.
    Task(Task),
    /// Patches by this author (email, lower-cased; after .mailmap).
    Author(String),
    /// Every patch.
    Default,
}

impl Scope {
    /// A change scope from a full Change-Id, in any case.
    pub fn change(text: &str) -> std::result::Result<Scope, String> {
        let text = text.trim();
        let hex = text.strip_prefix(['I', 'i']).unwrap_or("");
        if hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Scope::Change(format!("I{}", hex.to_ascii_lowercase())))
        } else {
            Err(format!("'{text}' is not a full Change-Id (I and 40 hex digits, as in the Change-Id: trailer)"))
        }
    }

    /// A task scope from `T123456` (or `123456`).
    pub fn task(text: &str) -> std::result::Result<Scope, String> {
        text.trim().parse::<Task>().map(Scope::Task)
    }

    /// An author scope from an email address, with or without angle brackets.
    pub fn author(text: &str) -> std::result::Result<Scope, String> {
        let email = text.trim().trim_start_matches('<').trim_end_matches('>').trim();
        let plausible = email.contains('@') && !email.contains(|c: char| c.is_whitespace() || c.is_control());
        match plausible {
            true => Ok(Scope::Author(email.to_lowercase())),
            false => {
                Err(format!("'{text}' is not an email address (authors are matched by email, e.g. kim@example.org)"))
            }
        }
    }

    /// The scope's kind as written in the file and in JSON: `change`, `task`, `author`, `default`.
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Change(_) => "change",
            Scope::Task(_) => "task",
            Scope::Author(_) => "author",
            Scope::Default => "default",
        }
    }

    /// The Change-Id, task or email; `None` for the default scope.
    pub fn value(&self) -> Option<String> {
        match self {
            Scope::Change(id) => Some(id.clone()),
            Scope::Task(task) => Some(task.to_string()),
            Scope::Author(email) => Some(email.clone()),
            Scope::Default => None,
        }
    }

    /// Precedence level of a rule with this scope (lower wins; see [`Source::rank`]).
    pub fn rank(&self) -> u8 {
        match self {
            Scope::Change(_) => 0,
            Scope::Task(_) => 2,
            Scope::Author(_) => 3,
            Scope::Default => 4,
        }
    }

    /// How a rule with this scope is named in sentences: `the rule for task
    /// T123`, `the default rule`.
    pub fn rule_name(&self) -> String {
        match self {
            Scope::Default => "the default rule".to_owned(),
            scope => format!("the rule for {scope}"),
        }
    }

    /// Whether a rule with this scope covers the patch.
    pub fn covers(&self, facts: &PatchFacts) -> bool {
        match self {
            Scope::Change(id) => facts.change_id.is_some_and(|c| c.eq_ignore_ascii_case(id)),
            Scope::Task(task) => facts.tasks.contains(task),
            Scope::Author(email) => String::from_utf8_lossy(facts.author_email).trim().to_lowercase() == *email,
            Scope::Default => true,
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.value() {
            Some(value) => write!(f, "{} {value}", self.kind()),
            None => f.write_str(self.kind()),
        }
    }
}

/// One recorded consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub scope: Scope,
    pub decision: Decision,
    /// Who set it (a login name; see [`current_user`]).
    pub set_by: String,
    pub set_at: Timestamp,
    /// Why, in the words of whoever set it (untrusted text: sanitize to print).
    pub note: Option<String>,
}

/// What evaluation needs to know about a patch.
#[derive(Debug, Clone, Copy)]
pub struct PatchFacts<'a> {
    pub change_id: Option<&'a str>,
    pub tasks: &'a [Task],
    /// The author's email after .mailmap, as recorded (bytes).
    pub author_email: &'a [u8],
    /// The value of the commit's `Uncherry-Pick:` trailer.
    pub trailer: Option<&'a str>,
    /// How long the patch has been on the checkout; `None` when nothing
    /// dates its arrival (then no `after` rule ever allows its removal).
    pub age: Option<SignedDuration>,
    /// Whether Phabricator says every task it links is closed; `None`
    /// when that is not known (offline, a task it does not know, no task).
    pub tasks_closed: Option<bool>,
    /// Whether Gerrit says its change is abandoned; `None` when not known.
    pub change_abandoned: Option<bool>,
}

impl<'a> PatchFacts<'a> {
    /// The facts of a stack patch at `now`; its age counts from its arrival
    /// on the checkout ([`Patch::arrived`]), unknown if nothing dates it.
    pub fn of(patch: &'a Patch, now: Timestamp) -> PatchFacts<'a> {
        PatchFacts {
            change_id: patch.message.change_id.as_deref(),
            tasks: &patch.message.tasks,
            author_email: &patch.commit.author.email,
            trailer: patch.message.uncherry_pick.as_deref(),
            age: patch.age(now),
            tasks_closed: None,
            change_abandoned: None,
        }
    }

    /// The facts with what Gerrit (`live`) and Phabricator (`tasks`) say
    /// of the patch, where they were asked and know it.
    pub fn with_live(
        self,
        patch: &Patch,
        live: Option<&crate::model::live::LiveState>,
        tasks: Option<&crate::model::tasks::TaskLive>,
    ) -> PatchFacts<'a> {
        use crate::model::live::ChangeStatus;
        let change = live.and_then(|l| l.patches.get(patch.position - 1)).and_then(Option::as_ref);
        let known = |t: &crate::model::tasks::TaskLive| patch.message.tasks.iter().all(|id| t.tasks.contains_key(id));
        let tasks = tasks.filter(|t| !patch.message.tasks.is_empty() && known(t));
        PatchFacts {
            tasks_closed: tasks.map(|t| t.all_closed(&patch.message.tasks)),
            change_abandoned: change.map(|c| c.status == ChangeStatus::Abandoned),
            ..self
        }
    }

    /// The trailer's decision: `None` without a trailer, an error if it says
    /// something that is not a decision.
    pub fn trailer_decision(&self) -> Option<std::result::Result<Decision, String>> {
        self.trailer.map(str::parse)
    }
}

/// Where a decision came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A rule in the policy file with this scope.
    Rule(Scope),
    /// The patch's own `Uncherry-Pick:` trailer.
    Trailer,
    /// Nothing covered the patch: the built-in default, [`Decision::Ask`].
    Builtin,
}

impl Source {
    /// The name used in JSON and tables: `change`, `trailer`, `task`, `author`, `default`, `builtin`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Rule(scope) => scope.kind(),
            Source::Trailer => "trailer",
            Source::Builtin => "builtin",
        }
    }

    /// Precedence level, lower wins: change rule 0, trailer 1, task rule 2,
    /// author rule 3, default rule 4, built-in default 5.
    pub fn rank(&self) -> u8 {
        match self {
            Source::Rule(scope) => scope.rank(),
            Source::Trailer => 1,
            Source::Builtin => 5,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Rule(scope) => f.write_str(&scope.rule_name()),
            Source::Trailer => f.write_str("the Uncherry-Pick: trailer"),
            Source::Builtin => f.write_str("the built-in default"),
        }
    }
}

/// One source that covers a patch, winning or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub source: Source,
    pub decision: Decision,
    /// The rule, when the source is one.
    pub rule: Option<Rule>,
}

impl Candidate {
    /// Why this candidate lost to `winner`: outranked, or (among task rules) less strict.
    pub fn lost_to(&self, winner: &Candidate) -> String {
        match self.source.rank() == winner.source.rank() {
            true => format!("{} is stricter", winner.source),
            false => format!("outranked by {}", winner.source),
        }
    }
}

/// The decision for one patch, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    pub source: Source,
    /// The winning rule, when a rule won.
    pub rule: Option<Rule>,
    /// Whether removal is allowed at the patch's current age.
    pub allowed_now: bool,
    /// One readable sentence saying what is allowed and why.
    pub reason: String,
}

impl Verdict {
    /// The decision in a table cell: `allow`, `ask`, `never`, `after 30d (ok)`
    /// once a patch of this age may go, else `after 30d (in 8d)`, or
    /// `after 30d (age ?)` when nothing dates the patch.
    pub fn summary(&self, age: Option<SignedDuration>) -> String {
        match (self.decision, self.decision.wait(age)) {
            (Decision::After(_), _) if self.allowed_now => format!("{} (ok)", self.decision),
            (Decision::After(_), Some(wait)) => format!("{} (in {})", self.decision, human_age(wait)),
            (Decision::After(_), None) => format!("{} (age ?)", self.decision),
            (Decision::AfterTaskClosed | Decision::AfterChangeAbandoned, _) if self.allowed_now => {
                format!("{} (ok)", self.decision)
            }
            (decision, _) => decision.to_string(),
        }
    }
}

/// The rules of one repository, and the TOML document they came from (kept
/// so that saving changes only what changed).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    rules: Vec<Rule>,
    doc: toml_edit::DocumentMut,
}

impl Policy {
    /// Reads the policy file at `path`; a missing file is an empty policy.
    pub fn load(path: &Path) -> Result<Policy> {
        match crate::support::files::read_state(path)? {
            Some(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Policy::parse(&text, path),
                Err(e) => Err(file::not_utf8(path, e.utf8_error().valid_up_to())),
            },
            None => Ok(Policy::default()),
        }
    }

    /// Parses policy text; `path` is named in errors, which give line and column.
    pub fn parse(text: &str, path: &Path) -> Result<Policy> {
        let (rules, doc) = file::parse(text, path)?;
        Ok(Policy { rules, doc })
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rules in precedence order: change, task, author, default; then by
    /// Change-Id, task number or email.
    pub fn rules_by_precedence(&self) -> Vec<&Rule> {
        let mut sorted: Vec<&Rule> = self.rules.iter().collect();
        sorted.sort_by_key(|r| {
            let task = if let Scope::Task(t) = r.scope { t.0 } else { 0 };
            (r.scope.rank(), task, r.scope.value())
        });
        sorted
    }

    /// The rule for exactly this scope, if any.
    pub fn get(&self, scope: &Scope) -> Option<&Rule> {
        self.rules.iter().find(|r| r.scope == *scope)
    }

    /// Adds a rule, or replaces the rule with the same scope (in place, so its
    /// comments stay). Returns the rule it replaced.
    pub fn set(&mut self, rule: Rule) -> Option<Rule> {
        match self.rules.iter().position(|r| r.scope == rule.scope) {
            Some(i) => {
                file::update(&mut self.doc, i, &rule);
                Some(std::mem::replace(&mut self.rules[i], rule))
            }
            None => {
                file::push(&mut self.doc, &rule);
                self.rules.push(rule);
                None
            }
        }
    }

    /// Removes the rule with this scope; false if there was none.
    pub fn remove(&mut self, scope: &Scope) -> bool {
        match self.rules.iter().position(|r| r.scope == *scope) {
            Some(i) => {
                file::remove(&mut self.doc, i);
                self.rules.remove(i);
                true
            }
            None => false,
        }
    }

    /// Every source that covers the patch, winner first: rules and the
    /// trailer in precedence order (several task rules strictest first), and
    /// last the built-in default.
    pub fn candidates(&self, facts: &PatchFacts) -> Vec<Candidate> {
        let mut found: Vec<Candidate> = self
            .rules
            .iter()
            .filter(|r| r.scope.covers(facts))
            .map(|r| Candidate { source: Source::Rule(r.scope.clone()), decision: r.decision, rule: Some(r.clone()) })
            .collect();
        if let Some(Ok(decision)) = facts.trailer_decision() {
            found.push(Candidate { source: Source::Trailer, decision, rule: None });
        }
        found.push(Candidate { source: Source::Builtin, decision: Decision::Ask, rule: None });
        // Stable: equal ranks and strictness keep file order.
        found.sort_by(|a, b| {
            a.source.rank().cmp(&b.source.rank()).then_with(|| b.decision.strictness().cmp(&a.decision.strictness()))
        });
        found
    }

    /// The decision for one patch.
    pub fn evaluate(&self, facts: &PatchFacts) -> Verdict {
        let candidates = self.candidates(facts);
        let task_rules = candidates.iter().filter(|c| matches!(c.source, Source::Rule(Scope::Task(_)))).count();
        let winner = candidates.into_iter().next().expect("the built-in default covers every patch");
        let reason = reason(&winner, facts, task_rules);
        Verdict {
            allowed_now: winner.decision.allows_for(facts),
            decision: winner.decision,
            source: winner.source,
            rule: winner.rule,
            reason,
        }
    }

    /// The file's text as it would be saved.
    pub fn to_toml(&self) -> String {
        self.doc.to_string()
    }

    /// Writes the policy to `path` atomically, creating its directory.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::support::files::write_atomic(path, self.to_toml().as_bytes())
    }
}

/// One sentence: what is allowed, then which source said so.
fn reason(winner: &Candidate, facts: &PatchFacts, task_rules: usize) -> String {
    let age = facts.age;
    let outcome = match (winner.decision, age) {
        (Decision::Allow, _) => "Removal is allowed".to_owned(),
        (Decision::After(_), Some(age)) if winner.decision.allows(Some(age)) => {
            format!("Removal is allowed now that the patch is {} old", human_age(age))
        }
        (Decision::After(wait), None) => format!(
            "Removal is not allowed: nothing dates the patch's arrival on the checkout (no ledger entry, \
             snapshot tag or reflog entry holds it), so it is never {} old",
            format_duration(wait)
        ),
        (Decision::After(wait), Some(_)) => format!(
            "Removal is not allowed for another {}, until the patch is {} old",
            human_age(winner.decision.wait(age).unwrap_or(wait)),
            format_duration(wait)
        ),
        (Decision::AfterTaskClosed, _) => match facts.tasks_closed {
            Some(true) => "Removal is allowed now that Phabricator says its tasks are closed".to_owned(),
            Some(false) => "Removal is not allowed until Phabricator says all its tasks are closed".to_owned(),
            None => "Removal is not allowed while its tasks' state is unknown (ask Phabricator: --online)".to_owned(),
        },
        (Decision::AfterChangeAbandoned, _) => match facts.change_abandoned {
            Some(true) => "Removal is allowed now that Gerrit says its change is abandoned".to_owned(),
            Some(false) => "Removal is not allowed until Gerrit says its change is abandoned".to_owned(),
            None => "Removal is not allowed while its change's state is unknown (ask Gerrit: --online)".to_owned(),
        },
        (Decision::Ask, _) => "Removal needs the owner's consent".to_owned(),
        (Decision::Never, _) => "Removal is never allowed".to_owned(),
    };
    let decision = winner.decision;
    let cause = match &winner.source {
        Source::Rule(Scope::Task(task)) if task_rules > 1 => {
            format!("the rule for task {task} says {decision}, the strictest of its {task_rules} task rules")
        }
        Source::Rule(scope) => format!("{} says {decision}", scope.rule_name()),
        Source::Trailer => format!("its commit message says Uncherry-Pick: {decision}"),
        Source::Builtin => {
            "no consent rule or Uncherry-Pick: trailer covers it, and the built-in default is ask".into()
        }
    };
    let ignored = match (facts.trailer, facts.trailer_decision()) {
        (Some(text), Some(Err(_))) => {
            format!(" (its Uncherry-Pick: trailer {text:?} is not a decision, so it was ignored)")
        }
        _ => String::new(),
    };
    format!("{outcome}: {cause}{ignored}.")
}

/// Who is setting a rule: `$SUDO_USER`, else `$USER`, else "unknown".
pub fn current_user() -> String {
    user_from(std::env::var("SUDO_USER").ok(), std::env::var("USER").ok())
}

/// The first of `sudo_user` and `user` that is set and not blank, else "unknown".
pub fn user_from(sudo_user: Option<String>, user: Option<String>) -> String {
    [sudo_user, user]
        .into_iter()
        .flatten()
        .map(|name| name.trim().to_owned())
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests;
