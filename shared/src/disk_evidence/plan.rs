//! The disk-evidence steps of a quarantine plan (pure): volumes kept on termination, snapshot
//! copies for the forensic account, the malware scan, each skipped with its reason.

use aws_sdk_ec2::primitives::{DateTime, DateTimeFormat};

use crate::engine::Planned;
use crate::events::partition_of;
use crate::quarantine::plan::InstanceFacts;
use crate::quarantine::request::QuarantineRequest;
use crate::quarantine::{Action, QuarantineConfig};
use crate::tags;

/// GuardDuty starts at most one on-demand scan of a resource an hour.
pub const MALWARE_SCAN_INTERVAL_SECONDS: i64 = 3600;

/// The steps beside the snapshots (Preserve): volumes kept, the malware scan. `released`: the
/// instance's records belong to a released case.
pub fn preserve_steps(
    request: &QuarantineRequest,
    facts: &InstanceFacts,
    case_id: &str,
    released: bool,
    config: &QuarantineConfig,
    now: &str,
) -> Vec<Planned<Action>> {
    let mut steps = vec![Planned::unless(
        Action::KeepVolumesOnTermination {
            instance_id: facts.instance_id.clone(),
            recorded: tags::read_list(&facts.tags, tags::DELETE_ON_TERMINATION_BEFORE)
                .filter(|_| !released)
                .unwrap_or_default(),
        },
        facts.volume_ids.is_empty(),
        || "no EBS volumes attached".into(),
    )];
    if config.disk_evidence.malware_scan {
        steps.push(malware_scan_step(request, facts, case_id, released, now));
    }
    steps
}

/// The copy to the forensic account (Handover, after the snapshots), when one is configured.
pub fn handover_step(
    request: &QuarantineRequest,
    facts: &InstanceFacts,
    case_id: &str,
    config: &QuarantineConfig,
) -> Option<Planned<Action>> {
    let no_volumes = facts.volume_ids.is_empty();
    config.disk_evidence.forensic.as_ref().map(|target| {
        let action = Action::CopySnapshotsToForensicAccount {
            instance_id: facts.instance_id.clone(),
            instance_account: request.signal.account.clone(),
            kms_key_arn: target.kms_key_arn.clone(),
            forensic_account: target.account_id.clone(),
            tags: vec![
                (tags::CASE.into(), case_id.to_string()),
                (tags::FINDING_ID.into(), request.signal.id.clone()),
                (tags::FORENSIC_ACCOUNT.into(), target.account_id.clone()),
            ],
        };
        if !config.snapshot {
            Planned::skip(action, "snapshots disabled by FIREBREAK_SNAPSHOT: nothing to copy")
        } else if no_volumes {
            Planned::skip(action, "no EBS volumes attached")
        } else {
            Planned::act(action)
        }
    })
}

fn malware_scan_step(
    request: &QuarantineRequest,
    facts: &InstanceFacts,
    case_id: &str,
    released: bool,
    now: &str,
) -> Planned<Action> {
    let started = facts.tags.get(tags::MALWARE_SCAN_AT);
    let scan_id = facts.tags.get(tags::MALWARE_SCAN_ID);
    let region = &request.signal.region;
    let mut client_token = format!("{case_id}-{}", facts.instance_id);
    client_token.truncate(64);
    let action = |started_at: &str| Action::StartMalwareScan {
        instance_id: facts.instance_id.clone(),
        resource_arn: format!(
            "arn:{}:ec2:{region}:{}:instance/{}",
            partition_of(region),
            request.signal.account,
            facts.instance_id
        ),
        started_at: started_at.to_string(),
        client_token: client_token.clone(),
    };
    match (started, scan_id, released) {
        // This case started its scan: a redelivery starts none.
        (Some(at), Some(id), false) => Planned::skip(action(at), format!("the case's scan {id} was started at {at}")),
        // Recorded, then interrupted before the scan's id came back: the same request again
        // (same client token), whatever the hour.
        (Some(at), None, false) => Planned::act(action(at)),
        (Some(at), _, true) if seconds_between(at, now).is_some_and(|s| s < MALWARE_SCAN_INTERVAL_SECONDS) => {
            Planned::skip(
                action(now),
                format!("a scan was started at {at}, less than an hour ago: GuardDuty allows one an hour"),
            )
        }
        _ => Planned::act(action(now)),
    }
}

/// Seconds from `earlier` to `later`, both RFC 3339; `None` when either does not parse.
fn seconds_between(earlier: &str, later: &str) -> Option<i64> {
    let parse = |t: &str| DateTime::from_str(t, DateTimeFormat::DateTime).ok().map(|d| d.secs());
    Some(parse(later)? - parse(earlier)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_between_reads_aws_timestamps() {
        assert_eq!(seconds_between("2026-12-01T02:00:00Z", "2026-12-01T02:59:59Z"), Some(3599));
        assert_eq!(seconds_between("2026-12-01T02:00:00.5Z", "2026-12-01T03:00:00Z"), Some(3600));
        assert_eq!(seconds_between("yesterday", "2026-12-01T03:00:00Z"), None);
    }
}
