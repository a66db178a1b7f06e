//! contain-lambda under fire, through the fault-injecting proxy in front of moto: throttling, a
//! lost response at each change, a crash right after the function was stopped, two deliveries at
//! once, and hostile Lambda findings (refused with no AWS call).

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use firebreak::contain_lambda::{contain_lambda, ContainLambdaConfig};
use firebreak::deadline::Deadline;
use firebreak::engine::{Outcome, Report, StepOutcome};
use firebreak::events::GuardDutyFinding;
use firebreak::Clients;
use firebreak_tests::faults::{Fault, FaultProxy};
use firebreak_tests::moto::sdk_config_for;
use firebreak_tests::{sample_event, Moto};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const EVENT: &str = "contain-lambda/guardduty-lambda-cryptocurrency.json";
/// Lambda's REST API: the proxy names such a call by its request line.
const PUT_CONCURRENCY: &str = "PUT /2017-10-31/functions/thumbnailer/concurrency HTTP/1.1";

struct Bench {
    _moto: Moto,
    proxy: FaultProxy,
    lambda: aws_sdk_lambda::Client,
    iam: aws_sdk_iam::Client,
    clients: Clients,
}

async fn bench() -> Bench {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&config);
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    iam.create_role()
        .role_name("thumbnailer-role")
        .path("/service-role/")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let lambda = aws_sdk_lambda::Client::new(&config);
    let mut zip = b"PK\x05\x06".to_vec();
    zip.extend([0u8; 18]);
    lambda
        .create_function()
        .function_name("thumbnailer")
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role("arn:aws:iam::123456789012:role/service-role/thumbnailer-role")
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .send()
        .await
        .unwrap();
    lambda
        .put_function_concurrency()
        .function_name("thumbnailer")
        .reserved_concurrent_executions(25)
        .send()
        .await
        .unwrap();
    let proxy = FaultProxy::start(&moto.endpoint);
    let clients = Clients::new(&sdk_config_for(&proxy.endpoint).await);
    Bench { _moto: moto, proxy, lambda, iam, clients }
}

impl Bench {
    async fn contain(&self) -> Report {
        let finding = GuardDutyFinding::from_event(&sample_event(EVENT)).unwrap();
        let accounts = firebreak_tests::home_only(self.clients.clone());
        contain_lambda(&accounts, &ContainLambdaConfig::default(), &finding, Deadline::NONE).await.unwrap()
    }

    /// Stopped with the previous value (25) recorded, the role's sessions revoked, tagged.
    async fn assert_fully_contained(&self) {
        let concurrency = self.lambda.get_function_concurrency().function_name("thumbnailer").send().await.unwrap();
        assert_eq!(concurrency.reserved_concurrent_executions(), Some(0));
        let function = self.lambda.get_function().function_name("thumbnailer").send().await.unwrap();
        let tags = function.tags().unwrap();
        assert_eq!(tags.get("firebreak:reserved-concurrency-before").map(String::as_str), Some("25"), "{tags:?}");
        assert!(tags.contains_key("firebreak:finding-id"), "{tags:?}");
        let policy = self
            .iam
            .get_role_policy()
            .role_name("thumbnailer-role")
            .policy_name(firebreak::policy::REVOKE_SESSIONS_POLICY)
            .send()
            .await;
        assert!(policy.is_ok(), "the session deny policy exists");
    }
}

#[tokio::test]
async fn contains_fully_under_thirty_percent_throttling() {
    let bench = bench().await;
    bench.proxy.fail_share(0.3, Fault::Throttle);
    let report = bench.contain().await;
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    bench.assert_fully_contained().await;
    assert!(!bench.proxy.injected().is_empty());
}

async fn survives_lost_response_at(operation: &str) {
    let bench = bench().await;
    bench.proxy.fail_nth(operation, 1, Fault::ResetAfterForwarding);
    let report = bench.contain().await;
    assert_eq!(report.outcome, Outcome::Contained, "reset at {operation}: {report:#?}");
    assert_eq!(bench.proxy.injected().len(), 1, "the fault fired: {:?}", bench.proxy.calls());
    bench.assert_fully_contained().await;
    let again = bench.contain().await;
    assert!(again.steps.iter().all(|s| s.outcome == StepOutcome::Skipped), "{again:#?}");
    bench.assert_fully_contained().await;
}

#[tokio::test]
async fn lost_response_at_put_function_concurrency() {
    survives_lost_response_at(PUT_CONCURRENCY).await;
}

#[tokio::test]
async fn lost_response_at_put_role_policy() {
    survives_lost_response_at("PutRolePolicy").await;
}

/// The invocation dies right after the function was stopped: the redelivery reads the recorded
/// 25 (not the 0 it now finds) and completes the rest.
#[tokio::test]
async fn a_crash_after_stopping_the_function_keeps_the_previous_value() {
    let bench = bench().await;
    bench.proxy.crash_after(PUT_CONCURRENCY, 1);
    let first = bench.contain().await;
    assert!(!bench.proxy.injected().is_empty(), "the crash fired: {:?}", bench.proxy.calls());
    assert_ne!(first.outcome, Outcome::Contained, "{first:#?}");
    bench.proxy.heal();
    let second = bench.contain().await;
    assert_eq!(second.outcome, Outcome::Contained, "{second:#?}");
    assert_eq!(second.case_id, first.case_id);
    bench.assert_fully_contained().await;
}

#[tokio::test]
async fn concurrent_duplicate_deliveries_record_the_previous_value_once() {
    let bench = bench().await;
    let (a, b) = tokio::join!(bench.contain(), bench.contain());
    assert_ne!(a.outcome, Outcome::Failed, "{a:#?}");
    assert_ne!(b.outcome, Outcome::Failed, "{b:#?}");
    bench.assert_fully_contained().await;
    let c = bench.contain().await;
    assert!(c.steps.iter().all(|s| s.outcome == StepOutcome::Skipped), "{c:#?}");
}

/// The Lambda findings of tests/hostile/ are refused with a clear error, and no call is made.
#[tokio::test]
async fn hostile_lambda_findings_are_refused_without_any_call() {
    let bench = bench().await;
    let function = contain_lambda::Function {
        accounts: firebreak::accounts::Accounts::new(&sdk_config_for(&bench.proxy.endpoint).await, Default::default()),
        config: ContainLambdaConfig::default(),
    };
    let dir = firebreak_tests::workspace_root().join("tests/hostile");
    let mut refused = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.file_name().unwrap().to_string_lossy().starts_with("lambda-") {
            continue;
        }
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut context = Context::default();
        context.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:contain-lambda".into();
        let err = contain_lambda::handle(&function, LambdaEvent::new(event, context))
            .await
            .expect_err(&format!("{} must be refused", path.display()));
        assert_eq!(err.kind, "InvalidEvent", "{}: {err:?}", path.display());
        refused += 1;
    }
    assert!(refused >= 2, "the corpus has {refused} Lambda findings");
    assert_eq!(bench.proxy.calls(), Vec::<String>::new(), "bad input made AWS calls");
}
