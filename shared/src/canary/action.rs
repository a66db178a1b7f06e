//! The canary's steps: the rules and each account's detector checked, a sample finding asked
//! for in each account, then one wait for Firebreak's reports of them.

use std::fmt;

use serde::Serialize;

use crate::engine::{self, Plan, Planned};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Check,
    Sample,
    Await,
}

impl engine::Phase for Phase {
    fn stage(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CanaryAction {
    /// The EventBridge rule exists and is enabled.
    CheckRule { name: String },
    /// The account has a GuardDuty detector, enabled, in the region.
    CheckDetector { account: String, region: String },
    /// GuardDuty CreateSampleFindings for one EC2 finding type quarantine-instance receives.
    CreateSampleFinding { account: String, region: String },
    /// quarantine-instance reported every sample asked for, within the wait.
    AwaitReports { region: String },
}

impl engine::Action for CanaryAction {
    type Phase = Phase;
    const CONTAINS: bool = false;

    fn name(&self) -> &'static str {
        match self {
            Self::CheckRule { .. } => "check_rule",
            Self::CheckDetector { .. } => "check_guardduty_detector",
            Self::CreateSampleFinding { .. } => "create_sample_finding",
            Self::AwaitReports { .. } => "await_reports",
        }
    }

    fn phase(&self) -> Phase {
        match self {
            Self::CheckRule { .. } | Self::CheckDetector { .. } => Phase::Check,
            Self::CreateSampleFinding { .. } => Phase::Sample,
            Self::AwaitReports { .. } => Phase::Await,
        }
    }

    fn resource(&self) -> String {
        match self {
            Self::CheckRule { name } => name.clone(),
            Self::CheckDetector { account, region } | Self::CreateSampleFinding { account, region } => {
                format!("{account}/{region}")
            }
            Self::AwaitReports { region } => format!("reports in {region}"),
        }
    }

    fn is_containment(&self) -> bool {
        false
    }
}

impl fmt::Display for CanaryAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CheckRule { name } => write!(f, "check that rule {name} is enabled"),
            Self::CheckDetector { account, region } => {
                write!(f, "check the GuardDuty detector of {account} in {region}")
            }
            Self::CreateSampleFinding { account, region } => {
                write!(f, "create a sample {} finding in {account}/{region}", super::SAMPLE_FINDING_TYPE)
            }
            Self::AwaitReports { region } => {
                write!(f, "wait for quarantine-instance's reports of the samples ({region})")
            }
        }
    }
}

/// Every rule, then each account's detector and sample, then the one wait.
pub fn plan(case_id: &str, rules: &[String], accounts: &[String], region: &str) -> Plan<CanaryAction> {
    let mut steps: Vec<Planned<CanaryAction>> =
        rules.iter().map(|name| Planned::act(CanaryAction::CheckRule { name: name.clone() })).collect();
    for account in accounts {
        let (account, region) = (account.clone(), region.to_string());
        steps.push(Planned::act(CanaryAction::CheckDetector { account: account.clone(), region: region.clone() }));
        steps.push(Planned::act(CanaryAction::CreateSampleFinding { account, region }));
    }
    steps.push(Planned::act(CanaryAction::AwaitReports { region: region.to_string() }));
    Plan { title: format!("canary: {} account(s) in {region}", accounts.len()), case_id: case_id.to_string(), steps }
}
