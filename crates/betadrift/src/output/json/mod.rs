//! The JSON documents betadrift prints: `status --json`, `check --json`,
//! `sync --dry-run --json`, `pick --dry-run --json`,
//! `consent list|explain --json` and `report --format json`. Every wire type
//! is defined once, here; each document carries its `schema_version` and is
//! documented in docs/json.md, docs/consent.md and docs/report.md. Tests
//! deserialize them strictly (`deny_unknown_fields`).

pub mod check;
pub mod common;
pub mod consent;
pub mod held_back;
pub mod pick;
pub mod report;
pub mod status;
pub mod sync;
