//! The one runner: every capability's plan is carried out here.
//!
//! Stages run in order; the steps of a stage run side by side, containment steps first: the
//! stage's other steps start once every containment step has sent its change (or ended), so they
//! cost containment no round trip and, where time is CPU time, no signing and parsing either.
//! Each step runs under the Lambda deadline with its retried AWS calls recorded, and is logged
//! as one JSON line. A dry run reports what would be done and changes nothing.

use std::fmt;
use std::future::Future;
use std::time::Instant;

use futures::channel::oneshot;
use futures::future::join_all;

use super::report::{log_step, millis, Outcome, Report, StepOutcome, StepReport};
use super::step::{Action, Phase, Plan, Planned};
use crate::attempts::recording_attempts;
use crate::deadline::Deadline;

const NOT_STARTED: &str = "not started: the Lambda deadline is near; a retry of the event resumes here";
const CUT_OFF: &str = "cut off at the Lambda deadline; a retry of the event resumes here";

/// What a step found when it ran.
#[derive(Debug, Clone, PartialEq)]
pub struct Acted {
    pub outcome: StepOutcome,
    pub detail: String,
    /// The steps of a plan this step ran inside it (a revocation's quarantine of an instance).
    pub nested: Vec<StepReport>,
    /// What the step wrote down before changing anything (the same `firebreak:` keys as the tags
    /// on the resource), for the case ledger and a release.
    pub recorded: Vec<(String, String)>,
    /// The resource carrying that record, when not the step's own (an Auto Scaling group's
    /// detach is recorded on the instance).
    pub recorded_on: Option<String>,
    /// What AWS was not ready for yet (a snapshot still pending): a later run does it.
    pub waiting: Vec<String>,
}

impl Acted {
    /// It changed something.
    pub fn done(detail: impl Into<String>) -> Self {
        Self {
            outcome: StepOutcome::Done,
            detail: detail.into(),
            nested: Vec::new(),
            recorded: Vec::new(),
            recorded_on: None,
            waiting: Vec::new(),
        }
    }

    /// What it read showed nothing left to do (an earlier delivery did it): reported as a skip.
    pub fn already_done(detail: impl Into<String>) -> Self {
        Self {
            outcome: StepOutcome::Skipped,
            detail: detail.into(),
            nested: Vec::new(),
            recorded: Vec::new(),
            recorded_on: None,
            waiting: Vec::new(),
        }
    }

    /// It ran a plan of its own, whose steps follow it in the report.
    pub fn nested(outcome: StepOutcome, detail: impl Into<String>, steps: Vec<StepReport>) -> Self {
        Self { outcome, nested: steps, ..Self::done(detail) }
    }

    /// With what the step recorded before its change.
    pub fn recording(mut self, recorded: impl IntoIterator<Item = (String, String)>) -> Self {
        self.recorded.extend(recorded);
        self
    }

    /// With what is left for a later run, because AWS was not ready for it.
    pub fn waiting_for(mut self, waiting: Vec<String>) -> Self {
        self.waiting = waiting;
        self
    }

    /// With what the step recorded on another resource than its own.
    pub fn recording_on(self, resource: &str, recorded: impl IntoIterator<Item = (String, String)>) -> Self {
        Self { recorded_on: Some(resource.to_string()), ..self.recording(recorded) }
    }
}

/// Lets a containment step tell the runner that its change is on the wire.
#[derive(Debug, Default)]
pub struct Progress(Option<oneshot::Sender<()>>);

impl Progress {
    /// The change has been sent (not yet answered): the stage's other steps may start.
    pub fn sent(&mut self) {
        if let Some(sender) = self.0.take() {
            let _ = sender.send(());
        }
    }
}

/// How a capability carries out its actions (through the AWS wrappers).
pub trait Execute<A: Action> {
    type Error: fmt::Display;
    fn execute(&self, action: &A, progress: Progress) -> impl Future<Output = Result<Acted, Self::Error>>;
}

/// Runs a plan into `report`: its case, one step report per planned step (and the steps of
/// nested plans after theirs), and the outcome by the one rule.
pub async fn run<A: Action, X: Execute<A>>(plan: &Plan<A>, executor: &X, deadline: Deadline, report: &mut Report) {
    let clock = Instant::now();
    report.case_id = Some(plan.case_id.clone());
    tracing::info!(case_id = %plan.case_id, signal_id = %report.signal.id, plan = %plan, "plan");
    let mut stages: Vec<u8> = plan.steps.iter().map(|s| s.action.phase().stage()).collect();
    stages.sort_unstable();
    stages.dedup();
    for stage in stages {
        let steps: Vec<&Planned<A>> = plan.steps.iter().filter(|s| s.action.phase().stage() == stage).collect();
        let results = if report.dry_run {
            join_all(steps.iter().map(|step| dry_run(step, executor, deadline))).await
        } else if deadline.is_near() {
            steps.iter().map(|step| (held_back(step, NOT_STARTED), Vec::new())).collect()
        } else {
            run_stage(&steps, executor, deadline, &report.steps).await
        };
        for (step, nested) in results {
            log_step(&plan.case_id, &report.signal.id, &step);
            report.steps.push(step);
            report.steps.extend(nested);
        }
    }
    report.outcome = Outcome::of(&report.steps, A::CONTAINS, report.dry_run);
    report.duration_ms += millis(clock.elapsed());
}

type StepResult = (StepReport, Vec<StepReport>);

async fn run_stage<A: Action, X: Execute<A>>(
    steps: &[&Planned<A>],
    executor: &X,
    deadline: Deadline,
    earlier: &[StepReport],
) -> Vec<StepResult> {
    let first = |step: &Planned<A>| step.action.is_containment();
    let (senders, sent): (Vec<_>, Vec<_>) = steps.iter().filter(|s| first(s)).map(|_| oneshot::channel()).unzip();
    let any_first = !senders.is_empty();
    let firsts = join_all(
        steps
            .iter()
            .filter(|s| first(s))
            .zip(senders)
            .map(|(step, sender)| run_step(step, executor, deadline, earlier, Progress(Some(sender)))),
    );
    let others = async {
        // A dropped sender (a skipped, failed or cut-off step) opens the way as well.
        join_all(sent).await;
        if any_first {
            // The changes sit with their connections' tasks: let those write them before this
            // task signs anything else (on a single-threaded runtime they would otherwise wait).
            tokio::task::yield_now().await;
        }
        join_all(
            steps
                .iter()
                .filter(|s| !first(s))
                .map(|step| run_step(step, executor, deadline, earlier, Progress::default())),
        )
        .await
    };
    let (firsts, others) = futures::future::join(firsts, others).await;
    let (mut firsts, mut others) = (firsts.into_iter(), others.into_iter());
    steps.iter().filter_map(|step| if first(step) { firsts.next() } else { others.next() }).collect()
}

async fn run_step<A: Action, X: Execute<A>>(
    step: &Planned<A>,
    executor: &X,
    deadline: Deadline,
    earlier: &[StepReport],
    progress: Progress,
) -> StepResult {
    let unmet = step.action.requires().filter(|need| {
        earlier.iter().any(|s| s.step == need.step && !matches!(s.outcome, StepOutcome::Done | StepOutcome::Skipped))
    });
    if let Some(need) = unmet {
        return (held_back(step, need.otherwise), Vec::new());
    }
    if let Some(why) = &step.skip {
        return (report_of(step, StepOutcome::Skipped, why.clone()), Vec::new());
    }
    let clock = Instant::now();
    let (result, recorded) = recording_attempts(deadline.run(Box::pin(executor.execute(&step.action, progress)))).await;
    let (mut report, nested) = match result {
        Some(Ok(acted)) => {
            let mut report = report_of(step, acted.outcome, acted.detail);
            report.recorded = acted.recorded.into_iter().collect();
            report.recorded_on = acted.recorded_on;
            report.waiting = acted.waiting;
            (report, acted.nested)
        }
        Some(Err(e)) => (report_of(step, StepOutcome::Failed, e.to_string()), Vec::new()),
        None => (report_of(step, StepOutcome::Failed, CUT_OFF.to_string()), Vec::new()),
    };
    report.retries = recorded.retries;
    report.throttled = recorded.throttled;
    report.duration_ms = millis(clock.elapsed());
    report.ended_at = Some(std::time::SystemTime::now());
    (report, nested)
}

/// In a dry run a step is planned, or skipped with its reason; one that plans itself runs.
async fn dry_run<A: Action, X: Execute<A>>(step: &Planned<A>, executor: &X, deadline: Deadline) -> StepResult {
    match &step.skip {
        Some(why) => (report_of(step, StepOutcome::Skipped, why.clone()), Vec::new()),
        None if step.action.plans_itself() => run_step(step, executor, deadline, &[], Progress::default()).await,
        None => (report_of(step, StepOutcome::Planned, step.action.to_string()), Vec::new()),
    }
}

/// A step not run: skipped if it had nothing to do anyway, failed (so a retry resumes it) if not.
fn held_back<A: Action>(step: &Planned<A>, why: &str) -> StepReport {
    match &step.skip {
        Some(skip) => report_of(step, StepOutcome::Skipped, skip.clone()),
        None => report_of(step, StepOutcome::Failed, why.to_string()),
    }
}

fn report_of<A: Action>(step: &Planned<A>, outcome: StepOutcome, detail: String) -> StepReport {
    let mut report = StepReport::new(step.action.name(), step.action.resource(), outcome, detail);
    report.containment = step.action.is_containment();
    report
}
