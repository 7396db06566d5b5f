//! Progress on stderr, only for people: nothing under a timer or a pipe.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a run goes before the spinner appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// A spinner for work that may be slow: it shows itself only after
/// [`SHOW_AFTER`], and only on a terminal, so fast runs and timers stay silent.
#[derive(Debug)]
pub struct Spinner {
    bar: Option<ProgressBar>,
    done: Arc<AtomicBool>,
}

impl Spinner {
    /// Starts a hidden spinner that shows itself after [`SHOW_AFTER`], if
    /// stderr is a terminal.
    pub fn start() -> Spinner {
        let done = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Spinner { bar: None, done };
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
        Spinner { bar: Some(bar), done }
    }

    /// Says what is being done (untrusted text is made terminal-safe).
    pub fn set(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(crate::support::escape::terminal_short(what.as_bytes(), 70));
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
