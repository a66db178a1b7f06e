//! What to quarantine and why, from whichever signal named the instance.

use std::fmt;

use serde::Serialize;

use super::config::QuarantineConfig;
use crate::engine::{triage, Signal};
use crate::events::{EventError, GuardDutyFinding, ResourceRole};

/// Every signal — a GuardDuty finding, a Health abuse report, a traffic alarm, a Security Hub
/// action, a credential-exfiltration finding — becomes one of these, so that they all go through
/// the same plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantineRequest {
    pub instance_id: String,
    /// The signal, whose account and region are the instance's.
    pub signal: Signal,
    /// VPCs the signal says the instance is in: a hint that lets the isolation groups be read
    /// while the instance itself is read. The instance's real interfaces decide.
    pub vpc_hints: Vec<String>,
}

impl QuarantineRequest {
    /// The request for the instance a GuardDuty EC2 finding names (validated).
    pub fn from_finding(finding: &GuardDutyFinding) -> Result<Self, EventError> {
        Ok(Self {
            instance_id: finding.ec2_instance()?.instance_id.clone(),
            signal: finding.signal(),
            vpc_hints: finding.vpc_ids(),
        })
    }
}

/// Why a signal leads to no quarantine. Each is reported, never silent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// The instance was attacked, not the attacker: exposed, not shown to be compromised.
    TargetNotCompromised,
    InstanceGone {
        state: String,
    },
    /// The common rules: a sample finding, below the severity threshold, exempt by tag.
    #[serde(untagged)]
    Triage(triage::Skip),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Triage(skip) => skip.fmt(f),
            Self::TargetNotCompromised => write!(
                f,
                "the instance is the TARGET of this activity, not its actor: exposed, not shown to be compromised (close-open-ports handles exposure)"
            ),
            Self::InstanceGone { state } => write!(f, "the instance is {state}: nothing left to contain"),
        }
    }
}

/// Checks that need no AWS call: is the finding one this function handles, and does it warrant
/// action at all. An unsupported finding is an error; a low-severity one is a skip.
pub fn triage(finding: &GuardDutyFinding, config: &QuarantineConfig) -> Result<Option<SkipReason>, EventError> {
    // An attack sequence names its instances elsewhere; it has no resource role, and the common
    // rules (sample, severity, the response policy's type globs) apply to it like any finding.
    if finding.is_attack_sequence() {
        finding.sequence_instances()?;
    } else {
        finding.ec2_instance()?;
    }
    if let Some(skip) = triage::triage(&config.common, finding.is_sample(), Some(finding.severity)) {
        return Ok(Some(SkipReason::Triage(skip)));
    }
    if finding.resource_role() == ResourceRole::Target {
        return Ok(Some(SkipReason::TargetNotCompromised));
    }
    Ok(None)
}
