//! How each of quarantine-task's actions is carried out: the ENI's through the quarantine's own
//! executor, the task's through the ECS wrappers.

use super::action::{not_isolable_advice, TaskAction};
use crate::aws::{ecs, AwsError, Clients};
use crate::engine::{Acted, Execute, Progress};
use crate::quarantine::execute::Executor as QuarantineExecutor;

pub struct Executor<'a> {
    pub clients: &'a Clients,
    pub network: QuarantineExecutor<'a>,
}

impl Execute<TaskAction> for Executor<'_> {
    type Error = AwsError;

    async fn execute(&self, action: &TaskAction, progress: Progress) -> Result<Acted, AwsError> {
        let client = &self.clients.ecs;
        match action {
            TaskAction::Network(action) => self.network.execute(action, progress).await,
            TaskAction::IsolateWithoutInterface { network_mode, .. } => Err(AwsError {
                action: "DescribeTasks",
                code: "NoNetworkInterface".into(),
                message: not_isolable_advice(network_mode),
            }),
            TaskAction::ProtectTask { cluster, task_arn } => {
                if ecs::task_protected(client, cluster, task_arn).await? {
                    return Ok(Acted::already_done("already protected from scale-in"));
                }
                ecs::protect_task(client, cluster, task_arn).await?;
                Ok(Acted::done(format!("protected from scale-in for {} minutes", ecs::MAX_PROTECTION_MINUTES)))
            }
            TaskAction::TagTask { task_arn, tags } => {
                ecs::tag_task(client, task_arn, tags).await?;
                Ok(Acted::done(tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")))
            }
            TaskAction::StopTask { cluster, task_arn } => {
                ecs::stop_task(client, cluster, task_arn, "Firebreak: isolated (FIREBREAK_STOP_TASK)").await?;
                Ok(Acted::done("stop requested"))
            }
        }
    }
}
