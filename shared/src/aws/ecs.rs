//! ECS reads and changes of tasks: the task and its ENI, its cluster's tags, its task
//! definition's network mode, scale-in protection, tags and stop.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{ClusterField, Tag, TaskField};
use aws_sdk_ecs::Client;
use serde::Serialize;

use crate::aws::{AwsError, AwsResultExt};

/// Task protection lasts at most 48 hours (UpdateTaskProtection `expiresInMinutes` ≤ 2880).
pub const MAX_PROTECTION_MINUTES: i32 = 2880;

/// A task as DescribeTasks sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRecord {
    pub task_arn: String,
    pub cluster_arn: String,
    pub last_status: String,
    /// `service:<name>` for a service's tasks, `family:<name>` for RunTask's.
    pub group: Option<String>,
    pub task_definition_arn: Option<String>,
    /// The `networkInterfaceId` of its `ElasticNetworkInterface` attachment (awsvpc tasks only).
    pub eni_id: Option<String>,
    pub tags: BTreeMap<String, String>,
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
}

/// The task, with its tags; `None` when ECS does not know it (DescribeTasks lists it as a failure).
pub async fn describe_task(ecs: &Client, cluster: &str, task_arn: &str) -> Result<Option<TaskRecord>, AwsError> {
    let response = match ecs
        .describe_tasks()
        .cluster(cluster)
        .tasks(task_arn)
        .include(TaskField::Tags)
        .send()
        .await
        .aws("DescribeTasks")
    {
        Ok(response) => response,
        Err(e) if e.is_code("ClusterNotFoundException") => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(task) = response.tasks().first() else {
        return Ok(None);
    };
    let eni_id = task
        .attachments()
        .iter()
        .filter(|a| a.r#type() == Some("ElasticNetworkInterface"))
        .flat_map(|a| a.details())
        .find(|d| d.name() == Some("networkInterfaceId"))
        .and_then(|d| d.value())
        .map(str::to_string);
    Ok(Some(TaskRecord {
        task_arn: task.task_arn().unwrap_or(task_arn).to_string(),
        cluster_arn: task.cluster_arn().unwrap_or(cluster).to_string(),
        last_status: task.last_status().unwrap_or("UNKNOWN").to_string(),
        group: task.group().map(str::to_string),
        task_definition_arn: task.task_definition_arn().map(str::to_string),
        eni_id,
        tags: tag_map(task.tags()),
    }))
}

/// The cluster's tags (its exemption tag exempts every task in it).
pub async fn cluster_tags(ecs: &Client, cluster: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let response =
        ecs.describe_clusters().clusters(cluster).include(ClusterField::Tags).send().await.aws("DescribeClusters")?;
    Ok(response.clusters().first().map(|c| tag_map(c.tags())).unwrap_or_default())
}

/// The network mode of a task definition (`bridge`, `host`, `awsvpc`, `none`), to say why a task
/// has no ENI.
pub async fn network_mode(ecs: &Client, task_definition_arn: &str) -> Result<Option<String>, AwsError> {
    let response = ecs
        .describe_task_definition()
        .task_definition(task_definition_arn)
        .send()
        .await
        .aws("DescribeTaskDefinition")?;
    Ok(response.task_definition().and_then(|d| d.network_mode()).map(|m| m.as_str().to_string()))
}

/// Whether scale-in protection is on for the task now.
pub async fn task_protected(ecs: &Client, cluster: &str, task_arn: &str) -> Result<bool, AwsError> {
    let response = ecs.get_task_protection().cluster(cluster).tasks(task_arn).send().await.aws("GetTaskProtection")?;
    Ok(response.protected_tasks().iter().any(|t| t.protection_enabled()))
}

/// Protects the task from scale-in for the longest time ECS allows. A refusal listed under
/// `failures` (a task not in a service, a stopped task) is an error with ECS's reason.
pub async fn protect_task(ecs: &Client, cluster: &str, task_arn: &str) -> Result<(), AwsError> {
    set_task_protection(ecs, cluster, task_arn, true).await
}

/// Turns the task's scale-in protection off (a release of the protection Firebreak turned on).
pub async fn unprotect_task(ecs: &Client, cluster: &str, task_arn: &str) -> Result<(), AwsError> {
    set_task_protection(ecs, cluster, task_arn, false).await
}

async fn set_task_protection(ecs: &Client, cluster: &str, task_arn: &str, enabled: bool) -> Result<(), AwsError> {
    let response = ecs
        .update_task_protection()
        .cluster(cluster)
        .tasks(task_arn)
        .protection_enabled(enabled)
        .set_expires_in_minutes(enabled.then_some(MAX_PROTECTION_MINUTES))
        .send()
        .await
        .aws("UpdateTaskProtection")?;
    if let Some(failure) = response.failures().first() {
        return Err(AwsError {
            action: "UpdateTaskProtection",
            code: failure.reason().unwrap_or("Failure").to_string(),
            message: failure.detail().unwrap_or("the task's protection was not changed").to_string(),
        });
    }
    Ok(())
}

/// The cluster of a task ARN (`arn:aws:ecs:<region>:<account>:task/<cluster>/<id>`); `None` for
/// anything else, an old-format ARN without the cluster included.
pub fn cluster_of_task_arn(task_arn: &str) -> Option<&str> {
    let (prefix, path) = task_arn.split_once(":task/")?;
    let (cluster, id) = path.split_once('/')?;
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    (prefix.starts_with("arn:aws") && prefix.contains(":ecs:") && valid(cluster) && valid(id)).then_some(cluster)
}

pub async fn tag_task(ecs: &Client, task_arn: &str, pairs: &[(String, String)]) -> Result<(), AwsError> {
    let tags: Vec<Tag> = pairs.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
    ecs.tag_resource().resource_arn(task_arn).set_tags(Some(tags)).send().await.aws("TagResource")?;
    Ok(())
}

pub async fn stop_task(ecs: &Client, cluster: &str, task_arn: &str, reason: &str) -> Result<(), AwsError> {
    ecs.stop_task().cluster(cluster).task(task_arn).reason(reason).send().await.aws("StopTask")?;
    Ok(())
}
