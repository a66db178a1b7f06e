//! revoke-credentials: a GuardDuty IAM finding or an AWS Health credentials notice in; keys
//! disabled, sessions revoked (and an exfiltrating instance quarantined), a report out.

use firebreak::deadline::Deadline;
use firebreak::revoke::{self, RevokeConfig};
use firebreak::Clients;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;

pub struct Function {
    pub clients: Clients,
    pub config: RevokeConfig,
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let deadline = Deadline::from_lambda(event.context.deadline());
    let report = revoke::revoke_event(&function.clients, &function.config, &event.payload, deadline).await?;
    Ok(report.into_result()?)
}
