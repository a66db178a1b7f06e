//! audit-posture's settings: the common ones, read as every function reads them, and its own.

use crate::engine::config::{flag, CommonConfig, ConfigError};
use crate::exposure::{self, ADMIN_PORTS, DEFAULT_ADMIN_PORTS};

pub const ACCESS_KEY_MAX_AGE_DAYS: &str = "FIREBREAK_ACCESS_KEY_MAX_AGE_DAYS";
pub const ACCESS_KEY_UNUSED_DAYS: &str = "FIREBREAK_ACCESS_KEY_UNUSED_DAYS";
/// `true`: audit every ACTIVE account Organizations lists (the function must be allowed
/// `organizations:ListAccounts`); otherwise the function's own account and the allow-list.
pub use crate::accounts::AUDIT_ORGANIZATION;

#[derive(Debug, Clone, PartialEq)]
pub struct PostureConfig {
    /// `dry_run`: check and report, import nothing into Security Hub. `exempt_tag_key`: an exempt
    /// security group is still audited (auditing touches nothing), and its finding says that
    /// close-open-ports leaves it alone. Severity and sample settings concern findings, which a
    /// schedule is not.
    pub common: CommonConfig,
    pub access_key_max_age_days: u32,
    pub access_key_unused_days: u32,
    pub admin_ports: Vec<u16>,
    pub audit_organization: bool,
}

impl Default for PostureConfig {
    fn default() -> Self {
        Self {
            common: CommonConfig::default(),
            access_key_max_age_days: 90,
            access_key_unused_days: 90,
            admin_ports: DEFAULT_ADMIN_PORTS.to_vec(),
            audit_organization: false,
        }
    }
}

impl PostureConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source; unset variables take the defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            common: CommonConfig::from_lookup(&lookup)?,
            access_key_max_age_days: days(
                ACCESS_KEY_MAX_AGE_DAYS,
                lookup(ACCESS_KEY_MAX_AGE_DAYS),
                defaults.access_key_max_age_days,
            )?,
            access_key_unused_days: days(
                ACCESS_KEY_UNUSED_DAYS,
                lookup(ACCESS_KEY_UNUSED_DAYS),
                defaults.access_key_unused_days,
            )?,
            admin_ports: match lookup(ADMIN_PORTS) {
                None => defaults.admin_ports,
                Some(value) => exposure::admin_ports(ADMIN_PORTS, &value)?,
            },
            audit_organization: flag(AUDIT_ORGANIZATION, lookup(AUDIT_ORGANIZATION), defaults.audit_organization)?,
        })
    }
}

/// A number of days, 0 to 3650 (0: every active key is a gap, which the emulator tests use).
fn days(name: &'static str, value: Option<String>, default: u32) -> Result<u32, ConfigError> {
    match value {
        None => Ok(default),
        Some(value) => value.trim().parse::<u32>().ok().filter(|&d| d <= 3650).ok_or(ConfigError::Invalid {
            name,
            value,
            why: "expected a number of days from 0 to 3650",
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::engine::config::{ACT_ON_SAMPLE_FINDINGS, DRY_RUN, EXEMPT_TAG_KEY, MIN_SEVERITY};

    fn vars(pairs: &[(&str, &str)]) -> Result<PostureConfig, ConfigError> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        PostureConfig::from_lookup(move |name| map.get(name).cloned())
    }

    #[test]
    fn configuration_is_read_and_validated() {
        assert_eq!(vars(&[]).unwrap(), PostureConfig::default());
        let config =
            vars(&[(ACCESS_KEY_MAX_AGE_DAYS, "30"), (ACCESS_KEY_UNUSED_DAYS, "0"), (ADMIN_PORTS, "22")]).unwrap();
        assert_eq!((config.access_key_max_age_days, config.access_key_unused_days), (30, 0));
        assert_eq!(config.admin_ports, vec![22]);
        assert!(vars(&[(AUDIT_ORGANIZATION, "true")]).unwrap().audit_organization);
        assert!(vars(&[(AUDIT_ORGANIZATION, "all")]).is_err());
        assert!(vars(&[(ACCESS_KEY_MAX_AGE_DAYS, "-1")]).is_err());
        assert!(vars(&[(DRY_RUN, "perhaps")]).is_err());
    }

    #[test]
    fn the_common_configuration_is_read_like_every_function_reads_it() {
        let config = vars(&[
            (DRY_RUN, "true"),
            (EXEMPT_TAG_KEY, "breakglass"),
            (MIN_SEVERITY, "7"),
            (ACT_ON_SAMPLE_FINDINGS, "yes"),
        ])
        .unwrap();
        assert!(config.common.dry_run && config.common.act_on_sample_findings);
        assert_eq!((config.common.exempt_tag_key.as_str(), config.common.min_severity), ("breakglass", 7.0));
        assert!(vars(&[(EXEMPT_TAG_KEY, "aws:exempt")]).is_err());
        assert!(vars(&[(MIN_SEVERITY, "11")]).is_err());
    }
}
