//! EC2's throttling outlasted. EC2 throttles each API action with its own token bucket, and its
//! mutating actions refill slowly (ModifyNetworkInterfaceAttribute and CreateSnapshots 5 tokens a
//! second, CreateTags 10: "Request throttling for the Amazon EC2 API"). A burst of findings — ten
//! functions containing a hundred instances — empties the bucket in a second, and the calls
//! beyond it must wait for the refill: tens of seconds, far more than the SDK's eight attempts
//! (and its retry quota) cover. So a throttled call is tried again here, until the Lambda
//! deadline cuts the step off, after a full-jitter pause sized to the refill: the waiting calls
//! of every process neither stampede nor synchronise, and a token is taken soon after it arrives.
//! Preservation waits longer than containment, so the moves get the tokens first; and while any
//! containment call of the process waits for a token, no preservation call is sent at all (the
//! termination settings share ModifyInstanceAttribute's bucket with the moves of sole ENIs).

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::AwsError;

/// Which calls a token goes to first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// The isolation moves and the records that come before them.
    Containment,
    /// Snapshots, termination settings, the instance profile, the case's tags: after the moves.
    Preservation,
}

/// The first pause's bound: about one token of a 5-a-second bucket.
const FIRST_WINDOW: Duration = Duration::from_millis(250);
/// The pause's bound at most: with ten processes waiting, a call is tried about once a second.
const MAX_WINDOW: Duration = Duration::from_secs(2);
/// Preservation's pauses are this many times longer, leaving the tokens to the moves.
const PRESERVATION_FACTOR: u32 = 4;
/// Beyond this a call gives up even without a deadline (local runs, tests).
const PATIENCE: Duration = Duration::from_secs(300);
/// How often a preservation call looks again whether containment still waits.
const YIELD_POLL: Duration = Duration::from_millis(50);

/// Containment calls of this process that were throttled and are not through yet.
static CONTAINMENT_WAITING: AtomicUsize = AtomicUsize::new(0);

/// One containment call counted in [`CONTAINMENT_WAITING`] until it ends, however it ends.
struct Waiting;

impl Waiting {
    fn new() -> Self {
        CONTAINMENT_WAITING.fetch_add(1, Ordering::Relaxed);
        Self
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        CONTAINMENT_WAITING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A preservation call's turn: none while a containment call waits for a token.
async fn after_containment(started: Instant) {
    while CONTAINMENT_WAITING.load(Ordering::Relaxed) > 0 && started.elapsed() < PATIENCE {
        tokio::time::sleep(YIELD_POLL).await;
    }
}

/// The throttling error codes of EC2 (and the other query services).
pub fn is_throttled(error: &AwsError) -> bool {
    matches!(
        error.code.as_str(),
        "RequestLimitExceeded" | "Throttling" | "ThrottlingException" | "TooManyRequestsException"
    )
}

/// The pause before try `round` (1-based): uniform in [0, window), the window doubling from
/// [`FIRST_WINDOW`] up to [`MAX_WINDOW`] ("full jitter").
pub fn pause(priority: Priority, round: u32, random: u64) -> Duration {
    let window = FIRST_WINDOW.saturating_mul(1 << round.saturating_sub(1).min(8)).min(MAX_WINDOW);
    let window = match priority {
        Priority::Containment => window,
        Priority::Preservation => window * PRESERVATION_FACTOR,
    };
    window.mul_f64((random % 1_000_000) as f64 / 1_000_000.0)
}

fn random() -> u64 {
    // Each RandomState is freshly keyed: enough randomness for a jitter, no dependency.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    hasher.finish()
}

/// Runs `call` until it is not throttled (or [`PATIENCE`] is spent), pausing between tries.
pub async fn persist<T, F, Fut>(priority: Priority, mut call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let started = Instant::now();
    let mut round = 0;
    let mut waiting = None;
    loop {
        if priority == Priority::Preservation {
            after_containment(started).await;
        }
        match call().await {
            Err(error) if is_throttled(&error) && started.elapsed() < PATIENCE => {
                crate::attempts::note_retry(format!("{} (again after throttling)", error.action));
                if priority == Priority::Containment {
                    waiting.get_or_insert_with(Waiting::new);
                }
                round += 1;
                tokio::time::sleep(pause(priority, round, random())).await;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_are_jittered_within_a_window_that_doubles_to_a_cap() {
        assert_eq!(pause(Priority::Containment, 1, 0), Duration::ZERO);
        assert!(pause(Priority::Containment, 1, 999_999) < FIRST_WINDOW);
        assert!(pause(Priority::Containment, 2, 999_999) > FIRST_WINDOW);
        assert!(pause(Priority::Containment, 30, 999_999) < MAX_WINDOW);
        assert!(pause(Priority::Preservation, 30, 999_999) > MAX_WINDOW);
        assert_ne!(random(), random(), "two waiting calls do not pause alike");
    }

    #[tokio::test]
    async fn a_throttled_call_is_tried_again_and_other_errors_are_not() {
        let mut tries = 0;
        let result = persist(Priority::Containment, || {
            tries += 1;
            let throttled = tries < 3;
            async move {
                if throttled {
                    Err(AwsError { action: "CreateTags", code: "RequestLimitExceeded".into(), message: String::new() })
                } else {
                    Ok(tries)
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), 3);
        let mut tries = 0;
        let result: Result<(), _> = persist(Priority::Containment, || {
            tries += 1;
            async { Err(AwsError { action: "CreateTags", code: "InvalidID".into(), message: String::new() }) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(tries, 1);
    }
}
