//! One delivery's entry in a case: its plan, or its outcome with every step and what each step
//! recorded. Bounded, so that a case item stays far below DynamoDB's 400 KB: a huge plan is
//! summarised (and says so), never cut silently.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::report::timestamp;
use crate::engine::{Action, Plan, Report};

/// Entries per case: a redelivery storm beyond this only counts (`entries_dropped`).
pub const MAX_ENTRIES: usize = 40;
/// Steps (or plan lines) kept per entry, and characters per detail.
pub const MAX_STEPS: usize = 60;
pub const MAX_DETAIL: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Written before acting: what will be done.
    Plan,
    /// Written after: what was done.
    Outcome,
    /// A release of the case.
    Release,
    /// The answer to a case pending approval: approved, rejected, or its `approve_within` timeout.
    Answer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: EntryKind,
    pub at: String,
    pub function: String,
    /// The invocation that wrote it.
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<EntryStep>,
    /// Set when steps or plan lines were left out: how many, and that the report has them all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summarised: Option<String>,
    /// Runtime Monitoring: the process the finding names (bounded by `ProcessSummary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<crate::events::runtime::ProcessSummary>,
    /// The response policy's decision, in words (`rule 3 "…": account …, tag env=prod`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryStep {
    pub step: String,
    pub resource: String,
    pub outcome: String,
    pub detail: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub recorded: BTreeMap<String, String>,
    /// The resource carrying the record, when not `resource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_on: Option<String>,
}

fn bounded(text: &str) -> String {
    if text.chars().count() <= MAX_DETAIL {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX_DETAIL - 1).collect();
    cut.push('…');
    cut
}

impl Entry {
    fn new(kind: EntryKind, report: &Report, by: &str) -> Self {
        Self {
            kind,
            at: timestamp(std::time::SystemTime::now()),
            function: report.function.to_string(),
            by: by.to_string(),
            outcome: None,
            reason: None,
            plan: Vec::new(),
            steps: Vec::new(),
            summarised: None,
            process: report.process.clone(),
            policy: report.policy.as_ref().map(|p| bounded(&p.because)),
        }
    }

    /// An answer to a pending case: who, what (`approved`, `rejected`, `timed_out`), and why.
    pub fn answered(function: &str, by: &str, verdict: &str, reason: Option<&str>) -> Self {
        Self {
            kind: EntryKind::Answer,
            at: timestamp(std::time::SystemTime::now()),
            function: function.to_string(),
            by: bounded(by),
            outcome: Some(verdict.to_string()),
            reason: reason.map(bounded),
            plan: Vec::new(),
            steps: Vec::new(),
            summarised: None,
            process: None,
            policy: None,
        }
    }

    /// The plan, one line per step, before anything is done.
    pub fn plan<A: Action>(report: &Report, plan: &Plan<A>, by: &str) -> Self {
        let mut entry = Self::new(EntryKind::Plan, report, by);
        let lines: Vec<String> = plan
            .steps
            .iter()
            .map(|s| match &s.skip {
                Some(why) => bounded(&format!("{}: skip ({why})", s.action.name())),
                None => bounded(&format!("{}: {}", s.action.name(), s.action)),
            })
            .collect();
        if lines.len() > MAX_STEPS {
            entry.summarised = Some(format!("{} of {} plan lines kept", MAX_STEPS, lines.len()));
        }
        entry.plan = lines.into_iter().take(MAX_STEPS).collect();
        entry
    }

    /// The outcome: every step (bounded) and what it recorded. Steps that recorded something are
    /// always kept, whatever the bound: a release needs them.
    pub fn outcome(report: &Report, by: &str) -> Self {
        let mut entry = Self::new(EntryKind::Outcome, report, by);
        entry.outcome = serde_json::to_value(report.outcome).ok().and_then(|v| v.as_str().map(str::to_string));
        entry.reason = report.reason.as_deref().map(bounded);
        let total = report.steps.len();
        let (recording, rest): (Vec<_>, Vec<_>) = report.steps.iter().partition(|s| !s.recorded.is_empty());
        let room = MAX_STEPS.saturating_sub(recording.len());
        let kept: Vec<_> = recording.into_iter().chain(rest.into_iter().take(room)).collect();
        if kept.len() < total {
            entry.summarised =
                Some(format!("{} of {total} steps kept; the function's report has them all", kept.len()));
        }
        entry.steps = kept
            .into_iter()
            .map(|s| EntryStep {
                step: s.step.to_string(),
                resource: s.resource.clone(),
                outcome: s.outcome.as_str().to_string(),
                detail: bounded(&s.detail),
                recorded: s.recorded.clone(),
                recorded_on: s.recorded_on.clone(),
            })
            .collect();
        entry
    }

    /// A release: who, why, and each restoring step.
    pub fn release(report: &Report, by: &str) -> Self {
        Self { kind: EntryKind::Release, ..Self::outcome(report, by) }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Signal, StepOutcome, StepReport};

    #[test]
    fn a_huge_outcome_is_summarised_and_keeps_every_record() {
        let mut report = Report::new("quarantine-instance", Signal::default(), "i-1", false);
        for n in 0..500 {
            let mut step = StepReport::new("tag_instance", format!("i-{n}"), StepOutcome::Done, "x".repeat(5000));
            if n % 100 == 0 {
                step.recorded.insert("firebreak:original-groups".into(), format!("sg-{n}"));
            }
            report.steps.push(step);
        }
        let entry = Entry::outcome(&report, "run-1");
        assert_eq!(entry.steps.len(), MAX_STEPS);
        assert_eq!(entry.steps.iter().filter(|s| !s.recorded.is_empty()).count(), 5, "every record kept");
        assert!(entry.summarised.as_deref().unwrap().contains("of 500 steps"));
        assert!(entry.steps.iter().all(|s| s.detail.chars().count() <= MAX_DETAIL));
        assert!(entry.to_json().len() < 40_000, "{}", entry.to_json().len());
        let back: Entry = serde_json::from_str(&entry.to_json()).unwrap();
        assert_eq!(back, entry);
    }
}
