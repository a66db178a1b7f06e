//! Quarantine: cut an instance off, keep its evidence, and record everything a release needs.
//!
//! `request` (the signal → what to quarantine, triage), `observe` (the reads), `plan` (the pure
//! `decide`), `action` (the steps and their phases), `execute` (how each is carried out); the
//! engine runs the plan.

pub mod action;
pub mod config;
pub mod execute;
pub mod observe;
pub mod plan;
pub mod request;

use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use thiserror::Error;

pub use action::{Action, Phase};
pub use config::QuarantineConfig;
pub use observe::{observe, Observed};
pub use plan::{
    decide, untracking_group_name, FoundGroup, InstanceFacts, InterfaceFacts, QuarantineDecision, QuarantinePlan,
    VpcGroups,
};
pub use request::{triage, QuarantineRequest, SkipReason};

use crate::attempts::recording_retries;
use crate::aws::isolation::IsolationGroupIds;
use crate::aws::{AwsError, Clients};
use crate::cases::{self, Ledger};
use crate::deadline::Deadline;
use crate::engine::report::{log_step, millis, timestamp};
use crate::engine::{Decision, FunctionError, Report, StepOutcome, StepReport};
use crate::events::runtime::ProcessSummary;
use crate::events::{EventError, GuardDutyFinding};

pub const FUNCTION: &str = "quarantine-instance";

#[derive(Debug, Error)]
pub enum QuarantineError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("instance {instance_id} does not exist in account {account_id} region {region}")]
    InstanceNotFound { instance_id: String, account_id: String, region: String },
    #[error("could not read the instance: {0}")]
    Read(#[from] AwsError),
    #[error("the Lambda deadline came before the instance could be read; nothing was changed")]
    DeadlineBeforeRead,
}

impl From<QuarantineError> for FunctionError {
    fn from(error: QuarantineError) -> Self {
        let kind = match &error {
            QuarantineError::Event(_) => "InvalidEvent",
            QuarantineError::InstanceNotFound { .. } => "ResourceNotFound",
            QuarantineError::Read(_) => "AwsCallFailed",
            QuarantineError::DeadlineBeforeRead => "DeadlineExceeded",
        };
        FunctionError::new(kind, error)
    }
}

/// Quarantines the instance a GuardDuty finding names, unless triage says to leave it (sample,
/// low severity, TARGET role), which the report then explains.
pub async fn quarantine_finding(
    clients: &Clients,
    config: &QuarantineConfig,
    finding: &GuardDutyFinding,
    deadline: Deadline,
) -> Result<Report, QuarantineError> {
    let request = QuarantineRequest::from_finding(finding)?;
    if let Some(skip) = triage(finding, config)? {
        return Ok(empty_report(&request, config).skipped(skip));
    }
    quarantine_with(clients, config, &request, finding.runtime_process(), None, deadline).await
}

fn empty_report(request: &QuarantineRequest, config: &QuarantineConfig) -> Report {
    Report::new(FUNCTION, request.signal.clone(), &request.instance_id, config.common.dry_run)
}

/// Quarantines one instance, as a case of the ledger when there is one. Returns a report in every
/// case the function could act on, including a partial one when the deadline comes first; an
/// error only when the instance cannot be read (unknown id, AWS refusing the reads, no time left).
pub async fn quarantine(
    clients: &Clients,
    config: &QuarantineConfig,
    request: &QuarantineRequest,
    ledger: Option<&Ledger>,
    deadline: Deadline,
) -> Result<Report, QuarantineError> {
    quarantine_with(clients, config, request, None, ledger, deadline).await
}

/// [`quarantine`], with the process a Runtime Monitoring finding names, which goes into the
/// report and every entry of the case.
pub async fn quarantine_with(
    clients: &Clients,
    config: &QuarantineConfig,
    request: &QuarantineRequest,
    process: Option<ProcessSummary>,
    ledger: Option<&Ledger>,
    deadline: Deadline,
) -> Result<Report, QuarantineError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut report = empty_report(request, config);
    report.process = process;
    let config = &*crate::approval::settings_for(config, &mut report);
    let (observed, read_retries) = recording_retries(deadline.run(Box::pin(observe(clients, config, request)))).await;
    let observed = observed.ok_or(QuarantineError::DeadlineBeforeRead)??;
    let plan = match decide(request, &observed.facts, &observed.groups, config, &timestamp(started)) {
        Decision::Skip(skip) => {
            let mut report = report.skipped(skip);
            cases::record_skip(ledger, &mut report).await;
            report.duration_ms = millis(clock.elapsed());
            return Ok(report);
        }
        Decision::Act(plan) => plan,
    };
    let mut read = StepReport::new("read_instance", &request.instance_id, StepOutcome::Done, observed.summary());
    read.duration_ms = millis(clock.elapsed());
    read.retries = read_retries;
    log_step(&plan.case_id, &request.signal.id, &read);
    report.steps.push(read);
    let executor = execute::Executor {
        clients,
        config,
        group_ids: Mutex::new(
            observed
                .groups
                .iter()
                .filter_map(|(vpc, g)| {
                    Some((
                        vpc.clone(),
                        IsolationGroupIds {
                            isolation: g.isolation.as_ref()?.group_id.clone(),
                            untracking: g.untracking.as_ref().map(|u| u.group_id.clone()),
                        },
                    ))
                })
                .collect(),
        ),
    };
    report.duration_ms = millis(clock.elapsed());
    cases::run_recorded(ledger, &plan, &executor, deadline, &mut report).await;
    Ok(report)
}
