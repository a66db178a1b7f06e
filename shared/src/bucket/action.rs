//! contain-bucket's actions and phases, per bucket in this order:
//!
//! 1. **Record** — tag the bucket with the case and with what it was before (its public access
//!    block, whether it had a policy), merged into its tags: the record that travels with it.
//! 2. **Deny** — merge Firebreak's deny statement into the bucket policy (every statement it had
//!    is kept). Before the public access block: with `BlockPublicPolicy` on, S3 refuses to put a
//!    policy that is still public, and the bucket's own statements may be.
//! 3. **Block** — the bucket's public access block, all four settings on.
//!
//! No step reads, copies or deletes an object.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::aws::s3::PublicAccessBlock;
use crate::engine;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A bucket left alone (exempt, gone): reported, never run.
    Check,
    Record,
    Deny,
    Block,
}

impl engine::Phase for Phase {
    fn stage(self) -> u8 {
        match self {
            Self::Check | Self::Record => 0,
            Self::Deny => 1,
            Self::Block => 2,
        }
    }
}

/// A bucket by name and ARN (`arn:<partition>:s3:::<name>`): reports and the case name it by
/// its ARN, which is how a release finds the buckets of a case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Bucket {
    pub name: String,
    pub arn: String,
}

impl Bucket {
    pub fn new(partition: &str, name: &str) -> Self {
        Self { name: name.to_string(), arn: format!("arn:{partition}:s3:::{name}") }
    }

    /// The bucket an ARN names, when it is a bucket ARN.
    pub fn from_arn(arn: &str) -> Option<Self> {
        let (_, name) = arn.strip_prefix("arn:")?.split_once(":s3:::")?;
        super::request::validate_bucket_name(name).ok()?;
        Some(Self { name: name.to_string(), arn: arn.to_string() })
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BucketAction {
    CheckBucket {
        bucket: Bucket,
    },
    TagBucket {
        bucket: Bucket,
        tags: Vec<(String, String)>,
    },
    /// `statement` is merged into the policy the bucket has when the step runs.
    DenyBucketAccess {
        bucket: Bucket,
        statement: Value,
    },
    /// `before` is what a release puts back (`None`: the bucket had no public access block).
    BlockPublicAccess {
        bucket: Bucket,
        before: Option<PublicAccessBlock>,
    },
}

impl BucketAction {
    pub fn bucket(&self) -> &Bucket {
        match self {
            Self::CheckBucket { bucket }
            | Self::TagBucket { bucket, .. }
            | Self::DenyBucketAccess { bucket, .. }
            | Self::BlockPublicAccess { bucket, .. } => bucket,
        }
    }
}

impl engine::Action for BucketAction {
    type Phase = Phase;

    fn name(&self) -> &'static str {
        match self {
            Self::CheckBucket { .. } => "check_bucket",
            Self::TagBucket { .. } => "tag_bucket",
            Self::DenyBucketAccess { .. } => "deny_bucket_access",
            Self::BlockPublicAccess { .. } => "block_public_access",
        }
    }

    fn phase(&self) -> Phase {
        match self {
            Self::CheckBucket { .. } => Phase::Check,
            Self::TagBucket { .. } => Phase::Record,
            Self::DenyBucketAccess { .. } => Phase::Deny,
            Self::BlockPublicAccess { .. } => Phase::Block,
        }
    }

    fn resource(&self) -> String {
        self.bucket().arn.clone()
    }

    fn is_containment(&self) -> bool {
        matches!(self, Self::DenyBucketAccess { .. } | Self::BlockPublicAccess { .. })
    }
}

impl fmt::Display for BucketAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CheckBucket { bucket } => write!(f, "check bucket {bucket}"),
            Self::TagBucket { bucket, tags } => write!(
                f,
                "tag bucket {bucket} with {}",
                tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
            ),
            Self::DenyBucketAccess { bucket, statement } => write!(
                f,
                "merge statement {} into the policy of {bucket}: deny s3:* to all but {}",
                super::policy::STATEMENT_SID,
                statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            ),
            Self::BlockPublicAccess { bucket, before } => write!(
                f,
                "block public access on {bucket} (all four settings; before: {})",
                before.map(|b| b.record()).unwrap_or_else(|| "none".into())
            ),
        }
    }
}
