//! Typed models of the events Firebreak reacts to, exactly as EventBridge delivers them.
//!
//! Parsing never calls AWS: a malformed, spoofed or unsupported event is rejected here with an
//! [`EventError`] before any client is touched.

pub mod cloudtrail;
pub mod cloudwatch;
pub mod guardduty;
pub mod health;
pub mod schedule;
pub mod securityhub;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;
use thiserror::Error;

pub use cloudtrail::SecurityGroupApiCall;
pub use cloudwatch::{AlarmKind, AlarmStateChange};
pub use guardduty::{GuardDutyFinding, ResourceRole};
pub use health::HealthEvent;
pub use schedule::ScheduledEvent;
pub use securityhub::{AsffFinding, CustomAction, SecurityHubEvent, Trigger};

/// Why an event was refused. Each variant names what was wrong so that an on-call engineer reading
/// the Lambda error (or the dead-letter queue) knows which event to fix or which rule misroutes.
#[derive(Debug, Error, PartialEq)]
pub enum EventError {
    #[error("malformed event: {0}")]
    Malformed(String),
    #[error(
        "unexpected event source {event_source:?} / detail-type {detail_type:?}: this function accepts {expected}"
    )]
    WrongSource { event_source: String, detail_type: String, expected: &'static str },
    #[error("unsupported finding type {finding_type:?} on resource type {resource_type:?}: {why}")]
    UnsupportedFinding { finding_type: String, resource_type: String, why: &'static str },
    #[error("invalid {field}: {value:?} ({why})")]
    InvalidField { field: &'static str, value: String, why: &'static str },
}

/// Splits the EventBridge envelope from its `detail` and checks where the event came from.
pub(crate) fn envelope(
    event: &Value,
    source: &str,
    detail_types: &[&str],
    expected: &'static str,
) -> Result<EventBridgeEvent<Value>, EventError> {
    let envelope: EventBridgeEvent<Value> = serde_json::from_value(event.clone())
        .map_err(|e| EventError::Malformed(format!("not an EventBridge event: {e}")))?;
    if envelope.source != source || !detail_types.contains(&envelope.detail_type.as_str()) {
        return Err(EventError::WrongSource {
            event_source: envelope.source,
            detail_type: envelope.detail_type,
            expected,
        });
    }
    Ok(envelope)
}

/// AWS account ids are exactly twelve digits.
pub fn validate_account_id(field: &'static str, value: &str) -> Result<(), EventError> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(EventError::InvalidField { field, value: value.to_string(), why: "an AWS account id is 12 digits" })
    }
}

/// EC2 instance ids are `i-` followed by 8 or 17 lowercase hex digits. Checking the shape keeps an
/// injected value (`i-../`, `sg-...`, a filter expression) from ever reaching an API call.
pub fn validate_instance_id(value: &str) -> Result<(), EventError> {
    validate_ec2_id("instance id", "i-", value)
}

/// Any EC2 resource id of the form `<prefix><8 or 17 hex digits>` (`eni-`, `vpc-`, `sg-`, `vol-`).
pub fn validate_ec2_id(field: &'static str, prefix: &str, value: &str) -> Result<(), EventError> {
    let valid = value.strip_prefix(prefix).is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17) && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if valid {
        Ok(())
    } else {
        Err(EventError::InvalidField {
            field,
            value: value.chars().take(64).collect(),
            why: "not a well-formed EC2 resource id",
        })
    }
}
