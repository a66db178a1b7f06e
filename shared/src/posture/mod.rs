//! audit-posture: check every account it may act in (see [`organization`]) against the incident playbook's hardening list, and report
//! each gap as an ASFF finding in Security Hub and in the run's JSON report. Changes nothing else.
//!
//! `checks` (the list), `config`, `observe` (the reads, each once), `evaluate` (pure: facts →
//! gaps), `findings` (pure: gaps → ASFF findings and resolutions), `action` (the steps and the
//! plan), `execute` (how each step is carried out); the engine runs the plan. Each gap has a
//! deterministic finding id, so the next run updates the same finding, and a finding whose gap is
//! gone is imported again as ARCHIVED / PASSED / RESOLVED. A check that could not be read neither
//! reports a gap nor resolves one: an AccessDenied is not a fix.

pub mod action;
pub mod checks;
pub mod config;
pub mod evaluate;
pub mod execute;
pub mod findings;
pub mod observe;
pub mod organization;

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

pub use action::{plan, Phase, PostureAction};
pub use checks::{finding_id, Check, Source, GENERATOR_PREFIX};
pub use config::{PostureConfig, ACCESS_KEY_MAX_AGE_DAYS, ACCESS_KEY_UNUSED_DAYS};
pub use evaluate::{evaluate, gaps_of, Gap};
pub use findings::{gap_finding, resolved_finding, to_import, Import};
pub use observe::{AccessKeyFacts, AccountSummary, AlarmFacts, GroupFacts, Observer, PostureFacts, UserFacts};
pub use organization::{accounts_to_audit, audit_organization, AccountFailure, OrganizationReport};

use crate::aws::Clients;
use crate::deadline::Deadline;
use crate::engine::report::timestamp;
use crate::engine::{self, FunctionError, Report, Signal};
use crate::events::{schedule, EventError, ScheduledEvent};

pub const FUNCTION: &str = "audit-posture";

const READS_CUT_OFF: &str =
    "cut off at the Lambda deadline while reading the account: nothing imported; the next run starts over";

#[derive(Debug, Error)]
pub enum PostureError {
    #[error(transparent)]
    Event(#[from] EventError),
}

impl From<PostureError> for FunctionError {
    fn from(error: PostureError) -> Self {
        match error {
            PostureError::Event(e) => e.into(),
        }
    }
}

/// The run's report: the steps (one per check, then the Security Hub ones), every gap and every
/// finding resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostureReport {
    #[serde(flatten)]
    pub report: Report,
    pub gaps: Vec<Gap>,
    pub resolved: Vec<String>,
}

impl PostureReport {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self)
            .unwrap_or_else(|e| serde_json::json!({ "error": format!("report not serialisable: {e}") }))
    }
}

/// Runs the audit for a scheduled event: read and evaluate every check, import the gaps, resolve
/// the closed ones. When the deadline cuts the reads, nothing is imported and the next run starts
/// over; the report says which checks were cut off.
pub async fn audit_posture(
    clients: &Clients,
    config: &PostureConfig,
    event: &ScheduledEvent,
    deadline: Deadline,
) -> Result<PostureReport, PostureError> {
    let started = SystemTime::now();
    let now_secs = started.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let signal = Signal {
        source: schedule::SOURCE.into(),
        kind: schedule::DETAIL_TYPE.into(),
        id: event.id.clone(),
        account: event.account_id.clone(),
        region: event.region.clone(),
        delivered_by: None,
        time: None,
    };
    let resource = format!("account {} in {}", event.account_id, event.region);
    let mut report = Report::new(FUNCTION, signal, resource, config.common.dry_run);
    let observer = Observer::new(clients, &event.account_id, &event.region);
    let executor = execute::Executor::new(clients, config, observer, timestamp(started), now_secs);
    engine::run(&plan(event), &executor, deadline, &mut report).await;

    let (gaps, _) = executor.observer.with_facts(|facts| evaluate(facts, config, now_secs));
    let resolved = executor.resolved();
    report.reason = Some(match &resolved {
        // The import never started: the deadline came during the reads.
        None => READS_CUT_OFF.to_string(),
        Some(resolved) => format!("{} gap(s), {} resolved", gaps.len(), resolved.len()),
    });
    Ok(PostureReport { report, gaps, resolved: resolved.unwrap_or_default() })
}
