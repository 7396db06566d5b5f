//! The policy file: TOML, one `[[rule]]` table per rule.
//!
//! People edit this file by hand (a comment saying which task comment granted
//! the consent, rules grouped by team) and betadrift edits it with `consent
//! set` and `consent remove`. Both must be able to live with each other, so
//! the file is parsed with `toml_edit` and changed in place: a changed rule
//! keeps its comments, a new rule is appended, a removed rule takes only the
//! comment block directly above it. The text is checked strictly (unknown
//! keys, two rules for one scope, values that do not parse) with line and
//! column, because a typo in a consent file silently changes who may remove
//! what.

use std::ops::Range;
use std::path::Path;

use jiff::Timestamp;
use toml_edit::{ArrayOfTables, Document, DocumentMut, Item, Table, Value};

use super::{Decision, Rule, Scope};
use crate::config::line_col;
use crate::error::{Error, Result};
use crate::support::clock::rfc3339;

/// The comment a new policy file starts with.
pub(super) const HEADER: &str = "\
# betadrift consent policy: which local patches may be removed without asking.
# Edit by hand or with `betadrift consent set` and `betadrift consent remove`;
# comments are kept. Format and precedence: docs/consent.md.
";

/// What to do about a file that does not parse.
const FIX: &str = "fix the file by hand (betadrift does not rewrite a policy it cannot read)";

/// Something wrong in the file, and where.
struct Problem {
    span: Option<Range<usize>>,
    message: String,
}

impl Problem {
    fn at(span: Option<Range<usize>>, message: impl Into<String>) -> Problem {
        Problem { span, message: message.into() }
    }
}

/// Parses and checks the text; the editable document keeps its formatting.
pub(super) fn parse(text: &str, path: &Path) -> Result<(Vec<Rule>, DocumentMut)> {
    let located = |p: Problem| {
        let message = match p.span {
            Some(span) => {
                let (line, column) = line_col(text, span.start);
                format!("line {line}, column {column}: {}; {FIX}", p.message)
            }
            None => format!("{}; {FIX}", p.message),
        };
        Error::Policy { path: path.to_owned(), message }
    };
    let doc = Document::parse(text.to_owned())
        .map_err(|e| located(Problem::at(e.span(), e.message().trim().replace('\n', " "))))?;
    let rules = read_rules(doc.as_table(), text).map_err(located)?;
    Ok((rules, doc.into_mut()))
}

/// The error for a file that is not UTF-8.
pub(super) fn not_utf8(path: &Path, valid_up_to: usize) -> Error {
    Error::Policy { path: path.to_owned(), message: format!("byte {valid_up_to} is not UTF-8 text; {FIX}") }
}

fn key_span(table: &Table, key: &str) -> Option<Range<usize>> {
    table.key(key).and_then(|k| k.span())
}

fn read_rules(root: &Table, text: &str) -> std::result::Result<Vec<Rule>, Problem> {
    if let Some((key, _)) = root.iter().find(|(key, _)| *key != "rule") {
        return Err(Problem::at(
            key_span(root, key),
            format!("unknown key '{key}': a policy file holds only [[rule]] tables"),
        ));
    }
    let tables = match root.get("rule") {
        None => return Ok(Vec::new()),
        Some(Item::ArrayOfTables(tables)) => tables,
        Some(_) => {
            return Err(Problem::at(key_span(root, "rule"), "write each rule as a [[rule]] table"));
        }
    };
    let mut rules: Vec<(Rule, Option<Range<usize>>)> = Vec::new();
    for table in tables.iter() {
        let (rule, span) = read_rule(table)?;
        if let Some((_, first)) = rules.iter().find(|(r, _)| r.scope == rule.scope) {
            let first = first
                .as_ref()
                .map_or(String::new(), |s| format!(" (the first is at line {})", line_col(text, s.start).0));
            return Err(Problem::at(span, format!("a second rule for {}{first}; keep only one", rule.scope)));
        }
        rules.push((rule, span));
    }
    Ok(rules.into_iter().map(|(rule, _)| rule).collect())
}

/// The fields of one `[[rule]]` table as they are read.
#[derive(Default)]
struct Fields {
    scope: Option<(Scope, Option<Range<usize>>)>,
    decision: Option<Decision>,
    set_by: Option<String>,
    set_at: Option<Timestamp>,
    note: Option<String>,
}

fn read_rule(table: &Table) -> std::result::Result<(Rule, Option<Range<usize>>), Problem> {
    let mut fields = Fields::default();
    for (key, item) in table.iter() {
        let span = key_span(table, key);
        let value = item
            .as_value()
            .ok_or_else(|| Problem::at(span.clone(), format!("'{key}' must be a plain value, not a table")))?;
        fields.read(key, value, span)?;
    }
    let missing = |what: &str| Problem::at(table.span(), format!("this rule has no {what}"));
    let (scope, span) = fields.scope.ok_or_else(|| {
        missing("scope: give it one of change = \"I…\", task = \"T…\", author = \"email\" or default = true")
    })?;
    let rule = Rule {
        scope,
        decision: fields
            .decision
            .ok_or_else(|| missing("decision: add decision = \"ask\" (or allow, never, after 30d)"))?,
        set_by: fields.set_by.ok_or_else(|| missing("set_by: add set_by = \"<your login>\""))?,
        set_at: fields.set_at.ok_or_else(|| missing("set_at: add set_at = \"<now, as 2026-11-25T12:00:00Z>\""))?,
        note: fields.note,
    };
    Ok((rule, span))
}

impl Fields {
    fn read(&mut self, key: &str, value: &Value, key_span: Option<Range<usize>>) -> std::result::Result<(), Problem> {
        let bad = |message: String| Problem::at(value.span().or(key_span.clone()), message);
        match key {
            "change" | "task" | "author" | "default" => {
                let scope = scope(key, value).map_err(bad)?;
                if let Some((first, _)) = &self.scope {
                    let message = format!("this rule already covers {first}; a rule has exactly one scope");
                    return Err(Problem::at(key_span, message));
                }
                self.scope = Some((scope, key_span));
            }
            "decision" => self.decision = Some(string(key, value).and_then(str::parse).map_err(bad)?),
            "set_by" => self.set_by = Some(string(key, value).map_err(bad)?.to_owned()),
            "set_at" => self.set_at = Some(timestamp(value).map_err(bad)?),
            "note" => self.note = Some(string(key, value).map_err(bad)?.to_owned()),
            _ => {
                let message = format!(
                    "unknown key '{key}' in a rule (known: change, task, author, default, decision, set_by, set_at, note)"
                );
                return Err(Problem::at(key_span, message));
            }
        }
        Ok(())
    }
}

fn string<'v>(key: &str, value: &'v Value) -> std::result::Result<&'v str, String> {
    value.as_str().ok_or_else(|| format!("'{key}' must be a string in quotes"))
}

fn scope(key: &str, value: &Value) -> std::result::Result<Scope, String> {
    match key {
        "change" => Scope::change(string(key, value)?),
        "task" => Scope::task(string(key, value)?),
        "author" => Scope::author(string(key, value)?),
        _ => match value.as_bool() {
            Some(true) => Ok(Scope::Default),
            Some(false) => Err("default = false covers nothing: write default = true, or remove the rule".into()),
            None => Err("'default' must be true".into()),
        },
    }
}

fn timestamp(value: &Value) -> std::result::Result<Timestamp, String> {
    let text = match value {
        Value::String(s) => s.value().clone(),
        Value::Datetime(dt) => dt.value().to_string(),
        _ => return Err("'set_at' must be a time like \"2026-11-25T12:00:00Z\"".into()),
    };
    text.parse::<Timestamp>().map_err(|_| format!("set_at '{text}' is not a time like 2026-11-25T12:00:00Z"))
}

/// The `rule` array, created if the document has none yet.
fn rules_mut(doc: &mut DocumentMut) -> &mut ArrayOfTables {
    doc.entry("rule")
        .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .expect("parse accepts only an array of tables under 'rule'")
}

/// Appends a rule as a new `[[rule]]` table, after a blank line.
pub(super) fn push(doc: &mut DocumentMut, rule: &Rule) {
    let mut table = Table::new();
    let scope_value: Value = match &rule.scope {
        Scope::Default => true.into(),
        other => other.value().unwrap_or_default().into(),
    };
    table.insert(rule.scope.kind(), Item::Value(scope_value));
    write_fields(&mut table, rule);
    let has_rules = doc.get("rule").and_then(Item::as_array_of_tables).is_some_and(|a| !a.is_empty());
    let prefix = if has_rules {
        "\n".to_owned()
    } else {
        // The first rule: comments so far (all in the trailing text) go above it.
        let before = doc.trailing().as_str().unwrap_or("").to_owned();
        doc.set_trailing("");
        match before.trim().is_empty() {
            true => format!("{HEADER}\n"),
            false => format!("{}\n\n", before.trim_end_matches('\n')),
        }
    };
    table.decor_mut().set_prefix(prefix);
    rules_mut(doc).push(table);
}

/// Changes rule `index` in place: decision, set_by, set_at and note; keys,
/// comments and values that did not change stay as they were written.
pub(super) fn update(doc: &mut DocumentMut, index: usize, rule: &Rule) {
    let table = rules_mut(doc).get_mut(index).expect("rules and tables correspond");
    write_fields(table, rule);
}

fn write_fields(table: &mut Table, rule: &Rule) {
    set_value(table, "decision", rule.decision.to_string());
    set_value(table, "set_by", rule.set_by.clone());
    set_value(table, "set_at", rfc3339(rule.set_at));
    match &rule.note {
        Some(note) => set_value(table, "note", note.clone()),
        None => {
            table.remove("note");
        }
    }
}

/// Sets a string value, keeping the old value's surrounding whitespace and
/// end-of-line comment; an unchanged value is left exactly as written.
fn set_value(table: &mut Table, key: &str, new: String) {
    match table.get_mut(key) {
        Some(item) => {
            if item.as_str() == Some(new.as_str()) {
                return;
            }
            let mut value = Value::from(new);
            if let Some(old) = item.as_value() {
                *value.decor_mut() = old.decor().clone();
            }
            *item = Item::Value(value);
        }
        None => {
            table.insert(key, Item::Value(Value::from(new)));
        }
    }
}

/// Removes rule `index` with the comment block directly above it; comments
/// separated from it by a blank line (a file header, a section title) move
/// to whatever follows.
pub(super) fn remove(doc: &mut DocumentMut, index: usize) {
    let rules = rules_mut(doc);
    let removed = rules.remove(index);
    let kept = detached_comments(removed.decor().prefix().and_then(|p| p.as_str()).unwrap_or(""));
    if let Some(next) = rules.get_mut(index) {
        let after = next.decor().prefix().and_then(|p| p.as_str()).unwrap_or("").to_owned();
        next.decor_mut().set_prefix(join_comments(&kept, &after));
        return;
    }
    if rules.is_empty() {
        doc.remove("rule");
    }
    let after = doc.trailing().as_str().unwrap_or("").to_owned();
    doc.set_trailing(join_comments(&kept, &after));
}

/// The part of a table's leading text that is not about the table: every
/// line up to the last blank line, unless that is only whitespace.
fn detached_comments(prefix: &str) -> String {
    let lines: Vec<&str> = prefix.split_inclusive('\n').collect();
    let Some(last_blank) = lines.iter().rposition(|l| l.trim().is_empty()) else {
        return String::new();
    };
    let before: String = lines[..=last_blank].concat();
    if before.trim().is_empty() {
        return String::new();
    }
    let end = lines[..=last_blank].iter().rposition(|l| !l.trim().is_empty()).expect("not all blank");
    lines[..=end].concat()
}

/// Kept comments followed by the next text, one blank line between them.
fn join_comments(kept: &str, after: &str) -> String {
    match (kept.is_empty(), after.trim_start_matches('\n').is_empty()) {
        (true, _) => after.to_owned(),
        (false, true) => kept.to_owned(),
        (false, false) => format!("{kept}\n{}", after.trim_start_matches('\n')),
    }
}
