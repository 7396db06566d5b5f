//! Timing of rename detection on a few hundred candidates (run with
//! `cargo test --release -p betadrift-engine --test engine renames_speed -- --ignored --nocapture`).

use crate::renames_support;

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Instant;

use betadrift_engine::diffcore_rename::{
    BlobError, BlobSource, DirRelevance, Pair, RenameOptions, Side, SourceRelevance, detect_renames,
};
use git2::{ObjectType, Oid};
use renames_support::Rng;

/// Counts blob reads on the way to a map.
struct Counting {
    blobs: HashMap<Oid, Vec<u8>>,
    reads: usize,
}

impl BlobSource for Counting {
    fn blob(&mut self, oid: Oid) -> Result<Cow<'_, [u8]>, BlobError> {
        self.reads += 1;
        self.blobs.blob(oid)
    }

    fn size(&mut self, oid: Oid) -> Result<u64, BlobError> {
        Ok(self.blobs.blob(oid)?.len() as u64)
    }
}

/// A puppet-manifest-like file of 40-200 lines drawn from a shared pool.
fn manifest(rng: &mut Rng, pool: &[String]) -> String {
    (0..40 + rng.below(160)).map(|_| rng.pick(pool).as_str()).collect()
}

fn scenario(sources: usize, dests: usize) -> (Vec<Pair>, Counting) {
    let mut rng = Rng::new(42);
    let pool: Vec<String> = (0..500).map(|i| format!("  param_{i} => 'value {}',\n", i * 7)).collect();
    let mut blobs = HashMap::new();
    let mut side = |path: String, content: String| {
        let oid = Oid::hash_object(ObjectType::Blob, content.as_bytes()).unwrap();
        blobs.insert(oid, content.into_bytes());
        Side { path: path.into_bytes(), oid, mode: 0o100644 }
    };
    let mut queue = Vec::new();
    let mut originals = Vec::new();
    for i in 0..sources {
        let content = manifest(&mut rng, &pool);
        originals.push(content.clone());
        queue.push(Pair::Delete(side(format!("modules/old{}/manifests/m{i}.pp", i % 17), content)));
    }
    for i in 0..dests {
        // Half the sources reappear elsewhere with a tenth of their lines
        // rewritten; the other destinations are new files.
        let content = match originals.get(2 * i) {
            Some(original) => original
                .lines()
                .map(|line| if rng.chance(10) { format!("{line} # edited\n") } else { format!("{line}\n") })
                .collect(),
            None => manifest(&mut rng, &pool),
        };
        queue.push(Pair::Add(side(format!("modules/new{}/manifests/n{i}.pp", i % 23), content)));
    }
    queue.sort_by(|a, b| a.side().path.cmp(&b.side().path));
    (queue, Counting { blobs, reads: 0 })
}

#[test]
#[ignore = "timing report, not a check"]
fn report_speed() {
    for (sources, dests) in [(300, 400), (100, 300)] {
        let (queue, mut blobs) = scenario(sources, dests);
        let start = Instant::now();
        let found = detect_renames(&queue, &RenameOptions::diff(), None, None, &mut blobs).unwrap();
        println!(
            "plain: {sources} sources x {dests} destinations: {:?}, {} renames, {} blob reads",
            start.elapsed(),
            found.renames.len(),
            blobs.reads
        );
    }
    let (queue, mut blobs) = scenario(300, 400);
    let relevant: HashMap<Vec<u8>, SourceRelevance> = queue
        .iter()
        .filter(|p| matches!(p, Pair::Delete(_)))
        .take(5)
        .map(|p| (p.side().path.clone(), SourceRelevance::Content))
        .collect();
    let mut removed: HashMap<Vec<u8>, DirRelevance> = HashMap::new();
    let start = Instant::now();
    let found =
        detect_renames(&queue, &RenameOptions::merge_ort(), Some(&relevant), Some(&mut removed), &mut blobs).unwrap();
    println!(
        "merge-ort: 5 relevant of 300 sources x 400 destinations: {:?}, {} renames, {} blob reads",
        start.elapsed(),
        found.renames.len(),
        blobs.reads
    );
}
