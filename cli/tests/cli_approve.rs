//! `firebreak approve CASE --yes` / `firebreak reject CASE` as a responder runs them, against
//! moto: the built cli reads the case, invokes the function the case names (Lambda Invoke), and
//! the function re-plans and acts. moto cannot run our function on Invoke (a container): the cli
//! is pointed (`AWS_ENDPOINT_URL_LAMBDA`) at a loopback endpoint in front of moto that runs
//! quarantine-instance's handler in process (`firebreak_tests::lambda_endpoint`).

mod common;

use std::sync::Arc;

use common::firebreak_with;
use firebreak::response_policy::{Mode, Policy};
use firebreak_tests::approval::{invoke, world, World, FUNCTION_ARN};
use firebreak_tests::lambda_endpoint::{Handler, LambdaEndpoint};
use firebreak_tests::ledger::TABLE;

async fn held(world: &World) -> (LambdaEndpoint, String) {
    let function = Arc::new(world.function(Policy::none(Mode::Approve)).await);
    let response = invoke(&function, world.event()).await.expect("handled");
    assert_eq!(response["outcome"], "pending_approval", "{response:#}");
    let handler: Handler = Arc::new(move |_name, payload| {
        let function = function.clone();
        Box::pin(async move { invoke(&function, payload).await })
    });
    let endpoint = LambdaEndpoint::start(&world.moto.endpoint, tokio::runtime::Handle::current(), handler);
    (endpoint, response["case_id"].as_str().expect("case").to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_yes_contains_the_instance_and_records_the_approver() {
    let world = world().await;
    let (endpoint, case_id) = held(&world).await;
    let lambda = [("AWS_ENDPOINT_URL_LAMBDA", endpoint.endpoint.as_str())];

    // Without --yes and without a terminal nothing is sent.
    let refused = firebreak_with(&world.moto, Some(TABLE), &lambda, &["approve", &case_id]);
    assert_eq!(refused.code, 3, "not confirmed: {refused}");
    assert!(endpoint.invocations().is_empty(), "nothing invoked");
    assert_eq!(world.groups().await, world.original_groups());

    let run = firebreak_with(&world.moto, Some(TABLE), &lambda, &["approve", &case_id, "--yes"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("isolate_network_interface"), "the plan is shown: {run}");
    let invocations = endpoint.invocations();
    assert_eq!(invocations.len(), 1, "{invocations:#?}");
    assert_eq!(invocations[0].0, FUNCTION_ARN, "the function the case names");
    let approver = invocations[0].1["approve"]["approved_by"].as_str().unwrap_or_default().to_string();
    assert!(approver.starts_with("arn:aws:"), "the caller's STS ARN: {approver}");
    assert_ne!(world.groups().await, world.original_groups(), "isolated");
    let case = &world.cases().await[0];
    assert_eq!((case.state.as_str(), case.answered_by.as_deref()), ("contained", Some(approver.as_str())));

    // Answered: the cli refuses before invoking anything.
    let again = firebreak_with(&world.moto, Some(TABLE), &lambda, &["approve", &case_id, "--yes"]);
    assert_ne!(again.code, 0, "{again}");
    assert!(again.stderr.contains("not pending approval"), "{again}");
    assert_eq!(endpoint.invocations().len(), 1, "no second call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_closes_the_case_and_changes_nothing() {
    let world = world().await;
    let (endpoint, case_id) = held(&world).await;
    let lambda = [("AWS_ENDPOINT_URL_LAMBDA", endpoint.endpoint.as_str())];
    let run = firebreak_with(
        &world.moto,
        Some(TABLE),
        &lambda,
        &["reject", &case_id, "--yes", "--reason", "planned load test"],
    );
    assert_eq!(run.code, 0, "{run}");
    let case = &world.cases().await[0];
    assert_eq!(case.state, "rejected");
    assert_eq!(case.answer_reason.as_deref(), Some("planned load test"));
    assert_eq!(world.groups().await, world.original_groups(), "nothing changed");
}
