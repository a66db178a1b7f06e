//! Typed models of the events Firebreak reacts to, exactly as EventBridge delivers them.
//!
//! Parsing never calls AWS: a malformed, spoofed or unsupported event is rejected here with an
//! [`EventError`] before any client is touched.

pub mod actor;
pub mod cloudtrail;
pub mod cloudwatch;
pub mod ecs;
pub mod guardduty;
pub mod health;
pub mod imported;
pub mod lambda;
pub mod ocsf;
pub mod runtime;
pub mod schedule;
pub mod securityhub;
pub mod sequence;
pub mod timestamp;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;
use thiserror::Error;

pub use cloudtrail::SecurityGroupApiCall;
pub use cloudwatch::{AlarmKind, AlarmStateChange};
pub use guardduty::{GuardDutyFinding, ResourceRole};
pub use health::HealthEvent;
pub use ocsf::{OcsfEvent, OcsfFinding};
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

impl EventError {
    /// A field whose value is refused; the value is cut to 64 characters for the message.
    pub fn invalid(field: &'static str, value: &str, why: &'static str) -> Self {
        Self::InvalidField { field, value: value.chars().take(64).collect(), why }
    }

    /// A list longer than one invocation handles: refused whole, never half-done at random.
    pub fn too_many(field: &'static str, count: usize, why: &'static str) -> Self {
        Self::InvalidField { field, value: format!("{count} entries"), why }
    }
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

/// AWS Regions are `<area>-<place>-<digit>` (`us-east-1`, `eu-central-2`, `us-gov-west-1`). A
/// region names the endpoint the signed calls go to, so nothing else may ever reach a client.
pub fn validate_region(field: &'static str, value: &str) -> Result<(), EventError> {
    let parts: Vec<&str> = value.split('-').collect();
    let valid = value.len() <= 32
        && parts.len() >= 3
        && parts.last().is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()));
    if valid {
        Ok(())
    } else {
        Err(EventError::InvalidField {
            field,
            value: value.chars().take(64).collect(),
            why: "an AWS Region looks like us-east-1",
        })
    }
}

/// The ARN partition of a Region: `aws-cn` in China, `aws-us-gov` in GovCloud, else `aws`.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The account and region an ARN names (`arn:<partition>:<service>:<region>:<account>:...`),
/// when it names them (IAM ARNs name no region).
pub fn arn_account_region(arn: &str) -> Option<(Option<&str>, Option<&str>)> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let (_, _, region, account) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    parts.next()?;
    Some(((!account.is_empty()).then_some(account), (!region.is_empty()).then_some(region)))
}

#[cfg(test)]
mod region_tests {
    use super::*;

    #[test]
    fn regions_and_arns() {
        for good in ["us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-5"] {
            assert!(validate_region("region", good).is_ok(), "{good}");
        }
        for bad in ["", "global", "us-east", "evil.example.com/x", "US-EAST-1", "us-east-1a", "-1"] {
            assert!(validate_region("region", bad).is_err(), "{bad}");
        }
        let arn = "arn:aws:ec2:eu-west-1:222222222222:instance/i-0abc";
        assert_eq!(arn_account_region(arn), Some((Some("222222222222"), Some("eu-west-1"))));
        assert_eq!(arn_account_region("arn:aws:iam::222222222222:user/x"), Some((Some("222222222222"), None)));
        assert_eq!(arn_account_region("i-0abc"), None);
    }
}
