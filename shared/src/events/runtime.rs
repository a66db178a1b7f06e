//! GuardDuty Runtime Monitoring: `service.featureName` `RuntimeMonitoring`, no `resourceRole`, and
//! the process that did it in `service.runtimeDetails.process` (model shapes `RuntimeDetails`,
//! `ProcessDetails`, `LineageObject`: `name`, `pid`, `executablePath`, `executableSha256`, `user`,
//! `lineage[]`). The process goes into the report and the case as a bounded [`ProcessSummary`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::GuardDutyFinding;

pub const FEATURE_NAME: &str = "RuntimeMonitoring";
/// Ancestors kept of a process's lineage: enough to see `sshd → bash → sh`, bounded so that a
/// hostile lineage cannot swell the report or the case item.
pub const MAX_LINEAGE: usize = 16;
/// Characters kept of each string (paths, names, user).
pub const MAX_TEXT: usize = 256;

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeDetails {
    #[serde(default)]
    pub process: Option<ProcessDetails>,
}

/// `ProcessDetails`; `startTime` arrives as an ISO string or epoch seconds and is not needed.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessDetails {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub pid: Option<Value>,
    #[serde(default)]
    pub executable_path: Option<String>,
    #[serde(default)]
    pub executable_sha256: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub lineage: Vec<LineageObject>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineageObject {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub pid: Option<Value>,
    #[serde(default)]
    pub executable_path: Option<String>,
}

/// The process a Runtime Monitoring finding names, as the report and the case keep it.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
pub struct ProcessSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Parent first, as GuardDuty lists it; at most [`MAX_LINEAGE`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<AncestorSummary>,
    /// Ancestors left out beyond the bound.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lineage_dropped: usize,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
pub struct AncestorSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable_path: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn text(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| v.chars().filter(|c| !c.is_control()).take(MAX_TEXT).collect())
}

/// A pid as GuardDuty sends it (a number; a string in some samples); anything else is dropped.
fn pid(value: &Option<Value>) -> Option<i64> {
    match value {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
}

impl ProcessDetails {
    pub fn summary(&self) -> ProcessSummary {
        ProcessSummary {
            name: text(&self.name),
            pid: pid(&self.pid),
            executable_path: text(&self.executable_path),
            executable_sha256: text(&self.executable_sha256),
            user: text(&self.user),
            lineage: self
                .lineage
                .iter()
                .take(MAX_LINEAGE)
                .map(|a| AncestorSummary {
                    name: text(&a.name),
                    pid: pid(&a.pid),
                    executable_path: text(&a.executable_path),
                })
                .collect(),
            lineage_dropped: self.lineage.len().saturating_sub(MAX_LINEAGE),
        }
    }
}

impl std::fmt::Display for ProcessSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.name.as_deref().unwrap_or("?");
        write!(f, "{name}")?;
        if let Some(pid) = self.pid {
            write!(f, " (pid {pid})")?;
        }
        if let Some(user) = &self.user {
            write!(f, " as {user}")?;
        }
        for ancestor in &self.lineage {
            write!(f, " ← {}", ancestor.name.as_deref().unwrap_or("?"))?;
        }
        Ok(())
    }
}

impl GuardDutyFinding {
    pub fn is_runtime_monitoring(&self) -> bool {
        self.service.feature_name.as_deref() == Some(FEATURE_NAME) || self.service.runtime_details.is_some()
    }

    /// The process a Runtime Monitoring finding names, bounded; `None` for other findings.
    pub fn runtime_process(&self) -> Option<ProcessSummary> {
        self.service.runtime_details.as_ref()?.process.as_ref().map(ProcessDetails::summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_process_is_summarised_and_bounded() {
        let lineage: Vec<Value> =
            (0..40).map(|n| json!({"name": format!("p{n}"), "pid": n, "executablePath": "/bin/sh"})).collect();
        let details: RuntimeDetails = serde_json::from_value(json!({"process": {
            "name": "bash", "pid": "4242", "executablePath": "/usr/bin/bash", "user": "root\u{7}",
            "executableSha256": "ab".repeat(32), "startTime": 1717000000, "lineage": lineage,
        }}))
        .unwrap();
        let summary = details.process.unwrap().summary();
        assert_eq!(summary.pid, Some(4242));
        assert_eq!(summary.user.as_deref(), Some("root"));
        assert_eq!((summary.lineage.len(), summary.lineage_dropped), (MAX_LINEAGE, 24));
        assert!(summary.to_string().starts_with("bash (pid 4242) as root ← p0"));
    }
}
