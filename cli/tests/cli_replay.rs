//! `firebreak replay` as a responder runs it, against moto's SQS: the dry run lists the queued
//! record and leaves it; without --yes and a terminal nothing is invoked; a bad --queue is refused.
//! (The replay itself, through a function's handler, is tests/replay.rs.)

mod common;

use common::firebreak;
use firebreak_tests::Moto;
use serde_json::{json, Value};

#[tokio::test]
async fn replay_lists_with_dry_run_refuses_without_yes_and_checks_its_queue() {
    let moto = Moto::start();
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let url = sqs.create_queue().queue_name("FailedEventsQueue").send().await.unwrap().queue_url().unwrap().to_string();
    let record = json!({
        "version": "1.0",
        "requestContext": {
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:firebreak-release:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": { "release": { "case_id": "fb-0123456789abcdef" } },
        "responsePayload": { "errorMessage": "throttled" }
    });
    sqs.send_message().queue_url(&url).message_body(record.to_string()).send().await.unwrap();

    let dry = firebreak(&moto, None, &["replay", "--queue", &url, "--dry-run", "--json"]);
    assert_eq!(dry.code, 0, "{dry}");
    let listed: Value = serde_json::from_str(&dry.stdout).unwrap_or_else(|e| panic!("{e}: {dry}"));
    assert_eq!(listed[0]["outcome"], "would_replay", "{dry}");
    assert_eq!(listed[0]["function"], "firebreak-release", "{dry}");

    let refused = firebreak(&moto, None, &["replay", "--queue", &url]);
    assert_eq!(refused.code, 3, "not confirmed, nothing invoked: {refused}");
    let still = sqs.receive_message().queue_url(&url).visibility_timeout(0).send().await.unwrap();
    assert_eq!(still.messages().len(), 1, "the message is still there");

    let bad = firebreak(&moto, None, &["replay", "--queue", "FailedEventsQueue", "--dry-run"]);
    assert_eq!(bad.code, 2, "{bad}");
}
