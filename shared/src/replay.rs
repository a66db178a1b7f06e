//! Draining the failure queue: each message is the record Lambda's on-failure destination wrote
//! after an event exhausted its retries; its `requestPayload` (the original event) is sent again
//! to the function its `requestContext.functionArn` names, and the message is deleted only once
//! that invocation succeeded. The functions are idempotent, so a replay of an event that was in
//! fact handled (or replayed twice) changes nothing twice.

use std::future::Future;

use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::aws::failed_events::{self, Message};
use crate::aws::AwsError;

/// How long a received message stays hidden while its event is re-run: longer than any
/// function's timeout (300 s), so a slow replay is not received twice.
pub const VISIBILITY_SECONDS: i32 = 900;

#[derive(Debug, Error, PartialEq)]
pub enum RecordError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a Lambda on-failure record: no requestContext.functionArn")]
    NoFunction,
    #[error("requestContext.functionArn {0:?} is not a Lambda function ARN")]
    BadFunction(String),
    #[error("the record carries no requestPayload (the original event)")]
    NoPayload,
}

/// What a failure-queue message says: which function failed on which event, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedRecord {
    /// The function's ARN (with `:$LATEST` or the version it ran).
    pub function_arn: String,
    /// `RetriesExhausted`, `EventAgeExceeded`, ...
    pub condition: String,
    pub invoke_count: u64,
    /// The original event, as the function received it.
    pub event: Value,
    /// The function's last error message, when it returned one.
    pub error: Option<String>,
}

impl FailedRecord {
    pub fn parse(body: &str) -> Result<Self, RecordError> {
        let record: Value = serde_json::from_str(body).map_err(|e| RecordError::NotJson(e.to_string()))?;
        let context = &record["requestContext"];
        let arn = context["functionArn"].as_str().ok_or(RecordError::NoFunction)?;
        if !is_function_arn(arn) {
            return Err(RecordError::BadFunction(arn.chars().take(200).collect()));
        }
        let event = record.get("requestPayload").filter(|p| !p.is_null()).ok_or(RecordError::NoPayload)?;
        Ok(Self {
            function_arn: arn.to_string(),
            condition: context["condition"].as_str().unwrap_or("unknown").to_string(),
            invoke_count: context["approximateInvokeCount"].as_u64().unwrap_or(0),
            event: event.clone(),
            error: record["responsePayload"]["errorMessage"].as_str().map(str::to_string),
        })
    }

    /// The function's name, from its ARN.
    pub fn function_name(&self) -> &str {
        self.function_arn.split(':').nth(6).unwrap_or_default()
    }
}

/// `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`, nothing else.
fn is_function_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_$.".contains(c));
    (7..=8).contains(&parts.len())
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "lambda"
        && word(parts[3])
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5] == "function"
        && parts[6..].iter().all(|p| word(p) && p.len() <= 140)
}

/// Sends an event to a function and says whether it succeeded (Lambda Invoke, or the handler
/// itself in tests).
pub trait Invoke {
    fn invoke(&self, function_arn: &str, event: &Value) -> impl Future<Output = Result<(), String>>;
}

/// Lambda's Invoke, synchronously: the function's answer decides.
pub struct LambdaInvoker(pub aws_sdk_lambda::Client);

impl Invoke for LambdaInvoker {
    async fn invoke(&self, function_arn: &str, event: &Value) -> Result<(), String> {
        let payload = serde_json::to_vec(event).map_err(|e| e.to_string())?;
        failed_events::invoke(&self.0, function_arn, &payload).await.map_err(|e| e.to_string())
    }
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replayed {
    pub message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// `replayed` (and deleted), `would_replay` (dry run), `failed` or `unreadable` (both kept).
    pub outcome: &'static str,
    pub detail: String,
}

/// Replays up to `max` messages of the queue; a dry run only reads them (left visible).
pub async fn replay<I: Invoke>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    invoker: &I,
    dry_run: bool,
    max: usize,
) -> Result<Vec<Replayed>, AwsError> {
    let mut done = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    while done.len() < max {
        let want = i32::try_from((max - done.len()).min(10)).unwrap_or(10);
        let visibility = if dry_run { 0 } else { VISIBILITY_SECONDS };
        let messages = failed_events::receive(sqs, queue_url, want, visibility).await?;
        // A dry run sees the same visible messages again: stop at the first repeat.
        let fresh: Vec<Message> = messages.into_iter().filter(|m| seen.insert(m.message_id.clone())).collect();
        if fresh.is_empty() {
            break;
        }
        for message in fresh {
            done.push(replay_one(sqs, queue_url, invoker, dry_run, message).await?);
        }
    }
    Ok(done)
}

async fn replay_one<I: Invoke>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    invoker: &I,
    dry_run: bool,
    message: Message,
) -> Result<Replayed, AwsError> {
    let replayed = |function: Option<&str>, outcome, detail: String| Replayed {
        message_id: message.message_id.clone(),
        function: function.map(str::to_string),
        outcome,
        detail,
    };
    let record = match FailedRecord::parse(&message.body) {
        Ok(record) => record,
        // Kept: a human reads it (it may be something else sent to the queue).
        Err(e) => return Ok(replayed(None, "unreadable", format!("kept: {e}"))),
    };
    let function = Some(record.function_name());
    let why = format!("{} after {} attempt(s)", record.condition, record.invoke_count);
    if dry_run {
        return Ok(replayed(function, "would_replay", why));
    }
    match invoker.invoke(&record.function_arn, &record.event).await {
        Ok(()) => {
            failed_events::delete(sqs, queue_url, &message.receipt_handle).await?;
            Ok(replayed(function, "replayed", format!("{why}; succeeded, message deleted")))
        }
        Err(e) => Ok(replayed(function, "failed", format!("kept (visible again in {VISIBILITY_SECONDS} s): {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The record Lambda writes to an SQS on-failure destination (Lambda developer guide,
    /// "Capturing records of Lambda asynchronous invocations").
    fn record(arn: &str) -> String {
        json!({
            "version": "1.0",
            "timestamp": "2026-11-24T02:20:05.568Z",
            "requestContext": {
                "requestId": "e4b46cbf-b738-4d8b-8880-a18cdf61200e",
                "functionArn": arn,
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3
            },
            "requestPayload": { "detail-type": "GuardDuty Finding", "id": "e1" },
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
            "responsePayload": { "errorType": "ContainmentFailed", "errorMessage": "isolate failed" }
        })
        .to_string()
    }

    #[test]
    fn reads_the_on_failure_record() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:firebreak-quarantine-instance:$LATEST";
        let parsed = FailedRecord::parse(&record(arn)).unwrap();
        assert_eq!(parsed.function_arn, arn);
        assert_eq!(parsed.function_name(), "firebreak-quarantine-instance");
        assert_eq!((parsed.condition.as_str(), parsed.invoke_count), ("RetriesExhausted", 3));
        assert_eq!(parsed.event, json!({ "detail-type": "GuardDuty Finding", "id": "e1" }));
        assert_eq!(parsed.error.as_deref(), Some("isolate failed"));
    }

    #[test]
    fn refuses_what_is_not_a_record_of_a_function() {
        assert!(matches!(FailedRecord::parse("{"), Err(RecordError::NotJson(_))));
        assert_eq!(FailedRecord::parse(r#"{"detail": {}}"#), Err(RecordError::NoFunction));
        for arn in [
            "arn:aws:sqs:us-east-1:123456789012:queue",
            "arn:aws:lambda:us-east-1:12345:function:f",
            "arn:aws:lambda:us-east-1:123456789012:function:f x",
            "arn:aws:lambda:us-east-1:123456789012:function:",
        ] {
            assert!(matches!(FailedRecord::parse(&record(arn)), Err(RecordError::BadFunction(_))), "{arn}");
        }
        let no_payload =
            json!({ "requestContext": { "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f" } });
        assert_eq!(FailedRecord::parse(&no_payload.to_string()), Err(RecordError::NoPayload));
    }
}
