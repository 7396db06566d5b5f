//! Commits as plain data, and the bytes of a commit object's header.
//!
//! History walks read thousands of upstream commits straight from the object
//! store ([`Repo::raw_commit`](crate::git::repo::Repo::raw_commit)), past
//! libgit2, so the header is parsed here by hand; fixtures write ident lines
//! the same way. Both are pure functions on bytes, kept apart from the code
//! that talks to libgit2 so that they can be tested on their own. Names,
//! emails and messages stay bytes: they need not be UTF-8.
//!
//! [`sequencer_subject`] follows git 2.47's `get_message` (sequencer.c),
//! `repo_logmsg_reencode` (pretty.c), `reencode_string_len` (utf8.c) and
//! `find_commit_subject` (commit.c).

use git2::Oid;
use jiff::Timestamp;

/// A person as recorded in a commit: raw bytes, possibly not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Person {
    pub name: Vec<u8>,
    pub email: Vec<u8>,
}

/// A point in time as git records it: seconds since the epoch and the offset
/// of the author's clock, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GitTime {
    pub seconds: i64,
    pub offset_minutes: i32,
}

impl GitTime {
    /// The instant, ignoring the offset.
    pub fn timestamp(self) -> Timestamp {
        Timestamp::from_second(self.seconds).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// One commit, read once.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub oid: Oid,
    pub tree: Oid,
    pub parents: Vec<Oid>,
    /// Author after mailmap.
    pub author: Person,
    /// Author exactly as recorded.
    pub raw_author: Person,
    pub author_time: GitTime,
    pub committer: Person,
    pub commit_time: GitTime,
    /// The raw message bytes (encoding header not applied).
    pub message: Vec<u8>,
    /// The `encoding` header, if any (what the message claims to be in).
    pub encoding: Option<String>,
}

impl CommitInfo {
    /// The subject `git rebase` names this commit by in its conflict labels.
    pub fn sequencer_subject(&self) -> Vec<u8> {
        sequencer_subject(&self.message, self.encoding.as_deref())
    }
}

/// The subject the sequencer puts in a pick's labels (`<abbrev> (<subject>)`),
/// which name files moved aside (`path~<abbrev> (<subject>)`): the message
/// re-encoded to UTF-8 when an `encoding` header names another encoding
/// (kept as it is when that fails, as git keeps it), up to its first NUL
/// (git handles it as a C string), then its first line that is not blank,
/// without the LF but with any CR.
pub fn sequencer_subject(message: &[u8], encoding: Option<&str>) -> Vec<u8> {
    let message = message.split(|&b| b == 0).next().unwrap_or_default();
    let reencoded = encoding.filter(|e| !is_utf8_name(e)).and_then(|e| to_utf8(e, message));
    let message = reencoded.as_deref().map_or(message, str::as_bytes);
    let rest = skip_blank_lines(message);
    rest[..rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())].to_vec()
}

/// git's `skip_blank_lines`: drops whole lines of git's spaces (space, tab,
/// CR, LF) from the start.
fn skip_blank_lines(mut text: &[u8]) -> &[u8] {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    loop {
        let line_len = text.iter().position(|&b| b == b'\n').map_or(text.len(), |i| i + 1);
        if line_len == 0 || !text[..line_len].iter().all(is_space) {
            return text;
        }
        text = &text[line_len..];
    }
}

/// The author line (without `author `) and the message of the commit that
/// `git rebase` writes when it picks the commit object `raw`: the object is
/// re-encoded to UTF-8 as [`sequencer_subject`] says (author included), the
/// message starts at its first line that is not blank (none at all when
/// that line is empty), and bytes that are not valid UTF-8 are taken for
/// Latin-1 and converted, as `commit_tree_extended` does (`verify_utf8`);
/// the new commit has no `encoding` header. git 2.47's `do_pick_commit`
/// (sequencer.c) and `verify_utf8` (commit.c).
pub fn rebased_author_and_message(raw: &[u8]) -> (Option<Vec<u8>>, Vec<u8>) {
    let raw = raw.split(|&b| b == 0).next().unwrap_or_default();
    let split = memchr::memmem::find(raw, b"\n\n");
    let header = &raw[..split.unwrap_or(raw.len())];
    let encoding = header.split(|&b| b == b'\n').find_map(|l| l.strip_prefix(b"encoding "));
    let encoding = encoding.and_then(|e| std::str::from_utf8(e).ok()).filter(|e| !is_utf8_name(e));
    let reencoded = encoding.and_then(|e| to_utf8(e, raw));
    let raw = reencoded.as_deref().map_or(raw, str::as_bytes);
    let split = memchr::memmem::find(raw, b"\n\n");
    let header = &raw[..split.unwrap_or(raw.len())];
    let author = header.split(|&b| b == b'\n').find_map(|l| l.strip_prefix(b"author ")).map(<[u8]>::to_vec);
    let message = match split {
        Some(i) => skip_blank_lines(&raw[i + 2..]),
        None => b"",
    };
    let message = if message.first().is_none_or(|&b| b == b'\n') { Vec::new() } else { as_utf8_or_latin1(message) };
    (author, message)
}

/// git's `verify_utf8`: each byte that does not start a valid UTF-8
/// sequence (as git judges it: no overlong forms, surrogates or
/// non-characters) is read as Latin-1 and written as two UTF-8 bytes.
fn as_utf8_or_latin1(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match utf8_sequence_len(&text[i..]) {
            Some(n) => {
                out.extend_from_slice(&text[i..i + n]);
                i += n;
            }
            None => {
                let c = text[i];
                out.extend_from_slice(&[0xc0 + (c >> 6), 0x80 + (c & 0x3f)]);
                i += 1;
            }
        }
    }
    out
}

/// The length of the valid UTF-8 sequence `text` starts with, as git's
/// `find_invalid_utf8` accepts it; `None` if it starts with an invalid one.
fn utf8_sequence_len(text: &[u8]) -> Option<usize> {
    const MAX_CODEPOINT: [u32; 4] = [0x7f, 0x7ff, 0xffff, 0x10ffff];
    let first = *text.first()?;
    if first < 0x80 {
        return Some(1);
    }
    let more = (first << 1).leading_ones() as usize;
    if !(1..=3).contains(&more) || text.len() < 1 + more {
        return None;
    }
    // git shifts the first byte left as it counts, then keeps its low bits.
    let mut codepoint = u32::from((first << more) & 0x7f) >> more;
    for &b in &text[1..=more] {
        if b & 0xc0 != 0x80 {
            return None;
        }
        codepoint = (codepoint << 6) | u32::from(b & 0x3f);
    }
    let in_range = codepoint > MAX_CODEPOINT[more - 1] && codepoint <= MAX_CODEPOINT[more];
    let surrogate = codepoint & 0x1f_f800 == 0xd800;
    let non_character = codepoint & 0xfffe == 0xfffe || (0xfdd0..=0xfdef).contains(&codepoint);
    (in_range && !surrogate && !non_character).then_some(1 + more)
}

/// git's `is_encoding_utf8`.
fn is_utf8_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("utf-8") || name.eq_ignore_ascii_case("utf8")
}

/// `bytes` decoded from the encoding `name` as glibc's iconv decodes it to
/// UTF-8 for git; `None` where iconv fails (unknown name, a byte sequence
/// invalid in that encoding). Latin-1 maps bytes to code points (WHATWG's
/// labels would read it as windows-1252), ASCII accepts only ASCII, and
/// windows-1252 rejects the five bytes it leaves undefined; other names go
/// through the WHATWG decoders, which agree with iconv on the common
/// encodings. UTF-16 and UTF-32 would need the header decoded as well:
/// never re-encoded here (a known limit).
fn to_utf8(name: &str, bytes: &[u8]) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    const LATIN1: &[&str] = &[
        "iso-8859-1",
        "iso8859-1",
        "iso_8859-1",
        "iso88591",
        "8859_1",
        "latin1",
        "latin-1",
        "l1",
        "cp819",
        "ibm819",
        "iso-ir-100",
        "csisolatin1",
        "iso_8859-1:1987",
    ];
    const ASCII: &[&str] = &["ascii", "us-ascii", "ansi_x3.4-1968", "iso646-us", "us", "646", "csascii"];
    if LATIN1.contains(&lower.as_str()) {
        return Some(bytes.iter().map(|&b| char::from(b)).collect());
    }
    if ASCII.contains(&lower.as_str()) {
        return bytes.is_ascii().then(|| String::from_utf8_lossy(bytes).into_owned());
    }
    let encoding = encoding_rs::Encoding::for_label_no_replacement(lower.as_bytes())?;
    if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE || encoding == encoding_rs::UTF_8 {
        return None;
    }
    if encoding == encoding_rs::WINDOWS_1252 && bytes.iter().any(|b| matches!(b, 0x81 | 0x8d | 0x8f | 0x90 | 0x9d)) {
        return None;
    }
    encoding.decode_without_bom_handling_and_without_replacement(bytes).map(|s| s.into_owned())
}

/// The fields of a commit that history walks need.
#[derive(Debug, Clone)]
pub struct RawCommit {
    pub oid: Oid,
    pub tree: Oid,
    pub parents: Vec<Oid>,
    /// Committer time, seconds since the epoch.
    pub time: i64,
    /// Author time, seconds since the epoch.
    pub author_time: i64,
    pub message: Vec<u8>,
}

impl RawCommit {
    /// Parses a commit object body; `None` if the header is malformed (no
    /// tree, an id that is not hex, an ident line without a time).
    pub fn parse(oid: Oid, data: &[u8]) -> Option<RawCommit> {
        let split = memchr::memmem::find(data, b"\n\n");
        let (header, message) = match split {
            Some(i) => (&data[..i], data[i + 2..].to_vec()),
            None => (data, Vec::new()),
        };
        let mut tree = None;
        let mut parents = Vec::new();
        let mut time = 0;
        let mut author_time = 0;
        for line in header.split(|&b| b == b'\n') {
            if let Some(hex) = line.strip_prefix(b"tree ") {
                tree = Oid::from_str(std::str::from_utf8(hex).ok()?).ok();
            } else if let Some(hex) = line.strip_prefix(b"parent ") {
                parents.push(Oid::from_str(std::str::from_utf8(hex).ok()?).ok()?);
            } else if let Some(rest) = line.strip_prefix(b"committer ") {
                time = ident_seconds(rest)?;
            } else if let Some(rest) = line.strip_prefix(b"author ") {
                author_time = ident_seconds(rest)?;
            }
        }
        Some(RawCommit { oid, tree: tree?, parents, time, author_time, message })
    }
}

/// The seconds of an ident line's value (`Name <email> 1700000000 +0100`):
/// the first word after the last `>`, so that a `>` in the name does no harm.
fn ident_seconds(ident: &[u8]) -> Option<i64> {
    let close = ident.iter().rposition(|&b| b == b'>')?;
    std::str::from_utf8(&ident[close + 1..]).ok()?.split_whitespace().next()?.parse().ok()
}

/// Appends an `author` or `committer` header line of a commit object, UTC.
pub(crate) fn push_ident_line(body: &mut Vec<u8>, field: &str, name: &[u8], email: &[u8], seconds: i64) {
    body.extend_from_slice(field.as_bytes());
    body.push(b' ');
    body.extend_from_slice(name);
    body.extend_from_slice(b" <");
    body.extend_from_slice(email);
    body.extend_from_slice(format!("> {seconds} +0000\n").as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
    const P1: &str = "1111111111111111111111111111111111111111";
    const P2: &str = "2222222222222222222222222222222222222222";

    fn oid(hex: &str) -> Oid {
        Oid::from_str(hex).unwrap()
    }

    fn parse(data: &[u8]) -> Option<RawCommit> {
        RawCommit::parse(Oid::ZERO_SHA1, data)
    }

    #[test]
    fn a_merge_commit_reads_tree_parents_times_and_message() {
        let body = format!(
            "tree {TREE}\nparent {P1}\nparent {P2}\n\
             author Kim <kim@example.org> 1700000000 +0100\n\
             committer Lee <lee@example.org> 1700000500 -0730\n\
             \nSubject\n\nBody\n"
        );
        let c = parse(body.as_bytes()).unwrap();
        assert_eq!(c.tree, oid(TREE));
        assert_eq!(c.parents, [oid(P1), oid(P2)]);
        assert_eq!((c.author_time, c.time), (1_700_000_000, 1_700_000_500));
        assert_eq!(c.message, b"Subject\n\nBody\n");
    }

    #[test]
    fn the_message_starts_after_the_first_blank_line_and_may_be_absent() {
        let body = format!("tree {TREE}\n\n\nleading blank line kept\n");
        assert_eq!(parse(body.as_bytes()).unwrap().message, b"\nleading blank line kept\n");
        let c = parse(format!("tree {TREE}").as_bytes()).unwrap();
        assert!(c.message.is_empty() && c.parents.is_empty());
        assert_eq!((c.time, c.author_time), (0, 0), "no ident lines: times stay 0");
    }

    #[test]
    fn non_utf8_names_and_messages_are_read_as_bytes() {
        let mut body = format!("tree {TREE}\n").into_bytes();
        body.extend_from_slice(b"author K\xffm \xfe<k\xff@example.org> 1700000000 +0000\n");
        body.extend_from_slice(b"committer \xc3\x28 <c@example.org> 1700000001 +0000\n");
        body.extend_from_slice(b"encoding ISO-8859-1\n\nCaf\xe9\n");
        let c = parse(&body).unwrap();
        assert_eq!((c.author_time, c.time), (1_700_000_000, 1_700_000_001));
        assert_eq!(c.message, b"Caf\xe9\n");
    }

    #[test]
    fn the_time_follows_the_last_angle_bracket() {
        let body = format!(
            "tree {TREE}\nauthor A>B <a@example.org> 42 +0000\ncommitter <odd>name <c@example.org>   7   +0000\n\nm"
        );
        let c = parse(body.as_bytes()).unwrap();
        assert_eq!((c.author_time, c.time), (42, 7));
    }

    #[test]
    fn continuation_lines_of_other_headers_are_not_fields() {
        // A signature's lines start with a space: " parent …" is not a parent.
        let body = format!(
            "tree {TREE}\nparent {P1}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 +0000\n\
             gpgsig -----BEGIN PGP SIGNATURE-----\n parent {P2}\n tree {P2}\n -----END PGP SIGNATURE-----\n\nm\n"
        );
        let c = parse(body.as_bytes()).unwrap();
        assert_eq!(c.tree, oid(TREE));
        assert_eq!(c.parents, [oid(P1)]);
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let author = "author A <a@x> 1 +0000\n";
        assert!(parse(format!("parent {P1}\n{author}\nno tree").as_bytes()).is_none());
        assert!(parse(format!("tree {TREE}\nparent 12zz\n{author}\nm").as_bytes()).is_none());
        assert!(parse(b"tree \xff\xfe\n\nm").is_none());
        assert!(parse(format!("tree {TREE}\nparent {P1}x\n\nm").as_bytes()).is_none());
        assert!(parse(format!("tree {TREE}\nauthor A <a@x> soon +0000\n\nm").as_bytes()).is_none());
        assert!(parse(format!("tree {TREE}\ncommitter no email 12 +0000\n\nm").as_bytes()).is_none());
        assert!(parse(format!("tree {TREE}\ncommitter C <c@x>\n\nm").as_bytes()).is_none());
    }

    #[test]
    fn the_sequencer_subject_is_the_first_line_with_its_cr() {
        assert_eq!(sequencer_subject(b"\n \t\r\nSubject\r\nmore\n", None), b"Subject\r");
        assert_eq!(sequencer_subject(b"one\ntwo\n", None), b"one");
        assert_eq!(sequencer_subject(b"", None), b"");
        assert_eq!(sequencer_subject(b"\n\n", None), b"");
        assert_eq!(sequencer_subject(b"no newline", None), b"no newline");
        // A form feed is not one of git's spaces: the line is not blank.
        assert_eq!(sequencer_subject(b"\x0c\nnext\n", None), b"\x0c");
        assert_eq!(sequencer_subject(b"cut\0here\n", None), b"cut");
    }

    #[test]
    fn the_sequencer_subject_is_reencoded_as_git_does() {
        // Invalid UTF-8 without a header (or with a UTF-8 one) stays raw.
        assert_eq!(sequencer_subject(b"Caf\xe9\n", None), b"Caf\xe9");
        assert_eq!(sequencer_subject(b"Caf\xe9\n", Some("utf8")), b"Caf\xe9");
        // Latin-1 maps bytes to code points, 0x80..0x9f included.
        assert_eq!(sequencer_subject(b"Caf\xe9 \x80\n", Some("ISO-8859-1")), "Caf\u{e9} \u{80}".as_bytes());
        assert_eq!(sequencer_subject(b"Caf\xe9\n", Some("latin-1")), "Caf\u{e9}".as_bytes());
        assert_eq!(sequencer_subject(b"\x80uro\n", Some("windows-1252")), "\u{20ac}uro".as_bytes());
        assert_eq!(sequencer_subject(b"\x81\n", Some("cp1252")), b"\x81", "undefined in CP1252: kept");
        assert_eq!(sequencer_subject(b"\xa4\xa2\n", Some("EUC-JP")), "\u{3042}".as_bytes());
        assert_eq!(sequencer_subject(b"\xa4\n", Some("EUC-JP")), b"\xa4", "truncated sequence: kept");
        assert_eq!(sequencer_subject(b"\xe9\n", Some("no-such-encoding")), b"\xe9");
        assert_eq!(sequencer_subject(b"\xe9\n", Some("US-ASCII")), b"\xe9");
    }

    #[test]
    fn a_rebased_message_is_what_git_rebase_writes() {
        let commit = |header: &str, message: &[u8]| {
            let mut raw = format!("tree {TREE}\nauthor A").into_bytes();
            raw.push(0xc9);
            raw.extend_from_slice(format!(" <a@x> 1 +0000\ncommitter C <c@x> 2 +0000\n{header}\n").as_bytes());
            raw.extend_from_slice(message);
            raw
        };
        let rebased = |header: &str, message: &[u8]| rebased_author_and_message(&commit(header, message));
        // Leading blank lines go, CRs stay.
        assert_eq!(rebased("", b"\n \t\nSubject\r\n\r\nbody\r\n").1, b"Subject\r\n\r\nbody\r\n");
        // Latin-1 with a header: message and author re-encoded.
        let (author, message) = rebased("encoding ISO-8859-1\n", b"caf\xe9\n");
        assert_eq!(message, "caf\u{e9}\n".as_bytes());
        assert_eq!(author.unwrap(), "A\u{c9} <a@x> 1 +0000".as_bytes());
        // Invalid UTF-8 without a header: each bad byte read as Latin-1.
        assert_eq!(
            rebased("", b"bad \xff\xfe \xc3\xa9 \xed\xa0\x80\n").1,
            "bad \u{ff}\u{fe} \u{e9} \u{ed}\u{a0}\u{80}\n".as_bytes()
        );
        // An unknown encoding: kept, then made UTF-8.
        assert_eq!(rebased("encoding no-such\n", b"x\xe9\n").1, "x\u{e9}\n".as_bytes());
        // An empty subject line: git appends nothing.
        assert_eq!(rebased("", b"\n\n").1, b"");
        assert_eq!(rebased("", b"").1, b"");
        assert_eq!(rebased_author_and_message(b"tree x").1, b"");
    }

    #[test]
    fn utf8_as_git_judges_it() {
        assert_eq!(utf8_sequence_len("\u{e9}".as_bytes()), Some(2));
        assert_eq!(utf8_sequence_len("\u{20ac}".as_bytes()), Some(3));
        assert_eq!(utf8_sequence_len("\u{1f600}".as_bytes()), Some(4));
        assert_eq!(utf8_sequence_len(b"\xc0\x80"), None, "overlong");
        assert_eq!(utf8_sequence_len(b"\xef\xbf\xbf"), None, "U+FFFF");
        assert_eq!(utf8_sequence_len("\u{fdd0}".as_bytes()), None, "non-character");
        assert_eq!(utf8_sequence_len(b"\xf8\x88\x80\x80\x80"), None, "five bytes");
        assert_eq!(utf8_sequence_len(b"\xe2\x82"), None, "cut short");
    }

    #[test]
    fn ident_lines_are_written_in_utc_and_read_back() {
        let mut body = format!("tree {TREE}\n").into_bytes();
        push_ident_line(&mut body, "author", b"K\xffm", b"kim@example.org", 1_700_000_000);
        push_ident_line(&mut body, "committer", b"Lee", b"lee@example.org", -5);
        assert_eq!(
            &body[46..],
            b"author K\xffm <kim@example.org> 1700000000 +0000\ncommitter Lee <lee@example.org> -5 +0000\n"
        );
        body.extend_from_slice(b"\nm\n");
        let c = parse(&body).unwrap();
        assert_eq!((c.author_time, c.time), (1_700_000_000, -5));
    }
}
