//! How each release action is carried out, through the EC2, ELB, Auto Scaling, IAM, Lambda, S3
//! and ECS wrappers.

use super::action::ReleaseAction;
use crate::aws::{ec2, ecs, fleet, iam, isolation, lambda, s3, security_groups, AwsError, Clients};
use crate::bucket::release as bucket;
use crate::engine::{Acted, Execute, Progress};
use crate::revoke::Principal;

pub struct Executor<'a> {
    pub clients: &'a Clients,
}

impl Execute<ReleaseAction> for Executor<'_> {
    type Error = AwsError;

    async fn execute(&self, action: &ReleaseAction, _: Progress) -> Result<Acted, AwsError> {
        let ec2_client = &self.clients.ec2;
        match action {
            ReleaseAction::RestoreInterfaceGroups { eni_id, group_ids } => {
                isolation::set_interface_groups(ec2_client, eni_id, group_ids).await?;
                Ok(Acted::done(format!("back in [{}]", group_ids.join(", "))))
            }
            ReleaseAction::AssociateInstanceProfile { instance_id, profile_arn } => {
                ec2::associate_instance_profile(ec2_client, instance_id, profile_arn).await?;
                Ok(Acted::done(format!("{profile_arn} associated")))
            }
            ReleaseAction::RestoreInstanceProfile { instance_id, forensic_profile, profile_arn } => {
                super::forensic::restore_original_profile(
                    ec2_client,
                    instance_id,
                    forensic_profile,
                    profile_arn.as_deref(),
                )
                .await
            }
            ReleaseAction::RegisterInTargetGroups { instance_id, registrations } => {
                fleet::register(&self.clients.elbv2, instance_id, registrations).await?;
                Ok(Acted::done(format!("registered in {} target group(s)", registrations.len())))
            }
            ReleaseAction::ReauthorizeIngress { group_id, rules } => {
                let mut added = Vec::new();
                for rule in rules {
                    if security_groups::authorize_ingress(ec2_client, group_id, rule, None).await? {
                        added.push(rule.record());
                    }
                }
                Ok(if added.is_empty() {
                    Acted::already_done("every revoked rule is in place already")
                } else {
                    Acted::done(format!("authorized again: {}", added.join(", ")))
                })
            }
            ReleaseAction::RestoreTerminationSettings { instance_id, protected, shutdown_behavior } => {
                ec2::set_termination_settings(ec2_client, instance_id, *protected, shutdown_behavior).await?;
                Ok(Acted::done(action.to_string()))
            }
            ReleaseAction::AttachToAutoScalingGroup { instance_id, group_name } => {
                // A group that is gone or at its maximum size refuses: reported, the rest stands.
                fleet::attach_to_autoscaling_group(&self.clients.autoscaling, group_name, instance_id).await?;
                Ok(Acted::done(format!("attached to {group_name}")))
            }
            ReleaseAction::RestoreDeleteOnTermination { instance_id, device_names } => {
                crate::disk_evidence::execute::restore_delete_on_termination(ec2_client, instance_id, device_names)
                    .await
            }
            ReleaseAction::RemovePolicy { principal, policy_name } => {
                let removed = match principal {
                    Principal::User(name) => iam::delete_user_policy(&self.clients.iam, name, policy_name).await?,
                    Principal::Role(name) => iam::delete_role_policy(&self.clients.iam, name, policy_name).await?,
                };
                Ok(if removed {
                    Acted::done(format!("{policy_name} deleted"))
                } else {
                    Acted::already_done(format!("{policy_name} is gone already"))
                })
            }
            ReleaseAction::ActivateAccessKey { user_name, access_key_id } => {
                iam::activate_access_key(&self.clients.iam, user_name, access_key_id).await?;
                Ok(Acted::done(format!("{access_key_id} is Active")))
            }
            ReleaseAction::TagReleased { instance_id, tags } => {
                ec2::create_tags(ec2_client, instance_id, tags).await?;
                Ok(Acted::done(tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")))
            }
            ReleaseAction::RestoreFunctionConcurrency { function_name, reserved } => {
                match reserved {
                    Some(n) => lambda::put_function_concurrency(&self.clients.lambda, function_name, *n).await?,
                    None => lambda::delete_function_concurrency(&self.clients.lambda, function_name).await?,
                }
                Ok(Acted::done(action.to_string()))
            }
            ReleaseAction::TagFunctionReleased { function_arn, tags } => {
                lambda::tag_function(&self.clients.lambda, function_arn, tags).await?;
                Ok(Acted::done(tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")))
            }
            ReleaseAction::TagPrincipalReleased { principal, tags } => {
                match principal {
                    Principal::User(name) => iam::tag_user(&self.clients.iam, name, tags).await?,
                    Principal::Role(name) => iam::tag_role(&self.clients.iam, name, tags).await?,
                }
                Ok(Acted::done(tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")))
            }
            ReleaseAction::RestorePublicAccessBlock { bucket, before } => {
                Ok(Acted::done(bucket::restore_public_access_block(&self.clients.s3, &bucket.name, *before).await?))
            }
            ReleaseAction::RestoreBucketPolicy { bucket, recorded } => {
                Ok(match bucket::restore_policy(&self.clients.s3, &bucket.name, recorded.as_deref()).await? {
                    Some(detail) => Acted::done(detail),
                    None => Acted::already_done("Firebreak's statement is gone already"),
                })
            }
            ReleaseAction::UnprotectTask { cluster, task_arn } => {
                if !ecs::task_protected(&self.clients.ecs, cluster, task_arn).await? {
                    return Ok(Acted::already_done("scale-in protection is off already"));
                }
                ecs::unprotect_task(&self.clients.ecs, cluster, task_arn).await?;
                Ok(Acted::done("scale-in protection off: its service may replace it again"))
            }
            ReleaseAction::TagTaskReleased { task_arn, tags } => {
                ecs::tag_task(&self.clients.ecs, task_arn, tags).await?;
                Ok(Acted::done(tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")))
            }
            ReleaseAction::TagBucketReleased { bucket, tags } => {
                s3::merge_bucket_tags(&self.clients.s3, &bucket.name, tags).await?;
                Ok(Acted::done(tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")))
            }
        }
    }
}
