//! What a policy input takes from a whole EventBridge event: its severity and the tags the finding
//! lists (the functions' decision; `firebreak policy check` reads the rest, see
//! [`crate::policy_samples`]).

use std::collections::BTreeMap;

use serde_json::Value;

use super::PolicyInput;

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
pub(crate) fn resource_tags(resource: &Value) -> BTreeMap<String, String> {
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
