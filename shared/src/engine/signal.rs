//! The signal a report answers: what said something was wrong, about which account and region.

use serde::{Deserialize, Serialize};

/// The header of every report, whatever set it off: a GuardDuty or Security Hub finding, an AWS
/// Health notice, an alarm, a CloudTrail record or a schedule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// The EventBridge source (`aws.guardduty`, `aws.health`, `aws.cloudwatch`, `aws.ec2`,
    /// `aws.securityhub`, `aws.events`).
    pub source: String,
    /// What kind of signal: the finding type, Health event type code, alarm name, API call or
    /// schedule rule.
    pub kind: String,
    /// Its own id (finding id, Health event ARN, alarm ARN and time, CloudTrail event id, schedule
    /// event id): the case id derives from it, so a redelivered signal lands in the same case.
    pub id: String,
    /// The account and region the signal is about (not the ones that delivered it).
    pub account: String,
    pub region: String,
    /// The account whose event bus received the event (the EventBridge envelope's `account`),
    /// when it is not the account the signal is about: a GuardDuty or Security Hub administrator,
    /// a Health organisational view. Only that account itself or the function's own may deliver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_by: Option<String>,
    /// When the signal says it happened, as it says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}
