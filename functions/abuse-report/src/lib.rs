//! abuse-report: an AWS Health abuse notice or an outbound-traffic / billing alarm in, the
//! instances it names (directly or by IP address) quarantined, and a response out.

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
    let response = respond::respond_to_abuse_event(
        &function.accounts,
        &function.config,
        &event.payload,
        Deadline::from_lambda(event.context.deadline()),
    )
    .await?;
    Ok(response.into_result()?)
}
