//! The reads a quarantine plan needs, side by side.

use std::collections::BTreeMap;

use super::config::QuarantineConfig;
use super::plan::{InstanceFacts, VpcGroups};
use super::request::QuarantineRequest;
use super::QuarantineError;
use crate::aws::Clients;
use crate::aws::{ec2, fleet, isolation};

/// Everything that was read about an instance before deciding.
pub struct Observed {
    pub facts: InstanceFacts,
    pub groups: BTreeMap<String, VpcGroups>,
}

/// Reads all the plan needs, in parallel: one round trip when the event names the VPCs.
pub async fn observe(
    clients: &Clients,
    config: &QuarantineConfig,
    request: &QuarantineRequest,
) -> Result<Observed, QuarantineError> {
    let instance_id = request.instance_id.as_str();
    // Only what containment and the plan need. What a step needs only for itself (termination
    // settings, earlier snapshots, the profile association) that step reads when it runs, once
    // the ENIs' moves are on their way. Boxed: SDK futures are large, and several side by side
    // would overflow a small thread stack.
    let (instance, interfaces, autoscaling_group, target_groups, groups) = tokio::join!(
        Box::pin(ec2::describe_instance(&clients.ec2, instance_id)),
        Box::pin(ec2::describe_interfaces(&clients.ec2, instance_id)),
        Box::pin(fleet::autoscaling_group_of(&clients.autoscaling, instance_id)),
        Box::pin(fleet::instance_target_groups(&clients.elbv2)),
        Box::pin(isolation::find_isolation_groups(&clients.ec2, &request.vpc_hints, &config.isolation_group_name)),
    );
    let Some(instance) = instance? else {
        return Err(QuarantineError::InstanceNotFound {
            instance_id: instance_id.to_string(),
            account_id: request.signal.account.clone(),
            region: request.signal.region.clone(),
        });
    };
    let interfaces = interfaces?;
    let mut groups = groups?;
    // The event's VPCs are a hint for speed; the instance's real interfaces decide.
    let unlooked: Vec<String> =
        interfaces.iter().map(|i| i.vpc_id.clone()).filter(|v| !groups.contains_key(v)).collect();
    if !unlooked.is_empty() {
        groups.extend(isolation::find_isolation_groups(&clients.ec2, &unlooked, &config.isolation_group_name).await?);
    }
    Ok(Observed {
        facts: InstanceFacts {
            instance_id: instance_id.to_string(),
            state: instance.state,
            network_interfaces: interfaces,
            volume_ids: instance.volume_ids,
            tags: instance.tags,
            autoscaling_group: autoscaling_group?,
            instance_profile_arn: instance.instance_profile_arn,
            target_group_arns: target_groups?,
        },
        groups,
    })
}

impl Observed {
    pub(super) fn summary(&self) -> String {
        let facts = &self.facts;
        format!(
            "{}, {} ENI(s), {} volume(s), Auto Scaling group {}, instance profile {}",
            facts.state,
            facts.network_interfaces.len(),
            facts.volume_ids.len(),
            facts.autoscaling_group.as_deref().unwrap_or("none"),
            facts.instance_profile_arn.as_deref().unwrap_or("none"),
        )
    }
}
