//! Why close-open-ports looks at groups, and which: a finding, a CloudTrail record or the schedule.
//! Parsing and triage only, no AWS call.

use serde_json::Value;

use super::plan::PortsSkip;
use crate::engine::{triage, CommonConfig, Signal};
use crate::events::{self, EventError, GuardDutyFinding, ScheduledEvent, SecurityGroupApiCall};

/// The GuardDuty findings that show an instance probed or brute-forced from the internet.
pub const FINDING_TYPES: [&str; 3] = [
    "Recon:EC2/PortProbeUnprotectedPort",
    "UnauthorizedAccess:EC2/SSHBruteForce",
    "UnauthorizedAccess:EC2/RDPBruteForce",
];

#[derive(Debug, Clone, PartialEq)]
pub enum PortsTrigger {
    /// A GuardDuty finding: an instance probed or brute-forced from the internet.
    Finding(Box<GuardDutyFinding>),
    /// CloudTrail: someone opened or created a group.
    ApiCall(SecurityGroupApiCall),
    /// The schedule: every group in the region.
    Sweep(ScheduledEvent),
}

impl PortsTrigger {
    /// Parses any of the three events close-open-ports is delivered; no AWS call.
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        match event.get("source").and_then(Value::as_str) {
            Some(events::guardduty::SOURCE) => {
                let finding = GuardDutyFinding::from_event(event)?;
                if !FINDING_TYPES.contains(&finding.finding_type.as_str()) {
                    return Err(EventError::UnsupportedFinding {
                        finding_type: finding.finding_type,
                        resource_type: finding.resource.resource_type,
                        why: "close-open-ports acts on port-probe and SSH/RDP brute-force findings",
                    });
                }
                finding.ec2_instance()?;
                Ok(Self::Finding(Box::new(finding)))
            }
            Some(events::cloudtrail::SOURCE) => Ok(Self::ApiCall(SecurityGroupApiCall::from_event(event)?)),
            Some(events::schedule::SOURCE) => Ok(Self::Sweep(ScheduledEvent::from_event(event)?)),
            other => Err(EventError::WrongSource {
                event_source: other.unwrap_or_default().to_string(),
                detail_type: event.get("detail-type").and_then(Value::as_str).unwrap_or_default().to_string(),
                expected: "GuardDuty port-probe / brute-force findings, CloudTrail security group calls (aws.ec2) or a Scheduled Event",
            }),
        }
    }

    /// The header of the report: the finding, the API call (its CloudTrail event) or the schedule.
    pub fn signal(&self) -> Signal {
        match self {
            Self::Finding(finding) => finding.signal(),
            Self::ApiCall(call) => Signal {
                source: events::cloudtrail::SOURCE.into(),
                kind: call.event_name.clone(),
                id: call.event_id.clone(),
                account: call.account_id.clone(),
                region: call.region.clone(),
                delivered_by: call.delivered_by.clone(),
                time: None,
            },
            Self::Sweep(schedule) => Signal {
                source: events::schedule::SOURCE.into(),
                kind: events::schedule::DETAIL_TYPE.into(),
                id: schedule.id.clone(),
                account: schedule.account_id.clone(),
                region: schedule.region.clone(),
                delivered_by: None,
                time: Some(schedule.time.clone()),
            },
        }
    }

    /// What the report is about: the attacked instance, the group the call changed, or the region.
    pub fn resource(&self) -> String {
        match self {
            Self::Finding(finding) => {
                finding.resource.instance_details.as_ref().map(|d| d.instance_id.clone()).unwrap_or_default()
            }
            Self::ApiCall(call) => call.group_id.clone(),
            Self::Sweep(_) => "every security group in the region".into(),
        }
    }

    /// The checks that need no AWS call: a sample or low-severity finding (the common triage), or
    /// a call AWS refused, which opened nothing.
    pub fn triage(&self, common: &CommonConfig) -> Option<PortsSkip> {
        match self {
            Self::Finding(finding) => {
                triage::triage(common, finding.is_sample(), Some(finding.severity)).map(PortsSkip::Triage)
            }
            Self::ApiCall(call) => call
                .error_code
                .as_ref()
                .map(|code| PortsSkip::CallFailed { call: call.event_name.clone(), code: code.clone() }),
            Self::Sweep(_) => None,
        }
    }
}
