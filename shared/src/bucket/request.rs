//! Which buckets to contain, from a GuardDuty S3 Protection finding (`resourceType` `S3Bucket`,
//! `resource.s3BucketDetails[]`) or an `AttackSequence:S3/...` (its `S3_BUCKET` resources).
//! Parsed and validated, no AWS call.

use serde_json::Value;

use crate::events::sequence::MAX_SEQUENCE_RESOURCES;
use crate::events::{partition_of, EventError, GuardDutyFinding};

/// `resource.resourceType` of an S3 Protection finding about buckets.
pub const RESOURCE_TYPE: &str = "S3Bucket";
pub const SEQUENCE_TYPE_PREFIX: &str = "AttackSequence:S3/";
/// More buckets than one invocation contains before its deadline (and than any real finding
/// names): refused whole rather than half-contained.
pub const MAX_BUCKETS: usize = 25;

/// The finding and the buckets it names (validated), with what it names that is no bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketTrigger {
    pub finding: Box<GuardDutyFinding>,
    pub buckets: Vec<String>,
    /// Sequence resources left to other functions (principals, keys...): reported, not acted on.
    pub left: Left,
}

impl BucketTrigger {
    /// The event as EventBridge delivers it. Sample findings name placeholders and are not
    /// validated: triage skips them before anything is read.
    /// A Security Hub (v2) import of an S3 Protection finding is taken as the native finding.
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        let finding =
            crate::events::ocsf::native_or_imported(event, &[RESOURCE_TYPE, crate::events::sequence::RESOURCE_TYPE])?;
        let (buckets, left) = if finding.is_sample() { (Vec::new(), Vec::new()) } else { buckets_of(&finding)? };
        if !finding.is_sample() && buckets.is_empty() {
            return Err(EventError::UnsupportedFinding {
                finding_type: finding.finding_type.clone(),
                resource_type: finding.resource.resource_type.clone(),
                why: "the finding names no S3 bucket",
            });
        }
        Ok(Self { finding: Box::new(finding), buckets, left })
    }

    /// What the report is about: the buckets, comma-separated.
    pub fn resource(&self) -> String {
        if self.buckets.is_empty() {
            return self
                .finding
                .resource
                .s3_bucket_details
                .iter()
                .filter_map(|d| d.name.clone())
                .collect::<Vec<_>>()
                .join(",");
        }
        self.buckets.join(",")
    }
}

/// What a finding names that is not a bucket: (uid, why), reported, not acted on.
pub type Left = Vec<(String, String)>;

/// The buckets a finding names, deduplicated, in order.
pub fn buckets_of(finding: &GuardDutyFinding) -> Result<(Vec<String>, Left), EventError> {
    let unsupported = |why| EventError::UnsupportedFinding {
        finding_type: finding.finding_type.clone(),
        resource_type: finding.resource.resource_type.clone(),
        why,
    };
    let partition = partition_of(&finding.region);
    let mut buckets = Vec::new();
    let mut left = Vec::new();
    if finding.resource.resource_type == RESOURCE_TYPE {
        let details = &finding.resource.s3_bucket_details;
        if details.len() > MAX_BUCKETS {
            return Err(too_many("resource.s3BucketDetails", details.len()));
        }
        for detail in details {
            let name = match (&detail.name, &detail.arn) {
                (Some(name), Some(arn)) => {
                    let from_arn = bucket_uid(arn, partition)?;
                    if from_arn != *name {
                        return Err(EventError::invalid(
                            "s3BucketDetails[].arn",
                            arn,
                            "names another bucket than s3BucketDetails[].name",
                        ));
                    }
                    from_arn
                }
                (Some(name), None) => bucket_uid(name, partition)?,
                (None, Some(arn)) => bucket_uid(arn, partition)?,
                (None, None) => {
                    return Err(EventError::Malformed("an s3BucketDetails entry without name or arn".into()))
                }
            };
            buckets.push(name);
        }
    } else if finding.is_attack_sequence() && finding.finding_type.starts_with(SEQUENCE_TYPE_PREFIX) {
        let resources = finding.sequence_resources();
        if resources.len() > MAX_SEQUENCE_RESOURCES {
            return Err(too_many("service.detection.sequence.resources", resources.len()));
        }
        for resource in resources {
            if resource.resource_type != "S3_BUCKET" {
                // The sequence's principals are revoke-credentials' work.
                let why =
                    format!("{}: not a bucket; contain-bucket contains S3_BUCKET resources", resource.resource_type);
                left.push((resource.uid.chars().take(256).collect(), why));
                continue;
            }
            finding.check_place(resource)?;
            buckets.push(bucket_uid(&resource.uid, partition)?);
        }
    } else {
        return Err(unsupported(
            "contain-bucket handles S3 Protection findings on resource type S3Bucket and AttackSequence:S3/... sequences",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    buckets.retain(|b| seen.insert(b.clone()));
    if buckets.len() > MAX_BUCKETS {
        return Err(too_many("buckets named by the finding", buckets.len()));
    }
    Ok((buckets, left))
}

/// A bucket named by its name or its ARN (`arn:<partition>:s3:::<name>`; a bucket ARN carries no
/// account or Region). Which one a sequence's `uid` is, is not documented: both are accepted.
pub fn bucket_uid(uid: &str, partition: &str) -> Result<String, EventError> {
    let name = match uid.strip_prefix("arn:") {
        None => uid,
        Some(rest) => match rest.split_once(":s3:::") {
            Some((p, name)) if p == partition && !name.contains('/') => name,
            _ => {
                return Err(EventError::invalid(
                    "bucket ARN",
                    uid,
                    "not an S3 bucket ARN of the finding's partition (arn:aws:s3:::name)",
                ))
            }
        },
    };
    validate_bucket_name(name)?;
    Ok(name.to_string())
}

/// S3's naming rules for general purpose buckets: 3-63 lowercase letters, digits, dots and
/// hyphens, beginning and ending with a letter or digit, no `..`, not an IP address.
pub fn validate_bucket_name(name: &str) -> Result<(), EventError> {
    let bytes = name.as_bytes();
    let valid = (3..=63).contains(&name.len())
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err();
    if valid {
        Ok(())
    } else {
        Err(EventError::invalid(
            "bucket name",
            name,
            "an S3 bucket name is 3-63 lowercase letters, digits, dots and hyphens",
        ))
    }
}

fn too_many(field: &'static str, count: usize) -> EventError {
    EventError::too_many(
        field,
        count,
        "more than one invocation contains (at most 25 buckets, 400 resources): refused whole",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_and_arns() {
        assert_eq!(bucket_uid("arn:aws:s3:::customer-exports", "aws").unwrap(), "customer-exports");
        assert_eq!(bucket_uid("logs.example-1", "aws").unwrap(), "logs.example-1");
        for bad in [
            "ab",
            "Customer-Exports",
            "bucket_name",
            "-bucket",
            "a..b",
            "192.168.1.1",
            "../etc/passwd",
            "arn:aws:s3:::bucket/key",
            "arn:aws-cn:s3:::bucket",
            "arn:aws:iam::111122223333:role/x",
            &"a".repeat(64),
        ] {
            assert!(bucket_uid(bad, "aws").is_err(), "{bad}");
        }
    }
}
