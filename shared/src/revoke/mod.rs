//! revoke-credentials: a GuardDuty IAM finding (resource type `AccessKey`), an analyst's Security
//! Hub "Revoke credentials" action or an AWS Health `AWS_RISK_CREDENTIALS_*` notice in; leaked
//! keys disabled, sessions revoked, a report out.
//!
//! Same shape as the quarantine: `request` (the event → a [`RevokeTrigger`], each principal it
//! names → a [`RevokeRequest`]), `triage` (whether to act at all), `observe` (the reads), `plan`
//! (the actions and the pure [`decide`]), `execute` (how each action is carried out), `notify` (the
//! SNS summary); the engine runs the plan. `config` and `principal` hold the settings and the
//! principal types.
//!
//! # What is revoked
//! - **IAM user**: the named access key is made Inactive (never deleted: it is evidence), every
//!   other active key too when `FIREBREAK_DEACTIVATE_ALL_KEYS`; then an inline deny-all policy
//!   conditioned on `aws:TokenIssueTime` earlier than the revocation ends the temporary
//!   credentials already minted from those keys; the console password is deleted only when
//!   `FIREBREAK_DELETE_LOGIN_PROFILE`; the user is tagged with the case.
//! - **Assumed role**: the same session-revoking policy on the role (the console's "Revoke active
//!   sessions").
//! - **Instance credential exfiltration**: a deny on the instance's role conditioned on
//!   `ec2:SourceInstanceARN` = that instance, so the stolen credentials die and the role's other
//!   instances keep working; the instance is quarantined through [`crate::quarantine::quarantine`].
//! - **Root, federated and other principals**: nothing an API can revoke; reported, no change.
//!
//! # The session cutoff on redelivery
//! The cutoff written is the moment of the revocation (after the keys are disabled), rounded up to
//! the second. A later delivery rewrites it only when the signal reports activity *after* the
//! existing cutoff (an updated finding, a new notice): then the cutoff moves forward to the new
//! now. It never moves backward, so no protection is lost, and a plain redelivery (same activity
//! time) finds the policy sufficient and changes nothing. It is not moved forward needlessly
//! either, which would revoke sessions legitimately issued after the first revocation.

pub mod config;
pub mod execute;
pub mod notify;
pub mod observe;
pub mod plan;
pub mod principal;
pub mod request;
pub mod sequence;
pub mod triage;

use std::time::{Instant, SystemTime};

use aws_sdk_ec2::primitives::DateTime;
use thiserror::Error;

pub use config::{
    RevokeConfig, DEACTIVATE_ALL_KEYS, DELETE_LOGIN_PROFILE, PROTECTED_PRINCIPALS, QUARANTINE_SOURCE_INSTANCE,
};
pub use observe::observe;
pub use plan::{
    decide, sessions_already_revoked, PrincipalFacts, RevokeAction, RevokeDecision, RevokePhase, RevokePlan,
};
pub use principal::{is_access_key_id, Principal, PrincipalKind, PrincipalRef};
pub use request::{exposed_access_keys, RevokeRequest, RevokeTrigger, Target};
pub use triage::{protection, triage, Protected, RevokeSkip};

use crate::accounts::{AccountError, Accounts};
use crate::aws::{iam, AwsError};
use crate::case::case_id_for;
use crate::cases::{self, Ledger};
use crate::deadline::Deadline;
use crate::engine::report::millis;
use crate::engine::{self, Decision, FunctionError, Report, Signal};
use crate::events::{EventError, GuardDutyFinding, HealthEvent, SecurityHubEvent};

pub const FUNCTION: &str = "revoke-credentials";

#[derive(Debug, Error)]
pub enum RevokeError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("IAM user {user_name} does not exist in account {account_id}")]
    UserNotFound { user_name: String, account_id: String },
    #[error("IAM role {role_name} does not exist in account {account_id}")]
    RoleNotFound { role_name: String, account_id: String },
    #[error("access key {access_key_id} belongs to no IAM user of account {account_id}")]
    KeyOwnerNotFound { access_key_id: String, account_id: String },
    #[error("could not read: {0}")]
    Read(#[from] AwsError),
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<RevokeError> for FunctionError {
    fn from(error: RevokeError) -> Self {
        if let RevokeError::Account(e) = error {
            return e.into();
        }
        let kind = match &error {
            RevokeError::Event(_) => "InvalidEvent",
            RevokeError::UserNotFound { .. }
            | RevokeError::RoleNotFound { .. }
            | RevokeError::KeyOwnerNotFound { .. } => "ResourceNotFound",
            RevokeError::Read(_) => "AwsCallFailed",
            RevokeError::Account(_) => "AccountNotAllowed",
        };
        FunctionError::new(kind, error)
    }
}

/// The one entry point of the function: revokes what the trigger names (one report, however many
/// principals), each in the account the signal is about, then tells the SNS topic (in the
/// function's own account) when something was revoked or needs a human.
pub async fn revoke_credentials(
    accounts: &Accounts,
    config: &RevokeConfig,
    trigger: &RevokeTrigger,
    deadline: Deadline,
) -> Result<Report, RevokeError> {
    let source = match trigger {
        RevokeTrigger::Finding(_) => crate::events::guardduty::SOURCE,
        RevokeTrigger::SecurityHubAction(_) => crate::events::securityhub::SOURCE,
        RevokeTrigger::Health(_) => crate::events::health::SOURCE,
    };
    let ledger = Ledger::of(accounts.home(), config.quarantine.common.cases_table.as_deref(), source);
    let ledger = ledger.as_ref();
    let mut report = match trigger {
        RevokeTrigger::Finding(finding) => revoke_finding(accounts, config, finding, ledger, deadline).await,
        RevokeTrigger::SecurityHubAction(event) => {
            revoke_security_hub_action(accounts, config, event, ledger, deadline).await
        }
        RevokeTrigger::Health(notice) => revoke_health_notice(accounts, config, notice, ledger, deadline).await,
    }?;
    // A decision not to act is a case too; an acting one was recorded as it ran.
    cases::record_skip(ledger, &mut report).await;
    notify::notify(accounts.home(), config, &mut report).await;
    Ok(report)
}

async fn revoke_finding(
    accounts: &Accounts,
    config: &RevokeConfig,
    finding: &GuardDutyFinding,
    ledger: Option<&Ledger>,
    deadline: Deadline,
) -> Result<Report, RevokeError> {
    let common = &config.quarantine.common;
    // Sample findings name placeholders ("GeneratedFindingUserName") that would not validate.
    if let Some(skip) = engine::triage::triage(common, finding.is_sample(), None) {
        let user = finding.resource.access_key_details.as_ref().and_then(|d| d.user_name.clone()).unwrap_or_default();
        return Ok(Report::new(FUNCTION, finding.signal(), user, common.dry_run).skipped(RevokeSkip::Triage(skip)));
    }
    if finding.is_attack_sequence() {
        return revoke_sequence(accounts, config, finding, ledger, deadline).await;
    }
    let request = RevokeRequest::from_finding(finding)?;
    accounts.check_delivery(&request.signal).await?;
    // Severity and principal type need no identity; reading it first would cost an STS call.
    if let Some(skip) = triage(Some(finding), &request, config, &Protected::none()) {
        return Ok(empty_report(config, &request).skipped(skip));
    }
    let protected = Protected::of(accounts, config).await?;
    if let Some(skip) = triage(Some(finding), &request, config, &protected) {
        return Ok(empty_report(config, &request).skipped(skip));
    }
    revoke(accounts, config, &request, &protected, ledger, deadline).await
}

/// An attack sequence: every credential it names is revoked under the sequence's signal, so all
/// share one case; what it names that cannot be revoked here is reported beside them.
async fn revoke_sequence(
    accounts: &Accounts,
    config: &RevokeConfig,
    finding: &GuardDutyFinding,
    ledger: Option<&Ledger>,
    deadline: Deadline,
) -> Result<Report, RevokeError> {
    let found = sequence::sequence_credentials(finding)?;
    let signal = Signal { time: finding.updated_at.clone(), ..finding.signal() };
    accounts.check_delivery(&signal).await?;
    let dry_run = config.quarantine.common.dry_run;
    let left = |entity: String, why: String| {
        let why = format!("{entity}: {why}");
        Report::new(FUNCTION, signal.clone(), entity, dry_run).skipped(why)
    };
    let mut reports: Vec<Report> = found.left.into_iter().map(|(entity, why)| left(entity, why)).collect();
    if found.credentials.is_empty() {
        reports.push(left(finding.finding_type.clone(), "the attack sequence names no credentials to revoke".into()));
        return merge(reports).ok_or_else(|| EventError::Malformed("an empty sequence".into()).into());
    }
    let protected = Protected::of(accounts, config).await?;
    let iam_client = &accounts.clients_for_signal(&signal, &case_id_for(&signal.id)).await?.clients.iam;
    for credential in found.credentials {
        let targets = match credential {
            sequence::Credential::Named(target) => vec![target],
            sequence::Credential::AccessKey(access_key_id) => {
                match iam::access_key_owner(iam_client, &access_key_id).await? {
                    Some(user_name) => vec![Target::User { user_name, access_key_id: Some(access_key_id) }],
                    None => {
                        reports.push(left(access_key_id, "no IAM user of the account owns this key (a temporary key: its user or role is revoked if the sequence names it)".into()));
                        continue;
                    }
                }
            }
            sequence::Credential::InstanceProfile(profile) => {
                match iam::instance_profile_roles(iam_client, &profile).await? {
                    Some(roles) if !roles.is_empty() => {
                        roles.into_iter().map(|role_name| Target::RoleSessions { role_name }).collect()
                    }
                    _ => {
                        reports.push(left(
                            format!("instance-profile/{profile}"),
                            "no such instance profile, or it has no role".into(),
                        ));
                        continue;
                    }
                }
            }
        };
        for target in targets {
            let request = RevokeRequest { signal: signal.clone(), target };
            reports.push(match triage(Some(finding), &request, config, &protected) {
                Some(skip) => empty_report(config, &request).skipped(skip),
                None => match revoke(accounts, config, &request, &protected, ledger, deadline).await {
                    // One principal gone since the sequence was seen does not stop the others.
                    Err(e @ (RevokeError::UserNotFound { .. } | RevokeError::RoleNotFound { .. })) => {
                        empty_report(config, &request).skipped(e)
                    }
                    other => other?,
                },
            });
        }
    }
    merge(reports).ok_or_else(|| EventError::Malformed("an empty sequence".into()).into())
}

/// Each finding of the action becomes the GuardDuty finding it came from and is revoked as such.
/// The analyst has decided, so the severity threshold does not hold it back; protection,
/// exemption and sample checks still do.
async fn revoke_security_hub_action(
    accounts: &Accounts,
    config: &RevokeConfig,
    event: &SecurityHubEvent,
    ledger: Option<&Ledger>,
    deadline: Deadline,
) -> Result<Report, RevokeError> {
    let mut reports = Vec::new();
    for asff in &event.findings {
        let mut finding = asff.to_access_key_finding()?;
        finding.severity = finding.severity.max(config.quarantine.common.min_severity);
        reports.push(revoke_finding(accounts, config, &finding, ledger, deadline).await?);
    }
    merge(reports).ok_or_else(|| EventError::Malformed("a custom action without findings".into()).into())
}

/// Each exposed key is revoked on the user that owns it, in the affected account.
async fn revoke_health_notice(
    accounts: &Accounts,
    config: &RevokeConfig,
    notice: &HealthEvent,
    ledger: Option<&Ledger>,
    deadline: Deadline,
) -> Result<Report, RevokeError> {
    let keys = exposed_access_keys(notice)?;
    let signal = notice.signal();
    let account = accounts.clients_for_signal(&signal, &case_id_for(&signal.id)).await?;
    let protected = Protected::of(accounts, config).await?;
    let mut reports = Vec::new();
    for access_key_id in keys {
        let Some(user_name) = iam::access_key_owner(&account.clients.iam, &access_key_id).await? else {
            return Err(RevokeError::KeyOwnerNotFound { access_key_id, account_id: notice.account_id.clone() });
        };
        let request = RevokeRequest::from_health(notice, user_name, access_key_id);
        reports.push(match triage(None, &request, config, &protected) {
            Some(skip) => empty_report(config, &request).skipped(skip),
            None => revoke(accounts, config, &request, &protected, ledger, deadline).await?,
        });
    }
    merge(reports).ok_or_else(|| EventError::Malformed("the AWS Health notice names no access key".into()).into())
}

/// Revokes one principal named directly (a responder's `firebreak revoke`): the protections and
/// the exemption tag hold as for any signal; the severity threshold does not (a human decided).
pub async fn revoke_request(
    accounts: &Accounts,
    config: &RevokeConfig,
    request: &RevokeRequest,
    ledger: Option<&Ledger>,
    deadline: Deadline,
) -> Result<Report, RevokeError> {
    accounts.check_delivery(&request.signal).await?;
    let protected = Protected::of(accounts, config).await?;
    let mut report = match triage(None, request, config, &protected) {
        Some(skip) => empty_report(config, request).skipped(skip),
        None => revoke(accounts, config, request, &protected, ledger, deadline).await?,
    };
    cases::record_skip(ledger, &mut report).await;
    Ok(report)
}

fn empty_report(config: &RevokeConfig, request: &RevokeRequest) -> Report {
    Report::new(FUNCTION, request.signal.clone(), request.target.resource(), config.quarantine.common.dry_run)
}

/// One report for an event that named several principals: every step, the worst outcome.
fn merge(reports: Vec<Report>) -> Option<Report> {
    let mut reports = reports.into_iter();
    let mut merged = reports.next()?;
    reports.for_each(|report| merged.absorb(report));
    Some(merged)
}

/// Revokes the credentials of one principal (already triaged), in its account: read, decide, act.
async fn revoke(
    accounts: &Accounts,
    config: &RevokeConfig,
    request: &RevokeRequest,
    protected: &Protected,
    ledger: Option<&Ledger>,
    deadline: Deadline,
) -> Result<Report, RevokeError> {
    let clock = Instant::now();
    let mut report = empty_report(config, request);
    let config = &*crate::approval::settings_for(config, &mut report);
    let account = accounts.clients_for_signal(&request.signal, &case_id_for(&request.signal.id)).await?;
    let clients = &account.clients;
    let Some(facts) = observe(clients, request).await? else {
        return Ok(report);
    };
    // Only now is the role's path known: every /firebreak/ role is Firebreak's own.
    if let Some(skip) = protected.firebreak_path(&facts) {
        report.duration_ms = millis(clock.elapsed());
        return Ok(report.skipped(skip));
    }
    let plan = match decide(request, &facts, config, DateTime::from(SystemTime::now())) {
        Decision::Skip(skip) => {
            report.reason = Some(skip.to_string());
            report.duration_ms = millis(clock.elapsed());
            return Ok(report);
        }
        Decision::Act(plan) => plan,
    };
    report.duration_ms = millis(clock.elapsed());
    let executor = execute::Executor { clients, config, deadline };
    cases::run_recorded(ledger, &plan, &executor, deadline, &mut report).await;
    Ok(report)
}
