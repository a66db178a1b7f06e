//! quarantine-task: a GuardDuty Runtime Monitoring finding on an ECS task, or an
//! `AttackSequence:ECS/...`, turned into each task's isolation. An `awsvpc` task's ENI goes to its
//! VPC's isolation group exactly as an instance's does (the quarantine's steps: recorded,
//! untracked, restorable by `release`); the task is protected from scale-in and tagged with the
//! case, and stopped only when `FIREBREAK_STOP_TASK` says so.
//!
//! `request`, `observe`, `plan` (pure `decide`), `action`, `execute`, as for the quarantine.

pub mod action;
pub mod config;
pub mod execute;
pub mod observe;
pub mod plan;
pub mod request;

use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use futures::stream::{self, StreamExt};
use serde_json::Value;
use thiserror::Error;

pub use action::{Phase, TaskAction};
pub use config::TaskConfig;
pub use plan::decide;
pub use request::{SkipReason, TaskRequest};

use crate::accounts::{AccountError, Accounts};
use crate::attempts::recording_retries;
use crate::aws::isolation::IsolationGroupIds;
use crate::aws::{AwsError, Clients};
use crate::case::case_id_for;
use crate::cases::{self, Ledger};
use crate::deadline::Deadline;
use crate::engine::report::{log_step, millis, timestamp};
use crate::engine::{Decision, FunctionError, Report, StepOutcome, StepReport};
use crate::events::{EventError, GuardDutyFinding};
use crate::respond::{Response, Unresolved};

pub const FUNCTION: &str = "quarantine-task";
/// Tasks isolated at once (each mostly waits on ECS and EC2), as for a sequence's instances.
const CONCURRENCY: usize = 4;

#[derive(Debug, Error)]
pub enum TaskError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("task {task_arn} is not in cluster {cluster} of account {account_id}")]
    TaskNotFound { task_arn: String, cluster: String, account_id: String },
    #[error("could not read the task: {0}")]
    Read(#[from] AwsError),
    #[error("the Lambda deadline came before the task could be read; nothing was changed")]
    DeadlineBeforeRead,
}

impl From<TaskError> for FunctionError {
    fn from(error: TaskError) -> Self {
        let kind = match &error {
            TaskError::Event(_) => "InvalidEvent",
            TaskError::Account(_) => "AccountNotAllowed",
            TaskError::TaskNotFound { .. } => "ResourceNotFound",
            TaskError::Read(_) => "AwsCallFailed",
            TaskError::DeadlineBeforeRead => "DeadlineExceeded",
        };
        match error {
            TaskError::Event(e) => e.into(),
            TaskError::Account(e) => e.into(),
            e => FunctionError::new(kind, e),
        }
    }
}

/// Parses and checks the event with no AWS call: a GuardDuty finding naming ECS tasks.
pub fn parse(event: &Value) -> Result<GuardDutyFinding, EventError> {
    let finding = crate::events::ocsf::native_or_imported(event, &crate::events::ecs::RESOURCE_TYPES)?;
    finding.ecs_tasks()?;
    Ok(finding)
}

/// Isolates every task the finding names, each in the finding's account and region, each its own
/// report; a sequence's tasks share its case.
pub async fn respond(
    accounts: &Accounts,
    config: &TaskConfig,
    finding: &GuardDutyFinding,
    deadline: Deadline,
) -> Response {
    let clock = Instant::now();
    let mut response = Response::new(FUNCTION, finding.signal());
    response.dry_run = config.quarantine.common.dry_run;
    let (requests, left) = match request::requests(finding) {
        Ok(found) => found,
        Err(error) => {
            response.error(TaskError::from(error).into());
            response.finish();
            return response;
        }
    };
    response.unresolved = left.into_iter().map(|(entity, reason)| Unresolved { entity, reason }).collect();
    let runs = requests.iter().map(|request| async move {
        (request, Box::pin(respond_one(accounts, config, finding, request, deadline)).await)
    });
    for (request, result) in stream::iter(runs).buffered(CONCURRENCY).collect::<Vec<_>>().await {
        match result {
            Ok(report) => response.reports.push(report),
            Err(error) => {
                let error = FunctionError::from(error);
                response.error(FunctionError::new(error.kind, format!("{}: {}", request.task.task_arn, error.message)));
            }
        }
    }
    response.finish();
    response.duration_ms = millis(clock.elapsed());
    response
}

async fn respond_one(
    accounts: &Accounts,
    config: &TaskConfig,
    finding: &GuardDutyFinding,
    request: &TaskRequest,
    deadline: Deadline,
) -> Result<Report, TaskError> {
    let common = &config.quarantine.common;
    let ledger = Ledger::of(accounts.home(), common.cases_table.as_deref(), &request.signal.source);
    if let Some(skip) = request::triage(finding, config)? {
        let mut report = empty_report(request, config).skipped(skip);
        cases::record_skip(ledger.as_ref(), &mut report).await;
        return Ok(report);
    }
    let account = accounts.clients_for_signal(&request.signal, &case_id_for(&request.signal.id)).await?;
    isolate(&account.clients, config, request, ledger.as_ref(), deadline).await
}

fn empty_report(request: &TaskRequest, config: &TaskConfig) -> Report {
    let mut report =
        Report::new(FUNCTION, request.signal.clone(), &request.task.task_arn, config.quarantine.common.dry_run);
    report.process = request.process.clone();
    report
}

/// Isolates one task, as a case of the ledger when there is one: read, decide, run.
pub async fn isolate(
    clients: &Clients,
    config: &TaskConfig,
    request: &TaskRequest,
    ledger: Option<&Ledger>,
    deadline: Deadline,
) -> Result<Report, TaskError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut report = empty_report(request, config);
    let config = &*crate::approval::settings_for(config, &mut report);
    let group_name = &config.quarantine.isolation_group_name;
    let (observed, read_retries) =
        recording_retries(deadline.run(Box::pin(observe::observe(clients, group_name, request)))).await;
    let observed = observed.ok_or(TaskError::DeadlineBeforeRead)??;
    let plan = match decide(request, &observed.facts, &observed.groups, config, &timestamp(started)) {
        Decision::Skip(skip) => {
            let mut report = report.skipped(skip);
            cases::record_skip(ledger, &mut report).await;
            report.duration_ms = millis(clock.elapsed());
            return Ok(report);
        }
        Decision::Act(plan) => plan,
    };
    let mut read = StepReport::new("read_task", &request.task.task_arn, StepOutcome::Done, observed.summary());
    read.duration_ms = millis(clock.elapsed());
    read.retries = read_retries;
    log_step(&plan.case_id, &request.signal.id, &read);
    report.steps.push(read);
    let known: std::collections::BTreeMap<String, IsolationGroupIds> = observed
        .groups
        .iter()
        .filter_map(|(vpc, g)| {
            let ids = IsolationGroupIds {
                isolation: g.isolation.as_ref()?.group_id.clone(),
                untracking: g.untracking.as_ref().map(|u| u.group_id.clone()),
            };
            Some((vpc.clone(), ids))
        })
        .collect();
    let executor = execute::Executor { clients, isolation_group_name: group_name, group_ids: Mutex::new(known) };
    report.duration_ms = millis(clock.elapsed());
    cases::run_recorded(ledger, &plan, &executor, deadline, &mut report).await;
    Ok(report)
}
