//! What a responding function did about one event, and how it is told: the JSON it returns, the
//! Lambda error when containment failed, and the text an SNS subscriber reads.

use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;

use super::abuse::addresses::ResolvedAddress;
use super::abuse::traffic::{human_bytes, TopTalker};
use crate::engine::report::timestamp;
use crate::engine::{FunctionError, Outcome, Report, Signal, StepOutcome, StepReport};

/// What a function did about one event: a report per instance, what could not be resolved, and
/// the follow-up (Security Hub, SNS).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    pub function: &'static str,
    pub signal: Signal,
    pub case_id: Option<String>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub reports: Vec<Report>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<ResolvedAddress>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<Unresolved>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub top_talkers: Vec<TopTalker>,
    /// Targets that could not be acted on at all (account refused, instance unknown, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The kind of the first error, for the Lambda error type.
    #[serde(skip)]
    pub error_kind: Option<&'static str>,
    pub follow_up: Vec<StepReport>,
    pub dry_run: bool,
    pub started_at: String,
    pub duration_ms: u64,
}

/// Why an entity or a finding led to no quarantine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unresolved {
    pub entity: String,
    pub reason: String,
}

impl Response {
    pub(crate) fn new(function: &'static str, signal: Signal) -> Self {
        Self {
            function,
            signal,
            case_id: None,
            outcome: Outcome::Skipped,
            reason: None,
            reports: Vec::new(),
            resolved: Vec::new(),
            unresolved: Vec::new(),
            top_talkers: Vec::new(),
            errors: Vec::new(),
            error_kind: None,
            follow_up: Vec::new(),
            dry_run: false,
            started_at: timestamp(SystemTime::now()),
            duration_ms: 0,
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self)
            .unwrap_or_else(|e| serde_json::json!({ "error": format!("response not serialisable: {e}") }))
    }

    /// The handler's result: the response, or an error when containment failed or a target could
    /// not be acted on, so that Lambda retries the event and then its failure destination gets it.
    pub fn into_result(self) -> Result<Value, FunctionError> {
        crate::engine::metrics::emit(&self.as_report());
        if self.outcome != Outcome::Failed {
            return Ok(self.to_json());
        }
        if let Some(failed) = self.reports.iter().find(|r| r.outcome == Outcome::Failed) {
            return Err(FunctionError::containment_failed(&failed.resource, failed.case_id.as_deref(), &failed.steps));
        }
        let first = self.errors.first().map(String::as_str).unwrap_or("no target could be acted on");
        Err(FunctionError::new(
            self.error_kind.unwrap_or("ContainmentFailed"),
            format!("{first} ({} error(s))", self.errors.len().max(1)),
        ))
    }

    /// The whole response as one report (every instance's steps and the follow-up), for the metrics.
    pub fn as_report(&self) -> Report {
        let resources: Vec<&str> = self.reports.iter().map(|r| r.resource.as_str()).collect();
        Report {
            function: self.function,
            case_id: self.case_id.clone(),
            signal: self.signal.clone(),
            resource: resources.join(","),
            dry_run: self.dry_run,
            outcome: self.outcome,
            reason: self.reason.clone(),
            steps: self
                .reports
                .iter()
                .flat_map(|r| r.steps.iter().cloned())
                .chain(self.follow_up.iter().cloned())
                .collect(),
            started_at: self.started_at.clone(),
            duration_ms: self.duration_ms,
            process: self.reports.iter().find_map(|r| r.process.clone()),
            policy: self.reports.iter().find_map(|r| r.policy.clone()),
        }
    }

    /// Records a target that could not be acted on at all.
    pub(crate) fn error(&mut self, error: FunctionError) {
        self.error_kind.get_or_insert(error.kind);
        self.errors.push(error.message);
    }

    /// The outcome is the worst of the reports' (a target that could not be acted on fails it);
    /// the case and the reason are the reports' own.
    pub(crate) fn finish(&mut self) {
        let worst = self.reports.iter().fold(Outcome::Skipped, |worst, r| worst.worst(r.outcome));
        self.outcome = if self.errors.is_empty() { worst } else { Outcome::Failed };
        if self.case_id.is_none() {
            self.case_id = self.reports.iter().find_map(|r| r.case_id.clone());
        }
        if self.reason.is_none() && self.outcome == Outcome::Skipped {
            self.reason = self.reports.iter().find_map(|r| r.reason.clone());
        }
    }

    /// Whether any instance was quarantined (or planned to be).
    pub(super) fn acted(&self) -> bool {
        // A plan held for approval was announced by its own request (`approval::notice`).
        self.reports.iter().any(|r| r.case_id.is_some() && r.outcome != Outcome::PendingApproval)
    }

    pub fn subject(&self) -> String {
        let instances: Vec<&str> =
            self.reports.iter().filter(|r| r.case_id.is_some()).map(|r| r.resource.as_str()).collect();
        format!(
            "Firebreak {}: {} in {}{}",
            outcome_words(self.outcome),
            self.signal.kind,
            self.signal.account,
            if instances.is_empty() { String::new() } else { format!(" ({})", instances.join(", ")) }
        )
    }

    /// The human-readable summary sent to SNS: what came in, what was done, what was not.
    pub fn summary(&self) -> String {
        let mut lines = vec![
            format!(
                "Firebreak {} — {}{}",
                self.function,
                outcome_words(self.outcome),
                if self.dry_run { " (DRY RUN: nothing was changed)" } else { "" }
            ),
            format!("Signal: {} ({}) from {}", self.signal.kind, self.signal.id, self.signal.source),
            format!("Account {} region {}", self.signal.account, self.signal.region),
        ];
        if let Some(case) = &self.case_id {
            lines.push(format!("Case: {case}"));
        }
        if let Some(reason) = &self.reason {
            lines.push(format!("Reason: {reason}"));
        }
        for report in &self.reports {
            lines.push(format!("- {} in {}: {}", report.resource, report.signal.account, report_line(report)));
        }
        for resolved in &self.resolved {
            lines.push(
                format!("- {} is the {:?} address of {}", resolved.ip, resolved.kind, resolved.instance_id)
                    .to_lowercase(),
            );
        }
        for unresolved in &self.unresolved {
            lines.push(format!("- {}: not acted on — {}", unresolved.entity, unresolved.reason));
        }
        if !self.top_talkers.is_empty() {
            lines.push("Most outbound traffic (NetworkOut):".into());
            for talker in &self.top_talkers {
                lines.push(format!("  {}  {}", talker.instance_id, human_bytes(talker.network_out_bytes)));
            }
        }
        for error in &self.errors {
            lines.push(format!("! {error}"));
        }
        lines.join("\n")
    }
}

pub(super) fn outcome_words(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Contained => "contained",
        Outcome::ContainedWithErrors => "contained, with errors",
        Outcome::Failed => "FAILED",
        Outcome::Skipped => "no action",
        Outcome::Planned => "planned",
        Outcome::Completed => "completed",
        Outcome::CompletedWithErrors => "completed, with errors",
        Outcome::PendingApproval => "pending approval",
        Outcome::Observed => "observed",
    }
}

/// One instance's report in a line: what was done, what failed, the snapshots taken.
pub(super) fn report_line(report: &Report) -> String {
    if let Some(reason) = &report.reason {
        return format!("{} — {reason}", outcome_words(report.outcome));
    }
    let done: Vec<&str> = report.steps.iter().filter(|s| s.outcome == StepOutcome::Done).map(|s| s.step).collect();
    let failed: Vec<String> = report
        .steps
        .iter()
        .filter(|s| s.outcome == StepOutcome::Failed)
        .map(|s| format!("{} ({})", s.step, s.detail))
        .collect();
    let snapshots: Vec<&str> = report
        .steps_named("snapshot_volumes")
        .filter(|s| s.outcome == StepOutcome::Done)
        .map(|s| s.detail.as_str())
        .collect();
    let mut line = format!("{} (case {})", outcome_words(report.outcome), report.case_id.clone().unwrap_or_default());
    if !done.is_empty() {
        let mut unique: Vec<&str> = Vec::new();
        for step in done {
            if !unique.contains(&step) {
                unique.push(step);
            }
        }
        line.push_str(&format!("; done: {}", unique.join(", ")));
    } else if report.outcome != Outcome::Planned {
        line.push_str("; everything was already in place");
    }
    if !snapshots.is_empty() {
        line.push_str(&format!("; {}", snapshots.join("; ")));
    }
    if !failed.is_empty() {
        line.push_str(&format!("; FAILED: {}", failed.join(", ")));
    }
    line
}
