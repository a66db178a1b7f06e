//! revoke-credentials: a GuardDuty IAM finding, an AWS Health credentials notice or an analyst's
//! Security Hub "Revoke credentials" action in; keys disabled, sessions revoked (and an
//! exfiltrating instance quarantined), a report out.

use firebreak::accounts::Accounts;
use firebreak::approval::{self, Invocation};
use firebreak::deadline::Deadline;
use firebreak::engine::FunctionError;
use firebreak::revoke::{self, RevokeConfig, RevokeTrigger};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Built once per cold start: configuration (with the identity this function must never
/// revoke), and clients per account and region.
pub struct Function {
    pub accounts: Accounts,
    pub config: RevokeConfig,
}

impl Function {
    /// Failing to learn its own identity fails the start: the function never runs without it.
    pub async fn from_env() -> Result<Self, FunctionError> {
        let accounts = firebreak::approval::accounts_from_env().await?;
        let mut config = RevokeConfig::from_env()?;
        config.own_identity = Some(firebreak::aws::iam::caller_identity(&accounts.home().sts).await?);
        Ok(Self { accounts, config })
    }
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, FunctionError> {
    let deadline = Deadline::from_lambda(event.context.deadline());
    function.accounts.invoked_as(&event.context.invoked_function_arn);
    let invocation = Invocation {
        function: revoke::FUNCTION,
        accounts: &function.accounts,
        cases_table: function.config.quarantine.common.cases_table.as_deref(),
        function_arn: &event.context.invoked_function_arn,
    };
    approval::handle_invocation(invocation, event.payload, |payload| async move {
        let trigger = RevokeTrigger::from_event(&payload)?;
        revoke::revoke_credentials(&function.accounts, &function.config, &trigger, deadline).await?.into_result()
    })
    .await
}
