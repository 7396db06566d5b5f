//! Phase timings on stderr when `BETADRIFT_TIMING` is set, to see where a
//! slow run spends its time without a profiler.

use std::sync::OnceLock;
use std::time::Instant;

/// A running phase; prints its duration when dropped.
#[derive(Debug)]
pub struct Phase {
    name: &'static str,
    start: Option<Instant>,
}

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("BETADRIFT_TIMING").is_some())
}

/// Starts timing `name`.
pub fn phase(name: &'static str) -> Phase {
    Phase { name, start: enabled().then(Instant::now) }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some(start) = self.start {
            eprintln!("timing: {:<28} {:>8.1} ms", self.name, start.elapsed().as_secs_f64() * 1000.0);
        }
    }
}
