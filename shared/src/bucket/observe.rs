//! The reads before deciding: each bucket's tags, policy and public access block, every bucket
//! and every read side by side.

use std::collections::BTreeMap;

use futures::future::join_all;

use super::action::Bucket;
use crate::aws::s3::{self, PublicAccessBlock, NO_SUCH_BUCKET};
use crate::aws::AwsError;

/// One bucket as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketFacts {
    pub bucket: Bucket,
    /// False when S3 says there is no such bucket (deleted, or not in this account).
    pub exists: bool,
    pub tags: BTreeMap<String, String>,
    pub policy: Option<String>,
    pub public_access_block: Option<PublicAccessBlock>,
}

pub async fn observe_bucket(s3_client: &aws_sdk_s3::Client, bucket: &Bucket) -> Result<BucketFacts, AwsError> {
    let name = &bucket.name;
    let (tags, policy, block) = tokio::join!(
        Box::pin(s3::bucket_tags(s3_client, name)),
        Box::pin(s3::bucket_policy(s3_client, name)),
        Box::pin(s3::public_access_block(s3_client, name)),
    );
    let gone = [tags.as_ref().err(), policy.as_ref().err(), block.as_ref().err()]
        .into_iter()
        .flatten()
        .any(|e| e.is_code(NO_SUCH_BUCKET));
    if gone {
        return Ok(BucketFacts {
            bucket: bucket.clone(),
            exists: false,
            tags: BTreeMap::new(),
            policy: None,
            public_access_block: None,
        });
    }
    Ok(BucketFacts { bucket: bucket.clone(), exists: true, tags: tags?, policy: policy?, public_access_block: block? })
}

pub async fn observe(s3_client: &aws_sdk_s3::Client, buckets: &[Bucket]) -> Result<Vec<BucketFacts>, AwsError> {
    join_all(buckets.iter().map(|b| Box::pin(observe_bucket(s3_client, b)))).await.into_iter().collect()
}
