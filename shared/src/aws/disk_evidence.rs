//! EC2 and GuardDuty calls of disk evidence: volumes kept on termination, snapshot copies
//! re-encrypted and shared with the forensic account, an on-demand malware scan.

use aws_sdk_ec2::types::{
    EbsInstanceBlockDeviceSpecification, InstanceBlockDeviceMappingSpecification, OperationType, ResourceType,
    SnapshotAttributeName, TagSpecification,
};
use aws_sdk_ec2::Client;

use super::ec2::{filter, ignoring, tag_map, to_tags};
use super::throttle::{persist, Priority};
use crate::aws::{AwsError, AwsResultExt};
use crate::tags;

/// One EBS volume attached to an instance, as DescribeInstances lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockDevice {
    pub device_name: String,
    pub volume_id: String,
    pub delete_on_termination: bool,
}

pub async fn block_devices(ec2: &Client, instance_id: &str) -> Result<Vec<BlockDevice>, AwsError> {
    // Like every preservation call, a throttled one waits for its bucket rather than fail the step.
    let response = persist(Priority::Preservation, || async {
        ec2.describe_instances().instance_ids(instance_id).send().await.aws("DescribeInstances")
    })
    .await?;
    Ok(response
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| i.instance_id() == Some(instance_id))
        .flat_map(|i| i.block_device_mappings())
        .filter_map(|m| {
            let ebs = m.ebs()?;
            Some(BlockDevice {
                device_name: m.device_name()?.to_string(),
                volume_id: ebs.volume_id().unwrap_or_default().to_string(),
                delete_on_termination: ebs.delete_on_termination().unwrap_or(false),
            })
        })
        .collect())
}

/// Sets DeleteOnTermination of the named devices, in one ModifyInstanceAttribute call.
pub async fn set_delete_on_termination(
    ec2: &Client,
    instance_id: &str,
    device_names: &[String],
    deleted: bool,
) -> Result<(), AwsError> {
    if device_names.is_empty() {
        return Ok(());
    }
    let mappings: Vec<_> = device_names
        .iter()
        .map(|device| {
            InstanceBlockDeviceMappingSpecification::builder()
                .device_name(device)
                .ebs(EbsInstanceBlockDeviceSpecification::builder().delete_on_termination(deleted).build())
                .build()
        })
        .collect();
    persist(Priority::Preservation, || async {
        ec2.modify_instance_attribute()
            .instance_id(instance_id)
            .set_block_device_mappings(Some(mappings.clone()))
            .send()
            .await
            .aws("ModifyInstanceAttribute")
    })
    .await?;
    Ok(())
}

/// A snapshot as the copy step needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotState {
    pub snapshot_id: String,
    /// pending, completed, error, recoverable, recovering.
    pub state: String,
    /// For a copy: the snapshot it was copied from (`firebreak:source-snapshot`).
    pub source: Option<String>,
    /// Start time in nanoseconds, to tell which of two duplicate copies came first.
    pub start: i128,
}

async fn describe_snapshots(
    ec2: &Client,
    filters: Vec<aws_sdk_ec2::types::Filter>,
) -> Result<Vec<SnapshotState>, AwsError> {
    let mut snapshots = Vec::new();
    let mut pages = ec2.describe_snapshots().owner_ids("self").set_filters(Some(filters)).into_paginator().send();
    while let Some(page) = pages.next().await {
        for snapshot in page.aws("DescribeSnapshots")?.snapshots() {
            let Some(id) = snapshot.snapshot_id() else { continue };
            snapshots.push(SnapshotState {
                snapshot_id: id.to_string(),
                state: snapshot.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
                source: tag_map(snapshot.tags()).remove(tags::SOURCE_SNAPSHOT),
                start: snapshot.start_time().map(|t| t.as_nanos()).unwrap_or(i128::MAX),
            });
        }
    }
    Ok(snapshots)
}

/// The snapshots quarantine took of the instance for the case (`SnapshotVolumes`).
pub async fn case_snapshots(ec2: &Client, instance_id: &str, case_id: &str) -> Result<Vec<SnapshotState>, AwsError> {
    describe_snapshots(
        ec2,
        vec![
            filter(&format!("tag:{}", tags::INSTANCE_ID), [instance_id]),
            filter(&format!("tag:{}", tags::CASE), [case_id]),
        ],
    )
    .await
}

/// Firebreak's copies of these snapshots, found by their `firebreak:source-snapshot` tag.
pub async fn copies_of(ec2: &Client, source_ids: &[String]) -> Result<Vec<SnapshotState>, AwsError> {
    if source_ids.is_empty() {
        return Ok(Vec::new());
    }
    describe_snapshots(ec2, vec![filter(&format!("tag:{}", tags::SOURCE_SNAPSHOT), source_ids.iter().cloned())]).await
}

/// Copies a snapshot in its own Region, encrypted with `kms_key_arn`, tagged from the start.
pub async fn copy_snapshot(
    ec2: &Client,
    source_id: &str,
    kms_key_arn: &str,
    copy_tags: &[(String, String)],
) -> Result<String, AwsError> {
    let region = ec2.config().region().map(|r| r.to_string()).unwrap_or_default();
    // A throttled CopySnapshot made no copy, so sending it again cannot make two.
    let response = persist(Priority::Preservation, || async {
        ec2.copy_snapshot()
            .source_region(region.clone())
            .source_snapshot_id(source_id)
            .encrypted(true)
            .kms_key_id(kms_key_arn)
            .description(format!("Firebreak forensic copy of {source_id}"))
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Snapshot)
                    .set_tags(Some(to_tags(copy_tags)))
                    .build(),
            )
            .send()
            .await
            .aws("CopySnapshot")
    })
    .await?;
    response.snapshot_id().map(str::to_string).ok_or_else(|| AwsError {
        action: "CopySnapshot",
        code: "NoSnapshotId".into(),
        message: format!("CopySnapshot of {source_id} returned no snapshot id"),
    })
}

/// The accounts a snapshot's createVolumePermission lists.
pub async fn shared_with(ec2: &Client, snapshot_id: &str) -> Result<Vec<String>, AwsError> {
    let response = persist(Priority::Preservation, || async {
        ec2.describe_snapshot_attribute()
            .snapshot_id(snapshot_id)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .aws("DescribeSnapshotAttribute")
    })
    .await?;
    Ok(response.create_volume_permissions().iter().filter_map(|p| p.user_id().map(str::to_string)).collect())
}

/// Adds one account to a snapshot's createVolumePermission (never a group: never public).
pub async fn share_snapshot(ec2: &Client, snapshot_id: &str, account_id: &str) -> Result<(), AwsError> {
    persist(Priority::Preservation, || async {
        ec2.modify_snapshot_attribute()
            .snapshot_id(snapshot_id)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .operation_type(OperationType::Add)
            .user_ids(account_id)
            .send()
            .await
            .aws("ModifySnapshotAttribute")
    })
    .await?;
    Ok(())
}

/// Deletes a duplicate copy Firebreak itself just made (a CopySnapshot retried after its answer
/// was lost); never any other snapshot.
pub async fn delete_duplicate_copy(ec2: &Client, snapshot_id: &str) -> Result<(), AwsError> {
    ignoring(
        "InvalidSnapshot.NotFound",
        ec2.delete_snapshot().snapshot_id(snapshot_id).send().await.aws("DeleteSnapshot"),
    )
}

/// Starts a GuardDuty Malware Protection on-demand scan of an instance; returns the scan id.
/// The client token makes a retried request the same request.
pub async fn start_malware_scan(
    guardduty: &aws_sdk_guardduty::Client,
    resource_arn: &str,
    client_token: &str,
) -> Result<String, AwsError> {
    let response = guardduty
        .start_malware_scan()
        .resource_arn(resource_arn)
        .client_token(client_token)
        .send()
        .await
        .aws("StartMalwareScan")?;
    Ok(response.scan_id().unwrap_or_default().to_string())
}
