//! How each contain-bucket action is carried out, through the S3 wrappers. Each step reads what
//! it changes first, so a redelivery (or a retry after a lost response) finds it done.

use super::action::BucketAction;
use super::policy::{self, Merged};
use super::{BUCKET_POLICY_RECORD, PUBLIC_ACCESS_BLOCK_BEFORE};
use crate::aws::s3::{self, PublicAccessBlock};
use crate::aws::AwsError;
use crate::engine::{Acted, Execute, Progress};

pub struct Executor<'a> {
    pub s3: &'a aws_sdk_s3::Client,
}

fn unmergeable(error: policy::PolicyError) -> AwsError {
    AwsError { action: "PutBucketPolicy", code: "PolicyNotMerged".into(), message: error.to_string() }
}

impl Execute<BucketAction> for Executor<'_> {
    type Error = AwsError;

    async fn execute(&self, action: &BucketAction, mut progress: Progress) -> Result<Acted, AwsError> {
        match action {
            // Always planned as a skip; should it run, there is nothing to do.
            BucketAction::CheckBucket { .. } => Ok(Acted::already_done("nothing to contain")),
            BucketAction::TagBucket { bucket, tags } => {
                s3::merge_bucket_tags(self.s3, &bucket.name, tags).await?;
                Ok(Acted::done(action.to_string().replacen("tag", "tagged", 1)).recording(tags.clone()))
            }
            BucketAction::DenyBucketAccess { bucket, statement } => {
                let current = s3::bucket_policy(self.s3, &bucket.name).await?;
                match policy::merge(&bucket.name, current.as_deref(), statement).map_err(unmergeable)? {
                    Merged::AlreadyThere => {
                        // What the policy was is what it is without Firebreak's statement.
                        let before = match current.as_deref().map(|p| policy::without_ours(&bucket.name, p)) {
                            Some(Ok(Some(Some(rest)))) => rest,
                            _ => "none".into(),
                        };
                        Ok(Acted::already_done(format!("the policy has {} already", policy::STATEMENT_SID))
                            .recording([(BUCKET_POLICY_RECORD.to_string(), before)]))
                    }
                    Merged::Policy(merged) => {
                        s3::put_bucket_policy(self.s3, &bucket.name, &merged).await?;
                        progress.sent();
                        let kept = current.as_deref().map(statement_count).unwrap_or(0);
                        Ok(Acted::done(format!(
                            "{} merged into the policy of {bucket}; its {kept} other statement(s) kept",
                            policy::STATEMENT_SID
                        ))
                        .recording([(BUCKET_POLICY_RECORD.to_string(), current.unwrap_or_else(|| "none".into()))]))
                    }
                }
            }
            BucketAction::BlockPublicAccess { bucket, before } => {
                let record = [(
                    PUBLIC_ACCESS_BLOCK_BEFORE.to_string(),
                    before.map(|b| b.record()).unwrap_or_else(|| "none".into()),
                )];
                if s3::public_access_block(self.s3, &bucket.name).await? == Some(PublicAccessBlock::ALL) {
                    return Ok(Acted::already_done("public access is blocked already").recording(record));
                }
                s3::put_public_access_block(self.s3, &bucket.name, &PublicAccessBlock::ALL).await?;
                progress.sent();
                Ok(Acted::done(format!("public access blocked on {bucket} (all four settings)")).recording(record))
            }
        }
    }
}

fn statement_count(policy: &str) -> usize {
    match serde_json::from_str::<serde_json::Value>(policy).ok().map(|v| v["Statement"].clone()) {
        Some(serde_json::Value::Array(statements)) => {
            statements.iter().filter(|s| s["Sid"] != policy::STATEMENT_SID).count()
        }
        Some(serde_json::Value::Object(_)) => 1,
        _ => 0,
    }
}
