//! Deciding, apart from doing: a request plus what was read about the instance becomes a
//! [`QuarantineDecision`], a plain value that can be printed, tested and carried out later.

use std::collections::BTreeMap;

use serde::Serialize;

use super::action::Action;
use super::config::QuarantineConfig;
use super::request::{QuarantineRequest, SkipReason};
pub use crate::aws::ec2::InterfaceFacts;
pub use crate::aws::isolation::{untracking_group_name, FoundGroup, VpcGroups};
use crate::case::case_id_for;
use crate::engine::{triage, Decision, Plan, Planned};
use crate::evidence;
use crate::tags;

pub type QuarantinePlan = Plan<Action>;
pub type QuarantineDecision = Decision<Action, SkipReason>;

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

/// Turns a request and the facts read about its instance into a decision. Pure: the same inputs
/// give the same plan, which is what makes redelivery safe.
pub fn decide(
    request: &QuarantineRequest,
    facts: &InstanceFacts,
    groups: &BTreeMap<String, VpcGroups>,
    config: &QuarantineConfig,
    now: &str,
) -> QuarantineDecision {
    if let Some(skip) = triage::exempt(&config.common, "the instance", &facts.tags) {
        return Decision::Skip(SkipReason::Triage(skip));
    }
    if matches!(facts.state.as_str(), "terminated" | "shutting-down") {
        return Decision::Skip(SkipReason::InstanceGone { state: facts.state.clone() });
    }
    // A case already opened on this instance (by an earlier finding) stays the case, so a second
    // finding about the same compromise adds no second set of snapshots.
    // Records of a released case are history: a new case records afresh. (A record without any
    // case tag is an interrupted first run's, and stands.)
    let open = tags::open_case(&facts.tags).is_some();
    let released = !open && facts.tags.contains_key(tags::RELEASED_CASE);
    let case_id = tags::open_case(&facts.tags).cloned().unwrap_or_else(|| case_id_for(&request.signal.id));
    let instance_id = facts.instance_id.clone();
    let mut steps = Vec::new();

    let mut vpcs: Vec<&str> = facts.network_interfaces.iter().map(|eni| eni.vpc_id.as_str()).collect();
    vpcs.sort();
    vpcs.dedup();
    steps.extend(vpcs.into_iter().map(|vpc_id| ensure_groups_step(vpc_id, groups, config)));

    steps.push(match &facts.autoscaling_group {
        Some(group_name) => Planned {
            action: Action::DetachFromAutoScalingGroup {
                group_name: group_name.clone(),
                instance_id: instance_id.clone(),
            },
            skip: None,
        },
        None => Planned {
            action: Action::DetachFromAutoScalingGroup { group_name: "-".into(), instance_id: instance_id.clone() },
            skip: Some("not in an Auto Scaling group".into()),
        },
    });

    let record = released || !facts.tags.contains_key(tags::TERMINATION_PROTECTION_BEFORE);
    steps.push(Planned {
        action: Action::ProtectFromTermination { instance_id: instance_id.clone(), record },
        skip: None,
    });

    // An instance's only ENI can also be moved by ModifyInstanceAttribute, another EC2 bucket.
    let sole = match facts.network_interfaces.as_slice() {
        [_] => Some(instance_id.as_str()),
        _ => None,
    };
    for eni in &facts.network_interfaces {
        steps.push(isolate_step(eni, groups, config, released, sole));
    }

    steps.push(Planned {
        action: Action::SnapshotVolumes {
            instance_id: instance_id.clone(),
            volume_ids: facts.volume_ids.clone(),
            tags: vec![
                (tags::CASE.into(), case_id.clone()),
                (tags::FINDING_ID.into(), request.signal.id.clone()),
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

    steps.extend(crate::disk_evidence::plan::preserve_steps(request, facts, &case_id, released, config, now));

    steps.push(Planned {
        action: Action::DeregisterFromTargetGroups {
            instance_id: instance_id.clone(),
            target_group_arns: facts.target_group_arns.clone(),
            recorded: tags::read_list(&facts.tags, tags::TARGET_GROUPS).filter(|_| !released).unwrap_or_default(),
        },
        skip: facts.target_group_arns.is_empty().then(|| "no instance target groups in the region".into()),
    });

    steps.push(evidence::plan::profile_step(facts, &config.evidence).unwrap_or_else(|| Planned {
        action: Action::DisassociateInstanceProfile {
            profile_arn: facts.instance_profile_arn.clone().unwrap_or_else(|| "-".into()),
            instance_id: instance_id.clone(),
        },
        skip: facts.instance_profile_arn.is_none().then(|| "no instance profile associated".into()),
    }));
    steps.extend(evidence::plan::evidence_steps(
        facts,
        &config.evidence,
        (&request.signal.region, &request.signal.account),
        &case_id,
        released,
    ));

    let mut case_tags = vec![
        (tags::CASE.to_string(), case_id.clone()),
        (tags::FINDING_ID.to_string(), request.signal.id.clone()),
        (tags::FINDING_TYPE.to_string(), request.signal.kind.clone()),
    ];
    if !open || !facts.tags.contains_key(tags::QUARANTINED_AT) {
        case_tags.push((tags::QUARANTINED_AT.to_string(), now.to_string()));
    }
    // The first signal's id and type stay on the instance; later signals of the case are in the report.
    if open {
        case_tags.retain(|(k, _)| k != tags::FINDING_ID && k != tags::FINDING_TYPE);
    }
    let missing: Vec<(String, String)> = case_tags.into_iter().filter(|(k, v)| facts.tags.get(k) != Some(v)).collect();
    steps.push(Planned {
        skip: missing.is_empty().then(|| "already tagged with the case".to_string()),
        action: Action::TagInstance { instance_id: instance_id.clone(), tags: missing },
    });

    if config.stop_instance {
        steps.push(Planned {
            action: Action::StopInstance { instance_id: instance_id.clone() },
            skip: matches!(facts.state.as_str(), "stopped" | "stopping").then(|| format!("already {}", facts.state)),
        });
    }

    steps.extend(crate::disk_evidence::plan::handover_step(request, facts, &case_id, config));

    Decision::Act(Plan { title: format!("quarantine {instance_id}"), case_id, steps })
}

/// The step that finds or creates a VPC's isolation (and untracking) group, skipped when both are
/// intact. Shared by every capability that isolates an ENI (quarantine-task too).
pub fn ensure_groups_step(
    vpc_id: &str,
    groups: &BTreeMap<String, VpcGroups>,
    config: &QuarantineConfig,
) -> Planned<Action> {
    let found = groups.get(vpc_id).cloned().unwrap_or_default();
    let ready = |g: &Option<FoundGroup>| g.as_ref().is_some_and(|g| g.ready);
    let action =
        Action::EnsureIsolationGroups { vpc_id: vpc_id.to_string(), with_untracking: config.cut_tracked_connections };
    let skip = (ready(&found.isolation) && (!config.cut_tracked_connections || ready(&found.untracking)))
        .then(|| "the groups exist and are intact".to_string());
    Planned { action, skip }
}

/// The step that moves one ENI into its VPC's isolation group, recording its original groups
/// first unless an earlier run did (`released`: the ENI's record belongs to a released case).
/// `sole_interface_of`: the instance, when the ENI is its only one.
pub fn isolate_step(
    eni: &InterfaceFacts,
    groups: &BTreeMap<String, VpcGroups>,
    config: &QuarantineConfig,
    released: bool,
    sole_interface_of: Option<&str>,
) -> Planned<Action> {
    let firebreak_groups: Vec<&str> = groups
        .values()
        .flat_map(|g| [g.isolation.as_ref(), g.untracking.as_ref()])
        .flatten()
        .map(|g| g.group_id.as_str())
        .collect();
    let isolation_id = groups.get(&eni.vpc_id).and_then(|g| g.isolation.as_ref()).map(|g| g.group_id.as_str());
    let already_isolated = isolation_id.is_some_and(|id| eni.group_ids == [id]);
    let recorded = tags::read_list(&eni.tags, tags::ORIGINAL_GROUPS).filter(|_| !released);
    // Interrupted between the first move and its record, an ENI still carries its own groups
    // beside the untracking group: those are its originals.
    let own_groups: Vec<String> =
        eni.group_ids.iter().filter(|g| !firebreak_groups.contains(&g.as_str())).cloned().collect();
    let record_original_groups = recorded.is_none() && !own_groups.is_empty();
    Planned {
        action: Action::IsolateNetworkInterface {
            eni_id: eni.id.clone(),
            vpc_id: eni.vpc_id.clone(),
            original_group_ids: recorded.unwrap_or(own_groups),
            current_group_ids: eni.group_ids.clone(),
            record_original_groups,
            via_untracking_group: config.cut_tracked_connections,
            sole_interface_of: sole_interface_of.map(str::to_string),
        },
        skip: already_isolated.then(|| "already in the isolation group".to_string()),
    }
}
