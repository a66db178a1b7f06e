//! S3 calls used to contain a bucket and release it: its public access block, its bucket policy
//! and its tags. Each one API operation, each labelled with it. Nothing here reads or deletes an
//! object.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{PublicAccessBlockConfiguration, Tag, Tagging};
use aws_sdk_s3::Client;
use serde::{Deserialize, Serialize};

use crate::aws::{AwsError, AwsResultExt};

/// The bucket does not exist (or no longer does) in this account.
pub const NO_SUCH_BUCKET: &str = "NoSuchBucket";

/// A bucket's public access block, the four settings by AWS's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// All four on: what containment sets.
    pub const ALL: Self = Self {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    /// The record in a tag value (S3 tag values allow letters, digits, spaces and `+-=._:/@`,
    /// no comma): `BlockPublicAcls=true IgnorePublicAcls=false …`.
    pub fn record(&self) -> String {
        format!(
            "BlockPublicAcls={} IgnorePublicAcls={} BlockPublicPolicy={} RestrictPublicBuckets={}",
            self.block_public_acls, self.ignore_public_acls, self.block_public_policy, self.restrict_public_buckets
        )
    }

    /// Reads [`Self::record`] back; `None` for anything else.
    pub fn from_record(text: &str) -> Option<Self> {
        let mut values = BTreeMap::new();
        for pair in text.split_whitespace() {
            let (key, value) = pair.split_once('=')?;
            values.insert(key, value.parse::<bool>().ok()?);
        }
        let get = |key: &str| values.get(key).copied();
        let block = Self {
            block_public_acls: get("BlockPublicAcls")?,
            ignore_public_acls: get("IgnorePublicAcls")?,
            block_public_policy: get("BlockPublicPolicy")?,
            restrict_public_buckets: get("RestrictPublicBuckets")?,
        };
        (values.len() == 4).then_some(block)
    }
}

/// `Ok(None)` for the error code that means "not set", so absence is a value.
fn absent_is_none<T>(code: &str, result: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_code(code) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The bucket's own public access block; `None` when it has none.
pub async fn public_access_block(s3: &Client, bucket: &str) -> Result<Option<PublicAccessBlock>, AwsError> {
    let read = s3.get_public_access_block().bucket(bucket).send().await.aws("GetPublicAccessBlock");
    let Some(out) = absent_is_none("NoSuchPublicAccessBlockConfiguration", read)? else {
        return Ok(None);
    };
    Ok(out.public_access_block_configuration().map(|c| PublicAccessBlock {
        block_public_acls: c.block_public_acls().unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
        block_public_policy: c.block_public_policy().unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
    }))
}

pub async fn put_public_access_block(s3: &Client, bucket: &str, block: &PublicAccessBlock) -> Result<(), AwsError> {
    let configuration = PublicAccessBlockConfiguration::builder()
        .block_public_acls(block.block_public_acls)
        .ignore_public_acls(block.ignore_public_acls)
        .block_public_policy(block.block_public_policy)
        .restrict_public_buckets(block.restrict_public_buckets)
        .build();
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(configuration)
        .send()
        .await
        .aws("PutPublicAccessBlock")?;
    Ok(())
}

/// Removes the bucket's own public access block (a release of a bucket that had none).
pub async fn delete_public_access_block(s3: &Client, bucket: &str) -> Result<(), AwsError> {
    s3.delete_public_access_block().bucket(bucket).send().await.aws("DeletePublicAccessBlock")?;
    Ok(())
}

/// The bucket policy as S3 returns it (JSON text); `None` when the bucket has none.
pub async fn bucket_policy(s3: &Client, bucket: &str) -> Result<Option<String>, AwsError> {
    let read = s3.get_bucket_policy().bucket(bucket).send().await.aws("GetBucketPolicy");
    Ok(absent_is_none("NoSuchBucketPolicy", read)?.and_then(|out| out.policy().map(str::to_string)))
}

pub async fn put_bucket_policy(s3: &Client, bucket: &str, policy: &str) -> Result<(), AwsError> {
    s3.put_bucket_policy().bucket(bucket).policy(policy).send().await.aws("PutBucketPolicy")?;
    Ok(())
}

pub async fn delete_bucket_policy(s3: &Client, bucket: &str) -> Result<(), AwsError> {
    s3.delete_bucket_policy().bucket(bucket).send().await.aws("DeleteBucketPolicy")?;
    Ok(())
}

/// The bucket's tags (empty when it has none).
pub async fn bucket_tags(s3: &Client, bucket: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let read = s3.get_bucket_tagging().bucket(bucket).send().await.aws("GetBucketTagging");
    Ok(absent_is_none("NoSuchTagSet", read)?
        .map(|out| out.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
        .unwrap_or_default())
}

/// Sets `pairs` on the bucket, keeping its other tags: PutBucketTagging replaces the whole set,
/// so the set is read first and merged.
pub async fn merge_bucket_tags(s3: &Client, bucket: &str, pairs: &[(String, String)]) -> Result<(), AwsError> {
    let mut tags = bucket_tags(s3, bucket).await?;
    tags.extend(pairs.iter().cloned());
    let invalid = |e: aws_sdk_s3::error::BuildError| AwsError {
        action: "PutBucketTagging",
        code: "InvalidTag".into(),
        message: e.to_string(),
    };
    let tag_set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(invalid))
        .collect::<Result<Vec<_>, _>>()?;
    let tagging = Tagging::builder().set_tag_set(Some(tag_set)).build().map_err(invalid)?;
    s3.put_bucket_tagging().bucket(bucket).tagging(tagging).send().await.aws("PutBucketTagging")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_access_block_records_round_trip() {
        let before = PublicAccessBlock { block_public_policy: false, ..PublicAccessBlock::ALL };
        assert_eq!(PublicAccessBlock::from_record(&before.record()), Some(before));
        assert!(!before.record().contains(','), "S3 tag values take no comma");
        for bad in ["", "none", "BlockPublicAcls=true", "BlockPublicAcls=yes IgnorePublicAcls=true"] {
            assert_eq!(PublicAccessBlock::from_record(bad), None, "{bad}");
        }
    }
}
