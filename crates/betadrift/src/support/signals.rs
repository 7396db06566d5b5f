//! SIGINT and SIGTERM while a rewrite holds the checkout.
//!
//! Outside a rewrite the default applies: Ctrl-C ends betadrift at once,
//! and nothing is lost because nothing is being written. While a rewrite
//! runs, an [`Interrupts`] guard records the signal instead, and the
//! rewrite looks at it between steps: before the branch moves it rolls the
//! step back, after that it finishes the step it is in, and either way it
//! says in one line what state the checkout is in. The guard ends when it
//! is dropped; a signal that arrives after that kills as usual.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use signal_hook::consts::{SIGINT, SIGTERM};

/// A signal that asks betadrift to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    /// Its number, for exit codes (128 + number, as shells report).
    pub fn number(self) -> i32 {
        match self {
            Signal::Interrupt => SIGINT,
            Signal::Terminate => SIGTERM,
        }
    }

    /// Its name: `SIGINT`, `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    fn from_number(n: usize) -> Option<Signal> {
        match i32::try_from(n).ok()? {
            SIGINT => Some(Signal::Interrupt),
            SIGTERM => Some(Signal::Terminate),
            _ => None,
        }
    }

    /// The exit code of a process it ended: 128 + its number (130, 143).
    pub fn exit_code(self) -> u8 {
        u8::try_from(128 + self.number()).unwrap_or(2)
    }

    /// Sends this signal to process `pid` (the post-update command, when
    /// betadrift alone was signalled, as systemd's `KillMode=mixed` does).
    pub fn send_to(self, pid: u32) {
        let signal = match self {
            Signal::Interrupt => rustix::process::Signal::INT,
            Signal::Terminate => rustix::process::Signal::TERM,
        };
        if let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, signal);
        }
    }

    /// Sends this signal to betadrift itself.
    pub fn raise(self) {
        self.send_to(std::process::id());
    }
}

/// Sends `signal` to betadrift itself and waits (up to a second) until a
/// live [`Interrupts`] guard has recorded it: the tests' fault points
/// interrupt at an exact step this way.
pub fn raise_and_wait(signal: Signal) {
    signal.raise();
    let received = &handlers().received;
    for _ in 0..200 {
        if received.load(Ordering::SeqCst) != 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The process-wide handlers, installed once: they record the signal
/// while a guard lives and act as the default (end the process) otherwise.
/// (Handlers are never removed: signal-hook cannot restore the default
/// disposition, so "inactive" emulates it.)
#[derive(Debug)]
struct Handlers {
    received: Arc<AtomicUsize>,
    inactive: Arc<AtomicBool>,
}

fn handlers() -> &'static Handlers {
    static HANDLERS: OnceLock<Handlers> = OnceLock::new();
    HANDLERS.get_or_init(|| {
        let handlers = Handlers { received: Arc::new(AtomicUsize::new(0)), inactive: Arc::new(AtomicBool::new(true)) };
        for sig in [SIGINT, SIGTERM] {
            let value = usize::try_from(sig).unwrap_or_default();
            // If a handler cannot be installed the signal stays fatal, as
            // before: the rewrite is still crash-safe, only less polite.
            let _ = signal_hook::flag::register_conditional_default(sig, Arc::clone(&handlers.inactive))
                .and_then(|_| signal_hook::flag::register_usize(sig, Arc::clone(&handlers.received), value));
        }
        handlers
    })
}

/// While alive, SIGINT and SIGTERM are recorded, not fatal. One at a time:
/// rewrites do not nest.
#[derive(Debug)]
pub struct Interrupts {
    handlers: &'static Handlers,
}

impl Interrupts {
    /// Starts recording SIGINT and SIGTERM.
    pub fn record() -> Interrupts {
        let handlers = handlers();
        handlers.received.store(0, Ordering::SeqCst);
        handlers.inactive.store(false, Ordering::SeqCst);
        Interrupts { handlers }
    }

    /// The signal received so far, if any (the last, if several: either
    /// means "stop").
    pub fn received(&self) -> Option<Signal> {
        Signal::from_number(self.handlers.received.load(Ordering::SeqCst))
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        self.handlers.inactive.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_is_recorded_while_the_guard_lives() {
        let guard = Interrupts::record();
        assert_eq!(guard.received(), None);
        Signal::Terminate.raise();
        // Delivery to this process is synchronous for a signal sent to itself
        // on Linux, but give the handler a moment on other threads.
        for _ in 0..100 {
            if guard.received().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(guard.received(), Some(Signal::Terminate));
        assert_eq!(Signal::Terminate.number(), 15);
        assert_eq!(Signal::Interrupt.name(), "SIGINT");
    }
}
