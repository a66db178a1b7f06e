//! Configuration from environment variables, read and validated once per cold start.

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("{name}={value:?} is not valid: {why}")]
    Invalid { name: &'static str, value: String, why: &'static str },
    #[error("{0}")]
    Conflict(&'static str),
}

pub const MIN_SEVERITY: &str = "FIREBREAK_MIN_SEVERITY";
pub const EXEMPT_TAG_KEY: &str = "FIREBREAK_EXEMPT_TAG_KEY";
pub const ISOLATION_GROUP_NAME: &str = "FIREBREAK_ISOLATION_GROUP_NAME";
pub const STOP_INSTANCE: &str = "FIREBREAK_STOP_INSTANCE";
pub const SNAPSHOT: &str = "FIREBREAK_SNAPSHOT";
pub const DRY_RUN: &str = "FIREBREAK_DRY_RUN";
pub const ACT_ON_SAMPLE_FINDINGS: &str = "FIREBREAK_ACT_ON_SAMPLE_FINDINGS";
pub const CUT_TRACKED_CONNECTIONS: &str = "FIREBREAK_CUT_TRACKED_CONNECTIONS";

/// What quarantine-instance does, and how far it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineConfig {
    /// Findings below this GuardDuty severity (0-10) are reported and left alone.
    pub min_severity: f64,
    /// Resources carrying this tag key (any value) are never touched.
    pub exempt_tag_key: String,
    /// Name of the per-VPC security group with no rules that isolated interfaces are moved to.
    pub isolation_group_name: String,
    /// Stop the instance after its volumes are snapshotted. Off by default: stopping loses memory.
    pub stop_instance: bool,
    pub snapshot: bool,
    /// Read, plan and report; make no mutating call.
    pub dry_run: bool,
    /// GuardDuty's generated sample findings name real-looking but fake instances: ignored unless set.
    pub act_on_sample_findings: bool,
    /// Move interfaces through an all-traffic group first so that already-tracked connections end.
    pub cut_tracked_connections: bool,
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        Self {
            min_severity: 4.0,
            exempt_tag_key: "firebreak:exempt".into(),
            isolation_group_name: "firebreak-isolation".into(),
            stop_instance: false,
            snapshot: true,
            dry_run: false,
            act_on_sample_findings: false,
            cut_tracked_connections: true,
        }
    }
}

impl QuarantineConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source; unset variables take the defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let config = Self {
            min_severity: match lookup(MIN_SEVERITY) {
                None => defaults.min_severity,
                Some(value) => match value.trim().parse::<f64>() {
                    Ok(n) if (0.0..=10.0).contains(&n) => n,
                    _ => {
                        return Err(ConfigError::Invalid {
                            name: MIN_SEVERITY,
                            value,
                            why: "expected a number from 0 to 10 (GuardDuty severity)",
                        })
                    }
                },
            },
            exempt_tag_key: tag_key(EXEMPT_TAG_KEY, lookup(EXEMPT_TAG_KEY), defaults.exempt_tag_key)?,
            isolation_group_name: group_name(lookup(ISOLATION_GROUP_NAME), defaults.isolation_group_name)?,
            stop_instance: flag(STOP_INSTANCE, lookup(STOP_INSTANCE), defaults.stop_instance)?,
            snapshot: flag(SNAPSHOT, lookup(SNAPSHOT), defaults.snapshot)?,
            dry_run: flag(DRY_RUN, lookup(DRY_RUN), defaults.dry_run)?,
            act_on_sample_findings: flag(
                ACT_ON_SAMPLE_FINDINGS,
                lookup(ACT_ON_SAMPLE_FINDINGS),
                defaults.act_on_sample_findings,
            )?,
            cut_tracked_connections: flag(
                CUT_TRACKED_CONNECTIONS,
                lookup(CUT_TRACKED_CONNECTIONS),
                defaults.cut_tracked_connections,
            )?,
        };
        if config.stop_instance && !config.snapshot {
            return Err(ConfigError::Conflict(
                "FIREBREAK_STOP_INSTANCE=true needs FIREBREAK_SNAPSHOT=true: an instance is never stopped before its volumes are snapshotted",
            ));
        }
        Ok(config)
    }
}

/// Parses a boolean variable; unset means the default, anything unrecognised is an error rather
/// than a silent default (a typo in DRY_RUN must not arm the function).
pub fn flag(name: &'static str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        "" => Ok(default),
        _ => Err(ConfigError::Invalid { name, value, why: "expected true or false" }),
    }
}

/// Tag keys: 1-128 characters, not starting with the reserved `aws:` prefix.
pub fn tag_key(name: &'static str, value: Option<String>, default: String) -> Result<String, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if v.is_empty() || v.len() > 128 || v.to_ascii_lowercase().starts_with("aws:") => {
            Err(ConfigError::Invalid {
                name,
                value: v,
                why: "a tag key is 1-128 characters and may not start with aws:",
            })
        }
        Some(v) => Ok(v),
    }
}

fn group_name(value: Option<String>, default: String) -> Result<String, ConfigError> {
    match value {
        None => Ok(default),
        Some(v)
            if v.is_empty()
                || v.len() > 240
                || v.to_ascii_lowercase().starts_with("sg-")
                || !v.chars().all(|c| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c)) =>
        {
            Err(ConfigError::Invalid {
                name: ISOLATION_GROUP_NAME,
                value: v,
                why: "a security group name is 1-240 ASCII characters and may not start with sg-",
            })
        }
        Some(v) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<QuarantineConfig, ConfigError> {
        let vars: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        QuarantineConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn unset_variables_take_safe_defaults() {
        let config = from(&[]).unwrap();
        assert_eq!(config, QuarantineConfig::default());
        assert!(!config.stop_instance);
        assert!(config.snapshot);
    }

    #[test]
    fn every_variable_is_read() {
        let config = from(&[
            (MIN_SEVERITY, "7.5"),
            (EXEMPT_TAG_KEY, "breakglass"),
            (ISOLATION_GROUP_NAME, "ir-quarantine"),
            (STOP_INSTANCE, "true"),
            (SNAPSHOT, "yes"),
            (DRY_RUN, "1"),
            (ACT_ON_SAMPLE_FINDINGS, "on"),
            (CUT_TRACKED_CONNECTIONS, "false"),
        ])
        .unwrap();
        assert_eq!(config.min_severity, 7.5);
        assert_eq!(config.exempt_tag_key, "breakglass");
        assert_eq!(config.isolation_group_name, "ir-quarantine");
        assert!(config.stop_instance && config.snapshot && config.dry_run && config.act_on_sample_findings);
        assert!(!config.cut_tracked_connections);
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_named() {
        let err = from(&[(DRY_RUN, "maybe")]).unwrap_err();
        assert!(err.to_string().contains("FIREBREAK_DRY_RUN"), "{err}");
        assert!(from(&[(MIN_SEVERITY, "11")]).is_err());
        assert!(from(&[(MIN_SEVERITY, "high")]).is_err());
        assert!(from(&[(EXEMPT_TAG_KEY, "aws:exempt")]).is_err());
        assert!(from(&[(ISOLATION_GROUP_NAME, "sg-123")]).is_err());
    }

    #[test]
    fn stopping_without_snapshots_is_refused() {
        let err = from(&[(STOP_INSTANCE, "true"), (SNAPSHOT, "false")]).unwrap_err();
        assert!(matches!(err, ConfigError::Conflict(_)));
    }
}
