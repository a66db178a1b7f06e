//! A Security Hub (v2) import routed like the native GuardDuty finding it carries: each function
//! takes the native event, or an import converted to it, and refuses an import about another
//! resource than its own.

use serde_json::Value;

use super::{OcsfEvent, DETAIL_TYPE, SOURCE};
use crate::events::{EventError, GuardDutyFinding};

/// Where a finding about another resource than the function's goes instead.
const ROUTED: &str = "about another resource than this function handles (EC2 instances go to quarantine-instance, \
                      access keys to revoke-credentials, Lambda functions to contain-lambda, S3 buckets to contain-bucket, \
                      ECS tasks to quarantine-task)";

/// A native GuardDuty event as it is, or a Security Hub (v2) import of one as the native finding.
pub fn native_or_imported(event: &Value, resource_types: &[&str]) -> Result<GuardDutyFinding, EventError> {
    match (event.get("source").and_then(Value::as_str), event.get("detail-type").and_then(Value::as_str)) {
        (Some(SOURCE), Some(DETAIL_TYPE)) => imported_guardduty_finding(event, resource_types),
        _ => GuardDutyFinding::from_event(event),
    }
}

/// A Security Hub (v2) import as the native finding of one of `resource_types` (the native
/// `resource.resourceType`; `AttackSequence` for the functions that contain a sequence's resources): Security Hub sends one finding per event, and the native id makes the
/// same case. What is not a new, active GuardDuty finding about such a resource is refused with
/// the reason (the rules let none through).
pub fn imported_guardduty_finding(event: &Value, resource_types: &[&str]) -> Result<GuardDutyFinding, EventError> {
    let v2 = OcsfEvent::from_event(event)?;
    let [ocsf] = v2.findings.as_slice() else {
        return Err(EventError::InvalidField {
            field: "detail.findings",
            value: format!("{} findings", v2.findings.len()),
            why: "Security Hub sends one finding per Findings Imported V2 event",
        });
    };
    let refuse = |why| EventError::UnsupportedFinding {
        finding_type: ocsf.finding_info.types.join(", "),
        resource_type: ocsf.resources.iter().map(|r| r.resource_type.as_str()).collect::<Vec<_>>().join(", "),
        why,
    };
    if !ocsf.is_guardduty() {
        return Err(refuse("only findings that came from GuardDuty are acted on automatically"));
    }
    if !ocsf.is_new_and_active() {
        return Err(refuse("already worked (status not New, or closed)"));
    }
    let finding = ocsf.to_guardduty_finding()?;
    if !resource_types.contains(&finding.resource.resource_type.as_str()) {
        return Err(refuse(ROUTED));
    }
    Ok(finding)
}
