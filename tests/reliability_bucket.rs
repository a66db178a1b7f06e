//! contain-bucket under faults, against moto through the fault-injecting proxy: throttled calls
//! are retried and reported, a lost response or a crash after any change ends (after redelivery)
//! in the state of one uninterrupted run, and hostile input is refused with no AWS call.

use aws_config::SdkConfig;
use firebreak::accounts::Accounts;
use firebreak::bucket::{self, BucketConfig, BucketTrigger};
use firebreak::deadline::Deadline;
use firebreak::engine::{Outcome, Report};
use firebreak_tests::faults::{Fault, FaultProxy};
use firebreak_tests::moto::sdk_config_for;
use firebreak_tests::{sample_event, Moto};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

const SEQUENCE: &str = "contain-bucket/guardduty-attack-sequence-s3-compromised-data.json";
const BUCKETS: [&str; 2] = ["acme-customer-exports", "acme-invoices-archive"];
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadForPartner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-customer-exports/*"}]}"#;
const MUTATING: [&str; 3] = ["PutBucketTagging", "PutBucketPolicy", "PutPublicAccessBlock"];

fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

struct Bench {
    _moto: Moto,
    proxy: FaultProxy,
    /// Straight to moto, to build and read the buckets.
    s3: aws_sdk_s3::Client,
    /// Through the proxy.
    accounts: Accounts,
}

async fn bench() -> Bench {
    let moto = Moto::start();
    let s3 = s3(&moto.sdk_config().await);
    for name in BUCKETS {
        s3.create_bucket().bucket(name).send().await.unwrap();
        s3.put_object().bucket(name).key("data.csv").body(b"1,a\n".to_vec().into()).send().await.unwrap();
    }
    s3.put_bucket_policy().bucket(BUCKETS[0]).policy(POLICY).send().await.unwrap();
    let proxy = FaultProxy::start(&moto.endpoint);
    let accounts = Accounts::new(&sdk_config_for(&proxy.endpoint).await, Default::default());
    accounts.invoked_as("arn:aws:lambda:us-east-1:123456789012:function:contain-bucket");
    Bench { _moto: moto, proxy, s3, accounts }
}

fn config() -> BucketConfig {
    BucketConfig {
        own_identity: Some("arn:aws:sts::123456789012:assumed-role/firebreak-contain-bucket/x".into()),
        ..BucketConfig::default()
    }
}

impl Bench {
    async fn contain(&self) -> Report {
        let trigger = BucketTrigger::from_event(&sample_event(SEQUENCE)).unwrap();
        bucket::contain_bucket(&self.accounts, &config(), &trigger, Deadline::NONE).await.expect("report")
    }

    /// Each bucket: (Firebreak statements, other statements, public access block all on, objects).
    async fn state(&self) -> Vec<(usize, usize, bool, usize)> {
        let mut state = Vec::new();
        for name in BUCKETS {
            let policy =
                self.s3.get_bucket_policy().bucket(name).send().await.ok().and_then(|o| o.policy().map(str::to_string));
            let statements: Vec<Value> = policy
                .map(|p| {
                    serde_json::from_str::<Value>(&p).unwrap()["Statement"].as_array().cloned().unwrap_or_default()
                })
                .unwrap_or_default();
            let ours = statements.iter().filter(|s| s["Sid"] == "FirebreakContainment").count();
            let block = self.s3.get_public_access_block().bucket(name).send().await.ok().and_then(|o| {
                o.public_access_block_configuration().map(|c| {
                    c.block_public_acls() == Some(true)
                        && c.ignore_public_acls() == Some(true)
                        && c.block_public_policy() == Some(true)
                        && c.restrict_public_buckets() == Some(true)
                })
            });
            let objects = self.s3.list_objects_v2().bucket(name).send().await.unwrap().key_count().unwrap_or(0);
            state.push((ours, statements.len() - ours, block == Some(true), objects as usize));
        }
        state
    }
}

/// What one uninterrupted run leaves: each bucket with one Firebreak statement beside its own,
/// public access blocked, its object still there.
const CONTAINED: [(usize, usize, bool, usize); 2] = [(1, 1, true, 1), (1, 0, true, 1)];

#[tokio::test]
async fn throttled_calls_are_retried_and_reported() {
    let bench = bench().await;
    bench.proxy.fail_nth("PutBucketPolicy", 1, Fault::Throttle);
    bench.proxy.fail_nth("GetBucketTagging", 1, Fault::Throttle);
    let report = bench.contain().await;
    assert_eq!(report.outcome, Outcome::Contained, "{:#}", report.to_json());
    let deny = report.steps.iter().find(|s| s.step == "deny_bucket_access" && !s.retries.is_empty());
    assert!(deny.is_some(), "the throttled put is reported with its retry: {:#}", report.to_json());
    assert_eq!(bench.state().await, CONTAINED);
}

#[tokio::test]
async fn a_lost_response_at_each_change_then_redelivery_ends_contained_once() {
    for operation in MUTATING {
        let bench = bench().await;
        bench.proxy.fail_nth(operation, 1, Fault::ResetAfterForwarding);
        let first = bench.contain().await;
        let again = bench.contain().await;
        assert_eq!(again.outcome, Outcome::Contained, "{operation}: {:#} then {:#}", first.to_json(), again.to_json());
        assert_eq!(bench.state().await, CONTAINED, "{operation}");
    }
}

#[tokio::test]
async fn a_crash_after_each_change_then_redelivery_finishes_the_containment() {
    for operation in MUTATING {
        let bench = bench().await;
        bench.proxy.crash_after(operation, 1);
        let crashed = bench.contain().await;
        assert_ne!(crashed.outcome, Outcome::Contained, "{operation}: the crash cut the run short");
        bench.proxy.heal();
        bench.proxy.reset_record();
        let redelivered = bench.contain().await;
        assert_eq!(redelivered.outcome, Outcome::Contained, "{operation}: {:#}", redelivered.to_json());
        assert_eq!(bench.state().await, CONTAINED, "{operation}");
        // A third delivery finds everything done: no change at all.
        bench.proxy.reset_record();
        bench.contain().await;
        let changes: Vec<String> =
            bench.proxy.mutating_calls().into_iter().filter(|c| MUTATING.contains(&c.as_str())).collect();
        assert_eq!(changes, Vec::<String>::new(), "{operation}: nothing changed twice");
    }
}

/// Every file in tests/hostile/ is refused by contain-bucket too, with no AWS call.
#[tokio::test]
async fn hostile_events_are_refused_without_any_call() {
    let bench = bench().await;
    let function = contain_bucket::Function {
        accounts: Accounts::new(&sdk_config_for(&bench.proxy.endpoint).await, Default::default()),
        config: config(),
    };
    let dir = firebreak_tests::workspace_root().join("tests/hostile");
    let mut refused = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Ok(event) = serde_json::from_str::<Value>(&std::fs::read_to_string(&path).unwrap()) else {
            refused += 1;
            continue;
        };
        let mut context = Context::default();
        context.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:contain-bucket".into();
        let err = contain_bucket::handle(&function, LambdaEvent::new(event, context))
            .await
            .expect_err(&format!("{} must be refused", path.display()));
        assert!(!err.to_string().is_empty());
        refused += 1;
    }
    assert!(refused >= 30, "the corpus has {refused} events");
    assert_eq!(bench.proxy.calls(), Vec::<String>::new(), "bad input made AWS calls");
}
