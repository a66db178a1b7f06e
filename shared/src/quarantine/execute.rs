//! How each quarantine action is carried out, through the EC2, Auto Scaling and ELB wrappers.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::action::Action;
use super::config::QuarantineConfig;
use crate::aws::ec2;
use crate::aws::fleet;
use crate::aws::isolation::{self, IsolationGroupIds};
use crate::aws::snapshots::{self, SnapshotOutcome};
use crate::aws::{AwsError, Clients};
use crate::disk_evidence::execute as disk_evidence;
use crate::engine::{Acted, Execute, Progress};
use crate::tags;

pub struct Executor<'a> {
    pub clients: &'a Clients,
    pub config: &'a QuarantineConfig,
    /// The isolation groups of each VPC: those read before the plan, and those the Prepare
    /// phase finds or creates.
    pub group_ids: Mutex<BTreeMap<String, IsolationGroupIds>>,
}

impl Execute<Action> for Executor<'_> {
    type Error = AwsError;

    async fn execute(&self, action: &Action, progress: Progress) -> Result<Acted, AwsError> {
        let ec2 = &self.clients.ec2;
        match action {
            Action::EnsureIsolationGroups { vpc_id, with_untracking } => {
                ensure_groups(ec2, &self.config.isolation_group_name, &self.group_ids, vpc_id, *with_untracking).await
            }
            Action::DetachFromAutoScalingGroup { group_name, instance_id } => {
                let record = [(tags::AUTOSCALING_GROUP.to_string(), group_name.clone())];
                ec2::create_tags(ec2, instance_id, &record).await?;
                fleet::detach_from_autoscaling_group(&self.clients.autoscaling, group_name, instance_id).await?;
                Ok(Acted::done(format!("detached from {group_name}; the group launches a replacement"))
                    .recording_on(instance_id, record))
            }
            Action::ProtectFromTermination { instance_id, record } => {
                let before = ec2::termination_settings(ec2, instance_id).await?;
                let recorded = if *record {
                    let (protected, stops) = before;
                    let record = vec![
                        (tags::TERMINATION_PROTECTION_BEFORE.to_string(), protected.to_string()),
                        (
                            tags::SHUTDOWN_BEHAVIOR_BEFORE.to_string(),
                            if stops { "stop" } else { "terminate" }.to_string(),
                        ),
                    ];
                    ec2::create_tags(ec2, instance_id, &record).await?;
                    record
                } else {
                    Vec::new()
                };
                Ok(if ec2::protect_from_termination(ec2, instance_id, before).await? {
                    Acted::done("termination protection on; shutdown behaviour stop").recording(recorded)
                } else {
                    Acted::already_done("already protected").recording(recorded)
                })
            }
            Action::IsolateNetworkInterface { .. } => {
                isolate_network_interface(ec2, &self.group_ids, action, progress).await
            }
            Action::SnapshotVolumes { instance_id, tags, .. } => {
                Ok(match snapshots::snapshot_volumes(ec2, instance_id, tags).await? {
                    SnapshotOutcome::Created(snapshots) => Acted::done(format!("snapshots {}", snapshots.join(", "))),
                    SnapshotOutcome::AlreadyTaken(snapshots) => {
                        Acted::already_done(format!("already snapshotted for this case: {}", snapshots.join(", ")))
                    }
                    SnapshotOutcome::DuplicateRemoved { kept, removed } => Acted::done(format!(
                        "a concurrent delivery snapshotted the instance too: kept {}, removed the duplicates {}",
                        kept.join(", "),
                        removed.join(", ")
                    )),
                })
            }
            Action::DeregisterFromTargetGroups { instance_id, target_group_arns, recorded } => {
                let elbv2 = &self.clients.elbv2;
                let registered = fleet::registrations_of(elbv2, instance_id, target_group_arns).await?;
                if registered.is_empty() {
                    return Ok(Acted::already_done("not registered in any target group"));
                }
                // Recorded first, with what an earlier run recorded, so a crash loses nothing.
                let mut record = recorded.clone();
                record.extend(registered.iter().map(|r| r.to_record()).filter(|r| !recorded.contains(r)));
                let record = tags::list_tags(tags::TARGET_GROUPS, &record);
                ec2::create_tags(ec2, instance_id, &record).await?;
                fleet::deregister(elbv2, instance_id, &registered).await?;
                let groups: Vec<&str> = registered.iter().map(|r| r.target_group_arn.as_str()).collect();
                Ok(Acted::done(format!("deregistered from {}", groups.join(", "))).recording(record))
            }
            Action::DisassociateInstanceProfile { profile_arn, instance_id } => {
                let record = [(tags::INSTANCE_PROFILE.to_string(), profile_arn.clone())];
                let (recorded, association) = tokio::join!(
                    ec2::create_tags(ec2, instance_id, &record),
                    ec2::instance_profile_association(ec2, instance_id)
                );
                recorded?;
                let Some(association) = association? else {
                    return Ok(Acted::already_done("no instance profile associated any more"));
                };
                ec2::disassociate_instance_profile(ec2, &association.association_id).await?;
                Ok(Acted::done(format!(
                    "removed {} (credentials already issued stay valid until they expire)",
                    association.profile_arn
                ))
                .recording_on(instance_id, record))
            }
            Action::ReplaceInstanceProfile { .. }
            | Action::AllowSsmEndpoints { .. }
            | Action::CaptureVolatileState { .. }
            | Action::SaveInstanceEvidence { .. } => {
                crate::evidence::execute::run_evidence_step(self.clients, &self.group_ids, action).await
            }
            Action::TagInstance { instance_id, tags } => {
                ec2::create_tags(ec2, instance_id, tags).await?;
                Ok(Acted::done(tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")))
            }
            Action::StopInstance { instance_id } => {
                ec2::stop_instance(ec2, instance_id).await?;
                Ok(Acted::done("stop requested"))
            }
            Action::KeepVolumesOnTermination { instance_id, recorded } => {
                disk_evidence::keep_volumes(ec2, instance_id, recorded).await
            }
            Action::CopySnapshotsToForensicAccount {
                instance_id,
                instance_account,
                kms_key_arn,
                forensic_account,
                tags,
            } => {
                let request =
                    disk_evidence::CopyRequest { instance_id, instance_account, kms_key_arn, forensic_account, tags };
                disk_evidence::copy_and_share(self.clients, &request).await
            }
            Action::StartMalwareScan { instance_id, resource_arn, started_at, client_token } => {
                disk_evidence::start_malware_scan(self.clients, instance_id, resource_arn, started_at, client_token)
                    .await
            }
        }
    }
}

/// The isolation groups of a VPC, found or created, remembered for the moves that follow. Shared
/// with every capability that isolates an ENI (quarantine-task).
pub async fn ensure_groups(
    ec2: &aws_sdk_ec2::Client,
    isolation_group_name: &str,
    group_ids: &Mutex<BTreeMap<String, IsolationGroupIds>>,
    vpc_id: &str,
    with_untracking: bool,
) -> Result<Acted, AwsError> {
    let ids = isolation::ensure_isolation_groups(ec2, vpc_id, isolation_group_name, with_untracking).await?;
    let detail = format!(
        "isolation group {}{}",
        ids.isolation,
        ids.untracking.as_ref().map(|u| format!(", untracking group {u}")).unwrap_or_default()
    );
    if let Ok(mut known) = group_ids.lock() {
        known.insert(vpc_id.to_string(), ids);
    }
    Ok(Acted::done(detail))
}

/// One ENI into its VPC's isolation group, its original groups recorded (an
/// `Action::IsolateNetworkInterface`; any other action is refused).
pub async fn isolate_network_interface(
    ec2: &aws_sdk_ec2::Client,
    group_ids: &Mutex<BTreeMap<String, IsolationGroupIds>>,
    action: &Action,
    mut progress: Progress,
) -> Result<Acted, AwsError> {
    let Action::IsolateNetworkInterface {
        eni_id,
        vpc_id,
        original_group_ids,
        current_group_ids,
        record_original_groups,
        via_untracking_group,
        sole_interface_of,
    } = action
    else {
        return Err(AwsError {
            action: "ModifyNetworkInterfaceAttribute",
            code: "NotAnIsolation".into(),
            message: format!("not an ENI isolation: {action}"),
        });
    };
    let known = group_ids.lock().ok().and_then(|known| known.get(vpc_id).cloned());
    let ids = known.ok_or_else(|| AwsError {
        action: "ModifyNetworkInterfaceAttribute",
        code: "NoIsolationGroup".into(),
        message: format!("no isolation group is available in {vpc_id}"),
    })?;
    let ids = IsolationGroupIds {
        isolation: ids.isolation,
        untracking: if *via_untracking_group { ids.untracking } else { None },
    };
    let record = record_original_groups.then_some(original_group_ids.as_slice());
    let moving = || progress.sent();
    let sole = sole_interface_of.as_deref();
    isolation::isolate_interface(ec2, eni_id, sole, &ids, current_group_ids, record, moving).await?;
    Ok(Acted::done(format!(
        "moved from [{}] to {}{}",
        original_group_ids.join(", "),
        ids.isolation,
        ids.untracking.map(|u| format!(" through {u}")).unwrap_or_default()
    ))
    .recording(tags::list_tags(tags::ORIGINAL_GROUPS, original_group_ids)))
}
