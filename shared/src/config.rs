//! Where the configuration lives now: the common part in the engine, each capability's own in
//! its folder.

pub use crate::engine::config::*;
pub use crate::quarantine::config::*;
