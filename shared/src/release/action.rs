//! The release's actions: each puts back one thing a case changed, from what the case recorded.
//! Evidence (snapshots, the case's tags) is never removed.
//!
//! 1. **Reconnect** — each ENI back to its recorded groups (only if it is still in Firebreak's
//!    isolation group), the instance profile, the target groups, the ports' revoked rules.
//! 2. **Restore** — termination protection and shutdown behaviour, an ECS task's scale-in
//!    protection, the Auto Scaling group (after the ENIs, so the group's health check sees a
//!    reachable instance), and, when asked, the
//!    credentials (Firebreak's deny policies removed, the disabled keys active again).
//! 3. **Mark** — the instance (an ECS task) tagged released (who, when).
//!
//! A contained bucket's public access block goes back in Reconnect and Firebreak's statement
//! leaves its policy in Restore (S3 refuses a public policy while the block is on).

use std::fmt;

use serde::Serialize;

use crate::aws::fleet::TargetRegistration;
use crate::aws::s3::PublicAccessBlock;
use crate::bucket::Bucket;
use crate::engine;
use crate::exposure::IngressRule;
use crate::revoke::Principal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Reconnect,
    Restore,
    Mark,
}

impl engine::Phase for Phase {
    fn stage(self) -> u8 {
        match self {
            Self::Reconnect => 0,
            Self::Restore => 1,
            Self::Mark => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ReleaseAction {
    RestoreInterfaceGroups {
        eni_id: String,
        group_ids: Vec<String>,
    },
    AssociateInstanceProfile {
        instance_id: String,
        profile_arn: String,
    },
    /// The forensic profile a quarantine put in place goes: the original back (`None`: it had none).
    RestoreInstanceProfile {
        instance_id: String,
        forensic_profile: String,
        profile_arn: Option<String>,
    },
    RegisterInTargetGroups {
        instance_id: String,
        registrations: Vec<TargetRegistration>,
    },
    ReauthorizeIngress {
        group_id: String,
        rules: Vec<IngressRule>,
    },
    RestoreTerminationSettings {
        instance_id: String,
        protected: bool,
        shutdown_behavior: String,
    },
    AttachToAutoScalingGroup {
        instance_id: String,
        group_name: String,
    },
    /// The devices whose DeleteOnTermination was on before the case, turned on again where it
    /// is still Firebreak's false.
    RestoreDeleteOnTermination {
        instance_id: String,
        device_names: Vec<String>,
    },
    RemovePolicy {
        principal: Principal,
        policy_name: String,
    },
    ActivateAccessKey {
        user_name: String,
        access_key_id: String,
    },
    TagReleased {
        instance_id: String,
        tags: Vec<(String, String)>,
    },
    TagPrincipalReleased {
        principal: Principal,
        tags: Vec<(String, String)>,
    },
    /// A contained Lambda function: `reserved` as before the case, `None` no reservation.
    RestoreFunctionConcurrency {
        function_name: String,
        reserved: Option<i32>,
    },
    TagFunctionReleased {
        function_arn: String,
        tags: Vec<(String, String)>,
    },
    RestorePublicAccessBlock {
        bucket: Bucket,
        before: Option<PublicAccessBlock>,
    },
    RestoreBucketPolicy {
        bucket: Bucket,
        recorded: Option<String>,
    },
    TagBucketReleased {
        bucket: Bucket,
        tags: Vec<(String, String)>,
    },
    /// The scale-in protection Firebreak put on an ECS task, turned off.
    UnprotectTask {
        cluster: String,
        task_arn: String,
    },
    TagTaskReleased {
        task_arn: String,
        tags: Vec<(String, String)>,
    },
}

impl engine::Action for ReleaseAction {
    type Phase = Phase;
    /// A release contains nothing: its outcome is completed (with errors), never contained.
    const CONTAINS: bool = false;

    fn name(&self) -> &'static str {
        match self {
            Self::RestoreInterfaceGroups { .. } => "restore_interface_groups",
            Self::AssociateInstanceProfile { .. } => "associate_instance_profile",
            Self::RestoreInstanceProfile { .. } => "restore_instance_profile",
            Self::RegisterInTargetGroups { .. } => "register_in_target_groups",
            Self::ReauthorizeIngress { .. } => "reauthorize_ingress",
            Self::RestoreTerminationSettings { .. } => "restore_termination_settings",
            Self::AttachToAutoScalingGroup { .. } => "attach_to_autoscaling_group",
            Self::RestoreDeleteOnTermination { .. } => "restore_delete_on_termination",
            Self::RemovePolicy { .. } => "remove_policy",
            Self::ActivateAccessKey { .. } => "activate_access_key",
            Self::TagReleased { .. } => "tag_released",
            Self::TagPrincipalReleased { .. } => "tag_principal_released",
            Self::RestoreFunctionConcurrency { .. } => "restore_function_concurrency",
            Self::TagFunctionReleased { .. } => "tag_function_released",
            Self::RestorePublicAccessBlock { .. } => "restore_public_access_block",
            Self::RestoreBucketPolicy { .. } => "restore_bucket_policy",
            Self::TagBucketReleased { .. } => "tag_bucket_released",
            Self::UnprotectTask { .. } => "unprotect_task",
            Self::TagTaskReleased { .. } => "tag_task_released",
        }
    }

    fn phase(&self) -> Phase {
        match self {
            Self::RestoreInterfaceGroups { .. }
            | Self::AssociateInstanceProfile { .. }
            | Self::RestoreInstanceProfile { .. }
            | Self::RegisterInTargetGroups { .. }
            | Self::ReauthorizeIngress { .. } => Phase::Reconnect,
            Self::RestoreTerminationSettings { .. }
            | Self::AttachToAutoScalingGroup { .. }
            | Self::RemovePolicy { .. }
            | Self::ActivateAccessKey { .. } => Phase::Restore,
            Self::RestoreFunctionConcurrency { .. } => Phase::Restore,
            Self::RestoreDeleteOnTermination { .. } => Phase::Restore,
            Self::TagReleased { .. } | Self::TagPrincipalReleased { .. } => Phase::Mark,
            Self::TagFunctionReleased { .. } => Phase::Mark,
            // The block first: with BlockPublicPolicy on, S3 refuses a policy that is public.
            Self::RestorePublicAccessBlock { .. } => Phase::Reconnect,
            Self::RestoreBucketPolicy { .. } => Phase::Restore,
            Self::TagBucketReleased { .. } => Phase::Mark,
            Self::UnprotectTask { .. } => Phase::Restore,
            Self::TagTaskReleased { .. } => Phase::Mark,
        }
    }

    fn resource(&self) -> String {
        match self {
            Self::RestoreInterfaceGroups { eni_id, .. } => eni_id.clone(),
            Self::ReauthorizeIngress { group_id, .. } => group_id.clone(),
            Self::AssociateInstanceProfile { instance_id, .. }
            | Self::RestoreInstanceProfile { instance_id, .. }
            | Self::RegisterInTargetGroups { instance_id, .. }
            | Self::RestoreTerminationSettings { instance_id, .. }
            | Self::AttachToAutoScalingGroup { instance_id, .. }
            | Self::RestoreDeleteOnTermination { instance_id, .. }
            | Self::TagReleased { instance_id, .. } => instance_id.clone(),
            Self::RemovePolicy { principal, .. } | Self::TagPrincipalReleased { principal, .. } => {
                principal.to_string()
            }
            Self::ActivateAccessKey { access_key_id, .. } => access_key_id.clone(),
            Self::RestoreFunctionConcurrency { function_name, .. } => format!("function/{function_name}"),
            Self::TagFunctionReleased { function_arn, .. } => function_arn.clone(),
            Self::RestorePublicAccessBlock { bucket, .. }
            | Self::RestoreBucketPolicy { bucket, .. }
            | Self::TagBucketReleased { bucket, .. } => bucket.arn.clone(),
            Self::UnprotectTask { task_arn, .. } | Self::TagTaskReleased { task_arn, .. } => task_arn.clone(),
        }
    }

    /// Nothing here contains a threat: a failed step is an incomplete release, reported.
    fn is_containment(&self) -> bool {
        false
    }
}

impl fmt::Display for ReleaseAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RestoreInterfaceGroups { eni_id, group_ids } => {
                write!(f, "move {eni_id} from the isolation group back to [{}]", group_ids.join(", "))
            }
            Self::AssociateInstanceProfile { instance_id, profile_arn } => {
                write!(f, "associate instance profile {profile_arn} with {instance_id} again")
            }
            Self::RestoreInstanceProfile { instance_id, forensic_profile, profile_arn } => write!(
                f,
                "replace the forensic profile {forensic_profile} of {instance_id} with {}",
                profile_arn.as_deref().unwrap_or("none (it had no instance profile)")
            ),
            Self::RegisterInTargetGroups { instance_id, registrations } => write!(
                f,
                "register {instance_id} in {}",
                registrations.iter().map(TargetRegistration::to_record).collect::<Vec<_>>().join(", ")
            ),
            Self::ReauthorizeIngress { group_id, rules } => write!(
                f,
                "authorize again in {group_id}: {}",
                rules.iter().map(IngressRule::record).collect::<Vec<_>>().join(", ")
            ),
            Self::RestoreTerminationSettings { instance_id, protected, shutdown_behavior } => write!(
                f,
                "termination protection {} and shutdown behaviour {shutdown_behavior} on {instance_id}, as before the case",
                if *protected { "on" } else { "off" }
            ),
            Self::AttachToAutoScalingGroup { instance_id, group_name } => {
                write!(f, "attach {instance_id} to Auto Scaling group {group_name} again (its desired capacity grows by one)")
            }
            Self::RestoreDeleteOnTermination { instance_id, device_names } => write!(
                f,
                "turn DeleteOnTermination on again for {} of {instance_id} where Firebreak turned it off",
                device_names.join(", ")
            ),
            Self::RemovePolicy { principal, policy_name } => write!(f, "delete Firebreak's policy {policy_name} from {principal}"),
            Self::ActivateAccessKey { user_name, access_key_id } => {
                write!(f, "make {access_key_id} of {user_name} Active again")
            }
            Self::TagReleased { instance_id, tags } => write!(
                f,
                "tag {instance_id} with {}",
                tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            ),
            Self::TagPrincipalReleased { principal, tags } => write!(
                f,
                "tag {principal} with {}",
                tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            ),
            Self::RestoreFunctionConcurrency { function_name, reserved: Some(n) } => {
                write!(f, "reserve concurrency {n} for {function_name} again, as before the case")
            }
            Self::RestoreFunctionConcurrency { function_name, reserved: None } => {
                write!(f, "delete the reservation of {function_name}: unreserved, as before the case")
            }
            Self::TagFunctionReleased { function_arn, tags } => write!(
                f,
                "tag {function_arn} with {}",
                tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            ),
            Self::RestorePublicAccessBlock { bucket, before } => match before {
                Some(block) => write!(f, "put the public access block of {bucket} back to {}", block.record()),
                None => write!(f, "delete the public access block of {bucket}: it had none before the case"),
            },
            Self::RestoreBucketPolicy { bucket, .. } => {
                write!(f, "take Firebreak's statement out of the policy of {bucket} (the policy before the case)")
            }
            Self::TagBucketReleased { bucket, tags } => write!(
                f,
                "tag bucket {bucket} with {}",
                tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            ),
            Self::UnprotectTask { task_arn, .. } => {
                write!(f, "turn off the scale-in protection Firebreak put on {task_arn}")
            }
            Self::TagTaskReleased { task_arn, tags } => write!(
                f,
                "tag {task_arn} with {}",
                tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}
