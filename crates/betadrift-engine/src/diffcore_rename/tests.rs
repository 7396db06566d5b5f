//! Whole-pipeline tests of `detect_renames`, mostly of the merge-ort-only
//! behaviour that `git diff` cannot show (relevance, directory renames).

use super::*;
use git2::ObjectType;

/// Builds queues and the blob map they need.
#[derive(Default)]
struct Fixture {
    queue: Vec<Pair>,
    blobs: HashMap<Oid, Vec<u8>>,
}

impl Fixture {
    fn side(&mut self, path: &str, content: &str) -> Side {
        let oid = Oid::hash_object(ObjectType::Blob, content.as_bytes()).unwrap();
        self.blobs.insert(oid, content.as_bytes().to_vec());
        Side { path: path.as_bytes().to_vec(), oid, mode: 0o100644 }
    }

    fn delete(mut self, path: &str, content: &str) -> Self {
        let side = self.side(path, content);
        self.queue.push(Pair::Delete(side));
        self
    }

    fn add(mut self, path: &str, content: &str) -> Self {
        let side = self.side(path, content);
        self.queue.push(Pair::Add(side));
        self
    }

    /// Sorts the queue by path, the order git builds it in.
    fn sorted(mut self) -> Self {
        self.queue.sort_by(|a, b| a.side().path.cmp(&b.side().path));
        self
    }

    fn run(&mut self, options: &RenameOptions) -> Renames {
        detect_renames(&self.queue, options, None, None, &mut self.blobs).unwrap()
    }

    fn run_merge(
        &mut self,
        relevant: &HashMap<Vec<u8>, SourceRelevance>,
        dirs: &mut HashMap<Vec<u8>, DirRelevance>,
    ) -> Renames {
        let options = RenameOptions::merge_ort();
        detect_renames(&self.queue, &options, Some(relevant), Some(dirs), &mut self.blobs).unwrap()
    }

    /// Renames as (old path, new path) strings.
    fn pairs(&self, renames: &Renames) -> Vec<(String, String)> {
        let name = |i: usize| String::from_utf8_lossy(&self.queue[i].side().path).into_owned();
        renames.renames.iter().map(|r| (name(r.delete), name(r.add))).collect()
    }
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

fn relevant(entries: &[(&str, SourceRelevance)]) -> HashMap<Vec<u8>, SourceRelevance> {
    entries.iter().map(|(p, r)| (p.as_bytes().to_vec(), *r)).collect()
}

fn dirs(entries: &[(&str, DirRelevance)]) -> HashMap<Vec<u8>, DirRelevance> {
    entries.iter().map(|(p, r)| (p.as_bytes().to_vec(), *r)).collect()
}

fn counts(entries: &[(&str, &[(&str, usize)])]) -> DirRenameCount {
    entries
        .iter()
        .map(|(old, targets)| {
            let targets = targets.iter().map(|(t, n)| (t.as_bytes().to_vec(), *n)).collect();
            (old.as_bytes().to_vec(), targets)
        })
        .collect()
}

const TEN: &str = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
/// Six of ten lines shared with `TEN` (60%): below the 75% basename bar.
const SIX_OF_TEN: &str = "1\n2\n3\n4\n5\n6\na\nb\nc\nd\n";
/// Nine of ten lines shared with `TEN`.
const NINE_OF_TEN: &str = "1\n2\n3\n4\n5\n6\n7\n8\n9\nX\n";

#[test]
fn exact_inexact_and_leftovers_in_queue_order() {
    let mut fx = Fixture::default()
        .delete("a/one", TEN)
        .delete("a/two", "unrelated\n")
        .add("b/copy", TEN)
        .add("b/edited", SIX_OF_TEN)
        .sorted();
    fx = fx.delete("z/gone", "something else entirely\n");
    let result = fx.run(&RenameOptions::diff());
    assert_eq!(fx.pairs(&result), vec![pair("a/one", "b/copy")]);
    assert_eq!(result.renames[0].score, MAX_SCORE);
    assert_eq!(result.needed_limit, 0);
}

#[test]
fn inexact_pairs_reach_the_minimum_score() {
    let mut fx = Fixture::default().delete("a/one", TEN).add("b/other", SIX_OF_TEN).sorted();
    let result = fx.run(&RenameOptions::diff());
    assert_eq!(fx.pairs(&result), vec![pair("a/one", "b/other")]);
    // 12 bytes copied, the larger blob has 21: 12 * 60000 / 21 = 34285.7.
    assert_eq!(result.renames[0].score, 34_285);
    let strict = RenameOptions { min_score: 34_286, ..RenameOptions::diff() };
    assert!(fx.run(&strict).renames.is_empty());
}

#[test]
fn basename_match_wins_over_a_better_inexact_candidate() {
    // "x/f" -> "y/f" scores 51428 (unique basename, over the 45000 bar) and
    // is taken before the matrix, where "x/g" would have scored 54000.
    let mut fx = Fixture::default()
        .delete("x/f", TEN)
        .delete("x/g", NINE_OF_TEN)
        .add("y/f", NINE_OF_TEN.replace("X", "Y").as_str())
        .sorted();
    let result = fx.run(&RenameOptions::diff());
    assert_eq!(fx.pairs(&result), vec![pair("x/f", "y/f")]);
}

#[test]
fn empty_blobs_are_ignored_without_rename_empty() {
    let mut fx = Fixture::default().delete("a/e", "").add("b/e", "").sorted();
    assert!(fx.run(&RenameOptions::merge_ort()).renames.is_empty());
    assert_eq!(fx.run(&RenameOptions::diff()).renames.len(), 1);
}

#[test]
fn rename_limit_reports_needed_limit() {
    let mut fx = Fixture::default()
        .delete("a/1", "1\n2\n3\n")
        .delete("a/2", "4\n5\n6\n")
        .delete("a/3", "7\n8\n9\n")
        .add("b/x", "1\n2\n3\n4\n")
        .add("b/y", "4\n5\n6\n7\n")
        .sorted();
    let limited = RenameOptions { rename_limit: 2, ..RenameOptions::diff() };
    let result = fx.run(&limited);
    assert!(result.renames.is_empty());
    assert_eq!(result.needed_limit, 3);
    assert_eq!(fx.run(&RenameOptions::diff()).renames.len(), 2);
}

#[test]
fn missing_blob_is_an_error_naming_oid_and_path() {
    let mut fx = Fixture::default().delete("a/one", TEN).add("b/two", SIX_OF_TEN).sorted();
    let wanted = fx.queue[0].side().oid;
    fx.blobs.remove(&wanted);
    let err = detect_renames(&fx.queue, &RenameOptions::diff(), None, None, &mut fx.blobs).unwrap_err();
    let RenameError::UnreadableBlob { oid, path, .. } = &err;
    assert_eq!((*oid, path.as_str()), (wanted, "a/one"));
    assert!(err.to_string().contains("a/one"));
}

#[test]
fn irrelevant_sources_only_rename_exactly_and_are_never_read() {
    let mut fx = Fixture::default()
        .delete("a/kept", TEN)
        .delete("a/moved", "exact\n")
        .delete("a/wanted", "w1\nw2\nw3\nw4\n")
        .add("b/kept", NINE_OF_TEN)
        .add("b/moved", "exact\n")
        .add("c/wanted2", "w1\nw2\nw3\nw5\n")
        .sorted();
    // a/kept is irrelevant: its blob must not even be needed.
    let kept_oid = fx.queue[0].side().oid;
    fx.blobs.remove(&kept_oid);
    let wanted = relevant(&[("a/wanted", SourceRelevance::Content)]);
    let mut removed = dirs(&[]);
    let result = fx.run_merge(&wanted, &mut removed);
    assert_eq!(fx.pairs(&result), vec![pair("a/moved", "b/moved"), pair("a/wanted", "c/wanted2")]);
    assert!(result.dir_rename_count.is_empty());
}

#[test]
fn dir_rename_counts_follow_dirs_removed() {
    let mut fx = Fixture::default()
        .delete("old/x", "x\n")
        .delete("old/y", "y\n")
        .delete("kept/z", "z\n")
        .add("new/x", "x\n")
        .add("other/y", "y\n")
        .add("moved/z", "z\n")
        .sorted();
    let wanted = relevant(&[]);
    let mut removed = dirs(&[("old", DirRelevance::ForSelf), ("kept", DirRelevance::NotRelevant)]);
    let result = fx.run_merge(&wanted, &mut removed);
    assert_eq!(result.renames.len(), 3);
    // "kept" is NOT_RELEVANT: counted while detecting, dropped from output.
    assert_eq!(result.dir_rename_count, counts(&[("old", &[("new", 1), ("other", 1)])]));
}

#[test]
fn ancestors_count_only_while_trailing_components_agree() {
    let mut fx =
        Fixture::default().delete("a/b/c/d/e/foo.c", "foo\n").add("a/b/some/thing/else/e/foo.c", "foo\n").sorted();
    let wanted = relevant(&[]);
    let mut removed = dirs(&[
        ("a/b/c/d/e", DirRelevance::ForSelf),
        ("a/b/c/d", DirRelevance::ForSelf),
        ("a/b/c", DirRelevance::ForSelf),
    ]);
    let result = fx.run_merge(&wanted, &mut removed);
    assert_eq!(
        result.dir_rename_count,
        counts(&[("a/b/c/d/e", &[("a/b/some/thing/else/e", 1)]), ("a/b/c/d", &[("a/b/some/thing/else", 1)]),])
    );
}

#[test]
fn ancestors_relevant_only_for_ancestor_are_walked_not_counted() {
    let mut fx = Fixture::default().delete("top/mid/leaf/f", "f\n").add("top2/mid/leaf/f", "f\n").sorted();
    let wanted = relevant(&[]);
    let mut removed = dirs(&[
        ("top/mid/leaf", DirRelevance::ForAncestor),
        ("top/mid", DirRelevance::ForAncestor),
        ("top", DirRelevance::ForSelf),
    ]);
    let result = fx.run_merge(&wanted, &mut removed);
    // The parent is always counted (it feeds the basename guess) but kept
    // only because it is relevant; "top" is counted as a self-relevant
    // ancestor; "top/mid" is walked through without a count.
    assert_eq!(result.dir_rename_count, counts(&[("top/mid/leaf", &[("top2/mid/leaf", 1)]), ("top", &[("top2", 1)])]));
}

#[test]
fn renames_to_the_top_level_stop_counting() {
    let mut fx = Fixture::default().delete("a/b/sub/f", "f\n").add("sub/f", "f\n").sorted();
    let wanted = relevant(&[]);
    let mut removed = dirs(&[("a/b/sub", DirRelevance::ForSelf), ("a/b", DirRelevance::ForSelf)]);
    let result = fx.run_merge(&wanted, &mut removed);
    assert_eq!(result.dir_rename_count, counts(&[("a/b/sub", &[("sub", 1)]), ("a/b", &[("", 1)])]));
}

#[test]
fn decided_directories_drop_location_only_sources() {
    // Three exact renames old/ -> new/ and one undecided file: 3 > 0 + 1,
    // so old/ is decided and the location-only source is not compared.
    let mut fx = Fixture::default()
        .delete("old/a", "a\n")
        .delete("old/b", "b\n")
        .delete("old/c", "c\n")
        .delete("old/d", TEN)
        .add("new/a", "a\n")
        .add("new/b", "b\n")
        .add("new/c", "c\n")
        .add("elsewhere/d2", NINE_OF_TEN)
        .sorted();
    let wanted = relevant(&[
        ("old/a", SourceRelevance::Location),
        ("old/b", SourceRelevance::Location),
        ("old/c", SourceRelevance::Location),
        ("old/d", SourceRelevance::Location),
    ]);
    let mut removed = dirs(&[("old", DirRelevance::ForSelf)]);
    let result = fx.run_merge(&wanted, &mut removed);
    assert_eq!(fx.pairs(&result).len(), 3);
    assert_eq!(removed[&b"old"[..]], DirRelevance::ForAncestor);
    assert_eq!(result.sources_no_longer_relevant, vec![b"old/d".to_vec()]);
    assert_eq!(result.dir_rename_count, counts(&[("old", &[("new", 3)])]));
}

#[test]
fn undecided_directories_keep_searching() {
    // One exact rename and two unknowns: 1 > 0 + 2 fails, keep looking.
    let mut fx = Fixture::default()
        .delete("old/a", "a\n")
        .delete("old/d", TEN)
        .delete("old/e", "e1\ne2\ne3\ne4\n")
        .add("new/a", "a\n")
        .add("elsewhere/d2", NINE_OF_TEN)
        .sorted();
    let wanted = relevant(&[
        ("old/a", SourceRelevance::Location),
        ("old/d", SourceRelevance::Location),
        ("old/e", SourceRelevance::Content),
    ]);
    let mut removed = dirs(&[("old", DirRelevance::ForSelf)]);
    let result = fx.run_merge(&wanted, &mut removed);
    assert_eq!(fx.pairs(&result), vec![pair("old/d", "elsewhere/d2"), pair("old/a", "new/a")]);
    assert_eq!(removed[&b"old"[..]], DirRelevance::ForSelf);
    assert!(result.sources_no_longer_relevant.is_empty());
    // The placeholder votes for old/e are removed from the output.
    assert_eq!(result.dir_rename_count, counts(&[("old", &[("elsewhere", 1), ("new", 1)])]));
}

#[test]
fn repeated_basenames_are_located_through_the_guessed_dir_rename() {
    // Two "Makefile" sources and destinations: not unique, so git looks
    // where old/ went (new/, by exact renames) and tries new/Makefile.
    let mut fx = Fixture::default()
        .delete("old/a", "a\n")
        .delete("old/Makefile", TEN)
        .delete("lib/Makefile", "lib1\nlib2\nlib3\n")
        .add("new/a", "a\n")
        .add("new/Makefile", NINE_OF_TEN)
        .add("zzz/Makefile", &format!("{TEN}11\n"))
        .sorted();
    let wanted = relevant(&[("old/Makefile", SourceRelevance::Content), ("lib/Makefile", SourceRelevance::Content)]);
    let mut removed = dirs(&[("old", DirRelevance::NotRelevant)]);
    let result = fx.run_merge(&wanted, &mut removed);
    // new/Makefile scores 51428 (>= 45000) through the guess, although
    // zzz/Makefile (52500) would win in the matrix.
    assert!(fx.pairs(&result).contains(&pair("old/Makefile", "new/Makefile")));

    // In plain diff mode there is no guess: the matrix decides.
    let plain = fx.run(&RenameOptions::diff());
    assert!(fx.pairs(&plain).contains(&pair("old/Makefile", "zzz/Makefile")));
}

#[test]
fn guess_ties_follow_git_hashmap_order() {
    // old/ went once to p/ and once to q/ (p/ first in queue order).  git
    // takes the first target its hashmap iterates: FNV-1 of "p" and "q"
    // differ only in bit 0, which is 1 for "p", so q's bucket comes first.
    assert!(gitmap::strhash(b"q") & 63 < gitmap::strhash(b"p") & 63);
    let mut fx = Fixture::default()
        .delete("old/one", "1\n")
        .delete("old/two", "2\n")
        .delete("old/f", TEN)
        .add("p/one", "1\n")
        .add("q/two", "2\n")
        .add("p/f", NINE_OF_TEN)
        .add("q/f", NINE_OF_TEN)
        .sorted();
    let wanted = relevant(&[("old/f", SourceRelevance::Content)]);
    let mut removed = dirs(&[("old", DirRelevance::NotRelevant)]);
    let result = fx.run_merge(&wanted, &mut removed);
    assert!(fx.pairs(&result).contains(&pair("old/f", "q/f")), "{:?}", fx.pairs(&result));
}
