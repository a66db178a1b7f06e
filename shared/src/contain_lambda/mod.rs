//! contain-lambda: a GuardDuty Lambda Protection finding in (`resourceType` `Lambda`); the
//! function stopped, its execution role's sessions revoked, the function tagged with the case, a
//! report out. Nothing is deleted: the code, versions and logs stay as evidence.
//!
//! Same shape as the quarantine: `request` (the finding → a [`LambdaRequest`], triage),
//! `observe` (the reads), `plan` (the actions and the pure [`decide`]), `execute`; the engine
//! runs the plan, the case ledger records it before it acts.
//!
//! # What is done, in order
//! 1. **Contain**, side by side: the function's reserved concurrency before the case is recorded
//!    (tag `firebreak:reserved-concurrency-before`, a number or `none`, with `firebreak:case`, then
//!    the case), then `PutFunctionConcurrency` 0: no invocation runs. The execution role gets
//!    Firebreak's session-revoking policy (`aws:TokenIssueTime` deny, as revoke-credentials does
//!    for a role): credentials the function (or whoever stole them) holds stop working.
//! 2. **Preserve**: the function is tagged with the case, the finding id and type.
//!
//! A release puts the concurrency back (or deletes the reservation when there was none) and,
//! when asked for credentials, removes the policy.

pub mod config;
pub mod execute;
pub mod observe;
pub mod plan;
pub mod request;

use std::time::{Instant, SystemTime};

use aws_sdk_ec2::primitives::DateTime;
use thiserror::Error;

pub use config::ContainLambdaConfig;
pub use plan::{decide, LambdaAction, LambdaFacts, LambdaPhase, LambdaPlan, RoleFacts};
pub use request::{triage, LambdaRequest, LambdaSkip};

use crate::accounts::{AccountError, Accounts};
use crate::aws::AwsError;
use crate::case::case_id_for;
use crate::cases::{self, Ledger};
use crate::deadline::Deadline;
use crate::engine::report::millis;
use crate::engine::{Decision, FunctionError, Report};
use crate::events::{EventError, GuardDutyFinding};

pub const FUNCTION: &str = "contain-lambda";

#[derive(Debug, Error)]
pub enum ContainLambdaError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("Lambda function {function_name} does not exist in account {account_id}")]
    FunctionNotFound { function_name: String, account_id: String },
    #[error("could not read: {0}")]
    Read(#[from] AwsError),
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<ContainLambdaError> for FunctionError {
    fn from(error: ContainLambdaError) -> Self {
        if let ContainLambdaError::Account(e) = error {
            return e.into();
        }
        let kind = match &error {
            ContainLambdaError::Event(_) => "InvalidEvent",
            ContainLambdaError::FunctionNotFound { .. } => "ResourceNotFound",
            ContainLambdaError::Read(_) => "AwsCallFailed",
            ContainLambdaError::Account(_) => "AccountNotAllowed",
        };
        FunctionError::new(kind, error)
    }
}

/// The one entry point: triage, then read, decide and act in the finding's account.
pub async fn contain_lambda(
    accounts: &Accounts,
    config: &ContainLambdaConfig,
    finding: &GuardDutyFinding,
    deadline: Deadline,
) -> Result<Report, ContainLambdaError> {
    let common = &config.common;
    let ledger = Ledger::of(accounts.home(), common.cases_table.as_deref(), crate::events::guardduty::SOURCE);
    let ledger = ledger.as_ref();
    finding.about_lambda()?;
    // Sample findings name placeholder functions: skipped before their names are checked.
    if let Some(skip) = triage(common, finding) {
        let name = finding.resource.lambda_details.as_ref().and_then(|d| d.function_name.clone());
        let resource = plan::function_resource(&name.unwrap_or_default());
        let mut report = Report::new(FUNCTION, finding.signal(), resource, common.dry_run).skipped(skip);
        cases::record_skip(ledger, &mut report).await;
        return Ok(report);
    }
    let request = LambdaRequest::from_finding(finding)?;
    accounts.check_delivery(&request.signal).await?;
    let mut report = contain(accounts, config, &request, ledger, deadline).await?;
    cases::record_skip(ledger, &mut report).await;
    Ok(report)
}

async fn contain(
    accounts: &Accounts,
    config: &ContainLambdaConfig,
    request: &LambdaRequest,
    ledger: Option<&Ledger>,
    deadline: Deadline,
) -> Result<Report, ContainLambdaError> {
    let clock = Instant::now();
    let mut report = Report::new(
        FUNCTION,
        request.signal.clone(),
        plan::function_resource(&request.function.function_name),
        config.common.dry_run,
    );
    let account = accounts.clients_for_signal(&request.signal, &case_id_for(&request.signal.id)).await?;
    let member_role = &accounts.config().member_role_name;
    let facts = observe::observe(&account.clients, request, member_role).await?;
    let plan = match decide(request, &facts, &config.common, DateTime::from(SystemTime::now())) {
        Decision::Skip(skip) => {
            report.duration_ms = millis(clock.elapsed());
            return Ok(report.skipped(skip));
        }
        Decision::Act(plan) => plan,
    };
    report.duration_ms = millis(clock.elapsed());
    let executor = execute::Executor { clients: &account.clients };
    cases::run_recorded(ledger, &plan, &executor, deadline, &mut report).await;
    Ok(report)
}
