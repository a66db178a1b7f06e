//! Releasing a contained Lambda function: its reserved concurrency back to the recorded value
//! (or no reservation), and the function tagged released. Its execution role's policy is a
//! principal's record, removed with the other credentials (`plan::credential_steps`).

use std::collections::BTreeMap;

use super::action::ReleaseAction;
use super::plan::{released_tags, Choices};
use crate::aws::{lambda, AwsError, Clients};
use crate::cases::Case;
use crate::contain_lambda::plan::parse_concurrency_record;
use crate::engine::Planned;
use crate::tags;

/// One function a case contained, as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionNow {
    pub function_name: String,
    /// `None`: the function is gone.
    pub function_arn: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub reserved_concurrency: Option<i32>,
    /// What the case recorded: `Some(None)` no reservation before, `None` nothing readable.
    pub before: Option<Option<i32>>,
}

/// The functions the case recorded something on (`function/<name>`), read now.
pub async fn observe(clients: &Clients, case: &Case) -> Result<Vec<FunctionNow>, AwsError> {
    let mut functions = Vec::new();
    for (resource, record) in case.recorded() {
        let Some(name) = resource.strip_prefix("function/") else {
            continue;
        };
        let (function, concurrency) = tokio::join!(
            Box::pin(lambda::get_function(&clients.lambda, name)),
            Box::pin(lambda::function_concurrency(&clients.lambda, name)),
        );
        let Some(function) = function? else {
            functions.push(FunctionNow {
                function_name: name.into(),
                function_arn: None,
                tags: BTreeMap::new(),
                reserved_concurrency: None,
                before: None,
            });
            continue;
        };
        let before = record
            .get(tags::RESERVED_CONCURRENCY_BEFORE)
            .or_else(|| function.tags.get(tags::RESERVED_CONCURRENCY_BEFORE))
            .and_then(|text| parse_concurrency_record(text));
        functions.push(FunctionNow {
            function_name: name.into(),
            function_arn: Some(function.function_arn),
            tags: function.tags,
            reserved_concurrency: concurrency?,
            before,
        });
    }
    Ok(functions)
}

/// The steps that put each function back. A reservation someone changed since the case wins.
pub fn steps(functions: &[FunctionNow], choices: &Choices) -> Vec<Planned<ReleaseAction>> {
    let mut steps = Vec::new();
    for function in functions {
        let name = function.function_name.clone();
        let Some(function_arn) = function.function_arn.clone() else {
            let action = ReleaseAction::RestoreFunctionConcurrency { function_name: name, reserved: None };
            steps.push(Planned::skip(action, "the function is gone: nothing to put back"));
            continue;
        };
        if let Some(before) = function.before {
            let action = ReleaseAction::RestoreFunctionConcurrency { function_name: name.clone(), reserved: before };
            steps.push(match function.reserved_concurrency {
                now if now == before => Planned::skip(action, "its reserved concurrency is as before the case already"),
                Some(0) => Planned::act(action),
                now => Planned::skip(
                    action,
                    format!(
                        "reserved concurrency is {} now, not the case's 0: changed since the case, left as it is",
                        now.map(|n| n.to_string()).unwrap_or_else(|| "unreserved".into())
                    ),
                ),
            });
        }
        steps.push(Planned::act(ReleaseAction::TagFunctionReleased { function_arn, tags: released_tags(choices) }));
    }
    steps
}
