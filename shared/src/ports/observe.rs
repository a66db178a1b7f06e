//! The groups a trigger concerns, read with their tags and ingress rules.

use super::trigger::PortsTrigger;
use super::PortsError;
use crate::aws::security_groups::{groups_of_instance, read_groups};
use crate::exposure::GroupFacts;

/// A finding's instance: the groups of every one of its ENIs; a CloudTrail record: the group it
/// names; the schedule: every group in the region.
pub async fn observe(ec2: &aws_sdk_ec2::Client, trigger: &PortsTrigger) -> Result<Vec<GroupFacts>, PortsError> {
    let scope = match trigger {
        PortsTrigger::Finding(finding) => {
            let instance_id = &finding.ec2_instance()?.instance_id;
            let Some(group_ids) = groups_of_instance(ec2, instance_id).await? else {
                return Err(PortsError::InstanceNotFound(instance_id.clone()));
            };
            Some(group_ids)
        }
        PortsTrigger::ApiCall(call) => Some(vec![call.group_id.clone()]),
        PortsTrigger::Sweep(_) => None,
    };
    Ok(read_groups(ec2, scope.as_deref()).await?)
}
