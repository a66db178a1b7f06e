//! What a failed invocation tells Lambda: an `errorType` a person and an alarm can read, and a
//! message of a sentence or two. The full detail stays in the steps' log lines.

use lambda_runtime::Diagnostic;

use super::report::{StepOutcome, StepReport};

/// Longest message handed to Lambda: the error of an AWS call can carry a whole HTTP response.
pub const MAX_MESSAGE: usize = 480;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct FunctionError {
    /// `InvalidEvent`, `InvalidConfig`, `AccountNotAllowed`, `ResourceNotFound`, `AwsCallFailed`,
    /// `ContainmentFailed`, `DeadlineExceeded`.
    pub kind: &'static str,
    pub message: String,
}

impl FunctionError {
    pub fn new(kind: &'static str, message: impl std::fmt::Display) -> Self {
        Self { kind, message: shorten(&message.to_string()) }
    }

    /// A report whose containment failed: Lambda retries the event, then its failure destination
    /// receives it. The message names the resource, the case and the failed steps.
    pub fn containment_failed(resource: &str, case_id: Option<&str>, steps: &[StepReport]) -> Self {
        let failed: Vec<String> = steps
            .iter()
            .filter(|s| s.outcome == StepOutcome::Failed)
            .map(|s| format!("{} {}: {}", s.step, s.resource, s.detail))
            .collect();
        Self::new(
            "ContainmentFailed",
            format!("containment failed for {resource} (case {}): {}", case_id.unwrap_or("-"), failed.join("; ")),
        )
    }
}

/// At most [`MAX_MESSAGE`] bytes, cut at a character boundary, with an ellipsis when cut.
fn shorten(message: &str) -> String {
    if message.len() <= MAX_MESSAGE {
        return message.to_string();
    }
    let mut end = MAX_MESSAGE - 3;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &message[..end])
}

impl From<FunctionError> for Diagnostic {
    fn from(error: FunctionError) -> Self {
        Diagnostic { error_type: error.kind.to_string(), error_message: error.message }
    }
}

impl From<crate::events::EventError> for FunctionError {
    fn from(error: crate::events::EventError) -> Self {
        Self::new("InvalidEvent", error)
    }
}

impl From<crate::aws::AwsError> for FunctionError {
    fn from(error: crate::aws::AwsError) -> Self {
        Self::new("AwsCallFailed", error)
    }
}

impl From<super::config::ConfigError> for FunctionError {
    fn from(error: super::config::ConfigError) -> Self {
        Self::new("InvalidConfig", error)
    }
}

impl From<crate::accounts::AccountError> for FunctionError {
    fn from(error: crate::accounts::AccountError) -> Self {
        use crate::accounts::AccountError;
        let kind = match &error {
            AccountError::NotAllowed { .. } => "AccountNotAllowed",
            AccountError::Invalid(_) => "InvalidEvent",
            AccountError::AssumeRole { .. } => "AssumeRoleFailed",
            AccountError::Identity(_) => "AwsCallFailed",
            AccountError::ForeignDelivery { .. } => "AccountNotAllowed",
        };
        Self::new(kind, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_stay_short_and_types_readable() {
        let long = FunctionError::new("AwsCallFailed", "é".repeat(2000));
        assert!(long.message.len() <= MAX_MESSAGE && long.message.ends_with("..."));
        let diagnostic = Diagnostic::from(FunctionError::new("InvalidEvent", "malformed event: x"));
        assert_eq!(diagnostic.error_type, "InvalidEvent");
        assert_eq!(diagnostic.error_message, "malformed event: x");
    }
}
