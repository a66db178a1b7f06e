//! quarantine-task: a GuardDuty Runtime Monitoring finding on an ECS task, or an
//! `AttackSequence:ECS/...`, in; each task's ENI isolated in its own account, and a response out.

use firebreak::accounts::Accounts;
use firebreak::deadline::Deadline;
use firebreak::engine::FunctionError;
use firebreak::task::{self, TaskConfig};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Built once per cold start: configuration, and clients per account and region.
pub struct Function {
    pub accounts: Accounts,
    pub config: TaskConfig,
}

impl Function {
    pub async fn from_env() -> Result<Self, FunctionError> {
        Ok(Self { config: TaskConfig::from_env()?, accounts: Accounts::from_env().await? })
    }
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, FunctionError> {
    let deadline = Deadline::from_lambda(event.context.deadline());
    function.accounts.invoked_as(&event.context.invoked_function_arn);
    let finding = task::parse(&event.payload)?;
    task::respond(&function.accounts, &function.config, &finding, deadline).await.into_result()
}
