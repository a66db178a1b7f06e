//! Telling people: one concise, human-readable summary per remediation on an SNS topic, with the
//! full JSON report attached as a message attribute (e-mail subscribers read the text; automation
//! subscribed through SQS or Lambda reads the attribute).

use aws_sdk_sns::types::MessageAttributeValue;

use crate::aws::{AwsError, AwsResultExt};
use crate::engine::config::{flag, ConfigError};

pub const SNS_TOPIC_ARN: &str = "FIREBREAK_SNS_TOPIC_ARN";
pub const SECURITY_HUB: &str = "FIREBREAK_SECURITY_HUB";

/// The message attribute that carries the JSON report.
pub const REPORT_ATTRIBUTE: &str = "firebreak.report";
/// SNS refuses messages (body plus attributes) over 256 KiB; the report is cut to fit.
const MAX_REPORT_BYTES: usize = 200 * 1024;

/// Where Firebreak reports what it did, besides its own logs and return value.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyConfig {
    /// SNS topic for summaries; none: no notification.
    pub sns_topic_arn: Option<String>,
    /// Write back to Security Hub: update the originating finding, import our own for signals
    /// that are not findings.
    pub security_hub: bool,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self { sns_topic_arn: None, security_hub: true }
    }
}

impl NotifyConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            sns_topic_arn: sns_topic_arn(&lookup)?,
            security_hub: flag(SECURITY_HUB, lookup(SECURITY_HUB), true)?,
        })
    }
}

/// `FIREBREAK_SNS_TOPIC_ARN`, validated; unset or empty means no notification.
pub fn sns_topic_arn(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    match lookup(SNS_TOPIC_ARN).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.starts_with("arn:") && v.split(':').count() == 6 && v.contains(":sns:") => Ok(Some(v)),
        Some(value) => Err(ConfigError::Invalid {
            name: SNS_TOPIC_ARN,
            value,
            why: "expected an SNS topic ARN, arn:aws:sns:<region>:<account>:<name>",
        }),
    }
}

/// Publishes the summary; returns the SNS message id.
pub async fn publish_summary(
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
    subject: &str,
    summary: &str,
    report: &serde_json::Value,
) -> Result<String, AwsError> {
    let mut report_json = report.to_string();
    if report_json.len() > MAX_REPORT_BYTES {
        report_json =
            serde_json::json!({"truncated": true, "note": "report too large for SNS; see the function's logs"})
                .to_string();
    }
    // SNS subjects: ASCII, no line breaks, at most 100 characters.
    let subject: String =
        subject.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { ' ' }).take(100).collect();
    let published =
        sns.publish()
            .topic_arn(topic_arn)
            .subject(subject)
            .message(summary)
            .message_attributes(
                REPORT_ATTRIBUTE,
                MessageAttributeValue::builder().data_type("String").string_value(report_json).build().map_err(
                    |e| AwsError { action: "Publish", code: "InvalidAttribute".into(), message: e.to_string() },
                )?,
            )
            .send()
            .await
            .aws("Publish")?;
    Ok(published.message_id().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_is_optional_and_validated() {
        let none = NotifyConfig::from_lookup(|_| None).unwrap();
        assert_eq!(none, NotifyConfig::default());
        let set = NotifyConfig::from_lookup(|n| {
            (n == SNS_TOPIC_ARN).then(|| "arn:aws:sns:us-east-1:123456789012:firebreak".to_string())
        })
        .unwrap();
        assert_eq!(set.sns_topic_arn.as_deref(), Some("arn:aws:sns:us-east-1:123456789012:firebreak"));
        assert!(NotifyConfig::from_lookup(|n| (n == SNS_TOPIC_ARN).then(|| "firebreak".to_string())).is_err());
        assert!(NotifyConfig::from_lookup(|n| (n == SECURITY_HUB).then(|| "perhaps".to_string())).is_err());
    }
}
