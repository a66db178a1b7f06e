//! revoke-credentials' own settings, on top of the quarantine's (same variables, also used for the
//! exfiltrating instance).

use super::principal::PrincipalRef;
use crate::engine::config::{flag, ConfigError};
use crate::quarantine::QuarantineConfig;
use crate::response_policy::{set_override, Overridable, Overrides};

pub const DEACTIVATE_ALL_KEYS: &str = "FIREBREAK_DEACTIVATE_ALL_KEYS";
pub const DELETE_LOGIN_PROFILE: &str = "FIREBREAK_DELETE_LOGIN_PROFILE";
pub const PROTECTED_PRINCIPALS: &str = "FIREBREAK_PROTECTED_PRINCIPALS";
pub const QUARANTINE_SOURCE_INSTANCE: &str = "FIREBREAK_QUARANTINE_SOURCE_INSTANCE";

/// What revoke-credentials does. Severity threshold, exemption tag, dry run and sample handling
/// are the quarantine's own settings (same variables), also used for the exfiltrating instance.
#[derive(Debug, Clone, PartialEq)]
pub struct RevokeConfig {
    pub quarantine: QuarantineConfig,
    /// Disable every active key of the user, not only the one the signal names.
    pub deactivate_all_keys: bool,
    /// Delete the user's console password (it cannot be read back; the user needs a reset).
    pub delete_login_profile: bool,
    /// Never revoked, whatever a signal says: names (a user or role of that name) or ARNs.
    pub protected_principals: Vec<PrincipalRef>,
    /// Quarantine the instance whose role credentials were exfiltrated.
    pub quarantine_source_instance: bool,
    /// The function's own identity (GetCallerIdentity ARN), resolved once per cold start; when
    /// unset it is looked up on each invocation.
    pub own_identity: Option<String>,
    /// SNS topic told about every revocation, and about principals that need a human (root,
    /// federated); none: no notification.
    pub sns_topic_arn: Option<String>,
}

impl Default for RevokeConfig {
    fn default() -> Self {
        Self {
            quarantine: QuarantineConfig::default(),
            deactivate_all_keys: false,
            delete_login_profile: false,
            protected_principals: Vec::new(),
            quarantine_source_instance: true,
            own_identity: None,
            sns_topic_arn: None,
        }
    }
}

impl RevokeConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source; unset variables take the defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            quarantine: QuarantineConfig::from_lookup(&lookup)?.with_disk_evidence(&lookup)?,
            deactivate_all_keys: flag(DEACTIVATE_ALL_KEYS, lookup(DEACTIVATE_ALL_KEYS), defaults.deactivate_all_keys)?,
            delete_login_profile: flag(
                DELETE_LOGIN_PROFILE,
                lookup(DELETE_LOGIN_PROFILE),
                defaults.delete_login_profile,
            )?,
            protected_principals: protected_principals(lookup(PROTECTED_PRINCIPALS))?,
            quarantine_source_instance: flag(
                QUARANTINE_SOURCE_INSTANCE,
                lookup(QUARANTINE_SOURCE_INSTANCE),
                defaults.quarantine_source_instance,
            )?,
            own_identity: None,
            sns_topic_arn: crate::notify::sns_topic_arn(&lookup)?,
        })
    }
}

/// A rule's `deactivate_all_keys`, `delete_login_profile` and `quarantine_source_instance` (the
/// source instance's own quarantine takes its rule's overrides when it is planned).
impl Overridable for RevokeConfig {
    fn override_with(&mut self, overrides: &Overrides) -> Vec<String> {
        let mut changed = Vec::new();
        set_override(&mut self.deactivate_all_keys, overrides.deactivate_all_keys, "deactivate_all_keys", &mut changed);
        let profile = overrides.delete_login_profile;
        set_override(&mut self.delete_login_profile, profile, "delete_login_profile", &mut changed);
        let source = overrides.quarantine_source_instance;
        set_override(&mut self.quarantine_source_instance, source, "quarantine_source_instance", &mut changed);
        changed
    }
}

/// A comma-separated list of names and ARNs; empty entries are ignored, a bad one is refused.
fn protected_principals(value: Option<String>) -> Result<Vec<PrincipalRef>, ConfigError> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            PrincipalRef::parse(entry).ok_or_else(|| ConfigError::Invalid {
                name: PROTECTED_PRINCIPALS,
                value: entry.to_string(),
                why: "expected comma-separated IAM user/role names or user, role or assumed-role ARNs",
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_list_is_read_and_bad_entries_refused() {
        let vars = |v: &'static str| move |name: &str| (name == PROTECTED_PRINCIPALS).then(|| v.to_string());
        let config = RevokeConfig::from_lookup(vars("admin, arn:aws:iam::123456789012:role/ir ,")).unwrap();
        assert_eq!(config.protected_principals.len(), 2);
        let err = RevokeConfig::from_lookup(vars("admin,arn:aws:s3:::bucket")).unwrap_err();
        assert!(err.to_string().contains(PROTECTED_PRINCIPALS), "{err}");
        let defaults = RevokeConfig::from_lookup(|_| None).unwrap();
        assert_eq!(defaults, RevokeConfig::default());
    }
}
