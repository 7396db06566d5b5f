//! Who to tell: what needs each patch's owner, per author and per task.
//!
//! The admin of a puppetmaster cannot rebase every colleague's hack onto
//! upstream; the patch's owner can, once someone tells them. So the report
//! sorts what needs a person by person (the author after mailmap, as
//! `git check-mailmap` maps them: the checkout's `.mailmap`, `mailmap.blob`
//! and `mailmap.file`) and by task (`Bug: T123`), with the one command the
//! admin runs once the owner has answered.

use git2::Oid;
use jiff::SignedDuration;

use crate::consent::Decision;
use crate::git::commit::Person;
use crate::model::message::Task;
use crate::model::stack::Patch;
use crate::model::upstream::UpstreamState;
use crate::overview::status::Status;
use crate::rebase::check::CheckReport;

/// What a patch needs from its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The sync is held back by it: it is the patch that stops on the first
    /// upstream commit the stack cannot take.
    HoldsBack,
    /// The rebase onto upstream stops on it too.
    Stops,
    /// Upstream merged another patchset of its change.
    MergedDiffers { upstream: Oid },
    /// Upstream merged it, then reverted it.
    Reverted { upstream: Oid, reverted_by: Option<Oid> },
    /// Stale, and its consent says ask its owner.
    StaleAsk { age: SignedDuration },
}

impl Need {
    /// Every kind, in the order they are shown (most urgent first).
    pub const KINDS: [&'static str; 5] = ["holds-back", "stops", "merged-differs", "reverted", "stale-ask"];

    /// The kind as it appears in JSON and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Need::HoldsBack => Need::KINDS[0],
            Need::Stops => Need::KINDS[1],
            Need::MergedDiffers { .. } => Need::KINDS[2],
            Need::Reverted { .. } => Need::KINDS[3],
            Need::StaleAsk { .. } => Need::KINDS[4],
        }
    }
}

/// One patch that needs its owner, and the command the admin runs.
#[derive(Debug, Clone)]
pub struct Item {
    pub position: usize,
    pub need: Need,
    /// The command line, one argument per element (raw bytes).
    pub argv: Vec<Vec<u8>>,
}

/// What needs one person, patches in stack order.
#[derive(Debug, Clone)]
pub struct Owner {
    /// The author after mailmap.
    pub person: Person,
    pub items: Vec<Item>,
}

/// What needs the people of one task, patches in stack order.
#[derive(Debug, Clone)]
pub struct TaskNeeds {
    pub task: Task,
    pub items: Vec<Item>,
}

/// The owners view of one repository.
#[derive(Debug, Clone, Default)]
pub struct Owners {
    /// Sorted by name, then email.
    pub people: Vec<Owner>,
    /// Sorted by task number.
    pub tasks: Vec<TaskNeeds>,
}

/// Whose section `report --owner` / `--task` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerFilter {
    /// A name or an email address (after mailmap), compared ignoring case.
    Person(String),
    Task(Task),
}

impl OwnerFilter {
    /// The filter as the user wrote it, for messages.
    pub fn describe(&self) -> String {
        match self {
            OwnerFilter::Person(who) => format!("--owner {}", crate::support::escape::terminal(who.as_bytes())),
            OwnerFilter::Task(task) => format!("--task {task}"),
        }
    }

    /// Whether `person` is the one asked for.
    pub fn is(&self, person: &Person) -> bool {
        let OwnerFilter::Person(who) = self else { return false };
        let who = who.trim().trim_start_matches('<').trim_end_matches('>');
        [&person.name, &person.email].iter().any(|b| String::from_utf8_lossy(b).eq_ignore_ascii_case(who))
    }
}

/// What `owners` reads of a repository's report: its status (stack,
/// consent, held-back), its check, and how long each stale patch has been
/// on the checkout (stack position, age).
#[derive(Debug)]
pub struct OwnerFacts<'a> {
    pub status: &'a Status,
    pub check: &'a CheckReport,
    pub stale: &'a [(usize, SignedDuration)],
}

impl OwnerFacts<'_> {
    fn patch(&self, position: usize) -> &Patch {
        &self.status.stack.patches[position - 1]
    }
}

/// What needs each owner of `facts`' patches; `repo` is the `--repo` argument
/// of the commands.
pub fn owners(facts: &OwnerFacts<'_>, repo: &[u8]) -> Owners {
    let items: Vec<Item> = facts
        .status
        .stack
        .patches
        .iter()
        .filter_map(|p| {
            need(facts, p.position).map(|need| Item { position: p.position, need, argv: argv(p, repo, need) })
        })
        .collect();
    let mut people: Vec<Owner> = Vec::new();
    let mut tasks: Vec<TaskNeeds> = Vec::new();
    for item in items {
        let p = facts.patch(item.position);
        match people.iter_mut().find(|o| o.person == p.commit.author) {
            Some(o) => o.items.push(item.clone()),
            None => people.push(Owner { person: p.commit.author.clone(), items: vec![item.clone()] }),
        }
        for task in &p.message.tasks {
            match tasks.iter_mut().find(|t| t.task == *task) {
                Some(t) => t.items.push(item.clone()),
                None => tasks.push(TaskNeeds { task: *task, items: vec![item.clone()] }),
            }
        }
    }
    people.sort_by(|a, b| (&a.person.name, &a.person.email).cmp(&(&b.person.name, &b.person.email)));
    tasks.sort_by_key(|t| t.task.0);
    Owners { people, tasks }
}

/// What the patch at `position` needs from its owner, the most urgent if several.
fn need(facts: &OwnerFacts<'_>, position: usize) -> Option<Need> {
    let p = facts.patch(position);
    let stops = facts.check.prediction.picks.iter().any(|pick| pick.position == position && pick.outcome.is_stop());
    if facts.status.held_back.as_ref().is_some_and(|h| h.position == position) {
        return Some(Need::HoldsBack);
    }
    if stops {
        return Some(Need::Stops);
    }
    match (p.upstream.state, p.upstream.commit) {
        (UpstreamState::MergedDiffers, Some(upstream)) => return Some(Need::MergedDiffers { upstream }),
        (UpstreamState::Reverted, Some(upstream)) => {
            return Some(Need::Reverted { upstream, reverted_by: p.upstream.reverted_by });
        }
        (UpstreamState::Pending, _) => {}
        _ => return None,
    }
    let &(_, age) = facts.stale.iter().find(|(at, _)| *at == position)?;
    (facts.status.consent[position - 1].decision == Decision::Ask).then_some(Need::StaleAsk { age })
}

/// The command the admin runs for `need`. Patches that one command settles
/// share it word for word, so the renderers can show it once.
fn argv(p: &Patch, repo: &[u8], need: Need) -> Vec<Vec<u8>> {
    let id = || p.message.change_id.clone().unwrap_or_else(|| p.commit.oid.to_string()).into_bytes();
    match need {
        // Takes what can be taken now; the rest waits for the owner.
        Need::HoldsBack => with_repo(&[b"sync", b"--as-far-as-possible"], repo, Vec::new()),
        Need::Stops => with_repo(&[b"check"], repo, Vec::new()),
        Need::MergedDiffers { .. } => with_repo(&[b"prune", b"--merged"], repo, Vec::new()),
        Need::Reverted { .. } => drop_argv(repo, p),
        // Once the owner agrees: their consent, recorded where prune reads it.
        Need::StaleAsk { .. } => match &p.message.change_id {
            Some(change) => with_repo(
                &[b"consent", b"set"],
                repo,
                vec![b"--change".to_vec(), change.clone().into_bytes(), b"allow".to_vec()],
            ),
            None => with_repo(
                &[b"drop"],
                repo,
                vec![id(), b"--force".to_vec(), b"--reason".to_vec(), b"its owner agreed".to_vec()],
            ),
        },
    }
}

/// `betadrift WORDS… --repo REPO TAIL…`.
/// `betadrift drop --repo PATH ID`: the Change-Id (stable across rebases),
/// else the commit id.
pub(crate) fn drop_argv(repo_path: &[u8], p: &Patch) -> Vec<Vec<u8>> {
    let id = p.message.change_id.clone().unwrap_or_else(|| p.commit.oid.to_string());
    with_repo(&[b"drop"], repo_path, vec![id.into_bytes()])
}

pub(crate) fn with_repo(words: &[&[u8]], repo: &[u8], tail: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut argv = vec![b"betadrift".to_vec()];
    argv.extend(words.iter().map(|w| w.to_vec()));
    argv.extend([b"--repo".to_vec(), repo.to_vec()]);
    argv.extend(tail);
    argv
}

/// The command as one shell line, every argument quoted as needed.
pub fn shell_line(argv: &[Vec<u8>]) -> String {
    argv.iter().map(|a| crate::support::escape::shell_quote(a)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, email: &str) -> Person {
        Person { name: name.as_bytes().to_vec(), email: email.as_bytes().to_vec() }
    }

    #[test]
    fn an_owner_is_named_by_name_or_email_ignoring_case() {
        let ana = person("Ana Costa", "acosta@example.org");
        for who in ["Ana Costa", "ana costa", "ACOSTA@example.org", "<acosta@example.org>"] {
            assert!(OwnerFilter::Person(who.into()).is(&ana), "{who}");
        }
        for who in ["Ana", "acosta", "Bo Li"] {
            assert!(!OwnerFilter::Person(who.into()).is(&ana), "{who}");
        }
        assert!(!OwnerFilter::Task(Task(1)).is(&ana));
    }

    #[test]
    fn every_need_has_its_kind() {
        let id = Oid::ZERO_SHA1;
        let needs = [
            Need::HoldsBack,
            Need::Stops,
            Need::MergedDiffers { upstream: id },
            Need::Reverted { upstream: id, reverted_by: None },
            Need::StaleAsk { age: SignedDuration::ZERO },
        ];
        let kinds: Vec<&str> = needs.iter().map(Need::kind).collect();
        assert_eq!(kinds, Need::KINDS);
    }
}
