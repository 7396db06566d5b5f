//! Progress on stderr, only for people: nothing under a timer or a pipe.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress counter that stays silent unless stderr is a terminal.
#[derive(Debug)]
pub struct Counter {
    bar: ProgressBar,
}

/// Starts a counter labelled `label`.
pub fn counter(label: &str) -> Counter {
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template("{msg} {pos}/{len} objects {wide_bar}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(label.to_owned());
        bar
    } else {
        ProgressBar::hidden()
    };
    Counter { bar }
}

impl Counter {
    /// Records progress: `done` of `total`.
    pub fn update(&self, done: usize, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

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
