use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::*;
use crate::engine::{Signal, StepReport};

fn at(text: &str) -> SystemTime {
    parse_time(text).unwrap()
}

fn signal() -> Signal {
    Signal {
        source: "aws.guardduty".into(),
        kind: "CryptoCurrency:EC2/BitcoinTool.B!DNS".into(),
        id: "f-1".into(),
        account: "111122223333".into(),
        region: "us-east-1".into(),
        delivered_by: None,
        time: Some("2026-11-24T02:12:00Z".into()),
    }
}

fn step(name: &'static str, outcome: StepOutcome, containment: bool, ended: Option<&str>) -> StepReport {
    StepReport { containment, ended_at: ended.map(at), ..StepReport::new(name, "i-1", outcome, "") }
}

fn report(outcome: Outcome, steps: Vec<StepReport>) -> Report {
    let mut report = Report::new("quarantine-instance", signal(), "i-1", outcome == Outcome::Planned);
    report.started_at = "2026-11-24T02:12:30Z".into();
    report.case_id = Some("fb-1".into());
    report.outcome = outcome;
    report.steps = steps;
    report
}

/// The line as CloudWatch reads it: written as text, parsed back.
fn written(report: &Report) -> Value {
    let text = line(report, at("2026-11-24T02:13:00Z")).to_string();
    assert!(!text.contains('\n'), "one log line");
    serde_json::from_str(&text).unwrap()
}

fn header(metrics: &[(&str, &str)]) -> Value {
    json!({
        "Timestamp": 1_795_486_380_000_u64,
        "CloudWatchMetrics": [{
            "Namespace": "Firebreak",
            "Dimensions": [["function", "outcome"], ["function"]],
            "Metrics": metrics.iter().map(|(n, u)| json!({ "Name": n, "Unit": u })).collect::<Vec<_>>(),
        }],
    })
}

const COUNTS: [(&str, &str); 4] =
    [("Cases", "Count"), ("StepsFailed", "Count"), ("CallsRetried", "Count"), ("ThrottledCalls", "Count")];

#[test]
fn contained_from_the_findings_time_to_the_last_containment_step() {
    let mut retried = step("snapshot_volumes", StepOutcome::Done, false, Some("2026-11-24T02:12:50Z"));
    retried.retries = vec!["CreateSnapshots (attempt 2)".into(), "CreateSnapshots (attempt 3)".into()];
    retried.throttled = 2;
    let report = report(
        Outcome::Contained,
        vec![
            step("isolate_network_interface", StepOutcome::Done, true, Some("2026-11-24T02:12:31.250Z")),
            // Already in place (an earlier delivery): it counts as contained when it was found so.
            step("detach_from_auto_scaling_group", StepOutcome::Skipped, true, Some("2026-11-24T02:12:32.500Z")),
            retried,
        ],
    );
    let mut metrics = COUNTS.to_vec();
    metrics.extend([("TimeToContainment", "Seconds"), ("InvocationToContainment", "Seconds")]);
    assert_eq!(
        written(&report),
        json!({
            "_aws": header(&metrics),
            "function": "quarantine-instance",
            "outcome": "contained",
            "signal_source": "aws.guardduty",
            "signal_kind": "CryptoCurrency:EC2/BitcoinTool.B!DNS",
            "signal_id": "f-1",
            "account": "111122223333",
            "region": "us-east-1",
            "case_id": "fb-1",
            "dry_run": false,
            "Cases": 1,
            "StepsFailed": 0,
            "CallsRetried": 2,
            "ThrottledCalls": 2,
            "TimeToContainment": 32.5,
            "InvocationToContainment": 2.5,
        })
    );
}

#[test]
fn failed_containment_counts_the_failed_steps_and_times_nothing() {
    let report = report(
        Outcome::Failed,
        vec![
            step("isolate_network_interface", StepOutcome::Failed, true, Some("2026-11-24T02:12:31Z")),
            step("tag_instance", StepOutcome::Failed, false, Some("2026-11-24T02:12:31Z")),
        ],
    );
    let line = written(&report);
    assert_eq!(line["_aws"], header(&COUNTS));
    assert_eq!(line["outcome"], "failed");
    assert_eq!((line["Cases"].clone(), line["StepsFailed"].clone()), (json!(1), json!(2)));
    assert!(line.get("TimeToContainment").is_none() && line.get("InvocationToContainment").is_none());
}

#[test]
fn a_skip_is_a_case_with_its_reason_and_no_times() {
    let report = report(Outcome::Skipped, vec![]).skipped("sample finding (GuardDuty's generated sample)");
    let line = written(&report);
    assert_eq!(line["_aws"], header(&COUNTS));
    assert_eq!(line["outcome"], "skipped");
    assert_eq!(line["reason"], "sample finding (GuardDuty's generated sample)");
    assert_eq!(line["Cases"], 1);
    assert_eq!(line["StepsFailed"], 0);
}

#[test]
fn contained_with_errors_and_planned_and_completed() {
    let late = step("isolate_network_interface", StepOutcome::Done, true, Some("2026-11-24T02:14:00Z"));
    let with_errors =
        report(Outcome::ContainedWithErrors, vec![late, step("tag_instance", StepOutcome::Failed, false, None)]);
    let line = written(&with_errors);
    assert_eq!(line["outcome"], "contained_with_errors");
    assert_eq!(line["StepsFailed"], 1);
    assert_eq!(line["TimeToContainment"], 120.0);
    assert_eq!(line["InvocationToContainment"], 90.0);

    let planned = report(Outcome::Planned, vec![step("isolate_network_interface", StepOutcome::Planned, true, None)]);
    let line = written(&planned);
    assert_eq!((line["outcome"].clone(), line["dry_run"].clone()), (json!("planned"), json!(true)));
    assert!(line.get("TimeToContainment").is_none());

    let mut audit = report(Outcome::Completed, vec![step("read_detectors", StepOutcome::Done, false, None)]);
    audit.function = "audit-posture";
    let line = written(&audit);
    assert_eq!((line["function"].clone(), line["outcome"].clone()), (json!("audit-posture"), json!("completed")));
    assert!(line.get("TimeToContainment").is_none());
}

#[test]
fn a_signal_without_a_time_or_from_the_future_still_times_the_invocation() {
    let done = || step("isolate_network_interface", StepOutcome::Done, true, Some("2026-11-24T02:12:31Z"));
    let mut report = report(Outcome::Contained, vec![done()]);
    report.signal.time = None;
    let metrics = Metrics::of(&report);
    assert_eq!((metrics.time_to_containment, metrics.invocation_to_containment), (None, Some(1.0)));
    // A clock skewed ahead of ours: zero, not an error.
    report.signal.time = Some("2026-11-24T03:00:00Z".into());
    assert_eq!(Metrics::of(&report).time_to_containment, Some(0.0));
    assert_eq!(at("2026-11-24T02:12:31Z") - Duration::from_secs(1), at("2026-11-24T02:12:30Z"));
}
