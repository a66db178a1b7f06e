//! What a release of a contain-bucket case reads and does: the buckets the case recorded
//! something on, their public access block put back as it was, Firebreak's statement taken out
//! of their policy (the recorded policy put back verbatim when nothing else changed since).

use std::collections::BTreeMap;

use super::action::Bucket;
use super::observe::BucketFacts;
use super::policy;
use super::{BUCKET_POLICY_RECORD, FUNCTION, PUBLIC_ACCESS_BLOCK_BEFORE};
use crate::aws::s3::{self, PublicAccessBlock};
use crate::aws::AwsError;
use crate::cases::Case;
use crate::events::partition_of;

/// The buckets a case touched: every bucket ARN it recorded something on, and for a
/// contain-bucket case the buckets its resource names (the fallback when the ledger lost entries).
pub fn buckets_of(case: &Case) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = case.recorded().keys().filter_map(|r| Bucket::from_arn(r)).collect();
    if case.function == FUNCTION {
        let partition = partition_of(&case.region);
        for name in case.resource.split(',').filter(|n| super::request::validate_bucket_name(n).is_ok()) {
            buckets.push(Bucket::new(partition, name));
        }
    }
    buckets.sort();
    buckets.dedup();
    buckets
}

/// How to undo one bucket's containment, from what the case (or the bucket's tags) recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketRelease {
    /// The public access block to put back (`Some(None)`: delete it, the bucket had none), or
    /// `None` when nothing says what it was, or it was changed since: left as it is.
    pub public_access_block: Option<Option<PublicAccessBlock>>,
    pub why_not_block: Option<String>,
    /// Firebreak's statement is in the policy: take it out.
    pub policy: bool,
    /// The policy as the case recorded it, put back verbatim when the rest matches it.
    pub recorded_policy: Option<String>,
}

pub fn plan_release(bucket: &BucketFacts, ledger: Option<&BTreeMap<String, String>>) -> BucketRelease {
    let value = |key: &str| ledger.and_then(|l| l.get(key)).or_else(|| bucket.tags.get(key)).cloned();
    let before = value(PUBLIC_ACCESS_BLOCK_BEFORE).map(|r| {
        if r == "none" {
            Ok(None)
        } else {
            PublicAccessBlock::from_record(&r).map(Some).ok_or(r)
        }
    });
    let (public_access_block, why_not_block) = match before {
        None => (None, Some("the case recorded no public access block".to_string())),
        Some(Err(record)) => (None, Some(format!("unreadable record {record:?}: left as it is"))),
        Some(Ok(before)) if bucket.public_access_block == before => (None, Some("already as before the case".into())),
        Some(Ok(_)) if bucket.public_access_block != Some(PublicAccessBlock::ALL) => {
            (None, Some("changed since the case: left as it is".into()))
        }
        Some(Ok(before)) => (Some(before), None),
    };
    let has_ours =
        bucket.policy.as_deref().is_some_and(|p| matches!(policy::without_ours(&bucket.bucket.name, p), Ok(Some(_))));
    let recorded_policy = value(BUCKET_POLICY_RECORD).filter(|p| p != "none");
    BucketRelease { public_access_block, why_not_block, policy: has_ours, recorded_policy }
}

/// Puts the public access block back (`None`: the bucket had none, so it is deleted).
pub async fn restore_public_access_block(
    s3_client: &aws_sdk_s3::Client,
    bucket: &str,
    before: Option<PublicAccessBlock>,
) -> Result<String, AwsError> {
    match before {
        Some(block) => {
            s3::put_public_access_block(s3_client, bucket, &block).await?;
            Ok(format!("public access block back to {}", block.record()))
        }
        None => {
            s3::delete_public_access_block(s3_client, bucket).await?;
            Ok("public access block deleted: the bucket had none".into())
        }
    }
}

/// Takes Firebreak's statement out of the policy as it is now; `Ok(None)` when it is gone already.
pub async fn restore_policy(
    s3_client: &aws_sdk_s3::Client,
    bucket: &str,
    recorded: Option<&str>,
) -> Result<Option<String>, AwsError> {
    let Some(current) = s3::bucket_policy(s3_client, bucket).await? else {
        return Ok(None);
    };
    let rest = policy::without_ours(bucket, &current).map_err(|e| AwsError {
        action: "PutBucketPolicy",
        code: "PolicyNotMerged".into(),
        message: e.to_string(),
    })?;
    match rest {
        None => Ok(None),
        Some(None) => {
            s3::delete_bucket_policy(s3_client, bucket).await?;
            Ok(Some("bucket policy deleted: the bucket had none before the case".into()))
        }
        Some(Some(rest)) => match recorded.filter(|r| policy::same_policy(bucket, r, &rest)) {
            Some(recorded) => {
                s3::put_bucket_policy(s3_client, bucket, recorded).await?;
                Ok(Some("the recorded policy put back".into()))
            }
            None => {
                s3::put_bucket_policy(s3_client, bucket, &rest).await?;
                Ok(Some(format!(
                    "{} taken out; the policy's other statements kept as they are now",
                    policy::STATEMENT_SID
                )))
            }
        },
    }
}
