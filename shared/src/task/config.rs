//! quarantine-task's settings: the quarantine's (isolation group name, cutting tracked
//! connections, the common ones) and whether to stop the task.

use crate::engine::config::{flag, ConfigError};
use crate::quarantine::QuarantineConfig;
use crate::response_policy::{set_override, Overridable, Overrides};

pub const STOP_TASK: &str = "FIREBREAK_STOP_TASK";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskConfig {
    /// The same isolation groups and common rules as quarantine-instance (its instance-only
    /// settings are not used).
    pub quarantine: QuarantineConfig,
    /// Stop the task once it is isolated and tagged. Off by default: a stopped task's memory and
    /// processes are gone, and they are the evidence.
    pub stop_task: bool,
}

impl TaskConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            quarantine: QuarantineConfig::from_lookup(&lookup)?,
            stop_task: flag(STOP_TASK, lookup(STOP_TASK), false)?,
        })
    }
}

/// A rule's `stop_task`, and `cut_tracked_connections` (the isolation is the quarantine's).
impl Overridable for TaskConfig {
    fn override_with(&mut self, overrides: &Overrides) -> Vec<String> {
        let mut changed = Vec::new();
        set_override(&mut self.stop_task, overrides.stop_task, "stop_task", &mut changed);
        let cut = overrides.cut_tracked_connections;
        set_override(&mut self.quarantine.cut_tracked_connections, cut, "cut_tracked_connections", &mut changed);
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_is_never_stopped_unless_configured() {
        assert!(!TaskConfig::from_lookup(|_| None).unwrap().stop_task);
        let stop = TaskConfig::from_lookup(|n| (n == STOP_TASK).then(|| "true".to_string())).unwrap();
        assert!(stop.stop_task);
        assert!(TaskConfig::from_lookup(|n| (n == STOP_TASK).then(|| "maybe".to_string())).is_err());
    }
}
