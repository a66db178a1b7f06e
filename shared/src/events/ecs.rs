//! The ECS tasks a GuardDuty finding names: a Runtime Monitoring finding on resource `ECSCluster`
//! (or `Container` on ECS) carries `resource.ecsClusterDetails` (model `EcsClusterDetails`: `name`,
//! `arn`, `tags`, `taskDetails`, whose `EcsTaskDetails` has `arn`, `definitionArn`, `group`,
//! `launchType`, `tags`); an `AttackSequence:ECS/...` lists `ECS_TASK` (and `ECS_CLUSTER`)
//! resources under `service.detection.sequence.resources[]`. Every task must be of the finding's
//! account and region: the clients are the finding's.

use serde::{Deserialize, Serialize};

use super::sequence::{MAX_SEQUENCE_RESOURCES, RESOURCE_TYPE as SEQUENCE};
use super::{arn_account_region, EventError, GuardDutyFinding};

pub const RUNTIME_RESOURCE_TYPES: [&str; 2] = ["ECSCluster", "Container"];
pub const SEQUENCE_TYPE_PREFIX: &str = "AttackSequence:ECS/";
/// Every native `resource.resourceType` quarantine-task reads (a Security Hub import is converted
/// to one of them first).
pub const RESOURCE_TYPES: [&str; 3] = ["ECSCluster", "Container", SEQUENCE];
/// Tasks one invocation isolates: more is a hostile or broken event, refused whole.
pub const MAX_TASKS: usize = 50;

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EcsClusterDetails {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub task_details: Option<EcsTaskDetails>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EcsTaskDetails {
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub definition_arn: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub launch_type: Option<String>,
}

/// One task to isolate: its ARN and its cluster (name or ARN), both validated.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TaskRef {
    pub task_arn: String,
    pub cluster: String,
}

/// The tasks a finding names, and the resources it names that lead to none (and why).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FindingTasks {
    pub tasks: Vec<TaskRef>,
    pub left: Vec<(String, String)>,
}

fn is_name(name: &str) -> bool {
    (1..=255).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A task id: 32 hex digits (or a UUID with dashes, as older tasks and emulators have).
fn is_task_id(id: &str) -> bool {
    (32..=36).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

impl GuardDutyFinding {
    pub fn is_ecs_finding(&self) -> bool {
        RUNTIME_RESOURCE_TYPES.contains(&self.resource.resource_type.as_str())
            || (self.resource.resource_type == SEQUENCE && self.finding_type.starts_with(SEQUENCE_TYPE_PREFIX))
    }

    /// Every ECS task the finding names, deduplicated and validated; refused whole when any is of
    /// another account or region, of the wrong shape, or when there are more than [`MAX_TASKS`].
    pub fn ecs_tasks(&self) -> Result<FindingTasks, EventError> {
        let unsupported = |why| EventError::UnsupportedFinding {
            finding_type: self.finding_type.clone(),
            resource_type: self.resource.resource_type.clone(),
            why,
        };
        let mut found = if self.is_attack_sequence() {
            if !self.finding_type.starts_with(SEQUENCE_TYPE_PREFIX) {
                return Err(unsupported("quarantine-task handles attack sequences of type AttackSequence:ECS/..."));
            }
            self.sequence_tasks()?
        } else if RUNTIME_RESOURCE_TYPES.contains(&self.resource.resource_type.as_str()) {
            let details = self.resource.ecs_cluster_details.as_ref();
            let task =
                details.and_then(|d| d.task_details.as_ref()).and_then(|t| t.arn.as_deref()).ok_or_else(|| {
                    unsupported("quarantine-task needs the task: resource.ecsClusterDetails.taskDetails.arn is missing")
                })?;
            let cluster = details.and_then(|d| d.arn.as_deref().or(d.name.as_deref()));
            FindingTasks { tasks: vec![self.task_ref(task, cluster)?], left: Vec::new() }
        } else {
            return Err(unsupported(
                "quarantine-task handles Runtime Monitoring findings on ECS (ECSCluster, Container) and AttackSequence:ECS/...",
            ));
        };
        found.tasks.sort();
        found.tasks.dedup();
        if found.tasks.len() > MAX_TASKS {
            return Err(EventError::invalid(
                "ECS tasks named by the finding",
                &found.tasks.len().to_string(),
                "more than 50: refused whole",
            ));
        }
        if found.tasks.is_empty() {
            return Err(unsupported("the finding names no ECS task"));
        }
        Ok(found)
    }

    fn sequence_tasks(&self) -> Result<FindingTasks, EventError> {
        let resources = self.sequence_resources();
        if resources.len() > MAX_SEQUENCE_RESOURCES {
            return Err(EventError::invalid(
                "service.detection.sequence.resources",
                &resources.len().to_string(),
                "more than 400 resources: refused whole",
            ));
        }
        for resource in resources {
            self.check_place(resource)?;
        }
        // A bare task id names no cluster: the sequence's one cluster does, when it lists one.
        let clusters: Vec<&str> =
            resources.iter().filter(|r| r.resource_type == "ECS_CLUSTER").map(|r| r.uid.as_str()).collect();
        let mut found = FindingTasks::default();
        for resource in resources {
            match resource.resource_type.as_str() {
                "ECS_TASK" if resource.uid.starts_with("arn:") || clusters.len() == 1 => {
                    found.tasks.push(self.task_ref(&resource.uid, clusters.first().copied())?);
                }
                "ECS_TASK" => found.left.push((
                    resource.uid.chars().take(256).collect(),
                    "a task id without its cluster (the sequence lists no single ECS_CLUSTER)".into(),
                )),
                other => found.left.push((
                    resource.uid.chars().take(256).collect(),
                    format!("{other}: not a task this function isolates"),
                )),
            }
        }
        Ok(found)
    }

    /// A task ARN (`arn:<partition>:ecs:<region>:<account>:task/<cluster>/<id>`, or the old
    /// `task/<id>` with the cluster given apart) of the finding's account and region, or a bare id
    /// with its cluster.
    fn task_ref(&self, uid: &str, cluster: Option<&str>) -> Result<TaskRef, EventError> {
        let cluster = match cluster {
            Some(c) => Some(self.cluster_name(c)?),
            None => None,
        };
        let Some((account, region)) = arn_account_region(uid) else {
            let cluster = cluster.ok_or_else(|| EventError::invalid("task", uid, "a task id without its cluster"))?;
            if !is_task_id(uid) {
                return Err(EventError::invalid("task", uid, "not an ECS task id or ARN"));
            }
            return Ok(TaskRef { task_arn: uid.to_string(), cluster });
        };
        if account != Some(self.account_id.as_str()) || region != Some(self.region.as_str()) {
            return Err(EventError::invalid("task ARN", uid, "a task of another account or region than the finding's"));
        }
        let resource = uid.splitn(6, ':').nth(5).unwrap_or_default();
        let shaped = uid.split(':').nth(2) == Some("ecs");
        let parts: Vec<&str> = resource.split('/').collect();
        let (arn_cluster, id) = match parts.as_slice() {
            ["task", cluster, id] if shaped => (Some(cluster.to_string()), *id),
            ["task", id] if shaped => (None, *id),
            _ => return Err(EventError::invalid("task ARN", uid, "not an ECS task ARN")),
        };
        if !is_task_id(id) || arn_cluster.as_deref().is_some_and(|c| !is_name(c)) {
            return Err(EventError::invalid("task ARN", uid, "not an ECS task ARN"));
        }
        let cluster = arn_cluster
            .or(cluster)
            .ok_or_else(|| EventError::invalid("task ARN", uid, "an old-format task ARN without its cluster"))?;
        Ok(TaskRef { task_arn: uid.to_string(), cluster })
    }

    /// A cluster name, or a cluster ARN of the finding's account and region reduced to its name.
    fn cluster_name(&self, value: &str) -> Result<String, EventError> {
        let name = self.own_arn_resource(value, "cluster", "ecs", "cluster")?;
        if !is_name(name) {
            return Err(EventError::invalid("cluster", value, "an ECS cluster name is 1-255 letters, digits, - and _"));
        }
        Ok(name.to_string())
    }
}
