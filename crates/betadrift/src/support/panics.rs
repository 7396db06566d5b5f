//! Panics are bugs. Where one input must not stop the others (each
//! repository of `report`), a panic is contained and becomes that input's
//! error; anywhere else it ends the command with one line on stderr and its
//! own exit code, as [`crate::error::Error::Internal`], never mistaken for
//! bad input. The panic hook keeps the message instead of printing a
//! multi-line report (set `RUST_BACKTRACE` to see git-style detail).

use std::panic::{AssertUnwindSafe, PanicHookInfo};
use std::sync::Mutex;

/// The environment variable the tests set to make betadrift fail at a
/// named point: `panic:<point>` panics there (see [`panic_point`]); the
/// rewrite's crash points take a step name (`rewrite::fault_point`).
pub const FAULT_ENV: &str = "BETADRIFT_FAULT";

/// The last panic's message and place, for the one-line report.
static LAST: Mutex<Option<String>> = Mutex::new(None);

/// Replaces the default panic hook: the message and place are kept for
/// [`catch`], and printed only when `RUST_BACKTRACE` asks for detail.
pub fn install_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut last) = LAST.lock() {
            *last = Some(describe(info));
        }
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            default(info);
        }
    }));
}

fn describe(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    match info.location() {
        Some(at) => format!("{message} (at {}:{})", at.file(), at.line()),
        None => message,
    }
}

/// Runs `f`; a panic inside it comes back as `Err` with its message.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let recorded = LAST.lock().ok().and_then(|mut last| last.take());
        recorded.unwrap_or_else(|| {
            payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned())
        })
    })
}

/// Panics when `BETADRIFT_FAULT` is `panic:<point>`: how the tests show that
/// a bug at that point is contained or reported, not how betadrift works.
pub fn panic_point(point: &str) {
    if std::env::var(FAULT_ENV).is_ok_and(|v| v.strip_prefix("panic:") == Some(point)) {
        panic!("BETADRIFT_FAULT asked for a panic at {point}");
    }
}
