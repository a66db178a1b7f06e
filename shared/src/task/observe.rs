//! The reads before a task's plan: the task and its cluster's tags side by side, then its ENI
//! and its VPC's isolation groups (or, without an ENI, its task definition's network mode).

use std::collections::BTreeMap;

use serde::Serialize;

use super::request::TaskRequest;
use super::TaskError;
use crate::aws::ec2::{self, InterfaceFacts};
use crate::aws::ecs::{self, TaskRecord};
use crate::aws::isolation::{self, VpcGroups};
use crate::aws::Clients;

/// What was read about the task before deciding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskFacts {
    pub task: TaskRecord,
    pub cluster_tags: BTreeMap<String, String>,
    /// The task's ENI (awsvpc), as EC2 sees it.
    pub interface: Option<InterfaceFacts>,
    /// Read only when the task has no ENI, to say why.
    pub network_mode: Option<String>,
}

pub struct Observed {
    pub facts: TaskFacts,
    pub groups: BTreeMap<String, VpcGroups>,
}

pub async fn observe(
    clients: &Clients,
    isolation_group_name: &str,
    request: &TaskRequest,
) -> Result<Observed, TaskError> {
    let (cluster, task_arn) = (&request.task.cluster, &request.task.task_arn);
    let (task, cluster_tags) = tokio::join!(
        Box::pin(ecs::describe_task(&clients.ecs, cluster, task_arn)),
        Box::pin(ecs::cluster_tags(&clients.ecs, cluster)),
    );
    let task = task?.ok_or_else(|| TaskError::TaskNotFound {
        task_arn: task_arn.clone(),
        cluster: cluster.clone(),
        account_id: request.signal.account.clone(),
    })?;
    let mut facts = TaskFacts { interface: None, network_mode: None, cluster_tags: cluster_tags?, task };
    let mut groups = BTreeMap::new();
    match &facts.task.eni_id {
        Some(eni_id) => {
            let interface = ec2::describe_interfaces_by_id(&clients.ec2, std::slice::from_ref(eni_id)).await?;
            if let Some(interface) = interface.into_iter().next() {
                let vpc = std::slice::from_ref(&interface.vpc_id);
                groups = isolation::find_isolation_groups(&clients.ec2, vpc, isolation_group_name).await?;
                facts.interface = Some(interface);
            }
        }
        None => {
            if let Some(definition) = &facts.task.task_definition_arn {
                facts.network_mode = ecs::network_mode(&clients.ecs, definition).await?;
            }
        }
    }
    Ok(Observed { facts, groups })
}

impl Observed {
    pub(super) fn summary(&self) -> String {
        let task = &self.facts.task;
        format!(
            "{}, group {}, ENI {}",
            task.last_status,
            task.group.as_deref().unwrap_or("none"),
            self.facts.interface.as_ref().map(|i| i.id.as_str()).unwrap_or("none"),
        )
    }
}
