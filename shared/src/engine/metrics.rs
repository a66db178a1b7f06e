//! Firebreak's own metrics, written once from the finished [`Report`] as one CloudWatch Embedded
//! Metric Format (EMF) log line: CloudWatch Logs turns the line into metrics, so there is no
//! PutMetricData call (and no permission for one). Namespace `Firebreak`, dimensions `function`
//! and `outcome` only; the signal's kind, id and account are plain properties of the line (no
//! metric, no cardinality), which lets the canary find the report of its sample finding.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_ec2::primitives::{DateTime, DateTimeFormat};
use serde_json::{json, Map, Value};

use super::report::{Outcome, Report, StepOutcome};

pub const NAMESPACE: &str = "Firebreak";
/// One per report: cases by function and outcome.
pub const CASES: &str = "Cases";
pub const STEPS_FAILED: &str = "StepsFailed";
pub const CALLS_RETRIED: &str = "CallsRetried";
pub const THROTTLED_CALLS: &str = "ThrottledCalls";
/// Seconds from the signal's own time (the finding's `updatedAt`, the event's `time`) to the end
/// of the last containment step.
pub const TIME_TO_CONTAINMENT: &str = "TimeToContainment";
/// Seconds from the start of the invocation's report to the end of the last containment step.
pub const INVOCATION_TO_CONTAINMENT: &str = "InvocationToContainment";

/// The metric line of one report, as it is written (see [`line`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    pub function: &'static str,
    pub outcome: Outcome,
    pub steps_failed: u64,
    pub calls_retried: u64,
    pub throttled_calls: u64,
    pub time_to_containment: Option<f64>,
    pub invocation_to_containment: Option<f64>,
}

impl Metrics {
    /// Derives every metric from the report: the containment times only when the report contains
    /// the threat (and a containment step ran), never from a dry run or a failure.
    pub fn of(report: &Report) -> Self {
        let contained = matches!(report.outcome, Outcome::Contained | Outcome::ContainedWithErrors);
        let contained_at = report
            .steps
            .iter()
            .filter(|s| s.containment && matches!(s.outcome, StepOutcome::Done | StepOutcome::Skipped))
            .filter_map(|s| s.ended_at)
            .max()
            .filter(|_| contained);
        let since = |start: Option<SystemTime>| {
            let (start, end) = (start?, contained_at?);
            Some(end.duration_since(start).map(|d| d.as_secs_f64()).unwrap_or(0.0))
        };
        Self {
            function: report.function,
            outcome: report.outcome,
            steps_failed: report.steps.iter().filter(|s| s.outcome == StepOutcome::Failed).count() as u64,
            calls_retried: report.steps.iter().map(|s| s.retries.len() as u64).sum(),
            throttled_calls: report.steps.iter().map(|s| u64::from(s.throttled)).sum(),
            time_to_containment: since(report.signal.time.as_deref().and_then(parse_time)),
            invocation_to_containment: since(parse_time(&report.started_at)),
        }
    }
}

/// An RFC 3339 time as the signal or the report writes it.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    SystemTime::try_from(DateTime::from_str(text, DateTimeFormat::DateTime).ok()?).ok()
}

/// The EMF line of a report, written at `now`.
pub fn line(report: &Report, now: SystemTime) -> Value {
    let metrics = Metrics::of(report);
    let mut names =
        vec![(CASES, "Count"), (STEPS_FAILED, "Count"), (CALLS_RETRIED, "Count"), (THROTTLED_CALLS, "Count")];
    let mut values = Map::new();
    values.insert(CASES.into(), json!(1));
    values.insert(STEPS_FAILED.into(), json!(metrics.steps_failed));
    values.insert(CALLS_RETRIED.into(), json!(metrics.calls_retried));
    values.insert(THROTTLED_CALLS.into(), json!(metrics.throttled_calls));
    for (name, value) in [
        (TIME_TO_CONTAINMENT, metrics.time_to_containment),
        (INVOCATION_TO_CONTAINMENT, metrics.invocation_to_containment),
    ] {
        if let Some(seconds) = value {
            names.push((name, "Seconds"));
            // Milliseconds are enough precision, and keep the line short.
            values.insert(name.into(), json!((seconds * 1000.0).round() / 1000.0));
        }
    }
    let timestamp = now.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let mut line = json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                // By function and outcome, and by function alone (the alarms' time to containment).
                "Dimensions": [["function", "outcome"], ["function"]],
                "Metrics": names.iter().map(|(name, unit)| json!({ "Name": name, "Unit": unit })).collect::<Vec<_>>(),
            }],
        },
        "function": metrics.function,
        "outcome": metrics.outcome.as_str(),
        "signal_source": report.signal.source,
        "signal_kind": report.signal.kind,
        "signal_id": report.signal.id,
        "account": report.signal.account,
        "region": report.signal.region,
        "case_id": report.case_id,
        "dry_run": report.dry_run,
    });
    if let (Some(object), Some(reason)) = (line.as_object_mut(), &report.reason) {
        object.insert("reason".into(), json!(reason));
    }
    if let Some(object) = line.as_object_mut() {
        object.extend(values);
    }
    line
}

/// Writes the report's EMF line to stdout, where Lambda sends it to the function's log group.
/// Only inside Lambda: the `firebreak` command and the tests run the same code at a terminal.
pub fn emit(report: &Report) {
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        println!("{}", line(report, SystemTime::now()));
    }
}

/// A report that holds a [`Report`] (audit-posture's, one per account), its metrics written.
pub fn emitted<R>(holder: R, report: impl Fn(&R) -> &Report) -> R {
    emit(report(&holder));
    holder
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
