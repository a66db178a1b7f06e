//! close-open-ports: a port-probe or brute-force finding, a CloudTrail record of a group being
//! opened, or the schedule in; the world-open admin and data ports closed, and a report out.

use firebreak::deadline::Deadline;
use firebreak::ports::{self, PortsConfig, PortsTrigger};
use firebreak::Clients;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;

pub struct Function {
    pub clients: Clients,
    pub config: PortsConfig,
}

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let trigger = PortsTrigger::from_event(&event.payload)?;
    let report = ports::close_open_ports(
        &function.clients,
        &function.config,
        &trigger,
        Deadline::from_lambda(event.context.deadline()),
    )
    .await?;
    Ok(report.into_result()?)
}
