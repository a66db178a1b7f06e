//! audit-posture against a real moto server: an account seeded with every gap the emulator can
//! hold is reported gap by gap, in Security Hub (BatchImportFindings, GetFindings: both served by
//! moto) and in the report; once the gaps are fixed, the next run resolves their findings.
//!
//! Emulator limits, said plainly: moto always reports AccountMFAEnabled = 0 and
//! AccountAccessKeysPresent = 0 in GetAccountSummary (root MFA cannot be enabled through its API),
//! so the root-MFA gap stays open after the fixes, and the root-access-keys gap is covered by the
//! unit tests of `posture::evaluate` instead. Access-key age and idleness are tested with a
//! threshold of 0 days, because moto stamps every new key with the current time. moto 5.2.1 does
//! not serve CloudWatch over the Smithy RPC v2 CBOR protocol the current aws-sdk-cloudwatch speaks
//! (DescribeAlarms answers 404), so the two alarm checks cannot be read here: the test asserts that
//! they are reported as not checked, and that an unreadable check neither raises nor resolves a
//! finding. Their gap logic is covered by the unit tests of `posture::evaluate`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;

use audit_posture::Function;
use aws_sdk_ec2::types::{IpPermission, IpRange};
use firebreak::engine::CommonConfig;
use firebreak::posture::{Check, PostureConfig};
use firebreak_tests::{on_large_stack, sample_event, Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

const SCHEDULE_EVENT: &str = "audit-posture/schedule-daily.json";

/// The run over the one account there is (no allow-list, no organisation): its report.
async fn run(scenario: &Scenario, config: PostureConfig) -> Value {
    let function = Function { accounts: firebreak_tests::home_only(scenario.clients.clone()), config };
    let run = audit_posture::handle(&function, LambdaEvent::new(sample_event(SCHEDULE_EVENT), Context::default()))
        .await
        .expect("audit-posture runs");
    assert_eq!(run["accounts_from"], "allow-list", "{run:#}");
    assert_eq!(run["errors"], serde_json::json!([]), "{run:#}");
    assert_eq!(run["reports"].as_array().map(Vec::len), Some(1), "{run:#}");
    assert_eq!(run["outcome"], run["reports"][0]["outcome"]);
    run["reports"][0].clone()
}

fn gap_checks(report: &Value) -> Vec<String> {
    let mut checks: Vec<String> =
        report["gaps"].as_array().unwrap().iter().map(|g| g["check"].as_str().unwrap().to_string()).collect();
    checks.sort();
    checks
}

/// Security Hub as it stands: finding id -> (record state, compliance, workflow).
async fn hub(scenario: &Scenario) -> BTreeMap<String, (String, String, String)> {
    let findings = scenario.clients.securityhub.get_findings().send().await.expect("GetFindings");
    findings
        .findings()
        .iter()
        .map(|f| {
            (
                f.id().unwrap().to_string(),
                (
                    f.record_state().unwrap().as_str().to_string(),
                    f.compliance().and_then(|c| c.status()).unwrap().as_str().to_string(),
                    f.workflow().and_then(|w| w.status()).unwrap().as_str().to_string(),
                ),
            )
        })
        .collect()
}

/// moto serves S3 on the same port and takes an unsigned path-style PUT as CreateBucket; the test
/// crate has no S3 client, and a trail needs a bucket.
fn create_bucket(moto: &Moto, bucket: &str) {
    let address = moto.endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    write!(stream, "PUT /{bucket} HTTP/1.0\r\nHost: {address}\r\nContent-Length: 0\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"), "{response}");
}

#[test]
fn every_seeded_gap_is_reported_then_resolved_once_fixed() {
    on_large_stack(seeded_gaps_then_fixes);
}

async fn seeded_gaps_then_fixes() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let clients = &scenario.clients;
    let config = PostureConfig { access_key_max_age_days: 0, access_key_unused_days: 0, ..PostureConfig::default() };

    // The incident account: a console user without MFA holding a never-used key, SSH open to the world,
    // no GuardDuty, no trail, no alarms.
    scenario.iam.create_user().user_name("dev").send().await.unwrap();
    scenario.iam.create_login_profile().user_name("dev").password("Ch4nge-me!now").send().await.unwrap();
    let key = scenario.iam.create_access_key().user_name("dev").send().await.unwrap();
    let key_id = key.access_key().unwrap().access_key_id().to_string();
    let vpc_id = scenario
        .ec2
        .create_vpc()
        .cidr_block("10.40.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let web =
        scenario.ec2.create_security_group().group_name("web").description("web").vpc_id(&vpc_id).send().await.unwrap();
    let web = web.group_id().unwrap().to_string();
    let ssh = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    scenario.ec2.authorize_security_group_ingress().group_id(&web).ip_permissions(ssh.clone()).send().await.unwrap();

    let first = run(&scenario, config.clone()).await;
    assert_eq!(first["outcome"], "completed_with_errors", "the alarm checks cannot be read from moto: {first:#}");
    for alarm_check in ["billing-alarm", "network-out-alarm"] {
        let step = first["steps"].as_array().unwrap().iter().find(|s| s["step"] == alarm_check).unwrap();
        assert_eq!(step["outcome"], "failed", "{step:#}");
        assert!(step["detail"].as_str().unwrap().contains("DescribeAlarms"), "{step:#}");
    }
    let expected: Vec<String> = [
        Check::AccessKeyAge,
        Check::AccessKeyUnused,
        Check::ConsoleUserMfa,
        Check::GuarddutyEnabled,
        Check::MultiRegionTrailLogging,
        Check::RootMfa,
        Check::SecurityGroupOpen,
    ]
    .iter()
    .map(|c| c.slug().to_string())
    .collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(gap_checks(&first), expected_sorted, "{first:#}");
    let open_group = first["gaps"].as_array().unwrap().iter().find(|g| g["check"] == "security-group-open").unwrap();
    assert_eq!(open_group["resource_id"], web.as_str());
    assert!(first["gaps"].as_array().unwrap().iter().any(|g| g["resource_id"] == key_id.as_str()));
    let imported = hub(&scenario).await;
    assert_eq!(imported.len(), expected.len(), "one finding per gap: {imported:#?}");
    assert!(imported.values().all(|(state, compliance, workflow)| (
        state.as_str(),
        compliance.as_str(),
        workflow.as_str()
    ) == ("ACTIVE", "FAILED", "NEW")));

    // The same account again: the same findings are updated, none added.
    let second = run(&scenario, config.clone()).await;
    assert_eq!(gap_checks(&second), expected_sorted);
    assert_eq!(hub(&scenario).await.len(), expected.len(), "updated, not duplicated");
    assert_eq!(second["resolved"].as_array().unwrap().len(), 0);

    // Fix every gap the emulator can fix.
    scenario.iam.delete_login_profile().user_name("dev").send().await.unwrap();
    scenario.iam.delete_access_key().user_name("dev").access_key_id(&key_id).send().await.unwrap();
    scenario.ec2.revoke_security_group_ingress().group_id(&web).ip_permissions(ssh).send().await.unwrap();
    clients.guardduty.create_detector().enable(true).send().await.unwrap();
    create_bucket(&moto, "org-trail-logs");
    clients
        .cloudtrail
        .create_trail()
        .name("org-trail")
        .s3_bucket_name("org-trail-logs")
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap();
    clients.cloudtrail.start_logging().name("org-trail").send().await.unwrap();

    let fixed = run(&scenario, config).await;
    assert_eq!(fixed["outcome"], "completed_with_errors", "{fixed:#}");
    assert_eq!(gap_checks(&fixed), vec!["root-mfa"], "only what moto cannot fix remains: {fixed:#}");
    assert_eq!(fixed["resolved"].as_array().unwrap().len(), expected.len() - 1, "{fixed:#}");
    let after = hub(&scenario).await;
    assert_eq!(after.len(), expected.len(), "resolving updates the same findings");
    for (id, (state, compliance, workflow)) in &after {
        if id.contains("/root-mfa/") {
            assert_eq!((state.as_str(), compliance.as_str()), ("ACTIVE", "FAILED"), "{id}");
        } else {
            assert_eq!(
                (state.as_str(), compliance.as_str(), workflow.as_str()),
                ("ARCHIVED", "PASSED", "RESOLVED"),
                "{id}"
            );
        }
    }

    // Nothing more to resolve on the next run.
    let quiet = run(&scenario, PostureConfig::default()).await;
    assert_eq!(quiet["resolved"].as_array().unwrap().len(), 0, "{quiet:#}");
}

#[test]
fn dry_run_imports_nothing_and_bad_events_are_refused() {
    on_large_stack(dry_run_then_bad_event);
}

async fn dry_run_then_bad_event() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let report = run(
        &scenario,
        PostureConfig { common: CommonConfig { dry_run: true, ..CommonConfig::default() }, ..PostureConfig::default() },
    )
    .await;
    assert_eq!(report["outcome"], "planned", "{report:#}");
    assert!(!report["gaps"].as_array().unwrap().is_empty());
    assert!(hub(&scenario).await.is_empty(), "a dry run imports nothing");

    let function =
        Function { accounts: firebreak_tests::home_only(scenario.clients.clone()), config: PostureConfig::default() };
    let wrong = sample_event("close-open-ports/guardduty-ec2-ssh-bruteforce-target.json");
    assert!(audit_posture::handle(&function, LambdaEvent::new(wrong, Context::default())).await.is_err());
}
