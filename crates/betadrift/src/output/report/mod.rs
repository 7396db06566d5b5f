//! The report's renderers, one per format, over one view of the facts.

pub mod html;
pub mod json;
pub mod markdown;
pub mod prometheus;
pub mod text;
pub mod view;
