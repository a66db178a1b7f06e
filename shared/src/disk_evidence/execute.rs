//! How the disk-evidence steps are carried out, through the wrappers in
//! [`crate::aws::disk_evidence`].

use std::collections::BTreeMap;

use crate::aws::disk_evidence::{self as aws, SnapshotState};
use crate::aws::{ec2, AwsError, Clients};
use crate::engine::Acted;
use crate::tags;

/// Turns off DeleteOnTermination where it is on, each device's value recorded first (with what
/// an earlier run recorded, which stands).
pub async fn keep_volumes(
    ec2_client: &aws_sdk_ec2::Client,
    instance_id: &str,
    recorded: &[String],
) -> Result<Acted, AwsError> {
    let devices = aws::block_devices(ec2_client, instance_id).await?;
    let deleted: Vec<String> =
        devices.iter().filter(|d| d.delete_on_termination).map(|d| d.device_name.clone()).collect();
    if deleted.is_empty() {
        return Ok(Acted::already_done("every EBS volume is kept on termination already"));
    }
    let known = |device: &str| recorded.iter().any(|item| item.split_once('=').is_some_and(|(d, _)| d == device));
    let mut record = recorded.to_vec();
    record.extend(
        devices
            .iter()
            .filter(|d| !known(&d.device_name))
            .map(|d| format!("{}={}", d.device_name, d.delete_on_termination)),
    );
    let record = tags::list_tags(tags::DELETE_ON_TERMINATION_BEFORE, &record);
    ec2::create_tags(ec2_client, instance_id, &record).await?;
    aws::set_delete_on_termination(ec2_client, instance_id, &deleted, false).await?;
    Ok(Acted::done(format!("DeleteOnTermination off on {}", deleted.join(", "))).recording(record))
}

/// The devices a release turns DeleteOnTermination back on for: those recorded `true` that are
/// still off (Firebreak's false); a device changed or detached since is left as it is.
pub async fn restore_delete_on_termination(
    ec2_client: &aws_sdk_ec2::Client,
    instance_id: &str,
    device_names: &[String],
) -> Result<Acted, AwsError> {
    let devices = aws::block_devices(ec2_client, instance_id).await?;
    let restore: Vec<String> = devices
        .iter()
        .filter(|d| !d.delete_on_termination && device_names.contains(&d.device_name))
        .map(|d| d.device_name.clone())
        .collect();
    if restore.is_empty() {
        return Ok(Acted::already_done("no recorded volume is still kept by Firebreak"));
    }
    aws::set_delete_on_termination(ec2_client, instance_id, &restore, true).await?;
    Ok(Acted::done(format!("DeleteOnTermination on again for {}", restore.join(", "))))
}

/// The devices whose record says DeleteOnTermination was on before the case.
pub fn devices_deleted_before(record: &[String]) -> Vec<String> {
    record
        .iter()
        .filter_map(|item| item.rsplit_once('=').filter(|(_, v)| *v == "true").map(|(d, _)| d.to_string()))
        .collect()
}

/// What the copy step needs to know about the forensic target.
pub struct CopyRequest<'a> {
    pub instance_id: &'a str,
    pub instance_account: &'a str,
    pub kms_key_arn: &'a str,
    pub forensic_account: &'a str,
    pub tags: &'a [(String, String)],
}

/// Copies every snapshot of the case that has no copy yet (a source must be completed to be
/// copied), keeps one copy per source if a lost answer made two, and shares each copy with the
/// forensic account unless it is already. What cannot be done yet is reported as waiting.
pub async fn copy_and_share(clients: &Clients, request: &CopyRequest<'_>) -> Result<Acted, AwsError> {
    if request.forensic_account == request.instance_account {
        return Err(AwsError {
            action: "CopySnapshot",
            code: "ForensicAccountIsInstanceAccount".into(),
            message: format!(
                "FIREBREAK_FORENSIC_ACCOUNT {} is the instance's own account: a copy there would not outlive it; nothing copied",
                request.forensic_account
            ),
        });
    }
    let ec2_client = &clients.ec2;
    let case_id = request.tags.iter().find(|(k, _)| k == tags::CASE).map(|(_, v)| v.as_str()).unwrap_or_default();
    let sources = aws::case_snapshots(ec2_client, request.instance_id, case_id).await?;
    if sources.is_empty() {
        return Err(AwsError {
            action: "DescribeSnapshots",
            code: "NoCaseSnapshots".into(),
            message: format!("no snapshot of {} for case {case_id} was found to copy", request.instance_id),
        });
    }
    let source_ids: Vec<String> = sources.iter().map(|s| s.snapshot_id.clone()).collect();
    let mut copies = keep_first(aws::copies_of(ec2_client, &source_ids).await?);
    let (mut done, mut waiting) = (Vec::new(), Vec::new());
    let mut copied_any = false;
    for source in &sources {
        if copies.contains_key(&source.snapshot_id) {
            continue;
        }
        if source.state != "completed" {
            waiting.push(format!("{} is {}: EC2 copies only completed snapshots", source.snapshot_id, source.state));
            continue;
        }
        let mut copy_tags = request.tags.to_vec();
        copy_tags.push((tags::SOURCE_SNAPSHOT.to_string(), source.snapshot_id.clone()));
        let copy = aws::copy_snapshot(ec2_client, &source.snapshot_id, request.kms_key_arn, &copy_tags).await?;
        done.push(format!("copied {} to {copy}", source.snapshot_id));
        copied_any = true;
    }
    if copied_any {
        // A CopySnapshot retried after its answer was lost made a second copy: keep the first.
        let listed = aws::copies_of(ec2_client, &source_ids).await?;
        copies = keep_first(listed.clone());
        for extra in listed.iter().filter(|c| !copies.values().any(|k| k.snapshot_id == c.snapshot_id)) {
            aws::delete_duplicate_copy(ec2_client, &extra.snapshot_id).await?;
            done.push(format!("removed duplicate copy {}", extra.snapshot_id));
        }
    }
    for copy in copies.values() {
        if aws::shared_with(ec2_client, &copy.snapshot_id).await?.iter().any(|a| a == request.forensic_account) {
            continue;
        }
        match aws::share_snapshot(ec2_client, &copy.snapshot_id, request.forensic_account).await {
            Ok(()) => done.push(format!("shared {} with {}", copy.snapshot_id, request.forensic_account)),
            // EC2 refuses to share a copy still pending: a later delivery shares it.
            Err(e) if e.is_code("IncorrectState") => {
                waiting.push(format!("{} is {}: shared by a later delivery", copy.snapshot_id, copy.state))
            }
            Err(e) => return Err(e),
        }
    }
    let words = if waiting.is_empty() { String::new() } else { format!("; waiting: {}", waiting.join("; ")) };
    let acted = if done.is_empty() && copies.is_empty() {
        Acted::already_done(format!("nothing copied yet{words}"))
    } else if done.is_empty() {
        Acted::already_done(format!(
            "copies {} already shared with {}{words}",
            copies.values().map(|c| c.snapshot_id.as_str()).collect::<Vec<_>>().join(", "),
            request.forensic_account
        ))
    } else {
        Acted::done(format!("{}{words}", done.join("; ")))
    };
    Ok(acted.waiting_for(waiting))
}

/// One copy per source: the earliest (then the lowest id), which every delivery agrees on.
fn keep_first(copies: Vec<SnapshotState>) -> BTreeMap<String, SnapshotState> {
    let mut kept: BTreeMap<String, SnapshotState> = BTreeMap::new();
    for copy in copies {
        let Some(source) = copy.source.clone() else { continue };
        let earlier = kept.get(&source).is_some_and(|k| (k.start, &k.snapshot_id) <= (copy.start, &copy.snapshot_id));
        if !earlier {
            kept.insert(source, copy);
        }
    }
    kept
}

/// Records the scan's time on the instance, starts the scan, then records its id.
pub async fn start_malware_scan(
    clients: &Clients,
    instance_id: &str,
    resource_arn: &str,
    started_at: &str,
    client_token: &str,
) -> Result<Acted, AwsError> {
    let at = (tags::MALWARE_SCAN_AT.to_string(), started_at.to_string());
    ec2::create_tags(&clients.ec2, instance_id, std::slice::from_ref(&at)).await?;
    let scan_id = aws::start_malware_scan(&clients.guardduty, resource_arn, client_token).await?;
    let id = (tags::MALWARE_SCAN_ID.to_string(), scan_id.clone());
    ec2::create_tags(&clients.ec2, instance_id, std::slice::from_ref(&id)).await?;
    Ok(Acted::done(format!("malware scan {scan_id} started; GuardDuty reports malware it finds as a finding"))
        .recording([at, id]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(id: &str, source: &str, start: i128) -> SnapshotState {
        SnapshotState { snapshot_id: id.into(), state: "completed".into(), source: Some(source.into()), start }
    }

    #[test]
    fn the_first_copy_of_each_source_is_kept() {
        let kept = keep_first(vec![
            copy("snap-b", "snap-1", 5),
            copy("snap-a", "snap-1", 5),
            copy("snap-c", "snap-2", 1),
            copy("snap-0", "snap-1", 9),
        ]);
        assert_eq!(kept["snap-1"].snapshot_id, "snap-a");
        assert_eq!(kept["snap-2"].snapshot_id, "snap-c");
    }

    #[test]
    fn only_devices_recorded_true_are_restored() {
        let record = vec!["/dev/xvda=true".to_string(), "/dev/sdf=false".to_string(), "/dev/sdg=true".to_string()];
        assert_eq!(devices_deleted_before(&record), vec!["/dev/xvda", "/dev/sdg"]);
    }
}
