//! quarantine-instance: a GuardDuty EC2 finding in, an isolated instance and a report out.

use firebreak::deadline::Deadline;
use firebreak::events::GuardDutyFinding;
use firebreak::{quarantine, Clients, QuarantineConfig};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;

pub struct Function {
    pub clients: Clients,
    pub config: QuarantineConfig,
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let deadline = Deadline::from_lambda(event.context.deadline());
    let finding = GuardDutyFinding::from_event(&event.payload)?;
    let report = quarantine::quarantine_finding(&function.clients, &function.config, &finding, deadline).await?;
    Ok(report.into_result()?)
}
