//! The canary against moto: the Firebreak rule's state (EventBridge DescribeRule) and
//! quarantine-instance's log group (CloudWatch Logs FilterLogEvents) are moto's; GuardDuty runs
//! on aws-smithy-mocks, because moto 5.2 has no CreateSampleFindings (the exact request is
//! matched: the detector found enabled, the one EC2 finding type). The report the canary looks
//! for is the metric line quarantine-instance writes for GuardDuty's own sample event.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_eventbridge::types::RuleState;
use aws_sdk_guardduty::operation::create_sample_findings::CreateSampleFindingsOutput;
use aws_sdk_guardduty::operation::get_detector::GetDetectorOutput;
use aws_sdk_guardduty::operation::list_detectors::ListDetectorsOutput;
use aws_sdk_guardduty::types::DetectorStatus;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use firebreak::canary::{self, CanaryConfig, Home, SAMPLE_FINDING_TYPE};
use firebreak::deadline::Deadline;
use firebreak::engine::{metrics, Outcome, Report, StepOutcome};
use firebreak::events::ScheduledEvent;
use firebreak::respond::{self, InstanceTrigger, Settings};
use firebreak_tests::{sample_event, Moto};
use serde_json::Value;

const LOG_GROUP: &str = "/aws/lambda/firebreak-quarantine-instance";
const RULE: &str = "firebreak-quarantine-instance-guardduty";
const SAMPLE: &str = "quarantine-instance/guardduty-ec2-bitcoin-sample.json";

fn guardduty_rules(status: DetectorStatus) -> Vec<Rule> {
    vec![
        mock!(aws_sdk_guardduty::Client::list_detectors)
            .then_output(|| ListDetectorsOutput::builder().detector_ids("d-1").build()),
        mock!(aws_sdk_guardduty::Client::get_detector)
            .match_requests(|r| r.detector_id() == Some("d-1"))
            .then_output(move || GetDetectorOutput::builder().status(status.clone()).build()),
        mock!(aws_sdk_guardduty::Client::create_sample_findings)
            .match_requests(|r| r.detector_id() == Some("d-1") && r.finding_types() == [SAMPLE_FINDING_TYPE])
            .then_output(|| CreateSampleFindingsOutput::builder().build()),
    ]
}

struct World {
    moto: Moto,
    home: Home,
    config: CanaryConfig,
}

async fn world(rule_state: RuleState) -> World {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let home = Home::new(&sdk);
    home.events
        .put_rule()
        .name(RULE)
        .event_pattern(r#"{"source":["aws.guardduty"]}"#)
        .state(rule_state)
        .send()
        .await
        .expect("PutRule");
    home.logs.create_log_group().log_group_name(LOG_GROUP).send().await.expect("CreateLogGroup");
    home.logs.create_log_stream().log_group_name(LOG_GROUP).log_stream_name("s").send().await.expect("CreateLogStream");
    let config = CanaryConfig {
        log_group: LOG_GROUP.into(),
        rules: vec![RULE.into()],
        wait: Duration::from_secs(2),
        poll: Duration::from_millis(200),
        audit_organization: false,
    };
    World { moto, home, config }
}

/// What quarantine-instance writes for GuardDuty's sample: its response to the sample event,
/// through the one metric line.
async fn quarantine_instance_reports_the_sample(world: &World) -> Value {
    let accounts = firebreak_tests::accounts(&world.moto).await;
    let mut settings = Settings::default();
    settings.notify.security_hub = false;
    let trigger = InstanceTrigger::from_event(&sample_event(SAMPLE)).expect("the sample parses");
    let response = respond::respond_to_instance(&accounts, &settings, &trigger, Deadline::NONE).await;
    assert_eq!(response.outcome, Outcome::Skipped, "a sample is skipped: {:#?}", response.reason);
    let line = metrics::line(&response.as_report(), SystemTime::now());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let event = InputLogEvent::builder().timestamp(now).message(line.to_string()).build().unwrap();
    world
        .home
        .logs
        .put_log_events()
        .log_group_name(LOG_GROUP)
        .log_stream_name("s")
        .log_events(event)
        .send()
        .await
        .expect("PutLogEvents");
    line
}

async fn run(world: &World, status: DetectorStatus) -> (Report, Vec<Rule>) {
    let rules = guardduty_rules(status);
    let guardduty = mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, &rules);
    let mut clients = world.moto.clients().await;
    clients.guardduty = guardduty;
    let accounts = firebreak_tests::home_only(clients);
    let event = ScheduledEvent::from_event(&sample_event("audit-posture/schedule-daily.json")).unwrap();
    let report = canary::run_canary(&accounts, &world.home, &world.config, &event, Deadline::NONE).await.expect("runs");
    (report, rules)
}

fn outcome_of<'a>(report: &'a Report, step: &'a str) -> Vec<(StepOutcome, &'a str)> {
    report.steps_named(step).map(|s| (s.outcome, s.detail.as_str())).collect()
}

#[tokio::test]
async fn the_sample_is_requested_and_its_report_found_so_nothing_fails() {
    let world = world(RuleState::Enabled).await;
    let line = quarantine_instance_reports_the_sample(&world).await;
    assert!(canary::is_report(&line), "{line:#}");
    let (report, rules) = run(&world, DetectorStatus::Enabled).await;

    assert_eq!(report.outcome, Outcome::Completed, "{report:#?}");
    assert_eq!(rules[2].num_calls(), 1, "CreateSampleFindings, once, exactly as matched");
    assert_eq!(outcome_of(&report, "check_rule"), vec![(StepOutcome::Done, "enabled")]);
    assert_eq!(outcome_of(&report, "await_reports")[0].0, StepOutcome::Done, "{report:#?}");
    let emitted = metrics::line(&report, SystemTime::now());
    assert_eq!((emitted["function"].clone(), emitted["StepsFailed"].clone()), ("canary".into(), 0.into()));
}

#[tokio::test]
async fn no_report_within_the_bound_a_disabled_rule_and_a_suspended_detector_raise_the_alarm_metric() {
    // No report at all: the rule is disabled, so nothing reached quarantine-instance.
    let world = world(RuleState::Disabled).await;
    let (report, rules) = run(&world, DetectorStatus::Enabled).await;
    assert_eq!(report.outcome, Outcome::CompletedWithErrors, "{report:#?}");
    let rule = outcome_of(&report, "check_rule");
    assert_eq!(rule[0].0, StepOutcome::Failed);
    assert!(rule[0].1.contains("DISABLED"), "{rule:?}");
    let waited = outcome_of(&report, "await_reports");
    assert_eq!(waited[0].0, StepOutcome::Failed);
    assert!(
        waited[0].1.contains("no report from quarantine-instance within 2 s for account(s) 123456789012"),
        "{waited:?}"
    );
    assert_eq!(rules[2].num_calls(), 1, "the sample was asked for");
    // What the CanaryFailedAlarm watches: StepsFailed of function canary.
    let emitted = metrics::line(&report, SystemTime::now());
    assert_eq!(emitted["StepsFailed"], 2, "{emitted:#}");
    assert_eq!(emitted["outcome"], "completed_with_errors");

    // A suspended detector: no sample can be asked for, and the canary says why.
    let (report, rules) = run(&world, DetectorStatus::Disabled).await;
    let detector = outcome_of(&report, "check_guardduty_detector");
    assert!(
        detector[0].0 == StepOutcome::Failed && detector[0].1.contains("no enabled GuardDuty detector"),
        "{detector:?}"
    );
    assert_eq!(rules[2].num_calls(), 0, "no CreateSampleFindings without an enabled detector");
    assert_eq!(outcome_of(&report, "create_sample_finding")[0].0, StepOutcome::Failed);
}

#[tokio::test]
async fn a_missing_rule_fails_its_check() {
    let mut world = world(RuleState::Enabled).await;
    world.config.rules.push("firebreak-gone".into());
    quarantine_instance_reports_the_sample(&world).await;
    let (report, _) = run(&world, DetectorStatus::Enabled).await;
    let rules = outcome_of(&report, "check_rule");
    assert_eq!(rules[1].0, StepOutcome::Failed);
    assert!(rules[1].1.contains("no rule firebreak-gone"), "{rules:?}");
    assert_eq!(outcome_of(&report, "await_reports")[0].0, StepOutcome::Done, "the report still arrived");
}

/// The detector check on moto's own GuardDuty (CreateDetector, ListDetectors, GetDetector are
/// implemented): an enabled detector passes, a suspended one fails; moto has no
/// CreateSampleFindings, so there the sample step fails with the call named.
#[tokio::test]
async fn the_detector_check_reads_motos_guardduty() {
    let world = world(RuleState::Enabled).await;
    let clients = world.moto.clients().await;
    let detector = clients.guardduty.create_detector().enable(true).send().await.expect("CreateDetector");
    let detector = detector.detector_id().unwrap().to_string();
    let accounts = firebreak_tests::home_only(clients.clone());
    let event = ScheduledEvent::from_event(&sample_event("audit-posture/schedule-daily.json")).unwrap();

    let report = canary::run_canary(&accounts, &world.home, &world.config, &event, Deadline::NONE).await.unwrap();
    let checked = outcome_of(&report, "check_guardduty_detector");
    assert_eq!(checked, vec![(StepOutcome::Done, format!("detector {detector} enabled").as_str())], "{report:#?}");
    let sample = outcome_of(&report, "create_sample_finding");
    assert!(sample[0].0 == StepOutcome::Failed && sample[0].1.contains("CreateSampleFindings"), "{sample:?}");

    clients.guardduty.update_detector().detector_id(&detector).enable(false).send().await.expect("UpdateDetector");
    let report = canary::run_canary(&accounts, &world.home, &world.config, &event, Deadline::NONE).await.unwrap();
    let checked = outcome_of(&report, "check_guardduty_detector");
    assert!(
        checked[0].0 == StepOutcome::Failed && checked[0].1.contains("no enabled GuardDuty detector"),
        "{checked:?}"
    );
}
