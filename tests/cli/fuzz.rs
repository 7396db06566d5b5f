//! Fuzzing on stable Rust: seeded random mutations (bit flips, byte
//! overwrites, truncations, insertions, splices of another input) of what
//! betadrift parses from disk, fed to its parsers: pack files and their
//! indexes and loose objects (the engine's pack reader), tree bodies,
//! commit headers, paths (git's `verify_path`), and the TOML and JSON
//! state files (configuration,
//! consent policy, first-seen ledger, journal, audit log). Each input must
//! come back (an answer or an error) within a time limit, without a panic.
//!
//! The suite runs it for `BETADRIFT_FUZZ_SECONDS` (3 by default); the
//! ignored test `fuzz::long` (bench/fuzz.sh) runs it longer. A failure
//! names the target, the seed and the round, which replay it exactly.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use betadrift_engine::pack::{Reader, Store};
use common::Sandbox;
use common::random::Rng;

/// The longest one input may take (a hang is a failure, not a stuck test).
const INPUT_LIMIT: Duration = Duration::from_secs(5);

/// What a round mutates, and the unmutated inputs.
struct Corpus {
    /// A repository packed by git (offset deltas), its pack and index.
    repo: PathBuf,
    pack: PathBuf,
    pack_bytes: Vec<u8>,
    idx_bytes: Vec<u8>,
    /// Loose objects of every type, as stored.
    loose: Vec<(PathBuf, Vec<u8>)>,
    /// Every object id of the repository.
    ids: Vec<[u8; 20]>,
    trees: Vec<Vec<u8>>,
    commits: Vec<Vec<u8>>,
    /// State files: (name, text).
    state: Vec<(&'static str, Vec<u8>)>,
}

fn corpus(sb: &Sandbox) -> Corpus {
    let built = sb.build(&betadrift::scenario::Scenario::demo());
    let repo = built.checkout.clone();
    let all = sb.git(&repo, &["cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)"]);
    let mut loose = Vec::new();
    let (mut trees, mut commits, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    for line in all.lines() {
        let (hex, kind) = line.split_once(' ').unwrap();
        let oid = git2::Oid::from_str(hex).unwrap();
        ids.push(oid.as_bytes().try_into().unwrap());
        let body = std::process::Command::new(common::git_binary())
            .current_dir(&repo)
            .args(["cat-file", kind, hex])
            .output()
            .unwrap()
            .stdout;
        match kind {
            "tree" if trees.len() < 40 => trees.push(body),
            "commit" if commits.len() < 40 => commits.push(body),
            _ => {}
        }
        if loose.len() < 16 {
            let path = repo.join(".git/objects").join(&hex[..2]).join(&hex[2..]);
            loose.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    // A copy whose objects git packs, for the pack reader.
    let packed = sb.path().join("packed");
    common::copy_dir(&built.dir, &packed);
    let packed = packed.join(repo.file_name().unwrap());
    sb.git(&packed, &["-c", "gc.auto=0", "repack", "-q", "-a", "-d", "-f", "--depth=20"]);
    let pack = std::fs::read_dir(packed.join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "pack"))
        .unwrap();
    let state = vec![
        ("config.toml", include_bytes!("../../config.example.toml").to_vec()),
        ("policy.toml", POLICY.as_bytes().to_vec()),
        ("ledger.json", LEDGER.as_bytes().to_vec()),
        ("journal.json", JOURNAL.as_bytes().to_vec()),
        ("audit.jsonl", AUDIT.as_bytes().to_vec()),
    ];
    Corpus {
        pack_bytes: std::fs::read(&pack).unwrap(),
        idx_bytes: std::fs::read(pack.with_extension("idx")).unwrap(),
        repo: packed,
        pack,
        loose,
        ids,
        trees,
        commits,
        state,
    }
}

const POLICY: &str = "[[rule]]\ndefault = true\ndecision = \"allow\"\nset_by = \"root\"\nset_at = \"2026-10-01T00:00:00Z\"\n\n[[rule]]\nchange = \"I0123456789abcdef0123456789abcdef01234567\"\ndecision = \"deny\"\nreason = \"T1234\"\nset_by = \"root\"\nset_at = \"2026-10-02T00:00:00Z\"\nexpires = \"2027-01-01T00:00:00Z\"\n";
const LEDGER: &str = "{\"schema_version\":1,\"patches\":{\"change:I0123456789abcdef0123456789abcdef01234567\":{\"first_seen\":\"2026-10-01T00:00:00Z\",\"subject\":\"x\"}}}";
const JOURNAL: &str = "{\"command\":\"drop\",\"branch\":\"refs/heads/production\",\"old_head\":\"0123456789abcdef0123456789abcdef01234567\",\"new_head\":\"0123456789abcdef0123456789abcdef01234567\",\"old_tree\":\"0123456789abcdef0123456789abcdef01234567\",\"new_tree\":\"0123456789abcdef0123456789abcdef01234567\",\"backup\":\"refs/betadrift/backup/x\",\"started\":\"2026-11-25T12:00:00Z\",\"phase\":\"rewriting\"}";
const AUDIT: &str = "{\"time\":\"2026-11-25T12:00:00Z\",\"actor\":\"root\",\"command\":\"drop\"}\n{\"broken\n";

/// One mutation of `input`, with `other` to splice from.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = if out.is_empty() { 0 } else { rng.below(out.len()) };
        match rng.below(6) {
            0 if !out.is_empty() => out[at] ^= 1 << rng.below(8),
            1 if !out.is_empty() => out[at] = [0, 0xff, 0x7f, 0x80, b'\n', b' ', b'"', b'['][rng.below(8)],
            2 => out.truncate(at),
            3 => out.insert(at, rng.below(256) as u8),
            4 if !other.is_empty() => {
                let from = rng.below(other.len());
                let len = rng.below(64).min(other.len() - from);
                out.splice(at..at, other[from..from + len].iter().copied());
            }
            _ if !out.is_empty() => {
                let len = rng.below(16).min(out.len() - at);
                out.drain(at..at + len);
            }
            _ => {}
        }
    }
    out
}

/// Runs one input on a worker thread; a panic or an input over
/// [`INPUT_LIMIT`] fails the test, naming it.
fn within_limit(what: &str, run: impl FnOnce() + Send + 'static) {
    let (done, wait) = mpsc::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
        let _ = done.send(result.is_ok());
    });
    match wait.recv_timeout(INPUT_LIMIT) {
        Ok(true) => {}
        Ok(false) => panic!("{what}: panicked"),
        Err(_) => panic!("{what}: still running after {INPUT_LIMIT:?}"),
    }
}

/// The targets, in turn; returns how many inputs each saw.
fn fuzz(seed: u64, budget: Duration) -> [usize; 6] {
    let sb = Sandbox::new();
    let c = corpus(&sb);
    let mut rng = Rng::new(seed);
    let mut counts = [0usize; 6];
    let started = Instant::now();
    let mut round = 0usize;
    while started.elapsed() < budget {
        let target = round % 6;
        let what = format!("seed {seed}, round {round}, target {target}");
        match target {
            0 => pack_round(&mut rng, &c, &what),
            1 => loose_round(&mut rng, &c, &sb, &what),
            2 => {
                let i = rng.below(c.trees.len());
                let input = mutate(&mut rng, &c.trees[i], &c.trees[0]);
                within_limit(&what, move || {
                    let _ = betadrift_engine::objects::Tree::parse(&input);
                });
            }
            3 => {
                let i = rng.below(c.commits.len());
                let input = mutate(&mut rng, &c.commits[i], &c.commits[0]);
                within_limit(&what, move || {
                    let _ = betadrift::git::commit::RawCommit::parse(git2::Oid::ZERO_SHA1, &input);
                });
            }
            4 => state_round(&mut rng, &c, &sb, &what),
            _ => {
                // Paths as a rewrite checks them (git's verify_path).
                let paths: &[&[u8]] = &[b".git/hooks/x", b"a/git~1/b", b".gitmodules", b"caf\xc3\xa9/.g\xe2\x80\x8cit"];
                let i = rng.below(paths.len());
                let path = mutate(&mut rng, paths[i], b"/.\\~:1 \xe2\x80\x8c");
                let mode = [0o100644, 0o100755, 0o120000, 0o160000, 0o040000][rng.below(5)];
                within_limit(&what, move || {
                    let _ = betadrift::git::verify_path::verify_path(&path, mode);
                });
            }
        }
        counts[target] += 1;
        round += 1;
    }
    counts
}

/// A damaged pack or index: every object reads, or is absent or corrupt.
fn pack_round(rng: &mut Rng, c: &Corpus, what: &str) {
    let (pack, idx) = if rng.below(2) == 0 {
        (mutate(rng, &c.pack_bytes, &c.idx_bytes), c.idx_bytes.clone())
    } else {
        (c.pack_bytes.clone(), mutate(rng, &c.idx_bytes, &c.pack_bytes))
    };
    write_readonly_file(&c.pack, &pack);
    write_readonly_file(&c.pack.with_extension("idx"), &idx);
    let objects = c.repo.join(".git/objects");
    let ids = c.ids.clone();
    within_limit(what, move || {
        let mut reader = Reader::new(Arc::new(Store::open(&objects)));
        for id in &ids {
            let _ = reader.read(id);
        }
    });
}

/// A damaged loose object, read where it lies.
fn loose_round(rng: &mut Rng, c: &Corpus, sb: &Sandbox, what: &str) {
    let i = rng.below(c.loose.len());
    let (path, bytes) = &c.loose[i];
    let objects = sb.path().join(format!("loose-{}", rng.below(1 << 30)));
    let hex_dir = path.parent().unwrap().file_name().unwrap();
    let target = objects.join(hex_dir).join(path.file_name().unwrap());
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, mutate(rng, bytes, &c.loose[0].1)).unwrap();
    let hex = format!("{}{}", hex_dir.to_string_lossy(), path.file_name().unwrap().to_string_lossy());
    let id: [u8; 20] = git2::Oid::from_str(&hex).unwrap().as_bytes().try_into().unwrap();
    within_limit(what, move || {
        let _ = Reader::new(Arc::new(Store::open(&objects))).read(&id);
        let _ = std::fs::remove_dir_all(&objects);
    });
}

/// A damaged state file, read as betadrift reads it.
fn state_round(rng: &mut Rng, c: &Corpus, sb: &Sandbox, what: &str) {
    let i = rng.below(c.state.len());
    let (name, text) = &c.state[i];
    let dir = sb.path().join(format!("state-{}", rng.below(1 << 30)));
    std::fs::create_dir_all(&dir).unwrap();
    let input = mutate(rng, text, POLICY.as_bytes());
    std::fs::write(dir.join(name), &input).unwrap();
    let name = *name;
    within_limit(what, move || {
        let path = dir.join(name);
        match name {
            "config.toml" => {
                let _ = betadrift::config::Config::parse(&String::from_utf8_lossy(&input));
            }
            "policy.toml" => {
                let _ = betadrift::consent::Policy::load(&path);
            }
            "ledger.json" => {
                let _ = betadrift::model::ledger::Ledger::read(&path);
            }
            "journal.json" => {
                let _ = betadrift::rewrite::Journal::read(&dir);
            }
            _ => {
                let _ = betadrift::rewrite::read_audit(&dir);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}

fn write_readonly_file(path: &Path, bytes: &[u8]) {
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(path, perms).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn seconds(default: u64) -> Duration {
    let n = std::env::var("BETADRIFT_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    Duration::from_secs(n)
}

fn report(seed: u64, counts: [usize; 6], budget: Duration) {
    let total: usize = counts.iter().sum();
    eprintln!(
        "fuzz seed {seed}: {total} inputs in {budget:?} (packs {}, loose {}, trees {}, commits {}, state files {}, paths {}); 0 panics, 0 hangs",
        counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]
    );
    assert!(counts.iter().all(|&n| n > 0), "every target ran: {counts:?}");
}

/// A few seconds in every run of the suite, with a new seed each day (the
/// failure message names it, so it replays with `BETADRIFT_FUZZ_SEED`).
#[test]
fn mutated_inputs_never_panic_or_hang() {
    let seed = std::env::var("BETADRIFT_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs() / 86_400)
    });
    let budget = seconds(3);
    report(seed, fuzz(seed, budget), budget);
}

/// The long run (bench/fuzz.sh): `BETADRIFT_FUZZ_SECONDS`, 300 by default.
#[test]
#[ignore = "minutes long; bench/fuzz.sh runs it"]
fn long() {
    let seed = std::env::var("BETADRIFT_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(17);
    let budget = seconds(300);
    report(seed, fuzz(seed, budget), budget);
}
