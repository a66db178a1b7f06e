//! The reads before a plan: what the principal is (its ARN, tags, keys, console password, the
//! policies Firebreak already put on it), and the function's own identity.

use super::config::RevokeConfig;
use super::plan::PrincipalFacts;
use super::principal::{Principal, PrincipalRef};
use super::request::{RevokeRequest, Target};
use super::RevokeError;
use crate::aws::{iam, Clients};
use crate::policy;

/// Reads what the plan needs about the principal, in parallel.
pub async fn observe(clients: &Clients, request: &RevokeRequest) -> Result<Option<PrincipalFacts>, RevokeError> {
    let iam_client = &clients.iam;
    match &request.target {
        Target::User { user_name, .. } => {
            let (arn, tags, keys, login, policy) = tokio::join!(
                iam::user_arn(iam_client, user_name),
                iam::user_tags(iam_client, user_name),
                iam::access_keys(iam_client, user_name),
                iam::has_login_profile(iam_client, user_name),
                iam::user_policy(iam_client, user_name, policy::REVOKE_SESSIONS_POLICY),
            );
            let Some(arn) = arn? else {
                return Err(RevokeError::UserNotFound {
                    user_name: user_name.clone(),
                    account_id: request.signal.account.clone(),
                });
            };
            Ok(Some(PrincipalFacts {
                principal: Principal::User(user_name.clone()),
                arn,
                tags: tags?,
                access_keys: keys?,
                has_login_profile: login?,
                revoked_before: policy?.as_ref().and_then(policy::revoked_sessions_cutoff).map(policy::cutoff_at),
                instance_policy: None,
            }))
        }
        Target::RoleSessions { role_name } | Target::InstanceCredentials { role_name, .. } => {
            let instance_policy_name = match &request.target {
                Target::InstanceCredentials { instance_id, .. } => {
                    Some(format!("{}{instance_id}", policy::DENY_INSTANCE_POLICY_PREFIX))
                }
                _ => None,
            };
            let (arn, tags, sessions, instance) = tokio::join!(
                iam::find_role_arn(iam_client, role_name),
                iam::role_tags(iam_client, role_name),
                iam::role_policy(iam_client, role_name, policy::REVOKE_SESSIONS_POLICY),
                async {
                    match &instance_policy_name {
                        Some(name) => iam::role_policy(iam_client, role_name, name).await,
                        None => Ok(None),
                    }
                },
            );
            let Some(arn) = arn? else {
                return Err(RevokeError::RoleNotFound {
                    role_name: role_name.clone(),
                    account_id: request.signal.account.clone(),
                });
            };
            Ok(Some(PrincipalFacts {
                principal: Principal::Role(role_name.clone()),
                arn,
                tags: tags?,
                access_keys: Vec::new(),
                has_login_profile: false,
                revoked_before: sessions?.as_ref().and_then(policy::revoked_sessions_cutoff).map(policy::cutoff_at),
                instance_policy: instance?,
            }))
        }
        Target::NotRevocable { .. } => Ok(None),
    }
}

/// The identity this function runs as: cached at cold start, or asked of STS.
pub async fn own_identity(clients: &Clients, config: &RevokeConfig) -> Result<Option<PrincipalRef>, RevokeError> {
    let arn = match &config.own_identity {
        Some(arn) => arn.clone(),
        None => iam::caller_identity(&clients.sts).await?,
    };
    Ok(PrincipalRef::parse(&arn))
}
