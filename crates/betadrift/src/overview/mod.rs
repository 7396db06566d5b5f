//! What the read-only commands gather about a checkout: its status (patches,
//! ages, upstream states, consent verdicts, dirty files) and, for `report`,
//! the facts of each configured repository and who to tell about them. Rendering lives in `output`.

pub mod owners;
pub mod report;
pub mod status;
