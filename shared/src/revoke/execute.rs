//! How each revocation step is carried out.

use std::time::SystemTime;

use aws_sdk_ec2::primitives::DateTime;

use super::config::RevokeConfig;
use super::plan::RevokeAction;
use super::principal::Principal;
use crate::aws::{iam, AwsError, Clients};
use crate::deadline::Deadline;
use crate::engine::{Acted, Execute, Progress, StepOutcome};
use crate::policy::{self, PolicyDocument};
use crate::quarantine;
use crate::tags;

/// Carries out revocation steps through the IAM wrappers; the source instance's quarantine runs
/// the quarantine's own plan.
pub struct Executor<'a> {
    pub clients: &'a Clients,
    pub config: &'a RevokeConfig,
    pub deadline: Deadline,
}

impl Execute<RevokeAction> for Executor<'_> {
    type Error = AwsError;

    async fn execute(&self, action: &RevokeAction, _: Progress) -> Result<Acted, AwsError> {
        let iam_client = &self.clients.iam;
        match action {
            RevokeAction::DeactivateAccessKey { user_name, access_key_id } => {
                iam::deactivate_access_key(iam_client, user_name, access_key_id).await?;
                let record = [(format!("{}{access_key_id}", tags::DISABLED_ACCESS_KEY_PREFIX), user_name.clone())];
                Ok(Acted::done(format!("{access_key_id} is Inactive"))
                    .recording_on(&format!("user/{user_name}"), record))
            }
            RevokeAction::DeleteLoginProfile { user_name } => {
                iam::delete_login_profile(iam_client, user_name).await?;
                Ok(Acted::done(format!("console password of {user_name} deleted")))
            }
            RevokeAction::RevokeSessions { principal: Principal::User(name) } => {
                let (cutoff, document) = sessions_policy();
                iam::put_user_policy(iam_client, name, policy::REVOKE_SESSIONS_POLICY, &document).await?;
                Ok(sessions_revoked(&format!("user/{name}"), &cutoff))
            }
            RevokeAction::RevokeSessions { principal: Principal::Role(name) } => {
                revoke_role_sessions(iam_client, name).await
            }
            RevokeAction::DenyInstanceCredentials { role_name, instance_id, instance_arn } => {
                let name = format!("{}{instance_id}", policy::DENY_INSTANCE_POLICY_PREFIX);
                let document = PolicyDocument::deny_instance_credentials(instance_arn).to_json();
                iam::put_role_policy(iam_client, role_name, &name, &document).await?;
                let on = format!("role/{role_name}");
                let record = [(format!("{}{name}", tags::POLICY_PREFIX), on.clone())];
                Ok(Acted::done(format!("{name} denies requests whose ec2:SourceInstanceARN is {instance_arn}"))
                    .recording_on(&on, record))
            }
            RevokeAction::TagPrincipal { principal, tags } => {
                match principal {
                    Principal::User(name) => iam::tag_user(iam_client, name, tags).await?,
                    Principal::Role(name) => iam::tag_role(iam_client, name, tags).await?,
                }
                Ok(Acted::done(tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")))
            }
            RevokeAction::QuarantineInstance { request } => {
                // The quarantine plans its own dry run (reads only), which shows what it would do.
                match quarantine::quarantine(self.clients, &self.config.quarantine, request, None, self.deadline).await
                {
                    Ok(q) => {
                        let detail = format!(
                            "quarantine {}{}",
                            q.outcome.as_str(),
                            q.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
                        );
                        Ok(Acted::nested(q.outcome.as_step(), detail, q.steps))
                    }
                    Err(e) => Ok(Acted::nested(StepOutcome::Failed, e.to_string(), Vec::new())),
                }
            }
        }
    }
}

/// The session-revoking policy with its cutoff: now, rounded up. Taken when the step runs, after
/// the Disable phase: no session minted from a disabled key survives.
fn sessions_policy() -> (String, String) {
    let cutoff = policy::cutoff_at(DateTime::from(SystemTime::now()));
    let document = PolicyDocument::revoke_sessions_issued_before(&cutoff).to_json();
    (cutoff, document)
}

/// The step's result, with the policy recorded on the principal for a release.
fn sessions_revoked(on: &str, cutoff: &str) -> Acted {
    let record = [(format!("{}{}", tags::POLICY_PREFIX, policy::REVOKE_SESSIONS_POLICY), on.to_string())];
    Acted::done(format!("{} denies credentials issued before {cutoff}", policy::REVOKE_SESSIONS_POLICY))
        .recording_on(on, record)
}

/// Revokes a role's sessions: also contain-lambda's step on a function's execution role.
pub async fn revoke_role_sessions(iam_client: &aws_sdk_iam::Client, role_name: &str) -> Result<Acted, AwsError> {
    let (cutoff, document) = sessions_policy();
    iam::put_role_policy(iam_client, role_name, policy::REVOKE_SESSIONS_POLICY, &document).await?;
    Ok(sessions_revoked(&format!("role/{role_name}"), &cutoff))
}
