//! contain-bucket: a GuardDuty S3 Protection finding or an `AttackSequence:S3/...` in; each bucket
//! it names tagged with the case, Firebreak's deny statement merged into its policy, its public
//! access blocked; a report out. No object is touched.

use firebreak::accounts::Accounts;
use firebreak::approval::{self, Invocation};
use firebreak::bucket::{self, BucketConfig, BucketTrigger};
use firebreak::deadline::Deadline;
use firebreak::engine::FunctionError;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Built once per cold start: configuration (with the identity the deny statement lets through),
/// and clients per account and region.
pub struct Function {
    pub accounts: Accounts,
    pub config: BucketConfig,
}

impl Function {
    pub async fn from_env() -> Result<Self, FunctionError> {
        let accounts = firebreak::approval::accounts_from_env().await?;
        let mut config = BucketConfig::from_env()?;
        config.own_identity = Some(firebreak::aws::iam::caller_identity(&accounts.home().sts).await?);
        Ok(Self { accounts, config })
    }
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, FunctionError> {
    let deadline = Deadline::from_lambda(event.context.deadline());
    function.accounts.invoked_as(&event.context.invoked_function_arn);
    let invocation = Invocation {
        function: bucket::FUNCTION,
        accounts: &function.accounts,
        cases_table: function.config.common.cases_table.as_deref(),
        function_arn: &event.context.invoked_function_arn,
    };
    approval::handle_invocation(invocation, event.payload, |payload| async move {
        let trigger = BucketTrigger::from_event(&payload)?;
        bucket::contain_bucket(&function.accounts, &function.config, &trigger, deadline).await?.into_result()
    })
    .await
}
