//! The evidence steps of a quarantine plan (pure): what the configuration asks for, skipped with
//! the reason when there is nothing to do or it cannot be done.

use super::config::EvidenceConfig;
use super::{command_comment, evidence_prefix, EVIDENCE_COMMAND_TAG};
use crate::aws::forensics::profile_name;
use crate::engine::Planned;
use crate::quarantine::{Action, InstanceFacts};

/// With a forensic profile configured, the step that replaces the instance's profile with it
/// (`None`: the quarantine removes the profile as before).
pub fn profile_step(facts: &InstanceFacts, config: &EvidenceConfig) -> Option<Planned<Action>> {
    let forensic = config.forensic_instance_profile.clone()?;
    let attached = facts.instance_profile_arn.as_deref().is_some_and(|arn| profile_name(arn) == forensic);
    let action = Action::ReplaceInstanceProfile {
        instance_id: facts.instance_id.clone(),
        // Never the forensic profile itself: a redelivery after the swap records nothing new.
        original_arn: facts.instance_profile_arn.clone().filter(|_| !attached),
        forensic_profile: forensic.clone(),
    };
    Some(Planned::unless(action, attached, || format!("the forensic profile {forensic} is attached already")))
}

/// The steps that keep the instance reachable and capture its evidence, each only when configured.
pub fn evidence_steps(
    facts: &InstanceFacts,
    config: &EvidenceConfig,
    (region, account): (&str, &str),
    case_id: &str,
    released: bool,
) -> Vec<Planned<Action>> {
    let mut steps = Vec::new();
    let instance_id = facts.instance_id.clone();
    if config.forensic_instance_profile.is_some() || config.captures().is_some() {
        let mut vpcs: Vec<&str> = facts.network_interfaces.iter().map(|eni| eni.vpc_id.as_str()).collect();
        vpcs.sort();
        vpcs.dedup();
        steps.extend(vpcs.into_iter().map(|vpc_id| {
            Planned::unless(
                Action::AllowSsmEndpoints { vpc_id: vpc_id.to_string() },
                !config.allow_ssm_endpoints,
                || {
                    "FIREBREAK_ISOLATION_ALLOW_SSM_ENDPOINTS is off: the isolation group allows no egress, so the SSM \
                 agent cannot reach Systems Manager and the instance is not reachable through it (isolation first)"
                        .into()
                },
            )
        }));
    }
    let prefix = evidence_prefix(region, account, case_id, &instance_id);
    if let Some((document, bucket)) = config.captures() {
        let sent = facts.tags.get(EVIDENCE_COMMAND_TAG).filter(|_| !released);
        let action = Action::CaptureVolatileState {
            instance_id: instance_id.clone(),
            document: document.to_string(),
            bucket: bucket.to_string(),
            prefix: prefix.clone(),
            comment: command_comment(case_id),
        };
        steps.push(Planned::unless(action, sent.is_some(), || {
            format!("command {} already sent for this case", sent.map(String::as_str).unwrap_or_default())
        }));
    }
    if let Some(bucket) = &config.bucket {
        steps.push(Planned::act(Action::SaveInstanceEvidence { instance_id, bucket: bucket.clone(), prefix }));
    }
    steps
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::aws::ec2::InterfaceFacts;

    fn facts(profile: Option<&str>, tags: &[(&str, &str)]) -> InstanceFacts {
        InstanceFacts {
            instance_id: "i-0a1b2c3d4e5f60718".into(),
            state: "running".into(),
            network_interfaces: vec![InterfaceFacts {
                id: "eni-07a6b5c4d3e2f1098".into(),
                vpc_id: "vpc-0c1d2e3f4a5b6c7d8".into(),
                group_ids: vec!["sg-0e5d4c3b2a1f0e9d8".into()],
                tags: BTreeMap::new(),
            }],
            volume_ids: vec![],
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            autoscaling_group: None,
            instance_profile_arn: profile.map(str::to_string),
            target_group_arns: vec![],
        }
    }

    fn config() -> EvidenceConfig {
        EvidenceConfig {
            forensic_instance_profile: Some("firebreak-forensic".into()),
            allow_ssm_endpoints: false,
            bucket: Some("evidence".into()),
            document: Some("Firebreak-CaptureEvidence".into()),
        }
    }

    #[test]
    fn without_the_variables_nothing_changes() {
        let facts = facts(Some("arn:aws:iam::1:instance-profile/web"), &[]);
        assert!(profile_step(&facts, &EvidenceConfig::default()).is_none());
        assert!(
            evidence_steps(&facts, &EvidenceConfig::default(), ("us-east-1", "111122223333"), "fb-1", false).is_empty()
        );
    }

    #[test]
    fn the_original_profile_is_recorded_and_the_forensic_one_never_twice() {
        let original = "arn:aws:iam::111122223333:instance-profile/web";
        let step = profile_step(&facts(Some(original), &[]), &config()).unwrap();
        assert_eq!(step.skip, None);
        let Action::ReplaceInstanceProfile { original_arn, .. } = &step.action else { unreachable!() };
        assert_eq!(original_arn.as_deref(), Some(original));
        let forensic = "arn:aws:iam::111122223333:instance-profile/x/firebreak-forensic";
        let again = profile_step(&facts(Some(forensic), &[]), &config()).unwrap();
        assert!(again.skip.is_some_and(|s| s.contains("attached already")));
        let Action::ReplaceInstanceProfile { original_arn, .. } = &again.action else { unreachable!() };
        assert_eq!(original_arn, &None, "the forensic profile is never recorded as the original");
    }

    #[test]
    fn reachability_capture_and_evidence_are_planned_with_the_case_prefix() {
        let steps =
            evidence_steps(&facts(None, &[]), &config(), ("us-east-1", "111122223333"), "fb-0123456789abcdef", false);
        let names: Vec<&str> = steps.iter().map(|s| crate::engine::Action::name(&s.action)).collect();
        assert_eq!(names, ["allow_ssm_endpoints", "capture_volatile_state", "save_instance_evidence"]);
        assert!(steps[0].skip.as_deref().is_some_and(|s| s.contains("not reachable")), "isolation first");
        let Action::CaptureVolatileState { prefix, comment, .. } = &steps[1].action else { unreachable!() };
        assert_eq!(prefix, "arn:aws:ec2:us-east-1:111122223333:instance/i-0a1b2c3d4e5f60718/fb-0123456789abcdef/");
        assert_eq!(comment, "firebreak fb-0123456789abcdef");

        let sent = facts(None, &[(EVIDENCE_COMMAND_TAG, "cmd-1")]);
        let steps = evidence_steps(&sent, &config(), ("us-east-1", "111122223333"), "fb-0123456789abcdef", false);
        assert!(steps[1].skip.as_deref().is_some_and(|s| s.contains("cmd-1")), "one command per case");
        let released = evidence_steps(&sent, &config(), ("us-east-1", "111122223333"), "fb-0123456789abcdef", true);
        assert_eq!(released[1].skip, None, "a released case's command is history");
    }
}
