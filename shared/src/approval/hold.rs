//! The gate every plan passes in `cases::run_recorded`, after the capability's own triage (so the
//! exemption tag stays the strongest rule): the policy's mode decides whether the plan runs.

use std::time::SystemTime;

use super::context::{note, Context};
use super::notice;
use crate::aws::cases::{self as ledger, CaseWrite, Opened, Pending};
use crate::aws::scheduler::{self, OneTime};
use crate::cases::{record_failed, Entry, Ledger};
use crate::engine::{Action, Outcome, Plan, Report};
use crate::response_policy::{Mode, OnTimeout, PolicyDecision};

/// The stored event is what an approval re-plans from; far below DynamoDB's 400 KB item.
pub const MAX_TRIGGER: usize = 64 * 1024;

/// Applies the policy to the plan: false when the plan is to run (contain, a dry run, or no
/// policy); true when it was held (observed, pending approval) and the report says so.
pub(crate) async fn hold<A: Action>(ledger: Option<&Ledger>, plan: &Plan<A>, report: &mut Report) -> bool {
    let Some(context) = Context::current() else {
        return false;
    };
    let decision = context.decision_for(report);
    let mode = decision.mode;
    // The overrides were applied, and noted, when the plan was made (`settings_for`).
    let overrides = report.policy.take().map(|note| note.overrides).unwrap_or_default();
    report.policy = Some(note(&decision, overrides));
    // A dry run changes nothing whatever the mode: it shows the plan, and the policy's decision.
    if report.dry_run {
        return false;
    }
    report.case_id = Some(plan.case_id.clone());
    match mode {
        Mode::Contain => return false,
        Mode::Observe => observe(ledger, plan, report, &decision).await,
        Mode::Approve => pending(&context, ledger, plan, report, &decision).await,
    }
    true
}

async fn observe<A: Action>(ledger: Option<&Ledger>, plan: &Plan<A>, report: &mut Report, decision: &PolicyDecision) {
    report.outcome = Outcome::Observed;
    report.reason = Some(format!("observed, nothing was changed: {}", decision.because));
    let Some(ledger) = ledger else {
        return;
    };
    let entry = Entry::plan(report, plan, &ledger.owner);
    match ledger.append(report, &entry, None).await {
        Ok(ledger::Written::Refused { state }) => {
            report.outcome = Outcome::Skipped;
            report.reason = Some(format!("case {} is {state}: a redelivery does not open it again", plan.case_id));
            return;
        }
        Ok(_) => {}
        Err(error) => record_failed(report, &error),
    }
    ledger.close(report).await;
}

async fn pending<A: Action>(
    context: &Context,
    ledger: Option<&Ledger>,
    plan: &Plan<A>,
    report: &mut Report,
    decision: &PolicyDecision,
) {
    let Some(ledger) = ledger else {
        report.outcome = Outcome::Skipped;
        report.reason = Some(format!(
            "{}: an approval needs the case ledger (FIREBREAK_CASES_TABLE); nothing was changed",
            decision.because
        ));
        return;
    };
    report.outcome = Outcome::PendingApproval;
    let timeout = match (decision.approve_within, &context.approvals.schedules) {
        (Some(within), Some(schedules)) => Some((within, schedules, decision.on_timeout.unwrap_or(OnTimeout::Contain))),
        _ => None,
    };
    let schedule_name = format!("firebreak-{}", plan.case_id);
    let trigger = context.trigger.to_string();
    let entry = Entry::plan(report, plan, &ledger.owner);
    let pending = Pending {
        trigger: if trigger.len() <= MAX_TRIGGER { trigger } else { String::new() },
        because: decision.because.clone(),
        function_arn: context.function_arn.clone(),
        schedule: timeout.map(|(_, _, on)| (schedule_name.clone(), on_timeout_str(on).to_string())),
    };
    let write = CaseWrite { function: context.function.to_string(), ..ledger.case_write(report, &entry, None) };
    match ledger::open_pending(&ledger.dynamodb, &ledger.table, &write, &pending).await {
        Ok(Opened::New) => {
            report.reason = Some(format!("pending approval, nothing was changed: {}", decision.because));
            let steps = notice::notify(context, report, &entry.plan, timeout.map(|(w, _, on)| (w, on))).await;
            report.steps.extend(steps);
            if let Some((within, schedules, _)) = timeout {
                let schedule = OneTime {
                    group: schedules.group.clone(),
                    name: schedule_name,
                    at: SystemTime::now() + within,
                    target_arn: context.function_arn.clone(),
                    role_arn: schedules.role_arn.clone(),
                    input: serde_json::json!({ "approval_timeout": { "case_id": plan.case_id } }).to_string(),
                };
                let step = crate::attempts::timed_step("schedule_approval_timeout", &schedule.name, || async {
                    if schedule.target_arn.is_empty() {
                        return Err("the function's own ARN is unknown: no timeout scheduled".to_string());
                    }
                    scheduler::create_one_time(&schedules.scheduler, &schedule)
                        .await
                        .map(|()| format!("{} in group {}", scheduler::at_expression(schedule.at), schedule.group))
                        .map_err(|e| e.to_string())
                })
                .await;
                report.steps.push(step);
            }
        }
        Ok(Opened::Joined) => {
            report.reason = Some(format!("pending approval, nothing was changed: {}", decision.because));
        }
        Ok(Opened::Exists { state }) if state == Outcome::PendingApproval.as_str() => {
            report.reason =
                Some(format!("case {} is already pending approval: a redelivery asks no one again", plan.case_id));
        }
        Ok(Opened::Exists { state }) => {
            report.outcome = Outcome::Skipped;
            report.reason =
                Some(format!("case {} is {state}: a redelivery of its signal does not act again", plan.case_id));
        }
        Err(error) => {
            record_failed(report, &error);
            report.outcome = Outcome::Failed;
            report.reason =
                Some("the case could not be held for approval: nothing was changed, no one was asked".into());
        }
    }
}

pub(super) fn on_timeout_str(on: OnTimeout) -> &'static str {
    match on {
        OnTimeout::Contain => "contain",
        OnTimeout::Observe => "observe",
    }
}
