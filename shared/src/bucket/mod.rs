//! contain-bucket: a GuardDuty S3 Protection finding (`resourceType` `S3Bucket`) or an
//! `AttackSequence:S3/...` in; each bucket it names contained in one case: tagged with the case
//! and its state before, Firebreak's deny statement merged into its policy (the policy's own
//! statements kept), its public access block all on. No object is read, copied or deleted.
//!
//! `request` (the event → the buckets, validated), `observe` (the reads), `plan` (the pure
//! `decide`), `action`, `execute`, `policy` (the statement, merged and taken out, pure),
//! `release` (what a release of such a case reads and does); the engine runs the plan.

pub mod action;
pub mod config;
pub mod execute;
pub mod observe;
pub mod plan;
pub mod policy;
pub mod release;
pub mod request;

use std::time::{Instant, SystemTime};

use thiserror::Error;

pub use action::{Bucket, BucketAction, Phase};
pub use config::{BucketConfig, S3_BREAKGLASS_ROLES};
pub use observe::{observe, BucketFacts};
pub use plan::{decide, BucketSkip, Choices};
pub use request::{BucketTrigger, MAX_BUCKETS};

use crate::accounts::{AccountClients, AccountError, Accounts};
use crate::aws::{iam, AwsError};
use crate::case::case_id_for;
use crate::cases::{self, Ledger};
use crate::deadline::Deadline;
use crate::engine::report::{millis, timestamp};
use crate::engine::{triage, Decision, FunctionError, Report};
use crate::events::{partition_of, EventError};

pub const FUNCTION: &str = "contain-bucket";
/// On the bucket: when Firebreak contained it.
pub const CONTAINED_AT: &str = "firebreak:contained-at";
/// On the bucket (and in the case): its public access block before the case, as
/// `BlockPublicAcls=… IgnorePublicAcls=… BlockPublicPolicy=… RestrictPublicBuckets=…`, or `none`.
pub const PUBLIC_ACCESS_BLOCK_BEFORE: &str = "firebreak:public-access-block-before";
/// On the bucket: `none` (it had no policy) or [`POLICY_KEPT`]: its statements are still in its
/// policy, beside Firebreak's, so the policy is its own record.
pub const BUCKET_POLICY_BEFORE: &str = "firebreak:bucket-policy-before";
pub const POLICY_KEPT: &str = "kept-beside-firebreak-statement";
/// In the case only (a tag holds 256 characters, a policy up to 20 KB): the policy before.
pub const BUCKET_POLICY_RECORD: &str = "firebreak:bucket-policy";

#[derive(Debug, Error)]
pub enum BucketError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("could not read: {0}")]
    Read(#[from] AwsError),
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<BucketError> for FunctionError {
    fn from(error: BucketError) -> Self {
        if let BucketError::Account(e) = error {
            return e.into();
        }
        let kind = match &error {
            BucketError::Event(_) => "InvalidEvent",
            BucketError::Read(_) => "AwsCallFailed",
            BucketError::Account(_) => "AccountNotAllowed",
        };
        FunctionError::new(kind, error)
    }
}

/// The one entry point: triage, then in the finding's account read every bucket, decide, and
/// let the engine carry the plan out as one case (or only report it, in a dry run).
pub async fn contain_bucket(
    accounts: &Accounts,
    config: &BucketConfig,
    trigger: &BucketTrigger,
    deadline: Deadline,
) -> Result<Report, BucketError> {
    let clock = Instant::now();
    let finding = &trigger.finding;
    let common = &config.common;
    let signal = finding.signal();
    let ledger = Ledger::of(accounts.home(), common.cases_table.as_deref(), crate::events::guardduty::SOURCE);
    let mut report = Report::new(FUNCTION, signal.clone(), trigger.resource(), common.dry_run);
    let skip = triage::triage(common, finding.is_sample(), Some(finding.severity)).map(BucketSkip::Triage);
    let plan = match skip {
        Some(skip) => Err(skip),
        None => {
            accounts.check_delivery(&signal).await?;
            let case_id = case_id_for(&signal.id);
            let account = accounts.clients_for_signal(&signal, &case_id).await?;
            let partition = partition_of(&finding.region);
            let buckets: Vec<Bucket> = trigger.buckets.iter().map(|b| Bucket::new(partition, b)).collect();
            let facts = observe::observe(&account.clients.s3, &buckets).await?;
            let exempt = exempt_principals(accounts, config, &account, partition).await?;
            let now = timestamp(SystemTime::now());
            let choices = Choices {
                case_id: &case_id,
                finding_id: &finding.id,
                finding_type: &finding.finding_type,
                now: &now,
                exempt_principals: &exempt,
            };
            match plan::decide(&facts, common, &choices) {
                Decision::Skip(skip) => Err(skip),
                Decision::Act(plan) => Ok((plan, account)),
            }
        }
    };
    report.duration_ms = millis(clock.elapsed());
    let (plan, account) = match plan {
        Err(skip) => {
            report = report.skipped(skip);
            cases::record_skip(ledger.as_ref(), &mut report).await;
            return Ok(report);
        }
        Ok(acting) => acting,
    };
    if !trigger.left.is_empty() {
        let left: Vec<String> = trigger.left.iter().map(|(uid, why)| format!("{uid} ({why})")).collect();
        report.reason = Some(format!("left to other functions: {}", left.join("; ")));
    }
    let executor = execute::Executor { s3: &account.clients.s3 };
    cases::run_recorded(ledger.as_ref(), &plan, &executor, deadline, &mut report).await;
    Ok(report)
}

/// Who the deny statement lets through: the break-glass roles, the role this function runs as,
/// and in a member account the member role Firebreak acts through, so a release stays possible.
async fn exempt_principals(
    accounts: &Accounts,
    config: &BucketConfig,
    account: &AccountClients,
    partition: &str,
) -> Result<Vec<String>, BucketError> {
    let own = match &config.own_identity {
        Some(identity) => identity.clone(),
        None => iam::caller_identity(&accounts.home().sts).await?,
    };
    let mut principals = config.breakglass_roles.clone();
    principals.extend(policy::own_role_patterns(&own));
    if account.role_arn.is_some() {
        let member_role = &accounts.config().member_role_name;
        principals.extend(policy::role_patterns(partition, &account.account_id, member_role));
    }
    let mut seen = std::collections::BTreeSet::new();
    principals.retain(|p| seen.insert(p.clone()));
    Ok(principals)
}
