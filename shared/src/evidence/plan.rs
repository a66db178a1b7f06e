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
    account: &str,
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
    let prefix = evidence_prefix(account, case_id, &instance_id);
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
