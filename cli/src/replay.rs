//! `firebreak replay`: drain the failure queue, re-sending each failed event to its function
//! (see `firebreak::replay`). A dry run lists what would be replayed and leaves the queue as is.

use firebreak::replay::{self, LambdaInvoker, Replayed};

use crate::act::Mode;
use crate::confirm::confirm;
use crate::error::{CliError, Result};

/// Where the queue's URL comes from when `--queue` is not given (the stack's `FailedEventsQueueUrl` output).
pub const QUEUE_URL: &str = "FIREBREAK_FAILED_EVENTS_QUEUE_URL";

pub async fn replay(queue: Option<String>, max: usize, mode: Mode, json: bool) -> Result<()> {
    let queue = queue.or_else(|| std::env::var(QUEUE_URL).ok()).filter(|q| !q.is_empty()).ok_or_else(|| {
        CliError::invalid(format!(
            "no failure queue: pass --queue URL or set {QUEUE_URL} (the stack output FailedEventsQueueUrl)"
        ))
    })?;
    if !queue.starts_with("https://") && !queue.starts_with("http://") {
        return Err(CliError::invalid(format!("--queue takes the queue's URL, not {queue:?}")));
    }
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let invoker = LambdaInvoker(aws_sdk_lambda::Client::new(&config));
    if !mode.dry_run {
        confirm(mode.yes, &format!("replaying up to {max} failed event(s) to their functions"))?;
    }
    let done = replay::replay(&sqs, &queue, &invoker, mode.dry_run, max).await?;
    print(&done, json);
    let failed = done.iter().filter(|r| matches!(r.outcome, "failed" | "unreadable")).count();
    if failed > 0 {
        return Err(CliError::failed(format!("{failed} message(s) kept in the queue: see above")));
    }
    Ok(())
}

fn print(done: &[Replayed], json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(done).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")));
        return;
    }
    if done.is_empty() {
        println!("the failure queue is empty");
    }
    for r in done {
        println!("{:<12} {:<28} {} ({})", r.outcome, r.function.as_deref().unwrap_or("-"), r.detail, r.message_id);
    }
}
