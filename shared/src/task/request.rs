//! What to isolate and why: the tasks a finding names, and the checks that need no AWS call.

use std::fmt;

use serde::Serialize;

use super::config::TaskConfig;
use crate::engine::{triage, Signal};
use crate::events::ecs::TaskRef;
use crate::events::runtime::ProcessSummary;
use crate::events::{EventError, GuardDutyFinding};

/// One task to isolate, under the finding's signal (its account and region are the task's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRequest {
    pub task: TaskRef,
    pub signal: Signal,
    /// Runtime Monitoring: the process the finding names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessSummary>,
}

/// The requests for every task a finding names, and what it names that leads to none (and why).
pub fn requests(finding: &GuardDutyFinding) -> Result<(Vec<TaskRequest>, Vec<(String, String)>), EventError> {
    let found = finding.ecs_tasks()?;
    let signal = finding.signal();
    let process = finding.runtime_process();
    let requests = found
        .tasks
        .into_iter()
        .map(|task| TaskRequest { task, signal: signal.clone(), process: process.clone() })
        .collect();
    Ok((requests, found.left))
}

/// Why a task is left alone. Each is reported, never silent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    TaskGone {
        status: String,
    },
    /// The common rules: a sample finding, below the severity threshold, exempt by tag.
    #[serde(untagged)]
    Triage(triage::Skip),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Triage(skip) => skip.fmt(f),
            Self::TaskGone { status } => write!(f, "the task is {status}: nothing left to isolate"),
        }
    }
}

/// Is the finding one this function handles (an error if not), and does it warrant action at all.
pub fn triage(finding: &GuardDutyFinding, config: &TaskConfig) -> Result<Option<SkipReason>, EventError> {
    finding.ecs_tasks()?;
    Ok(triage::triage(&config.quarantine.common, finding.is_sample(), Some(finding.severity)).map(SkipReason::Triage))
}
