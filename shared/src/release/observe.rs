//! The reads before a release plan: the case from the ledger, and how each instance it touched
//! looks now (ENIs and their groups, Firebreak's isolation groups, profile, Auto Scaling group),
//! its buckets and its ECS tasks.

use std::collections::BTreeMap;

use super::plan::{InstanceNow, ReleaseFacts};
use crate::aws::{ec2, fleet, isolation, AwsError, Clients};
use crate::cases::Case;

/// The instances a case touched: every `i-` resource it recorded something on, and its own
/// resource (whose tags are the fallback when the ledger lost the entries).
pub fn instances_of(case: &Case) -> Vec<String> {
    let mut ids: Vec<String> = case.recorded().into_keys().filter(|r| r.starts_with("i-")).collect();
    if case.resource.starts_with("i-") && !ids.contains(&case.resource) {
        ids.push(case.resource.clone());
    }
    ids.sort();
    ids
}

pub async fn observe(clients: &Clients, case: &Case, isolation_group_name: &str) -> Result<ReleaseFacts, AwsError> {
    let mut instances = Vec::new();
    for instance_id in instances_of(case) {
        let ec2_client = &clients.ec2;
        let (record, interfaces, association, group) = tokio::join!(
            Box::pin(ec2::describe_instance(ec2_client, &instance_id)),
            Box::pin(ec2::describe_interfaces(ec2_client, &instance_id)),
            Box::pin(ec2::instance_profile_association(ec2_client, &instance_id)),
            Box::pin(fleet::autoscaling_group_of(&clients.autoscaling, &instance_id)),
        );
        let Some(record) = record? else {
            instances.push(InstanceNow::gone(&instance_id));
            continue;
        };
        let interfaces = interfaces?;
        let mut vpcs: Vec<String> = interfaces.iter().map(|i| i.vpc_id.clone()).collect();
        vpcs.dedup();
        let groups = isolation::find_isolation_groups(ec2_client, &vpcs, isolation_group_name).await?;
        let firebreak_groups: BTreeMap<String, Vec<String>> = groups
            .into_iter()
            .map(|(vpc, g)| {
                let ids = [g.isolation, g.untracking].into_iter().flatten().map(|g| g.group_id).collect();
                (vpc, ids)
            })
            .collect();
        instances.push(InstanceNow {
            instance_id,
            exists: record.state != "terminated",
            state: record.state,
            tags: record.tags,
            interfaces,
            firebreak_groups,
            profile_arn: association?.map(|a| a.profile_arn),
            autoscaling_group: group?,
        });
    }
    // ENIs recorded apart from any instance (an ECS task's): read by id.
    let known: Vec<&str> = instances.iter().flat_map(|i| i.interfaces.iter().map(|e| e.id.as_str())).collect();
    let loose: Vec<String> =
        case.recorded().into_keys().filter(|r| r.starts_with("eni-") && !known.contains(&r.as_str())).collect();
    let mut interfaces = Vec::new();
    for eni in ec2::describe_interfaces_by_id(&clients.ec2, &loose).await? {
        let groups =
            isolation::find_isolation_groups(&clients.ec2, std::slice::from_ref(&eni.vpc_id), isolation_group_name)
                .await?;
        let ours =
            groups.into_values().flat_map(|g| [g.isolation, g.untracking]).flatten().map(|g| g.group_id).collect();
        interfaces.push((eni, ours));
    }
    let buckets = crate::bucket::observe::observe(&clients.s3, &crate::bucket::release::buckets_of(case)).await?;
    let tasks = super::task::observe(&clients.ecs, case).await?;
    Ok(ReleaseFacts { recorded: case.recorded(), instances, interfaces, buckets, tasks })
}
