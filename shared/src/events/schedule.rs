//! EventBridge scheduled events (`source: aws.events`, `detail-type: Scheduled Event`): the
//! trigger of the sweeps and audits that run on a timer.

use serde::Serialize;
use serde_json::Value;

use super::{envelope, validate_account_id, EventError};

pub const SOURCE: &str = "aws.events";
pub const DETAIL_TYPE: &str = "Scheduled Event";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduledEvent {
    /// The event id: the signal id of the run's report.
    pub id: String,
    pub account_id: String,
    pub region: String,
    pub time: String,
    /// The schedule rule's ARN.
    pub rule_arn: Option<String>,
}

impl ScheduledEvent {
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        let envelope = envelope(
            event,
            SOURCE,
            &[DETAIL_TYPE],
            "EventBridge scheduled events (source aws.events, detail-type \"Scheduled Event\")",
        )?;
        let account_id =
            envelope.account.ok_or_else(|| EventError::Malformed("scheduled event without an account".into()))?;
        validate_account_id("account", &account_id)?;
        Ok(Self {
            id: envelope.id.unwrap_or_default(),
            account_id,
            region: envelope.region.unwrap_or_default(),
            time: envelope.time.map(|t| t.to_rfc3339()).unwrap_or_default(),
            rule_arn: envelope.resources.and_then(|r| r.into_iter().next()),
        })
    }
}
