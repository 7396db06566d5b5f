//! Timing of `betadrift_engine::xdiff` on file sizes seen in operations/puppet.
//!
//! Ignored by default (timings are meaningless in debug builds and noisy on
//! shared runners). Run with
//! `cargo test --release -p betadrift-engine --test engine xdiff_speed -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use betadrift_engine::xdiff::{self, Algorithm, MergeOptions};

/// A tiny deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// Puppet-like lines: mostly distinct, with common closing and blank lines.
fn code_line(rng: &mut Rng, i: usize) -> String {
    const COMMON: [&str; 5] = ["}\n", "\n", "    ensure => present,\n", "  }\n", "}\n"];
    match rng.below(10) {
        0..=2 => COMMON[rng.below(COMMON.len())].to_string(),
        _ => format!("    value_{i} => '{}',\n", rng.below(1000)),
    }
}

/// A 20,000-line file and a copy with `edits` scattered small edits.
fn files(seed: u64, edits: usize) -> (Vec<String>, Vec<String>) {
    let mut rng = Rng(seed);
    let old: Vec<String> = (0..20_000).map(|i| code_line(&mut rng, i)).collect();
    let mut new = old.clone();
    for edit in 0..edits {
        let at = rng.below(new.len());
        let span = 1 + rng.below(3);
        let end = (at + span).min(new.len());
        match rng.below(3) {
            0 => drop(new.drain(at..end)),
            1 => new.insert(at, code_line(&mut rng, 100_000 + edit)),
            _ => drop(new.splice(at..end, [code_line(&mut rng, 200_000 + edit)])),
        }
    }
    (old, new)
}

/// The median duration of `runs` calls of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

#[test]
#[ignore = "timing; run in release with --ignored"]
fn histogram_on_20000_lines_is_fast() {
    let (old, new) = files(1, 300);
    let (old, new) = (old.concat(), new.concat());
    let histogram = median(31, || {
        let changes = xdiff::diff(old.as_bytes(), new.as_bytes(), Algorithm::Histogram).unwrap();
        assert!(changes.len() > 200);
    });
    let myers = median(31, || {
        xdiff::diff(old.as_bytes(), new.as_bytes(), Algorithm::Myers).unwrap();
    });
    let (_, theirs) = files(1, 600);
    let theirs = theirs.concat();
    let merge = median(31, || {
        let options = MergeOptions::default();
        xdiff::merge(old.as_bytes(), new.as_bytes(), theirs.as_bytes(), &options).unwrap();
    });
    println!("20,000 lines, 300 edits: histogram {histogram:?}, myers {myers:?}");
    println!("three-way merge (histogram, 300 and 600 edits): {merge:?}");
    if !cfg!(debug_assertions) {
        assert!(histogram < Duration::from_millis(10), "histogram took {histogram:?}");
    }
}
