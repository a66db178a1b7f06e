//! What can go wrong at the terminal, each one sentence, and the exit code it ends with.

use std::process::ExitCode;

use thiserror::Error;

/// Exit codes: documented in docs/cli.md, relied on by scripts.
pub const FAILED: u8 = 1;
pub const INVALID: u8 = 2;
pub const REFUSED: u8 = 3;

#[derive(Debug, Error)]
pub enum CliError {
    /// Bad input: an argument, a case id, an event file, the configuration.
    #[error("{0}")]
    Invalid(String),
    /// Nothing was changed on purpose: not confirmed, or there was nothing to do.
    #[error("{0}")]
    Refused(String),
    /// Something failed: an AWS call, or the action's outcome.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn invalid(message: impl std::fmt::Display) -> Self {
        Self::Invalid(message.to_string())
    }

    pub fn failed(message: impl std::fmt::Display) -> Self {
        Self::Failed(message.to_string())
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Failed(_) => FAILED,
            Self::Invalid(_) => INVALID,
            Self::Refused(_) => REFUSED,
        })
    }
}

impl From<firebreak::engine::ConfigError> for CliError {
    fn from(error: firebreak::engine::ConfigError) -> Self {
        Self::invalid(format!("configuration: {error}"))
    }
}

impl From<firebreak::aws::AwsError> for CliError {
    fn from(error: firebreak::aws::AwsError) -> Self {
        Self::failed(error)
    }
}

impl From<firebreak::accounts::AccountError> for CliError {
    fn from(error: firebreak::accounts::AccountError) -> Self {
        use firebreak::accounts::AccountError;
        match error {
            e @ (AccountError::NotAllowed { .. } | AccountError::Invalid(_)) => Self::invalid(e),
            e => Self::failed(e),
        }
    }
}

impl From<firebreak::engine::FunctionError> for CliError {
    fn from(error: firebreak::engine::FunctionError) -> Self {
        match error.kind {
            "InvalidEvent" | "InvalidConfig" | "AccountNotAllowed" | "ResourceNotFound" => Self::invalid(error),
            _ => Self::failed(error),
        }
    }
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;
