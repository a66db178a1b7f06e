//! The quarantine's actions and phases.
//!
//! 1. **Prepare** — make sure each VPC has its isolation group (and the untracking group used to
//!    cut live connections). Nothing about the instance changes yet.
//! 2. **Contain** — move every ENI to the isolation group, detach the instance from its Auto
//!    Scaling group, and turn on termination protection. The detach runs together with the
//!    isolation, never after it: an isolated instance fails its health check, and Auto Scaling
//!    ignores termination protection, so an instance still in its group would be terminated and
//!    its disks lost. Detaching without decrementing the desired capacity makes the group launch a
//!    replacement instead.
//! 3. **Preserve**, beside Contain — snapshot every volume (one crash-consistent CreateSnapshots
//!    call), take it out of load-balancer target groups, remove its instance profile, and tag it
//!    with the case.
//! 4. **Stop**, only when configured, and only once the snapshots exist. Never terminate.
//!    **Handover**, beside Stop: the snapshots copied to the forensic account (see
//!    [`crate::disk_evidence`]), once they exist.

use std::fmt;

use serde::Serialize;

use crate::engine::{self, Requirement};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Prepare,
    Contain,
    Preserve,
    Stop,
    Handover,
}

impl engine::Phase for Phase {
    /// Preserve runs beside Contain: neither depends on the other, so evidence costs containment
    /// no round trip (the runner still lets the isolation moves go first).
    fn stage(self) -> u8 {
        match self {
            Self::Prepare => 0,
            Self::Contain | Self::Preserve => 1,
            Self::Stop | Self::Handover => 2,
        }
    }
}

/// One change to make. Every action is idempotent, and the plan marks the ones already in place.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Find or create the VPC's isolation group (no rules) and, when cutting connections, its
    /// untracking group (all traffic both ways), and repair either if an earlier run left it half-built.
    EnsureIsolationGroups {
        vpc_id: String,
        with_untracking: bool,
    },
    /// The group is recorded on the instance first, so a crash after the detach loses nothing.
    DetachFromAutoScalingGroup {
        group_name: String,
        instance_id: String,
    },
    /// The settings before are recorded on the instance first, unless an earlier run did.
    ProtectFromTermination {
        instance_id: String,
        record: bool,
    },
    IsolateNetworkInterface {
        eni_id: String,
        vpc_id: String,
        /// The groups to restore on release: the ENI's record if it has one, else its groups
        /// other than Firebreak's.
        original_group_ids: Vec<String>,
        /// The groups the ENI is in now; the untracking group joins them for the first move.
        current_group_ids: Vec<String>,
        /// False when the ENI already carries a record (a retry), or has no groups of its own left.
        record_original_groups: bool,
        via_untracking_group: bool,
        /// The instance, when this ENI is its only one: the moves may then go through
        /// ModifyInstanceAttribute's bucket as well as the ENI's (`aws::interface_moves`).
        #[serde(skip_serializing_if = "Option::is_none")]
        sole_interface_of: Option<String>,
    },
    /// Unless the case already has a set: the earlier snapshots are looked for when the step runs.
    SnapshotVolumes {
        instance_id: String,
        volume_ids: Vec<String>,
        tags: Vec<(String, String)>,
    },
    /// The region's instance target groups were read beforehand; which of them list the instance
    /// is read when this step runs, so that read need not delay containment.
    DeregisterFromTargetGroups {
        instance_id: String,
        target_group_arns: Vec<String>,
        /// Registrations an earlier run recorded (`firebreak:target-groups`), kept in the record.
        recorded: Vec<String>,
    },
    /// The profile is recorded on the instance while its association is read, so a crash after
    /// the removal loses nothing.
    DisassociateInstanceProfile {
        profile_arn: String,
        instance_id: String,
    },
    /// In place of the removal when a forensic profile is configured: the original profile (if
    /// any) and the forensic one's name are recorded on the instance first.
    ReplaceInstanceProfile {
        instance_id: String,
        original_arn: Option<String>,
        forensic_profile: String,
    },
    /// HTTPS from the isolation group to the VPC's Systems Manager interface endpoints' groups,
    /// when it has them all; read when the step runs.
    AllowSsmEndpoints {
        vpc_id: String,
    },
    /// Firebreak's Run Command document, sent once per case if the instance is SSM-managed.
    CaptureVolatileState {
        instance_id: String,
        document: String,
        bucket: String,
        prefix: String,
        comment: String,
    },
    /// Metadata, console output and screenshot, each written once under the case's prefix.
    SaveInstanceEvidence {
        instance_id: String,
        bucket: String,
        prefix: String,
    },
    TagInstance {
        instance_id: String,
        tags: Vec<(String, String)>,
    },
    StopInstance {
        instance_id: String,
    },
    /// Every EBS volume kept when the instance terminates; each device's setting before is
    /// recorded on the instance first, beside what an earlier run recorded (`recorded`).
    KeepVolumesOnTermination {
        instance_id: String,
        recorded: Vec<String>,
    },
    /// The case's snapshots copied, encrypted with the forensic key, and the copies shared with
    /// the forensic account only. Copies are found by tag first: a redelivery copies nothing twice.
    CopySnapshotsToForensicAccount {
        instance_id: String,
        /// The instance's account: sharing with it would hand nothing outside it, and is refused.
        instance_account: String,
        kms_key_arn: String,
        forensic_account: String,
        /// The copies' tags (the case, the finding); each copy adds its source snapshot.
        tags: Vec<(String, String)>,
    },
    /// A GuardDuty Malware Protection on-demand scan; its time is recorded on the instance first,
    /// and the client token (one per case) makes a retry after a crash the same request.
    StartMalwareScan {
        instance_id: String,
        resource_arn: String,
        started_at: String,
        client_token: String,
    },
}

impl engine::Action for Action {
    type Phase = Phase;

    fn name(&self) -> &'static str {
        match self {
            Self::EnsureIsolationGroups { .. } => "ensure_isolation_groups",
            Self::DetachFromAutoScalingGroup { .. } => "detach_from_autoscaling_group",
            Self::ProtectFromTermination { .. } => "protect_from_termination",
            Self::IsolateNetworkInterface { .. } => "isolate_network_interface",
            Self::SnapshotVolumes { .. } => "snapshot_volumes",
            Self::DeregisterFromTargetGroups { .. } => "deregister_from_target_groups",
            Self::DisassociateInstanceProfile { .. } => "disassociate_instance_profile",
            Self::ReplaceInstanceProfile { .. } => "replace_instance_profile",
            Self::AllowSsmEndpoints { .. } => "allow_ssm_endpoints",
            Self::CaptureVolatileState { .. } => "capture_volatile_state",
            Self::SaveInstanceEvidence { .. } => "save_instance_evidence",
            Self::TagInstance { .. } => "tag_instance",
            Self::StopInstance { .. } => "stop_instance",
            Self::KeepVolumesOnTermination { .. } => "keep_volumes_on_termination",
            Self::CopySnapshotsToForensicAccount { .. } => "copy_snapshots_to_forensic_account",
            Self::StartMalwareScan { .. } => "start_malware_scan",
        }
    }

    fn phase(&self) -> Phase {
        match self {
            Self::EnsureIsolationGroups { .. } => Phase::Prepare,
            Self::DetachFromAutoScalingGroup { .. }
            | Self::ProtectFromTermination { .. }
            | Self::IsolateNetworkInterface { .. } => Phase::Contain,
            Self::SnapshotVolumes { .. }
            | Self::DeregisterFromTargetGroups { .. }
            | Self::DisassociateInstanceProfile { .. }
            | Self::ReplaceInstanceProfile { .. }
            | Self::AllowSsmEndpoints { .. }
            | Self::CaptureVolatileState { .. }
            | Self::SaveInstanceEvidence { .. }
            | Self::TagInstance { .. } => Phase::Preserve,
            Self::StopInstance { .. } => Phase::Stop,
            Self::KeepVolumesOnTermination { .. } | Self::StartMalwareScan { .. } => Phase::Preserve,
            Self::CopySnapshotsToForensicAccount { .. } => Phase::Handover,
        }
    }

    fn resource(&self) -> String {
        match self {
            Self::EnsureIsolationGroups { vpc_id, .. } | Self::AllowSsmEndpoints { vpc_id } => vpc_id.clone(),
            Self::DetachFromAutoScalingGroup { group_name, .. } => group_name.clone(),
            Self::IsolateNetworkInterface { eni_id, .. } => eni_id.clone(),
            Self::DisassociateInstanceProfile { profile_arn, .. } => profile_arn.clone(),
            Self::ProtectFromTermination { instance_id, .. }
            | Self::SnapshotVolumes { instance_id, .. }
            | Self::DeregisterFromTargetGroups { instance_id, .. }
            | Self::TagInstance { instance_id, .. }
            | Self::ReplaceInstanceProfile { instance_id, .. }
            | Self::CaptureVolatileState { instance_id, .. }
            | Self::SaveInstanceEvidence { instance_id, .. }
            | Self::StopInstance { instance_id }
            | Self::KeepVolumesOnTermination { instance_id, .. }
            | Self::CopySnapshotsToForensicAccount { instance_id, .. }
            | Self::StartMalwareScan { instance_id, .. } => instance_id.clone(),
        }
    }

    /// A failure of these means the instance is not contained.
    fn is_containment(&self) -> bool {
        matches!(self, Self::EnsureIsolationGroups { .. } | Self::IsolateNetworkInterface { .. })
    }

    fn requires(&self) -> Option<Requirement> {
        match self {
            Self::StopInstance { .. } => Some(Requirement {
                step: "snapshot_volumes",
                otherwise: "not stopped: the snapshots did not complete, and evidence comes first",
            }),
            Self::CopySnapshotsToForensicAccount { .. } => Some(Requirement {
                step: "snapshot_volumes",
                otherwise: "not copied: the case's snapshots were not taken; a retry of the event resumes here",
            }),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EnsureIsolationGroups { vpc_id, with_untracking } => write!(
                f,
                "find or create the isolation group{} in {vpc_id}",
                if *with_untracking { " and the untracking group" } else { "" }
            ),
            Self::DetachFromAutoScalingGroup { group_name, .. } => {
                write!(f, "record and detach from Auto Scaling group {group_name} (a replacement is launched)")
            }
            Self::ProtectFromTermination { instance_id, .. } => {
                write!(
                    f,
                    "enable termination protection on {instance_id} and make shutdown stop it (unless already so)"
                )
            }
            Self::IsolateNetworkInterface { eni_id, original_group_ids, via_untracking_group, .. } => write!(
                f,
                "move {eni_id} from [{}] to the isolation group{}",
                original_group_ids.join(", "),
                if *via_untracking_group { " through the untracking group (ends tracked connections)" } else { "" }
            ),
            Self::SnapshotVolumes { instance_id, volume_ids, .. } => write!(
                f,
                "snapshot {} volume(s) of {instance_id} at one point in time, unless the case already has a set: {}",
                volume_ids.len(),
                volume_ids.join(", ")
            ),
            Self::DeregisterFromTargetGroups { instance_id, target_group_arns, .. } => write!(
                f,
                "deregister {instance_id} from those of the region's {} instance target group(s) that list it",
                target_group_arns.len()
            ),
            Self::DisassociateInstanceProfile { profile_arn, .. } => {
                write!(f, "record and remove instance profile {profile_arn}")
            }
            Self::ReplaceInstanceProfile { original_arn, forensic_profile, .. } => write!(
                f,
                "record and replace instance profile {} with the forensic profile {forensic_profile}",
                original_arn.as_deref().unwrap_or("(none)")
            ),
            Self::AllowSsmEndpoints { vpc_id } => {
                write!(f, "let the isolation group in {vpc_id} reach its Systems Manager endpoints on 443, if it has them")
            }
            Self::CaptureVolatileState { instance_id, document, bucket, prefix, .. } => write!(
                f,
                "if {instance_id} is SSM-managed, run {document} on it once, into s3://{bucket}/{prefix}"
            ),
            Self::SaveInstanceEvidence { instance_id, bucket, prefix } => write!(
                f,
                "save {instance_id}'s metadata, console output and screenshot to s3://{bucket}/{prefix} (never overwritten)"
            ),
            Self::TagInstance { instance_id, tags } => write!(
                f,
                "tag {instance_id} with {}",
                tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            ),
            Self::StopInstance { instance_id } => write!(f, "stop {instance_id} (after the snapshots)"),
            Self::KeepVolumesOnTermination { instance_id, .. } => {
                write!(f, "record and turn off DeleteOnTermination of every EBS volume of {instance_id}")
            }
            Self::CopySnapshotsToForensicAccount { kms_key_arn, forensic_account, .. } => write!(
                f,
                "copy the case's snapshots encrypted with {kms_key_arn} and share the copies with {forensic_account} only (unless done)"
            ),
            Self::StartMalwareScan { resource_arn, .. } => {
                write!(f, "record and start a GuardDuty malware scan of {resource_arn}")
            }
        }
    }
}
