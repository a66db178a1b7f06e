//! A policy input read from a whole sample event, for `firebreak policy check` and the policy's
//! tests: GuardDuty findings through their parser, Security Hub findings about instances through
//! quarantine-instance's, other events by their envelope and common fields. A module of its own,
//! outside `response_policy`: no function runs it, and the infra check derives each function's
//! reach by module.

use serde_json::Value;

use crate::engine::Signal;
use crate::events::guardduty::{GuardDutyFinding, SOURCE};
use crate::respond::InstanceTrigger;
use crate::response_policy::{resource_tags, PolicyInput};

impl PolicyInput {
    pub fn from_event(event: &Value, function: &str) -> Self {
        let detail = event.get("detail").unwrap_or(&Value::Null);
        let tags = detail.pointer("/resource").map(resource_tags).unwrap_or_default();
        if event.get("source").and_then(Value::as_str) == Some(SOURCE) {
            if let Ok(finding) = GuardDutyFinding::from_event(event) {
                return Self::new(&finding.signal(), Some(finding.severity), tags, function);
            }
        }
        // Security Hub findings about instances: the GuardDuty type they carry, not the envelope's.
        if event.get("source").and_then(Value::as_str) == Some("aws.securityhub") {
            if let Ok(trigger) = InstanceTrigger::from_event(event) {
                // An OCSF finding's signal is named like the native GuardDuty one; rules see the
                // source the event came in on.
                let signal = Signal { source: "aws.securityhub".into(), ..trigger.signal() };
                return Self::new(&signal, None, tags, function);
            }
        }
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        let kind = ["type", "eventTypeCode", "alarmName", "eventName", "actionName"]
            .iter()
            .find_map(|key| text(detail, key))
            .or_else(|| text(event, "detail-type"))
            .unwrap_or_default();
        let signal = Signal {
            source: text(event, "source").unwrap_or_default(),
            kind,
            account: text(detail, "accountId").or_else(|| text(event, "account")).unwrap_or_default(),
            region: text(detail, "region").or_else(|| text(event, "region")).unwrap_or_default(),
            ..Signal::default()
        };
        Self::new(&signal, detail.get("severity").and_then(Value::as_f64), tags, function)
    }
}
