//! quarantine-task: a GuardDuty Runtime Monitoring finding on an ECS task, or an
//! `AttackSequence:ECS/...`, in; each task's ENI isolated in its own account, and a response out.

use firebreak::accounts::Accounts;
use firebreak::approval::{self, Invocation};
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
        Ok(Self { config: TaskConfig::from_env()?, accounts: firebreak::approval::accounts_from_env().await? })
    }
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, FunctionError> {
    let deadline = Deadline::from_lambda(event.context.deadline());
    function.accounts.invoked_as(&event.context.invoked_function_arn);
    let invocation = Invocation {
        function: task::FUNCTION,
        accounts: &function.accounts,
        cases_table: function.config.quarantine.common.cases_table.as_deref(),
        function_arn: &event.context.invoked_function_arn,
    };
    approval::handle_invocation(invocation, event.payload, |payload| async move {
        let finding = task::parse(&payload)?;
        task::respond(&function.accounts, &function.config, &finding, deadline).await.into_result()
    })
    .await
}
