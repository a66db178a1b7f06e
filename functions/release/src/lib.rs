//! release: a case id in (Security Hub "Release" on a Firebreak or GuardDuty finding, or a direct
//! invocation); what the case changed put back, the case marked released, a report out. Also
//! Security Hub "Approve" / "Reject" on a case pending approval, forwarded to its function.

use firebreak::accounts::Accounts;
use firebreak::deadline::Deadline;
use firebreak::engine::FunctionError;
use firebreak::release::{self, ReleaseConfig, ReleaseRequest};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

/// Built once per cold start: configuration, and clients per account and region.
pub struct Function {
    pub accounts: Accounts,
    pub config: ReleaseConfig,
}

impl Function {
    pub async fn from_env() -> Result<Self, FunctionError> {
        Ok(Self { config: ReleaseConfig::from_env()?, accounts: Accounts::from_env().await? })
    }
}

/// One case: its report (an error when it cannot be released, or a step failed). Several (a
/// custom action on several findings): every case is tried, each report returned, and the
/// refusals listed.
pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, FunctionError> {
    let deadline = Deadline::from_lambda(event.context.deadline());
    function.accounts.invoked_as(&event.context.invoked_function_arn);
    // Security Hub "Approve" / "Reject": forwarded to the function holding the case.
    if let Some(answer) = release::answer::CustomAnswer::from_event(&event.payload)? {
        let table = function.config.common.cases_table.as_deref();
        return release::answer::forward(&function.accounts, table, &answer).await;
    }
    let requests = ReleaseRequest::from_event(&event.payload)?;
    let release = |request| release::release_case(&function.accounts, &function.config, request, deadline);
    if let [request] = requests.as_slice() {
        return release(request).await?.into_result();
    }
    let mut reports = Vec::new();
    let mut refused = Vec::new();
    for request in &requests {
        match release(request).await {
            Ok(report) => reports.push(report.into_json()),
            Err(error) => refused.push(FunctionError::from(error).message),
        }
    }
    Ok(json!({ "function": release::FUNCTION, "reports": reports, "refused": refused }))
}
