//! The Run Command a case sent, read back for a responder (`firebreak show CASE`).

use super::EVIDENCE_COMMAND_TAG;
use crate::aws::{ssm, AwsError, Clients};
use crate::cases::Case;

/// For each instance the case sent a capture command to: the instance, the command id and the
/// command's status there (or why it could not be read).
pub async fn command_statuses(clients: &Clients, case: &Case) -> Vec<(String, String, String)> {
    let mut statuses = Vec::new();
    for (resource, record) in case.recorded() {
        let Some(command_id) = record.get(EVIDENCE_COMMAND_TAG) else {
            continue;
        };
        let status = match ssm::command_status(&clients.ssm, command_id, &resource).await {
            Ok(status) => status,
            Err(AwsError { code, message, .. }) => format!("not readable: {code}: {message}"),
        };
        statuses.push((resource, command_id.clone(), status));
    }
    statuses
}
