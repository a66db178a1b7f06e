//! A policy input read from a whole EventBridge event, for `firebreak policy check` and the tests:
//! GuardDuty findings through their parser, other events by their envelope and common fields.
//! (The functions build theirs from the signal they parsed and the tags they read.)

use std::collections::BTreeMap;

use serde_json::Value;

use super::PolicyInput;
use crate::engine::Signal;
use crate::events::guardduty::{GuardDutyFinding, SOURCE};
use crate::respond::InstanceTrigger;

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

impl PolicyInput {
    /// What a function's decision takes from the event that set it off: the severity
    /// (GuardDuty's `detail.severity`) and the tags the finding lists for the resource. No parser
    /// of any one function: the gate runs in all of them.
    pub fn severity_and_tags(event: &Value) -> (Option<f64>, BTreeMap<String, String>) {
        let detail = event.get("detail").unwrap_or(&Value::Null);
        let tags = detail.pointer("/resource").map(resource_tags).unwrap_or_default();
        (detail.get("severity").and_then(Value::as_f64), tags)
    }
}

/// The first `tags` list (`[{"key": .., "value": ..}]`) under a GuardDuty resource: the
/// instance's, the function's, the task's.
fn resource_tags(resource: &Value) -> BTreeMap<String, String> {
    let pairs = |list: &Vec<Value>| {
        list.iter()
            .filter_map(|t| Some((t.get("key")?.as_str()?.to_string(), t.get("value")?.as_str()?.to_string())))
            .collect::<BTreeMap<_, _>>()
    };
    match resource {
        Value::Object(map) => match map.get("tags") {
            Some(Value::Array(list)) => pairs(list),
            _ => map.values().map(resource_tags).find(|t| !t.is_empty()).unwrap_or_default(),
        },
        Value::Array(items) => items.iter().map(resource_tags).find(|t| !t.is_empty()).unwrap_or_default(),
        _ => BTreeMap::new(),
    }
}
