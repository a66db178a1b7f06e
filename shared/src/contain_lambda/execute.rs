//! How each containment step is carried out, through the Lambda and IAM wrappers.

use super::plan::{concurrency_record, function_resource, LambdaAction};
use crate::aws::{lambda, AwsError, Clients};
use crate::engine::{Acted, Execute, Progress};
use crate::revoke::execute::revoke_role_sessions;
use crate::tags;

pub struct Executor<'a> {
    pub clients: &'a Clients,
}

impl Execute<LambdaAction> for Executor<'_> {
    type Error = AwsError;

    async fn execute(&self, action: &LambdaAction, mut progress: Progress) -> Result<Acted, AwsError> {
        match action {
            LambdaAction::StopInvocations { function_name, function_arn, previous, case_id } => {
                // Recorded on the function first, with the case: a crash after the change still
                // knows what to restore, and a redelivery reads the record, not the 0.
                let record = (tags::RESERVED_CONCURRENCY_BEFORE.to_string(), concurrency_record(*previous));
                let before = [(tags::CASE.to_string(), case_id.clone()), record.clone()];
                lambda::tag_function(&self.clients.lambda, function_arn, &before).await?;
                lambda::put_function_concurrency(&self.clients.lambda, function_name, 0).await?;
                progress.sent();
                Ok(Acted::done(format!("reserved concurrency 0 (was {})", record.1))
                    .recording_on(&function_resource(function_name), [record]))
            }
            LambdaAction::RevokeRoleSessions { role_name } => {
                let acted = revoke_role_sessions(&self.clients.iam, role_name).await?;
                progress.sent();
                Ok(acted)
            }
            LambdaAction::TagFunction { function_arn, tags } => {
                lambda::tag_function(&self.clients.lambda, function_arn, tags).await?;
                Ok(Acted::done(tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")))
            }
        }
    }
}
