//! What a function did, step by step: returned by the handler as JSON, logged one line per step.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_ec2::primitives::{DateTime, DateTimeFormat};

use serde::Serialize;

use super::signal::Signal;

/// RFC 3339 UTC time, as AWS writes it.
pub fn timestamp(at: SystemTime) -> String {
    DateTime::from(at).fmt(DateTimeFormat::DateTime).unwrap_or_else(|_| "unknown".into())
}

pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
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
    /// Attempts AWS answered with a throttling error.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled: u32,
    /// When the step ended (it ran; not set for a step planned, skipped or held back): the
    /// metrics time containment by it.
    #[serde(skip)]
    pub ended_at: Option<SystemTime>,
    /// A failure of this step means the threat is not contained.
    #[serde(skip)]
    pub containment: bool,
    /// What the step recorded before its change (`firebreak:` keys, as on the resource's tags).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub recorded: BTreeMap<String, String>,
    /// The resource carrying the record, when not `resource`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_on: Option<String>,
    /// What AWS was not ready for yet (a snapshot still pending): a later run does it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<String>,
}

impl StepReport {
    pub fn new(
        step: &'static str,
        resource: impl Into<String>,
        outcome: StepOutcome,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            step,
            resource: resource.into(),
            outcome,
            detail: detail.into(),
            duration_ms: 0,
            retries: Vec::new(),
            throttled: 0,
            ended_at: None,
            containment: false,
            recorded: BTreeMap::new(),
            recorded_on: None,
            waiting: Vec::new(),
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every step done or already in place.
    Contained,
    /// Contained, but a later step (snapshot, tag, ...) failed: see the steps.
    ContainedWithErrors,
    /// Containment itself failed: the threat may still be active.
    Failed,
    /// Nothing to do: see `reason`.
    Skipped,
    /// Dry run: the steps are what would be done.
    Planned,
    /// A function that contains nothing (an audit) ran every step.
    Completed,
    /// It ran, but some steps failed: see the steps.
    CompletedWithErrors,
    /// The response policy asks a human first: the plan is in the case, nothing was changed.
    PendingApproval,
    /// The response policy says observe: the plan is in the case, nothing was changed.
    Observed,
}

impl Outcome {
    /// The one rule. A dry run planned; a failed containment step failed the whole; any other
    /// failed step leaves the result with errors; otherwise contained (or completed, for a
    /// capability that contains nothing).
    pub fn of(steps: &[StepReport], contains: bool, dry_run: bool) -> Self {
        let failed =
            |containment: bool| steps.iter().any(|s| s.outcome == StepOutcome::Failed && s.containment == containment);
        match (dry_run, failed(true), failed(false), contains) {
            (true, ..) => Self::Planned,
            (false, true, ..) => Self::Failed,
            (false, false, true, true) => Self::ContainedWithErrors,
            (false, false, true, false) => Self::CompletedWithErrors,
            (false, false, false, true) => Self::Contained,
            (false, false, false, false) => Self::Completed,
        }
    }

    /// Of two outcomes (one event acting on several resources), the one that needs attention most.
    pub fn worst(self, other: Self) -> Self {
        let rank = |o: Self| match o {
            Self::Skipped => 0,
            Self::Observed => 1,
            Self::Planned | Self::PendingApproval => 2,
            Self::Contained | Self::Completed => 3,
            Self::ContainedWithErrors | Self::CompletedWithErrors => 4,
            Self::Failed => 5,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }

    /// The same outcome, as one step of a plan that ran this one nested inside it.
    pub fn as_step(self) -> StepOutcome {
        match self {
            Self::Contained | Self::ContainedWithErrors | Self::Completed | Self::CompletedWithErrors => {
                StepOutcome::Done
            }
            Self::Failed => StepOutcome::Failed,
            Self::Skipped | Self::Observed => StepOutcome::Skipped,
            Self::Planned | Self::PendingApproval => StepOutcome::Planned,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contained => "contained",
            Self::ContainedWithErrors => "contained_with_errors",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Planned => "planned",
            Self::Completed => "completed",
            Self::CompletedWithErrors => "completed_with_errors",
            Self::PendingApproval => "pending_approval",
            Self::Observed => "observed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub function: &'static str,
    pub case_id: Option<String>,
    pub signal: Signal,
    /// The resource the function acted on (an instance, a principal, groups, the account).
    pub resource: String,
    pub dry_run: bool,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub steps: Vec<StepReport>,
    pub started_at: String,
    pub duration_ms: u64,
    /// Runtime Monitoring: the process the finding names, and its lineage (bounded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<crate::events::runtime::ProcessSummary>,
    /// The response policy's decision (rule and why), when a policy is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyNote>,
}

/// The response policy's decision as a report carries it (`approval` fills it in): its mode, the
/// rule that matched, and why, in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyNote {
    pub mode: &'static str,
    /// `3 "production needs approval"`; none: the default mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub because: String,
    /// The settings the rule's `overrides` changed for this plan (`stop_instance false`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
}

impl Report {
    /// An empty report about one signal, started now; the outcome starts as skipped.
    pub fn new(function: &'static str, signal: Signal, resource: impl Into<String>, dry_run: bool) -> Self {
        Self {
            function,
            case_id: None,
            signal,
            resource: resource.into(),
            dry_run,
            outcome: Outcome::Skipped,
            reason: None,
            steps: Vec::new(),
            started_at: timestamp(SystemTime::now()),
            duration_ms: 0,
            process: None,
            policy: None,
        }
    }

    /// Nothing done, and why: logged once, so a skip is never silent.
    pub fn skipped(mut self, why: impl std::fmt::Display) -> Self {
        let why = why.to_string();
        tracing::info!(signal_id = %self.signal.id, resource = %self.resource, reason = %why, "skipped");
        self.reason = Some(why);
        self
    }

    pub fn step(&self, name: &str) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.step == name)
    }

    pub fn steps_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a StepReport> + 'a {
        self.steps.iter().filter(move |s| s.step == name)
    }

    /// Takes in the report of another resource of the same signal: every step, the worst outcome.
    pub fn absorb(&mut self, other: Report) {
        self.resource = format!("{},{}", self.resource, other.resource);
        self.case_id = self.case_id.take().or(other.case_id);
        self.steps.extend(other.steps);
        self.duration_ms += other.duration_ms;
        self.reason = match (self.reason.take(), other.reason) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        self.outcome = self.outcome.worst(other.outcome);
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self)
            .unwrap_or_else(|e| serde_json::json!({ "error": format!("report not serialisable: {e}") }))
    }

    /// The handler's result: the report as JSON, or an error when containment failed, so that
    /// Lambda retries the event and, after the retries, the failure destination receives it.
    pub fn into_result(self) -> Result<serde_json::Value, super::FunctionError> {
        if self.outcome == Outcome::Failed {
            super::metrics::emit(&self);
            Err(super::FunctionError::containment_failed(&self.resource, self.case_id.as_deref(), &self.steps))
        } else {
            Ok(self.into_json())
        }
    }

    /// The finished report as the handler returns it, its metrics written (see [`super::metrics`]).
    pub fn into_json(self) -> serde_json::Value {
        super::metrics::emit(&self);
        self.to_json()
    }
}

/// Writes the one JSON log line of a finished step.
pub fn log_step(case_id: &str, signal_id: &str, step: &StepReport) {
    tracing::info!(
        case_id,
        signal_id,
        step = step.step,
        resource = %step.resource,
        outcome = step.outcome.as_str(),
        duration_ms = step.duration_ms,
        detail = %step.detail,
        retries = ?step.retries,
        "step"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(outcome: StepOutcome, containment: bool) -> StepReport {
        StepReport { containment, ..StepReport::new("s", "r", outcome, "") }
    }

    #[test]
    fn one_rule_for_every_outcome() {
        let done = step(StepOutcome::Done, true);
        let other_failed = step(StepOutcome::Failed, false);
        let containment_failed = step(StepOutcome::Failed, true);
        assert_eq!(Outcome::of(std::slice::from_ref(&done), true, false), Outcome::Contained);
        assert_eq!(Outcome::of(std::slice::from_ref(&done), false, false), Outcome::Completed);
        assert_eq!(Outcome::of(&[done.clone(), other_failed.clone()], true, false), Outcome::ContainedWithErrors);
        assert_eq!(Outcome::of(std::slice::from_ref(&other_failed), false, false), Outcome::CompletedWithErrors);
        assert_eq!(Outcome::of(&[other_failed, containment_failed.clone()], true, false), Outcome::Failed);
        assert_eq!(Outcome::of(&[containment_failed], true, true), Outcome::Planned);
        assert_eq!(Outcome::Skipped.worst(Outcome::ContainedWithErrors), Outcome::ContainedWithErrors);
        assert_eq!(Outcome::Failed.worst(Outcome::Contained), Outcome::Failed);
        assert_eq!(Outcome::Skipped.worst(Outcome::Observed), Outcome::Observed);
        assert_eq!(Outcome::Observed.worst(Outcome::PendingApproval), Outcome::PendingApproval);
    }
}
