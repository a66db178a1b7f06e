//! `firebreak approve CASE` / `firebreak reject CASE`: the answer to a case the response policy
//! holds, sent to the function that holds it (Lambda Invoke of the ARN the case records). The
//! function does the rest — re-reads, re-plans and acts, or closes the case — through the one
//! answer path every acting function shares (`firebreak::approval`), so the cli repeats none of it.

use firebreak::aws::failed_events::invoke_for_answer;
use firebreak::cases::{Case, EntryKind};
use firebreak::engine::Outcome;
use serde_json::{json, Value};

use crate::aws::Session;
use crate::cases;
use crate::confirm::confirm;
use crate::error::{CliError, Result};

/// What the responder answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Approve,
    Reject { reason: Option<String> },
}

/// The function's input for the answer, in the caller's name.
pub fn payload(case_id: &str, by: &str, verdict: &Verdict) -> Value {
    match verdict {
        Verdict::Approve => json!({ "approve": { "case_id": case_id, "approved_by": by } }),
        Verdict::Reject { reason } => {
            json!({ "reject": { "case_id": case_id, "rejected_by": by, "reason": reason.clone().unwrap_or_default() } })
        }
    }
}

/// Refuses a case that is not waiting for an answer, and names the function to send it to.
pub fn target(case: &Case, function: Option<String>) -> Result<String> {
    if case.state != Outcome::PendingApproval.as_str() {
        let by = case.answered_by.as_deref().map(|b| format!(" (answered by {b})")).unwrap_or_default();
        return Err(CliError::Refused(format!(
            "case {} is {}{by}: it is not pending approval; nothing was changed",
            case.case_id, case.state
        )));
    }
    function.or_else(|| case.function_arn.clone()).ok_or_else(|| {
        CliError::invalid(format!(
            "case {} does not record its function's ARN: pass --function (the {} function's name or ARN)",
            case.case_id, case.function
        ))
    })
}

pub async fn answer(
    session: &Session,
    case_id: &str,
    verdict: Verdict,
    yes: bool,
    function: Option<String>,
) -> Result<()> {
    let case = cases::read(session, case_id).await?;
    let function = target(&case, function)?;
    println!(
        "Case {case_id}: {} on {} in account {} region {}",
        case.function, case.resource, case.account, case.region
    );
    for entry in case.entries.iter().filter(|e| e.kind == EntryKind::Plan).take(1) {
        if let Some(policy) = &entry.policy {
            println!("  held because: {policy}");
        }
        for line in &entry.plan {
            println!("  - {line}");
        }
    }
    let caller = session.caller().await?;
    let what = match &verdict {
        Verdict::Approve => {
            format!("approving case {case_id}: {} re-reads the resource, re-plans and acts", case.function)
        }
        Verdict::Reject { .. } => format!("rejecting case {case_id}: it is closed and nothing is changed"),
    };
    confirm(yes, &what)?;
    let body = serde_json::to_vec(&payload(case_id, &caller.arn, &verdict)).map_err(CliError::failed)?;
    let answered = invoke_for_answer(&session.accounts.home().lambda, &function, &body)
        .await
        .map_err(|e| CliError::failed(format!("{function} did not take the answer: {e}")))?;
    let answered: Value = serde_json::from_slice(&answered).unwrap_or(Value::Null);
    println!("{}", serde_json::to_string_pretty(&answered).map_err(CliError::failed)?);
    match answered.pointer("/response/outcome").and_then(Value::as_str) {
        Some("failed") => Err(CliError::failed(format!("case {case_id}: approved, but containment failed"))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(state: &str, arn: Option<&str>) -> Case {
        let item = [
            ("case_id", "fb-0123456789abcdef"),
            ("state", state),
            ("function", "quarantine-instance"),
            ("answered_by", "alice"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), aws_sdk_dynamodb::types::AttributeValue::S(v.into())))
        .chain(arn.map(|a| ("function_arn".to_string(), aws_sdk_dynamodb::types::AttributeValue::S(a.into()))))
        .collect();
        Case::from_item(&item).expect("case")
    }

    #[test]
    fn an_answer_goes_to_the_function_the_case_names_and_only_while_pending() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:fb-quarantine";
        assert_eq!(target(&case("pending_approval", Some(arn)), None).unwrap(), arn);
        assert_eq!(target(&case("pending_approval", None), Some("other".into())).unwrap(), "other");
        assert!(target(&case("pending_approval", None), None).is_err());
        let refused = target(&case("contained", Some(arn)), None).unwrap_err().to_string();
        assert!(refused.contains("is contained (answered by alice)"), "{refused}");
        assert_eq!(
            payload("fb-0123456789abcdef", "arn:aws:iam::1:user/bob", &Verdict::Approve),
            json!({"approve": {"case_id": "fb-0123456789abcdef", "approved_by": "arn:aws:iam::1:user/bob"}})
        );
        let answer = firebreak::approval::Answer::from_event(&payload(
            "fb-0123456789abcdef",
            "bob",
            &Verdict::Reject { reason: Some("load test".into()) },
        ));
        assert!(matches!(answer, Ok(Some(firebreak::approval::Answer::Reject(_)))), "{answer:?}");
    }
}
