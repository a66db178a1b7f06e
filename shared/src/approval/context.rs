//! The invocation a plan runs in, carried task-locally from the handler ([`super::handle`]) to
//! `cases::run_recorded`, so that no capability passes the policy, the event or the approver
//! along: each plan, wherever it is made, meets the same gate.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;

use super::Approvals;
use crate::aws::Clients;
use crate::engine::report::PolicyNote;
use crate::engine::{Report, Signal};
use crate::response_policy::{Mode, Overridable, PolicyDecision, PolicyInput};

tokio::task_local! {
    static CONTEXT: Context;
}

#[derive(Debug, Clone)]
pub struct Context {
    pub approvals: Arc<Approvals>,
    /// The function's own clients: the approval request is sent from its account.
    pub home: Clients,
    /// The event that set the function off (on an approval: the one stored in the case).
    pub trigger: Arc<Value>,
    /// The function invoked (`abuse-report`, whose plans are quarantines): what rules match on
    /// and what a pending case names as the function to answer.
    pub function: &'static str,
    /// The function's own ARN: the target of an `approve_within` schedule.
    pub function_arn: String,
    /// Set on an approval (or its timeout): the plan runs whatever the policy says.
    pub approved_by: Option<String>,
}

impl Context {
    /// Runs `work` (the function's response) in this context.
    pub async fn scope<F: std::future::Future>(self, work: F) -> F::Output {
        CONTEXT.scope(self, work).await
    }

    /// The context of the running invocation, if its handler set one.
    pub fn current() -> Option<Self> {
        CONTEXT.try_with(Clone::clone).ok()
    }

    /// The policy's decision for the report's signal and resource: severity and tags as the
    /// event carries them, account and region as the signal names them (an attack sequence's
    /// resources each in their own). An approved plan is contained, and says by whom.
    pub fn decision_for(&self, report: &Report) -> PolicyDecision {
        self.decision_for_signal(&report.signal)
    }

    /// [`Self::decision_for`] a signal.
    pub fn decision_for_signal(&self, signal: &Signal) -> PolicyDecision {
        let (severity, tags) = PolicyInput::severity_and_tags(&self.trigger);
        let input = PolicyInput::new(signal, severity, tags, self.function);
        let decision = self.approvals.policy.decide(&input);
        match &self.approved_by {
            None => decision,
            Some(by) => PolicyDecision {
                mode: Mode::Contain,
                because: format!("approved by {by} ({})", decision.because),
                approve_within: None,
                on_timeout: None,
                ..decision
            },
        }
    }
}

/// The settings a plan for the report's signal is made with: the function's own, changed by the
/// `overrides` of the rule the signal matches (an approval re-plans with them too). Outside a
/// policy's context, or when the rule changes nothing, the function's own; what changed goes
/// into the report (`policy.overrides`).
pub fn settings_for<'a, C: Overridable>(config: &'a C, report: &mut Report) -> Cow<'a, C> {
    let Some(context) = Context::current() else {
        return Cow::Borrowed(config);
    };
    let decision = context.decision_for(report);
    let mut settings = config.clone();
    let changed = settings.override_with(&decision.overrides);
    if changed.is_empty() {
        return Cow::Borrowed(config);
    }
    report.policy = Some(note(&decision, changed));
    Cow::Owned(settings)
}

/// The decision as the report carries it.
pub(super) fn note(decision: &PolicyDecision, overrides: Vec<String>) -> PolicyNote {
    PolicyNote {
        mode: decision.mode.as_str(),
        rule: decision.rule.as_ref().map(|(n, name)| format!("{n} {name:?}")),
        because: decision.because.clone(),
        overrides,
    }
}
