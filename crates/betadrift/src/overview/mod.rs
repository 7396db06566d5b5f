//! What the read-only commands gather about a checkout: its status (patches,
//! ages, upstream states, consent verdicts, dirty files) and, for `report`,
//! the facts of each configured repository. Rendering lives in `output`.

pub mod report;
pub mod status;
