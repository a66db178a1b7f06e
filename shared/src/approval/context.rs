//! The invocation a plan runs in, carried task-locally from the handler ([`super::handle`]) to
//! `cases::run_recorded`, so that no capability passes the policy, the event or the approver
//! along: each plan, wherever it is made, meets the same gate.

use std::sync::Arc;

use serde_json::Value;

use super::Approvals;
use crate::aws::Clients;
use crate::engine::Report;
use crate::response_policy::{Mode, PolicyDecision, PolicyInput};

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
        let (severity, tags) = PolicyInput::severity_and_tags(&self.trigger);
        let input = PolicyInput::new(&report.signal, severity, tags, self.function);
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
