//! Security Hub's custom actions "Approve" / "Reject" on moto: the release function finds the
//! finding's case and forwards the answer to the function holding it (Lambda Invoke of the ARN
//! the case records). moto cannot run our function on Invoke (it would start a container): a
//! loopback endpoint in front of moto (`firebreak_tests::lambda_endpoint`) answers Invoke by
//! running quarantine-instance's handler in process, so the whole path is real — the release
//! handler, the exact Invoke request, the function's answer path, moto's EC2 and ledger.

use std::sync::Arc;

use firebreak::accounts::{Accounts, AccountsConfig};
use firebreak::engine::CommonConfig;
use firebreak::release::ReleaseConfig;
use firebreak::response_policy::{Mode, Policy};
use firebreak_tests::approval::{invoke, world, World, FUNCTION_ARN};
use firebreak_tests::lambda_endpoint::{Handler, LambdaEndpoint};
use firebreak_tests::ledger::TABLE;
use firebreak_tests::sample_event;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const APPROVE: &str = "release/securityhub-custom-action-approve.json";
const REJECT: &str = "release/securityhub-custom-action-reject.json";

/// quarantine-instance holding every signal for approval, behind the Lambda endpoint; release
/// pointed at that endpoint.
async fn setup(world: &World) -> (Arc<quarantine_instance::Function>, LambdaEndpoint, release::Function) {
    let function = Arc::new(world.function(Policy::none(Mode::Approve)).await);
    let held = function.clone();
    let handler: Handler = Arc::new(move |_name, payload| {
        let function = held.clone();
        Box::pin(async move { invoke(&function, payload).await })
    });
    let endpoint = LambdaEndpoint::start(&world.moto.endpoint, tokio::runtime::Handle::current(), handler);
    let sdk = firebreak_tests::moto::sdk_config_for(&endpoint.endpoint).await;
    let config = ReleaseConfig {
        common: CommonConfig { cases_table: Some(TABLE.into()), ..CommonConfig::default() },
        isolation_group_name: "firebreak-isolation".into(),
    };
    let release = release::Function { accounts: Accounts::new(&sdk, AccountsConfig::default()), config };
    (function, endpoint, release)
}

async fn release_handles(release: &release::Function, event: Value) -> Result<Value, firebreak::engine::FunctionError> {
    release::handle(release, LambdaEvent::new(event, Context::default())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approve_action_contains_the_held_instance_and_records_the_approver() {
    let world = world().await;
    let (function, endpoint, release) = setup(&world).await;
    let held = invoke(&function, world.event()).await.expect("handled");
    assert_eq!(held["outcome"], "pending_approval", "{held:#}");
    let case_id = held["case_id"].as_str().expect("case").to_string();
    assert_eq!(world.groups().await, world.original_groups(), "nothing changed yet");

    let answered = release_handles(&release, sample_event(APPROVE)).await.expect("forwarded");
    assert_eq!(answered["answer"], "approved", "{answered:#}");
    assert_eq!(answered["response"]["outcome"], "contained", "{answered:#}");
    assert_ne!(world.groups().await, world.original_groups(), "isolated");
    let invocations = endpoint.invocations();
    assert_eq!(invocations.len(), 1, "{invocations:#?}");
    assert_eq!(invocations[0].0, FUNCTION_ARN, "the function the case names");
    let by = invocations[0].1["approve"]["approved_by"].as_str().unwrap_or_default().to_string();
    assert_eq!(invocations[0].1, json!({"approve": {"case_id": case_id, "approved_by": by}}));
    assert!(by.starts_with("Security Hub custom action Approve (arn:aws:securityhub:"), "{by}");
    assert!(by.contains("event 3f6b1c2e-8d4a-4b7e-a1c9-5e2f7d0b9c41"), "{by}");
    let case = &world.cases().await[0];
    assert_eq!((case.state.as_str(), case.answered_by.as_deref()), ("contained", Some(by.as_str())));

    // Chosen again: the case is answered, so nothing is sent.
    let again = release_handles(&release, sample_event(APPROVE)).await.expect_err("answered");
    assert_eq!(again.kind, "NotPendingApproval", "{again}");
    assert_eq!(endpoint.invocations().len(), 1, "no second call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reject_action_closes_the_case_and_changes_nothing() {
    let world = world().await;
    let (function, endpoint, release) = setup(&world).await;
    let held = invoke(&function, world.event()).await.expect("handled");
    assert_eq!(held["outcome"], "pending_approval", "{held:#}");

    let answered = release_handles(&release, sample_event(REJECT)).await.expect("forwarded");
    assert_eq!(answered["answer"], "rejected", "{answered:#}");
    assert!(endpoint.invocations()[0].1.get("reject").is_some(), "{:#?}", endpoint.invocations());
    let case = &world.cases().await[0];
    assert_eq!(case.state, "rejected");
    assert!(case.answered_by.as_deref().unwrap_or_default().starts_with("Security Hub custom action Reject"));
    assert_eq!(world.groups().await, world.original_groups(), "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approve_for_a_finding_with_no_pending_case_is_a_clear_answer_and_no_call() {
    let world = world().await;
    let (_function, endpoint, release) = setup(&world).await;
    let error = release_handles(&release, sample_event(APPROVE)).await.expect_err("no case");
    assert_eq!(error.kind, "ResourceNotFound", "{error}");
    assert!(error.message.contains("is not in the ledger"), "{error}");
    assert!(endpoint.invocations().is_empty(), "nothing sent");
    assert_eq!(world.groups().await, world.original_groups());

    // A finding that names no case at all (neither Firebreak's nor GuardDuty's) is refused too.
    let mut foreign = sample_event(APPROVE);
    foreign["detail"]["findings"][0]["Id"] = json!("arn:aws:inspector2:us-east-1:123456789012:finding/abc");
    foreign["detail"]["findings"][0]["ProductArn"] = json!("arn:aws:securityhub:us-east-1::product/aws/inspector");
    let error = release_handles(&release, foreign).await.expect_err("no case");
    assert_eq!(error.kind, "InvalidEvent", "{error}");
    assert!(endpoint.invocations().is_empty(), "nothing sent");
}

/// The Release action is still release's own: the answer path does not take it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_release_action_is_not_an_answer() {
    let world = world().await;
    let (function, endpoint, release) = setup(&world).await;
    invoke(&function, world.event()).await.expect("handled");
    let error = release_handles(&release, sample_event("release/securityhub-custom-action-release.json"))
        .await
        .expect_err("a pending case is not released");
    assert_eq!(error.kind, "NotContained", "{error}");
    assert!(endpoint.invocations().is_empty());
}
