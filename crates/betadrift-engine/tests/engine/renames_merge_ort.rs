//! End-to-end checks of merge-ort-mode rename detection: small repositories
//! merged by `git merge-tree --write-tree`, where the merged tree shows
//! whether (and where) git found the rename we predict.

use crate::renames_support;

use std::collections::HashMap;

use betadrift_engine::diffcore_rename::{
    DirRelevance, Pair, RenameOptions, Renames, Side, SourceRelevance, detect_renames,
};
use git2::{ObjectType, Oid};
use renames_support::Git;
use renames_support::merge::MergeRepo;

/// Side A's queue for `deleted` and `added` files, in path order.
fn side_queue(deleted: &[(&str, &str)], added: &[(&str, &str)]) -> (Vec<Pair>, HashMap<Oid, Vec<u8>>) {
    let mut blobs = HashMap::new();
    let mut side = |path: &str, content: &str| {
        let oid = Oid::hash_object(ObjectType::Blob, content.as_bytes()).unwrap();
        blobs.insert(oid, content.as_bytes().to_vec());
        Side { path: path.as_bytes().to_vec(), oid, mode: 0o100644 }
    };
    let mut queue: Vec<Pair> = Vec::new();
    for (p, c) in deleted {
        queue.push(Pair::Delete(side(p, c)));
    }
    for (p, c) in added {
        queue.push(Pair::Add(side(p, c)));
    }
    queue.sort_by(|a, b| a.side().path.cmp(&b.side().path));
    (queue, blobs)
}

fn detect(
    queue: &[Pair],
    blobs: &mut HashMap<Oid, Vec<u8>>,
    relevant: &[(&str, SourceRelevance)],
    removed: &mut HashMap<Vec<u8>, DirRelevance>,
) -> Renames {
    let relevant = relevant.iter().map(|(p, r)| (p.as_bytes().to_vec(), *r)).collect();
    detect_renames(queue, &RenameOptions::merge_ort(), Some(&relevant), Some(removed), blobs).unwrap()
}

fn numbered(lines: std::ops::Range<usize>) -> String {
    lines.map(|i| format!("line number {i}\n")).collect()
}

#[test]
fn rename_with_edits_merges_cleanly_exactly_when_detected() {
    let git = Git::new();
    let base = numbered(0..20);
    let theirs = base.replacen("line number 0\n", "line zero, edited on b\n", 1);
    let mut outcomes = Vec::new();
    for replaced in 5..15 {
        let ours = format!("{}{}", numbered(0..20 - replaced), numbered(100..100 + replaced));
        let (queue, mut blobs) = side_queue(&[("f.txt", &base)], &[("g.txt", &ours)]);
        let mut removed = HashMap::new();
        let found = detect(&queue, &mut blobs, &[("f.txt", SourceRelevance::Content)], &mut removed);
        let predicted = !found.renames.is_empty();

        let repo = MergeRepo::new(&git, &[("f.txt", &base)], &[("g.txt", &ours)], &[("f.txt", &theirs)]);
        let merged = repo.merge();
        assert_eq!(merged.clean, predicted, "replaced {replaced} of 20 lines");
        if predicted {
            let content = repo.read(&merged.tree, "g.txt").expect("g.txt merged");
            assert!(content.starts_with("line zero, edited on b\n"));
        }
        outcomes.push(predicted);
    }
    assert!(outcomes.contains(&true) && outcomes.contains(&false), "sweep must cross the threshold");
}

#[test]
fn directory_rename_moves_a_file_added_on_the_other_side() {
    let git = Git::new();
    let base = [("old/a", "a\n"), ("old/b", "b\n"), ("old/c", "c\n")];
    let ours = [("new/a", "a\n"), ("new/b", "b\n"), ("new/c", "c\n")];
    let mut theirs = base.to_vec();
    theirs.push(("old/added", "added on b\n"));

    let (queue, mut blobs) = side_queue(&base, &ours);
    let location: Vec<_> = base.iter().map(|(p, _)| (*p, SourceRelevance::Location)).collect();
    let mut removed = HashMap::from([(b"old".to_vec(), DirRelevance::ForSelf)]);
    let found = detect(&queue, &mut blobs, &location, &mut removed);
    assert_eq!(found.renames.len(), 3);
    let expected = HashMap::from([(b"new".to_vec(), 3usize)]).into_iter().collect();
    assert_eq!(found.dir_rename_count[&b"old"[..]], expected);

    // With merge.directoryRenames at its default ("conflict") git moves the
    // file but reports a file-location conflict; the tree shows the move.
    let repo = MergeRepo::new(&git, &base, &ours, &theirs);
    let merged = repo.merge();
    assert!(!merged.clean);
    assert_eq!(repo.read(&merged.tree, "new/added").as_deref(), Some("added on b\n"));
    assert_eq!(repo.read(&merged.tree, "old/added"), None);
}

#[test]
fn tied_directory_guess_follows_git_hashmap_order() {
    // old/ moved once to p/ and once to q/; old/f's basename is repeated
    // among destinations, so git compares it with <guess>/f only.  We
    // predict q/ (see the unit test); git's merged tree must agree.
    let git = Git::new();
    let ten: String = (1..=10).map(|i| format!("{i}\n")).collect();
    let nine = ten.replace("10\n", "X\n");
    let base = [("old/one", "1\n"), ("old/two", "2\n"), ("old/f", ten.as_str())];
    let ours = [("p/one", "1\n"), ("q/two", "2\n"), ("p/f", nine.as_str()), ("q/f", nine.as_str())];
    let edited = ten.replacen("1\n", "one\n", 1);
    let theirs = [("old/one", "1\n"), ("old/two", "2\n"), ("old/f", edited.as_str())];

    let (queue, mut blobs) = side_queue(&base, &ours);
    let mut removed = HashMap::from([(b"old".to_vec(), DirRelevance::NotRelevant)]);
    let found = detect(&queue, &mut blobs, &[("old/f", SourceRelevance::Content)], &mut removed);
    let target = found
        .renames
        .iter()
        .find(|r| queue[r.delete].side().path == b"old/f")
        .map(|r| String::from_utf8_lossy(&queue[r.add].side().path).into_owned());
    assert_eq!(target.as_deref(), Some("q/f"));

    let repo = MergeRepo::new(&git, &base, &ours, &theirs);
    let merged = repo.merge();
    assert!(merged.clean);
    assert!(repo.read(&merged.tree, "q/f").unwrap().starts_with("one\n"));
    assert_eq!(repo.read(&merged.tree, "p/f").as_deref(), Some(nine.as_str()));
}

#[test]
fn directory_file_clash_puts_directory_contents_at_the_file_position() {
    // Base has a/x and a-b with one blob; side a replaces directory a/ by a
    // file a, deletes a-b and adds z/new with that blob.  merge-ort walks
    // a/x (at the position of file "a") before a-b, so the exact rename
    // takes a/x: side b's edit of a/x lands in z/new.
    let git = Git::new();
    let same = "same\nline\n";
    let base = [("a/x", same), ("a-b", same)];
    let ours = [("a", "file\n"), ("z/new", same)];
    let theirs = [("a/x", "same\nline\nfrom a/x\n"), ("a-b", "same\nline\nfrom a-b\n")];

    let repo = MergeRepo::new(&git, &base, &ours, &theirs);
    let merged = repo.merge();
    assert_eq!(repo.read(&merged.tree, "z/new").as_deref(), Some(theirs[0].1));

    let (mut queue, mut blobs) = side_queue(&base, &[("z/new", same)]);
    // Byte-wise order would be [a-b, a/x, z/new]; merge-ort's is this one.
    queue.swap(0, 1);
    assert_eq!(queue[0].side().path, b"a/x");
    let relevant = [("a/x", SourceRelevance::Content), ("a-b", SourceRelevance::Content)];
    let found = detect(&queue, &mut blobs, &relevant, &mut HashMap::new());
    assert_eq!(queue[found.renames[0].delete].side().path, b"a/x");
}
