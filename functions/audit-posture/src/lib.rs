//! audit-posture: the schedule in; every hardening gap of the account out, as Security Hub
//! findings (updated, then resolved when the gap closes) and in the report. Changes nothing else.

use firebreak::deadline::Deadline;
use firebreak::events::ScheduledEvent;
use firebreak::posture::{self, PostureConfig};
use firebreak::Clients;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;

pub struct Function {
    pub clients: Clients,
    pub config: PostureConfig,
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let schedule = ScheduledEvent::from_event(&event.payload)?;
    let report = posture::audit_posture(
        &function.clients,
        &function.config,
        &schedule,
        Deadline::from_lambda(event.context.deadline()),
    )
    .await?;
    Ok(report.to_json())
}
