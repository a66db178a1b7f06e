//! abuse-report: an AWS Health abuse notice or an outbound-traffic / billing alarm in, the
//! instances it names (directly or by IP address) quarantined, and a response out.

use firebreak::accounts::Accounts;
use firebreak::approval::{self, Invocation};
use firebreak::deadline::Deadline;
use firebreak::engine::FunctionError;
use firebreak::respond::{self, AbuseTrigger, Settings};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Built once per cold start: configuration, and clients per account and region.
pub struct Function {
    pub accounts: Accounts,
    pub config: Settings,
}

impl Function {
    pub async fn from_env() -> Result<Self, FunctionError> {
        Ok(Self { config: Settings::from_env()?, accounts: firebreak::approval::accounts_from_env().await? })
    }
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, FunctionError> {
    let deadline = Deadline::from_lambda(event.context.deadline());
    function.accounts.invoked_as(&event.context.invoked_function_arn);
    let invocation = Invocation {
        function: firebreak::respond::abuse::FUNCTION,
        accounts: &function.accounts,
        cases_table: function.config.quarantine.common.cases_table.as_deref(),
        function_arn: &event.context.invoked_function_arn,
    };
    approval::handle_invocation(invocation, event.payload, |payload| async move {
        let (accounts, settings) = (&function.accounts, &function.config);
        if let Some(copied) =
            respond::follow_up_event(accounts, settings, invocation.function, &payload, deadline).await
        {
            return copied;
        }
        let trigger = AbuseTrigger::from_event(&payload)?;
        respond::respond_to_abuse(accounts, settings, &trigger, deadline).await.into_result()
    })
    .await
}
