//! A case as read back from the ledger: its header, state, entries, and everything its steps
//! recorded, per resource (what a release restores from).

use std::collections::BTreeMap;

use serde::Serialize;

use super::entry::{Entry, EntryKind};
use crate::aws::cases::{text, texts, Item};
use crate::engine::{Outcome, Signal};

/// Where a case stands: open while a delivery acts (or after one crashed: its redelivery
/// finishes), then the outcome of its last delivery, until a release closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseState {
    Open,
    Outcome(Outcome),
    Released,
    /// A human (or `approve_within` with `on_timeout: contain`) approved; the delivery acts.
    Approved,
    /// A human rejected: closed, nothing changed.
    Rejected,
}

impl CaseState {
    pub fn of(outcome: Outcome) -> Self {
        Self::Outcome(outcome)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Outcome(outcome) => outcome.as_str(),
            Self::Released => "released",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let outcomes = [
            Outcome::Contained,
            Outcome::ContainedWithErrors,
            Outcome::Failed,
            Outcome::Skipped,
            Outcome::Planned,
            Outcome::Completed,
            Outcome::CompletedWithErrors,
            Outcome::PendingApproval,
            Outcome::Observed,
        ];
        [Self::Open, Self::Released, Self::Approved, Self::Rejected]
            .into_iter()
            .chain(outcomes.map(Self::Outcome))
            .find(|s| s.as_str() == text)
    }

    /// The states a release may start from: something was (or may have been) changed.
    pub const RELEASABLE: [Self; 6] = [
        Self::Open,
        Self::Approved,
        Self::Outcome(Outcome::Contained),
        Self::Outcome(Outcome::ContainedWithErrors),
        Self::Outcome(Outcome::Failed),
        Self::Outcome(Outcome::Completed),
    ];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    pub case_id: String,
    pub state: String,
    pub function: String,
    pub resource: String,
    pub account: String,
    pub region: String,
    pub signal: Option<Signal>,
    pub created_at: String,
    pub updated_at: String,
    pub owner: String,
    pub triggered_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_reason: Option<String>,
    /// Who approved or rejected a pending case, when, and why (a rejection's reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_reason: Option<String>,
    /// The event that set the pending case off, as received (bounded): what an approval re-plans from.
    #[serde(skip)]
    pub trigger: Option<String>,
    /// The pending case's `approve_within` schedule, and what its timeout does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<String>,
    /// The function holding a pending case, as it was invoked: where an answer goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_arn: Option<String>,
    pub entries: Vec<Entry>,
    pub entries_dropped: u64,
}

impl Case {
    pub fn from_item(item: &Item) -> Option<Self> {
        let get = |name: &str| text(item, name).unwrap_or_default();
        let signal = text(item, "signal_json").and_then(|s| serde_json::from_str::<Signal>(&s).ok());
        Some(Self {
            case_id: text(item, "case_id")?,
            state: get("state"),
            function: get("function"),
            resource: get("resource"),
            account: get("account"),
            region: get("region"),
            signal,
            created_at: get("created_at"),
            updated_at: get("updated_at"),
            owner: get("owner"),
            triggered_by: get("triggered_by"),
            released_by: text(item, "released_by"),
            released_at: text(item, "released_at"),
            release_reason: text(item, "release_reason"),
            answered_by: text(item, "answered_by"),
            answered_at: text(item, "answered_at"),
            answer_reason: text(item, "answer_reason"),
            trigger: text(item, "trigger_json"),
            schedule: text(item, "schedule_name"),
            on_timeout: text(item, "on_timeout"),
            function_arn: text(item, "function_arn").filter(|a| !a.is_empty()),
            entries: texts(item, "entries").iter().filter_map(|e| serde_json::from_str(e).ok()).collect(),
            entries_dropped: item
                .get("entries_dropped")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        })
    }

    /// Everything the case's steps recorded, per resource (ENI, instance, group, principal),
    /// earliest first: a later delivery never overwrites what an earlier one recorded.
    pub fn recorded(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut recorded: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for entry in self.entries.iter().filter(|e| e.kind == EntryKind::Outcome) {
            for step in &entry.steps {
                let on = step.recorded_on.clone().unwrap_or_else(|| step.resource.clone());
                let resource = recorded.entry(on).or_default();
                for (key, value) in &step.recorded {
                    resource.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
        }
        recorded.retain(|_, r| !r.is_empty());
        recorded
    }

    /// The steps of every outcome entry, in order (what was done, for `firebreak show`).
    pub fn steps(&self) -> impl Iterator<Item = &super::entry::EntryStep> {
        self.entries.iter().filter(|e| e.kind != EntryKind::Plan).flat_map(|e| e.steps.iter())
    }
}
