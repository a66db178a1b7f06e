//! The reads, through the aws/ wrappers. Each source is read once, by the first check that needs
//! it (its step then lists the read's retried calls); the checks that share it wait for it. A read
//! that fails is kept as its error: the checks it serves report it and decide nothing.

use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use super::checks::Source;
pub use crate::aws::alarms::AlarmFacts;
pub use crate::aws::iam::AccountSummary;
use crate::aws::{alarms, cloudtrail, guardduty, iam, security_groups, AwsError, Clients};
pub use crate::exposure::GroupFacts;

/// An IAM user's console and key facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserFacts {
    pub user_name: String,
    pub arn: String,
    pub console_access: bool,
    pub mfa_devices: usize,
    pub access_keys: Vec<AccessKeyFacts>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessKeyFacts {
    pub access_key_id: String,
    pub active: bool,
    /// Seconds since the epoch.
    pub created: i64,
    pub last_used: Option<i64>,
}

/// Everything read about the account. `Err` holds why a check could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct PostureFacts {
    pub account_id: String,
    pub region: String,
    pub guardduty_enabled: Result<bool, AwsError>,
    /// The ARN of a multi-region trail that is logging, if any.
    pub logging_multi_region_trail: Result<Option<String>, AwsError>,
    pub root: Result<AccountSummary, AwsError>,
    pub users: Result<Vec<UserFacts>, AwsError>,
    pub groups: Result<Vec<GroupFacts>, AwsError>,
    pub alarms: Result<Vec<AlarmFacts>, AwsError>,
}

impl PostureFacts {
    /// Nothing read yet: each source holds the reason it has no answer.
    pub fn unread(account_id: &str, region: &str) -> Self {
        let missing = |source: Source| AwsError {
            action: source.operation(),
            code: "NotRead".into(),
            message: "not read in this run (cut off at the Lambda deadline)".into(),
        };
        Self {
            account_id: account_id.to_string(),
            region: region.to_string(),
            guardduty_enabled: Err(missing(Source::Detectors)),
            logging_multi_region_trail: Err(missing(Source::Trails)),
            root: Err(missing(Source::AccountSummary)),
            users: Err(missing(Source::Users)),
            groups: Err(missing(Source::SecurityGroups)),
            alarms: Err(missing(Source::Alarms)),
        }
    }
}

/// Reads the sources on demand and keeps what they returned.
pub struct Observer<'a> {
    clients: &'a Clients,
    facts: Mutex<PostureFacts>,
    /// Per source: held while it is read, true once it has been. Async, so the checks that share
    /// a source wait for the one reading it.
    read: [futures::lock::Mutex<bool>; Source::ALL.len()],
}

impl<'a> Observer<'a> {
    pub fn new(clients: &'a Clients, account_id: &str, region: &str) -> Self {
        Self { clients, facts: Mutex::new(PostureFacts::unread(account_id, region)), read: Default::default() }
    }

    /// Reads the source unless it has been read already.
    pub async fn read(&self, source: Source) {
        let mut read = self.read[source.index()].lock().await;
        if *read {
            return;
        }
        let clients = self.clients;
        match source {
            Source::Detectors => {
                let result = guardduty_enabled(&clients.guardduty).await;
                self.store(|facts| facts.guardduty_enabled = result);
            }
            Source::Trails => {
                let result = logging_multi_region_trail(&clients.cloudtrail).await;
                self.store(|facts| facts.logging_multi_region_trail = result);
            }
            Source::AccountSummary => {
                let result = iam::account_summary(&clients.iam).await;
                self.store(|facts| facts.root = result);
            }
            Source::Users => {
                let result = users(&clients.iam).await;
                self.store(|facts| facts.users = result);
            }
            Source::SecurityGroups => {
                let result = security_groups::read_groups(&clients.ec2, None).await;
                self.store(|facts| facts.groups = result);
            }
            Source::Alarms => {
                let result = alarms::describe_alarms(&clients.cloudwatch).await;
                self.store(|facts| facts.alarms = result);
            }
        }
        *read = true;
    }

    /// What has been read so far.
    pub fn with_facts<T>(&self, f: impl FnOnce(&PostureFacts) -> T) -> T {
        f(&self.facts.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn store(&self, f: impl FnOnce(&mut PostureFacts)) {
        f(&mut self.facts.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// Whether any detector of the region is enabled.
async fn guardduty_enabled(client: &aws_sdk_guardduty::Client) -> Result<bool, AwsError> {
    for detector_id in guardduty::list_detectors(client).await? {
        if guardduty::detector_enabled(client, &detector_id).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The first multi-region trail found logging.
async fn logging_multi_region_trail(client: &aws_sdk_cloudtrail::Client) -> Result<Option<String>, AwsError> {
    for trail in cloudtrail::multi_region_trails(client).await? {
        if cloudtrail::is_logging(client, &trail).await? {
            return Ok(Some(trail));
        }
    }
    Ok(None)
}

/// Every user with its console password, MFA devices and keys (the three read side by side).
async fn users(client: &aws_sdk_iam::Client) -> Result<Vec<UserFacts>, AwsError> {
    let mut users = Vec::new();
    for (user_name, arn) in iam::list_users(client).await? {
        let (console_access, mfa_devices, keys) = tokio::join!(
            iam::has_login_profile(client, &user_name),
            iam::mfa_device_count(client, &user_name),
            iam::access_key_metadata(client, &user_name),
        );
        let (console_access, mfa_devices) = (console_access?, mfa_devices?);
        let mut access_keys = Vec::new();
        for key in keys? {
            access_keys.push(AccessKeyFacts {
                last_used: iam::access_key_last_used(client, &key.access_key_id).await?,
                access_key_id: key.access_key_id,
                active: key.active,
                created: key.created,
            });
        }
        users.push(UserFacts { user_name, arn, console_access, mfa_devices, access_keys });
    }
    Ok(users)
}
