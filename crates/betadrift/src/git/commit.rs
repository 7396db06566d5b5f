//! Commits as plain data, and the bytes of a commit object's header.
//!
//! History walks read thousands of upstream commits straight from the object
//! store ([`Repo::raw_commit`](crate::git::repo::Repo::raw_commit)), past
//! libgit2, so the header is parsed here by hand; fixtures write ident lines
//! the same way. Both are pure functions on bytes, kept apart from the code
//! that talks to libgit2 so that they can be tested on their own. Names,
//! emails and messages stay bytes: they need not be UTF-8.

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
