//! canary: the daily schedule in (off unless the Canary Parameter is "true"); in each account
//! Firebreak may act in, the GuardDuty detector checked and a sample finding asked for, the
//! Firebreak rules checked, and quarantine-instance's report of each sample awaited. Touches nothing.

use firebreak::accounts::Accounts;
use firebreak::canary::{self, CanaryConfig, Home};
use firebreak::deadline::Deadline;
use firebreak::engine::FunctionError;
use firebreak::events::ScheduledEvent;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Built once per cold start: configuration, clients per account and region, its own clients.
pub struct Function {
    pub accounts: Accounts,
    pub home: Home,
    pub config: CanaryConfig,
}

impl Function {
    pub async fn from_env() -> Result<Self, FunctionError> {
        let home = Home::new(&aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await);
        Ok(Self { config: CanaryConfig::from_env()?, accounts: Accounts::from_env().await?, home })
    }
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, FunctionError> {
    let deadline = Deadline::from_lambda(event.context.deadline());
    function.accounts.invoked_as(&event.context.invoked_function_arn);
    let trigger = ScheduledEvent::from_event(&event.payload)?;
    canary::run_canary(&function.accounts, &function.home, &function.config, &trigger, deadline).await?.into_result()
}
