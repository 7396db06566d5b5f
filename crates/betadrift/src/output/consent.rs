//! The text of `betadrift consent list` and `consent explain`.

use std::io::Write;
use std::path::Path;

use jiff::Timestamp;

use crate::consent::explain::Explained;
use crate::consent::{Candidate, Decision, Rule, Verdict};
use crate::support::clock::{ago, human_age, rfc3339};
use crate::support::escape::{terminal, terminal_short};
use crate::support::ids::short_id;

/// Writes the rules of the policy file at `path`, most specific first.
pub fn render_list(path: &Path, rules: &[&Rule], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "policy  {}", shown(path))?;
    if rules.is_empty() {
        writeln!(out, "no rules: a patch may be removed only if its Uncherry-Pick: trailer says so; otherwise ask")?;
        return Ok(());
    }
    writeln!(out)?;
    let mut table = super::table();
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

pub fn render_explained(e: &Explained, now: Timestamp, out: &mut dyn Write) -> std::io::Result<()> {
    let p = e.patch;
    writeln!(out, "#{} {} {}", p.position, short_id(p.commit.oid), terminal_short(&p.message.subject, 72))?;
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
    let around = match (e.patch.arrived(), e.facts.age) {
        (Some(since), Some(age)) => format!("on the checkout since {} ({})", rfc3339(since), ago(age)),
        _ => format!(
            "age unknown: nothing dates its arrival on the checkout (authored {})",
            rfc3339(e.patch.commit.author_time.timestamp())
        ),
    };
    let now_text = match (e.verdict.decision, e.verdict.allowed_now, e.allowed_from()) {
        (_, true, _) => "allowed now".to_owned(),
        (Decision::After(_), false, Some(from)) => {
            format!("allowed from {} (in {})", rfc3339(from), human_age(from.duration_since(now)))
        }
        (Decision::After(_), false, None) => "not while its age is unknown".to_owned(),
        (Decision::Never, ..) => "never allowed".to_owned(),
        (Decision::AfterTaskClosed, ..) => "not until Phabricator says its tasks are closed".to_owned(),
        (Decision::AfterChangeAbandoned, ..) => "not until Gerrit says its change is abandoned".to_owned(),
        _ => "not without the owner's consent".to_owned(),
    };
    format!("{now_text}; {around}")
}

pub fn shown(path: &Path) -> String {
    terminal(path.as_os_str().as_encoded_bytes())
}

pub fn safe(text: &str) -> String {
    terminal(text.as_bytes())
}
