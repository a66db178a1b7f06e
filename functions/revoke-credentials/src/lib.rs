//! revoke-credentials: a GuardDuty IAM finding or an AWS Health credentials notice in; keys
//! disabled, sessions revoked (and an exfiltrating instance quarantined), a report out.

use firebreak::revoke::{self, RevokeConfig};
use firebreak::Clients;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;

pub struct Function {
    pub clients: Clients,
    pub config: RevokeConfig,
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let report = revoke::revoke_event(&function.clients, &function.config, &event.payload).await?;
    Ok(report.into_result()?)
}
