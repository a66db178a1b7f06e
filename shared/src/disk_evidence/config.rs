//! Disk evidence's settings: the forensic key and account the snapshot copies go to, where the
//! follow-ups of pending snapshots are scheduled, and the on-demand malware scan. Read with
//! quarantine's, validated at cold start.

use std::time::Duration;

use super::follow_up::FollowUpSchedule;
use crate::approval::{SCHEDULER_ROLE_ARN, SCHEDULE_GROUP};
use crate::engine::config::{flag, ConfigError};

pub const FORENSIC_KMS_KEY: &str = "FIREBREAK_FORENSIC_KMS_KEY";
pub const FORENSIC_ACCOUNT: &str = "FIREBREAK_FORENSIC_ACCOUNT";
pub const MALWARE_SCAN: &str = "FIREBREAK_MALWARE_SCAN";
/// Minutes between follow-ups of snapshots still pending (default 30).
pub const FOLLOW_UP_MINUTES: &str = "FIREBREAK_EVIDENCE_FOLLOWUP_MINUTES";
const DEFAULT_FOLLOW_UP_MINUTES: u64 = 30;

/// Where snapshot copies go: re-encrypted with `kms_key_arn`, shared with `account_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForensicTarget {
    pub kms_key_arn: String,
    pub account_id: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DiskEvidenceConfig {
    /// Set when both variables are: the snapshots are copied and shared.
    pub forensic: Option<ForensicTarget>,
    /// Set with a forensic target when the Scheduler variables are: snapshots still pending are
    /// copied by a scheduled follow-up ([`super::follow_up`]).
    pub follow_up: Option<FollowUpSchedule>,
    /// Start a GuardDuty Malware Protection on-demand scan of the instance (at most once an hour).
    pub malware_scan: bool,
}

impl DiskEvidenceConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let key = lookup(FORENSIC_KMS_KEY).filter(|v| !v.is_empty());
        let account = lookup(FORENSIC_ACCOUNT).filter(|v| !v.is_empty());
        let forensic = match (key, account) {
            (None, None) => None,
            (Some(key), Some(account)) => Some(ForensicTarget { kms_key_arn: forensic_key_arn(key)?, account_id: forensic_account_id(account)? }),
            _ => {
                return Err(ConfigError::Conflict(
                    "FIREBREAK_FORENSIC_KMS_KEY and FIREBREAK_FORENSIC_ACCOUNT go together: set both to copy snapshots to the forensic account, or neither",
                ))
            }
        };
        let follow_up = match forensic {
            Some(_) => follow_up_schedule(&lookup)?,
            None => None,
        };
        Ok(Self { forensic, follow_up, malware_scan: flag(MALWARE_SCAN, lookup(MALWARE_SCAN), false)? })
    }
}

fn follow_up_schedule(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<FollowUpSchedule>, ConfigError> {
    let set = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let (group, role_arn) = match (set(SCHEDULE_GROUP), set(SCHEDULER_ROLE_ARN)) {
        (Some(group), Some(role_arn)) => (group, role_arn),
        (None, None) => return Ok(None),
        _ => {
            return Err(ConfigError::Conflict(
                "FIREBREAK_SCHEDULE_GROUP and FIREBREAK_SCHEDULER_ROLE_ARN go together: set both to follow up pending snapshots, or neither",
            ))
        }
    };
    let minutes = match set(FOLLOW_UP_MINUTES) {
        None => DEFAULT_FOLLOW_UP_MINUTES,
        Some(value) => match value.parse::<u64>() {
            Ok(m) if (5..=720).contains(&m) => m,
            _ => {
                return Err(ConfigError::Invalid {
                    name: FOLLOW_UP_MINUTES,
                    value,
                    why: "minutes between follow-ups of pending snapshots: 5 to 720",
                })
            }
        },
    };
    Ok(Some(FollowUpSchedule { group, role_arn, every: Duration::from_secs(minutes * 60) }))
}

/// `arn:<partition>:kms:<region>:<account>:key/<key id>`: a key ARN, not an alias or a bare id
/// (the copy is made in the instance's account, where only an ARN names the forensic key).
fn forensic_key_arn(value: String) -> Result<String, ConfigError> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && ["aws", "aws-cn", "aws-us-gov"].contains(&parts[1])
        && parts[2] == "kms"
        && !parts[3].is_empty()
        && parts[3].chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && is_twelve_digits(parts[4])
        && parts[5].strip_prefix("key/").is_some_and(|id| {
            (1..=128).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            name: FORENSIC_KMS_KEY,
            value,
            why: "expected a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> (not an alias)",
        })
    }
}

fn forensic_account_id(value: String) -> Result<String, ConfigError> {
    if is_twelve_digits(&value) {
        Ok(value)
    } else {
        Err(ConfigError::Invalid { name: FORENSIC_ACCOUNT, value, why: "an AWS account id is 12 digits" })
    }
}

fn is_twelve_digits(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn from(pairs: &[(&str, &str)]) -> Result<DiskEvidenceConfig, ConfigError> {
        let vars: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        DiskEvidenceConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn unset_means_no_copies_and_no_scan() {
        assert_eq!(from(&[]).unwrap(), DiskEvidenceConfig::default());
    }

    #[test]
    fn both_variables_name_the_forensic_target() {
        let config =
            from(&[(FORENSIC_KMS_KEY, KEY), (FORENSIC_ACCOUNT, "444455556666"), (MALWARE_SCAN, "true")]).unwrap();
        assert_eq!(
            config.forensic,
            Some(ForensicTarget { kms_key_arn: KEY.into(), account_id: "444455556666".into() })
        );
        assert!(config.malware_scan);
        assert_eq!(config.follow_up, None, "no Scheduler settings: no follow-ups");
    }

    #[test]
    fn pending_snapshots_are_followed_up_where_the_scheduler_is_set() {
        let base = [(FORENSIC_KMS_KEY, KEY), (FORENSIC_ACCOUNT, "444455556666")];
        let scheduler = [(SCHEDULE_GROUP, "firebreak"), (SCHEDULER_ROLE_ARN, "arn:aws:iam::111122223333:role/s")];
        let config = from(&[base.as_slice(), scheduler.as_slice()].concat()).unwrap();
        let follow_up = config.follow_up.unwrap();
        assert_eq!((follow_up.group.as_str(), follow_up.every), ("firebreak", Duration::from_secs(1800)));
        let every = from(&[base.as_slice(), scheduler.as_slice(), &[(FOLLOW_UP_MINUTES, "5")]].concat()).unwrap();
        assert_eq!(every.follow_up.unwrap().every, Duration::from_secs(300));
        for bad in ["4", "721", "soon"] {
            let err = from(&[base.as_slice(), scheduler.as_slice(), &[(FOLLOW_UP_MINUTES, bad)]].concat()).unwrap_err();
            assert!(err.to_string().contains(FOLLOW_UP_MINUTES), "{bad}: {err}");
        }
        assert!(matches!(from(&[base.as_slice(), &scheduler[..1]].concat()), Err(ConfigError::Conflict(_))));
        assert_eq!(from(&scheduler).unwrap().follow_up, None, "nothing to follow up without a forensic target");
    }

    #[test]
    fn invalid_values_fail_with_the_variable_named() {
        for bad in [
            "alias/forensic",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:alias/x",
            "arn:aws:s3:::bucket",
        ] {
            let err = from(&[(FORENSIC_KMS_KEY, bad), (FORENSIC_ACCOUNT, "444455556666")]).unwrap_err();
            assert!(err.to_string().contains(FORENSIC_KMS_KEY), "{bad}: {err}");
        }
        for bad in ["44445555666", "4444555566667", "forensic", "4444-5555-6666"] {
            let err = from(&[(FORENSIC_KMS_KEY, KEY), (FORENSIC_ACCOUNT, bad)]).unwrap_err();
            assert!(err.to_string().contains(FORENSIC_ACCOUNT), "{bad}: {err}");
        }
        assert!(from(&[(MALWARE_SCAN, "sometimes")]).is_err());
    }

    #[test]
    fn half_a_forensic_target_is_refused() {
        assert!(matches!(from(&[(FORENSIC_KMS_KEY, KEY)]), Err(ConfigError::Conflict(_))));
        assert!(matches!(from(&[(FORENSIC_ACCOUNT, "444455556666")]), Err(ConfigError::Conflict(_))));
    }
}
