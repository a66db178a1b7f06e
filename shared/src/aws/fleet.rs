//! The fleet around an instance: its Auto Scaling group and load-balancer target groups.

use aws_sdk_elasticloadbalancingv2::types::{TargetDescription, TargetTypeEnum};
use futures::future::try_join_all;

use crate::aws::{AwsError, AwsResultExt};

pub async fn autoscaling_group_of(
    autoscaling: &aws_sdk_autoscaling::Client,
    instance_id: &str,
) -> Result<Option<String>, AwsError> {
    let response = autoscaling
        .describe_auto_scaling_instances()
        .instance_ids(instance_id)
        .send()
        .await
        .aws("DescribeAutoScalingInstances")?;
    Ok(response
        .auto_scaling_instances()
        .iter()
        .find(|i| i.instance_id() == Some(instance_id))
        .and_then(|i| i.auto_scaling_group_name().map(str::to_string)))
}

/// Detaches without lowering the desired capacity, so the group launches a healthy replacement
/// and never terminates the isolated instance for failing its health check.
pub async fn detach_from_autoscaling_group(
    autoscaling: &aws_sdk_autoscaling::Client,
    group_name: &str,
    instance_id: &str,
) -> Result<(), AwsError> {
    let detached = autoscaling
        .detach_instances()
        .auto_scaling_group_name(group_name)
        .instance_ids(instance_id)
        .should_decrement_desired_capacity(false)
        .send()
        .await
        .aws("DetachInstances");
    match detached {
        Ok(_) => Ok(()),
        // Refused because it is no longer in the group (a retry whose first answer was lost, a
        // concurrent delivery): the goal is reached. Any other refusal stands.
        Err(e) if autoscaling_group_of(autoscaling, instance_id).await?.is_none() => {
            tracing::info!(error = %e, "instance already out of its Auto Scaling group");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Puts the instance back into its Auto Scaling group (AttachInstances raises the desired
/// capacity by one, so no healthy instance is terminated to make room).
pub async fn attach_to_autoscaling_group(
    autoscaling: &aws_sdk_autoscaling::Client,
    group_name: &str,
    instance_id: &str,
) -> Result<(), AwsError> {
    autoscaling
        .attach_instances()
        .auto_scaling_group_name(group_name)
        .instance_ids(instance_id)
        .send()
        .await
        .aws("AttachInstances")?;
    Ok(())
}

/// Registers the instance in each target group again, on its recorded port.
pub async fn register(
    elbv2: &aws_sdk_elasticloadbalancingv2::Client,
    instance_id: &str,
    registrations: &[TargetRegistration],
) -> Result<(), AwsError> {
    try_join_all(registrations.iter().map(|r| async move {
        elbv2
            .register_targets()
            .target_group_arn(&r.target_group_arn)
            .targets(TargetDescription::builder().id(instance_id).set_port(r.port).build())
            .send()
            .await
            .aws("RegisterTargets")
    }))
    .await?;
    Ok(())
}

/// A registration of the instance in a target group.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetRegistration {
    pub target_group_arn: String,
    pub port: Option<i32>,
}

/// Every instance-type target group of the region: the candidates the instance may be registered
/// in (whether it is, only each group's target health tells).
pub async fn instance_target_groups(elbv2: &aws_sdk_elasticloadbalancingv2::Client) -> Result<Vec<String>, AwsError> {
    let mut target_group_arns = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = elbv2.describe_target_groups().set_marker(marker.take()).send().await.aws("DescribeTargetGroups")?;
        target_group_arns.extend(
            page.target_groups()
                .iter()
                .filter(|tg| tg.target_type().is_none_or(|t| *t == TargetTypeEnum::Instance))
                .filter_map(|tg| tg.target_group_arn().map(str::to_string)),
        );
        match page.next_marker() {
            Some(next) if !next.is_empty() => marker = Some(next.to_string()),
            _ => break,
        }
    }
    Ok(target_group_arns)
}

/// Deregisters the instance from those of `target_group_arns` that list it. Returns the
/// registrations removed (empty when there were none).
/// Where the instance is registered now, among the given target groups (each group's health).
pub async fn registrations_of(
    elbv2: &aws_sdk_elasticloadbalancingv2::Client,
    instance_id: &str,
    target_group_arns: &[String],
) -> Result<Vec<TargetRegistration>, AwsError> {
    Ok(try_join_all(target_group_arns.iter().map(|arn| async move {
        let health = elbv2.describe_target_health().target_group_arn(arn).send().await.aws("DescribeTargetHealth")?;
        Ok::<_, AwsError>(
            health
                .target_health_descriptions()
                .iter()
                .filter_map(|d| d.target())
                .filter(|t| t.id() == Some(instance_id))
                .map(|t| TargetRegistration { target_group_arn: arn.clone(), port: t.port() })
                .collect::<Vec<_>>(),
        )
    }))
    .await?
    .into_iter()
    .flatten()
    .collect())
}

/// Takes the instance out of each registration (gone already counts as done).
pub async fn deregister(
    elbv2: &aws_sdk_elasticloadbalancingv2::Client,
    instance_id: &str,
    registrations: &[TargetRegistration],
) -> Result<(), AwsError> {
    try_join_all(registrations.iter().map(|r| async move {
        let deregistered = elbv2
            .deregister_targets()
            .target_group_arn(&r.target_group_arn)
            .targets(TargetDescription::builder().id(instance_id).set_port(r.port).build())
            .send()
            .await
            .aws("DeregisterTargets");
        match deregistered {
            // Gone already (a retried call whose first answer was lost): the goal is reached.
            Err(e) if e.is_code("InvalidTarget") => Ok(()),
            other => other.map(|_| ()),
        }
    }))
    .await?;
    Ok(())
}

impl TargetRegistration {
    /// `<target group ARN>@<port>`, as recorded in the `firebreak:target-groups` tag.
    pub fn to_record(&self) -> String {
        format!("{}@{}", self.target_group_arn, self.port.map(|p| p.to_string()).unwrap_or_default())
    }

    pub fn from_record(record: &str) -> Option<Self> {
        let (arn, port) = record.rsplit_once('@')?;
        let port = if port.is_empty() { None } else { Some(port.parse().ok()?) };
        arn.starts_with("arn:").then(|| Self { target_group_arn: arn.to_string(), port })
    }
}
