//! How each of quarantine-task's actions is carried out: the ENI's through the quarantine's own
//! executor, the task's through the ECS wrappers.

use super::action::{not_isolable_advice, TaskAction};
use crate::aws::{ecs, AwsError, Clients};
use crate::engine::{Acted, Execute, Progress};
use crate::tags;
use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::aws::isolation::IsolationGroupIds;
use crate::quarantine::execute::{ensure_groups, isolate_network_interface};
use crate::quarantine::Action as NetworkAction;

pub struct Executor<'a> {
    pub clients: &'a Clients,
    pub isolation_group_name: &'a str,
    /// The isolation groups of each VPC: read before the plan, or found or created by Prepare.
    pub group_ids: Mutex<BTreeMap<String, IsolationGroupIds>>,
}

impl Execute<TaskAction> for Executor<'_> {
    type Error = AwsError;

    async fn execute(&self, action: &TaskAction, progress: Progress) -> Result<Acted, AwsError> {
        let client = &self.clients.ecs;
        match action {
            TaskAction::Network(NetworkAction::EnsureIsolationGroups { vpc_id, with_untracking }) => {
                ensure_groups(&self.clients.ec2, self.isolation_group_name, &self.group_ids, vpc_id, *with_untracking)
                    .await
            }
            TaskAction::Network(action) => {
                isolate_network_interface(&self.clients.ec2, &self.group_ids, action, progress).await
            }
            TaskAction::IsolateWithoutInterface { network_mode, .. } => Err(AwsError {
                action: "DescribeTasks",
                code: "NoNetworkInterface".into(),
                message: not_isolable_advice(network_mode),
            }),
            TaskAction::ProtectTask { cluster, task_arn } => {
                if ecs::task_protected(client, cluster, task_arn).await? {
                    return Ok(Acted::already_done("already protected from scale-in"));
                }
                // Recorded on the task first: a release turns off only the protection Firebreak turned on.
                let record = [(tags::TASK_PROTECTION_BEFORE.to_string(), "false".to_string())];
                ecs::tag_task(client, task_arn, &record).await?;
                ecs::protect_task(client, cluster, task_arn).await?;
                Ok(Acted::done(format!("protected from scale-in for {} minutes", ecs::MAX_PROTECTION_MINUTES))
                    .recording(record))
            }
            TaskAction::TagTask { task_arn, tags } => {
                ecs::tag_task(client, task_arn, tags).await?;
                // In the case too: a release finds every task of the case there.
                Ok(Acted::done(tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "))
                    .recording(tags.clone()))
            }
            TaskAction::StopTask { cluster, task_arn } => {
                ecs::stop_task(client, cluster, task_arn, "Firebreak: isolated (FIREBREAK_STOP_TASK)").await?;
                Ok(Acted::done("stop requested"))
            }
        }
    }
}
