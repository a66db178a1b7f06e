//! release: undo a case. From the case ledger (the resource tags as the fallback), each ENI goes
//! back to its groups, the instance profile, target groups, Auto Scaling group and termination
//! settings come back, the ports' revoked rules are authorized again, and — only when asked —
//! Firebreak's deny policies are removed and the disabled keys made active. Evidence stays.
//!
//! `request` (the event → what to release), `observe` (the case and the resources now), `plan`
//! (the pure `decide`), `action`, `execute`; the engine runs the plan, the ledger marks the case
//! released (once, conditionally: a second release is refused).

pub mod action;
pub mod answer;
pub mod execute;
pub mod forensic;
pub mod lambda;
pub mod observe;
pub mod plan;
pub mod request;
pub mod task;

use std::time::{Instant, SystemTime};

use thiserror::Error;

pub use action::{Phase, ReleaseAction};
pub use plan::{decide, Choices, InstanceNow, ReleaseFacts};
pub use request::{validate_case_id, ReleaseRequest};

use crate::accounts::{AccountError, Accounts};
use crate::aws::cases as ledger;
use crate::aws::AwsError;
use crate::cases::{Case, CaseState, Entry};
use crate::deadline::Deadline;
use crate::engine::config::{CommonConfig, ConfigError};
use crate::engine::report::{millis, timestamp};
use crate::engine::{self, FunctionError, Report, StepOutcome};
use crate::events::EventError;
use crate::quarantine::QuarantineConfig;

pub const FUNCTION: &str = "release";

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReleaseConfig {
    /// `cases_table` is required: a release starts from the case. `dry_run` plans only.
    pub common: CommonConfig,
    /// Firebreak's isolation group name: an ENI is put back only from there.
    pub isolation_group_name: String,
}

impl ReleaseConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let quarantine = QuarantineConfig::from_env()?;
        Ok(Self { common: quarantine.common, isolation_group_name: quarantine.isolation_group_name })
    }
}

#[derive(Debug, Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("no case ledger: set FIREBREAK_CASES_TABLE (a release starts from the case)")]
    NoLedger,
    #[error("case {0} is not in the ledger")]
    UnknownCase(String),
    #[error("case {case_id} was already released by {by} at {at}: nothing changed")]
    AlreadyReleased { case_id: String, by: String, at: String },
    #[error("case {case_id} is {state}: Firebreak changed nothing to release")]
    NotContained { case_id: String, state: String },
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("could not read: {0}")]
    Read(#[from] AwsError),
}

impl From<ReleaseError> for FunctionError {
    fn from(error: ReleaseError) -> Self {
        if let ReleaseError::Account(e) = error {
            return e.into();
        }
        let kind = match &error {
            ReleaseError::Event(_) => "InvalidEvent",
            ReleaseError::NoLedger => "InvalidConfig",
            ReleaseError::UnknownCase(_) => "ResourceNotFound",
            ReleaseError::AlreadyReleased { .. } => "AlreadyReleased",
            ReleaseError::NotContained { .. } => "NotContained",
            ReleaseError::Account(_) => "AccountNotAllowed",
            ReleaseError::Read(_) => "AwsCallFailed",
        };
        FunctionError::new(kind, error)
    }
}

/// Reads a case from the ledger, refusing one that cannot be released.
pub async fn releasable_case(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    case_id: &str,
) -> Result<Case, ReleaseError> {
    validate_case_id(case_id)?;
    let item = ledger::get(dynamodb, table, case_id).await?.ok_or_else(|| ReleaseError::UnknownCase(case_id.into()))?;
    let case = Case::from_item(&item).ok_or_else(|| ReleaseError::UnknownCase(case_id.into()))?;
    match CaseState::parse(&case.state) {
        Some(CaseState::Released) => Err(ReleaseError::AlreadyReleased {
            case_id: case_id.into(),
            by: case.released_by.clone().unwrap_or_default(),
            at: case.released_at.clone().unwrap_or_default(),
        }),
        Some(state) if CaseState::RELEASABLE.contains(&state) => Ok(case),
        _ => Err(ReleaseError::NotContained { case_id: case_id.into(), state: case.state.clone() }),
    }
}

/// Releases one case: read it, read the resources in the case's account and region (through the
/// member role there), decide, run, and mark the case released when every step succeeded.
pub async fn release_case(
    accounts: &Accounts,
    config: &ReleaseConfig,
    request: &ReleaseRequest,
    deadline: Deadline,
) -> Result<Report, ReleaseError> {
    let clock = Instant::now();
    let table = config.common.cases_table.as_deref().ok_or(ReleaseError::NoLedger)?;
    let dynamodb = &accounts.home().dynamodb;
    let case = releasable_case(dynamodb, table, &request.case_id).await?;
    let signal = case.signal.clone().unwrap_or_default();
    let account = accounts.clients_for(&case.account, &case.region, &case.case_id).await?;
    let facts = observe::observe(&account.clients, &case, &config.isolation_group_name).await?;
    let now = timestamp(SystemTime::now());
    let choices = Choices {
        case_id: case.case_id.clone(),
        credentials: request.credentials,
        released_by: request.requested_by.clone(),
        now: now.clone(),
    };
    let mut plan = decide(&case.case_id, &facts, &choices);
    let functions = lambda::observe(&account.clients, &case).await?;
    plan.steps.extend(lambda::steps(&functions, &choices));

    let mut report = Report::new(FUNCTION, signal, &case.resource, config.common.dry_run);
    report.case_id = Some(case.case_id.clone());
    let executor = execute::Executor { clients: &account.clients };
    engine::run(&plan, &executor, deadline, &mut report).await;
    report.duration_ms = millis(clock.elapsed());
    if report.dry_run {
        return Ok(report);
    }
    if report.steps.iter().any(|s| s.outcome == StepOutcome::Failed) {
        report.reason = Some("not every step succeeded: the case stays open; run the release again".into());
        return Ok(report);
    }
    let set = [
        ("released_by", request.requested_by.clone()),
        ("released_at", now),
        ("release_reason", request.reason.clone()),
    ];
    let from: Vec<&str> = CaseState::RELEASABLE.iter().map(|s| s.as_str()).collect();
    let entry = Entry::release(&report, &request.requested_by).to_json();
    let marked = ledger::release(dynamodb, table, &case.case_id, &from, &set, &entry).await?;
    report.reason = Some(if marked {
        format!("released by {}: {}", request.requested_by, request.reason)
    } else {
        "a concurrent release marked the case first".into()
    });
    Ok(report)
}
