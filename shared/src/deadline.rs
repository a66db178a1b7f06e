//! The Lambda deadline: a function must finish with a report before it is killed mid-step.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Kept free at the end of an invocation to log, serialise and return the report.
pub const REPORT_MARGIN: Duration = Duration::from_millis(1500);

/// September 2001: no real Lambda deadline is earlier.
const PLAUSIBLE_EPOCH: Duration = Duration::from_secs(1_000_000_000);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Option<Instant>,
}

impl Deadline {
    /// No deadline: local runs and tests that do not care.
    pub const NONE: Deadline = Deadline { at: None };

    pub fn at(at: Instant) -> Self {
        Self { at: Some(at) }
    }

    pub fn after(duration: Duration) -> Self {
        Self::at(Instant::now() + duration)
    }

    /// From the Lambda context's deadline (epoch milliseconds). A value that cannot be an epoch
    /// time means "not set", not "already past": zero in a context built by hand, and local
    /// emulators (cargo lambda) that send the timeout itself, e.g. 600000.
    pub fn from_lambda(deadline: SystemTime) -> Self {
        if deadline < UNIX_EPOCH + PLAUSIBLE_EPOCH {
            return Self::NONE;
        }
        let left = deadline.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
        Self::after(left)
    }

    /// Time left for work, the report margin already taken off; `None` without a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.at.map(|at| at.saturating_duration_since(Instant::now()).saturating_sub(REPORT_MARGIN))
    }

    pub fn is_near(&self) -> bool {
        self.remaining().is_some_and(|left| left.is_zero())
    }

    /// Runs `work` until the deadline (less the report margin); `None` if time ran out first.
    pub async fn run<F: std::future::Future>(&self, work: F) -> Option<F::Output> {
        match self.remaining() {
            None => Some(work.await),
            Some(left) => tokio::time::timeout(left, work).await.ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unset_lambda_deadline_is_no_deadline() {
        assert_eq!(Deadline::from_lambda(UNIX_EPOCH), Deadline::NONE);
        assert_eq!(Deadline::from_lambda(UNIX_EPOCH + Duration::from_millis(600_000)), Deadline::NONE);
        assert_eq!(Deadline::NONE.remaining(), None);
        assert!(!Deadline::NONE.is_near());
    }

    #[test]
    fn the_report_margin_is_kept_free() {
        let soon = Deadline::after(Duration::from_millis(500));
        assert!(soon.is_near(), "less time left than the report needs");
        let later = Deadline::from_lambda(SystemTime::now() + Duration::from_secs(60));
        let left = later.remaining().unwrap();
        assert!(left > Duration::from_secs(55) && left < Duration::from_secs(60), "{left:?}");
    }

    #[tokio::test]
    async fn work_past_the_deadline_is_cut_off() {
        let cut = Deadline::after(REPORT_MARGIN + Duration::from_millis(20))
            .run(tokio::time::sleep(Duration::from_secs(30)))
            .await;
        assert!(cut.is_none());
        assert_eq!(Deadline::NONE.run(async { 7 }).await, Some(7));
    }
}
