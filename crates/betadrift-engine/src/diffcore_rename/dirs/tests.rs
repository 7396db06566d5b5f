use super::*;

fn target_counts(entries: &[(&str, usize)]) -> TargetCounts {
    let mut counts = TargetCounts::default();
    for (target, n) in entries {
        for _ in 0..*n {
            counts.increment(target.as_bytes());
        }
    }
    counts
}

#[test]
fn dirname_of_top_level_is_empty() {
    assert_eq!(dirname(b"a/b/c"), b"a/b");
    assert_eq!(dirname(b"c"), b"");
}

#[test]
fn old_side_split_loses_first_byte_without_slash() {
    assert_eq!(split_last_old(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
    assert_eq!(split_last_old(b"sub"), (&b""[..], &b"ub"[..]));
    assert_eq!(split_last(b"sub"), (&b""[..], &b"sub"[..]));
}

#[test]
fn highest_count_wins_and_ties_go_to_hash_order() {
    assert_eq!(target_counts(&[("p", 1), ("q", 2)]).highest(), Some(&b"q"[..]));
    // Equal counts: q's FNV bucket precedes p's although p came first.
    assert_eq!(target_counts(&[("p", 1), ("q", 1)]).highest(), Some(&b"q"[..]));
    assert_eq!(target_counts(&[]).highest(), None);
}

#[test]
fn determinable_needs_a_lead_larger_than_the_unknowns() {
    let decided = target_counts(&[("new", 3), ("other", 1), ("/", 1)]);
    assert!(decided.already_determinable());
    let open = target_counts(&[("new", 3), ("other", 1), ("/", 2)]);
    assert!(!open.already_determinable());
    let tie = target_counts(&[("new", 2), ("other", 2)]);
    assert!(!tie.already_determinable());
}

#[test]
fn location_sources_are_needed_below_a_self_relevant_dir() {
    let dirs: HashMap<Vec<u8>, DirRelevance> = [
        (b"a".to_vec(), DirRelevance::ForSelf),
        (b"a/b".to_vec(), DirRelevance::ForAncestor),
        (b"c".to_vec(), DirRelevance::ForAncestor),
        (b"c/d".to_vec(), DirRelevance::NotRelevant),
    ]
    .into_iter()
    .collect();
    assert!(needed_by_some_dir(&dirs, b"a/b/file"));
    assert!(needed_by_some_dir(&dirs, b"a/file"));
    assert!(!needed_by_some_dir(&dirs, b"c/file"));
    assert!(!needed_by_some_dir(&dirs, b"c/d/file"));
    assert!(!needed_by_some_dir(&dirs, b"top-level"));
}
