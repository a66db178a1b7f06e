//! From any signal of a compromise to containment and word of it: quarantine-instance and
//! abuse-report.
//!
//! 1. The event becomes a trigger, with no AWS call: [`InstanceTrigger`] (a GuardDuty finding,
//!    Security Hub findings imported or chosen by an analyst; `instance`) or [`AbuseTrigger`] (an
//!    AWS Health abuse notice, an alarm; `abuse`, which resolves IP addresses and ranks traffic).
//! 2. The trigger's targets (instance + why) are quarantined, each in its own account and region,
//!    through the one quarantine plan (`run`).
//! 3. Follow-up (`follow_up`): the originating Security Hub finding is updated, a signal that was
//!    not a finding gets a finding of its own, and one summary goes to SNS. A follow-up failure is
//!    reported but never undoes or fails the containment. Snapshots still pending get a scheduled
//!    follow-up that copies them to the forensic account later (`evidence`).
//!
//! [`Response`] (`response`) is what the function returns and what the summary says.

pub mod abuse;
pub mod evidence;
pub mod follow_up;
pub mod instance;
pub mod response;
pub mod run;

use std::net::IpAddr;

use thiserror::Error;

pub use abuse::{respond_to_abuse, AbuseConfig, AbuseTrigger};
pub use evidence::{copy_pending_snapshots, follow_up_event};
pub use instance::{respond_to_instance, InstanceTrigger};
pub use response::{Response, Unresolved};

use crate::accounts::AccountError;
use crate::aws::AwsError;
use crate::engine::config::ConfigError;
use crate::engine::FunctionError;
use crate::events::EventError;
use crate::notify::NotifyConfig;
use crate::quarantine::{QuarantineConfig, QuarantineError};

/// Everything a responding function is configured with, read once per cold start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub quarantine: QuarantineConfig,
    pub notify: NotifyConfig,
    pub abuse: AbuseConfig,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            quarantine: QuarantineConfig::from_env()?.with_disk_evidence(|name| std::env::var(name).ok())?,
            notify: NotifyConfig::from_env()?,
            abuse: AbuseConfig::from_env()?,
        })
    }
}

/// Why one target could not be acted on. The response records it and goes on with the others.
#[derive(Debug, Error)]
pub enum RespondError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Quarantine(#[from] QuarantineError),
    #[error("could not resolve {ip}: {source}")]
    Resolve { ip: IpAddr, source: AwsError },
    #[error("could not rank instances by NetworkOut: {0}")]
    Ranking(AwsError),
}

impl From<RespondError> for FunctionError {
    fn from(error: RespondError) -> Self {
        match error {
            RespondError::Event(e) => e.into(),
            RespondError::Account(e) => e.into(),
            RespondError::Quarantine(e) => e.into(),
            e @ (RespondError::Resolve { .. } | RespondError::Ranking(_)) => FunctionError::new("AwsCallFailed", e),
        }
    }
}
