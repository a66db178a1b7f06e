//! Auditing every account Firebreak may act in: which accounts (Organizations, else the
//! allow-list), and one audit per account through its member role, each account's gaps written
//! as findings of that account (its Security Hub forwards them to the administrator).

use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use super::{audit_posture, PostureConfig, PostureReport, FUNCTION};
use crate::accounts::Accounts;
use crate::case::case_id_for;
use crate::deadline::Deadline;
use crate::engine::report::millis;
use crate::engine::{FunctionError, Outcome};
use crate::events::ScheduledEvent;

/// The run over every account: one report per account audited, an error per account that
/// could not be (its role could not be assumed, the deadline came first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrganizationReport {
    pub function: &'static str,
    pub outcome: Outcome,
    /// Where the list of accounts came from: `organizations` or `allow-list`.
    pub accounts_from: &'static str,
    pub reports: Vec<PostureReport>,
    pub errors: Vec<AccountFailure>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountFailure {
    pub account: String,
    /// The Lambda error type it would have been (`AssumeRoleFailed`, `DeadlineExceeded`, ...).
    pub kind: &'static str,
    pub message: String,
}

impl OrganizationReport {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self)
            .unwrap_or_else(|e| serde_json::json!({ "error": format!("report not serialisable: {e}") }))
    }
}

/// The accounts to audit: the function's own first, then Organizations' active accounts (when
/// enabled) or the allow-list; with both, only the listed accounts that are also allowed.
pub async fn accounts_to_audit(
    accounts: &Accounts,
    config: &PostureConfig,
) -> Result<(Vec<String>, &'static str), FunctionError> {
    accounts.all_to_act_in(config.audit_organization).await
}

/// Audits every account, one after the other under the one deadline (each audit is itself
/// parallel inside); an account the deadline leaves out is reported as such and the next run
/// covers it.
pub async fn audit_organization(
    accounts: &Accounts,
    config: &PostureConfig,
    event: &ScheduledEvent,
    deadline: Deadline,
) -> Result<OrganizationReport, FunctionError> {
    let clock = Instant::now();
    let (to_audit, accounts_from) = accounts_to_audit(accounts, config).await?;
    let case_id = case_id_for(&event.id);
    let mut run = OrganizationReport {
        function: FUNCTION,
        outcome: Outcome::Skipped,
        accounts_from,
        reports: Vec::new(),
        errors: Vec::new(),
        duration_ms: 0,
    };
    for account_id in to_audit {
        let fail = |error: FunctionError| AccountFailure {
            account: account_id.clone(),
            kind: error.kind,
            message: error.message,
        };
        if deadline.is_near() {
            run.errors.push(fail(FunctionError::new(
                "DeadlineExceeded",
                "not audited: the Lambda deadline came first; the next run covers it",
            )));
            continue;
        }
        match accounts.clients_for(&account_id, &event.region, &case_id).await {
            Err(error) => run.errors.push(fail(error.into())),
            Ok(member) => {
                let event = ScheduledEvent { account_id: account_id.clone(), ..event.clone() };
                match Box::pin(audit_posture(&member.clients, config, &event, deadline)).await {
                    Ok(report) => run.reports.push(crate::engine::metrics::emitted(report, |r| &r.report)),
                    Err(error) => run.errors.push(fail(error.into())),
                }
            }
        }
    }
    let worst = run.reports.iter().map(|r| r.report.outcome).fold(Outcome::Skipped, Outcome::worst);
    run.outcome = if run.errors.is_empty() { worst } else { worst.worst(Outcome::CompletedWithErrors) };
    run.duration_ms = millis(clock.elapsed());
    Ok(run)
}
