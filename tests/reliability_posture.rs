//! audit-posture under throttling: with ~30 % of its requests to moto answered "throttled" by the
//! fault-injecting proxy, the audit still completes, finds exactly the gaps of an undisturbed run,
//! updates the same findings, and its steps name the calls that had to be retried.
//!
//! Deterministic: the proxy draws its faults from a fixed-seed sequence, and nothing asserted
//! depends on which request a fault hits (each call has eight attempts; the sequence throttles
//! some of the first requests, so some step always retries). CloudWatch runs against a mock that
//! answers "no alarm", as in cloudwatch_mocked.rs: moto 5.2.1 cannot read the SDK's CBOR requests.

use std::collections::BTreeSet;

use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_ec2::types::{IpPermission, IpRange};
use aws_smithy_mocks::{mock, mock_client};
use firebreak::deadline::Deadline;
use firebreak::engine::Outcome;
use firebreak::events::ScheduledEvent;
use firebreak::posture::{audit_posture, PostureConfig, PostureReport};
use firebreak::Clients;
use firebreak_tests::faults::{Fault, FaultProxy};
use firebreak_tests::moto::sdk_config_for;
use firebreak_tests::{on_large_stack, sample_event, Moto, Scenario};

/// Runs the audit through `clients`, with a fresh CloudWatch mock answering "no alarm".
async fn audit(clients: &Clients, config: &PostureConfig) -> PostureReport {
    let no_alarms =
        mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| DescribeAlarmsOutput::builder().build());
    let mut clients = clients.clone();
    clients.cloudwatch = mock_client!(aws_sdk_cloudwatch, [&no_alarms]);
    let schedule = ScheduledEvent::from_event(&sample_event("audit-posture/schedule-daily.json")).unwrap();
    let report = audit_posture(&clients, config, &schedule, Deadline::NONE).await.expect("audit-posture runs");
    assert_eq!(no_alarms.num_calls(), 1, "DescribeAlarms was called once");
    report
}

/// (check, resource) of every gap.
fn gaps(report: &PostureReport) -> BTreeSet<(String, String)> {
    report.gaps.iter().map(|g| (g.check.slug().to_string(), g.resource_id.clone())).collect()
}

fn retries(report: &PostureReport) -> Vec<String> {
    report.report.steps.iter().flat_map(|s| s.retries.iter().map(move |r| format!("{}: {r}", s.step))).collect()
}

#[test]
fn audits_the_same_gaps_under_thirty_percent_throttling() {
    on_large_stack(same_gaps_under_throttling);
}

async fn same_gaps_under_throttling() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    // Gaps in every read the proxy sees: a console user without MFA and its key, SSH open to the
    // world, no detector, no trail (and root MFA, which moto never reports).
    scenario.iam.create_user().user_name("dev").send().await.unwrap();
    scenario.iam.create_login_profile().user_name("dev").password("Ch4nge-me!now").send().await.unwrap();
    scenario.iam.create_access_key().user_name("dev").send().await.unwrap();
    let vpc = scenario.ec2.create_vpc().cidr_block("10.41.0.0/16").send().await.unwrap();
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).unwrap();
    let web = scenario.ec2.create_security_group().group_name("web").description("web").vpc_id(vpc_id).send().await;
    let web = web.unwrap().group_id().unwrap().to_string();
    let ssh = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    scenario.ec2.authorize_security_group_ingress().group_id(&web).ip_permissions(ssh).send().await.unwrap();

    let proxy = FaultProxy::start(&moto.endpoint);
    let clients = Clients::new(&sdk_config_for(&proxy.endpoint).await);
    let config = PostureConfig { access_key_max_age_days: 0, access_key_unused_days: 0, ..PostureConfig::default() };

    let calm = audit(&clients, &config).await;
    assert_eq!(calm.report.outcome, Outcome::Completed, "{:#?}", calm.report);
    assert!(proxy.injected().is_empty());
    let expected = gaps(&calm);
    let checks: BTreeSet<&str> = expected.iter().map(|(check, _)| check.as_str()).collect();
    for check in ["guardduty-enabled", "multi-region-trail-logging", "root-mfa", "console-user-mfa", "access-key-age"] {
        assert!(checks.contains(check), "{check} is among the gaps: {expected:?}");
    }
    assert!(expected.contains(&("security-group-open".to_string(), web.clone())), "{expected:?}");
    assert!(checks.contains("billing-alarm") && checks.contains("network-out-alarm"), "{expected:?}");

    proxy.reset_record();
    proxy.fail_share(0.3, Fault::Throttle);
    let throttled = audit(&clients, &config).await;
    assert!(!proxy.injected().is_empty(), "faults were injected");
    assert_eq!(throttled.report.outcome, Outcome::Completed, "{:#?}", throttled.report);
    assert_eq!(gaps(&throttled), expected, "the same gaps as without faults");
    assert!(throttled.resolved.is_empty(), "nothing resolved by mistake: {:?}", throttled.resolved);
    let import = throttled.report.step("import_findings").unwrap();
    assert!(import.detail.contains(&format!("{} gap(s), 0 resolved", expected.len())), "{import:#?}");
    let retried = retries(&throttled);
    assert!(
        retried.iter().any(|r| r.ends_with("(attempt 2)")),
        "some step names a retried call: {retried:?}\n{:#?}",
        throttled.report.steps
    );

    // Security Hub (read past the proxy) holds one ACTIVE finding per gap: updated, not duplicated.
    let hub = scenario.clients.securityhub.get_findings().send().await.unwrap();
    assert_eq!(hub.findings().len(), expected.len());
    assert!(hub.findings().iter().all(|f| f.record_state().map(|s| s.as_str()) == Some("ACTIVE")));
}
