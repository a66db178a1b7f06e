//! Evidence: one crash-consistent set of snapshots per case, even when deliveries race.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::types::{InstanceSpecification, ResourceType, TagSpecification};
use aws_sdk_ec2::Client;

use super::ec2::{filter, ignoring, tag_map, to_tags};
use super::throttle::{persist, Priority};
use crate::aws::{AwsError, AwsResultExt};
use crate::tags;

/// What a snapshot step left behind.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotOutcome {
    Created(Vec<String>),
    /// The case already had a set (an earlier delivery or finding): nothing was taken.
    AlreadyTaken(Vec<String>),
    /// Another delivery of the same case snapshotted the instance at the same moment: its set was
    /// kept and this one's duplicate set removed.
    DuplicateRemoved {
        kept: Vec<String>,
        removed: Vec<String>,
    },
}

/// One CreateSnapshots call: every volume at the same instant (crash-consistent), tagged with the
/// case. CreateSnapshots takes no client token, so two deliveries racing past the "already
/// snapshotted?" check each create a set; afterwards every racer lists the case's sets and all
/// keep the same one (earliest start, then lowest set id) and delete only their own duplicate.
pub async fn snapshot_volumes(
    ec2: &Client,
    instance_id: &str,
    snapshot_tags: &[(String, String)],
) -> Result<SnapshotOutcome, AwsError> {
    let case_id = snapshot_tags.iter().find(|(k, _)| k == tags::CASE).map(|(_, v)| v.as_str());
    if let Some(case_id) = case_id {
        let earlier: Vec<String> =
            case_snapshot_sets(ec2, instance_id, case_id).await?.into_values().flat_map(|(_, ids)| ids).collect();
        if !earlier.is_empty() {
            return Ok(SnapshotOutcome::AlreadyTaken(earlier));
        }
    }
    let set_id = unique_set_id(instance_id);
    let mut all_tags = snapshot_tags.to_vec();
    all_tags.push((tags::SNAPSHOT_SET.to_string(), set_id.clone()));
    // A throttled CreateSnapshots created nothing: it waits for EC2's bucket, after the moves.
    let response = persist(Priority::Preservation, || async {
        ec2.create_snapshots()
            .instance_specification(
                InstanceSpecification::builder().instance_id(instance_id).exclude_boot_volume(false).build(),
            )
            .description(format!("Firebreak evidence of {instance_id}"))
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Snapshot)
                    .set_tags(Some(to_tags(&all_tags)))
                    .build(),
            )
            .send()
            .await
            .aws("CreateSnapshots")
    })
    .await?;
    let ours: Vec<String> = response.snapshots().iter().filter_map(|s| s.snapshot_id().map(str::to_string)).collect();
    let Some(case_id) = case_id else {
        return Ok(SnapshotOutcome::Created(ours));
    };
    // One look, after a pause: by then every set created in a race is listed, so every racer
    // sees the same sets and agrees which one to keep.
    tokio::time::sleep(SNAPSHOT_RACE_SETTLE).await;
    let sets = case_snapshot_sets(ec2, instance_id, case_id).await?;
    // A CreateSnapshots retried after its first answer was lost leaves a second, unreported copy
    // under the same set id: those copies are duplicates of ours.
    let orphans: Vec<String> = sets
        .get(&set_id)
        .map(|(_, ids)| ids.iter().filter(|id| !ours.contains(id)).cloned().collect())
        .unwrap_or_default();
    let keeper = sets
        .iter()
        .min_by_key(|(set, (start, _))| (*start, set.to_string()))
        .map(|(set, (_, ids))| (set.clone(), ids.clone()));
    if let Some((_, kept)) = keeper.filter(|(kept_set, _)| *kept_set != set_id) {
        let removed: Vec<String> = ours.iter().chain(&orphans).cloned().collect();
        delete_snapshots(ec2, &removed).await?;
        return Ok(SnapshotOutcome::DuplicateRemoved { kept, removed });
    }
    delete_snapshots(ec2, &orphans).await?;
    if orphans.is_empty() {
        Ok(SnapshotOutcome::Created(ours))
    } else {
        Ok(SnapshotOutcome::DuplicateRemoved { kept: ours, removed: orphans })
    }
}

/// How long the snapshot step waits before it looks for racing sets. Off the containment path:
/// the instance is isolated by then.
pub const SNAPSHOT_RACE_SETTLE: Duration = Duration::from_millis(300);

/// The case's snapshot sets of an instance: set id -> (earliest start in nanoseconds, ids).
async fn case_snapshot_sets(
    ec2: &Client,
    instance_id: &str,
    case_id: &str,
) -> Result<BTreeMap<String, (i128, Vec<String>)>, AwsError> {
    let listed = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(filter(&format!("tag:{}", tags::INSTANCE_ID), [instance_id]))
        .filters(filter(&format!("tag:{}", tags::CASE), [case_id]))
        .send()
        .await
        .aws("DescribeSnapshots")?;
    let mut sets: BTreeMap<String, (i128, Vec<String>)> = BTreeMap::new();
    for snapshot in listed.snapshots() {
        let set = tag_map(snapshot.tags()).remove(tags::SNAPSHOT_SET).unwrap_or_default();
        let start = snapshot.start_time().map(|t| t.as_nanos()).unwrap_or(i128::MAX);
        let entry = sets.entry(set).or_insert((i128::MAX, Vec::new()));
        entry.0 = entry.0.min(start);
        entry.1.extend(snapshot.snapshot_id().map(str::to_string));
    }
    Ok(sets)
}

/// Deletes duplicate snapshots Firebreak itself just made; never any other snapshot.
async fn delete_snapshots(ec2: &Client, snapshot_ids: &[String]) -> Result<(), AwsError> {
    futures::future::try_join_all(snapshot_ids.iter().map(|snapshot_id| async move {
        ignoring(
            "InvalidSnapshot.NotFound",
            ec2.delete_snapshot().snapshot_id(snapshot_id).send().await.aws("DeleteSnapshot"),
        )
    }))
    .await?;
    Ok(())
}

/// Distinct for every invocation, also across warm containers and accounts.
fn unique_set_id(instance_id: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let seed = format!("{instance_id}:{nanos}:{}:{}", std::process::id(), SEQUENCE.fetch_add(1, Ordering::Relaxed));
    crate::case::case_id_for(&seed).replacen("fb-", "set-", 1)
}
