//! Where people are told: the SNS topic for one summary per remediation and whether Security Hub
//! is written back to. The publishing itself is [`crate::aws::sns`].

use crate::engine::config::{flag, ConfigError};

/// Callers not yet moved to [`crate::aws::sns`] (revoke) still name these here.
pub use crate::aws::sns::{publish_summary, REPORT_ATTRIBUTE};

pub const SNS_TOPIC_ARN: &str = "FIREBREAK_SNS_TOPIC_ARN";
pub const SECURITY_HUB: &str = "FIREBREAK_SECURITY_HUB";

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
