//! The trigger: a GuardDuty Lambda Protection finding → the function to contain, validated with
//! no AWS call; and the common triage (sample, severity).

use std::fmt;

use serde::Serialize;

use crate::engine::triage::{self, Skip};
use crate::engine::{CommonConfig, Signal};
use crate::events::lambda::LambdaFunction;
use crate::events::{EventError, GuardDutyFinding};

/// One function to contain, from one finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LambdaRequest {
    pub signal: Signal,
    pub function: LambdaFunction,
}

impl LambdaRequest {
    pub fn from_finding(finding: &GuardDutyFinding) -> Result<Self, EventError> {
        Ok(Self { signal: finding.signal(), function: finding.lambda_function()? })
    }
}

/// Why a function is left alone. Each is reported, never silent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum LambdaSkip {
    /// The common rules: a sample finding, below the severity threshold, exempt by tag.
    Triage(Skip),
}

impl fmt::Display for LambdaSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Triage(skip) => skip.fmt(f),
        }
    }
}

/// Sample and severity, before anything is read.
pub fn triage(config: &CommonConfig, finding: &GuardDutyFinding) -> Option<LambdaSkip> {
    triage::triage(config, finding.is_sample(), Some(finding.severity)).map(LambdaSkip::Triage)
}
