//! Lambda calls used to contain a function: each one API operation, each labelled with it.

use std::collections::BTreeMap;

use aws_sdk_lambda::Client;

use crate::aws::{AwsError, AwsResultExt};

const NOT_FOUND: &str = "ResourceNotFoundException";

/// What GetFunction says about a function: its ARN, execution role and tags.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionFacts {
    pub function_arn: String,
    pub role_arn: String,
    pub tags: BTreeMap<String, String>,
}

/// The function's configuration and tags, or `None` when there is no such function.
pub async fn get_function(lambda: &Client, function_name: &str) -> Result<Option<FunctionFacts>, AwsError> {
    let out = match lambda.get_function().function_name(function_name).send().await.aws("GetFunction") {
        Ok(out) => out,
        Err(e) if e.is_code(NOT_FOUND) => return Ok(None),
        Err(e) => return Err(e),
    };
    let configuration = out.configuration();
    Ok(Some(FunctionFacts {
        function_arn: configuration.and_then(|c| c.function_arn()).unwrap_or_default().to_string(),
        role_arn: configuration.and_then(|c| c.role()).unwrap_or_default().to_string(),
        tags: out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default(),
    }))
}

/// The function's reserved concurrency; `None` when it has none (it draws on the account's
/// unreserved pool).
pub async fn function_concurrency(lambda: &Client, function_name: &str) -> Result<Option<i32>, AwsError> {
    let out =
        lambda.get_function_concurrency().function_name(function_name).send().await.aws("GetFunctionConcurrency")?;
    Ok(out.reserved_concurrent_executions())
}

/// Reserves `reserved` concurrent executions for the function; 0 stops every invocation.
pub async fn put_function_concurrency(lambda: &Client, function_name: &str, reserved: i32) -> Result<(), AwsError> {
    lambda
        .put_function_concurrency()
        .function_name(function_name)
        .reserved_concurrent_executions(reserved)
        .send()
        .await
        .aws("PutFunctionConcurrency")?;
    Ok(())
}

/// Removes the function's reservation: it draws on the unreserved pool again.
pub async fn delete_function_concurrency(lambda: &Client, function_name: &str) -> Result<(), AwsError> {
    lambda.delete_function_concurrency().function_name(function_name).send().await.aws("DeleteFunctionConcurrency")?;
    Ok(())
}

/// Tags the function (by ARN: TagResource takes no name).
pub async fn tag_function(lambda: &Client, function_arn: &str, pairs: &[(String, String)]) -> Result<(), AwsError> {
    let tags = pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    lambda.tag_resource().resource(function_arn).set_tags(Some(tags)).send().await.aws("TagResource")?;
    Ok(())
}
