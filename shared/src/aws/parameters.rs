//! SSM Parameter Store: the response policy, read once per cold start.

use crate::aws::{AwsError, AwsResultExt};

/// The parameter's value (a String parameter: the policy is configuration, not a secret).
pub async fn get_parameter(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<String, AwsError> {
    let output = ssm.get_parameter().name(name).send().await.aws("GetParameter")?;
    Ok(output.parameter().and_then(|p| p.value()).unwrap_or_default().to_string())
}
