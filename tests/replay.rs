//! `firebreak replay` against moto's SQS: the on-failure records in the queue are re-run through
//! quarantine-instance's own handler (the `Invoke` trait in place of Lambda Invoke, which moto
//! runs only in docker), idempotently; a message is deleted only after its event succeeded, and
//! an unreadable or failing one is kept.

use std::cell::RefCell;

use firebreak::replay::{self, Invoke};
use firebreak_tests::scenario::Setup;
use firebreak_tests::{Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use quarantine_instance::Function;
use serde_json::{json, Value};

const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";
const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:firebreak-quarantine-instance:$LATEST";

/// quarantine-instance's handler, called as Lambda would call it; every invocation noted.
struct Handler {
    function: Function,
    invoked: RefCell<Vec<(String, Value)>>,
}

impl Invoke for Handler {
    async fn invoke(&self, function_arn: &str, event: &Value) -> Result<(), String> {
        self.invoked.borrow_mut().push((function_arn.to_string(), event.clone()));
        let result =
            quarantine_instance::handle(&self.function, LambdaEvent::new(event.clone(), Context::default())).await;
        result.map(|_| ()).map_err(|e| e.message)
    }
}

fn record(arn: &str, event: &Value) -> String {
    json!({
        "version": "1.0",
        "timestamp": "2026-11-24T02:20:05.568Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-4d8b-8880-a18cdf61200e",
            "functionArn": arn,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": event,
        "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
        "responsePayload": { "errorType": "ContainmentFailed", "errorMessage": "throttled" }
    })
    .to_string()
}

async fn queue(moto: &Moto) -> (aws_sdk_sqs::Client, String) {
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let url = sqs.create_queue().queue_name("FailedEventsQueue").send().await.expect("CreateQueue");
    (sqs, url.queue_url().expect("url").to_string())
}

async fn send(sqs: &aws_sdk_sqs::Client, url: &str, body: String) {
    sqs.send_message().queue_url(url).message_body(body).send().await.expect("SendMessage");
}

async fn bodies(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let got = sqs.receive_message().queue_url(url).max_number_of_messages(10).visibility_timeout(0).send().await;
    got.expect("ReceiveMessage").messages().iter().filter_map(|m| m.body().map(str::to_string)).collect()
}

#[tokio::test]
async fn a_queued_event_is_replayed_to_its_function_then_deleted_and_a_second_replay_changes_nothing() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    let mut config = firebreak::respond::Settings::default();
    config.notify.security_hub = false;
    let handler = Handler {
        function: Function { accounts: firebreak_tests::accounts(&moto).await, config },
        invoked: RefCell::default(),
    };
    let (sqs, url) = queue(&moto).await;
    let event = scenario.guardduty_event(DOS_EVENT, &instance);
    send(&sqs, &url, record(ARN, &event)).await;
    send(&sqs, &url, "not a record".into()).await;

    // A dry run reads, invokes nothing, and leaves both messages where they were.
    let planned = replay::replay(&sqs, &url, &handler, true, 100).await.expect("dry run");
    let outcomes: Vec<_> = planned.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes.len(), 2, "{planned:#?}");
    assert!(outcomes.contains(&"would_replay") && outcomes.contains(&"unreadable"), "{planned:#?}");
    assert!(handler.invoked.borrow().is_empty());
    assert_eq!(bodies(&sqs, &url).await.len(), 2);

    let done = replay::replay(&sqs, &url, &handler, false, 100).await.expect("replay");
    let replayed = done.iter().find(|r| r.outcome == "replayed").unwrap_or_else(|| panic!("{done:#?}"));
    assert_eq!(replayed.function.as_deref(), Some("firebreak-quarantine-instance"));
    assert_eq!(handler.invoked.borrow().as_slice(), &[(ARN.to_string(), event.clone())], "the original event, once");
    let isolated = scenario.view(&instance.instance_id, None).await;
    let isolation = scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await;
    for groups in isolated.interface_groups.values() {
        assert_eq!(groups, &vec![isolation[0].0.clone()], "the replayed event quarantined the instance");
    }
    // The unreadable message stays for a human (hidden for the visibility timeout, so not listed now).
    assert!(done.iter().any(|r| r.outcome == "unreadable" && r.detail.starts_with("kept")), "{done:#?}");

    // The same record again (a replay of a replay): the function finds it done, nothing twice.
    send(&sqs, &url, record(ARN, &event)).await;
    let again = replay::replay(&sqs, &url, &handler, false, 100).await.expect("replay again");
    assert_eq!(again.iter().map(|r| r.outcome).collect::<Vec<_>>(), vec!["replayed"], "{again:#?}");
    assert_eq!(scenario.view(&instance.instance_id, None).await, isolated, "nothing changed twice");
    assert_eq!(scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await.len(), 1);
}

/// A function that fails again (still throttled, still denied).
struct Failing;

impl Invoke for Failing {
    async fn invoke(&self, _function_arn: &str, _event: &Value) -> Result<(), String> {
        Err("Invoke failed: Unhandled: ContainmentFailed".into())
    }
}

#[tokio::test]
async fn a_message_whose_event_fails_again_is_kept() {
    let moto = Moto::start();
    let (sqs, url) = queue(&moto).await;
    send(&sqs, &url, record(ARN, &firebreak_tests::sample_event(DOS_EVENT))).await;

    let done = replay::replay(&sqs, &url, &Failing, false, 100).await.expect("replay");
    assert_eq!(done.len(), 1, "{done:#?}");
    assert_eq!(done[0].outcome, "failed", "{done:#?}");
    assert!(done[0].detail.contains("ContainmentFailed"), "{done:#?}");
    // Received with a visibility timeout: hidden now, but still in the queue.
    let hidden = aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible;
    let attributes = sqs.get_queue_attributes().queue_url(&url).attribute_names(hidden.clone()).send().await;
    let attributes = attributes.expect("GetQueueAttributes");
    assert_eq!(attributes.attributes().and_then(|a| a.get(&hidden)).map(String::as_str), Some("1"), "kept");
}
