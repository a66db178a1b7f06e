//! Snapshots still pending after a quarantine: the first follow-up is scheduled with the
//! response's follow-up, and the scheduled invocation copies what has completed since, then
//! schedules the next attempt while sources remain pending ([`crate::disk_evidence::follow_up`]).

use std::sync::Mutex;
use std::time::SystemTime;

use serde_json::Value;

use super::{Response, Settings};
use crate::accounts::Accounts;
use crate::attempts::timed_step;
use crate::aws::cases as ledger;
use crate::aws::scheduler::{self, OneTime};
use crate::cases::{Case, CaseState, Entry, Ledger};
use crate::deadline::Deadline;
use crate::disk_evidence::follow_up::{EvidenceFollowUp, FollowUpSchedule, MAX_ATTEMPTS, SCHEDULE_STEP};
use crate::engine::report::log_step;
use crate::engine::{self, FunctionError, Outcome, Report, StepOutcome, StepReport};
use crate::quarantine::execute::Executor;

/// The step whose pending sources a follow-up copies.
const COPY_STEP: &str = "copy_snapshots_to_forensic_account";

/// After a quarantine: one follow-up per instance whose copy left sources pending.
pub(super) async fn schedule_pending_copies(accounts: &Accounts, settings: &Settings, response: &mut Response) {
    let Some(schedule) = &settings.quarantine.disk_evidence.follow_up else { return };
    let pending: Vec<EvidenceFollowUp> = response
        .reports
        .iter()
        .filter(|report| waiting_copy(report).is_some())
        .filter_map(|report| {
            Some(EvidenceFollowUp::first(report.case_id.as_deref()?, &report.signal, &report.resource))
        })
        .collect();
    for follow_up in pending {
        let step = schedule_follow_up(accounts, schedule, &follow_up).await;
        log_step(&follow_up.case_id, &response.signal.id, &step);
        response.follow_up.push(step);
    }
}

/// The copy step of a report, when it ran and left sources waiting.
fn waiting_copy(report: &Report) -> Option<&StepReport> {
    report.step(COPY_STEP).filter(|step| !step.waiting.is_empty())
}

/// The function's answer to `{"evidence_followup": …}`, if the event is one (a malformed one is
/// refused before any call); `None` for any other event.
pub async fn follow_up_event(
    accounts: &Accounts,
    settings: &Settings,
    function: &'static str,
    event: &Value,
    deadline: Deadline,
) -> Option<Result<Value, FunctionError>> {
    let follow_up = match EvidenceFollowUp::from_event(event) {
        Ok(follow_up) => follow_up?,
        Err(error) => return Some(Err(error.into())),
    };
    Some(copy_pending_snapshots(accounts, settings, function, &follow_up, deadline).await.into_result())
}

/// `{"evidence_followup": …}`: the copy step alone, then the next attempt if sources are still
/// pending. The case's state is left as it is; a released case is not followed up.
pub async fn copy_pending_snapshots(
    accounts: &Accounts,
    settings: &Settings,
    function: &'static str,
    follow_up: &EvidenceFollowUp,
    deadline: Deadline,
) -> Response {
    let config = &settings.quarantine;
    let mut response = Response::new(function, follow_up.signal());
    response.dry_run = config.common.dry_run;
    response.case_id = Some(follow_up.case_id.clone());
    let mut report = Report::new(function, follow_up.signal(), &follow_up.instance_id, config.common.dry_run);
    let Some(plan) = follow_up.plan(config) else {
        response.reason =
            Some("no forensic target is configured here (FIREBREAK_FORENSIC_KMS_KEY): nothing to copy".into());
        return response;
    };
    let ledger =
        Ledger::of(accounts.home(), config.common.cases_table.as_deref(), "aws.scheduler (evidence follow-up)");
    if let Some(state) = closed_state(ledger.as_ref(), &follow_up.case_id).await {
        response.reason = Some(format!("case {} is {state}: its snapshots are not followed up", follow_up.case_id));
        return response;
    }
    let account = match accounts.clients_for(&follow_up.account, &follow_up.region, &follow_up.case_id).await {
        Ok(account) => account,
        Err(error) => {
            response.error(FunctionError::from(error));
            response.finish();
            return response;
        }
    };
    let executor = Executor { clients: &account.clients, config, group_ids: Mutex::default() };
    engine::run(&plan, &executor, deadline, &mut report).await;
    report.outcome = Outcome::of(&report.steps, false, report.dry_run);
    let copy = report.step(COPY_STEP).cloned();
    // Only a follow-up that changed something, failed or gave up is written to the case: the
    // original plan recorded this step, and up to 48 attempts would crowd the case's entries.
    let gave_up = copy.as_ref().is_some_and(|c| !c.waiting.is_empty()) && follow_up.next().is_none();
    if let (Some(ledger), Some(copy)) = (&ledger, &copy) {
        if copy.outcome != StepOutcome::Skipped || gave_up {
            if let Err(error) = ledger.append(&report, &Entry::outcome(&report, &ledger.owner), None).await {
                crate::cases::record_failed(&mut report, &error);
            }
        }
    }
    match &copy {
        Some(step) if step.outcome == StepOutcome::Failed => {
            response.error(FunctionError::new("AwsCallFailed", format!("{}: {}", step.resource, step.detail)));
        }
        Some(step) if !step.waiting.is_empty() && !report.dry_run => match (follow_up.next(), &config.disk_evidence.follow_up) {
            (Some(next), Some(schedule)) => response.follow_up.push(schedule_follow_up(accounts, schedule, &next).await),
            (Some(_), None) => {
                response.reason = Some("still pending; FIREBREAK_SCHEDULE_GROUP is not set here: no further follow-up".into())
            }
            (None, _) => {
                response.reason = Some(format!(
                    "still pending after {MAX_ATTEMPTS} follow-ups: no further attempt; run `firebreak quarantine {}` once the snapshots complete",
                    follow_up.instance_id
                ))
            }
        },
        _ => {}
    }
    response.reports.push(report);
    response.finish();
    response
}

/// Released or rejected: what a follow-up leaves alone. A case the ledger does not hold (its
/// write failed) is followed up: the snapshots' own tags name the case.
async fn closed_state(ledger: Option<&Ledger>, case_id: &str) -> Option<String> {
    let ledger = ledger?;
    let item = ledger::get(&ledger.dynamodb, &ledger.table, case_id).await.ok()??;
    let case = Case::from_item(&item)?;
    matches!(CaseState::parse(&case.state), Some(CaseState::Released | CaseState::Rejected)).then_some(case.state)
}

/// Creates the one-time schedule of a follow-up (a redelivery's is the same, by its name).
async fn schedule_follow_up(
    accounts: &Accounts,
    schedule: &FollowUpSchedule,
    follow_up: &EvidenceFollowUp,
) -> StepReport {
    let name = follow_up.schedule_name();
    timed_step(SCHEDULE_STEP, &name, || async {
        let target_arn = accounts
            .invoked_function_arn()
            .ok_or_else(|| "the function's own ARN is unknown: no follow-up scheduled".to_string())?;
        let at = SystemTime::now() + schedule.every;
        let one_time = OneTime {
            group: schedule.group.clone(),
            name: name.clone(),
            at,
            target_arn,
            role_arn: schedule.role_arn.clone(),
            input: follow_up.input(),
        };
        scheduler::create_one_time(&accounts.home().scheduler, &one_time)
            .await
            .map(|()| {
                format!(
                    "follow-up {} of {MAX_ATTEMPTS} {}: copies the snapshots of {} that have completed by then",
                    follow_up.attempt,
                    scheduler::at_expression(at),
                    follow_up.instance_id
                )
            })
            .map_err(|e| e.to_string())
    })
    .await
}
