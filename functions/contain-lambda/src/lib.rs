//! contain-lambda: a GuardDuty Lambda Protection finding (native, or imported into Security Hub
//! v2) in; the function stopped (reserved concurrency 0, the previous value recorded), its
//! execution role's sessions revoked, the function tagged with the case, a report out.

use firebreak::accounts::Accounts;
use firebreak::approval::{self, Invocation};
use firebreak::contain_lambda::{self, ContainLambdaConfig};
use firebreak::deadline::Deadline;
use firebreak::engine::FunctionError;
use firebreak::events::ocsf;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Built once per cold start: configuration, and clients per account and region.
pub struct Function {
    pub accounts: Accounts,
    pub config: ContainLambdaConfig,
}

impl Function {
    pub async fn from_env() -> Result<Self, FunctionError> {
        Ok(Self { config: ContainLambdaConfig::from_env()?, accounts: firebreak::approval::accounts_from_env().await? })
    }
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, FunctionError> {
    let deadline = Deadline::from_lambda(event.context.deadline());
    function.accounts.invoked_as(&event.context.invoked_function_arn);
    let invocation = Invocation {
        function: contain_lambda::FUNCTION,
        accounts: &function.accounts,
        cases_table: function.config.common.cases_table.as_deref(),
        function_arn: &event.context.invoked_function_arn,
    };
    approval::handle_invocation(invocation, event.payload, |payload| async move {
        let finding = ocsf::native_or_imported(&payload, &["Lambda"])?;
        contain_lambda::contain_lambda(&function.accounts, &function.config, &finding, deadline).await?.into_result()
    })
    .await
}
