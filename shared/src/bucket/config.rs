//! contain-bucket's settings: the common ones, and who may still reach a contained bucket.

use crate::engine::config::{CommonConfig, ConfigError};
use crate::revoke::{PrincipalKind, PrincipalRef};

pub const S3_BREAKGLASS_ROLES: &str = "FIREBREAK_S3_BREAKGLASS_ROLES";

#[derive(Debug, Clone, PartialEq, Default)]
pub struct BucketConfig {
    pub common: CommonConfig,
    /// Role ARNs the deny statement exempts (the responders'), besides Firebreak's own roles.
    pub breakglass_roles: Vec<String>,
    /// The function's own identity (GetCallerIdentity ARN), resolved once per cold start, so that
    /// Firebreak keeps access to the buckets it contains (a release must be able to undo).
    pub own_identity: Option<String>,
}

impl BucketConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_lookup(&lookup)?,
            breakglass_roles: breakglass_roles(lookup(S3_BREAKGLASS_ROLES))?,
            own_identity: None,
        })
    }
}

/// Comma-separated IAM role ARNs (`arn:<partition>:iam::<account>:role/<path>/<name>`); empty
/// entries ignored, anything else refused: a wildcard or a name here would open the bucket.
fn breakglass_roles(value: Option<String>) -> Result<Vec<String>, ConfigError> {
    let mut roles = Vec::new();
    for entry in value.unwrap_or_default().split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let parsed = PrincipalRef::parse(entry);
        let is_role_arn = entry.split(':').nth(2) == Some("iam")
            && !entry.contains('*')
            && parsed.is_some_and(|p| p.kind == Some(PrincipalKind::Role) && p.account_id.is_some());
        if !is_role_arn {
            return Err(ConfigError::Invalid {
                name: S3_BREAKGLASS_ROLES,
                value: entry.to_string(),
                why: "expected comma-separated IAM role ARNs (arn:aws:iam::<account>:role/<name>), no wildcards",
            });
        }
        if !roles.iter().any(|r| r == entry) {
            roles.push(entry.to_string());
        }
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breakglass_roles_are_role_arns_only() {
        let vars = |v: &'static str| move |name: &str| (name == S3_BREAKGLASS_ROLES).then(|| v.to_string());
        let config = BucketConfig::from_lookup(vars(
            " arn:aws:iam::111122223333:role/ir/Responder ,arn:aws:iam::111122223333:role/Admin,",
        ))
        .unwrap();
        assert_eq!(config.breakglass_roles.len(), 2);
        for bad in [
            "Responder",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:sts::111122223333:assumed-role/Admin/s",
            "arn:aws:iam::111122223333:role/*",
            "arn:aws:iam:::role/Admin",
            "*",
        ] {
            assert!(BucketConfig::from_lookup(vars(bad)).is_err(), "{bad}");
        }
        assert_eq!(BucketConfig::from_lookup(|_| None).unwrap(), BucketConfig::default());
    }
}
