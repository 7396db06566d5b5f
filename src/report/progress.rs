//! A spinner on stderr for slow interactive runs, and nothing otherwise.
//!
//! Under the timer stderr is the journal: a progress bar there is noise. On
//! a terminal a report that takes more than a second says what it is reading,
//! so nobody wonders whether it hung. Data never goes to stderr.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a run goes before the spinner appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// The spinner of one report run.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    done: Arc<AtomicBool>,
}

impl Progress {
    /// Starts a hidden spinner that shows itself after [`SHOW_AFTER`], if
    /// stderr is a terminal.
    pub fn start() -> Progress {
        let done = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None, done };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        // No colour in the template: NO_COLOR or not, the spinner is plain.
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"));
        let (shown, flag) = (bar.clone(), done.clone());
        std::thread::spawn(move || {
            std::thread::sleep(SHOW_AFTER);
            if !flag.load(Ordering::SeqCst) && !shown.is_finished() {
                shown.set_draw_target(ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Progress { bar: Some(bar), done }
    }

    /// Says which repository is being read.
    pub fn set(&self, repo: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("reading {}", crate::sanitize::terminal_short(repo.as_bytes(), 60)));
        }
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
