//! Quarantining the targets: each instance once, in its own account and region, through the one
//! quarantine plan; then the follow-up.

use std::collections::BTreeSet;
use std::time::Instant;

use futures::stream::{self, StreamExt};

use super::follow_up::follow_up;
use super::{RespondError, Response, Settings};
use crate::accounts::Accounts;
use crate::aws::securityhub::FindingRef;
use crate::case::case_id_for;
use crate::cases::{self, Ledger};
use crate::deadline::Deadline;
use crate::engine::report::millis;
use crate::engine::{FunctionError, Outcome, Report};
use crate::events::GuardDutyFinding;
use crate::quarantine::{self, QuarantineRequest};

/// One instance to quarantine, and where the request came from.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub request: QuarantineRequest,
    /// A GuardDuty finding (native or from Security Hub) goes through triage first.
    pub finding: Option<GuardDutyFinding>,
    /// The Security Hub finding to update afterwards.
    pub origin: Option<FindingRef>,
}

impl Target {
    /// An instance a signal names outright: no finding to triage, no finding to update.
    pub fn instance(request: QuarantineRequest) -> Self {
        Self { request, finding: None, origin: None }
    }
}

/// Quarantines every target (each instance once), then writes back and notifies.
pub(super) async fn quarantine_all(
    accounts: &Accounts,
    settings: &Settings,
    response: &mut Response,
    targets: Vec<Target>,
    deadline: Deadline,
) {
    let clock = Instant::now();
    response.dry_run = settings.quarantine.common.dry_run;
    let mut seen = BTreeSet::new();
    let targets: Vec<Target> = targets
        .into_iter()
        .filter(|t| {
            seen.insert((
                t.request.signal.account.clone(),
                t.request.signal.region.clone(),
                t.request.instance_id.clone(),
            ))
        })
        .collect();
    let function = response.function;
    let mut updates: Vec<(FindingRef, Report)> = Vec::new();
    for (target, result) in quarantine_bounded(accounts, settings, &targets, deadline).await {
        match result {
            Ok(mut report) => {
                report.function = function;
                // A held plan's finding was noted by its approval request (`approval::notice`).
                if let (Some(origin), false) = (&target.origin, report.outcome == Outcome::PendingApproval) {
                    updates.push((origin.clone(), report.clone()));
                }
                response.reports.push(report);
            }
            Err(error) => {
                let error = FunctionError::from(error);
                response.error(FunctionError::new(
                    error.kind,
                    format!("{}: {}", target.request.instance_id, error.message),
                ));
            }
        }
    }
    response.finish();
    // Boxed: the quarantine and follow-up futures are large, and Lambda's stack is not.
    Box::pin(follow_up(accounts, settings, response, updates)).await;
    response.duration_ms = millis(clock.elapsed());
}

/// Instances quarantined at once: an attack sequence names up to 100, one Lambda invocation has one
/// deadline, and each quarantine is mostly waiting on EC2. EC2's throttling no longer argues for a
/// small bound: a throttled call waits for its bucket to refill (`aws::throttle`), and the
/// isolation moves are the calls that get the tokens first. Any bound below the sequence's size
/// makes the last instances wait for the whole plans (snapshots included) of the first ones:
/// measured, 17 s instead of 10 to isolate 50 instances (docs/performance.md, "The burst").
const CONCURRENCY: usize = crate::events::sequence::MAX_SEQUENCE_INSTANCES;

/// Quarantines the targets, at most [`CONCURRENCY`] at once, in order.
///
/// Instances in one VPC share its isolation group, which the first quarantine there creates.
/// Quarantines racing to create it are safe (`ensure_group` takes `InvalidGroup.Duplicate` as
/// "created by the other one" and looks it up, as it does for concurrent invocations), so no
/// quarantine waits for another's whole plan before it starts. Every quarantine gets the same
/// deadline: what does not fit is reported incomplete, and Lambda's retry resumes it (each plan is
/// idempotent).
async fn quarantine_bounded<'t>(
    accounts: &Accounts,
    settings: &Settings,
    targets: &'t [Target],
    deadline: Deadline,
) -> Vec<(&'t Target, Result<Report, RespondError>)> {
    let runs = targets.iter().map(|target| async move {
        // Boxed: the quarantine future is large, and Lambda's stack is not.
        (target, Box::pin(quarantine_target(accounts, settings, target, deadline)).await)
    });
    stream::iter(runs).buffered(CONCURRENCY).collect().await
}

async fn quarantine_target(
    accounts: &Accounts,
    settings: &Settings,
    target: &Target,
    deadline: Deadline,
) -> Result<Report, RespondError> {
    let config = &settings.quarantine;
    let request = &target.request;
    let ledger = Ledger::of(accounts.home(), config.common.cases_table.as_deref(), &request.signal.source);
    let process = target.finding.as_ref().and_then(GuardDutyFinding::runtime_process);
    if let Some(finding) = &target.finding {
        if let Some(skip) = quarantine::triage(finding, config)? {
            let mut report =
                Report::new(quarantine::FUNCTION, request.signal.clone(), &request.instance_id, config.common.dry_run)
                    .skipped(skip);
            report.process = process;
            cases::record_skip(ledger.as_ref(), &mut report).await;
            return Ok(report);
        }
    }
    let account = accounts.clients_for_signal(&request.signal, &case_id_for(&request.signal.id)).await?;
    Ok(Box::pin(quarantine::quarantine_with(&account.clients, config, request, process, ledger.as_ref(), deadline))
        .await?)
}
