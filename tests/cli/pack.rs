//! The pack reader against libgit2: every object of repositories that the
//! real git packed (offset and id deltas, deep chains, large files, loose
//! objects, alternates) reads the same both ways, and damaged packs and
//! loose objects are corrupt (exit 2 naming the object and its file, never
//! libgit2's reader, which crashes or spins on them), never a wrong object
//! or a panic.

use crate::common;

use std::path::Path;
use std::sync::Arc;

use betadrift_engine::pack::{Reader, Store};
use common::Sandbox;

/// A history whose files grow and change a little at a time, so git
/// packs most versions as deltas: nested directories, an empty file, a
/// file larger than 64 KiB (copies with multi-byte offsets and sizes).
fn make_history(sb: &Sandbox, dir: &Path, commits: usize) {
    std::fs::create_dir_all(dir).unwrap();
    sb.git(dir, &["init", "-q", "-b", "main"]);
    let mut big: Vec<String> = (0..9000).map(|i| format!("line {i} of a large generated file\n")).collect();
    for n in 0..commits {
        for f in 0..6 {
            let path = dir.join(format!("modules/m{}/manifests/f{f}.pp", n % 3));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let body: String =
                (0..(40 + n + f)).map(|i| format!("class m{f} {{ $v{i} = {} }}\n", i % (n + 1))).collect();
            std::fs::write(&path, body).unwrap();
        }
        big[(n * 97) % 9000] = format!("changed in commit {n}\n");
        std::fs::write(dir.join("big.txt"), big.concat()).unwrap();
        std::fs::write(dir.join("empty"), "").unwrap();
        sb.git(dir, &["add", "-A"]);
        sb.git(dir, &["commit", "-q", "-m", &format!("commit {n}\n\nChange-Id: I{n:040}")]);
    }
}

/// A history of `commits` commits, packed in deep delta chains.
fn packed_history(commits: usize) -> (Sandbox, std::path::PathBuf) {
    let sb = Sandbox::new();
    let repo = sb.path().join("repo");
    make_history(&sb, &repo, commits);
    sb.git(&repo, &["repack", "-q", "-a", "-d", "-f", "--depth=50", "--window=50"]);
    (sb, repo)
}

/// Every object of the repository at `dir`, with libgit2's reading of it.
fn all_objects(sb: &Sandbox, dir: &Path) -> Vec<(git2::Oid, git2::ObjectType, Vec<u8>)> {
    let repo = git2::Repository::open(dir).unwrap();
    let odb = repo.odb().unwrap();
    sb.git(dir, &["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"])
        .lines()
        .map(|hex| {
            let oid = git2::Oid::from_str(hex).unwrap();
            let obj = odb.read(oid).unwrap();
            (oid, obj.kind(), obj.data().to_vec())
        })
        .collect()
}

fn id(oid: git2::Oid) -> [u8; 20] {
    oid.as_bytes().try_into().unwrap()
}

/// Asserts the reader finds every object of `dir` as libgit2 does.
fn reads_like_libgit2(sb: &Sandbox, dir: &Path) -> usize {
    let objects = all_objects(sb, dir);
    let mut reader = Reader::new(Arc::new(Store::open(&dir.join(".git/objects"))));
    for (oid, kind, data) in &objects {
        let (k, body) = reader.read(&id(*oid)).unwrap().unwrap_or_else(|| panic!("{oid} not read"));
        assert_eq!((k, &body[..]), (*kind, &data[..]), "{oid}");
    }
    assert_eq!(reader.read(&[0x5a; 20]), Ok(None), "an absent object is absent");
    objects.len()
}

#[test]
fn packed_loose_and_borrowed_objects_read_as_libgit2_reads_them() {
    let (sb, repo) = packed_history(40);
    // Deep chains of offset deltas, then a few loose objects on top.
    std::fs::write(repo.join("loose.txt"), "after the repack\n").unwrap();
    sb.git(&repo, &["add", "-A"]);
    sb.git(&repo, &["commit", "-q", "-m", "loose"]);
    let store = Store::open(&repo.join(".git/objects"));
    assert_eq!(store.pack_count(), 1);
    let n = reads_like_libgit2(&sb, &repo);
    assert!(n > 300, "{n} objects");
    let deltas = sb.git(&repo, &["verify-pack", "-v", &pack_of(&repo)]);
    let n_deltas = deltas.lines().filter(|l| l.split_whitespace().count() == 7).count();
    assert!(n_deltas > 100, "{n_deltas} deltas in the pack:\n{deltas}");

    // Deltas naming their base by id rather than by offset.
    let by_id = sb.path().join("by-id");
    sb.git(sb.path(), &["clone", "-q", "--no-local", repo.to_str().unwrap(), by_id.to_str().unwrap()]);
    sb.git(&by_id, &["-c", "repack.useDeltaBaseOffset=false", "repack", "-q", "-a", "-d", "-f", "--depth=50"]);
    reads_like_libgit2(&sb, &by_id);

    // Objects borrowed through objects/info/alternates, and one of its own.
    let shared = sb.path().join("shared");
    sb.git(sb.path(), &["clone", "-q", "--shared", repo.to_str().unwrap(), shared.to_str().unwrap()]);
    std::fs::write(shared.join("own.txt"), "its own\n").unwrap();
    sb.git(&shared, &["add", "-A"]);
    sb.git(&shared, &["commit", "-q", "-m", "own"]);
    reads_like_libgit2(&sb, &shared);
}

/// git's multi-pack-index (written by `git maintenance`'s incremental-repack
/// task, `git repack --write-midx`, `git multi-pack-index`) is an index
/// over packs that keep their own `.idx` files: the reader maps those, so
/// it reads every object through a multi-pack-index, its bitmap, and after
/// `multi-pack-index repack` and `expire` have replaced and deleted packs.
/// Cruft packs (what `git gc` keeps of unreachable objects) are ordinary
/// packs to it.
#[test]
fn multi_pack_index_and_cruft_packs_read_as_libgit2_reads_them() {
    let sb = Sandbox::new();
    let repo = sb.path().join("repo");
    make_history(&sb, &repo, 6);
    // A pack per fetch, as on a puppetmaster: three more commits, three packs.
    sb.git(&repo, &["repack", "-q", "-d"]);
    for n in 0..3 {
        std::fs::write(repo.join(format!("fetched-{n}.txt")), format!("fetch {n}\n")).unwrap();
        sb.git(&repo, &["add", "-A"]);
        sb.git(&repo, &["commit", "-q", "-m", &format!("fetched {n}")]);
        sb.git(&repo, &["repack", "-q", "-d"]);
    }
    sb.git(&repo, &["multi-pack-index", "write", "--bitmap"]);
    let midx = repo.join(".git/objects/pack/multi-pack-index");
    assert!(midx.exists(), "git wrote a multi-pack-index");
    assert_eq!(Store::open(&repo.join(".git/objects")).pack_count(), 4);
    reads_like_libgit2(&sb, &repo);

    // The incremental-repack task's steps: small packs rolled into one,
    // the packs the index no longer uses deleted.
    sb.git(&repo, &["multi-pack-index", "repack", "--batch-size=0"]);
    sb.git(&repo, &["multi-pack-index", "expire"]);
    sb.git(&repo, &["multi-pack-index", "verify"]);
    let packs = Store::open(&repo.join(".git/objects")).pack_count();
    assert!(packs < 4, "{packs} packs after expire");
    reads_like_libgit2(&sb, &repo);

    // An unreachable object, kept by git gc in a cruft pack.
    sb.git(&repo, &["reset", "-q", "--hard", "HEAD~1"]);
    sb.git(&repo, &["reflog", "expire", "--expire=now", "--all"]);
    sb.git(&repo, &["gc", "-q", "--cruft", "--prune=1.week.ago"]);
    let cruft = std::fs::read_dir(repo.join(".git/objects/pack"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "mtimes"))
        .count();
    assert_eq!(cruft, 1, "git gc wrote a cruft pack");
    reads_like_libgit2(&sb, &repo);
}

fn pack_of(repo: &Path) -> String {
    let dir = repo.join(".git/objects/pack");
    let pack = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "pack"))
        .unwrap();
    pack.to_str().unwrap().to_owned()
}

#[test]
fn a_damaged_pack_reads_as_corrupt_or_right_never_wrong() {
    let (sb, repo) = packed_history(12);
    let objects = all_objects(&sb, &repo);
    let pack = pack_of(&repo);
    let original = std::fs::read(&pack).unwrap();
    let idx = Path::new(&pack).with_extension("idx");
    let original_idx = std::fs::read(&idx).unwrap();
    let count = u32::from_be_bytes(original_idx[8 + 255 * 4..8 + 256 * 4].try_into().unwrap()) as usize;
    let offsets_at = 8 + 1024 + count * 24;
    let entries: Vec<usize> = sb
        .git(&repo, &["verify-pack", "-v", &pack])
        .lines()
        .filter(|l| l.len() > 40 && l.as_bytes()[..40].iter().all(u8::is_ascii_hexdigit))
        .filter_map(|l| l.split_whitespace().nth(4)?.parse().ok())
        .collect();
    assert_eq!(entries.len(), count);
    let (mut corrupt, mut absent, mut right) = (0, 0, 0);
    let mut seed = 11u64;
    for round in 0..80 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let (mut data, mut index) = (original.clone(), original_idx.clone());
        // Damage, in turn: an entry's offset in the index, an entry's type,
        // any byte of the index, any byte of the pack.
        let r = (seed >> 20) as usize;
        let (in_index, at, bit) = match round % 4 {
            0 => (true, offsets_at + r % (count * 4), (seed >> 8) % 8),
            1 => (false, entries[r % entries.len()], 4 + (seed >> 8) % 3),
            2 => (true, 8 + r % (original_idx.len() - 48), (seed >> 8) % 8),
            _ => (false, 12 + r % (original.len() - 32), (seed >> 8) % 8),
        };
        let target = if in_index { &mut index } else { &mut data };
        target[at] ^= 1 << bit;
        // Packs are read-only on disk, as git leaves them.
        for (path, bytes) in [(Path::new(&pack), &data), (idx.as_path(), &index)] {
            let mut perms = std::fs::metadata(path).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(path, perms).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        let mut reader = Reader::new(Arc::new(Store::open(&repo.join(".git/objects"))));
        for (oid, kind, body) in &objects {
            match reader.read(&id(*oid)) {
                Err(e) => {
                    let file = e.file.to_string_lossy();
                    assert!(file.ends_with(".pack") || file.ends_with(".idx"), "{e:?}");
                    corrupt += 1;
                }
                // A pack whose header is damaged is not mapped at all.
                Ok(None) => absent += 1,
                Ok(Some((k, b))) => {
                    assert_eq!((k, &b[..]), (*kind, &body[..]), "round {round}: byte {at} damaged, {oid} read wrong");
                    right += 1;
                }
            }
        }
    }
    assert!(corrupt > 0 && right > 0, "corrupt {corrupt}, absent {absent}, right {right}");
}

/// The demo after `git gc` (every object in a pack, most as deltas): status
/// and check say the same with the pack reader as through libgit2 alone.
#[test]
fn packed_demo_reads_the_same_with_and_without_the_pack_reader() {
    let sb = Sandbox::new();
    let built = sb.build(&betadrift::scenario::Scenario::demo());
    sb.git(&built.checkout, &["-c", "gc.auto=0", "repack", "-q", "-a", "-d", "-f", "--depth=50"]);
    assert!(Store::open(&built.checkout.join(".git/objects")).pack_count() >= 1);
    for args in [&["status", "--json"][..], &["check", "--json"]] {
        let fast = sb.betadrift(&built.checkout, args);
        let slow = {
            let out = sb
                .command(env!("CARGO_BIN_EXE_betadrift"))
                .current_dir(&built.checkout)
                .env("BETADRIFT_NOW", "2026-11-25T12:00:00Z")
                .env("BETADRIFT_LIBGIT2_READS", "1")
                .args(args)
                .output()
                .unwrap();
            common::Run::from(out)
        };
        assert!(fast.stdout.contains("\"patches\""), "{args:?}: {}{}", fast.stdout, fast.stderr);
        assert_eq!((fast.code, &fast.stdout), (slow.code, &slow.stdout), "{args:?}");
    }
}

/// Runs betadrift in `dir` with a deadline: a hang is a failure, not a
/// stuck test.
fn run_within(sb: &Sandbox, dir: &Path, args: &[&str], seconds: u64) -> common::Run {
    let mut child = sb.spawn_betadrift(dir, None, args);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("betadrift {args:?} still running after {seconds} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    common::Run::from(child.wait_with_output().unwrap())
}

/// The position of `oid` in a version 2 pack index.
fn index_position(idx: &[u8], oid: git2::Oid) -> usize {
    let count = u32::from_be_bytes(idx[8 + 255 * 4..8 + 256 * 4].try_into().unwrap()) as usize;
    (0..count).find(|i| &idx[8 + 1024 + i * 20..8 + 1024 + i * 20 + 20] == oid.as_bytes()).unwrap()
}

/// Reproducer 7 of issue 17: a damaged offset in the index of the pack
/// holding HEAD's commit made `status` crash in libgit2 (exit 139); it is
/// an error naming the object and the pack, as `git` reports it.
#[test]
fn a_damaged_index_offset_is_corruption_not_a_crash() {
    let sb = Sandbox::new();
    let built = sb.build(&betadrift::scenario::Scenario::demo());
    let dir = &built.checkout;
    sb.git(dir, &["-c", "gc.auto=0", "repack", "-q", "-a", "-d"]);
    let head = git2::Oid::from_str(sb.git(dir, &["rev-parse", "HEAD"]).trim()).unwrap();
    let idx = Path::new(&pack_of(dir)).with_extension("idx");
    let mut bytes = std::fs::read(&idx).unwrap();
    let count = u32::from_be_bytes(bytes[8 + 255 * 4..8 + 256 * 4].try_into().unwrap()) as usize;
    let at = 8 + 1024 + count * 24 + index_position(&bytes, head) * 4;
    // The large-offset flag, with an index far past the large-offset table.
    bytes[at] |= 0x80;
    let mut perms = std::fs::metadata(&idx).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&idx, perms).unwrap();
    std::fs::write(&idx, bytes).unwrap();
    assert!(!sb.git_output(dir, &["cat-file", "-p", "HEAD"]).status.success(), "git finds it corrupt too");
    for args in [&["status"][..], &["check"]] {
        let run = run_within(&sb, dir, args, 60);
        run.assert_error(&format!("object {head} is corrupt in "));
        assert!(run.stderr.contains(".idx (its index is damaged)"), "{}", run.stderr);
    }
}

/// Reproducer 7 of issue 17: a truncated loose object made libgit2 spin
/// forever; it is an error naming the file, at once.
#[test]
fn a_truncated_loose_object_is_corruption_not_a_hang() {
    let sb = Sandbox::new();
    let built = sb.build(&betadrift::scenario::Scenario::demo());
    let dir = &built.checkout;
    let head = sb.git(dir, &["rev-parse", "HEAD"]).trim().to_owned();
    let file = dir.join(".git/objects").join(&head[..2]).join(&head[2..]);
    let bytes = std::fs::read(&file).unwrap();
    let mut perms = std::fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&file, perms).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    for args in [&["status"][..], &["check"]] {
        let run = run_within(&sb, dir, args, 60);
        run.assert_error(&format!("object {head} is corrupt in {}", file.display()));
    }
}

/// A snapshot tag whose commit cannot be read changed patch ages without a
/// word; now `status` says which tag and which object.
#[test]
fn a_snapshot_tag_on_an_unreadable_commit_is_an_error() {
    let sb = Sandbox::new();
    let built = sb.build(&betadrift::scenario::Scenario::demo());
    let dir = &built.checkout;
    let tag = sb.git(dir, &["for-each-ref", "--format=%(refname:short)", "refs/tags/snapshot-*"]);
    let tag = tag.lines().next().expect("the demo has snapshot tags").to_owned();
    // A commit of its own, so that nothing else reads it; then damaged.
    let lonely = sb.git(dir, &["commit-tree", "HEAD^{tree}", "-m", "only the tag has me"]).trim().to_owned();
    sb.git(dir, &["tag", "-f", &tag, &lonely]);
    let file = dir.join(".git/objects").join(&lonely[..2]).join(&lonely[2..]);
    std::fs::write(&file, b"x\x9c garbage").unwrap();
    let run = run_within(&sb, dir, &["status"], 60);
    run.assert_error(&format!("snapshot tag {tag}: object {lonely} is corrupt"));
}
