//! close-open-ports: a port-probe or brute-force finding, a CloudTrail record of a group being
//! opened, or the schedule in; the world-open admin and data ports closed, and a report out.

use firebreak::accounts::Accounts;
use firebreak::approval::{self, Invocation};
use firebreak::deadline::Deadline;
use firebreak::engine::FunctionError;
use firebreak::ports::{self, PortsConfig, PortsTrigger};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Built once per cold start: configuration, and clients per account and region.
pub struct Function {
    pub accounts: Accounts,
    pub config: PortsConfig,
}

impl Function {
    pub async fn from_env() -> Result<Self, FunctionError> {
        Ok(Self { config: PortsConfig::from_env()?, accounts: firebreak::approval::accounts_from_env().await? })
    }
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, FunctionError> {
    let deadline = Deadline::from_lambda(event.context.deadline());
    function.accounts.invoked_as(&event.context.invoked_function_arn);
    let invocation = Invocation {
        function: ports::FUNCTION,
        accounts: &function.accounts,
        cases_table: function.config.common.cases_table.as_deref(),
        function_arn: &event.context.invoked_function_arn,
    };
    approval::handle_invocation(invocation, event.payload, |payload| async move {
        let trigger = PortsTrigger::from_event(&payload)?;
        ports::close_open_ports(&function.accounts, &function.config, &trigger, deadline).await?.into_result()
    })
    .await
}
