//! Who decides: the response policy applied to every plan, and the approval of held plans.
//!
//! - `context`: the invocation a plan runs in (the policy, the event that set it off, who
//!   approved), carried task-locally from the function's handler to `cases::run_recorded`, the
//!   one path every plan of every capability runs through.
//! - `hold`: the gate in that path. `contain` runs the plan; `observe` records it and changes
//!   nothing; `approve` records it as a case `pending_approval` (with the event, to re-plan from),
//!   notifies once, and schedules the `approve_within` timeout.
//! - `answer`: `{"approve": …}`, `{"reject": …}`, `{"approval_timeout": …}`, accepted by every
//!   acting function through [`handle_invocation`]: approval re-reads and re-plans from the stored event with
//!   the mode forced to contain; rejection closes the case.
//!
//! Loaded once per cold start ([`accounts_from_env`]): no policy and no `FIREBREAK_DEFAULT_MODE`
//! is exactly the behaviour without this module. See docs/response-policy.md.

mod answer;
mod context;
mod hold;
mod notice;

use std::path::Path;
use std::sync::Arc;

use thiserror::Error;

pub use answer::{handle_invocation, Answer, Approval, Invocation, Rejection, Timeout};
pub use context::{settings_for, Context};
pub(crate) use hold::hold;

use crate::accounts::Accounts;
use crate::aws::AwsError;
use crate::engine::config::{flag, ConfigError};
use crate::engine::FunctionError;
use crate::events::EventError;
use crate::response_policy::{self, Policy, PolicyError, DEFAULT_MODE};

/// The SSM parameter holding the policy (deployed functions).
pub const POLICY_PARAMETER: &str = "FIREBREAK_POLICY_PARAMETER";
/// A file holding the policy (the emulator, a package that ships its policy).
pub const POLICY_FILE: &str = "FIREBREAK_POLICY_FILE";
/// `approve_within`: the EventBridge Scheduler group, and the role Scheduler invokes the function as.
pub const SCHEDULE_GROUP: &str = "FIREBREAK_SCHEDULE_GROUP";
pub const SCHEDULER_ROLE_ARN: &str = "FIREBREAK_SCHEDULER_ROLE_ARN";

/// The response policy and where its approval requests go, read once per cold start.
#[derive(Debug, Clone)]
pub struct Approvals {
    pub policy: Policy,
    /// The approval request's SNS topic (`FIREBREAK_SNS_TOPIC_ARN`).
    pub sns_topic_arn: Option<String>,
    /// Note the Security Hub finding and set it NOTIFIED (`FIREBREAK_SECURITY_HUB`).
    pub security_hub: bool,
    /// Where `approve_within` schedules go; required when a rule has one.
    pub schedules: Option<Schedules>,
}

#[derive(Debug, Clone)]
pub struct Schedules {
    pub scheduler: aws_sdk_scheduler::Client,
    pub group: String,
    pub role_arn: String,
}

#[derive(Debug, Error)]
pub enum ApprovalError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the response policy ({from}): {error}")]
    Policy { from: String, error: PolicyError },
    #[error("cannot read the response policy from SSM parameter {name}: {error}")]
    Parameter { name: String, error: AwsError },
    #[error("{0}")]
    Setup(&'static str),
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("no case ledger: set FIREBREAK_CASES_TABLE (an answer is about a case)")]
    NoLedger,
    #[error("case {0} is not in the ledger")]
    UnknownCase(String),
    #[error("case {case_id} belongs to {function}: send the answer to that function")]
    WrongFunction { case_id: String, function: String },
    #[error("case {case_id} is {state}{detail}: it is not pending approval; nothing changed")]
    NotPending { case_id: String, state: String, detail: String },
    #[error("case {0} holds no event to re-plan from")]
    NoTrigger(String),
    #[error("could not read or write the case: {0}")]
    Ledger(#[from] AwsError),
    #[error("case {case_id}: {function} did not take the answer: {error}")]
    Forward { case_id: String, function: String, error: AwsError },
}

impl From<ApprovalError> for FunctionError {
    fn from(error: ApprovalError) -> Self {
        let kind = match &error {
            ApprovalError::Config(_)
            | ApprovalError::Policy { .. }
            | ApprovalError::Setup(_)
            | ApprovalError::NoLedger => "InvalidConfig",
            ApprovalError::Parameter { .. } | ApprovalError::Ledger(_) | ApprovalError::Forward { .. } => {
                "AwsCallFailed"
            }
            ApprovalError::Event(_) => "InvalidEvent",
            ApprovalError::UnknownCase(_) | ApprovalError::NoTrigger(_) => "ResourceNotFound",
            ApprovalError::WrongFunction { .. } => "InvalidEvent",
            ApprovalError::NotPending { .. } => "NotPendingApproval",
        };
        FunctionError::new(kind, error)
    }
}

impl Approvals {
    /// No policy rules, every signal in `FIREBREAK_DEFAULT_MODE`'s mode (what answers use when the
    /// function has no policy configured).
    pub fn contain_all() -> Self {
        Self {
            policy: Policy::none(response_policy::Mode::Contain),
            sns_topic_arn: None,
            security_hub: false,
            schedules: None,
        }
    }

    /// Reads the policy from `FIREBREAK_POLICY_PARAMETER` (SSM) or `FIREBREAK_POLICY_FILE`;
    /// `None` when neither is set and `FIREBREAK_DEFAULT_MODE` is not either (today's behaviour).
    /// An invalid policy is an error naming its line: the cold start fails.
    pub async fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Option<Self>, ApprovalError> {
        let set = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let default_mode = response_policy::default_mode(&lookup)?;
        let policy = match (set(POLICY_PARAMETER), set(POLICY_FILE)) {
            (Some(_), Some(_)) => {
                return Err(ApprovalError::Setup("set FIREBREAK_POLICY_PARAMETER or FIREBREAK_POLICY_FILE, not both"))
            }
            (Some(name), None) => {
                let ssm = aws_sdk_ssm::Client::new(sdk);
                let text = crate::aws::parameters::get_parameter(&ssm, &name)
                    .await
                    .map_err(|error| ApprovalError::Parameter { name: name.clone(), error })?;
                Policy::from_json(&text, default_mode)
                    .map_err(|error| ApprovalError::Policy { from: format!("SSM parameter {name}"), error })?
            }
            (None, Some(file)) => Policy::from_file(Path::new(&file), default_mode)
                .map_err(|error| ApprovalError::Policy { from: file.clone(), error })?,
            (None, None) if set(DEFAULT_MODE).is_none() => return Ok(None),
            (None, None) => Policy::none(default_mode),
        };
        let schedules = match (set(SCHEDULE_GROUP), set(SCHEDULER_ROLE_ARN)) {
            (Some(group), Some(role_arn)) => {
                Some(Schedules { scheduler: crate::aws::scheduler::scheduler_client(sdk), group, role_arn })
            }
            (None, None) => None,
            _ => {
                return Err(ApprovalError::Setup("set both FIREBREAK_SCHEDULE_GROUP and FIREBREAK_SCHEDULER_ROLE_ARN"))
            }
        };
        if schedules.is_none() && policy.rules.iter().any(|r| r.approve_within.is_some()) {
            return Err(ApprovalError::Setup(
                "a rule has approve_within: set FIREBREAK_SCHEDULE_GROUP and FIREBREAK_SCHEDULER_ROLE_ARN",
            ));
        }
        if lookup(crate::engine::config::CASES_TABLE).is_none_or(|t| t.is_empty()) {
            return Err(ApprovalError::Setup(
                "a response policy records what it holds in cases: set FIREBREAK_CASES_TABLE",
            ));
        }
        Ok(Some(Self {
            policy,
            sns_topic_arn: crate::notify::sns_topic_arn(&lookup)?,
            security_hub: flag(crate::notify::SECURITY_HUB, lookup(crate::notify::SECURITY_HUB), true)?,
            schedules,
        }))
    }
}

/// The accounts of an acting function, with its response policy: what its cold start builds.
pub async fn accounts_from_env() -> Result<Accounts, FunctionError> {
    let accounts = Accounts::from_env().await?;
    let approvals = Approvals::from_lookup(|name| std::env::var(name).ok(), accounts.sdk_config()).await?;
    Ok(match approvals {
        Some(approvals) => accounts.with_approvals(Arc::new(approvals)),
        None => accounts,
    })
}
