//! GuardDuty Extended Threat Detection: attack sequences (`AttackSequence:EC2/...`), whose
//! `resource` is only `{"resourceType": "AttackSequence"}` and whose affected resources are listed
//! under `service.detection.sequence.resources[]`.
//!
//! Field names are the GuardDuty API's `locationName`s (service-2.json, 2017-11-28), which are the
//! EventBridge keys: `Service.detection` → `Detection.sequence` → `Sequence.resources` (list of
//! `ResourceV2`: `uid`, `name`, `accountId`, `region`, `resourceType`, `data`); `ResourceData`
//! members such as `autoscalingAutoScalingGroup`, whose `AutoscalingAutoScalingGroup.ec2InstanceUids`
//! lists "the compromised EC2 instances that are part of the same Auto Scaling Group" (≤ 25).
//! Caveat: the botocore model on this machine predates these shapes; the names come from the API
//! reference pages (`ResourceV2`, `AutoscalingAutoScalingGroup`) and the `data` key
//! `autoscalingAutoScalingGroup` is the camelCase of that member, not checked against a model.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{arn_account_region, validate_instance_id, EventError, GuardDutyFinding};

/// `resource.resourceType` of an attack sequence.
pub const RESOURCE_TYPE: &str = "AttackSequence";
/// The sequence types that may name EC2 instances: an instance group, and the nodes (container
/// instances) of an ECS or EKS cluster.
pub const INSTANCE_TYPE_PREFIXES: [&str; 3] = ["AttackSequence:EC2/", "AttackSequence:ECS/", "AttackSequence:EKS/"];
/// More instances than one invocation contains before its deadline even against EC2's throttling
/// (the burst bench: 100 instances in one sequence, docs/performance.md), and four times what a
/// real sequence names (GuardDuty caps a group's list at 25): a hostile or broken event, refused
/// whole rather than half-contained at random.
pub const MAX_SEQUENCE_INSTANCES: usize = 100;
/// Resources listed at all: bounds the work spent reading a hostile event. The API's own limit
/// (`Sequence.resources`: at most 400 items), so that no real sequence is refused for its size.
pub const MAX_SEQUENCE_RESOURCES: usize = 400;

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    #[serde(default)]
    pub sequence: Option<Sequence>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sequence {
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub resources: Vec<SequenceResource>,
    /// Who acted: the credentials revoke-credentials revokes for IAM and S3 sequences.
    #[serde(default)]
    pub actors: Vec<super::actor::Actor>,
}

/// One `ResourceV2`. Only `uid` and `resourceType` are required by the API.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SequenceResource {
    pub uid: String,
    pub resource_type: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub data: Option<Value>,
}

/// The instances a sequence names, and the resources it names that lead to none (and why).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SequenceInstances {
    pub instance_ids: Vec<String>,
    pub left: Vec<(String, String)>,
}

impl GuardDutyFinding {
    pub fn is_attack_sequence(&self) -> bool {
        self.resource.resource_type == RESOURCE_TYPE
    }

    /// The sequence GuardDuty correlated (`service.detection.sequence`), if any.
    pub fn sequence(&self) -> Option<&Sequence> {
        self.service.detection.as_ref().and_then(|d| d.sequence.as_ref())
    }

    /// The resources the sequence names (none when it names none).
    pub fn sequence_resources(&self) -> &[SequenceResource] {
        self.sequence().map(|s| s.resources.as_slice()).unwrap_or_default()
    }

    /// Every EC2 instance an `AttackSequence:EC2/...` (or ECS/EKS: its nodes) finding names: `EC2_INSTANCE` resources and
    /// the `ec2InstanceUids` of its Auto Scaling groups, deduplicated. Refused whole when any is
    /// of another account or region than the finding (the clients are the finding's), of the wrong
    /// shape, or when there are more than [`MAX_SEQUENCE_INSTANCES`].
    pub fn sequence_instances(&self) -> Result<SequenceInstances, EventError> {
        if !self.is_attack_sequence() || !INSTANCE_TYPE_PREFIXES.iter().any(|p| self.finding_type.starts_with(p)) {
            return Err(EventError::UnsupportedFinding {
                finding_type: self.finding_type.clone(),
                resource_type: self.resource.resource_type.clone(),
                why: "quarantine-instance handles attack sequences of type AttackSequence:EC2/, ECS/ or EKS/...",
            });
        }
        let resources = self.sequence_resources();
        if resources.len() > MAX_SEQUENCE_RESOURCES {
            return Err(too_many("service.detection.sequence.resources", resources.len()));
        }
        let mut found = SequenceInstances::default();
        for resource in resources {
            self.check_place(resource)?;
            match resource.resource_type.as_str() {
                "EC2_INSTANCE" => found.instance_ids.push(self.instance_uid(&resource.uid)?),
                "AUTOSCALING_AUTO_SCALING_GROUP" => {
                    let uids = resource
                        .data
                        .as_ref()
                        .and_then(|d| d.get("autoscalingAutoScalingGroup"))
                        .and_then(|g| g.get("ec2InstanceUids"));
                    let uids = match uids {
                        None | Some(Value::Null) => &Vec::new(),
                        Some(Value::Array(uids)) => uids,
                        Some(_) => {
                            return Err(EventError::invalid("ec2InstanceUids", "not a list", "a list of instance uids"))
                        }
                    };
                    if uids.len() > MAX_SEQUENCE_INSTANCES {
                        return Err(too_many("ec2InstanceUids", uids.len()));
                    }
                    for uid in uids {
                        let uid = uid.as_str().ok_or_else(|| {
                            EventError::invalid("ec2InstanceUids[]", &uid.to_string(), "an instance uid is a string")
                        })?;
                        found.instance_ids.push(self.instance_uid(uid)?);
                    }
                }
                // Access keys, profiles, buckets, VPCs...: other functions' work, or shared with
                // instances the sequence does not show compromised. Reported, not acted on.
                other => found.left.push((
                    resource.uid.chars().take(256).collect(),
                    format!("{other}: not an instance this function quarantines"),
                )),
            }
        }
        found.instance_ids.sort();
        found.instance_ids.dedup();
        if found.instance_ids.len() > MAX_SEQUENCE_INSTANCES {
            return Err(too_many("instances named by the sequence", found.instance_ids.len()));
        }
        if found.instance_ids.is_empty() {
            return Err(EventError::UnsupportedFinding {
                finding_type: self.finding_type.clone(),
                resource_type: self.resource.resource_type.clone(),
                why: "the attack sequence names no EC2 instance (EC2_INSTANCE or an Auto Scaling group's ec2InstanceUids)",
            });
        }
        Ok(found)
    }

    /// A resource of another account or region than the finding would be acted on with the
    /// finding's account's clients: never.
    pub(crate) fn check_place(&self, resource: &SequenceResource) -> Result<(), EventError> {
        if resource.account_id.as_ref().is_some_and(|a| *a != self.account_id) {
            return Err(EventError::invalid(
                "sequence.resources[].accountId",
                resource.account_id.as_deref().unwrap_or_default(),
                "a sequence resource of another account than the finding's",
            ));
        }
        if resource.region.as_ref().is_some_and(|r| *r != self.region) {
            return Err(EventError::invalid(
                "sequence.resources[].region",
                resource.region.as_deref().unwrap_or_default(),
                "a sequence resource of another region than the finding's",
            ));
        }
        Ok(())
    }

    /// An instance uid is its id or its ARN (`arn:aws:ec2:<region>:<account>:instance/i-...`);
    /// which one GuardDuty sends is not documented. An ARN must be of the finding's account and region.
    fn instance_uid(&self, uid: &str) -> Result<String, EventError> {
        let id = self.own_arn_resource(uid, "instance uid", "ec2", "instance")?;
        validate_instance_id(id)?;
        Ok(id.to_string())
    }

    /// `value` as it is, or, when it is an ARN, what follows `:<kind>/` in an ARN of `service` in
    /// the finding's own account and region: another's resource would be reached with this
    /// account's clients, and an ARN of the wrong kind names something else.
    pub(crate) fn own_arn_resource<'a>(
        &self,
        value: &'a str,
        field: &'static str,
        service: &str,
        kind: &str,
    ) -> Result<&'a str, EventError> {
        let Some((account, region)) = arn_account_region(value) else {
            return Ok(value);
        };
        if account != Some(self.account_id.as_str()) || region != Some(self.region.as_str()) {
            return Err(EventError::invalid(field, value, "an ARN of another account or region than the finding's"));
        }
        match value.rsplit_once(&format!(":{kind}/")) {
            Some((_, name)) if value.split(':').nth(2) == Some(service) => Ok(name),
            _ => Err(EventError::invalid(field, value, "not an ARN of the expected service and resource type")),
        }
    }
}

fn too_many(field: &'static str, count: usize) -> EventError {
    EventError::too_many(
        field,
        count,
        "more than one invocation contains (at most 50 instances, 400 resources): refused whole",
    )
}
