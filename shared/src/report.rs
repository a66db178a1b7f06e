//! What a function did, step by step: returned by the handler as JSON, logged one line per step.

use std::time::{Duration, SystemTime};

use aws_sdk_ec2::primitives::{DateTime, DateTimeFormat};
use serde::Serialize;

/// RFC 3339 UTC time, as AWS writes it.
pub fn timestamp(at: SystemTime) -> String {
    DateTime::from(at).fmt(DateTimeFormat::DateTime).unwrap_or_else(|_| "unknown".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Done,
    Skipped,
    Failed,
    /// Dry run: what would be done.
    Planned,
}

impl StepOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::Planned => "planned",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    pub step: &'static str,
    pub resource: String,
    pub outcome: StepOutcome,
    /// What was done or planned, why it was skipped, or the error.
    pub detail: String,
    pub duration_ms: u64,
    /// AWS calls that had to be retried (throttling, 5xx, resets), e.g. `CreateSnapshots (attempt 2)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<String>,
}

impl StepReport {
    pub fn new(
        step: &'static str,
        resource: impl Into<String>,
        outcome: StepOutcome,
        detail: impl Into<String>,
    ) -> Self {
        Self { step, resource: resource.into(), outcome, detail: detail.into(), duration_ms: 0, retries: Vec::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every step done or already in place.
    Contained,
    /// Contained, but a later step (snapshot, tag, ...) failed: see the steps.
    ContainedWithErrors,
    /// Containment itself failed: the instance may still be reachable.
    Failed,
    /// Nothing to do: see `reason`.
    Skipped,
    /// Dry run: the steps are what would be done.
    Planned,
    /// A function that contains nothing (an audit) ran every step.
    Completed,
    /// It ran, but some steps failed: see the steps.
    CompletedWithErrors,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub function: &'static str,
    pub case_id: Option<String>,
    pub finding_id: String,
    pub finding_type: String,
    pub account_id: String,
    pub region: String,
    pub resource: String,
    pub dry_run: bool,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub steps: Vec<StepReport>,
    pub started_at: String,
    pub duration_ms: u64,
}

impl Report {
    /// An empty report about a quarantine request, started now; the outcome starts as skipped.
    pub fn new(function: &'static str, request: &crate::plan::QuarantineRequest, dry_run: bool) -> Self {
        Self {
            function,
            case_id: None,
            finding_id: request.signal_id.clone(),
            finding_type: request.signal_type.clone(),
            account_id: request.account_id.clone(),
            region: request.region.clone(),
            resource: request.instance_id.clone(),
            dry_run,
            outcome: Outcome::Skipped,
            reason: None,
            steps: Vec::new(),
            started_at: timestamp(SystemTime::now()),
            duration_ms: 0,
        }
    }

    pub fn step(&self, name: &str) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.step == name)
    }

    pub fn steps_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a StepReport> + 'a {
        self.steps.iter().filter(move |s| s.step == name)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self)
            .unwrap_or_else(|e| serde_json::json!({ "error": format!("report not serialisable: {e}") }))
    }
}

/// Whether any step failed, split by whether it was part of containment: the two facts that
/// decide a remediation's outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub containment_failed: bool,
    pub other_failed: bool,
}

impl Tally {
    pub fn record(&mut self, is_containment: bool, step: &StepReport) {
        if step.outcome == StepOutcome::Failed {
            if is_containment {
                self.containment_failed = true;
            } else {
                self.other_failed = true;
            }
        }
    }

    /// Failed when containment failed; contained, with or without errors, otherwise.
    pub fn outcome(&self) -> Outcome {
        if self.containment_failed {
            Outcome::Failed
        } else if self.other_failed {
            Outcome::ContainedWithErrors
        } else {
            Outcome::Contained
        }
    }
}

/// One line of a printed plan: its number, phase and action, or why it is skipped.
pub fn write_plan_step(
    f: &mut std::fmt::Formatter<'_>,
    number: usize,
    phase: &dyn std::fmt::Debug,
    action: &dyn std::fmt::Display,
    name: &str,
    skip: Option<&str>,
) -> std::fmt::Result {
    let phase = format!("{phase:?}").to_lowercase();
    match skip {
        None => writeln!(f, "  {number:>2}. [{phase}] {action}"),
        Some(why) => writeln!(f, "  {number:>2}. [{phase}] skip: {name} — {why}"),
    }
}

/// Writes the one JSON log line of a finished step.
pub fn log_step(case_id: &str, finding_id: &str, step: &StepReport) {
    tracing::info!(
        case_id,
        finding_id,
        step = step.step,
        resource = %step.resource,
        outcome = step.outcome.as_str(),
        duration_ms = step.duration_ms,
        detail = %step.detail,
        retries = ?step.retries,
        "step"
    );
}

pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A report whose containment failed, turned into the function's error so that Lambda retries
/// the event and, after the retries, the failure destination receives it.
#[derive(Debug, thiserror::Error)]
#[error("containment failed for {resource} (case {case}): {report}")]
pub struct ContainmentFailed {
    pub resource: String,
    pub case: String,
    pub report: serde_json::Value,
}

impl Report {
    /// The handler's result: the report as JSON, or an error when containment failed.
    pub fn into_result(self) -> Result<serde_json::Value, ContainmentFailed> {
        if self.outcome == Outcome::Failed {
            Err(ContainmentFailed {
                resource: self.resource.clone(),
                case: self.case_id.clone().unwrap_or_default(),
                report: self.to_json(),
            })
        } else {
            Ok(self.to_json())
        }
    }
}
