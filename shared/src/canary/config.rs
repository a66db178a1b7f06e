//! The canary's settings: where Firebreak's reports are written, which rules must be enabled,
//! how long to wait, and which accounts (as audit-posture chooses them).

use std::time::Duration;

use crate::accounts::AUDIT_ORGANIZATION;
use crate::engine::config::flag;
use crate::engine::ConfigError;

/// quarantine-instance's log group: where the report of the sample finding is written.
pub const LOG_GROUP: &str = "FIREBREAK_CANARY_LOG_GROUP";
/// Comma-separated names of the EventBridge rules that must be enabled.
pub const RULES: &str = "FIREBREAK_CANARY_RULES";
/// How long to wait for the report (GuardDuty publishes a new finding to EventBridge within
/// about five minutes).
pub const WAIT_SECONDS: &str = "FIREBREAK_CANARY_WAIT_SECONDS";

#[derive(Debug, Clone, PartialEq)]
pub struct CanaryConfig {
    pub log_group: String,
    pub rules: Vec<String>,
    pub wait: Duration,
    /// Between two reads of the log group.
    pub poll: Duration,
    /// Every active account of the organisation, as audit-posture (else the allow-list).
    pub audit_organization: bool,
}

impl CanaryConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let log_group = lookup(LOG_GROUP).unwrap_or_default();
        let name_ok = |c: char| c.is_ascii_alphanumeric() || "_-/.#".contains(c);
        if log_group.is_empty() || log_group.len() > 512 || !log_group.chars().all(name_ok) {
            let why = "the log group name of quarantine-instance (1-512 characters of letters, digits and _-/.#)";
            return Err(ConfigError::Invalid { name: LOG_GROUP, value: log_group, why });
        }
        let raw_rules = lookup(RULES).unwrap_or_default();
        let rules: Vec<String> =
            raw_rules.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_string).collect();
        let rule_ok = |r: &String| r.len() <= 64 && r.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if rules.is_empty() || !rules.iter().all(rule_ok) {
            let why = "comma-separated EventBridge rule names (1-64 characters of letters, digits and ._-)";
            return Err(ConfigError::Invalid { name: RULES, value: raw_rules, why });
        }
        let wait = match lookup(WAIT_SECONDS).filter(|v| !v.trim().is_empty()) {
            None => 600,
            Some(value) => match value.trim().parse::<u64>() {
                Ok(n) if (10..=840).contains(&n) => n,
                _ => {
                    let why = "seconds from 10 to 840 (the canary's timeout is 900)";
                    return Err(ConfigError::Invalid { name: WAIT_SECONDS, value, why });
                }
            },
        };
        Ok(Self {
            log_group,
            rules,
            wait: Duration::from_secs(wait),
            poll: Duration::from_secs(15),
            audit_organization: flag(AUDIT_ORGANIZATION, lookup(AUDIT_ORGANIZATION), false)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Result<CanaryConfig, ConfigError> {
        CanaryConfig::from_lookup(|name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn reads_its_settings_and_refuses_bad_ones() {
        let config = vars(&[(LOG_GROUP, "/aws/lambda/qi"), (RULES, "a-1, b_2")]).unwrap();
        assert_eq!(config.rules, vec!["a-1", "b_2"]);
        assert_eq!((config.wait.as_secs(), config.audit_organization), (600, false));
        assert!(vars(&[(RULES, "a")]).is_err(), "no log group");
        assert!(vars(&[(LOG_GROUP, "g")]).is_err(), "no rule");
        assert!(vars(&[(LOG_GROUP, "g"), (RULES, "a b")]).is_err());
        assert!(vars(&[(LOG_GROUP, "g"), (RULES, "a"), (WAIT_SECONDS, "900")]).is_err());
        assert_eq!(vars(&[(LOG_GROUP, "g"), (RULES, "a"), (WAIT_SECONDS, "30")]).unwrap().wait.as_secs(), 30);
    }
}
