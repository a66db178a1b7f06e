//! quarantine-instance: a GuardDuty EC2 finding (native, or imported into Security Hub) or an
//! analyst's Security Hub "Quarantine" action in, the instance isolated in its own account, and
//! a response out.

use firebreak::accounts::Accounts;
use firebreak::deadline::Deadline;
use firebreak::respond::{self, Settings};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;

pub struct Function {
    pub accounts: Accounts,
    pub config: Settings,
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let response = respond::respond_to_instance_event(
        &function.accounts,
        &function.config,
        &event.payload,
        Deadline::from_lambda(event.context.deadline()),
    )
    .await?;
    Ok(response.into_result()?)
}
