//! The machinery every capability shares, written once.
//!
//! A capability (quarantine, revoke, ports, posture) supplies three things: its [`Action`]s, a
//! pure `decide` that turns what it read into a [`Plan`] of them, and an [`Execute`] that carries
//! out one action. Everything else is here: running the plan ([`run()`]: skip, dry run, deadline,
//! retries, one JSON log line per step, stages in order and steps of a stage side by side), the
//! [`Report`] and its one outcome rule, the [`Signal`] every report names, the common
//! configuration and triage, and the errors a function returns to Lambda.

pub mod config;
pub mod error;
pub mod metrics;
pub mod report;
pub mod run;
pub mod signal;
pub mod step;
pub mod triage;

pub use config::{CommonConfig, ConfigError};
pub use error::FunctionError;
pub use report::{Outcome, Report, StepOutcome, StepReport};
pub use run::{run, Acted, Execute, Progress};
pub use signal::Signal;
pub use step::{Action, Decision, Phase, Plan, Planned, Requirement};
pub use triage::Skip;
