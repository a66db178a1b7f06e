//! canary: once a day, proves the whole pipeline end to end. In each account Firebreak may act
//! in (as audit-posture chooses them: [`Accounts::all_to_act_in`]) it checks that the
//! GuardDuty detector is enabled and asks it for one sample EC2 finding; it checks that
//! Firebreak's rules are enabled; then it reads quarantine-instance's log group for that
//! function's report of each sample (its metric line, `engine::metrics`, which names the
//! finding type and account). Samples are always skipped, so nothing is touched; the report
//! proves detector -> EventBridge -> rule -> function -> log. Any step that fails is a failed
//! step in the canary's own metric line, which an alarm watches (docs/operations.md).

pub mod action;
pub mod config;
pub mod execute;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use action::{plan, CanaryAction, Phase};
pub use config::CanaryConfig;
pub use execute::{is_report, CanaryError, Executor, Home};

use crate::accounts::Accounts;
use crate::case::case_id_for;
use crate::deadline::Deadline;
use crate::engine::{self, FunctionError, Report, Signal};
use crate::events::{schedule, ScheduledEvent};

pub const FUNCTION: &str = "canary";
/// An EC2 finding quarantine-instance's rule takes (ACTOR, severity 8).
pub const SAMPLE_FINDING_TYPE: &str = "CryptoCurrency:EC2/BitcoinTool.B!DNS";
/// The function whose report of the sample the canary waits for.
pub const REPORTED_BY: &str = "quarantine-instance";

/// One run: every check, every sample, the wait; the report's failed steps are what went wrong.
pub async fn run_canary(
    accounts: &Accounts,
    home: &Home,
    config: &CanaryConfig,
    event: &ScheduledEvent,
    deadline: Deadline,
) -> Result<Report, FunctionError> {
    let (to_check, _) = accounts.all_to_act_in(config.audit_organization).await?;
    let region = if event.region.is_empty() { accounts.home_region() } else { event.region.clone() };
    let signal = Signal {
        source: schedule::SOURCE.into(),
        kind: schedule::DETAIL_TYPE.into(),
        id: event.id.clone(),
        account: event.account_id.clone(),
        region: region.clone(),
        delivered_by: None,
        time: Some(event.time.clone()).filter(|t| !t.is_empty()),
    };
    let case_id = case_id_for(&event.id);
    let mut report = Report::new(FUNCTION, signal, format!("{} account(s) in {region}", to_check.len()), false);
    let since = SystemTime::now().checked_sub(Duration::from_secs(60)).unwrap_or(UNIX_EPOCH);
    let since_ms = since.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let executor = Executor::new(accounts, home, config, case_id.clone(), since_ms);
    engine::run(&plan(&case_id, &config.rules, &to_check, &region), &executor, deadline, &mut report).await;
    Ok(report)
}
