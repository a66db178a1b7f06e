//! The report lives in the engine.

pub use crate::engine::report::*;
