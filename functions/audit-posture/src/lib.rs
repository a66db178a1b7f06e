//! audit-posture: the schedule in; every hardening gap of every account it may act in out, as Security Hub
//! findings (updated, then resolved when the gap closes) and in the report. Changes nothing else.

use firebreak::accounts::Accounts;
use firebreak::deadline::Deadline;
use firebreak::engine::FunctionError;
use firebreak::events::ScheduledEvent;
use firebreak::posture::{self, PostureConfig};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Built once per cold start: configuration, and clients per account and region.
pub struct Function {
    pub accounts: Accounts,
    pub config: PostureConfig,
}

impl Function {
    pub async fn from_env() -> Result<Self, FunctionError> {
        Ok(Self { config: PostureConfig::from_env()?, accounts: Accounts::from_env().await? })
    }
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, FunctionError> {
    let deadline = Deadline::from_lambda(event.context.deadline());
    function.accounts.invoked_as(&event.context.invoked_function_arn);
    let trigger = ScheduledEvent::from_event(&event.payload)?;
    Ok(posture::audit_organization(&function.accounts, &function.config, &trigger, deadline).await?.to_json())
}
