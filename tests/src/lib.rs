//! Test harness: a real moto server on 127.0.0.1, one per test, and a realistic compromised
//! instance built inside it.

pub mod faults;
pub mod moto;
pub mod scenario;

pub use moto::Moto;
pub use scenario::{CompromisedInstance, Scenario};

use std::path::PathBuf;

/// The workspace root (where `events/` and `.venv/` live).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A sample event, `events/<function>/<name>`, parsed: `sample_event("quarantine-instance/x.json")`.
pub fn sample_event(name: &str) -> serde_json::Value {
    let path = workspace_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}
