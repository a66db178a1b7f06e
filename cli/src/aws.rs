//! The responder's AWS session: their normal configuration (profile, region, SSO, and
//! `AWS_ENDPOINT_URL` for the emulator), the member-role settings the functions read, and the
//! ledger table.

use firebreak::accounts::{AccountClients, Accounts, AccountsConfig};
use firebreak::aws::cases::{self as ledger, Item};
use firebreak::cases::Ledger;
use firebreak::engine::config::CASES_TABLE;
use firebreak::engine::{CommonConfig, Signal};

use crate::error::{CliError, Result};

pub struct Session {
    pub accounts: Accounts,
    /// The case ledger's table (`--table`, else `FIREBREAK_CASES_TABLE`), validated as the
    /// functions validate it.
    pub table: Option<String>,
}

/// Who is at the terminal, as STS says.
pub struct Caller {
    pub arn: String,
    pub account: String,
}

impl Session {
    pub async fn load(table: Option<String>) -> Result<Self> {
        let table = table.or_else(|| std::env::var(CASES_TABLE).ok()).filter(|t| !t.is_empty());
        // One validation of the name, the functions' own.
        let table =
            CommonConfig::from_lookup(|name| if name == CASES_TABLE { table.clone() } else { None })?.cases_table;
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self { accounts: Accounts::new(&config, AccountsConfig::from_env()?), table })
    }

    pub fn table(&self) -> Result<&str> {
        self.table
            .as_deref()
            .ok_or_else(|| CliError::invalid(format!("no case ledger: pass --table NAME or set {CASES_TABLE}")))
    }

    /// The caller's identity ARN and account (STS GetCallerIdentity): who a case says acted.
    pub async fn caller(&self) -> Result<Caller> {
        let identity = self.accounts.home().sts.get_caller_identity().send().await.map_err(|e| {
            CliError::failed(format!(
                "cannot tell who you are (STS GetCallerIdentity failed: {}); check your AWS profile, region and credentials",
                firebreak::aws::AwsError::from_sdk("GetCallerIdentity", e)
            ))
        })?;
        Ok(Caller {
            arn: identity.arn().unwrap_or_default().to_string(),
            account: identity.account().unwrap_or_default().to_string(),
        })
    }

    /// The region the caller's configuration names, or the one given.
    pub fn region(&self, given: Option<&str>) -> Result<String> {
        let region = given.map(str::to_string).unwrap_or_else(|| self.accounts.home_region());
        if region.is_empty() {
            return Err(CliError::invalid("no AWS region: pass --region, or set AWS_REGION or a profile region"));
        }
        Ok(region)
    }

    /// The ledger a command writes its case to, as `cli:<caller ARN>`; none without a table.
    pub fn ledger(&self, caller: &Caller) -> Option<Ledger> {
        if self.table.is_none() {
            eprintln!(
                "note: no case ledger ({CASES_TABLE} or --table): no case is written; the resource tags still record every change"
            );
        }
        Ledger::of(self.accounts.home(), self.table.as_deref(), format!("cli:{}", caller.arn))
    }

    /// Clients in the signal's account and region (the member role in another account).
    pub async fn clients_for(&self, signal: &Signal, case_id: &str) -> Result<AccountClients> {
        Ok(self.accounts.clients_for_signal(signal, case_id).await?)
    }

    pub async fn case_item(&self, case_id: &str) -> Result<Item> {
        let table = self.table()?;
        ledger::get(&self.accounts.home().dynamodb, table, case_id)
            .await?
            .ok_or_else(|| CliError::invalid(format!("no case {case_id} in the ledger {table}")))
    }

    pub async fn case_items(&self) -> Result<Vec<Item>> {
        Ok(ledger::scan(&self.accounts.home().dynamodb, self.table()?).await?)
    }
}
