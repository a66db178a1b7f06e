//! The reads before a plan, side by side: the function (configuration, tags), its reserved
//! concurrency, and its execution role (path, tags, Firebreak's session policy).

use super::plan::{LambdaFacts, RoleFacts};
use super::request::LambdaRequest;
use super::ContainLambdaError;
use crate::aws::{iam, lambda, Clients};
use crate::policy;

/// `role/<path>/<name>` of an IAM role ARN → its name.
fn role_name(role_arn: &str) -> Option<&str> {
    let (_, resource) = role_arn.split_once(":role/")?;
    resource.rsplit('/').next().filter(|n| !n.is_empty())
}

pub async fn observe(
    clients: &Clients,
    request: &LambdaRequest,
    member_role_name: &str,
) -> Result<LambdaFacts, ContainLambdaError> {
    let name = &request.function.function_name;
    let (function, concurrency) = tokio::join!(
        Box::pin(lambda::get_function(&clients.lambda, name)),
        Box::pin(lambda::function_concurrency(&clients.lambda, name)),
    );
    let Some(function) = function? else {
        return Err(ContainLambdaError::FunctionNotFound {
            function_name: name.clone(),
            account_id: request.signal.account.clone(),
        });
    };
    let reserved_concurrency = concurrency?;
    // The function's configuration names the role it runs as now; the finding's is what it was.
    let role = match role_name(&function.role_arn) {
        None => None,
        Some(role_name) => {
            let iam_client = &clients.iam;
            let (arn, tags, sessions) = tokio::join!(
                Box::pin(iam::find_role_arn(iam_client, role_name)),
                Box::pin(iam::role_tags(iam_client, role_name)),
                Box::pin(iam::role_policy(iam_client, role_name, policy::REVOKE_SESSIONS_POLICY)),
            );
            match arn? {
                None => None,
                Some(arn) => Some(RoleFacts {
                    role_name: role_name.to_string(),
                    arn,
                    tags: tags?,
                    revoked_before: sessions?.as_ref().and_then(policy::revoked_sessions_cutoff).map(policy::cutoff_at),
                }),
            }
        }
    };
    Ok(LambdaFacts {
        function_arn: if function.function_arn.is_empty() {
            request.function.function_arn.clone()
        } else {
            function.function_arn
        },
        tags: function.tags,
        reserved_concurrency,
        role,
        member_role_name: member_role_name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn role_names_come_from_arns_with_paths() {
        assert_eq!(super::role_name("arn:aws:iam::123456789012:role/service-role/x-role"), Some("x-role"));
        assert_eq!(super::role_name("arn:aws:iam::123456789012:role/plain"), Some("plain"));
        assert_eq!(super::role_name("arn:aws:iam::123456789012:user/u"), None);
    }
}
