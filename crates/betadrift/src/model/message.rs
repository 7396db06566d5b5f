//! What a commit message says about a patch: its subject, Gerrit Change-Id,
//! Phabricator tasks and un-cherry-pick policy.
//!
//! Wikimedia commits carry `Change-Id: I<40 hex>` and `Bug: T123456` trailers
//! (Gerrit and Phabricator conventions); local hacks on a puppetmaster often
//! carry nothing but a subject like "HACK: …". Parsing is pure and lenient:
//! messages are untrusted bytes and any of them must parse without panicking.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// A Phabricator task number, such as T123456.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct Task(pub u64);

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "T{}", self.0)
    }
}

impl From<Task> for String {
    fn from(t: Task) -> String {
        t.to_string()
    }
}

impl std::str::FromStr for Task {
    type Err = String;

    fn from_str(s: &str) -> Result<Task, String> {
        let digits = s.strip_prefix('T').or_else(|| s.strip_prefix('t')).unwrap_or(s);
        match digits.parse::<u64>() {
            Ok(n) if n > 0 && !digits.starts_with('+') => Ok(Task(n)),
            _ => Err(format!("'{s}' is not a Phabricator task (expected T123456)")),
        }
    }
}

/// Where a task number was found, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskSource {
    /// A `Bug:` or `Task:` trailer.
    Trailer,
    /// A mention or a Phabricator URL in the message text.
    Mention,
}

/// One `Key: value` line of the trailer block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    pub key: String,
    pub value: String,
}

/// Everything betadrift reads from one commit message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    /// The first paragraph, joined into one line (git's `%s`), as raw bytes.
    pub subject: Vec<u8>,
    /// The trailers of the last paragraph, in order.
    pub trailers: Vec<Trailer>,
    /// The Gerrit Change-Id; when several are given, the last one.
    pub change_id: Option<String>,
    /// Phabricator tasks, sorted and deduplicated.
    pub tasks: Vec<Task>,
    /// Whether `tasks` came from trailers or from mentions.
    pub task_source: Option<TaskSource>,
    /// The value of an `Uncherry-Pick:` trailer, if any (the author's removal policy).
    pub uncherry_pick: Option<String>,
}

static CHANGE_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^I[0-9a-fA-F]{40}$").unwrap());
static TASK_IN_TRAILER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)(?:^|[^A-Za-z0-9])T([0-9]+)\b").unwrap());
static TASK_MENTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:phabricator\.wikimedia\.org/T([0-9]+)\b)|(?:(?:^|[^A-Za-z0-9/_-])T([1-9][0-9]{2,})\b)").unwrap()
});

/// Trailer keys that mark a paragraph as a trailer block even among prose.
const KNOWN_KEYS: &[&str] = &[
    "change-id",
    "bug",
    "task",
    "signed-off-by",
    "co-authored-by",
    "depends-on",
    "uncherry-pick",
    "hosts",
    "reviewed-by",
];

impl MessageInfo {
    /// Only the Change-Id of a raw commit message: the cheap path for
    /// indexing thousands of upstream commits.
    pub fn change_id_of(raw: &[u8]) -> Option<String> {
        trailer_block(raw)
            .into_iter()
            .filter(|t| t.key.eq_ignore_ascii_case("change-id") && CHANGE_ID.is_match(&t.value))
            .map(|t| t.value)
            .next_back()
    }

    /// Parses a raw commit message.
    pub fn parse(raw: &[u8]) -> MessageInfo {
        let text = String::from_utf8_lossy(raw);
        let subject = subject_bytes(raw);
        let trailers = trailer_block(raw);
        let change_id = trailers
            .iter()
            .filter(|t| t.key.eq_ignore_ascii_case("change-id"))
            .filter(|t| CHANGE_ID.is_match(&t.value))
            .map(|t| t.value.clone())
            .next_back();
        let uncherry_pick = trailers
            .iter()
            .filter(|t| t.key.eq_ignore_ascii_case("uncherry-pick"))
            .map(|t| t.value.clone())
            .next_back();
        let (tasks, task_source) = tasks(&text, &trailers);
        MessageInfo { subject, trailers, change_id, tasks, task_source, uncherry_pick }
    }
}

/// git's subject: the first paragraph, lines joined by single spaces.
fn subject_bytes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in raw.split(|&b| b == b'\n').skip_while(|l| is_blank(l)) {
        if is_blank(line) {
            break;
        }
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(trim_ascii(line));
    }
    out
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

fn trim_ascii(line: &[u8]) -> &[u8] {
    line.trim_ascii()
}

/// The trailers of the message's last paragraph, following git's rule: a
/// paragraph is a trailer block when all its lines are trailers (or their
/// continuation lines), or when at least a quarter are and one has a known key.
fn trailer_block(raw: &[u8]) -> Vec<Trailer> {
    let Some(paragraph) = last_paragraph(raw) else { return Vec::new() };
    let text = String::from_utf8_lossy(paragraph);
    let mut trailers: Vec<Trailer> = Vec::new();
    let mut prose = 0usize;
    for line in text.lines().map(str::trim_end) {
        if let Some((key, value)) = trailer_line(line) {
            trailers.push(Trailer { key: key.to_owned(), value: value.trim().to_owned() });
        } else if line.starts_with([' ', '\t']) && !trailers.is_empty() {
            let last = trailers.last_mut().expect("checked non-empty");
            last.value.push(' ');
            last.value.push_str(line.trim());
        } else {
            prose += 1;
        }
    }
    let known = trailers.iter().any(|t| KNOWN_KEYS.contains(&t.key.to_ascii_lowercase().as_str()));
    let accepted = !trailers.is_empty() && (prose == 0 || (known && trailers.len() * 3 >= prose));
    if accepted { trailers } else { Vec::new() }
}

/// Splits `Key: value` (the key of letters, digits and dashes, not starting
/// with a dash; blanks allowed before and after the colon). By hand rather
/// than a regex: it runs on every line of thousands of upstream messages.
fn trailer_line(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    let key_len = bytes.iter().position(|&b| !(b.is_ascii_alphanumeric() || b == b'-')).unwrap_or(bytes.len());
    if key_len == 0 || bytes[0] == b'-' {
        return None;
    }
    let rest = line[key_len..].trim_start_matches([' ', '\t']);
    let value = rest.strip_prefix(':')?;
    Some((&line[..key_len], value.trim_start_matches([' ', '\t'])))
}

/// The message's last paragraph, found from the end (messages can be long);
/// `None` for a one-paragraph message, which is all subject.
fn last_paragraph(raw: &[u8]) -> Option<&[u8]> {
    let blank = |line: &[u8]| line.iter().all(|b| b.is_ascii_whitespace());
    let mut end = raw.len();
    // Skip trailing blank lines.
    loop {
        let line_start = raw[..end].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if end == 0 || !blank(&raw[line_start..end]) {
            break;
        }
        end = line_start.saturating_sub(1);
        if line_start == 0 {
            return None;
        }
    }
    let mut start = end;
    while start > 0 {
        let line_start = raw[..start - 1].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = &raw[line_start..start - 1];
        if blank(line) {
            return Some(&raw[start..end]);
        }
        start = line_start;
    }
    None
}

/// Tasks from `Bug:`/`Task:` trailers; if there are none, from mentions and
/// Phabricator URLs anywhere in the message.
fn tasks(text: &str, trailers: &[Trailer]) -> (Vec<Task>, Option<TaskSource>) {
    let mut found: Vec<Task> = trailers
        .iter()
        .filter(|t| t.key.eq_ignore_ascii_case("bug") || t.key.eq_ignore_ascii_case("task"))
        .flat_map(|t| TASK_IN_TRAILER.captures_iter(&t.value).filter_map(|c| c[1].parse().ok()))
        .filter(|&n| n > 0)
        .map(Task)
        .collect();
    let mut source = Some(TaskSource::Trailer);
    if found.is_empty() {
        found = TASK_MENTION
            .captures_iter(text)
            .filter_map(|c| c.get(1).or_else(|| c.get(2)).and_then(|m| m.as_str().parse().ok()))
            .filter(|&n| n > 0)
            .map(Task)
            .collect();
        source = Some(TaskSource::Mention);
    }
    found.sort_unstable();
    found.dedup();
    if found.is_empty() {
        source = None;
    }
    (found, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CID_A: &str = "I0123456789abcdef0123456789abcdef01234567";
    const CID_B: &str = "Ifedcba9876543210fedcba9876543210fedcba98";

    fn parse(s: &str) -> MessageInfo {
        MessageInfo::parse(s.as_bytes())
    }

    #[test]
    fn subject_is_first_paragraph_joined() {
        let m = parse("\nfirst line\ncontinues here\n\nbody\n");
        assert_eq!(m.subject, b"first line continues here");
        assert_eq!(parse("").subject, b"");
    }

    #[test]
    fn change_id_last_wins() {
        let m = parse(&format!("subject\n\nbody\n\nChange-Id: {CID_A}\nChange-Id: {CID_B}\n"));
        assert_eq!(m.change_id.as_deref(), Some(CID_B));
    }

    #[test]
    fn change_id_only_in_trailer_block() {
        let m = parse(&format!("subject\n\nChange-Id: {CID_A} is mentioned\nin prose\n\nSigned-off-by: x <x@y>\n"));
        assert_eq!(m.change_id, None);
        let m = parse("subject\n\nChange-Id: not-an-id\n");
        assert_eq!(m.change_id, None);
    }

    #[test]
    fn one_paragraph_message_has_no_trailers() {
        let m = parse(&format!("Change-Id: {CID_A}\n"));
        assert!(m.trailers.is_empty());
        assert_eq!(m.change_id, None);
    }

    #[test]
    fn bug_trailers_in_every_form() {
        let m = parse(&format!(
            "subject\n\nBug: T100\nbug: T200\nBug: T300, T301\nBUG: T400 T401\nTask: T500\nChange-Id: {CID_A}\n"
        ));
        let want: Vec<Task> = [100, 200, 300, 301, 400, 401, 500].into_iter().map(Task).collect();
        assert_eq!(m.tasks, want);
        assert_eq!(m.task_source, Some(TaskSource::Trailer));
    }

    #[test]
    fn trailers_win_over_mentions() {
        let m = parse(&format!("Fix T111 regression\n\nSee T222.\n\nBug: T333\nChange-Id: {CID_A}\n"));
        assert_eq!(m.tasks, vec![Task(333)]);
    }

    #[test]
    fn mentions_and_urls_when_no_trailer() {
        let m = parse("TEMP: debug T123456\n\nsee https://phabricator.wikimedia.org/T98765#123 and T4\n");
        assert_eq!(m.tasks, vec![Task(98765), Task(123456)]);
        assert_eq!(m.task_source, Some(TaskSource::Mention));
        // not tasks: too short, inside words, hex ids
        let m = parse("HACK: bump T1 timeout on ST1234 and /T5678x\n");
        assert!(m.tasks.is_empty(), "{:?}", m.tasks);
        assert_eq!(m.task_source, None);
    }

    #[test]
    fn trailer_block_with_some_prose_needs_known_key() {
        let m = parse(
            "s\n\nThis is prose\nBug: T777\nReviewed-on: x\nChange-Id: I0123456789abcdef0123456789abcdef01234567\n",
        );
        assert_eq!(m.tasks, vec![Task(777)]);
        let m = parse("s\n\nSome prose here\nmore prose\nmore prose\nmore prose\nmore prose\nFoo: bar\n");
        assert!(m.trailers.is_empty());
    }

    #[test]
    fn trailer_lines_split_like_the_regex_they_replace() {
        assert_eq!(trailer_line("Bug: T1"), Some(("Bug", "T1")));
        assert_eq!(trailer_line("Change-Id:I0"), Some(("Change-Id", "I0")));
        assert_eq!(trailer_line("Key \t:\t value "), Some(("Key", "value ")));
        assert_eq!(trailer_line("X:"), Some(("X", "")));
        assert_eq!(trailer_line("-Bad: x"), None);
        assert_eq!(trailer_line(": x"), None);
        assert_eq!(trailer_line("Two words: x"), None);
        assert_eq!(trailer_line("Key_1: x"), None);
        assert_eq!(trailer_line("Clé: x"), None);
        assert_eq!(trailer_line("plain prose"), None);
    }

    #[test]
    fn continuation_lines_extend_the_value() {
        let m = parse("s\n\nBug: T1000,\n  T2000\nChange-Id: I0123456789abcdef0123456789abcdef01234567\n");
        assert_eq!(m.tasks, vec![Task(1000), Task(2000)]);
    }

    #[test]
    fn uncherry_pick_policy_trailer() {
        let m = parse("s\n\nUncherry-Pick: allow\nBug: T1\n");
        assert_eq!(m.uncherry_pick.as_deref(), Some("allow"));
    }

    #[test]
    fn hostile_messages_do_not_panic() {
        let mut big = b"x".repeat(100_000);
        big.extend_from_slice(b"\n\nBug: T1\n\xff\xfe");
        let m = MessageInfo::parse(&big);
        assert_eq!(m.subject.len(), 100_000);
        let m = MessageInfo::parse(b"\x1b[2J\x9b\n\n\xffBug: T5\x00\n");
        assert!(m.subject.starts_with(b"\x1b[2J"));
        let _ = MessageInfo::parse(b"\n\n\n");
        let _ = MessageInfo::parse(b":\n\n:\n: \n-:");
    }

    #[test]
    fn task_parse_from_str() {
        assert_eq!("T123".parse::<Task>(), Ok(Task(123)));
        assert_eq!("123".parse::<Task>(), Ok(Task(123)));
        assert!("T0".parse::<Task>().is_err());
        assert!("Tx".parse::<Task>().is_err());
    }
}
