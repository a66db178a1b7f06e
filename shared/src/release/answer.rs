//! The Security Hub custom actions "Approve" / "Reject" on a finding whose case the response
//! policy holds. They reach the release function (the one that takes custom actions about cases),
//! which finds each finding's case and forwards the answer to the function holding it (Lambda
//! Invoke of the ARN the case records): that function re-plans and acts, or closes the case,
//! through the one answer path ([`super::handle_invocation`]). A finding with no case pending is
//! answered in words, and nothing is sent.

use serde_json::{json, Value};

use crate::accounts::Accounts;
use crate::approval::ApprovalError;
use crate::aws::cases as ledger;
use crate::aws::failed_events::invoke_for_answer;
use crate::cases::Case;
use crate::engine::{FunctionError, Outcome};
use crate::events::securityhub::{self, CustomAction, SecurityHubEvent, Trigger};
use crate::events::EventError;

/// What an analyst chose, on which cases, and who they are as far as the event says.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomAnswer {
    pub approve: bool,
    pub case_ids: Vec<String>,
    /// Security Hub's custom-action event names no user: the action, its account and the event
    /// id (to find the click in CloudTrail) are what is recorded as the approver.
    pub by: String,
}

impl CustomAnswer {
    /// The answer, when the event is the custom action "Approve" or "Reject"; `None` for any
    /// other event.
    pub fn from_event(event: &Value) -> Result<Option<Self>, EventError> {
        let field = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or_default();
        if field("source") != securityhub::SOURCE || field("detail-type") != securityhub::CUSTOM_ACTION {
            return Ok(None);
        }
        let hub = SecurityHubEvent::from_event(event)?;
        let Trigger::CustomAction { action, name, arn } = &hub.trigger else {
            return Ok(None);
        };
        let approve = match action {
            CustomAction::Approve => true,
            CustomAction::Reject => false,
            _ => return Ok(None),
        };
        if hub.findings.is_empty() {
            return Err(EventError::Malformed("a custom action without findings".into()));
        }
        let case_ids = hub.findings.iter().map(super::request::case_id_of).collect::<Result<Vec<_>, _>>()?;
        let by =
            format!("Security Hub custom action {name} ({arn}), account {}, event {}", hub.account_id, field("id"));
        Ok(Some(Self { approve, case_ids, by }))
    }

    /// The input of the function holding the case.
    pub fn payload(&self, case_id: &str) -> Value {
        match self.approve {
            true => json!({ "approve": { "case_id": case_id, "approved_by": self.by } }),
            false => {
                json!({ "reject": { "case_id": case_id, "rejected_by": self.by, "reason": "Security Hub custom action Reject" } })
            }
        }
    }
}

/// Forwards the answer for each case; one case: its function's answer, or the error saying why
/// nothing was sent. Several: every case tried, the answers and the refusals listed.
pub async fn forward(accounts: &Accounts, table: Option<&str>, answer: &CustomAnswer) -> Result<Value, FunctionError> {
    let table = table.ok_or(ApprovalError::NoLedger)?;
    if let [case_id] = answer.case_ids.as_slice() {
        return Ok(forward_one(accounts, table, answer, case_id).await?);
    }
    let (mut answered, mut refused) = (Vec::new(), Vec::new());
    for case_id in &answer.case_ids {
        match forward_one(accounts, table, answer, case_id).await {
            Ok(value) => answered.push(value),
            Err(error) => refused.push(FunctionError::from(error).message),
        }
    }
    Ok(json!({ "function": super::FUNCTION, "answers": answered, "refused": refused }))
}

async fn forward_one(
    accounts: &Accounts,
    table: &str,
    answer: &CustomAnswer,
    case_id: &str,
) -> Result<Value, ApprovalError> {
    let item = ledger::get(&accounts.home().dynamodb, table, case_id).await?;
    let case = item.as_ref().and_then(Case::from_item).ok_or_else(|| ApprovalError::UnknownCase(case_id.into()))?;
    if case.state != Outcome::PendingApproval.as_str() {
        let detail = match (&case.answered_by, &case.answered_at) {
            (Some(by), Some(at)) => format!(" (answered by {by} at {at})"),
            _ => String::new(),
        };
        return Err(ApprovalError::NotPending { case_id: case_id.into(), state: case.state, detail });
    }
    let function = case.function_arn.clone().filter(|arn| !arn.is_empty()).ok_or(ApprovalError::Setup(
        "the case does not record the ARN of the function holding it: answer with firebreak approve --function",
    ))?;
    let body = serde_json::to_vec(&answer.payload(case_id)).map_err(|e| EventError::Malformed(e.to_string()))?;
    let answered = invoke_for_answer(&accounts.home().lambda, &function, &body)
        .await
        .map_err(|error| ApprovalError::Forward { case_id: case_id.into(), function: function.clone(), error })?;
    Ok(serde_json::from_slice(&answered).unwrap_or(Value::Null))
}
