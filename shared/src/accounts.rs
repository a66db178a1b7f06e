//! Acting in the account (and region) a finding belongs to.
//!
//! Security Hub aggregates GuardDuty findings from member accounts into one administrator account,
//! so the instance a finding names is often in another account than the function. Firebreak then
//! assumes a member role there (`arn:aws:iam::<account>:role/<FIREBREAK_MEMBER_ROLE_NAME>`, with an
//! external id, and a session name naming the case, which CloudTrail records) and acts with those
//! credentials. An allow-list, when set, bounds which accounts may be acted in at all.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_sts::config::{Credentials, Region, SharedCredentialsProvider};
use thiserror::Error;

use crate::aws::{AwsError, AwsResultExt, Clients};
use crate::engine::config::ConfigError;
use crate::engine::Signal;
use crate::events::{validate_account_id, validate_region};

pub const MEMBER_ROLE_NAME: &str = "FIREBREAK_MEMBER_ROLE_NAME";
pub const EXTERNAL_ID: &str = "FIREBREAK_EXTERNAL_ID";
pub const ALLOWED_ACCOUNTS: &str = "FIREBREAK_ALLOWED_ACCOUNTS";
/// "true": a run over every account (audit-posture, the canary) covers Organizations' active accounts.
pub const AUDIT_ORGANIZATION: &str = "FIREBREAK_AUDIT_ORGANIZATION";

/// Credentials are renewed this long before they expire, so that no step runs on expiring ones.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, Clone, PartialEq)]
pub struct AccountsConfig {
    pub member_role_name: String,
    pub external_id: Option<String>,
    /// When set, only these accounts (and the function's own) are acted in.
    pub allowed_accounts: Option<BTreeSet<String>>,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self { member_role_name: "FirebreakMember".into(), external_id: None, allowed_accounts: None }
    }
}

impl AccountsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let member_role_name = match lookup(MEMBER_ROLE_NAME).filter(|v| !v.trim().is_empty()) {
            None => defaults.member_role_name,
            Some(v) if v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)) => v,
            Some(value) => {
                return Err(ConfigError::Invalid {
                    name: MEMBER_ROLE_NAME,
                    value,
                    why: "an IAM role name is 1-64 characters of letters, digits and +=,.@_-",
                })
            }
        };
        let external_id = match lookup(EXTERNAL_ID).filter(|v| !v.is_empty()) {
            None => None,
            Some(v)
                if (2..=1224).contains(&v.len())
                    && v.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c)) =>
            {
                Some(v)
            }
            Some(value) => {
                return Err(ConfigError::Invalid {
                    name: EXTERNAL_ID,
                    value,
                    why: "an external id is 2-1224 characters of letters, digits and +=,.@:/-_",
                })
            }
        };
        let allowed_accounts = match lookup(ALLOWED_ACCOUNTS).filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(value) => {
                let accounts: BTreeSet<String> =
                    value.split(',').map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
                if accounts.iter().any(|a| validate_account_id("account", a).is_err()) {
                    return Err(ConfigError::Invalid {
                        name: ALLOWED_ACCOUNTS,
                        value,
                        why: "expected a comma-separated list of 12-digit account ids",
                    });
                }
                Some(accounts)
            }
        };
        Ok(Self { member_role_name, external_id, allowed_accounts })
    }

    pub fn role_arn(&self, account_id: &str) -> String {
        format!("arn:aws:iam::{account_id}:role/{}", self.member_role_name)
    }
}

#[derive(Debug, Error)]
pub enum AccountError {
    #[error("account {account_id} is not in FIREBREAK_ALLOWED_ACCOUNTS ({allowed}): no action taken")]
    NotAllowed { account_id: String, allowed: String },
    #[error("invalid account: {0}")]
    Invalid(#[from] crate::events::EventError),
    #[error("cannot act in account {account_id} through {role_arn}: {source}")]
    AssumeRole { account_id: String, role_arn: String, source: AwsError },
    #[error("cannot tell which account this function runs in: {0}")]
    Identity(AwsError),
    /// An event about one account delivered by a third: only the account itself, or the
    /// administrator the function runs in, may deliver it. A forged or misrouted event.
    #[error("the event was delivered by account {delivered_by} but is about account {about}: only {about} itself or this function's account {own} may deliver it; no action taken")]
    ForeignDelivery { delivered_by: String, about: String, own: String },
}

/// Clients for one account and region, and how they were obtained.
#[derive(Debug, Clone)]
pub struct AccountClients {
    pub clients: Clients,
    pub account_id: String,
    pub region: String,
    /// The member role assumed, or None in the function's own account.
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
}

#[derive(Debug, Clone)]
struct Cached {
    clients: AccountClients,
    expires: Option<SystemTime>,
}

/// Cached clients: by account, region and, in member accounts, the case whose session they are.
type CacheKey = (String, String, String);

/// Hands out clients per account and region; built once per cold start and kept for the life of
/// the warm container, so the caller identity and a case's assumed-role credentials are reused.
#[derive(Debug)]
pub struct Accounts {
    base: SdkConfig,
    home: Clients,
    config: AccountsConfig,
    own_account: Mutex<Option<String>>,
    /// The ARN Lambda invoked the function by: what a schedule of it invokes later.
    invoked_function: Mutex<Option<String>>,
    cache: Mutex<HashMap<CacheKey, Cached>>,
    /// The response policy of an acting function ([`crate::approval`]); none: act on every plan.
    approvals: Option<std::sync::Arc<crate::approval::Approvals>>,
}

impl Accounts {
    pub fn new(base: &SdkConfig, config: AccountsConfig) -> Self {
        Self::with_home(base, Clients::new(base), config)
    }

    /// Accounts whose own-account clients are the ones given (a test that mocks one service).
    pub fn with_home(base: &SdkConfig, home: Clients, config: AccountsConfig) -> Self {
        Self {
            home,
            base: base.clone(),
            config,
            own_account: Mutex::new(None),
            invoked_function: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
            approvals: None,
        }
    }

    /// The same accounts, deciding with this response policy.
    pub fn with_approvals(self, approvals: std::sync::Arc<crate::approval::Approvals>) -> Self {
        Self { approvals: Some(approvals), ..self }
    }

    pub fn approvals(&self) -> Option<std::sync::Arc<crate::approval::Approvals>> {
        self.approvals.clone()
    }

    /// The configuration the clients are built from (region, credentials, endpoint).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.base
    }

    /// Region, credentials and endpoint the standard way, configuration from the environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = AccountsConfig::from_env()?;
        Ok(Self::new(&aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await, config))
    }

    /// The function's own clients (its own account and region).
    pub fn home(&self) -> &Clients {
        &self.home
    }

    pub fn home_region(&self) -> String {
        self.base.region().map(|r| r.to_string()).unwrap_or_default()
    }

    pub fn config(&self) -> &AccountsConfig {
        &self.config
    }

    /// Learns the function's own account from the ARN Lambda invoked it by
    /// (`arn:aws:lambda:<region>:<account>:function:<name>`), which saves the STS call; anything
    /// else (a test's empty context) is ignored.
    pub fn invoked_as(&self, invoked_function_arn: &str) {
        let account = invoked_function_arn.split(':').nth(4).unwrap_or_default();
        if validate_account_id("account", account).is_ok() {
            if let Ok(mut guard) = self.own_account.lock() {
                guard.get_or_insert_with(|| account.to_string());
            }
            if let Ok(mut guard) = self.invoked_function.lock() {
                *guard = Some(invoked_function_arn.to_string());
            }
        }
    }

    /// The ARN the function was last invoked by, once an invocation told it.
    pub fn invoked_function_arn(&self) -> Option<String> {
        self.invoked_function.lock().ok().and_then(|guard| guard.clone())
    }

    /// Every account a run over all of them covers (audit-posture, the canary): the function's
    /// own first, then Organizations' active accounts (`organization`) or the allow-list; with
    /// both, only the listed accounts that are also allowed. With where the list came from.
    pub async fn all_to_act_in(
        &self,
        organization: bool,
    ) -> Result<(Vec<String>, &'static str), crate::engine::FunctionError> {
        let own = self.own_account_id().await?;
        let allowed = self.config.allowed_accounts.clone();
        let (listed, from): (BTreeSet<String>, _) = if organization {
            let active = crate::aws::organizations::active_accounts(&self.home.organizations).await?;
            let active = active.into_iter().filter(|a| allowed.as_ref().is_none_or(|allowed| allowed.contains(a)));
            (active.collect(), "organizations")
        } else {
            (allowed.unwrap_or_default(), "allow-list")
        };
        let mut all = vec![own.clone()];
        all.extend(listed.into_iter().filter(|a| *a != own));
        Ok((all, from))
    }

    /// The account the function runs in (STS GetCallerIdentity, asked once per container).
    pub async fn own_account_id(&self) -> Result<String, AccountError> {
        if let Some(id) = self.own_account.lock().ok().and_then(|g| g.clone()) {
            return Ok(id);
        }
        let identity = self
            .home
            .sts
            .get_caller_identity()
            .send()
            .await
            .aws("GetCallerIdentity")
            .map_err(AccountError::Identity)?;
        let id = identity.account().unwrap_or_default().to_string();
        if let Ok(mut guard) = self.own_account.lock() {
            *guard = Some(id.clone());
        }
        Ok(id)
    }

    /// Refuses, before any other call, an account outside the allow-list.
    pub fn check_allowed(&self, account_id: &str, own_account: &str) -> Result<(), AccountError> {
        validate_account_id("account", account_id)?;
        match &self.config.allowed_accounts {
            Some(allowed) if account_id != own_account && !allowed.contains(account_id) => {
                Err(AccountError::NotAllowed {
                    account_id: account_id.to_string(),
                    allowed: allowed.iter().cloned().collect::<Vec<_>>().join(","),
                })
            }
            _ => Ok(()),
        }
    }

    /// The one rule for who may deliver a signal: the account it is about, or the function's own
    /// account (the GuardDuty / Security Hub administrator, the Health organisational view).
    /// Checked before anything the signal names is read.
    pub async fn check_delivery(&self, signal: &Signal) -> Result<(), AccountError> {
        validate_account_id("account", &signal.account)?;
        let Some(delivered_by) = signal.delivered_by.as_deref().filter(|d| *d != signal.account) else {
            return Ok(());
        };
        let own = self.own_account_id().await?;
        if delivered_by == own {
            return Ok(());
        }
        Err(AccountError::ForeignDelivery {
            delivered_by: delivered_by.to_string(),
            about: signal.account.clone(),
            own,
        })
    }

    /// Clients that act where the signal says (its account and region), once the delivery is
    /// checked, under a session named after the case.
    pub async fn clients_for_signal(&self, signal: &Signal, case_id: &str) -> Result<AccountClients, AccountError> {
        self.check_delivery(signal).await?;
        self.clients_for(&signal.account, &signal.region, case_id).await
    }

    /// Clients that act in `account_id` / `region` (empty region: the function's own). The
    /// function's own account uses its own credentials; any other assumes the member role, in a
    /// session named after the case, so CloudTrail tells which case made which call.
    pub async fn clients_for(
        &self,
        account_id: &str,
        region: &str,
        case_id: &str,
    ) -> Result<AccountClients, AccountError> {
        let own = self.own_account_id().await?;
        self.check_allowed(account_id, &own)?;
        let home_region = self.home_region();
        let region = if region.is_empty() { home_region.clone() } else { region.to_string() };
        validate_region("region", &region)?;
        let session = if account_id == own { String::new() } else { case_id.to_string() };
        let key = (account_id.to_string(), region.clone(), session);
        if let Some(cached) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            let fresh = cached.expires.is_none_or(|at| at > SystemTime::now() + RENEW_BEFORE_EXPIRY);
            if fresh {
                return Ok(cached.clients);
            }
        }
        let (clients, expires) = if account_id == own {
            let clients = if region == home_region {
                self.home.clone()
            } else {
                Clients::new(&self.base.to_builder().region(Region::new(region.clone())).build())
            };
            (
                AccountClients { clients, account_id: own, region: region.clone(), role_arn: None, session_name: None },
                None,
            )
        } else {
            self.assume(account_id, &region, case_id).await?
        };
        if let Ok(mut cache) = self.cache.lock() {
            // A warm container works one invocation at a time: sessions of earlier cases are not
            // reused (they would sign this case's calls with their name), so they are dropped.
            cache.retain(|(_, _, session), _| session.is_empty() || *session == key.2);
            cache.insert(key, Cached { clients: clients.clone(), expires });
        }
        Ok(clients)
    }

    async fn assume(
        &self,
        account_id: &str,
        region: &str,
        case_id: &str,
    ) -> Result<(AccountClients, Option<SystemTime>), AccountError> {
        let role_arn = self.config.role_arn(account_id);
        // Session names are at most 64 characters of [\w+=,.@-]; case ids are `fb-<16 hex>`.
        let session_name: String = format!("firebreak-{case_id}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c))
            .take(64)
            .collect();
        let assumed = self
            .home
            .sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(&session_name)
            .set_external_id(self.config.external_id.clone())
            .send()
            .await
            .aws("AssumeRole")
            .map_err(|source| AccountError::AssumeRole {
                account_id: account_id.to_string(),
                role_arn: role_arn.clone(),
                source,
            })?;
        let missing = || AccountError::AssumeRole {
            account_id: account_id.to_string(),
            role_arn: role_arn.clone(),
            source: AwsError {
                action: "AssumeRole",
                code: "NoCredentials".into(),
                message: "no credentials returned".into(),
            },
        };
        let creds = assumed.credentials().ok_or_else(missing)?;
        let expires = SystemTime::try_from(*creds.expiration()).ok();
        let credentials = Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_string()),
            expires,
            "firebreak-member-role",
        );
        let config = self
            .base
            .to_builder()
            .region(Region::new(region.to_string()))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        Ok((
            AccountClients {
                clients: Clients::new(&config),
                account_id: account_id.to_string(),
                region: region.to_string(),
                role_arn: Some(role_arn),
                session_name: Some(session_name),
            },
            expires,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<AccountsConfig, ConfigError> {
        let vars: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        AccountsConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn reads_role_external_id_and_allow_list() {
        let config = from(&[
            (MEMBER_ROLE_NAME, "IncidentResponder"),
            (EXTERNAL_ID, "firebreak-7f3a"),
            (ALLOWED_ACCOUNTS, "222222222222, 333333333333"),
        ])
        .unwrap();
        assert_eq!(config.role_arn("222222222222"), "arn:aws:iam::222222222222:role/IncidentResponder");
        assert_eq!(config.external_id.as_deref(), Some("firebreak-7f3a"));
        assert_eq!(config.allowed_accounts.unwrap().len(), 2);
        assert_eq!(from(&[]).unwrap(), AccountsConfig::default());
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(from(&[(ALLOWED_ACCOUNTS, "2222,abc")]).unwrap_err().to_string().contains(ALLOWED_ACCOUNTS));
        assert!(from(&[(MEMBER_ROLE_NAME, "role/with/slash")]).is_err());
        assert!(from(&[(EXTERNAL_ID, "x")]).is_err());
    }
}
