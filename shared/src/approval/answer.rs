//! Answers to a case pending approval, accepted by every acting function through one path:
//! `{"approve": {"case_id", "approved_by"}}`, `{"reject": {"case_id", "rejected_by", "reason"}}`
//! and `{"approval_timeout": {"case_id"}}` (what the `approve_within` schedule sends). Each moves
//! the case out of `pending_approval` once (a conditional write): a second given, or a timeout
//! after an given, changes nothing.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Deserialize;
use serde_json::{json, Value};

use super::context::Context;
use super::{ApprovalError, Approvals};
use crate::accounts::Accounts;
use crate::aws::cases as ledger;
use crate::aws::scheduler;
use crate::cases::{Case, Entry};
use crate::engine::report::timestamp;
use crate::engine::{FunctionError, Outcome};
use crate::events::EventError;

/// The acting function being invoked, as its handler knows it.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    /// Its name (`quarantine-instance`): a case is answered by the function that holds it.
    pub function: &'static str,
    pub accounts: &'a Accounts,
    pub cases_table: Option<&'a str>,
    /// `invoked_function_arn`: what an `approve_within` schedule invokes.
    pub function_arn: &'a str,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Answer {
    Approve(Approval),
    Reject(Rejection),
    ApprovalTimeout(Timeout),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub case_id: String,
    pub approved_by: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    pub case_id: String,
    pub rejected_by: String,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeout {
    pub case_id: String,
}

const KEYS: [&str; 3] = ["approve", "reject", "approval_timeout"];

impl Answer {
    /// An given, if the event is one (an object keyed `approve`, `reject` or
    /// `approval_timeout`), checked strictly; `None` for any other event.
    pub fn from_event(event: &Value) -> Result<Option<Self>, EventError> {
        let Some(object) = event.as_object() else {
            return Ok(None);
        };
        if !object.keys().any(|k| KEYS.contains(&k.as_str())) {
            return Ok(None);
        }
        let given: Self = serde_json::from_value(event.clone()).map_err(|e| {
            EventError::Malformed(format!(
                "an answer is {{\"approve\": {{\"case_id\", \"approved_by\"}}}}, {{\"reject\": {{\"case_id\", \"rejected_by\", \"reason\"}}}} or {{\"approval_timeout\": {{\"case_id\"}}}}: {e}"
            ))
        })?;
        if !crate::case::is_case_id(given.case_id()) {
            return Err(EventError::InvalidField {
                field: "case_id",
                value: given.case_id().chars().take(64).collect(),
                why: "a Firebreak case id is fb- and 16 lowercase hex digits",
            });
        }
        if let Some(by) = given.by() {
            if by.trim().is_empty() || by.len() > 256 || by.chars().any(char::is_control) {
                return Err(EventError::InvalidField {
                    field: "approved_by / rejected_by",
                    value: by.chars().take(64).collect(),
                    why: "who answers: 1-256 printable characters (a name, an ARN)",
                });
            }
        }
        Ok(Some(given))
    }

    pub fn case_id(&self) -> &str {
        match self {
            Self::Approve(Approval { case_id, .. })
            | Self::Reject(Rejection { case_id, .. })
            | Self::ApprovalTimeout(Timeout { case_id }) => case_id,
        }
    }

    fn by(&self) -> Option<&str> {
        match self {
            Self::Approve(a) => Some(&a.approved_by),
            Self::Reject(r) => Some(&r.rejected_by),
            Self::ApprovalTimeout(_) => None,
        }
    }
}

/// The handler of every acting function: an given is handled here; any other event goes to
/// `run_response` (the function's own response), in the policy's context when there is a policy.
pub async fn handle_invocation<F, Fut>(
    invocation: Invocation<'_>,
    event: Value,
    run_response: F,
) -> Result<Value, FunctionError>
where
    F: FnOnce(Value) -> Fut,
    Fut: Future<Output = Result<Value, FunctionError>>,
{
    let given = Answer::from_event(&event)?;
    let approvals = invocation.accounts.approvals();
    // Boxed: the response's future holds every step's AWS calls, too large for a thread's stack
    // when it sits inline in the handler's own future.
    let Some(given) = given else {
        return match approvals {
            None => Box::pin(run_response(event)).await,
            Some(approvals) => {
                context(&invocation, approvals, event.clone(), None).scope(Box::pin(run_response(event))).await
            }
        };
    };
    let approvals = approvals.unwrap_or_else(|| Arc::new(Approvals::contain_all()));
    Box::pin(answer_case(&invocation, approvals, &given, run_response)).await
}

fn context(invocation: &Invocation<'_>, approvals: Arc<Approvals>, trigger: Value, by: Option<String>) -> Context {
    Context {
        approvals,
        home: invocation.accounts.home().clone(),
        function: invocation.function,
        trigger: Arc::new(trigger),
        function_arn: invocation.function_arn.to_string(),
        approved_by: by,
    }
}

async fn answer_case<F, Fut>(
    invocation: &Invocation<'_>,
    approvals: Arc<Approvals>,
    given: &Answer,
    run_response: F,
) -> Result<Value, FunctionError>
where
    F: FnOnce(Value) -> Fut,
    Fut: Future<Output = Result<Value, FunctionError>>,
{
    let case_id = given.case_id();
    let table = invocation.cases_table.ok_or(ApprovalError::NoLedger)?;
    let dynamodb = &invocation.accounts.home().dynamodb;
    let case_of = |item: Option<ledger::Item>| {
        item.as_ref().and_then(Case::from_item).ok_or_else(|| ApprovalError::UnknownCase(case_id.to_string()))
    };
    let case = case_of(ledger::get(dynamodb, table, case_id).await.map_err(ApprovalError::from)?)?;
    if case.function != invocation.function {
        return Err(ApprovalError::WrongFunction { case_id: case_id.into(), function: case.function }.into());
    }
    let pending = Outcome::PendingApproval.as_str();
    let (to, by, reason) = match given {
        Answer::Approve(a) => ("approved", a.approved_by.clone(), None),
        Answer::Reject(r) => ("rejected", r.rejected_by.clone(), r.reason.clone()),
        Answer::ApprovalTimeout(_) if case.state != pending => {
            return Ok(json!({
                "case_id": case_id,
                "answer": "none",
                "reason": format!("case {case_id} is {}: answered before approve_within ran out; the timeout does nothing", case.state),
            }));
        }
        Answer::ApprovalTimeout(_) => match case.on_timeout.as_deref() {
            Some("observe") => ("observed", "approve_within timeout".to_string(), Some("on_timeout: observe".into())),
            _ => ("approved", "approve_within timeout".to_string(), Some("on_timeout: contain".into())),
        },
    };
    let entry = Entry::answered(invocation.function, &by, to, reason.as_deref());
    let now = timestamp(SystemTime::now());
    let mut set = vec![("answered_by", by.clone()), ("answered_at", now)];
    set.extend(reason.clone().map(|r| ("answer_reason", r)));
    let moved = ledger::transition(dynamodb, table, case_id, &[pending], to, &set, &entry.to_json())
        .await
        .map_err(ApprovalError::from)?;
    if !moved {
        let now = case_of(ledger::get(dynamodb, table, case_id).await.map_err(ApprovalError::from)?)?;
        if matches!(given, Answer::ApprovalTimeout(_)) {
            return Ok(
                json!({ "case_id": case_id, "answer": "none", "reason": format!("case {case_id} is {}: answered first", now.state) }),
            );
        }
        let detail = match (&now.answered_by, &now.answered_at) {
            (Some(by), Some(at)) => format!(" (answered by {by} at {at})"),
            _ => String::new(),
        };
        return Err(ApprovalError::NotPending { case_id: case_id.into(), state: now.state, detail }.into());
    }
    let schedule = unschedule(&approvals, &case, given).await;
    if to != "approved" {
        return Ok(json!({ "case_id": case_id, "answer": to, "by": by, "reason": reason, "schedule": schedule }));
    }
    let trigger: Value = case
        .trigger
        .as_deref()
        .filter(|t| !t.is_empty())
        .and_then(|t| serde_json::from_str(t).ok())
        .ok_or_else(|| ApprovalError::NoTrigger(case_id.to_string()))?;
    let response =
        context(invocation, approvals, trigger.clone(), Some(by.clone())).scope(run_response(trigger)).await?;
    Ok(
        json!({ "case_id": case_id, "answer": "approved", "approved_by": by, "schedule": schedule, "response": response }),
    )
}

/// The `approve_within` schedule is deleted once the case is answered (a timeout's own schedule
/// deletes itself after it ran); what happened, in words.
async fn unschedule(approvals: &Approvals, case: &Case, given: &Answer) -> Option<String> {
    let name = case.schedule.as_deref()?;
    if matches!(given, Answer::ApprovalTimeout(_)) {
        return Some(format!("{name} fired"));
    }
    let Some(schedules) = &approvals.schedules else {
        return Some(format!("{name} not deleted: FIREBREAK_SCHEDULE_GROUP is not set here"));
    };
    Some(match scheduler::delete_schedule(&schedules.scheduler, &schedules.group, name).await {
        Ok(true) => format!("{name} deleted"),
        Ok(false) => format!("{name} was gone already"),
        Err(e) => format!("{name} not deleted ({e}); when it fires it finds the case answered and does nothing"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed_strictly() {
        let approve = json!({"approve": {"case_id": "fb-0123456789abcdef", "approved_by": "alice"}});
        assert_eq!(
            Answer::from_event(&approve).unwrap(),
            Some(Answer::Approve(Approval { case_id: "fb-0123456789abcdef".into(), approved_by: "alice".into() }))
        );
        let timeout = json!({"approval_timeout": {"case_id": "fb-0123456789abcdef"}});
        assert!(matches!(Answer::from_event(&timeout).unwrap(), Some(Answer::ApprovalTimeout(_))));
        assert_eq!(Answer::from_event(&json!({"source": "aws.guardduty"})).unwrap(), None);
        for bad in [
            json!({"approve": {"case_id": "fb-0123456789abcdef"}}),
            json!({"approve": {"case_id": "fb-0123456789abcdef", "approved_by": "a", "extra": 1}}),
            json!({"approve": {"case_id": "nope", "approved_by": "alice"}}),
            json!({"approve": {"case_id": "fb-0123456789abcdef", "approved_by": " "}}),
            json!({"reject": {"case_id": "fb-0123456789abcdef", "rejected_by": "a"}, "approve": {}}),
        ] {
            assert!(Answer::from_event(&bad).is_err(), "{bad}");
        }
    }
}
