//! Retries under fire: how hard each AWS call tries, and a record of what had to be retried.
//!
//! Remediation runs when the account may be throttled and the API flaky. Every client retries
//! throttling, 5xx and connection errors with capped exponential backoff; each attempt has a
//! timeout so that one hung call cannot eat the Lambda's time; and the retries are recorded
//! against the step that made them, so the report says what was retried.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ec2::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;

use crate::engine::report::millis;
use crate::engine::{StepOutcome, StepReport};

/// Attempts per call: with 30 % of requests throttled, eight attempts leave a call failing about
/// once in 15,000, and the capped backoff keeps the worst case to seconds, not minutes.
pub const MAX_ATTEMPTS: u32 = 8;
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(MAX_BACKOFF)
}

pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).operation_attempt_timeout(ATTEMPT_TIMEOUT).build()
}

tokio::task_local! {
    static RETRIES: Arc<Mutex<Recorded>>;
}

/// What a piece of work had to retry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    /// `"DescribeInstances (attempt 2)"` entries, in the order they happened.
    pub retries: Vec<String>,
    /// Attempts AWS answered with a throttling error (429, `Throttling`, `RequestLimitExceeded`, ...).
    pub throttled: u32,
}

/// Runs `work`, returning its output and the AWS operations it had to retry, as
/// `"DescribeInstances (attempt 2)"` entries in the order they happened.
pub async fn recording_retries<F: std::future::Future>(work: F) -> (F::Output, Vec<String>) {
    let (output, recorded) = recording_attempts(work).await;
    (output, recorded.retries)
}

/// Runs `work`, returning its output, its retries and how many of its attempts were throttled.
pub async fn recording_attempts<F: std::future::Future>(work: F) -> (F::Output, Recorded) {
    let log = Arc::new(Mutex::new(Recorded::default()));
    let output = RETRIES.scope(log.clone(), work).await;
    let recorded = log.lock().map(|l| l.clone()).unwrap_or_default();
    (output, recorded)
}

/// Notes a call Firebreak sent again itself (after the SDK gave up, or through another action) in
/// the current step's record, beside the SDK's own retries.
pub fn note_retry(entry: String) {
    let _ = RETRIES.try_with(|log| {
        if let Ok(mut log) = log.lock() {
            log.retries.push(entry);
        }
    });
}

/// The error codes AWS services answer throttling with (EC2, query, JSON and S3 protocols).
const THROTTLING: [&str; 5] = ["Throttl", "RequestLimitExceeded", "TooManyRequests", "SlowDown", "RequestThrottled"];

/// Whether a response is a throttling error: status 429, or an error status naming a throttling code.
pub fn is_throttling(status: u16, body: &[u8]) -> bool {
    let body = String::from_utf8_lossy(body);
    status == 429 || (status >= 400 && THROTTLING.iter().any(|code| body.contains(code)))
}

/// Whether an error code is a throttling one: the request was refused unread, so sending it again
/// cannot do anything twice (for calls the SDK must not retry, such as SSM SendCommand).
pub fn is_throttling_code(code: &str) -> bool {
    THROTTLING.iter().any(|throttling| code.contains(throttling))
}

/// The wait before attempt `attempt` (1-based) of a call retried by hand: full jitter under the
/// SDK's own capped exponential curve, so hand retries neither stampede nor synchronise.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_millis(50).saturating_mul(1 << attempt.min(10)).min(MAX_BACKOFF);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos());
    let fraction = f64::from(nanos.unwrap_or_default() % 1000) / 1000.0;
    ceiling.mul_f64(fraction)
}

/// Added to every client: notes each attempt after the first in the current step's record.
#[derive(Debug, Clone, Default)]
pub struct RetryRecorder;

impl Intercept for RetryRecorder {
    fn name(&self) -> &'static str {
        "FirebreakRetryRecorder"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt = cfg.load::<RequestAttempts>().map(|a| a.attempts()).unwrap_or(1);
        if attempt > 1 {
            let operation = cfg.load::<Metadata>().map(|m| m.name().to_string()).unwrap_or_else(|| "unknown".into());
            // Outside a recorded step (client set-up, tests) there is nobody to tell: that is fine.
            let _ = RETRIES.try_with(|log| {
                if let Ok(mut log) = log.lock() {
                    log.retries.push(format!("{operation} (attempt {attempt})"));
                }
            });
        }
        Ok(())
    }

    /// The body of a non-streaming response is in memory here: a throttling error is counted.
    fn read_after_deserialization(
        &self,
        context: &aws_sdk_ec2::config::interceptors::AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let status = response.status().as_u16();
        if status >= 400 && is_throttling(status, response.body().bytes().unwrap_or_default()) {
            let _ = RETRIES.try_with(|log| {
                if let Ok(mut log) = log.lock() {
                    log.throttled += 1;
                }
            });
        }
        Ok(())
    }
}

/// One call made outside a plan (a follow-up, an approval request) as a step: done with its detail, or failed with the error, and the AWS
/// calls it had to retry, like every step the engine runs.
pub async fn timed_step<F, Fut, E>(step: &'static str, resource: &str, act: F) -> StepReport
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String, E>>,
    E: ToString,
{
    let clock = Instant::now();
    let (result, retries) = recording_retries(act()).await;
    let (outcome, detail) = match result {
        Ok(detail) => (StepOutcome::Done, detail),
        Err(e) => (StepOutcome::Failed, e.to_string()),
    };
    let mut report = StepReport::new(step, resource, outcome, detail);
    report.duration_ms = millis(clock.elapsed());
    report.retries = retries;
    report
}
