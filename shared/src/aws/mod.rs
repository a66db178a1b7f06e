//! Every AWS call Firebreak makes, one wrapper per SDK operation, each labelled
//! `.aws("Operation")` (from which infra/checks derives each function's IAM policy); the clients,
//! built once per cold start; and the error every AWS action reports.

pub mod addresses;
pub mod alarms;
pub mod cases;
pub mod cloudtrail;
pub mod disk_evidence;
pub mod ec2;
pub mod ecs;
pub mod event_rules;
pub mod failed_events;
pub mod fleet;
pub mod forensics;
pub mod guardduty;
pub mod iam;
pub mod interface_moves;
pub mod isolation;
pub mod lambda;
pub mod log_events;
pub mod metrics;
pub mod organizations;
pub mod parameters;
pub mod s3;
pub mod scheduler;
pub mod security_groups;
pub mod securityhub;
pub mod snapshots;
pub mod sns;
pub mod ssm;
pub mod tag_batch;
pub mod throttle;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata};
use thiserror::Error;

/// Every client a Firebreak function may use. Building them is cheap once the `SdkConfig` is
/// loaded; the config (and so `AWS_ENDPOINT_URL`, region, credentials) is resolved only once.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub securityhub: aws_sdk_securityhub::Client,
    pub sns: aws_sdk_sns::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub guardduty: aws_sdk_guardduty::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub organizations: aws_sdk_organizations::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub s3: aws_sdk_s3::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub scheduler: aws_sdk_scheduler::Client,
}

/// Builds one service client from the shared config, with Firebreak's retry policy, attempt
/// timeouts and retry recorder (see [`crate::attempts`]).
macro_rules! client {
    ($service:ident, $config:expr) => {
        $service::Client::from_conf(
            $service::config::Builder::from($config)
                .retry_config(crate::attempts::retry_config())
                .timeout_config(crate::attempts::timeout_config())
                .interceptor(crate::attempts::RetryRecorder)
                .build(),
        )
    };
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            ec2: client!(aws_sdk_ec2, config),
            autoscaling: client!(aws_sdk_autoscaling, config),
            elbv2: client!(aws_sdk_elasticloadbalancingv2, config),
            iam: client!(aws_sdk_iam, config),
            sts: client!(aws_sdk_sts, config),
            securityhub: client!(aws_sdk_securityhub, config),
            sns: client!(aws_sdk_sns, config),
            cloudwatch: client!(aws_sdk_cloudwatch, config),
            guardduty: client!(aws_sdk_guardduty, config),
            cloudtrail: client!(aws_sdk_cloudtrail, config),
            organizations: client!(aws_sdk_organizations, config),
            dynamodb: client!(aws_sdk_dynamodb, config),
            lambda: client!(aws_sdk_lambda, config),
            ecs: client!(aws_sdk_ecs, config),
            s3: s3_client(config),
            ssm: client!(aws_sdk_ssm, config),
            scheduler: client!(aws_sdk_scheduler, config),
        }
    }

    /// Loads region, credentials and endpoint the standard way (`AWS_ENDPOINT_URL` included), so
    /// the same binary talks to AWS or to a local emulator.
    pub async fn from_env() -> Self {
        Self::new(&aws_config::load_defaults(BehaviorVersion::latest()).await)
    }
}

/// S3 with Firebreak's retry policy; path-style addressing when an endpoint is set (an emulator
/// serves no bucket subdomains).
fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .retry_config(crate::attempts::retry_config())
            .timeout_config(crate::attempts::timeout_config())
            .interceptor(crate::attempts::RetryRecorder)
            .build(),
    )
}

/// A failed AWS call: which action, AWS's error code when there is one, and the message.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{action} failed: {code}: {message}")]
pub struct AwsError {
    pub action: &'static str,
    pub code: String,
    pub message: String,
}

impl AwsError {
    pub fn from_sdk<E>(action: &'static str, err: E) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error,
    {
        Self {
            action,
            code: err.code().unwrap_or("Unknown").to_string(),
            message: err.message().map(str::to_string).unwrap_or_else(|| DisplayErrorContext(&err).to_string()),
        }
    }

    pub fn is_code(&self, code: &str) -> bool {
        self.code == code
    }
}

/// Shorthand for `map_err(AwsError::from_sdk)` at every call site.
pub trait AwsResultExt<T> {
    fn aws(self, action: &'static str) -> Result<T, AwsError>;
}

impl<T, E> AwsResultExt<T> for Result<T, E>
where
    E: ProvideErrorMetadata + std::error::Error,
{
    fn aws(self, action: &'static str) -> Result<T, AwsError> {
        self.map_err(|err| AwsError::from_sdk(action, err))
    }
}
