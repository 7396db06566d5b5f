//! Progress on stderr, only for people: nothing under a timer or a pipe.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

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
