//! Disk evidence as a test reads it back from the emulator: each volume's DeleteOnTermination, and
//! Firebreak's snapshot copies for the forensic account.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Filter;

/// Each block device of the instance: DeleteOnTermination.
pub async fn delete_on_termination(ec2: &aws_sdk_ec2::Client, instance_id: &str) -> BTreeMap<String, bool> {
    let response = ec2.describe_instances().instance_ids(instance_id).send().await.unwrap();
    response.reservations()[0].instances()[0]
        .block_device_mappings()
        .iter()
        .map(|m| (m.device_name().unwrap().to_string(), m.ebs().unwrap().delete_on_termination().unwrap()))
        .collect()
}

/// Firebreak's copies: (copy id, source, encrypted, key, case tag, accounts it is shared with).
pub async fn forensic_copies(ec2: &aws_sdk_ec2::Client) -> Vec<(String, String, bool, String, String, Vec<String>)> {
    let listed = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(Filter::builder().name("tag-key").values("firebreak:source-snapshot").build())
        .send()
        .await
        .unwrap();
    let mut copies = Vec::new();
    for snapshot in listed.snapshots() {
        let id = snapshot.snapshot_id().unwrap().to_string();
        let tags: BTreeMap<String, String> =
            snapshot.tags().iter().map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string())).collect();
        let permissions = ec2
            .describe_snapshot_attribute()
            .snapshot_id(&id)
            .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .unwrap();
        let shared = permissions
            .create_volume_permissions()
            .iter()
            .map(|p| p.user_id().or(p.group().map(|g| g.as_str())).unwrap_or_default().to_string())
            .collect();
        copies.push((
            id,
            tags["firebreak:source-snapshot"].clone(),
            snapshot.encrypted().unwrap_or(false),
            snapshot.kms_key_id().unwrap_or_default().to_string(),
            tags.get("firebreak:case").cloned().unwrap_or_default(),
            shared,
        ));
    }
    copies.sort();
    copies
}
