//! close-open-ports: find the ingress rules that expose administrative and data ports to the
//! whole internet, and revoke exactly those, by security group rule id.
//!
//! `trigger` (the event → which groups, triage), `observe` (the reads), `plan` (the pure
//! `decide`), `action` (the steps and their phases), `execute` (how each is carried out), `config`;
//! the engine runs the plan.

pub mod action;
pub mod config;
pub mod execute;
pub mod observe;
pub mod plan;
pub mod trigger;

use std::time::{Instant, SystemTime};

use thiserror::Error;

pub use action::{Phase, PortsAction, Replacement};
pub use config::{PortsConfig, ALLOWED_CIDRS};
pub use observe::observe;
pub use plan::{decide, plan_group, PortsDecision, PortsPlan, PortsSkip};
pub use trigger::{PortsTrigger, FINDING_TYPES};

// The rule logic and the reads live in `exposure` and `aws::security_groups`, shared with
// audit-posture; named here too for the callers that still look for them here.
pub use crate::aws::security_groups::read_groups;
pub use crate::exposure::{
    admin_ports, exposing_ports, exposing_rules, ExposingRule, GroupFacts, IngressRule, ADMIN_PORTS,
    DEFAULT_ADMIN_PORTS,
};

use crate::accounts::{AccountError, Accounts};
use crate::attempts::recording_retries;
use crate::aws::AwsError;
use crate::case::case_id_for;
use crate::cases::{self, Ledger};
use crate::deadline::Deadline;
use crate::engine::report::{log_step, millis, timestamp};
use crate::engine::{Action, Decision, FunctionError, Outcome, Report, StepOutcome, StepReport};
use crate::events::EventError;

pub const FUNCTION: &str = "close-open-ports";
/// On a group: every rule Firebreak revoked, as `<protocol> <from>-<to> <cidr>` items (restorable
/// with AuthorizeSecurityGroupIngress), spilling into `:2`, `:3`... like every Firebreak list tag.
pub const REVOKED_INGRESS_TAG: &str = "firebreak:revoked-ingress";
pub const PORTS_CLOSED_AT_TAG: &str = "firebreak:ports-closed-at";

/// The step that reads the groups: reported with its retries, and failed when the deadline cut it.
const READ_STEP: &str = "read_security_groups";
const CUT_OFF_BEFORE_READ: &str =
    "cut off at the Lambda deadline before the groups were read: nothing changed; a retry starts over";

#[derive(Debug, Error)]
pub enum PortsError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(
        "instance {0} has no network interfaces: it does not exist (or no longer does) in this account and region"
    )]
    InstanceNotFound(String),
    #[error("could not read the security groups: {0}")]
    Read(#[from] AwsError),
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<PortsError> for FunctionError {
    fn from(error: PortsError) -> Self {
        if let PortsError::Account(e) = error {
            return e.into();
        }
        let kind = match &error {
            PortsError::Event(_) => "InvalidEvent",
            PortsError::InstanceNotFound(_) => "ResourceNotFound",
            PortsError::Read(_) => "AwsCallFailed",
            PortsError::Account(_) => "AccountNotAllowed",
        };
        FunctionError::new(kind, error)
    }
}

/// Runs close-open-ports for one trigger, in the account and region it is about: triage, read,
/// decide, and the engine carries the plan out (or only reports it, in a dry run). A report in
/// every case it could act on, a partial one when the deadline comes first; an error only when
/// the account cannot be acted in or the groups cannot be read.
pub async fn close_open_ports(
    accounts: &Accounts,
    config: &PortsConfig,
    trigger: &PortsTrigger,
    deadline: Deadline,
) -> Result<Report, PortsError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let signal = trigger.signal();
    let mut report = Report::new(FUNCTION, signal.clone(), trigger.resource(), config.common.dry_run);
    let ledger = Ledger::of(accounts.home(), config.common.cases_table.as_deref(), &signal.source);
    let finish = |mut report: Report| async {
        cases::record_skip(ledger.as_ref(), &mut report).await;
        report.duration_ms = millis(clock.elapsed());
        Ok(report)
    };
    if let Some(skip) = trigger.triage(&config.common) {
        return finish(report.skipped(skip)).await;
    }
    let account = accounts.clients_for_signal(&signal, &case_id_for(&signal.id)).await?;
    let clients = &account.clients;

    let (read, retries) = recording_retries(deadline.run(Box::pin(observe(&clients.ec2, trigger)))).await;
    let read_step = |outcome, detail: String| StepReport {
        duration_ms: millis(clock.elapsed()),
        retries: retries.clone(),
        containment: true,
        ..StepReport::new(READ_STEP, trigger.resource(), outcome, detail)
    };
    let groups = match read {
        None => {
            // Nothing changed, and the run must not look finished: failed, so Lambda retries it.
            let case_id = case_id_for(&signal.id);
            let step = read_step(StepOutcome::Failed, CUT_OFF_BEFORE_READ.into());
            log_step(&case_id, &signal.id, &step);
            report.case_id = Some(case_id);
            report.steps.push(step);
            report.outcome = Outcome::of(&report.steps, PortsAction::CONTAINS, report.dry_run);
            report.reason = Some(CUT_OFF_BEFORE_READ.into());
            return finish(report).await;
        }
        Some(Err(PortsError::Read(e))) if e.is_code("InvalidGroup.NotFound") => {
            return finish(report.skipped(PortsSkip::GroupGone { message: e.message })).await;
        }
        Some(read) => read?,
    };

    let plan = match decide(&signal, &groups, config, &timestamp(started)) {
        Decision::Skip(skip) => return finish(report.skipped(skip)).await,
        Decision::Act(plan) => plan,
    };
    let read = read_step(StepOutcome::Done, format!("{} security group(s) read", groups.len()));
    log_step(&plan.case_id, &signal.id, &read);
    report.steps.push(read);
    report.duration_ms = millis(clock.elapsed());
    let executor = execute::Executor { ec2: &clients.ec2 };
    cases::run_recorded(ledger.as_ref(), &plan, &executor, deadline, &mut report).await;
    Ok(report)
}
