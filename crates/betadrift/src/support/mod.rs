//! Small things every layer uses: escaping untrusted text, durable files,
//! the clock, progress bars and timing notes. Imports nothing of betadrift
//! but its error type.

pub mod clock;
pub mod escape;
pub mod files;
pub mod ids;
pub mod panics;
pub mod progress;
pub mod signals;
pub mod timing;
pub mod words;
