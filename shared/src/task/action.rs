//! quarantine-task's actions and phases.
//!
//! 1. **Prepare** — the VPC's isolation group (and untracking group), as for an instance.
//! 2. **Contain** — the task's ENI into the isolation group, its original groups recorded first
//!    (the same step as an instance's ENI); beside it, the task protected from scale-in (a
//!    service would otherwise replace and stop it, evidence lost) and tagged with the case.
//! 3. **Stop**, only when configured, once the task carries the case. Never by default.

use std::fmt;

use serde::Serialize;

use crate::engine::{self, Requirement};
use crate::quarantine;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Prepare,
    Contain,
    Preserve,
    Stop,
}

impl engine::Phase for Phase {
    fn stage(self) -> u8 {
        match self {
            Self::Prepare => 0,
            Self::Contain | Self::Preserve => 1,
            Self::Stop => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TaskAction {
    /// A task without an ENI (bridge or host network mode) cannot be isolated by security group:
    /// this step fails with what to do instead, so the case is not reported contained.
    IsolateWithoutInterface {
        task_arn: String,
        network_mode: String,
    },
    ProtectTask {
        cluster: String,
        task_arn: String,
    },
    TagTask {
        task_arn: String,
        tags: Vec<(String, String)>,
    },
    StopTask {
        cluster: String,
        task_arn: String,
    },
    /// The quarantine's own steps for the ENI: its isolation groups, and the move.
    #[serde(untagged)]
    Network(quarantine::Action),
}

impl engine::Action for TaskAction {
    type Phase = Phase;

    fn name(&self) -> &'static str {
        match self {
            Self::IsolateWithoutInterface { .. } => "isolate_network_interface",
            Self::ProtectTask { .. } => "protect_task",
            Self::TagTask { .. } => "tag_task",
            Self::StopTask { .. } => "stop_task",
            Self::Network(action) => engine::Action::name(action),
        }
    }

    fn phase(&self) -> Phase {
        match self {
            Self::Network(quarantine::Action::EnsureIsolationGroups { .. }) => Phase::Prepare,
            Self::Network(_) | Self::IsolateWithoutInterface { .. } | Self::ProtectTask { .. } => Phase::Contain,
            Self::TagTask { .. } => Phase::Preserve,
            Self::StopTask { .. } => Phase::Stop,
        }
    }

    fn resource(&self) -> String {
        match self {
            Self::IsolateWithoutInterface { task_arn, .. }
            | Self::ProtectTask { task_arn, .. }
            | Self::TagTask { task_arn, .. }
            | Self::StopTask { task_arn, .. } => task_arn.clone(),
            Self::Network(action) => engine::Action::resource(action),
        }
    }

    fn is_containment(&self) -> bool {
        match self {
            Self::IsolateWithoutInterface { .. } => true,
            Self::Network(action) => engine::Action::is_containment(action),
            _ => false,
        }
    }

    fn requires(&self) -> Option<Requirement> {
        matches!(self, Self::StopTask { .. }).then_some(Requirement {
            step: "tag_task",
            otherwise: "not stopped: the task does not carry the case yet, and evidence comes first",
        })
    }
}

impl fmt::Display for TaskAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IsolateWithoutInterface { task_arn, network_mode } => write!(
                f,
                "{task_arn} uses the {network_mode} network mode and has no ENI of its own: it cannot be isolated by ENI"
            ),
            Self::ProtectTask { task_arn, .. } => {
                write!(f, "protect {task_arn} from scale-in for 48 hours (its service must not replace it)")
            }
            Self::TagTask { task_arn, tags } => write!(
                f,
                "tag {task_arn} with {}",
                tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            ),
            Self::StopTask { task_arn, .. } => write!(f, "stop {task_arn} (FIREBREAK_STOP_TASK)"),
            Self::Network(action) => action.fmt(f),
        }
    }
}

/// What to do for a task that shares its host's network: said in the report, as the step's error.
pub fn not_isolable_advice(network_mode: &str) -> String {
    format!(
        "the task uses the {network_mode} network mode: its traffic is its container instance's, and no security group change isolates the task alone. Quarantine the container instance (quarantine-instance on its EC2 instance, which isolates every task on it), or drain the instance and stop the task once its evidence is taken"
    )
}
