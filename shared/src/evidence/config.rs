//! The forensic settings of a quarantine. Unset (or empty, as a template Parameter leaves them),
//! quarantine behaves as before: the instance profile is removed and no evidence is written.

use crate::engine::config::{flag, ConfigError};

pub const FORENSIC_INSTANCE_PROFILE: &str = "FIREBREAK_FORENSIC_INSTANCE_PROFILE";
pub const ISOLATION_ALLOW_SSM_ENDPOINTS: &str = "FIREBREAK_ISOLATION_ALLOW_SSM_ENDPOINTS";
pub const EVIDENCE_BUCKET: &str = "FIREBREAK_EVIDENCE_BUCKET";
pub const EVIDENCE_DOCUMENT: &str = "FIREBREAK_EVIDENCE_DOCUMENT";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvidenceConfig {
    /// The instance profile (its name) put in place of the instance's own: its role lets the SSM
    /// agent work and write evidence, nothing else.
    pub forensic_instance_profile: Option<String>,
    /// Let isolated instances reach the VPC's Systems Manager interface endpoints on 443.
    pub allow_ssm_endpoints: bool,
    /// Where metadata, console output and the Run Command's captures go.
    pub bucket: Option<String>,
    /// Firebreak's SSM Command document (name or ARN) that captures volatile state and memory.
    pub document: Option<String>,
}

impl EvidenceConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        Ok(Self {
            forensic_instance_profile: checked(
                FORENSIC_INSTANCE_PROFILE,
                set(FORENSIC_INSTANCE_PROFILE),
                |v| v.len() <= 128 && v.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)),
                "an instance profile name: 1-128 letters, digits and +=,.@_- (the name, not the ARN)",
            )?,
            allow_ssm_endpoints: flag(ISOLATION_ALLOW_SSM_ENDPOINTS, lookup(ISOLATION_ALLOW_SSM_ENDPOINTS), false)?,
            bucket: checked(
                EVIDENCE_BUCKET,
                set(EVIDENCE_BUCKET),
                |v| {
                    (3..=63).contains(&v.len())
                        && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
                },
                "an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens",
            )?,
            document: checked(
                EVIDENCE_DOCUMENT,
                set(EVIDENCE_DOCUMENT),
                |v| {
                    let name = v.rsplit('/').next().unwrap_or(v);
                    (3..=128).contains(&name.len())
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
                        && !name.to_ascii_lowercase().starts_with("aws")
                },
                "an SSM document name (or ARN) of 3-128 letters, digits, _ . -, not one of AWS's",
            )?,
        })
    }

    /// The Run Command capture is configured: a document and a bucket for it to write to.
    pub fn captures(&self) -> Option<(&str, &str)> {
        Some((self.document.as_deref()?, self.bucket.as_deref()?))
    }
}

fn checked(
    name: &'static str,
    value: Option<String>,
    valid: impl Fn(&str) -> bool,
    why: &'static str,
) -> Result<Option<String>, ConfigError> {
    match value {
        Some(v) if !valid(&v) => Err(ConfigError::Invalid { name, value: v, why }),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<EvidenceConfig, ConfigError> {
        let vars: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        EvidenceConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn unset_or_empty_means_off() {
        assert_eq!(from(&[]).unwrap(), EvidenceConfig::default());
        assert_eq!(
            from(&[(FORENSIC_INSTANCE_PROFILE, ""), (EVIDENCE_BUCKET, " ")]).unwrap(),
            EvidenceConfig::default()
        );
    }

    #[test]
    fn every_variable_is_read_and_checked() {
        let config = from(&[
            (FORENSIC_INSTANCE_PROFILE, "firebreak-forensic"),
            (ISOLATION_ALLOW_SSM_ENDPOINTS, "true"),
            (EVIDENCE_BUCKET, "evidence-111122223333"),
            (EVIDENCE_DOCUMENT, "Firebreak-CaptureEvidence"),
        ])
        .unwrap();
        assert_eq!(config.captures(), Some(("Firebreak-CaptureEvidence", "evidence-111122223333")));
        assert!(config.allow_ssm_endpoints);
        for (name, bad) in [
            (FORENSIC_INSTANCE_PROFILE, "arn:aws:iam::1:instance-profile/x"),
            (EVIDENCE_BUCKET, "Evidence_Bucket"),
            (EVIDENCE_DOCUMENT, "AWS-RunShellScript"),
            (ISOLATION_ALLOW_SSM_ENDPOINTS, "maybe"),
        ] {
            let err = from(&[(name, bad)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
