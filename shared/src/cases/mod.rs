//! The case ledger: one DynamoDB item per case (`FIREBREAK_CASES_TABLE`), the index of what
//! Firebreak did, across accounts. Each delivery appends entries: its plan before it acts (so
//! every change is recorded before it is made), then its outcome with what each step recorded.
//! Resource tags stay the record that travels with the resource; the ledger is where a responder
//! (and a release) finds every case.
//!
//! `entry` (the bounded entries, pure), `case` (a case read back, and what it recorded).

pub mod case;
pub mod entry;

use std::time::Instant;

pub use case::{Case, CaseState};
pub use entry::{Entry, EntryKind, MAX_ENTRIES};

use crate::aws::cases::{self as ledger, CaseWrite, Written};
use crate::aws::{AwsError, Clients};
use crate::deadline::Deadline;
use crate::engine::report::{log_step, millis, timestamp};
use crate::engine::{self, Action, Execute, Outcome, Plan, Report, StepOutcome, StepReport};

/// The step a report shows when the ledger could not be written: the response goes on (the
/// resource tags still record everything), and the outcome says something failed.
pub const RECORD_STEP: &str = "record_case";

/// Where a function writes its cases, and who it is writing as.
#[derive(Debug, Clone)]
pub struct Ledger {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
    /// This invocation: the first delivery to write a case owns it.
    pub owner: String,
    /// What set the function off, recorded on a new case (`aws.guardduty`, `cli:<caller ARN>`).
    pub triggered_by: String,
}

impl Ledger {
    /// The ledger in the function's own account, when a table is configured.
    pub fn of(home: &Clients, table: Option<&str>, triggered_by: impl Into<String>) -> Option<Self> {
        Some(Self {
            dynamodb: home.dynamodb.clone(),
            table: table?.to_string(),
            owner: invocation_token(),
            triggered_by: triggered_by.into(),
        })
    }

    pub(crate) async fn append(
        &self,
        report: &Report,
        entry: &Entry,
        state: Option<String>,
    ) -> Result<Written, AwsError> {
        ledger::append(&self.dynamodb, &self.table, &self.case_write(report, entry, state), MAX_ENTRIES).await
    }

    /// The write of one entry of the report's case.
    pub(crate) fn case_write(&self, report: &Report, entry: &Entry, state: Option<String>) -> CaseWrite {
        let case_id = report.case_id.clone().unwrap_or_else(|| crate::case::case_id_for(&report.signal.id));
        CaseWrite {
            case_id,
            now: timestamp(std::time::SystemTime::now()),
            owner: self.owner.clone(),
            triggered_by: self.triggered_by.clone(),
            function: report.function.to_string(),
            resource: report.resource.clone(),
            account: report.signal.account.clone(),
            region: report.signal.region.clone(),
            signal: serde_json::to_string(&report.signal).unwrap_or_default(),
            state,
            entry: entry.to_json(),
        }
    }

    /// Records the outcome of a delivery (also one that decided not to act).
    pub async fn close(&self, report: &mut Report) {
        let entry = Entry::outcome(report, &self.owner);
        let state = CaseState::of(report.outcome).as_str().to_string();
        if let Err(error) = self.append(report, &entry, Some(state)).await {
            record_failed(report, &error);
        }
    }
}

/// Runs a plan as a case: the plan is appended to the case first, then the engine runs it, then
/// the outcome is appended. A released (or rejected) case is not acted on again by a redelivery.
/// Without a ledger it is `engine::run`. With a response policy, its decision comes first: an
/// `observe` or `approve` plan is recorded and not run ([`crate::approval`]).
pub async fn run_recorded<A: Action, X: Execute<A>>(
    ledger: Option<&Ledger>,
    plan: &Plan<A>,
    executor: &X,
    deadline: Deadline,
    report: &mut Report,
) {
    // Boxed: the hold's AWS calls make a large future, and callers nest this one in theirs.
    if Box::pin(crate::approval::hold(ledger, plan, report)).await {
        return;
    }
    let Some(ledger) = ledger else {
        engine::run(plan, executor, deadline, report).await;
        return;
    };
    report.case_id = Some(plan.case_id.clone());
    let clock = Instant::now();
    let entry = Entry::plan(report, plan, &ledger.owner);
    match ledger.append(report, &entry, None).await {
        Ok(Written::Refused { state }) => {
            report.reason = Some(format!(
                "case {} is {state}: a redelivery of its signal does not act again (a new finding opens a new case)",
                plan.case_id
            ));
            report.outcome = Outcome::Skipped;
            return;
        }
        Ok(Written::Appended { .. } | Written::Full) => {}
        Err(error) => record_failed(report, &error),
    }
    report.duration_ms += millis(clock.elapsed());
    // The engine's outcome counts a failed plan write already; a failed outcome write is added here.
    engine::run(plan, executor, deadline, report).await;
    ledger.close(report).await;
    report.outcome = Outcome::of(&report.steps, A::CONTAINS, report.dry_run);
}

/// Records a decision not to act (a skipped report) as a case; an acting delivery was recorded
/// as it ran (`run_recorded`), so anything else is left alone.
pub async fn record_skip(ledger: Option<&Ledger>, report: &mut Report) {
    if let (Some(ledger), Outcome::Skipped) = (ledger, report.outcome) {
        // Boxed: callers nest it in their own futures, and the SDK call's future is large.
        Box::pin(ledger.close(report)).await;
    }
}

pub(crate) fn record_failed(report: &mut Report, error: &AwsError) {
    let step = StepReport::new(
        RECORD_STEP,
        report.case_id.clone().unwrap_or_default(),
        StepOutcome::Failed,
        format!("the case ledger could not be written ({error}); the resource tags still record every change"),
    );
    log_step(report.case_id.as_deref().unwrap_or_default(), &report.signal.id, &step);
    report.steps.push(step);
}

/// Distinct for every invocation, also across warm containers: who owns a case.
pub fn invocation_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let seed = format!("{nanos}:{}:{}", std::process::id(), SEQUENCE.fetch_add(1, Ordering::Relaxed));
    crate::case::case_id_for(&seed).replacen("fb-", "run-", 1)
}
