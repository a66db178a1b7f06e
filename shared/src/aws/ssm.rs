//! Systems Manager calls for forensic capture: is the instance managed, send Firebreak's Run
//! Command document to it, and find and read back the commands sent.

use aws_sdk_ssm::types::InstanceInformationStringFilter;
use aws_sdk_ssm::Client;

use crate::attempts;
use crate::aws::{AwsError, AwsResultExt};

/// How Systems Manager knows an instance, when it does.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedInstance {
    /// `Online`, `ConnectionLost`, `Inactive`.
    pub ping_status: String,
    /// `Linux`, `Windows`, `MacOS`.
    pub platform_type: String,
}

/// The instance as a managed node, `None` when it is not one (no agent, no role, never registered).
pub async fn managed_instance(ssm: &Client, instance_id: &str) -> Result<Option<ManagedInstance>, AwsError> {
    let filter =
        InstanceInformationStringFilter::builder().key("InstanceIds").values(instance_id).build().map_err(|e| {
            AwsError { action: "DescribeInstanceInformation", code: "InvalidFilter".into(), message: e.to_string() }
        })?;
    let response =
        ssm.describe_instance_information().filters(filter).send().await.aws("DescribeInstanceInformation")?;
    Ok(response.instance_information_list().iter().find(|i| i.instance_id() == Some(instance_id)).map(|i| {
        ManagedInstance {
            ping_status: i.ping_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            platform_type: i.platform_type().map(|p| p.as_str().to_string()).unwrap_or_default(),
        }
    }))
}

/// A Run Command of a document on one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRequest<'a> {
    pub instance_id: &'a str,
    pub document: &'a str,
    /// Firebreak's mark, by which a redelivery finds the command again (at most 100 characters).
    pub comment: &'a str,
    pub parameters: Vec<(&'a str, String)>,
    /// Where SSM writes the command's own output, beside the evidence.
    pub output_bucket: &'a str,
    pub output_prefix: &'a str,
}

/// Sends the command; returns its id.
pub async fn send_command(ssm: &Client, request: &CommandRequest<'_>) -> Result<String, AwsError> {
    let mut send = ssm
        .send_command()
        .document_name(request.document)
        .instance_ids(request.instance_id)
        .comment(request.comment)
        .output_s3_bucket_name(request.output_bucket)
        .output_s3_key_prefix(request.output_prefix);
    for (name, value) in &request.parameters {
        send = send.parameters(*name, vec![value.clone()]);
    }
    // Not retried by the SDK: a retry after a lost answer would send a second command (the caller
    // looks for the command by its comment instead). A throttled request was refused unread, so it
    // alone is sent again here.
    let no_retry =
        aws_sdk_ssm::config::Builder::default().retry_config(aws_sdk_ssm::config::retry::RetryConfig::disabled());
    let mut attempt = 1;
    loop {
        match send.clone().customize().config_override(no_retry.clone()).send().await.aws("SendCommand") {
            Ok(response) => return Ok(response.command().and_then(|c| c.command_id()).unwrap_or_default().to_string()),
            Err(error) if attempts::is_throttling_code(&error.code) && attempt < attempts::MAX_ATTEMPTS => {
                tokio::time::sleep(attempts::backoff(attempt)).await;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// A command sent to an instance, as ListCommands shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SentCommand {
    pub command_id: String,
    pub document: String,
    pub comment: String,
    pub status: String,
}

/// The commands sent to an instance (the last 30 days, as SSM keeps them).
pub async fn commands_for(ssm: &Client, instance_id: &str) -> Result<Vec<SentCommand>, AwsError> {
    let response = ssm.list_commands().instance_id(instance_id).send().await.aws("ListCommands")?;
    Ok(response
        .commands()
        .iter()
        .map(|c| SentCommand {
            command_id: c.command_id().unwrap_or_default().to_string(),
            document: c.document_name().unwrap_or_default().to_string(),
            comment: c.comment().unwrap_or_default().to_string(),
            status: c.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        })
        .collect())
}

/// The command's status on the instance (`Pending`, `InProgress`, `Success`, `Failed`, …) with
/// its details.
pub async fn command_status(ssm: &Client, command_id: &str, instance_id: &str) -> Result<String, AwsError> {
    let response = ssm
        .get_command_invocation()
        .command_id(command_id)
        .instance_id(instance_id)
        .send()
        .await
        .aws("GetCommandInvocation")?;
    let status = response.status().map(|s| s.as_str().to_string()).unwrap_or_default();
    Ok(match response.status_details().filter(|d| *d != status) {
        Some(details) => format!("{status} ({details})"),
        None => status,
    })
}
