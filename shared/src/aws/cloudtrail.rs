//! CloudTrail reads, as audit-posture makes them: the multi-region trails and whether they log.

use aws_sdk_cloudtrail::Client;

use crate::aws::{AwsError, AwsResultExt};

/// The ARN (or, lacking one, the name) of every multi-region trail that applies to this region,
/// shadow trails of other home regions and organisation trails included.
pub async fn multi_region_trails(cloudtrail: &Client) -> Result<Vec<String>, AwsError> {
    let trails = cloudtrail.describe_trails().include_shadow_trails(true).send().await.aws("DescribeTrails")?;
    Ok(trails
        .trail_list()
        .iter()
        .filter(|t| t.is_multi_region_trail() == Some(true))
        .filter_map(|t| t.trail_arn().or(t.name()).map(str::to_string))
        .collect())
}

/// Whether the trail is logging now (a stopped trail records nothing).
pub async fn is_logging(cloudtrail: &Client, trail: &str) -> Result<bool, AwsError> {
    let status = cloudtrail.get_trail_status().name(trail).send().await.aws("GetTrailStatus")?;
    Ok(status.is_logging() == Some(true))
}
