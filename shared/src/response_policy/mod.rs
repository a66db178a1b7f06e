//! The response policy: who decides, per signal. An ordered list of rules, first match wins, each
//! giving a mode — `contain` (act now), `approve` (ask a human first), `observe` (plan and record
//! only) — and optional overrides of the action settings. Pure: no AWS call. The document is JSON,
//! validated strictly (unknown keys, bad globs and durations, unreachable rules), every error
//! naming its line and column. See docs/response-policy.md. (Named so as not to clash with
//! [`crate::policy`], which is IAM policy documents.)

mod decide;
mod document;
mod glob;
mod locate;
mod overrides;
mod sample;

pub(crate) use sample::resource_tags;
mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::time::Duration;

use thiserror::Error;

use crate::engine::config::ConfigError;

pub use decide::{PolicyDecision, PolicyInput};
pub use document::{Match, Mode, OnTimeout, Overrides, Rule, Severity};
pub use overrides::{set as set_override, Overridable};

/// The mode of signals no rule matches (and of every signal when there is no policy).
pub const DEFAULT_MODE: &str = "FIREBREAK_DEFAULT_MODE";

/// The functions a rule's `function` may name (the folders of `functions/` and `events/`).
pub const FUNCTIONS: [&str; 9] = [
    "quarantine-instance",
    "revoke-credentials",
    "close-open-ports",
    "audit-posture",
    "abuse-report",
    "release",
    "contain-lambda",
    "quarantine-task",
    "contain-bucket",
];

#[derive(Debug, Error, PartialEq)]
pub enum PolicyError {
    #[error("cannot read {path}: {why}")]
    Read { path: String, why: String },
    /// Syntax, a wrong type or an unknown key, as serde_json reports them.
    #[error("line {line}, column {column}: {message}")]
    Document { line: usize, column: usize, message: String },
    /// A rule that parses but makes no sense; `line`/`column` are where the rule (or its field)
    /// starts in the text.
    #[error("line {line}, column {column}: rule {index} {name:?}: {message}")]
    Rule { index: usize, name: String, line: usize, column: usize, message: String },
}

/// A validated policy, ready to decide.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub rules: Vec<Rule>,
    /// The document's `default_mode`, else `FIREBREAK_DEFAULT_MODE`.
    pub default_mode: Mode,
    /// Where the default came from, for the explanation.
    default_from: &'static str,
    /// Each rule's `approve_within`, parsed.
    windows: Vec<Option<Duration>>,
}

impl Policy {
    /// No policy: every signal gets the default mode (today's behaviour with `contain`).
    pub fn none(default_mode: Mode) -> Self {
        Self { rules: Vec::new(), default_mode, default_from: DEFAULT_MODE, windows: Vec::new() }
    }

    /// Parses and validates a JSON policy document. (Not `parse`: the infra check would take every
    /// `.parse()` in a function for a call of it.) `default_mode` (from `FIREBREAK_DEFAULT_MODE`)
    /// applies unless the document sets its own.
    pub fn from_json(text: &str, default_mode: Mode) -> Result<Self, PolicyError> {
        let document: document::Document = serde_json::from_str(text).map_err(|e| PolicyError::Document {
            line: e.line(),
            column: e.column(),
            message: without_position(&e),
        })?;
        let windows = validate::validate(text, &document.rules)?;
        let (default_mode, default_from) = match document.default_mode {
            Some(mode) => (mode, "the policy's default_mode"),
            None => (default_mode, DEFAULT_MODE),
        };
        Ok(Self { rules: document.rules, default_mode, default_from, windows })
    }

    /// Reads a policy file (the emulator's; deployed functions will read an SSM parameter).
    pub fn from_file(path: &Path, default_mode: Mode) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PolicyError::Read { path: path.display().to_string(), why: e.to_string() })?;
        Self::from_json(&text, default_mode)
    }
}

/// `FIREBREAK_DEFAULT_MODE`: `contain`, `approve` or `observe`; unset or empty means `contain`.
pub fn default_mode(lookup: impl Fn(&str) -> Option<String>) -> Result<Mode, ConfigError> {
    match lookup(DEFAULT_MODE).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(Mode::Contain),
        Some(v) if v.is_empty() => Ok(Mode::Contain),
        Some(v) => Mode::parse(&v).ok_or(ConfigError::Invalid {
            name: DEFAULT_MODE,
            value: v,
            why: "expected contain, approve or observe",
        }),
    }
}

/// serde_json appends " at line L column C" to its messages; the error carries them already.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}

#[cfg(test)]
mod function_list {
    /// Every function a policy can name is a crate in functions/ (the canary acts on nothing and
    /// is the one left out), so a new function cannot be forgotten here.
    #[test]
    fn names_every_function_that_acts() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
        let mut crates: Vec<String> = std::fs::read_dir(dir)
            .expect("functions/")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name != "canary")
            .collect();
        crates.sort();
        let mut listed: Vec<String> = super::FUNCTIONS.iter().map(|f| f.to_string()).collect();
        listed.sort();
        assert_eq!(listed, crates);
    }
}
