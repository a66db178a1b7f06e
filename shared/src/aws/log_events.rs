//! A function's log group, as the canary reads it for a report line.

use crate::aws::{AwsError, AwsResultExt};

/// Pages read at most per search: the pattern is narrow, a few lines match.
const MAX_PAGES: usize = 10;

/// The messages of `log_group` since `start_ms` (epoch milliseconds) that match `pattern` (a
/// CloudWatch Logs filter pattern).
pub async fn filter_log_events(
    logs: &aws_sdk_cloudwatchlogs::Client,
    log_group: &str,
    pattern: &str,
    start_ms: i64,
) -> Result<Vec<String>, AwsError> {
    let mut messages = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = logs
            .filter_log_events()
            .log_group_name(log_group)
            .filter_pattern(pattern)
            .start_time(start_ms)
            .set_next_token(token.take())
            .send()
            .await
            .aws("FilterLogEvents")?;
        messages.extend(page.events().iter().filter_map(|e| e.message().map(str::to_string)));
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => break,
        }
    }
    Ok(messages)
}
