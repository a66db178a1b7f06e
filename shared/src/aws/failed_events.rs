//! The failure queue and the functions its records name: what `firebreak replay` calls.

use aws_sdk_lambda::primitives::Blob;

use crate::aws::{AwsError, AwsResultExt};

/// One queued message: its id, the handle to delete it by, and its body.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
}

/// Up to `max` (1-10) messages, hidden from other readers for `visibility_seconds` (0: left
/// visible, for a look that changes nothing).
pub async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    max: i32,
    visibility_seconds: i32,
) -> Result<Vec<Message>, AwsError> {
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(max.clamp(1, 10))
        .visibility_timeout(visibility_seconds)
        .wait_time_seconds(0)
        .send()
        .await
        .aws("ReceiveMessage")?;
    Ok(received
        .messages()
        .iter()
        .map(|m| Message {
            message_id: m.message_id().unwrap_or_default().to_string(),
            receipt_handle: m.receipt_handle().unwrap_or_default().to_string(),
            body: m.body().unwrap_or_default().to_string(),
        })
        .collect())
}

pub async fn delete(sqs: &aws_sdk_sqs::Client, queue_url: &str, receipt_handle: &str) -> Result<(), AwsError> {
    sqs.delete_message().queue_url(queue_url).receipt_handle(receipt_handle).send().await.aws("DeleteMessage")?;
    Ok(())
}

/// Invokes a function synchronously with `payload`: `Err` with the function's own error when it
/// failed (a handled error or a crash), so the caller keeps the message.
pub async fn invoke(lambda: &aws_sdk_lambda::Client, function: &str, payload: &[u8]) -> Result<(), AwsError> {
    invoke_for_answer(lambda, function, payload).await.map(drop)
}

/// [`invoke`], returning what the function answered.
pub async fn invoke_for_answer(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    payload: &[u8],
) -> Result<Vec<u8>, AwsError> {
    let invoked = lambda
        .invoke()
        .function_name(function)
        .invocation_type(aws_sdk_lambda::types::InvocationType::RequestResponse)
        .payload(Blob::new(payload))
        .send()
        .await
        .aws("Invoke")?;
    match invoked.function_error() {
        None => Ok(invoked.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default()),
        Some(kind) => {
            let answer =
                invoked.payload().map(|p| String::from_utf8_lossy(p.as_ref()).into_owned()).unwrap_or_default();
            Err(AwsError { action: "Invoke", code: kind.to_string(), message: answer.chars().take(500).collect() })
        }
    }
}
