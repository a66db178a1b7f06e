//! EventBridge Scheduler: the one-time schedules that invoke a function later, with
//! `{"approval_timeout": …}` (the end of an `approve_within` window) or `{"evidence_followup": …}`
//! (a copy of snapshots that were still pending).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_ec2::primitives::{DateTime, DateTimeFormat};
use aws_sdk_scheduler::types::{ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target};

use crate::aws::AwsError;

/// The scheduler client, with Firebreak's retry policy, attempt timeouts and retry recorder.
pub fn scheduler_client(config: &aws_config::SdkConfig) -> aws_sdk_scheduler::Client {
    aws_sdk_scheduler::Client::from_conf(
        aws_sdk_scheduler::config::Builder::from(config)
            .retry_config(crate::attempts::retry_config())
            .timeout_config(crate::attempts::timeout_config())
            .interceptor(crate::attempts::RetryRecorder)
            .build(),
    )
}

/// One schedule that fires once.
#[derive(Debug, Clone, PartialEq)]
pub struct OneTime {
    pub group: String,
    pub name: String,
    pub at: SystemTime,
    /// The function to invoke, and the role Scheduler invokes it as.
    pub target_arn: String,
    pub role_arn: String,
    pub input: String,
}

/// `at(yyyy-mm-ddThh:mm:ss)`, UTC (the schedule's default time zone), to the second.
pub fn at_expression(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let text =
        DateTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX)).fmt(DateTimeFormat::DateTime).unwrap_or_default();
    format!("at({})", text.trim_end_matches('Z'))
}

/// Creates the schedule; one that exists already (a redelivery made it) is left as it is.
pub async fn create_one_time(scheduler: &aws_sdk_scheduler::Client, schedule: &OneTime) -> Result<(), AwsError> {
    let invalid = |e: aws_sdk_scheduler::error::BuildError| AwsError {
        action: "CreateSchedule",
        code: "InvalidRequest".into(),
        message: e.to_string(),
    };
    let window = FlexibleTimeWindow::builder().mode(FlexibleTimeWindowMode::Off).build().map_err(invalid)?;
    let target = Target::builder()
        .arn(&schedule.target_arn)
        .role_arn(&schedule.role_arn)
        .input(&schedule.input)
        .build()
        .map_err(invalid)?;
    let created = scheduler
        .create_schedule()
        .group_name(&schedule.group)
        .name(&schedule.name)
        .schedule_expression(at_expression(schedule.at))
        .flexible_time_window(window)
        .target(target)
        .action_after_completion(ActionAfterCompletion::Delete)
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conflict_exception()) => Ok(()),
        Err(e) => Err(AwsError::from_sdk("CreateSchedule", e)),
    }
}

/// Deletes the schedule; false when it was not there (it fired, or none was made).
pub async fn delete_schedule(scheduler: &aws_sdk_scheduler::Client, group: &str, name: &str) -> Result<bool, AwsError> {
    match scheduler.delete_schedule().group_name(group).name(name).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(false),
        Err(e) => Err(AwsError::from_sdk("DeleteSchedule", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_is_utc_to_the_second() {
        let at = UNIX_EPOCH + std::time::Duration::from_millis(1_796_094_000_500);
        assert_eq!(at_expression(at), "at(2026-12-01T03:00:00)");
    }
}
