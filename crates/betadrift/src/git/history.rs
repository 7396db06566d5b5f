//! Walking history: merge bases, ancestry, revision walks, and the fast
//! walk of two linear histories.
//!
//! Every command starts by finding the local stack and what upstream has
//! since the merge base. On a puppetmaster both sides are usually linear,
//! and walking their first-parent chains together with the raw commit
//! reader is far cheaper than libgit2's revision walk, which stays as the
//! fallback for histories with merges.

use std::collections::HashMap;

use git2::{ErrorCode, Oid};

use crate::error::{Error, GitContext, Result};
use crate::git::commit::RawCommit;
use crate::git::repo::Repo;

/// Two linear histories and where they meet.
#[derive(Debug, Clone)]
pub struct Histories {
    pub merge_base: Oid,
    /// HEAD's commits above the merge base, oldest first.
    pub local: Vec<RawCommit>,
    /// Upstream's commits above the merge base, oldest first.
    pub upstream: Vec<RawCommit>,
}

/// How many commits [`Repo::linear_histories`] reads before giving up.
const MAX_LINEAR_WALK: usize = 500_000;

impl Repo {
    /// The best common ancestor of two commits.
    pub fn merge_base(&self, a: Oid, b: Oid) -> Result<Option<Oid>> {
        match self.git().merge_base(a, b) {
            Ok(oid) => Ok(Some(oid)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(Error::git(format!("merge base of {a} and {b}"), e)),
        }
    }

    /// Whether `ancestor` is reachable from `descendant` (or equal to it).
    pub fn is_ancestor(&self, ancestor: Oid, descendant: Oid) -> Result<bool> {
        if ancestor == descendant {
            return Ok(true);
        }
        self.git()
            .graph_descendant_of(descendant, ancestor)
            .git_context(|| format!("ancestry of {ancestor} and {descendant}"))
    }

    /// Commits reachable from `tip` but not from any of `hide`, oldest first,
    /// in topological order (as `git rev-list --topo-order --reverse`).
    pub fn commits_between(&self, hide: &[Oid], tip: Oid) -> Result<Vec<Oid>> {
        self.walk(hide, tip, git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
    }

    /// Commits reachable from `tip` but not from `hide`, newest first.
    pub fn commits_newest_first(&self, hide: &[Oid], tip: Oid) -> Result<Vec<Oid>> {
        self.walk(hide, tip, git2::Sort::TOPOLOGICAL)
    }

    fn walk(&self, hide: &[Oid], tip: Oid, sort: git2::Sort) -> Result<Vec<Oid>> {
        let ctx = || format!("walking history from {tip}");
        let mut walk = self.git().revwalk().git_context(ctx)?;
        walk.set_sorting(sort).git_context(ctx)?;
        walk.push(tip).git_context(ctx)?;
        for &h in hide {
            walk.hide(h).git_context(ctx)?;
        }
        walk.map(|r| r.git_context(ctx)).collect()
    }

    /// Walks the first-parent chains of `head` and `upstream` together, as
    /// far as their meeting point. `None` when a merge commit makes the
    /// history non-linear (callers fall back to a full revision walk).
    pub fn linear_histories(&self, head: Oid, upstream: Oid) -> Result<Option<Histories>> {
        let mut sides: [(Option<Oid>, Vec<RawCommit>); 2] = [(Some(head), Vec::new()), (Some(upstream), Vec::new())];
        let mut seen: [HashMap<Oid, usize>; 2] = Default::default();
        let mut current: [Option<RawCommit>; 2] = [None, None];
        for _ in 0..MAX_LINEAR_WALK {
            for s in 0..2 {
                if current[s].is_none()
                    && let Some(oid) = sides[s].0
                {
                    current[s] = Some(self.raw_commit(oid)?);
                }
            }
            // Advance the side whose next commit is newer.
            let s = match (&current[0], &current[1]) {
                (Some(a), Some(b)) => usize::from(b.time > a.time),
                (Some(_), None) => 0,
                (None, Some(_)) => 1,
                (None, None) => return Ok(None),
            };
            let commit = current[s].take().expect("chosen side has a commit");
            if commit.parents.len() > 1 {
                return Ok(None);
            }
            if let Some(&at) = seen[1 - s].get(&commit.oid) {
                let base = commit.oid;
                let mut other = std::mem::take(&mut sides[1 - s].1);
                other.truncate(at);
                let mut this = std::mem::take(&mut sides[s].1);
                this.reverse();
                other.reverse();
                let (local, upstream_side) = if s == 0 { (this, other) } else { (other, this) };
                return Ok(Some(Histories { merge_base: base, local, upstream: upstream_side }));
            }
            seen[s].insert(commit.oid, sides[s].1.len());
            sides[s].0 = commit.parents.first().copied();
            sides[s].1.push(commit);
        }
        Ok(None)
    }
}
impl Repo {
    /// The commits `refname` pointed to, with when it moved there, from its
    /// reflog, oldest first: entries that deleted the ref, and entries whose
    /// commit is no longer in the object store, are left out. No reflog
    /// (never written, or expired) is an empty list. The file is read as
    /// git writes it, not through libgit2, whose reader creates a missing
    /// log file: reading must not write.
    pub fn reflog(&self, refname: &str) -> Result<Vec<(Oid, jiff::Timestamp)>> {
        let path = self.git().commondir().join("logs").join(refname);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("reading", &path, e)),
        };
        let odb = self.git().odb().git_context(|| "opening the object database".into())?;
        Ok(parse_reflog(&text).into_iter().filter(|(oid, _)| !oid.is_zero() && odb.exists(*oid)).collect())
    }
}

/// The entries of a reflog file, oldest first, as (new id, time):
/// `<old> <new> <name> <<email>> <seconds> <zone>\t<message>` a line, as
/// git writes them. Lines that do not parse are skipped, as git skips them.
pub fn parse_reflog(text: &[u8]) -> Vec<(Oid, jiff::Timestamp)> {
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let new = std::str::from_utf8(line.get(41..81)?).ok()?;
            let oid = Oid::from_str(new).ok()?;
            let head = line.split(|&b| b == b'\t').next()?;
            let after_email = &head[memchr::memrchr(b'>', head)? + 1..];
            let seconds = std::str::from_utf8(after_email).ok()?.split_whitespace().next()?.parse().ok()?;
            Some((oid, jiff::Timestamp::from_second(seconds).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflog_lines_as_git_writes_them() {
        let zero = "0".repeat(40);
        let (a, b) = ("a".repeat(40), "b".repeat(40));
        let text = format!(
            "{zero} {a} Kim <kim@example.org> 1700000000 +0000\tcommit (initial): one\n\
             {a} {b} Kim <k>m@x> 1700000600 -0700\trebase (finish): refs/heads/production onto c\n\
             garbage\n\
             {b} {a} NAME <x@y> 1700001200 +0100\treset: moving to HEAD~1\n"
        );
        // A name that is not UTF-8, as a reflog may hold.
        let text = text.replace("NAME", "\u{1}").into_bytes();
        let text: Vec<u8> = text.into_iter().map(|b| if b == 1 { 0xff } else { b }).collect();
        let entries = parse_reflog(&text);
        let got: Vec<(String, i64)> = entries.iter().map(|(o, t)| (o.to_string(), t.as_second())).collect();
        assert_eq!(got, [(a.clone(), 1_700_000_000), (b, 1_700_000_600), (a, 1_700_001_200)]);
        assert!(parse_reflog(b"").is_empty());
    }
}
