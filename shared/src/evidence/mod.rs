//! Forensic-grade evidence from a quarantined instance: keep it reachable for investigators
//! (a forensic instance profile instead of none, HTTPS to the VPC's Systems Manager endpoints
//! when allowed), capture its volatile state and memory through Firebreak's Run Command document,
//! and save its metadata, console output and screenshot to the evidence bucket.
//!
//! These are quarantine steps (`quarantine::Action`): `plan` builds them (pure), `execute`
//! carries them out, `status` reads a sent command back for `firebreak show`.

pub mod config;
pub mod execute;
pub mod plan;
pub mod status;

pub use config::EvidenceConfig;

/// On the instance: the forensic profile's name Firebreak put in place of its own (whose ARN is
/// `firebreak:instance-profile` when it had one), so a release puts the original back only while
/// the forensic profile is still attached.
pub const FORENSIC_PROFILE_TAG: &str = crate::tags::FORENSIC_INSTANCE_PROFILE;
/// On the instance: the id of the Run Command that captures its volatile state for the case.
pub const EVIDENCE_COMMAND_TAG: &str = crate::tags::EVIDENCE_COMMAND;

/// Where a case's evidence of one instance goes: `<instance ARN>/<case>/`. The instance's ARN
/// first, because that is what the policy variable `${ec2:SourceInstanceARN}` expands to: the
/// forensic role (and the bucket policy) let an instance write only under its own ARN.
pub fn evidence_prefix(region: &str, account: &str, case_id: &str, instance_id: &str) -> String {
    let partition = crate::events::partition_of(region);
    format!("arn:{partition}:ec2:{region}:{account}:instance/{instance_id}/{case_id}/")
}

/// The comment on the command a case sends, by which a redelivery finds it again.
pub fn command_comment(case_id: &str) -> String {
    format!("firebreak {case_id}")
}
