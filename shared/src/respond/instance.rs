//! quarantine-instance: a GuardDuty EC2 finding, Security Hub imported GuardDuty findings, or the
//! Security Hub "Quarantine" custom action, turned into the instances to quarantine.

use serde_json::Value;

use super::run::{quarantine_all, Target};
use super::{RespondError, Response, Settings, Unresolved};
use crate::accounts::Accounts;
use crate::aws::securityhub::FindingRef;
use crate::deadline::Deadline;
use crate::engine::Signal;
use crate::events::ocsf::DETAIL_TYPE as FINDINGS_IMPORTED_V2;
use crate::events::securityhub::SOURCE as SECURITY_HUB;
use crate::events::sequence::INSTANCE_TYPE_PREFIXES;
use crate::events::{AsffFinding, CustomAction, EventError, GuardDutyFinding, OcsfEvent, SecurityHubEvent, Trigger};
use crate::quarantine::{self, QuarantineRequest};

/// What set quarantine-instance off, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum InstanceTrigger {
    /// Boxed: a finding is several times the size of the other variant.
    Finding(Box<GuardDutyFinding>),
    SecurityHub(SecurityHubEvent),
    /// Security Hub (v2) OCSF findings: `Findings Imported V2`.
    SecurityHubV2(OcsfEvent),
}

/// The instances a trigger names, and the findings it names that lead to none (and why).
type Routed = (Vec<Target>, Vec<Unresolved>);

impl InstanceTrigger {
    /// Parses and checks the event with no AWS call: a malformed, spoofed or unsupported event
    /// (another function's finding or custom action, a finding naming no instance) is refused
    /// here, before any client is touched.
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        let source = event.get("source").and_then(Value::as_str).unwrap_or_default();
        let detail_type = event.get("detail-type").and_then(Value::as_str).unwrap_or_default();
        let trigger = if source == SECURITY_HUB && detail_type == FINDINGS_IMPORTED_V2 {
            Self::SecurityHubV2(OcsfEvent::from_event(event)?)
        } else if source == SECURITY_HUB {
            Self::SecurityHub(SecurityHubEvent::from_event(event)?)
        } else {
            Self::Finding(Box::new(GuardDutyFinding::from_event(event)?))
        };
        trigger.targets()?;
        Ok(trigger)
    }

    /// The signal the response answers: one finding's own, or the Security Hub event's.
    pub fn signal(&self) -> Signal {
        let hub = match self {
            Self::Finding(finding) => return finding.signal(),
            Self::SecurityHubV2(v2) => return ocsf_signal(v2),
            Self::SecurityHub(hub) => hub,
        };
        let (source, kind) = match &hub.trigger {
            Trigger::Imported => {
                ("aws.securityhub (imported)".to_string(), "Security Hub imported findings".to_string())
            }
            Trigger::CustomAction { name, .. } => {
                ("aws.securityhub (custom action)".to_string(), format!("Security Hub custom action {name:?}"))
            }
        };
        let mut signal = Signal {
            source,
            kind,
            id: hub.findings.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().join(" "),
            account: hub.account_id.clone(),
            region: hub.region.clone(),
            delivered_by: None,
            time: None,
        };
        if let [only] = hub.findings.as_slice() {
            signal.kind = only.guardduty_type().unwrap_or_else(|| only.types.join(", "));
            signal.account = only.aws_account_id.clone();
            signal.region = only.region.clone().unwrap_or_else(|| hub.region.clone());
            signal.delivered_by = only.delivered_by.clone();
        }
        signal
    }

    fn targets(&self) -> Result<Routed, EventError> {
        match self {
            Self::Finding(finding) if finding.is_attack_sequence() => sequence_targets(finding),
            Self::Finding(finding) => {
                let request = QuarantineRequest::from_finding(finding)?;
                Ok((vec![Target { request, finding: Some(finding.as_ref().clone()), origin: None }], Vec::new()))
            }
            Self::SecurityHub(hub) => security_hub_targets(hub),
            Self::SecurityHubV2(v2) => ocsf_targets(v2),
        }
    }
}

/// Quarantines the instances the trigger names, then updates their findings and notifies.
pub async fn respond_to_instance(
    accounts: &Accounts,
    settings: &Settings,
    trigger: &InstanceTrigger,
    deadline: Deadline,
) -> Response {
    let mut response = Response::new(quarantine::FUNCTION, trigger.signal());
    // A trigger from `from_event` has passed this already; one built by hand may not.
    match trigger.targets() {
        Ok((targets, unresolved)) => {
            response.unresolved = unresolved;
            // Boxed: the response future holds every AWS call's future, too large for a small stack.
            Box::pin(quarantine_all(accounts, settings, &mut response, targets, deadline)).await;
        }
        Err(error) => {
            response.error(RespondError::from(error).into());
            response.finish();
        }
    }
    response
}

/// Why an imported finding about no instance is left here: another function gets it too.
fn elsewhere(finding: &GuardDutyFinding) -> String {
    format!(
        "{} finding ({}): not about an EC2 instance, handled by the function for its resource",
        finding.resource.resource_type, finding.finding_type
    )
}

/// An imported attack sequence: the instances of an EC2, ECS or EKS sequence like the native
/// one's; a sequence of another kind (IAM, S3) is left to the functions for its resources.
fn imported_sequence(
    finding: &GuardDutyFinding,
    entity: &str,
    origin: Option<FindingRef>,
) -> Result<Routed, EventError> {
    if !INSTANCE_TYPE_PREFIXES.iter().any(|prefix| finding.finding_type.starts_with(prefix)) {
        let reason = format!("{}: names no EC2 instance to quarantine", finding.finding_type);
        return Ok((Vec::new(), vec![Unresolved { entity: entity.to_string(), reason }]));
    }
    let (mut targets, unresolved) = sequence_targets(finding)?;
    for target in &mut targets {
        target.origin.clone_from(&origin);
    }
    Ok((targets, unresolved))
}

/// An attack sequence: each instance it names is quarantined as its own step set, all under the
/// sequence's signal, so that they share one case (`case_id_for` the sequence finding's id).
fn sequence_targets(finding: &GuardDutyFinding) -> Result<Routed, EventError> {
    let found = finding.sequence_instances()?;
    let signal = finding.signal();
    let targets = found
        .instance_ids
        .into_iter()
        .map(|instance_id| Target {
            request: QuarantineRequest { instance_id, signal: signal.clone(), vpc_hints: Vec::new() },
            finding: Some(finding.clone()),
            origin: None,
        })
        .collect();
    let unresolved = found.left.into_iter().map(|(entity, reason)| Unresolved { entity, reason }).collect();
    Ok((targets, unresolved))
}

fn security_hub_targets(hub: &SecurityHubEvent) -> Result<Routed, EventError> {
    let mut targets = Vec::new();
    let mut unresolved = Vec::new();
    let mut left_by_sequences = Vec::new();
    let mut leave =
        |asff: &AsffFinding, reason: String| unresolved.push(Unresolved { entity: asff.id.clone(), reason });
    for asff in &hub.findings {
        let origin = Some(FindingRef { id: asff.id.clone(), product_arn: asff.product_arn.clone() });
        match &hub.trigger {
            Trigger::Imported => {
                if !asff.is_guardduty() {
                    leave(asff, "not a GuardDuty finding".into());
                    continue;
                }
                if !asff.is_new_and_active() {
                    leave(asff, "already worked (workflow not NEW, or archived)".into());
                    continue;
                }
                let finding = asff.to_guardduty_finding()?;
                if finding.is_attack_sequence() {
                    let (found, left) = imported_sequence(&finding, &asff.id, origin)?;
                    targets.extend(found);
                    left_by_sequences.extend(left);
                    continue;
                }
                if finding.resource.resource_type != "Instance" {
                    leave(asff, elsewhere(&finding));
                    continue;
                }
                let request = QuarantineRequest::from_finding(&finding)?;
                targets.push(Target { request, finding: Some(finding), origin });
            }
            Trigger::CustomAction { action: CustomAction::Release, .. } => {
                return Err(EventError::UnsupportedFinding {
                    finding_type: "Security Hub custom action \"Release\"".into(),
                    resource_type: resource_types(asff),
                    why: "the release function handles this action; quarantine-instance handles \"Quarantine\"",
                });
            }
            Trigger::CustomAction { action: CustomAction::Approve | CustomAction::Reject, name, .. } => {
                return Err(EventError::UnsupportedFinding {
                    finding_type: format!("Security Hub custom action {name:?}"),
                    resource_type: resource_types(asff),
                    why: "the release function answers \"Approve\" and \"Reject\"; quarantine-instance handles \"Quarantine\"",
                });
            }
            Trigger::CustomAction { action: CustomAction::RevokeCredentials, .. } => {
                return Err(EventError::UnsupportedFinding {
                    finding_type: "Security Hub custom action \"Revoke credentials\"".into(),
                    resource_type: resource_types(asff),
                    why: "revoke-credentials handles this action; quarantine-instance handles \"Quarantine\"",
                });
            }
            // An analyst chose to quarantine: no severity or role triage, the exemption tag still holds.
            Trigger::CustomAction { action: CustomAction::Quarantine, .. } => {
                targets.extend(custom_action_requests(asff)?.into_iter().map(|request| Target {
                    request,
                    finding: None,
                    origin: origin.clone(),
                }));
            }
        }
    }
    unresolved.extend(left_by_sequences);
    if targets.is_empty() && unresolved.is_empty() {
        return Err(EventError::Malformed("Security Hub event without findings".into()));
    }
    Ok((targets, unresolved))
}

/// One finding converted is named like the native one (same case id, so the native event and the
/// import resume the same case); several are named by their uids.
fn ocsf_signal(v2: &OcsfEvent) -> Signal {
    if let [only] = v2.findings.as_slice() {
        if let Ok(finding) = only.to_guardduty_finding() {
            return finding.signal();
        }
    }
    Signal {
        source: "aws.securityhub (OCSF imported)".into(),
        kind: "Security Hub imported findings".into(),
        id: v2.findings.iter().map(|f| f.finding_info.uid.as_str()).collect::<Vec<_>>().join(" "),
        account: v2.account_id.clone(),
        region: v2.region.clone(),
        delivered_by: None,
        time: None,
    }
}

/// Like the ASFF imports: GuardDuty EC2 findings, new and active, quarantine their instance; other
/// products, worked findings and access-key findings are left alone with the reason. No origin:
/// the ASFF write-back (BatchUpdateFindings) does not address OCSF findings.
fn ocsf_targets(v2: &OcsfEvent) -> Result<Routed, EventError> {
    let mut targets = Vec::new();
    let mut unresolved = Vec::new();
    for ocsf in &v2.findings {
        let mut leave = |reason: String| unresolved.push(Unresolved { entity: ocsf.finding_info.uid.clone(), reason });
        if !ocsf.is_guardduty() {
            leave("not a GuardDuty finding".into());
            continue;
        }
        if !ocsf.is_new_and_active() {
            leave("already worked (status not New, or closed)".into());
            continue;
        }
        let finding = ocsf.to_guardduty_finding()?;
        if finding.is_attack_sequence() {
            let (found, left) = imported_sequence(&finding, &ocsf.finding_info.uid, None)?;
            targets.extend(found);
            unresolved.extend(left);
            continue;
        }
        if finding.resource.resource_type != "Instance" {
            leave(elsewhere(&finding));
            continue;
        }
        let request = QuarantineRequest::from_finding(&finding)?;
        targets.push(Target { request, finding: Some(finding), origin: None });
    }
    Ok((targets, unresolved))
}

fn resource_types(asff: &AsffFinding) -> String {
    asff.resources.iter().map(|r| r.resource_type.clone()).collect::<Vec<_>>().join(", ")
}

fn custom_action_requests(asff: &AsffFinding) -> Result<Vec<QuarantineRequest>, EventError> {
    if asff.is_guardduty() {
        let finding = asff.to_guardduty_finding()?;
        if finding.resource.resource_type == "Instance" {
            return Ok(vec![QuarantineRequest::from_finding(&finding)?]);
        }
    }
    let instance_ids = asff.instance_ids()?;
    if instance_ids.is_empty() {
        return Err(EventError::UnsupportedFinding {
            finding_type: asff.types.join(", "),
            resource_type: resource_types(asff),
            why: "\"Quarantine\" needs a finding with an AwsEc2Instance resource",
        });
    }
    let region = asff.region.clone().unwrap_or_default();
    Ok(instance_ids
        .into_iter()
        .map(|instance_id| QuarantineRequest {
            instance_id,
            signal: Signal {
                source: SECURITY_HUB.into(),
                kind: asff.title.clone().or_else(|| asff.types.first().cloned()).unwrap_or_default(),
                id: asff.id.clone(),
                account: asff.aws_account_id.clone(),
                region: region.clone(),
                delivered_by: asff.delivered_by.clone(),
                time: None,
            },
            vpc_hints: Vec::new(),
        })
        .collect())
}
