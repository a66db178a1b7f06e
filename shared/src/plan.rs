//! Deciding, apart from doing: a finding plus what was read about the instance becomes a
//! [`Decision`], a plain value that can be printed, tested and carried out later.
//!
//! # Order of the quarantine
//! 1. **Prepare** — make sure each VPC has its isolation group (and the untracking group used to
//!    cut live connections). Nothing about the instance changes yet.
//! 2. **Contain**, all at once — move every ENI to the isolation group, detach the instance from
//!    its Auto Scaling group, and turn on termination protection. The detach runs together with the
//!    isolation, never after it: an isolated instance fails its health check, and Auto Scaling
//!    ignores termination protection, so an instance still in its group would be terminated and
//!    its disks lost. Detaching without decrementing the desired capacity makes the group launch a
//!    replacement instead.
//! 3. **Preserve** — snapshot every volume (one crash-consistent CreateSnapshots call), take it out
//!    of load-balancer target groups, remove its instance profile, and tag it with the case. These
//!    are independent and run concurrently, at the same time as Contain: containment does not
//!    depend on them, nor they on it, so they add no round trip to the quarantine.
//! 4. **Stop**, only when configured, and only once the snapshots exist. Never terminate.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::case::case_id_for;
use crate::config::QuarantineConfig;
use crate::events::{EventError, GuardDutyFinding, ResourceRole};
use crate::tags;

/// What to quarantine and why. Every signal — a GuardDuty finding, a Health abuse report, a
/// traffic alarm, a Security Hub action, a credential-exfiltration finding — becomes one of these,
/// so that they all go through the same plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantineRequest {
    pub instance_id: String,
    pub account_id: String,
    pub region: String,
    /// The signal's own id (finding id, Health event ARN, alarm ARN + time): the case id derives
    /// from it, so a redelivered signal lands in the same case.
    pub signal_id: String,
    /// The finding type, Health event type code or alarm name, recorded on the instance.
    pub signal_type: String,
    /// VPCs the signal says the instance is in: a hint that lets the isolation groups be read
    /// while the instance itself is read. The instance's real interfaces decide.
    pub vpc_hints: Vec<String>,
}

impl QuarantineRequest {
    /// The request for the instance a GuardDuty EC2 finding names (validated).
    pub fn from_finding(finding: &GuardDutyFinding) -> Result<Self, EventError> {
        Ok(Self {
            instance_id: finding.ec2_instance()?.instance_id.clone(),
            account_id: finding.account_id.clone(),
            region: finding.region.clone(),
            signal_id: finding.id.clone(),
            signal_type: finding.finding_type.clone(),
            vpc_hints: finding.vpc_ids(),
        })
    }
}

/// What was read about the instance before deciding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceFacts {
    pub instance_id: String,
    /// EC2 state name: pending, running, stopping, stopped, shutting-down, terminated.
    pub state: String,
    pub network_interfaces: Vec<InterfaceFacts>,
    pub volume_ids: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub autoscaling_group: Option<String>,
    /// The instance profile DescribeInstances names (its association is read when removing it).
    pub instance_profile_arn: Option<String>,
    /// The region's instance-type target groups (not only those listing the instance).
    pub target_group_arns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterfaceFacts {
    pub id: String,
    pub vpc_id: String,
    pub group_ids: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// The two Firebreak groups of one VPC, as found (if at all).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VpcGroups {
    pub isolation: Option<FoundGroup>,
    pub untracking: Option<FoundGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoundGroup {
    pub group_id: String,
    /// The group has exactly the rules it should have (none for isolation; all traffic both ways
    /// for untracking). A group left half-built by an interrupted run is not ready.
    pub ready: bool,
}

/// Why a finding leads to no action. Each is reported, never silent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    BelowSeverity {
        severity: f64,
        minimum: f64,
    },
    SampleFinding,
    /// The instance was attacked, not the attacker: exposed, not shown to be compromised.
    TargetNotCompromised,
    Exempt {
        tag_key: String,
    },
    InstanceGone {
        state: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BelowSeverity { severity, minimum } => {
                write!(f, "severity {severity} is below the configured minimum {minimum}")
            }
            Self::SampleFinding => write!(f, "GuardDuty sample finding (set FIREBREAK_ACT_ON_SAMPLE_FINDINGS to act on these)"),
            Self::TargetNotCompromised => write!(
                f,
                "the instance is the TARGET of this activity, not its actor: exposed, not shown to be compromised (close-open-ports handles exposure)"
            ),
            Self::Exempt { tag_key } => write!(f, "the instance carries the exemption tag {tag_key}"),
            Self::InstanceGone { state } => write!(f, "the instance is {state}: nothing left to contain"),
        }
    }
}

/// Checks that need no AWS call: is the finding one this function handles, and does it warrant
/// action at all. An unsupported finding is an error; a low-severity one is a skip.
pub fn triage(finding: &GuardDutyFinding, config: &QuarantineConfig) -> Result<Option<SkipReason>, EventError> {
    finding.ec2_instance()?;
    if finding.is_sample() && !config.act_on_sample_findings {
        return Ok(Some(SkipReason::SampleFinding));
    }
    if finding.severity < config.min_severity {
        return Ok(Some(SkipReason::BelowSeverity { severity: finding.severity, minimum: config.min_severity }));
    }
    if finding.resource_role() == ResourceRole::Target {
        return Ok(Some(SkipReason::TargetNotCompromised));
    }
    Ok(None)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Prepare,
    Contain,
    Preserve,
    Stop,
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
    ProtectFromTermination {
        instance_id: String,
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
    },
    /// The profile is recorded on the instance while its association is read, so a crash after
    /// the removal loses nothing.
    DisassociateInstanceProfile {
        profile_arn: String,
        instance_id: String,
    },
    TagInstance {
        instance_id: String,
        tags: Vec<(String, String)>,
    },
    StopInstance {
        instance_id: String,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Self::EnsureIsolationGroups { .. } => "ensure_isolation_groups",
            Self::DetachFromAutoScalingGroup { .. } => "detach_from_autoscaling_group",
            Self::ProtectFromTermination { .. } => "protect_from_termination",
            Self::IsolateNetworkInterface { .. } => "isolate_network_interface",
            Self::SnapshotVolumes { .. } => "snapshot_volumes",
            Self::DeregisterFromTargetGroups { .. } => "deregister_from_target_groups",
            Self::DisassociateInstanceProfile { .. } => "disassociate_instance_profile",
            Self::TagInstance { .. } => "tag_instance",
            Self::StopInstance { .. } => "stop_instance",
        }
    }

    pub fn phase(&self) -> Phase {
        match self {
            Self::EnsureIsolationGroups { .. } => Phase::Prepare,
            Self::DetachFromAutoScalingGroup { .. }
            | Self::ProtectFromTermination { .. }
            | Self::IsolateNetworkInterface { .. } => Phase::Contain,
            Self::SnapshotVolumes { .. }
            | Self::DeregisterFromTargetGroups { .. }
            | Self::DisassociateInstanceProfile { .. }
            | Self::TagInstance { .. } => Phase::Preserve,
            Self::StopInstance { .. } => Phase::Stop,
        }
    }

    /// The resource the action changes, for reports and logs.
    pub fn resource(&self) -> &str {
        match self {
            Self::EnsureIsolationGroups { vpc_id, .. } => vpc_id,
            Self::DetachFromAutoScalingGroup { group_name, .. } => group_name,
            Self::IsolateNetworkInterface { eni_id, .. } => eni_id,
            Self::DisassociateInstanceProfile { profile_arn, .. } => profile_arn,
            Self::ProtectFromTermination { instance_id }
            | Self::SnapshotVolumes { instance_id, .. }
            | Self::DeregisterFromTargetGroups { instance_id, .. }
            | Self::TagInstance { instance_id, .. }
            | Self::StopInstance { instance_id } => instance_id,
        }
    }

    /// Whether a failure of this action means the instance is not contained.
    pub fn is_containment(&self) -> bool {
        matches!(self, Self::EnsureIsolationGroups { .. } | Self::IsolateNetworkInterface { .. })
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
            Self::ProtectFromTermination { instance_id } => {
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
            Self::DeregisterFromTargetGroups { instance_id, target_group_arns } => write!(
                f,
                "deregister {instance_id} from those of the region's {} instance target group(s) that list it",
                target_group_arns.len()
            ),
            Self::DisassociateInstanceProfile { profile_arn, .. } => {
                write!(f, "record and remove instance profile {profile_arn}")
            }
            Self::TagInstance { instance_id, tags } => write!(
                f,
                "tag {instance_id} with {}",
                tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            ),
            Self::StopInstance { instance_id } => write!(f, "stop {instance_id} (after the snapshots)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedStep {
    #[serde(flatten)]
    pub action: Action,
    /// Set when there is nothing to do: already done by an earlier delivery, or not applicable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<String>,
}

/// The full quarantine of one instance for one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantinePlan {
    pub case_id: String,
    pub instance_id: String,
    pub steps: Vec<PlannedStep>,
}

impl fmt::Display for QuarantinePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "quarantine {} (case {})", self.instance_id, self.case_id)?;
        for (n, step) in self.steps.iter().enumerate() {
            let action = &step.action;
            crate::report::write_plan_step(f, n + 1, &action.phase(), action, action.name(), step.skip.as_deref())?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Skip(SkipReason),
    Quarantine(QuarantinePlan),
}

/// Group names for one configuration.
pub fn untracking_group_name(isolation_group_name: &str) -> String {
    format!("{isolation_group_name}-untracking")
}

/// Turns a request and the facts read about its instance into a decision. Pure: the same inputs
/// give the same plan, which is what makes redelivery safe.
pub fn decide(
    request: &QuarantineRequest,
    facts: &InstanceFacts,
    groups: &BTreeMap<String, VpcGroups>,
    config: &QuarantineConfig,
    now: &str,
) -> Decision {
    if facts.tags.contains_key(&config.exempt_tag_key) {
        return Decision::Skip(SkipReason::Exempt { tag_key: config.exempt_tag_key.clone() });
    }
    if matches!(facts.state.as_str(), "terminated" | "shutting-down") {
        return Decision::Skip(SkipReason::InstanceGone { state: facts.state.clone() });
    }
    // A case already opened on this instance (by an earlier finding) stays the case, so a second
    // finding about the same compromise adds no second set of snapshots.
    let case_id = facts.tags.get(tags::CASE).cloned().unwrap_or_else(|| case_id_for(&request.signal_id));
    let instance_id = facts.instance_id.clone();
    let mut steps = Vec::new();

    let firebreak_groups: Vec<&str> = groups
        .values()
        .flat_map(|g| [g.isolation.as_ref(), g.untracking.as_ref()])
        .flatten()
        .map(|g| g.group_id.as_str())
        .collect();
    let mut vpcs: Vec<&str> = facts.network_interfaces.iter().map(|eni| eni.vpc_id.as_str()).collect();
    vpcs.sort();
    vpcs.dedup();
    for vpc_id in vpcs {
        let found = groups.get(vpc_id).cloned().unwrap_or_default();
        let ready = |g: &Option<FoundGroup>| g.as_ref().is_some_and(|g| g.ready);
        let action = Action::EnsureIsolationGroups {
            vpc_id: vpc_id.to_string(),
            with_untracking: config.cut_tracked_connections,
        };
        let skip = (ready(&found.isolation) && (!config.cut_tracked_connections || ready(&found.untracking)))
            .then(|| "the groups exist and are intact".to_string());
        steps.push(PlannedStep { action, skip });
    }

    steps.push(match &facts.autoscaling_group {
        Some(group_name) => PlannedStep {
            action: Action::DetachFromAutoScalingGroup {
                group_name: group_name.clone(),
                instance_id: instance_id.clone(),
            },
            skip: None,
        },
        None => PlannedStep {
            action: Action::DetachFromAutoScalingGroup { group_name: "-".into(), instance_id: instance_id.clone() },
            skip: Some("not in an Auto Scaling group".into()),
        },
    });

    steps.push(PlannedStep { action: Action::ProtectFromTermination { instance_id: instance_id.clone() }, skip: None });

    for eni in &facts.network_interfaces {
        let isolation_id = groups.get(&eni.vpc_id).and_then(|g| g.isolation.as_ref()).map(|g| g.group_id.as_str());
        let already_isolated = isolation_id.is_some_and(|id| eni.group_ids == [id]);
        let recorded = tags::read_list(&eni.tags, tags::ORIGINAL_GROUPS);
        // Interrupted between the first move and its record, an ENI still carries its own groups
        // beside the untracking group: those are its originals.
        let own_groups: Vec<String> =
            eni.group_ids.iter().filter(|g| !firebreak_groups.contains(&g.as_str())).cloned().collect();
        let record_original_groups = recorded.is_none() && !own_groups.is_empty();
        steps.push(PlannedStep {
            action: Action::IsolateNetworkInterface {
                eni_id: eni.id.clone(),
                vpc_id: eni.vpc_id.clone(),
                original_group_ids: recorded.unwrap_or(own_groups),
                current_group_ids: eni.group_ids.clone(),
                record_original_groups,
                via_untracking_group: config.cut_tracked_connections,
            },
            skip: already_isolated.then(|| "already in the isolation group".to_string()),
        });
    }

    steps.push(PlannedStep {
        action: Action::SnapshotVolumes {
            instance_id: instance_id.clone(),
            volume_ids: facts.volume_ids.clone(),
            tags: vec![
                (tags::CASE.into(), case_id.clone()),
                (tags::FINDING_ID.into(), request.signal_id.clone()),
                (tags::INSTANCE_ID.into(), instance_id.clone()),
            ],
        },
        skip: if !config.snapshot {
            Some("snapshots disabled by FIREBREAK_SNAPSHOT".into())
        } else if facts.volume_ids.is_empty() {
            Some("no EBS volumes attached".into())
        } else {
            None
        },
    });

    steps.push(PlannedStep {
        action: Action::DeregisterFromTargetGroups {
            instance_id: instance_id.clone(),
            target_group_arns: facts.target_group_arns.clone(),
        },
        skip: facts.target_group_arns.is_empty().then(|| "no instance target groups in the region".into()),
    });

    steps.push(PlannedStep {
        action: Action::DisassociateInstanceProfile {
            profile_arn: facts.instance_profile_arn.clone().unwrap_or_else(|| "-".into()),
            instance_id: instance_id.clone(),
        },
        skip: facts.instance_profile_arn.is_none().then(|| "no instance profile associated".into()),
    });

    let mut case_tags = vec![
        (tags::CASE.to_string(), case_id.clone()),
        (tags::FINDING_ID.to_string(), request.signal_id.clone()),
        (tags::FINDING_TYPE.to_string(), request.signal_type.clone()),
    ];
    if !facts.tags.contains_key(tags::QUARANTINED_AT) {
        case_tags.push((tags::QUARANTINED_AT.to_string(), now.to_string()));
    }
    // The first signal's id and type stay on the instance; later signals of the case are in the report.
    if facts.tags.contains_key(tags::CASE) {
        case_tags.retain(|(k, _)| k != tags::FINDING_ID && k != tags::FINDING_TYPE);
    }
    let missing: Vec<(String, String)> = case_tags.into_iter().filter(|(k, v)| facts.tags.get(k) != Some(v)).collect();
    steps.push(PlannedStep {
        skip: missing.is_empty().then(|| "already tagged with the case".to_string()),
        action: Action::TagInstance { instance_id: instance_id.clone(), tags: missing },
    });

    if config.stop_instance {
        steps.push(PlannedStep {
            action: Action::StopInstance { instance_id: instance_id.clone() },
            skip: matches!(facts.state.as_str(), "stopped" | "stopping").then(|| format!("already {}", facts.state)),
        });
    }

    Decision::Quarantine(QuarantinePlan { case_id, instance_id, steps })
}
