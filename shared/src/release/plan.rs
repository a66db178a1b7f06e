//! Deciding a release (pure): what the case recorded, against how things are now, becomes the
//! steps that put each thing back. A change made by a person since the case wins and is said.

use std::collections::BTreeMap;

use super::action::ReleaseAction;
use crate::aws::ec2::InterfaceFacts;
use crate::aws::fleet::TargetRegistration;
use crate::bucket::release::plan_release;
use crate::bucket::BucketFacts;
use crate::engine::{Plan, Planned};
use crate::exposure::IngressRule;
use crate::policy;
use crate::ports::REVOKED_INGRESS_TAG;
use crate::revoke::Principal;
use crate::tags;

/// What was read before deciding.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseFacts {
    /// What the case's steps recorded, per resource (from the ledger).
    pub recorded: BTreeMap<String, BTreeMap<String, String>>,
    pub instances: Vec<InstanceNow>,
    /// ENIs the case isolated that belong to none of its instances (an ECS task's), as they are
    /// now, with Firebreak's groups of their VPC.
    pub interfaces: Vec<(InterfaceFacts, Vec<String>)>,
    /// The buckets the case contained, as they are now.
    pub buckets: Vec<BucketFacts>,
    /// The ECS tasks the case touched, as they are now.
    pub tasks: Vec<super::task::TaskNow>,
}

/// One instance the case touched, as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceNow {
    pub instance_id: String,
    pub exists: bool,
    pub state: String,
    /// Its tags: the record that travels with it, read when the ledger lacks a value.
    pub tags: BTreeMap<String, String>,
    pub interfaces: Vec<InterfaceFacts>,
    /// Per VPC, Firebreak's isolation (and untracking) group ids.
    pub firebreak_groups: BTreeMap<String, Vec<String>>,
    pub profile_arn: Option<String>,
    pub autoscaling_group: Option<String>,
}

impl InstanceNow {
    pub fn gone(instance_id: &str) -> Self {
        Self {
            instance_id: instance_id.to_string(),
            exists: false,
            state: "not found".into(),
            tags: BTreeMap::new(),
            interfaces: Vec::new(),
            firebreak_groups: BTreeMap::new(),
            profile_arn: None,
            autoscaling_group: None,
        }
    }
}

/// The release's options.
#[derive(Debug, Clone, PartialEq)]
pub struct Choices {
    pub case_id: String,
    pub credentials: bool,
    pub released_by: String,
    pub now: String,
}

/// The plan that undoes the case.
pub fn decide(case_id: &str, facts: &ReleaseFacts, choices: &Choices) -> Plan<ReleaseAction> {
    let mut steps = Vec::new();
    for instance in &facts.instances {
        steps.extend(instance_steps(instance, facts.recorded.get(&instance.instance_id), &facts.recorded, choices));
    }
    for (eni, ours) in &facts.interfaces {
        steps.extend(restore_interface_step(eni, ours, facts.recorded.get(&eni.id)));
    }
    for (resource, record) in &facts.recorded {
        if let Some(rules) = tags::read_list(record, REVOKED_INGRESS_TAG) {
            let rules: Vec<IngressRule> = rules.iter().filter_map(|r| IngressRule::from_record(r)).collect();
            steps.push(Planned::act(ReleaseAction::ReauthorizeIngress { group_id: resource.clone(), rules }));
        }
        steps.extend(credential_steps(resource, record, choices));
    }
    for bucket in &facts.buckets {
        steps.extend(bucket_steps(bucket, facts.recorded.get(&bucket.bucket.arn), choices));
    }
    for task in &facts.tasks {
        steps.extend(super::task::task_steps(task, facts.recorded.get(&task.task_arn), choices));
    }
    Plan { title: format!("release case {case_id}"), case_id: case_id.to_string(), steps }
}

/// A value the case recorded on the resource: the ledger first, the resource's own tag after.
fn value<'a>(
    ledger: Option<&'a BTreeMap<String, String>>,
    tags: &'a BTreeMap<String, String>,
    key: &str,
) -> Option<&'a str> {
    ledger.and_then(|l| l.get(key)).or_else(|| tags.get(key)).map(String::as_str)
}

fn list(ledger: Option<&BTreeMap<String, String>>, tags: &BTreeMap<String, String>, key: &str) -> Option<Vec<String>> {
    ledger.and_then(|l| tags::read_list(l, key)).or_else(|| tags::read_list(tags, key))
}

fn instance_steps(
    instance: &InstanceNow,
    ledger: Option<&BTreeMap<String, String>>,
    recorded: &BTreeMap<String, BTreeMap<String, String>>,
    choices: &Choices,
) -> Vec<Planned<ReleaseAction>> {
    let id = instance.instance_id.clone();
    if !instance.exists {
        let action = ReleaseAction::TagReleased { instance_id: id, tags: Vec::new() };
        return vec![Planned::skip(action, format!("the instance is {}: nothing to put back", instance.state))];
    }
    let mut steps = Vec::new();
    for eni in &instance.interfaces {
        let ours = instance.firebreak_groups.get(&eni.vpc_id).cloned().unwrap_or_default();
        steps.extend(restore_interface_step(eni, &ours, recorded.get(&eni.id)));
    }
    let forensic = value(ledger, &instance.tags, tags::FORENSIC_INSTANCE_PROFILE);
    let original = value(ledger, &instance.tags, tags::INSTANCE_PROFILE);
    if let Some(step) = super::forensic::forensic_profile_step(instance, forensic, original) {
        steps.push(step);
    } else if let Some(profile_arn) = original {
        let action =
            ReleaseAction::AssociateInstanceProfile { instance_id: id.clone(), profile_arn: profile_arn.into() };
        steps.push(match &instance.profile_arn {
            None => Planned::act(action),
            Some(now) if now == profile_arn => Planned::skip(action, "already associated"),
            Some(now) => Planned::skip(action, format!("has instance profile {now} now: left as it is")),
        });
    }
    if let Some(records) = list(ledger, &instance.tags, tags::TARGET_GROUPS) {
        let registrations: Vec<TargetRegistration> =
            records.iter().filter_map(|r| TargetRegistration::from_record(r)).collect();
        if !registrations.is_empty() {
            steps.push(Planned::act(ReleaseAction::RegisterInTargetGroups { instance_id: id.clone(), registrations }));
        }
    }
    let protection = value(ledger, &instance.tags, tags::TERMINATION_PROTECTION_BEFORE);
    let shutdown = value(ledger, &instance.tags, tags::SHUTDOWN_BEHAVIOR_BEFORE);
    if let (Some(protection), Some(shutdown)) = (protection, shutdown) {
        steps.push(Planned::act(ReleaseAction::RestoreTerminationSettings {
            instance_id: id.clone(),
            protected: protection == "true",
            shutdown_behavior: shutdown.to_string(),
        }));
    }
    if let Some(record) = list(ledger, &instance.tags, tags::DELETE_ON_TERMINATION_BEFORE) {
        let device_names = crate::disk_evidence::execute::devices_deleted_before(&record);
        let action = ReleaseAction::RestoreDeleteOnTermination { instance_id: id.clone(), device_names };
        steps.push(Planned::unless(action, record.iter().all(|r| r.ends_with("=false")), || {
            "no volume was deleted on termination before the case".into()
        }));
    }
    if let Some(group) = value(ledger, &instance.tags, tags::AUTOSCALING_GROUP) {
        let action = ReleaseAction::AttachToAutoScalingGroup { instance_id: id.clone(), group_name: group.into() };
        steps.push(match &instance.autoscaling_group {
            None => Planned::act(action),
            Some(now) => Planned::skip(action, format!("already in Auto Scaling group {now}")),
        });
    }
    steps.push(Planned::act(ReleaseAction::TagReleased { instance_id: id, tags: released_tags(choices) }));
    steps
}

/// An ENI the case recorded goes back to its groups, unless it left Firebreak's groups since.
fn restore_interface_step(
    eni: &InterfaceFacts,
    ours: &[String],
    ledger: Option<&BTreeMap<String, String>>,
) -> Option<Planned<ReleaseAction>> {
    let original = list(ledger, &eni.tags, tags::ORIGINAL_GROUPS)?;
    let isolated = !eni.group_ids.is_empty() && eni.group_ids.iter().all(|g| ours.contains(g));
    let action = ReleaseAction::RestoreInterfaceGroups { eni_id: eni.id.clone(), group_ids: original.clone() };
    Some(if eni.group_ids == original {
        Planned::skip(action, "already in its original groups")
    } else if !isolated {
        Planned::skip(
            action,
            format!(
                "now in [{}], not Firebreak's isolation group: changed since the case, left as it is",
                eni.group_ids.join(", ")
            ),
        )
    } else {
        Planned::act(action)
    })
}

fn bucket_steps(
    bucket: &BucketFacts,
    ledger: Option<&BTreeMap<String, String>>,
    choices: &Choices,
) -> Vec<Planned<ReleaseAction>> {
    let name = bucket.bucket.clone();
    let tag = ReleaseAction::TagBucketReleased { bucket: name.clone(), tags: released_tags(choices) };
    if !bucket.exists {
        return vec![Planned::skip(tag, "the bucket is gone: nothing to put back")];
    }
    let release = plan_release(bucket, ledger);
    let block =
        ReleaseAction::RestorePublicAccessBlock { bucket: name.clone(), before: release.public_access_block.flatten() };
    let policy = ReleaseAction::RestoreBucketPolicy { bucket: name, recorded: release.recorded_policy };
    vec![
        match (release.public_access_block, release.why_not_block) {
            (Some(_), _) => Planned::act(block),
            (None, why) => Planned::skip(block, why.unwrap_or_default()),
        },
        Planned::unless(policy, !release.policy, || "Firebreak's statement is not in the policy".into()),
        Planned::act(tag),
    ]
}

/// Who released which case, when: the case tags stay beside them as evidence.
pub(super) fn released_tags(choices: &Choices) -> Vec<(String, String)> {
    vec![
        (tags::RELEASED_AT.to_string(), choices.now.clone()),
        (tags::RELEASED_BY.to_string(), choices.released_by.chars().take(tags::MAX_VALUE_LEN).collect()),
        (tags::RELEASED_CASE.to_string(), choices.case_id.clone()),
    ]
}

fn credential_steps(
    resource: &str,
    record: &BTreeMap<String, String>,
    choices: &Choices,
) -> Vec<Planned<ReleaseAction>> {
    let principal = match resource.split_once('/') {
        Some(("user", name)) => Principal::User(name.to_string()),
        Some(("role", name)) => Principal::Role(name.to_string()),
        _ => return Vec::new(),
    };
    let kept = "credentials stay revoked unless the release asks for them (credentials: true)";
    let mut steps = Vec::new();
    for key in record.keys() {
        let action = if let Some(policy_name) = key.strip_prefix(tags::POLICY_PREFIX) {
            // Only ever Firebreak's own policies, whatever a ledger item says.
            if !policy::is_firebreak_policy(policy_name) {
                continue;
            }
            ReleaseAction::RemovePolicy { principal: principal.clone(), policy_name: policy_name.to_string() }
        } else if let Some(access_key_id) = key.strip_prefix(tags::DISABLED_ACCESS_KEY_PREFIX) {
            ReleaseAction::ActivateAccessKey {
                user_name: principal.name().to_string(),
                access_key_id: access_key_id.to_string(),
            }
        } else {
            continue;
        };
        steps.push(if choices.credentials { Planned::act(action) } else { Planned::skip(action, kept) });
    }
    // Whatever happens to its credentials, the principal's case is over: a new signal opens a new one.
    if !steps.is_empty() {
        steps.push(Planned::act(ReleaseAction::TagPrincipalReleased { principal, tags: released_tags(choices) }));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;

    fn eni(id: &str, groups: &[&str], original: Option<&str>) -> InterfaceFacts {
        InterfaceFacts {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            group_ids: groups.iter().map(|g| g.to_string()).collect(),
            tags: original
                .map(|o| BTreeMap::from([(tags::ORIGINAL_GROUPS.to_string(), o.to_string())]))
                .unwrap_or_default(),
        }
    }

    fn instance(interfaces: Vec<InterfaceFacts>) -> InstanceNow {
        InstanceNow {
            instance_id: "i-1".into(),
            exists: true,
            state: "running".into(),
            tags: BTreeMap::from([(tags::AUTOSCALING_GROUP.to_string(), "web".to_string())]),
            interfaces,
            firebreak_groups: BTreeMap::from([("vpc-1".to_string(), vec!["sg-iso".to_string()])]),
            profile_arn: None,
            autoscaling_group: None,
        }
    }

    fn choices(credentials: bool) -> Choices {
        Choices { case_id: "fb-1".into(), credentials, released_by: "alice".into(), now: "2026-11-30T03:00:00Z".into() }
    }

    #[test]
    fn isolated_enis_go_back_and_a_human_change_wins() {
        let facts = ReleaseFacts {
            buckets: Vec::new(),
            tasks: Vec::new(),
            recorded: BTreeMap::new(),
            interfaces: Vec::new(),
            instances: vec![instance(vec![
                eni("eni-a", &["sg-iso"], Some("sg-web,sg-ssh")),
                eni("eni-b", &["sg-other"], Some("sg-db")),
                eni("eni-c", &["sg-x"], None),
            ])],
        };
        let plan = decide("fb-1", &facts, &choices(false));
        let restore: Vec<_> = plan.steps.iter().filter(|s| s.action.name() == "restore_interface_groups").collect();
        assert_eq!(restore.len(), 2, "an ENI the case did not record is not touched");
        assert_eq!(
            restore[0].action,
            ReleaseAction::RestoreInterfaceGroups {
                eni_id: "eni-a".into(),
                group_ids: vec!["sg-web".into(), "sg-ssh".into()]
            }
        );
        assert!(restore[0].skip.is_none());
        assert!(restore[1].skip.as_deref().unwrap().contains("changed since the case"));
        let attach = plan.step("attach_to_autoscaling_group").unwrap();
        assert!(attach.skip.is_none(), "the tag is the fallback record");
        assert_eq!(plan.steps.last().unwrap().action.name(), "tag_released");
    }

    #[test]
    fn credentials_are_restored_only_when_asked_and_ports_always() {
        let recorded = BTreeMap::from([
            (
                "user/deploy-bot".to_string(),
                BTreeMap::from([
                    (format!("{}AKIA1", tags::DISABLED_ACCESS_KEY_PREFIX), "deploy-bot".to_string()),
                    (format!("{}firebreak-revoke-older-sessions", tags::POLICY_PREFIX), "user/deploy-bot".to_string()),
                ]),
            ),
            (
                "sg-web".to_string(),
                BTreeMap::from([(REVOKED_INGRESS_TAG.to_string(), "tcp 22-22 0.0.0.0/0".to_string())]),
            ),
        ]);
        let facts = ReleaseFacts {
            recorded,
            instances: Vec::new(),
            interfaces: Vec::new(),
            buckets: Vec::new(),
            tasks: Vec::new(),
        };
        let kept = decide("fb-1", &facts, &choices(false));
        let credentials =
            |s: &&Planned<ReleaseAction>| matches!(s.action.name(), "remove_policy" | "activate_access_key");
        assert!(kept.steps.iter().filter(credentials).all(|s| s.skip.is_some()));
        assert!(kept.step("tag_principal_released").unwrap().skip.is_none(), "its case is over either way");
        let reauthorize = kept.step("reauthorize_ingress").unwrap();
        assert!(reauthorize.skip.is_none());
        let mut foreign = facts.clone();
        let user = foreign.recorded.get_mut("user/deploy-bot").unwrap();
        user.insert(format!("{}team-policy", tags::POLICY_PREFIX), "user/deploy-bot".into());
        let plan = decide("fb-1", &foreign, &choices(true));
        assert!(!plan.to_string().contains("team-policy"), "never another policy: {plan}");
        let restored = decide("fb-1", &facts, &choices(true));
        assert!(restored.steps.iter().all(|s| s.skip.is_none()), "{restored}");
        assert_eq!(restored.steps.len(), 4);
    }

    #[test]
    fn a_terminated_instance_is_reported_not_touched() {
        let facts = ReleaseFacts {
            recorded: BTreeMap::new(),
            instances: vec![InstanceNow::gone("i-1")],
            interfaces: Vec::new(),
            buckets: Vec::new(),
            tasks: Vec::new(),
        };
        let plan = decide("fb-1", &facts, &choices(false));
        assert_eq!(plan.steps.len(), 1);
        assert!(plan.steps[0].skip.as_deref().unwrap().contains("not found"));
    }
}
