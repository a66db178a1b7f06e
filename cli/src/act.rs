//! `firebreak quarantine` and `firebreak revoke`: the functions' own plans, run for a responder.
//! Each plans first (a dry run of the same request, printed step by step), asks, then acts and
//! writes its case into the ledger as the functions do, with source `cli` and the caller's ARN.

use std::time::SystemTime;

use firebreak::case::case_id_for;
use firebreak::cases::invocation_token;
use firebreak::deadline::Deadline;
use firebreak::engine::report::timestamp;
use firebreak::engine::{Outcome, Signal};
use firebreak::quarantine::{self, QuarantineConfig, QuarantineError, QuarantineRequest};
use firebreak::revoke::{self, RevokeConfig, RevokeError, RevokeRequest, Target};
use firebreak::Report;

use crate::aws::Session;
use crate::confirm::confirm;
use crate::error::{CliError, Result};
use crate::render;

/// What every acting command takes.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub dry_run: bool,
    pub yes: bool,
}

/// The signal of one command: a fresh id, so each command is a case of its own.
pub fn cli_signal(verb: &str, account: String, region: String) -> Signal {
    Signal {
        source: "cli".into(),
        kind: format!("firebreak {verb}"),
        id: format!("cli/{verb}/{}", invocation_token()),
        account,
        region,
        delivered_by: None,
        time: Some(timestamp(SystemTime::now())),
    }
}

/// How a finished action ends the command: what was asked for is success; a decision not to act
/// is a refusal (nothing changed); any failed step is a failure.
pub fn exit_of(report: &Report, what: &str) -> Result<()> {
    println!("{}", render::summary(report));
    let case = report.case_id.as_deref().map(|c| format!(" (case {c})")).unwrap_or_default();
    match report.outcome {
        Outcome::Contained | Outcome::Completed | Outcome::Planned => Ok(()),
        Outcome::Skipped => Err(CliError::Refused(format!(
            "{what}: nothing to do, nothing was changed: {}",
            report.reason.as_deref().unwrap_or("see the steps above")
        ))),
        Outcome::ContainedWithErrors | Outcome::CompletedWithErrors => {
            Err(CliError::failed(format!("{what}{case}: done, but some steps failed: see the failed steps above")))
        }
        Outcome::Failed => Err(CliError::failed(format!("{what}{case} failed: see the failed steps above"))),
        // The cli acts on a responder's word, outside the response policy; a held plan is only
        // seen here through a function's answer.
        Outcome::PendingApproval | Outcome::Observed => Err(CliError::Refused(format!(
            "{what}{case}: held by the response policy, nothing was changed: {}",
            report.reason.as_deref().unwrap_or_default()
        ))),
    }
}

/// The dry run shown before asking; it ends the command when there is nothing to ask about.
/// Returns whether to go on.
pub fn planned(report: &Report, what: &str, mode: Mode, dry_run_configured: bool) -> Result<bool> {
    if mode.dry_run || dry_run_configured || report.outcome == Outcome::Skipped {
        if dry_run_configured && !mode.dry_run {
            eprintln!("note: FIREBREAK_DRY_RUN is set: planning only");
        }
        exit_of(report, what)?;
        return Ok(false);
    }
    println!("{}", render::summary(report));
    confirm(mode.yes, what)?;
    Ok(true)
}

fn quarantine_error(error: QuarantineError) -> CliError {
    match error {
        e @ (QuarantineError::InstanceNotFound { .. } | QuarantineError::Event(_)) => CliError::invalid(e),
        e => CliError::failed(e),
    }
}

pub async fn quarantine(
    session: &Session,
    instance_id: &str,
    account: Option<String>,
    region: Option<&str>,
    mode: Mode,
) -> Result<()> {
    let caller = session.caller().await?;
    let region = session.region(region)?;
    let signal = cli_signal("quarantine", account.unwrap_or_else(|| caller.account.clone()), region);
    let case_id = case_id_for(&signal.id);
    let request = QuarantineRequest { instance_id: instance_id.to_string(), signal, vpc_hints: Vec::new() };
    let config = QuarantineConfig::from_env()?.with_disk_evidence(|name| std::env::var(name).ok())?;
    let clients = session.clients_for(&request.signal, &case_id).await?.clients;
    let what = format!("the quarantine of {instance_id}");

    println!("Plan: quarantine {instance_id} in {}/{}", request.signal.account, request.signal.region);
    let mut dry = config.clone();
    dry.common.dry_run = true;
    let plan =
        quarantine::quarantine(&clients, &dry, &request, None, Deadline::NONE).await.map_err(quarantine_error)?;
    if !planned(&plan, &what, mode, config.common.dry_run)? {
        return Ok(());
    }

    let ledger = session.ledger(&caller);
    println!("Quarantining {instance_id}:");
    let report = quarantine::quarantine(&clients, &config, &request, ledger.as_ref(), Deadline::NONE)
        .await
        .map_err(quarantine_error)?;
    exit_of(&report, &what)
}

/// Who `firebreak revoke` names.
#[derive(Debug, Clone)]
pub enum Who {
    AccessKey(String),
    User(String),
    Role(String),
}

fn revoke_error(error: RevokeError) -> CliError {
    match error {
        RevokeError::Account(e) => e.into(),
        e @ (RevokeError::Event(_)
        | RevokeError::UserNotFound { .. }
        | RevokeError::RoleNotFound { .. }
        | RevokeError::KeyOwnerNotFound { .. }) => CliError::invalid(e),
        e => CliError::failed(e),
    }
}

pub async fn revoke(session: &Session, who: Who, account: Option<String>, mode: Mode) -> Result<()> {
    let caller = session.caller().await?;
    // IAM is global: the region only chooses the endpoint, the caller's own.
    let signal = cli_signal("revoke", account.unwrap_or_else(|| caller.account.clone()), session.region(None)?);
    let case_id = case_id_for(&signal.id);
    let mut config = RevokeConfig::from_env()?;
    // The responder's own identity is never revoked, as a function never revokes its own.
    config.own_identity = Some(caller.arn.clone());
    let target = match who {
        Who::User(user_name) => {
            // No key is named: a responder revoking a user means all of the user's keys.
            config.deactivate_all_keys = true;
            Target::User { user_name, access_key_id: None }
        }
        Who::Role(role_name) => Target::RoleSessions { role_name },
        Who::AccessKey(access_key_id) => {
            let clients = session.clients_for(&signal, &case_id).await?.clients;
            let owner = firebreak::aws::iam::access_key_owner(&clients.iam, &access_key_id).await?;
            let Some(user_name) = owner else {
                return Err(revoke_error(RevokeError::KeyOwnerNotFound {
                    access_key_id,
                    account_id: signal.account.clone(),
                }));
            };
            Target::User { user_name, access_key_id: Some(access_key_id) }
        }
    };
    let request = RevokeRequest { signal, target };
    let what = format!("the revocation of {}", request.target.resource());

    println!("Plan: revoke the credentials of {} in account {}", request.target.resource(), request.signal.account);
    let mut dry = config.clone();
    dry.quarantine.common.dry_run = true;
    let plan =
        revoke::revoke_request(&session.accounts, &dry, &request, None, Deadline::NONE).await.map_err(revoke_error)?;
    if !planned(&plan, &what, mode, config.quarantine.common.dry_run)? {
        return Ok(());
    }

    let ledger = session.ledger(&caller);
    println!("Revoking {}:", request.target.resource());
    let report = revoke::revoke_request(&session.accounts, &config, &request, ledger.as_ref(), Deadline::NONE)
        .await
        .map_err(revoke_error)?;
    exit_of(&report, &what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_a_new_case() {
        let a = cli_signal("quarantine", "123456789012".into(), "us-east-1".into());
        let b = cli_signal("quarantine", "123456789012".into(), "us-east-1".into());
        assert_ne!(case_id_for(&a.id), case_id_for(&b.id));
        assert_eq!((a.source.as_str(), a.kind.as_str()), ("cli", "firebreak quarantine"));
    }

    #[test]
    fn outcomes_end_the_command() {
        let mut report = Report::new("quarantine-instance", Signal::default(), "i-1", false);
        report.outcome = Outcome::Contained;
        assert!(exit_of(&report, "x").is_ok());
        report.outcome = Outcome::ContainedWithErrors;
        assert!(matches!(exit_of(&report, "x"), Err(CliError::Failed(_))));
        report.outcome = Outcome::Skipped;
        assert!(matches!(exit_of(&report, "x"), Err(CliError::Refused(_))));
    }
}
