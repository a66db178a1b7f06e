//! The audit's steps, as the engine runs them.
//!
//! 1. **Read** — one step per check: read what it needs (each source once, see `observe`) and
//!    evaluate it; beside them, read the findings earlier runs imported.
//! 2. **Import** — import every gap's finding and resolve those whose gap is gone.
//!
//! Nothing here contains a threat: the outcome is `completed` or `completed_with_errors`. Every
//! step runs in a dry run too (reads change nothing; the import then says what it would import).

use std::fmt;

use serde::Serialize;

use super::checks::Check;
use crate::case::case_id_for;
use crate::engine::{self, Plan, Planned};
use crate::events::ScheduledEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Read,
    Import,
}

impl engine::Phase for Phase {
    fn stage(self) -> u8 {
        match self {
            Self::Read => 0,
            Self::Import => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PostureAction {
    /// Read what the check needs and evaluate it; its step is named after the check.
    Check { check: Check, account_id: String, region: String },
    /// The ACTIVE findings earlier runs imported: their CreatedAt is kept, closed gaps resolve.
    ReadPreviousFindings { account_id: String },
    /// Every gap's finding, and the resolution of each earlier finding whose gap is gone.
    ImportFindings { account_id: String, region: String },
}

impl engine::Action for PostureAction {
    type Phase = Phase;
    const CONTAINS: bool = false;

    fn name(&self) -> &'static str {
        match self {
            Self::Check { check, .. } => check.slug(),
            Self::ReadPreviousFindings { .. } => "read_previous_findings",
            Self::ImportFindings { .. } => "import_findings",
        }
    }

    fn phase(&self) -> Phase {
        match self {
            Self::Check { .. } | Self::ReadPreviousFindings { .. } => Phase::Read,
            Self::ImportFindings { .. } => Phase::Import,
        }
    }

    fn resource(&self) -> String {
        match self {
            Self::Check { account_id, region, .. } => format!("account {account_id} in {region}"),
            Self::ReadPreviousFindings { .. } | Self::ImportFindings { .. } => "securityhub".into(),
        }
    }

    fn is_containment(&self) -> bool {
        false
    }

    /// Reads change nothing, and the import's own dry run says what it would import.
    fn plans_itself(&self) -> bool {
        true
    }
}

impl fmt::Display for PostureAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Check { check, account_id, region } => write!(f, "check {check} in account {account_id}, {region}"),
            Self::ReadPreviousFindings { account_id } => {
                write!(f, "read the ACTIVE audit-posture findings of account {account_id}")
            }
            Self::ImportFindings { .. } => write!(f, "import the gaps' findings and resolve the closed ones"),
        }
    }
}

/// The same plan every run: every check, then the import. Pure.
pub fn plan(event: &ScheduledEvent) -> Plan<PostureAction> {
    let (account_id, region) = (event.account_id.clone(), event.region.clone());
    let mut steps: Vec<Planned<PostureAction>> = Check::ALL
        .into_iter()
        .map(|check| {
            Planned::act(PostureAction::Check { check, account_id: account_id.clone(), region: region.clone() })
        })
        .collect();
    steps.push(Planned::act(PostureAction::ReadPreviousFindings { account_id: account_id.clone() }));
    steps.push(Planned::act(PostureAction::ImportFindings { account_id: account_id.clone(), region: region.clone() }));
    Plan { title: format!("audit account {account_id} in {region}"), case_id: case_id_for(&event.id), steps }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;

    #[test]
    fn every_check_then_the_import_in_two_stages() {
        let event = ScheduledEvent {
            id: "9a1e7c44".into(),
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            time: String::new(),
            rule_arn: None,
        };
        let plan = plan(&event);
        let names: Vec<&str> = plan.steps.iter().map(|s| s.action.name()).collect();
        let mut expected: Vec<&str> = Check::ALL.iter().map(|c| c.slug()).collect();
        expected.extend(["read_previous_findings", "import_findings"]);
        assert_eq!(names, expected);
        assert!(plan.steps.iter().all(|s| s.skip.is_none() && !s.action.is_containment()));
        assert_eq!(plan.step("import_findings").map(|s| s.action.phase()), Some(Phase::Import));
        assert_eq!(plan.steps[0].action.resource(), "account 123456789012 in us-east-1");
        assert_eq!(plan.case_id, case_id_for("9a1e7c44"));
        assert!(plan.to_string().contains("[read] check guardduty-enabled in account 123456789012, us-east-1"));
    }
}
