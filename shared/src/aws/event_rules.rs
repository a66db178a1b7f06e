//! EventBridge rules, as the canary reads them: is a Firebreak rule there, and enabled.

use crate::aws::{AwsError, AwsResultExt};

/// The rule's state (`ENABLED`, `DISABLED`, ...), or `None` when there is no such rule.
pub async fn rule_state(events: &aws_sdk_eventbridge::Client, name: &str) -> Result<Option<String>, AwsError> {
    match events.describe_rule().name(name).send().await.aws("DescribeRule") {
        Ok(rule) => Ok(Some(rule.state().map(|s| s.as_str().to_string()).unwrap_or_default())),
        Err(e) if e.is_code("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(e),
    }
}
