//! abuse-report's own settings: what a billing alarm leads to and how traffic is ranked.

use std::time::Duration;

use crate::engine::config::{flag, ConfigError};

pub const QUARANTINE_ON_BILLING_ALARM: &str = "FIREBREAK_QUARANTINE_ON_BILLING_ALARM";
pub const TOP_TALKERS: &str = "FIREBREAK_TOP_TALKERS";
pub const TRAFFIC_WINDOW_HOURS: &str = "FIREBREAK_TRAFFIC_WINDOW_HOURS";

#[derive(Debug, Clone, PartialEq)]
pub struct AbuseConfig {
    /// On a billing alarm, quarantine the instance with the most outbound traffic. Off by default:
    /// a bill says money is being spent, not which instance is compromised.
    pub quarantine_on_billing_alarm: bool,
    /// How many instances a billing alarm's report lists.
    pub top_talkers: usize,
    /// How far back outbound traffic is summed.
    pub traffic_window: Duration,
}

impl Default for AbuseConfig {
    fn default() -> Self {
        Self { quarantine_on_billing_alarm: false, top_talkers: 5, traffic_window: Duration::from_secs(3 * 3600) }
    }
}

impl AbuseConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let number = |name: &'static str, max: u64, why: &'static str| -> Result<Option<u64>, ConfigError> {
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(value) => match value.trim().parse::<u64>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
                    _ => Err(ConfigError::Invalid { name, value, why }),
                },
            }
        };
        Ok(Self {
            quarantine_on_billing_alarm: flag(
                QUARANTINE_ON_BILLING_ALARM,
                lookup(QUARANTINE_ON_BILLING_ALARM),
                defaults.quarantine_on_billing_alarm,
            )?,
            top_talkers: number(TOP_TALKERS, 50, "expected a number of instances from 1 to 50")?
                .map_or(defaults.top_talkers, |n| n as usize),
            traffic_window: number(TRAFFIC_WINDOW_HOURS, 24 * 14, "expected hours from 1 to 336")?
                .map_or(defaults.traffic_window, |h| Duration::from_secs(h * 3600)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_limits() {
        let config = AbuseConfig::from_lookup(|_| None).unwrap();
        assert!(!config.quarantine_on_billing_alarm);
        assert_eq!(config.top_talkers, 5);
        assert!(AbuseConfig::from_lookup(|n| (n == TOP_TALKERS).then(|| "0".into())).is_err());
        assert!(AbuseConfig::from_lookup(|n| (n == QUARANTINE_ON_BILLING_ALARM).then(|| "sure".into())).is_err());
    }
}
