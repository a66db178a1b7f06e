//! quarantine-instance's own settings, on top of the common ones.

use crate::disk_evidence::DiskEvidenceConfig;
use crate::engine::config::{flag, CommonConfig, ConfigError};
use crate::evidence::EvidenceConfig;
use crate::response_policy::{set_override, Overridable, Overrides};

pub const ISOLATION_GROUP_NAME: &str = "FIREBREAK_ISOLATION_GROUP_NAME";
pub const STOP_INSTANCE: &str = "FIREBREAK_STOP_INSTANCE";
pub const SNAPSHOT: &str = "FIREBREAK_SNAPSHOT";
pub const CUT_TRACKED_CONNECTIONS: &str = "FIREBREAK_CUT_TRACKED_CONNECTIONS";

/// What a quarantine does, and how far it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineConfig {
    pub common: CommonConfig,
    /// Name of the per-VPC security group with no rules that isolated interfaces are moved to.
    pub isolation_group_name: String,
    /// Stop the instance after its volumes are snapshotted. Off by default: stopping loses memory.
    pub stop_instance: bool,
    pub snapshot: bool,
    /// Move interfaces through an all-traffic group first so that already-tracked connections end.
    pub cut_tracked_connections: bool,
    /// Volumes kept on termination, snapshot copies for the forensic account, the malware scan.
    pub disk_evidence: DiskEvidenceConfig,
    /// The forensic instance profile, SSM reachability and the evidence bucket (off when unset).
    pub evidence: EvidenceConfig,
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        Self {
            common: CommonConfig::default(),
            isolation_group_name: "firebreak-isolation".into(),
            stop_instance: false,
            snapshot: true,
            cut_tracked_connections: true,
            disk_evidence: DiskEvidenceConfig::default(),
            evidence: EvidenceConfig::default(),
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
            common: CommonConfig::from_lookup(&lookup)?,
            isolation_group_name: group_name(lookup(ISOLATION_GROUP_NAME), defaults.isolation_group_name)?,
            stop_instance: flag(STOP_INSTANCE, lookup(STOP_INSTANCE), defaults.stop_instance)?,
            snapshot: flag(SNAPSHOT, lookup(SNAPSHOT), defaults.snapshot)?,
            cut_tracked_connections: flag(
                CUT_TRACKED_CONNECTIONS,
                lookup(CUT_TRACKED_CONNECTIONS),
                defaults.cut_tracked_connections,
            )?,
            disk_evidence: defaults.disk_evidence,
            evidence: EvidenceConfig::from_lookup(&lookup)?,
        };
        if config.stop_instance && !config.snapshot {
            return Err(ConfigError::Conflict(
                "FIREBREAK_STOP_INSTANCE=true needs FIREBREAK_SNAPSHOT=true: an instance is never stopped before its volumes are snapshotted",
            ));
        }
        Ok(config)
    }

    /// With disk evidence's settings read too: only the functions that quarantine instances read
    /// them (quarantine-task and release read the rest of this configuration).
    pub fn with_disk_evidence(self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self { disk_evidence: DiskEvidenceConfig::from_lookup(lookup)?, ..self })
    }
}

/// A rule's `snapshot`, `stop_instance` and `cut_tracked_connections`. No snapshots means no
/// stop either: an instance is never stopped before its volumes are snapshotted.
impl Overridable for QuarantineConfig {
    fn override_with(&mut self, overrides: &Overrides) -> Vec<String> {
        let mut changed = Vec::new();
        set_override(&mut self.snapshot, overrides.snapshot, "snapshot", &mut changed);
        let stop = if self.snapshot { overrides.stop_instance } else { Some(false) };
        set_override(&mut self.stop_instance, stop, "stop_instance", &mut changed);
        set_override(
            &mut self.cut_tracked_connections,
            overrides.cut_tracked_connections,
            "cut_tracked_connections",
            &mut changed,
        );
        changed
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
    use crate::engine::config::{ACT_ON_SAMPLE_FINDINGS, DRY_RUN, EXEMPT_TAG_KEY, MIN_SEVERITY};
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
        assert_eq!(config.common.min_severity, 7.5);
        assert_eq!(config.common.exempt_tag_key, "breakglass");
        assert_eq!(config.isolation_group_name, "ir-quarantine");
        assert!(
            config.stop_instance && config.snapshot && config.common.dry_run && config.common.act_on_sample_findings
        );
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
