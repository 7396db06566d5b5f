use std::path::Path;

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::error::Error;

const CID: &str = "Ia4b5c6d7e8f90123456789012345678901234567";
const OTHER_CID: &str = "Ib5c6d7e8f9012345678901234567890123456789";
const AT: &str = "2026-11-20T09:30:00Z";

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

fn rule(scope: Scope, decision: &str) -> Rule {
    Rule { scope, decision: decision.parse().unwrap(), set_by: "alice".into(), set_at: AT.parse().unwrap(), note: None }
}

fn policy(rules: Vec<Rule>) -> Policy {
    let mut p = Policy::default();
    for r in rules {
        p.set(r);
    }
    p
}

/// A patch with CID, tasks T1 and T2, by kim@example.org, 40 days old.
fn facts<'a>(tasks: &'a [Task], trailer: Option<&'a str>) -> PatchFacts<'a> {
    PatchFacts {
        change_id: Some(CID),
        tasks,
        author_email: b"Kim@Example.org",
        trailer,
        age: Some(days(40)),
        tasks_closed: None,
        change_abandoned: None,
    }
}

const TASKS: &[Task] = &[Task(1), Task(2)];

fn path() -> &'static Path {
    Path::new("/srv/policy.toml")
}

mod decisions {
    use super::*;

    #[test]
    fn parse_and_print() {
        for (text, want, printed) in [
            ("allow", Decision::Allow, "allow"),
            (" Allow ", Decision::Allow, "allow"),
            ("ASK", Decision::Ask, "ask"),
            ("never", Decision::Never, "never"),
            ("after 30d", Decision::After(days(30)), "after 30d"),
            ("after   2w", Decision::After(days(14)), "after 2w"),
            ("after 1w3d", Decision::After(days(10)), "after 10d"),
            ("after 36h", Decision::After(SignedDuration::from_hours(36)), "after 36h"),
            ("after 0s", Decision::After(SignedDuration::ZERO), "after 0s"),
        ] {
            let parsed: Decision = text.parse().unwrap();
            assert_eq!(parsed, want, "{text}");
            assert_eq!(parsed.to_string(), printed);
            assert_eq!(printed.parse::<Decision>().unwrap(), want, "printing round-trips");
        }
    }

    #[test]
    fn bad_decisions_say_what_to_write() {
        for bad in ["", "yes", "allow now", "after", "after soon", "after -3d", "after 30", "after 30d 2w", "before 3d"]
        {
            let err = bad.parse::<Decision>().unwrap_err();
            assert!(!err.is_empty() && !err.contains('\n'), "{bad}: {err}");
        }
        assert!("yes".parse::<Decision>().unwrap_err().contains("allow, ask, never, after DURATION"));
        assert!("after soon".parse::<Decision>().unwrap_err().contains("not a duration"));
    }

    #[test]
    fn after_at_before_and_after_the_boundary() {
        let after = Decision::After(days(30));
        assert!(!after.allows(Some(days(30) - SignedDuration::from_secs(1))));
        assert!(after.allows(Some(days(30))));
        assert!(after.allows(Some(days(30) + SignedDuration::from_secs(1))));
        assert!(!after.allows(Some(SignedDuration::from_secs(-5))), "a patch from the future");
        assert!(Decision::Allow.allows(Some(SignedDuration::ZERO)));
        assert!(!Decision::Ask.allows(Some(days(1000))));
        assert!(!Decision::Never.allows(Some(days(1000))));
    }

    #[test]
    fn verdict_at_the_boundary() {
        let p = policy(vec![rule(Scope::Task(Task(1)), "after 30d")]);
        for (age, allowed) in [(days(30) - SignedDuration::from_secs(1), false), (days(30), true), (days(31), true)] {
            let v = p.evaluate(&PatchFacts { age: Some(age), ..facts(TASKS, None) });
            assert_eq!(v.allowed_now, allowed, "age {age:?}");
            assert_eq!(v.decision, Decision::After(days(30)));
        }
        let early = p.evaluate(&PatchFacts { age: Some(days(25)), ..facts(TASKS, None) });
        assert!(early.reason.starts_with("Removal is not allowed for another 5d"), "{}", early.reason);
    }

    /// Nothing dates the patch's arrival: no `after` rule ever allows its
    /// removal (an unknown age is never old), the other decisions are unchanged.
    #[test]
    fn an_unknown_age_is_never_old_enough() {
        assert!(!Decision::After(days(1)).allows(None));
        assert!(Decision::Allow.allows(None));
        assert_eq!(Decision::After(days(30)).wait(None), None);
        let p = policy(vec![rule(Scope::Task(Task(1)), "after 30d")]);
        let v = p.evaluate(&PatchFacts { age: None, ..facts(TASKS, None) });
        assert!(!v.allowed_now);
        assert!(v.reason.contains("nothing dates the patch's arrival"), "{}", v.reason);
        assert_eq!(v.summary(None), "after 30d (age ?)");
        let allow = policy(vec![rule(Scope::Task(Task(1)), "allow")]);
        assert!(allow.evaluate(&PatchFacts { age: None, ..facts(TASKS, None) }).allowed_now);
    }

    #[test]
    fn waits_and_summaries() {
        let after = Decision::After(days(30));
        assert_eq!(after.wait(Some(days(22))), Some(days(8)));
        assert_eq!(after.wait(Some(days(40))), Some(SignedDuration::ZERO));
        assert_eq!(after.wait(Some(SignedDuration::from_secs(-9))), Some(days(30)));
        assert_eq!(Decision::Allow.wait(Some(SignedDuration::ZERO)), Some(SignedDuration::ZERO));
        assert_eq!(Decision::Ask.wait(Some(days(1))), None);
        let p = policy(vec![rule(Scope::Task(Task(1)), "after 30d")]);
        let at = |age| p.evaluate(&PatchFacts { age: Some(age), ..facts(TASKS, None) }).summary(Some(age));
        assert_eq!(at(days(22)), "after 30d (in 8d)");
        assert_eq!(at(days(30)), "after 30d (ok)");
        assert_eq!(policy(vec![]).evaluate(&facts(TASKS, None)).summary(Some(days(1))), "ask");
        assert_eq!(policy(vec![]).evaluate(&facts(TASKS, Some("never"))).summary(Some(days(1))), "never");
    }

    #[test]
    fn strictness_orders_never_ask_after_allow() {
        let order =
            [Decision::Allow, Decision::After(days(1)), Decision::After(days(30)), Decision::Ask, Decision::Never];
        for pair in order.windows(2) {
            assert!(pair[0].strictness() < pair[1].strictness(), "{} < {}", pair[0], pair[1]);
        }
    }
}

mod scopes {
    use super::*;

    #[test]
    fn parse_and_normalise() {
        let upper = format!("i{}", CID[1..].to_ascii_uppercase());
        assert_eq!(Scope::change(&upper).unwrap(), Scope::Change(CID.into()));
        assert!(Scope::change("Ia4b5c6d").unwrap_err().contains("not a full Change-Id"));
        assert!(Scope::change(&format!("{CID}0")).is_err());
        assert_eq!(Scope::task("T360100").unwrap(), Scope::Task(Task(360_100)));
        assert!(Scope::task("T").is_err());
        assert_eq!(Scope::author(" <Kim@Example.ORG> ").unwrap(), Scope::Author("kim@example.org".into()));
        assert!(Scope::author("Kim Tran").unwrap_err().contains("not an email"));
        assert!(Scope::author("kim@example.org\x1b[2J").is_err(), "no control characters");
        assert_eq!(Scope::Task(Task(7)).to_string(), "task T7");
        assert_eq!(Scope::Default.to_string(), "default");
    }

    #[test]
    fn coverage() {
        let f = facts(TASKS, None);
        assert!(Scope::Change(CID.into()).covers(&f));
        assert!(Scope::Change(CID.into()).covers(&PatchFacts { change_id: Some(&CID.to_uppercase()), ..f }));
        assert!(!Scope::Change(OTHER_CID.into()).covers(&f));
        assert!(!Scope::Change(CID.into()).covers(&PatchFacts { change_id: None, ..f }));
        assert!(Scope::Task(Task(2)).covers(&f));
        assert!(!Scope::Task(Task(3)).covers(&f));
        assert!(Scope::Author("kim@example.org".into()).covers(&f), "emails match in any case");
        assert!(!Scope::Author("kim@example.com".into()).covers(&f));
        assert!(Scope::Default.covers(&f));
    }
}

mod precedence {
    use super::*;

    /// One source per level, each with its own decision so the winner shows.
    fn level(rank: u8) -> (Option<Rule>, Option<&'static str>) {
        match rank {
            0 => (Some(rule(Scope::Change(CID.into()), "never")), None),
            1 => (None, Some("allow")),
            2 => (Some(rule(Scope::Task(Task(1)), "after 10d")), None),
            3 => (Some(rule(Scope::Author("kim@example.org".into()), "never")), None),
            4 => (Some(rule(Scope::Default, "allow")), None),
            _ => (None, None),
        }
    }

    #[test]
    fn every_pair_of_levels() {
        for high in 0..=5u8 {
            for low in high + 1..=5u8 {
                let (mut rules, mut trailer) = (Vec::new(), None);
                for rank in [high, low] {
                    let (r, t) = level(rank);
                    rules.extend(r);
                    trailer = trailer.or(t);
                }
                let p = policy(rules);
                let v = p.evaluate(&facts(TASKS, trailer));
                assert_eq!(v.source.rank(), high, "level {high} beats level {low}: {v:?}");
                let all = p.candidates(&facts(TASKS, trailer));
                let ranks: Vec<u8> = all.iter().map(|c| c.source.rank()).collect();
                let want = if low == 5 { vec![high, 5] } else { vec![high, low, 5] };
                assert_eq!(ranks, want, "every covering source is listed, winner first");
            }
        }
    }

    #[test]
    fn full_ladder() {
        let mut p = policy((0..=4).filter_map(|r| level(r).0).collect());
        let trailer = Some("allow");
        let expect = |p: &Policy, source: &str, decision: &str| {
            let v = p.evaluate(&facts(TASKS, trailer));
            assert_eq!((v.source.as_str(), v.decision.to_string().as_str()), (source, decision), "{}", v.reason);
        };
        expect(&p, "change", "never");
        p.remove(&Scope::Change(CID.into()));
        expect(&p, "trailer", "allow");
        let v = p.evaluate(&facts(TASKS, None));
        assert_eq!(v.source.as_str(), "task", "without the trailer the task rule wins");
        assert!(v.allowed_now, "40 days >= 10 days");
        p.remove(&Scope::Task(Task(1)));
        let v = p.evaluate(&facts(TASKS, None));
        assert_eq!((v.source.as_str(), v.decision), ("author", Decision::Never));
        p.remove(&Scope::Author("kim@example.org".into()));
        assert_eq!(p.evaluate(&facts(TASKS, None)).source, Source::Rule(Scope::Default));
        p.remove(&Scope::Default);
        let v = p.evaluate(&facts(TASKS, None));
        assert_eq!((v.source, v.decision, v.allowed_now), (Source::Builtin, Decision::Ask, false));
        assert!(v.reason.contains("built-in default is ask"), "{}", v.reason);
    }

    #[test]
    fn trailer_against_rules() {
        let p = policy(vec![rule(Scope::Task(Task(1)), "never"), rule(Scope::Default, "never")]);
        let v = p.evaluate(&facts(TASKS, Some("allow")));
        assert_eq!((v.source.clone(), v.decision, v.allowed_now), (Source::Trailer, Decision::Allow, true));
        assert_eq!(v.rule, None);
        assert_eq!(v.reason, "Removal is allowed: its commit message says Uncherry-Pick: allow.");
        let v = p.evaluate(&facts(TASKS, Some("After 60d")));
        assert_eq!((v.source.clone(), v.allowed_now), (Source::Trailer, false), "40 days < 60 days");
        let p = policy(vec![rule(Scope::Change(CID.into()), "ask")]);
        assert_eq!(p.evaluate(&facts(TASKS, Some("allow"))).decision, Decision::Ask, "a change rule beats the trailer");
    }

    #[test]
    fn a_trailer_that_is_not_a_decision_is_ignored_and_said_so() {
        let p = policy(vec![rule(Scope::Task(Task(2)), "never")]);
        let v = p.evaluate(&facts(TASKS, Some("sure, whenever")));
        assert_eq!((v.source.as_str(), v.decision), ("task", Decision::Never));
        assert!(v.reason.contains("\"sure, whenever\" is not a decision"), "{}", v.reason);
        assert!(p.candidates(&facts(TASKS, Some("sure"))).iter().all(|c| c.source != Source::Trailer));
    }

    #[test]
    fn several_tasks_strictest_wins() {
        let tasks = [Task(1), Task(2), Task(3)];
        let f = facts(&tasks, None);
        let mut p = policy(vec![
            rule(Scope::Task(Task(1)), "allow"),
            rule(Scope::Task(Task(2)), "never"),
            rule(Scope::Task(Task(3)), "after 30d"),
            rule(Scope::Task(Task(4)), "never"),
        ]);
        let v = p.evaluate(&f);
        assert_eq!((v.source.clone(), v.decision), (Source::Rule(Scope::Task(Task(2))), Decision::Never));
        assert!(v.reason.contains("the strictest of its 3 task rules"), "{}", v.reason);
        let all = p.candidates(&f);
        assert_eq!(all[1].lost_to(&all[0]), "the rule for task T2 is stricter");
        assert_eq!(all[3].lost_to(&all[0]), "outranked by the rule for task T2", "the built-in default");
        p.remove(&Scope::Task(Task(2)));
        assert_eq!(p.evaluate(&f).decision, Decision::After(days(30)), "after beats allow");
        p.set(rule(Scope::Task(Task(1)), "after 60d"));
        assert_eq!(p.evaluate(&f).decision, Decision::After(days(60)), "the longer wait is stricter");
        p.set(rule(Scope::Task(Task(1)), "ask"));
        assert_eq!(p.evaluate(&f).decision, Decision::Ask, "ask beats after");
        let order: Vec<String> = p.candidates(&f).iter().map(|c| c.decision.to_string()).collect();
        assert_eq!(order, ["ask", "after 30d", "ask"], "task rules strictest first, then the built-in default");
    }

    #[test]
    fn reasons_are_one_sentence() {
        let p = policy(vec![
            rule(Scope::Change(CID.into()), "never"),
            rule(Scope::Author("kim@example.org".into()), "allow"),
        ]);
        let v = p.evaluate(&facts(TASKS, None));
        assert_eq!(v.reason, format!("Removal is never allowed: the rule for change {CID} says never."));
        let v = policy(vec![rule(Scope::Default, "after 2w")]).evaluate(&facts(TASKS, None));
        assert_eq!(v.reason, "Removal is allowed now that the patch is 40d old: the default rule says after 2w.");
        assert!(!v.reason.contains('\n'));
    }
}

mod file_format {
    use super::*;

    const HAND_WRITTEN: &str = r#"# Consent for deployment-prep's local patches.
# Ask on #wikimedia-releng before changing this file.

# Tomás on T360100: "please un-cherry-pick at will".
[[rule]]
task = "T360100"   # the logging pipeline
decision = "allow"
set_by = "tomas"
set_at = "2026-11-01T10:00:00Z"
note = "see T360100#123"

# Hotfixes stay until the incident review is done.
[[rule]]
change = "Ib5c6d7e8f9012345678901234567890123456789"
# reviewed weekly
decision = 'never'    # really
set_by = "riya"
set_at = 2026-11-02T03:30:00Z

# ---- defaults ----
[[rule]]
default = true
decision = "ask"
set_by = "root"
set_at = "2026-10-01T00:00:00Z"

# end of policy
"#;

    fn load(text: &str) -> Policy {
        Policy::parse(text, path()).unwrap()
    }

    #[test]
    fn reads_a_hand_written_file() {
        let p = load(HAND_WRITTEN);
        let scopes: Vec<String> = p.rules().iter().map(|r| r.scope.to_string()).collect();
        assert_eq!(scopes, ["task T360100", format!("change {OTHER_CID}").as_str(), "default"]);
        assert_eq!(p.rules()[0].note.as_deref(), Some("see T360100#123"));
        assert_eq!(p.rules()[1].decision, Decision::Never);
        assert_eq!(p.rules()[1].set_at, "2026-11-02T03:30:00Z".parse::<Timestamp>().unwrap(), "a bare TOML datetime");
        let order: Vec<&str> = p.rules_by_precedence().iter().map(|r| r.scope.kind()).collect();
        assert_eq!(order, ["change", "task", "default"]);
        assert_eq!(load(HAND_WRITTEN).to_toml(), HAND_WRITTEN, "parsing alone changes nothing");
    }

    #[test]
    fn set_then_remove_a_new_rule_restores_every_byte() {
        let mut p = load(HAND_WRITTEN);
        let new = Rule {
            note: Some("Kim's hacks are fair game".into()),
            ..rule(Scope::Author("kim@example.org".into()), "after 30d")
        };
        assert_eq!(p.set(new.clone()), None);
        let text = p.to_toml();
        assert!(text.starts_with(HAND_WRITTEN.trim_end_matches("\n# end of policy\n")), "{text}");
        assert!(text.contains("\n[[rule]]\nauthor = \"kim@example.org\"\ndecision = \"after 30d\"\nset_by = \"alice\"\nset_at = \"2026-11-20T09:30:00Z\"\nnote = \"Kim's hacks are fair game\"\n"), "{text}");
        assert!(text.ends_with("\n# end of policy\n"), "{text}");
        let reread = load(&text);
        assert_eq!(reread.get(&new.scope), Some(&new));
        assert!(p.remove(&new.scope));
        assert_eq!(p.to_toml(), HAND_WRITTEN);
        assert!(!p.remove(&new.scope), "already gone");
    }

    #[test]
    fn changing_a_rule_keeps_its_comments_and_untouched_values() {
        let mut p = load(HAND_WRITTEN);
        let changed = Rule {
            set_by: "riya".into(),
            set_at: "2026-11-02T03:30:00Z".parse().unwrap(),
            ..rule(Scope::Change(OTHER_CID.into()), "after 2w")
        };
        let old = p.set(changed.clone()).expect("replaced");
        assert_eq!(old.decision, Decision::Never);
        let want = HAND_WRITTEN
            .replace("decision = 'never'    # really", "decision = \"after 2w\"    # really")
            .replace("set_at = 2026-11-02T03:30:00Z", "set_at = \"2026-11-02T03:30:00Z\"");
        assert_eq!(p.to_toml(), want);
        assert_eq!(load(&p.to_toml()).rules()[1], changed);
        // A note set and cleared again.
        p.set(Rule { note: Some("until T360777 is closed".into()), ..changed.clone() });
        assert!(p.to_toml().contains("set_at = \"2026-11-02T03:30:00Z\"\nnote = \"until T360777 is closed\"\n"));
        p.set(changed);
        assert_eq!(p.to_toml(), want);
    }

    #[test]
    fn removing_rules_keeps_other_comments() {
        let mut p = load(HAND_WRITTEN);
        assert!(p.remove(&Scope::Task(Task(360_100))));
        let text = p.to_toml();
        assert!(text.starts_with("# Consent for deployment-prep's local patches.\n# Ask on #wikimedia-releng before changing this file.\n\n# Hotfixes stay"), "the file header stays: {text}");
        assert!(!text.contains("Tomás"), "the comment about the removed rule goes with it");
        assert!(text.contains("# reviewed weekly\ndecision = 'never'    # really\n"));
        assert!(p.remove(&Scope::Default));
        let text = p.to_toml();
        assert!(!text.contains("---- defaults ----"));
        assert!(text.ends_with("set_at = 2026-11-02T03:30:00Z\n\n# end of policy\n"), "{text}");
        assert!(p.remove(&Scope::Change(OTHER_CID.into())));
        assert_eq!(
            p.to_toml(),
            "# Consent for deployment-prep's local patches.\n# Ask on #wikimedia-releng before changing this file.\n\n# end of policy\n"
        );
        assert!(load(&p.to_toml()).rules().is_empty());
    }

    #[test]
    fn a_new_file_gets_a_header_and_comments_only_files_keep_theirs() {
        let mut p = Policy::default();
        p.set(rule(Scope::Default, "ask"));
        let text = p.to_toml();
        assert!(text.starts_with(file::HEADER), "{text}");
        assert!(text.ends_with("\n\n[[rule]]\ndefault = true\ndecision = \"ask\"\nset_by = \"alice\"\nset_at = \"2026-11-20T09:30:00Z\"\n"), "{text}");
        let comments = "# only a comment\n";
        let mut p = load(comments);
        p.set(rule(Scope::Default, "ask"));
        assert!(p.to_toml().starts_with("# only a comment\n\n[[rule]]\n"), "{}", p.to_toml());
        p.remove(&Scope::Default);
        assert_eq!(p.to_toml(), comments);
    }

    #[test]
    fn load_save_and_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("betadrift/policy.toml");
        let mut p = Policy::load(&file).unwrap();
        assert!(p.rules().is_empty(), "a missing file is an empty policy");
        assert!(!file.exists());
        p.set(rule(Scope::Task(Task(5)), "never"));
        p.save(&file).unwrap();
        assert_eq!(Policy::load(&file).unwrap().rules(), p.rules());
        std::fs::write(&file, b"\xff\xfe").unwrap();
        let err = Policy::load(&file).unwrap_err().to_string();
        assert!(err.contains("not UTF-8"), "{err}");
    }

    fn error(text: &str) -> String {
        let err = Policy::parse(text, path()).unwrap_err();
        assert!(matches!(err, Error::Policy { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.starts_with("consent policy /srv/policy.toml: "), "{message}");
        assert!(message.ends_with("fix the file by hand (betadrift does not rewrite a policy it cannot read)"));
        assert!(!message.contains('\n'), "{message}");
        message
    }

    #[test]
    fn errors_name_line_and_column() {
        let ok = "[[rule]]\ndefault = true\ndecision = \"ask\"\nset_by = \"x\"\nset_at = \"2026-11-20T09:30:00Z\"\n";
        for (text, at, says) in [
            ("[[rule]\n".to_owned(), "line 1, column 8", "expected `]`"),
            (ok.replace("\"ask\"", "\"alow\""), "line 3, column 12", "'alow' is not a decision"),
            (ok.replace("decision", "decison"), "line 3, column 1", "unknown key 'decison'"),
            (ok.replace("default = true", "default = false"), "line 2, column 11", "default = false covers nothing"),
            (
                ok.replace("default = true", "default = true\ntask = \"T5\""),
                "line 3, column 1",
                "a rule has exactly one scope",
            ),
            (ok.replace("default = true\n", "change = \"Iabc\"\n"), "line 2, column 10", "not a full Change-Id"),
            (ok.replace("default = true\n", "author = \"Kim\"\n"), "line 2, column 10", "not an email"),
            (ok.replace("decision = \"ask\"\n", ""), "line 1, column 1", "this rule has no decision"),
            (
                ok.replace("set_at = \"2026-11-20T09:30:00Z\"", "set_at = \"last week\""),
                "line 5, column 10",
                "not a time",
            ),
            (format!("{ok}\n{ok}"), "line 8, column 1", "a second rule for default (the first is at line 2)"),
            (format!("owner = \"me\"\n{ok}"), "line 1, column 1", "unknown key 'owner'"),
            ("[rule]\ndefault = true\n".to_owned(), "line 1, column 2", "[[rule]] table"),
            (ok.replace("set_by = \"x\"", "set_by = 3"), "line 4, column 10", "must be a string"),
        ] {
            let message = error(&text);
            assert!(message.contains(&format!("{at}: ")), "want {at} in {message}");
            assert!(message.contains(says), "want {says:?} in {message}");
        }
    }

    #[test]
    fn a_corrupt_file_is_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("policy.toml");
        let corrupt = b"[[rule]]\ndefault = true\ndecision = \"maybe\"\n";
        std::fs::write(&file, corrupt).unwrap();
        let err = Policy::load(&file).unwrap_err().to_string();
        assert!(err.contains("line 3, column 12"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), corrupt);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

#[test]
fn who_set_it() {
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(user_from(s("kim"), s("root")), "kim");
    assert_eq!(user_from(None, s("root")), "root");
    assert_eq!(user_from(s(""), s("root")), "root", "an empty SUDO_USER does not count");
    assert_eq!(user_from(None, None), "unknown");
}

#[test]
fn live_decisions_allow_only_what_the_live_state_says() {
    for (text, decision) in
        [("after-task-closed", Decision::AfterTaskClosed), ("after-change-abandoned", Decision::AfterChangeAbandoned)]
    {
        assert_eq!(text.parse::<Decision>(), Ok(decision));
        assert_eq!(decision.to_string(), text);
        assert!(!decision.allows(Some(days(1000))), "{text}: age alone never allows it");
    }
    let unknown = facts(TASKS, None);
    let closed = PatchFacts { tasks_closed: Some(true), ..unknown };
    let open = PatchFacts { tasks_closed: Some(false), ..unknown };
    let abandoned = PatchFacts { change_abandoned: Some(true), ..unknown };
    assert!(Decision::AfterTaskClosed.allows_for(&closed));
    assert!(!Decision::AfterTaskClosed.allows_for(&open));
    assert!(!Decision::AfterTaskClosed.allows_for(&unknown), "unknown is never permission");
    assert!(!Decision::AfterTaskClosed.allows_for(&abandoned));
    assert!(Decision::AfterChangeAbandoned.allows_for(&abandoned));
    assert!(!Decision::AfterChangeAbandoned.allows_for(&unknown), "unknown is never permission");
    let text = "[[rule]]\ntask = \"T1\"\ndecision = \"after-task-closed\"\nset_by = \"kim\"\nset_at = \"2026-01-01T00:00:00Z\"\n";
    let policy = Policy::parse(text, path()).unwrap();
    let v = policy.evaluate(&unknown);
    assert!(!v.allowed_now && v.reason.contains("unknown"), "{}", v.reason);
    let v = policy.evaluate(&closed);
    assert!(v.allowed_now && v.reason.contains("closed"), "{}", v.reason);
}
