//! revoke-credentials: a GuardDuty IAM finding (resource type `AccessKey`) or an AWS Health
//! `AWS_RISK_CREDENTIALS_*` notice in; leaked keys disabled, sessions revoked, a report out.
//!
//! Same shape as the quarantine: the signal becomes a [`RevokeRequest`] (pure, validated), what is
//! read about the principal becomes [`PrincipalFacts`], [`decide`] turns both into a printable
//! [`RevokePlan`], and the executor carries it out phase by phase into a [`Report`].
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

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Instant, SystemTime};

use aws_sdk_ec2::primitives::DateTime;
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::aws::iam;
use crate::aws::{AwsError, Clients};
use crate::case::case_id_for;
use crate::deadline::Deadline;
use crate::engine::config::{flag, ConfigError};
use crate::engine::report::{log_step, millis};
use crate::engine::{self, Acted, Decision, Execute, Plan, Planned, Progress, Signal};
use crate::engine::{Outcome, Report, StepOutcome, StepReport};
use crate::events::securityhub::{self, CustomAction, SecurityHubEvent, Trigger};
use crate::events::{health, validate_instance_id, EventError, GuardDutyFinding, HealthEvent};
use crate::policy::{self, PolicyDocument};
use crate::quarantine;
use crate::quarantine::{QuarantineConfig, QuarantineRequest};
use crate::tags;

pub const FUNCTION: &str = "revoke-credentials";

pub const DEACTIVATE_ALL_KEYS: &str = "FIREBREAK_DEACTIVATE_ALL_KEYS";
pub const DELETE_LOGIN_PROFILE: &str = "FIREBREAK_DELETE_LOGIN_PROFILE";
pub const PROTECTED_PRINCIPALS: &str = "FIREBREAK_PROTECTED_PRINCIPALS";
pub const QUARANTINE_SOURCE_INSTANCE: &str = "FIREBREAK_QUARANTINE_SOURCE_INSTANCE";

/// What revoke-credentials does. Severity threshold, exemption tag, dry run and sample handling
/// are the quarantine's own settings (same variables), also used for the exfiltrating instance.
#[derive(Debug, Clone, PartialEq)]
pub struct RevokeConfig {
    pub quarantine: QuarantineConfig,
    /// Disable every active key of the user, not only the one the signal names.
    pub deactivate_all_keys: bool,
    /// Delete the user's console password (it cannot be read back; the user needs a reset).
    pub delete_login_profile: bool,
    /// Never revoked, whatever a signal says: names (a user or role of that name) or ARNs.
    pub protected_principals: Vec<PrincipalRef>,
    /// Quarantine the instance whose role credentials were exfiltrated.
    pub quarantine_source_instance: bool,
    /// The function's own identity (GetCallerIdentity ARN), resolved once per cold start; when
    /// unset it is looked up on each invocation.
    pub own_identity: Option<String>,
    /// SNS topic told about every revocation, and about principals that need a human (root,
    /// federated); none: no notification.
    pub sns_topic_arn: Option<String>,
}

impl Default for RevokeConfig {
    fn default() -> Self {
        Self {
            quarantine: QuarantineConfig::default(),
            deactivate_all_keys: false,
            delete_login_profile: false,
            protected_principals: Vec::new(),
            quarantine_source_instance: true,
            own_identity: None,
            sns_topic_arn: None,
        }
    }
}

impl RevokeConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let mut protected_principals = Vec::new();
        for entry in lookup(PROTECTED_PRINCIPALS).unwrap_or_default().split(',').map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            protected_principals.push(PrincipalRef::parse(entry).ok_or_else(|| ConfigError::Invalid {
                name: PROTECTED_PRINCIPALS,
                value: entry.to_string(),
                why: "expected comma-separated IAM user/role names or user, role or assumed-role ARNs",
            })?);
        }
        Ok(Self {
            quarantine: QuarantineConfig::from_lookup(&lookup)?,
            deactivate_all_keys: flag(DEACTIVATE_ALL_KEYS, lookup(DEACTIVATE_ALL_KEYS), defaults.deactivate_all_keys)?,
            delete_login_profile: flag(
                DELETE_LOGIN_PROFILE,
                lookup(DELETE_LOGIN_PROFILE),
                defaults.delete_login_profile,
            )?,
            protected_principals,
            quarantine_source_instance: flag(
                QUARANTINE_SOURCE_INSTANCE,
                lookup(QUARANTINE_SOURCE_INSTANCE),
                defaults.quarantine_source_instance,
            )?,
            own_identity: None,
            sns_topic_arn: crate::notify::sns_topic_arn(&lookup)?,
        })
    }
}

/// A user or a role, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Principal {
    User(String),
    Role(String),
}

impl Principal {
    pub fn name(&self) -> &str {
        match self {
            Self::User(name) | Self::Role(name) => name,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(name) => write!(f, "user {name}"),
            Self::Role(name) => write!(f, "role {name}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    Role,
}

/// One entry of the protected list, or the function's own identity: a name that matches a user
/// or a role, or an ARN that fixes the kind and the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrincipalRef {
    pub account_id: Option<String>,
    pub kind: Option<PrincipalKind>,
    pub name: String,
}

impl PrincipalRef {
    /// A plain IAM name, or an `arn:<partition>:iam::<account>:user|role/<path>/<name>` or
    /// `arn:<partition>:sts::<account>:assumed-role/<role>/<session>` ARN.
    pub fn parse(text: &str) -> Option<Self> {
        if !text.starts_with("arn:") {
            return is_iam_name(text).then(|| Self { account_id: None, kind: None, name: text.to_string() });
        }
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        let [_, _, service, _, account, resource] = parts.as_slice() else {
            return None;
        };
        let segments: Vec<&str> = resource.split('/').collect();
        let (kind, name) = match (*service, segments.as_slice()) {
            ("iam" | "sts", ["user", .., name]) => (PrincipalKind::User, *name),
            ("iam", ["role", .., name]) => (PrincipalKind::Role, *name),
            ("sts", ["assumed-role", role, _session]) => (PrincipalKind::Role, *role),
            _ => return None,
        };
        is_iam_name(name).then(|| Self {
            account_id: (!account.is_empty()).then(|| account.to_string()),
            kind: Some(kind),
            name: name.to_string(),
        })
    }

    /// IAM names are unique case-insensitively, so `Admin` and `admin` are the same principal.
    pub fn matches(&self, principal: &Principal, account_id: &str) -> bool {
        let kind = match principal {
            Principal::User(_) => PrincipalKind::User,
            Principal::Role(_) => PrincipalKind::Role,
        };
        self.kind.is_none_or(|k| k == kind)
            && self.account_id.as_deref().is_none_or(|a| a == account_id)
            && self.name.eq_ignore_ascii_case(principal.name())
    }
}

/// IAM user and role names: 1-64 characters of letters, digits and `+=,.@_-`.
fn is_iam_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

fn validate_iam_name(field: &'static str, name: &str) -> Result<(), EventError> {
    if is_iam_name(name) {
        Ok(())
    } else {
        Err(EventError::InvalidField {
            field,
            value: name.chars().take(64).collect(),
            why: "an IAM name is 1-64 letters, digits or +=,.@_-",
        })
    }
}

/// Access key ids: `AKIA` (long-term) or `ASIA` (temporary) and 16 or more uppercase letters and digits.
pub fn is_access_key_id(value: &str) -> bool {
    (value.starts_with("AKIA") || value.starts_with("ASIA"))
        && (20..=128).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn validate_access_key_id(field: &'static str, value: &str) -> Result<(), EventError> {
    if is_access_key_id(value) {
        Ok(())
    } else {
        Err(EventError::InvalidField {
            field,
            value: value.chars().take(64).collect(),
            why: "an access key id is AKIA or ASIA followed by uppercase letters and digits",
        })
    }
}

/// What to revoke, from a validated signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum Target {
    User {
        user_name: String,
        access_key_id: Option<String>,
    },
    RoleSessions {
        role_name: String,
    },
    /// The role credentials of one instance, used from elsewhere.
    InstanceCredentials {
        role_name: String,
        instance_id: String,
        instance_arn: String,
        vpc_hints: Vec<String>,
    },
    /// Root, federated and other principals: no API revokes them.
    NotRevocable {
        user_type: String,
        principal: String,
    },
}

impl Target {
    pub fn principal(&self) -> Option<Principal> {
        match self {
            Self::User { user_name, .. } => Some(Principal::User(user_name.clone())),
            Self::RoleSessions { role_name } | Self::InstanceCredentials { role_name, .. } => {
                Some(Principal::Role(role_name.clone()))
            }
            Self::NotRevocable { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevokeRequest {
    /// The EventBridge source of the signal (`aws.guardduty`, `aws.health`).
    pub source: &'static str,
    pub account_id: String,
    pub region: String,
    /// The finding id or Health event ARN: the case id derives from it.
    pub signal_id: String,
    pub signal_type: String,
    /// When the signal last saw the activity (finding `updatedAt`, Health `startTime`).
    pub signal_time: Option<String>,
    pub target: Target,
}

/// The finding types whose credentials are an instance role's, delivered to one instance.
fn is_instance_credential_exfiltration(finding_type: &str) -> bool {
    finding_type.starts_with("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration")
}

fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

impl RevokeRequest {
    /// The report header of the signal this request came from.
    pub fn signal(&self) -> Signal {
        Signal {
            source: self.source.to_string(),
            kind: self.signal_type.clone(),
            id: self.signal_id.clone(),
            account: self.account_id.clone(),
            region: self.region.clone(),
            time: self.signal_time.clone(),
        }
    }

    /// The request a GuardDuty IAM finding (resource type `AccessKey`) makes. Validates every
    /// name that will reach an API call.
    ///
    /// For instance credential exfiltration the instance is named twice in real findings:
    /// `resource.instanceDetails.instanceId`, and the session name of the role credentials in
    /// `resource.accessKeyDetails.principalId` (`AROA...:i-0123...`, EC2 names instance-role
    /// sessions after the instance). Either is accepted; when both are present they must agree,
    /// and `accessKeyDetails.userName` is the role's name.
    pub fn from_finding(finding: &GuardDutyFinding) -> Result<Self, EventError> {
        let unsupported = |why| EventError::UnsupportedFinding {
            finding_type: finding.finding_type.clone(),
            resource_type: finding.resource.resource_type.clone(),
            why,
        };
        if finding.resource.resource_type != "AccessKey" {
            return Err(unsupported("this function handles findings about IAM credentials (resource type AccessKey)"));
        }
        let details = finding
            .resource
            .access_key_details
            .as_ref()
            .ok_or_else(|| EventError::Malformed("detail.resource.accessKeyDetails is missing".into()))?;
        let user_type = details.user_type.clone().unwrap_or_default();
        let user_name = details.user_name.clone().unwrap_or_default();
        let target = match user_type.as_str() {
            "IAMUser" => {
                validate_iam_name("accessKeyDetails.userName", &user_name)?;
                if let Some(key) = &details.access_key_id {
                    validate_access_key_id("accessKeyDetails.accessKeyId", key)?;
                }
                Target::User { user_name, access_key_id: details.access_key_id.clone() }
            }
            "AssumedRole" if is_instance_credential_exfiltration(&finding.finding_type) => {
                validate_iam_name("accessKeyDetails.userName", &user_name)?;
                let from_details = finding.resource.instance_details.as_ref().map(|d| d.instance_id.clone());
                let from_session = details
                    .principal_id
                    .as_deref()
                    .and_then(|p| p.split_once(':'))
                    .map(|(_, session)| session.to_string())
                    .filter(|session| session.starts_with("i-"));
                let instance_id = match (from_details, from_session) {
                    (Some(a), Some(b)) if a != b => {
                        return Err(EventError::InvalidField {
                            field: "accessKeyDetails.principalId",
                            value: b,
                            why: "the role session names another instance than resource.instanceDetails",
                        })
                    }
                    (Some(id), _) | (None, Some(id)) => id,
                    (None, None) => {
                        return Err(EventError::Malformed(
                            "an instance credential exfiltration finding without instanceDetails.instanceId or an instance session in accessKeyDetails.principalId".into(),
                        ))
                    }
                };
                validate_instance_id(&instance_id)?;
                let instance_arn = format!(
                    "arn:{}:ec2:{}:{}:instance/{instance_id}",
                    partition_of(&finding.region),
                    finding.region,
                    finding.account_id
                );
                Target::InstanceCredentials {
                    role_name: user_name,
                    instance_id,
                    instance_arn,
                    vpc_hints: finding.vpc_ids(),
                }
            }
            "AssumedRole" => {
                validate_iam_name("accessKeyDetails.userName", &user_name)?;
                Target::RoleSessions { role_name: user_name }
            }
            _ => Target::NotRevocable { user_type, principal: user_name },
        };
        Ok(Self {
            source: crate::events::guardduty::SOURCE,
            account_id: finding.account_id.clone(),
            region: finding.region.clone(),
            signal_id: finding.id.clone(),
            signal_type: finding.finding_type.clone(),
            signal_time: finding.updated_at.clone(),
            target,
        })
    }
}

/// The access key ids an AWS Health credentials-risk notice names (validated; at least one).
pub fn exposed_access_keys(event: &HealthEvent) -> Result<Vec<String>, EventError> {
    if !event.is_credentials_risk() {
        return Err(EventError::UnsupportedFinding {
            finding_type: event.event_type_code.clone(),
            resource_type: "AWS Health event".into(),
            why: "this function handles AWS_RISK_CREDENTIALS_* notices",
        });
    }
    let mut keys = Vec::new();
    for entity in &event.affected_entities {
        validate_access_key_id("detail.affectedEntities[].entityValue", &entity.entity_value)?;
        if !keys.contains(&entity.entity_value) {
            keys.push(entity.entity_value.clone());
        }
    }
    if keys.is_empty() {
        return Err(EventError::Malformed("the AWS Health notice names no access key in affectedEntities".into()));
    }
    Ok(keys)
}

/// Why nothing is done. Each is reported, never silent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RevokeSkip {
    SampleFinding,
    BelowSeverity { severity: f64, minimum: f64 },
    NotRevocable { user_type: String, principal: String },
    OwnIdentity { principal: Principal },
    Protected { principal: Principal },
    Exempt { principal: Principal, tag_key: String },
}

impl fmt::Display for RevokeSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SampleFinding => {
                write!(f, "GuardDuty sample finding (set FIREBREAK_ACT_ON_SAMPLE_FINDINGS to act on these)")
            }
            Self::BelowSeverity { severity, minimum } => {
                write!(f, "severity {severity} is below the configured minimum {minimum}")
            }
            Self::NotRevocable { user_type, principal } if user_type == "Root" => write!(
                f,
                "root credentials ({principal}) cannot be revoked or restricted by any API: rotate the root password, delete root access keys and check root MFA by hand"
            ),
            Self::NotRevocable { user_type, principal } if user_type == "FederatedUser" => write!(
                f,
                "federated session {principal:?} cannot be revoked by API: its issuer (the IAM user that called GetFederationToken, or the identity provider) must be dealt with by hand"
            ),
            Self::NotRevocable { user_type, principal } => {
                write!(f, "principal type {user_type:?} ({principal}) has no credentials Firebreak can revoke")
            }
            Self::OwnIdentity { principal } => write!(
                f,
                "{principal} is the identity this function runs as: never revoked, whatever the signal says"
            ),
            Self::Protected { principal } => {
                write!(f, "{principal} is listed in FIREBREAK_PROTECTED_PRINCIPALS: never revoked")
            }
            Self::Exempt { principal, tag_key } => write!(f, "{principal} carries the exemption tag {tag_key}"),
        }
    }
}

/// Checks that need no AWS call except the caller identity: sample, revocable at all, severity,
/// and protected.
pub fn triage(
    finding: Option<&GuardDutyFinding>,
    request: &RevokeRequest,
    config: &RevokeConfig,
    own_identity: Option<&PrincipalRef>,
) -> Option<RevokeSkip> {
    if finding.is_some_and(|f| f.is_sample() && !config.quarantine.common.act_on_sample_findings) {
        return Some(RevokeSkip::SampleFinding);
    }
    // Before severity: GuardDuty rates root usage Low, and "cannot be revoked" is the useful answer.
    if let Target::NotRevocable { user_type, principal } = &request.target {
        return Some(RevokeSkip::NotRevocable { user_type: user_type.clone(), principal: principal.clone() });
    }
    if let Some(finding) = finding.filter(|f| f.severity < config.quarantine.common.min_severity) {
        return Some(RevokeSkip::BelowSeverity {
            severity: finding.severity,
            minimum: config.quarantine.common.min_severity,
        });
    }
    let principal = request.target.principal()?;
    protection(&principal, &request.account_id, own_identity, &config.protected_principals)
}

/// Whether a principal is the function's own identity or on the protected list.
pub fn protection(
    principal: &Principal,
    account_id: &str,
    own_identity: Option<&PrincipalRef>,
    protected: &[PrincipalRef],
) -> Option<RevokeSkip> {
    if own_identity.is_some_and(|own| own.matches(principal, account_id)) {
        return Some(RevokeSkip::OwnIdentity { principal: principal.clone() });
    }
    protected
        .iter()
        .any(|p| p.matches(principal, account_id))
        .then(|| RevokeSkip::Protected { principal: principal.clone() })
}

/// What was read about the principal before deciding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrincipalFacts {
    pub principal: Principal,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    /// Users only: every access key, and whether it is active.
    pub access_keys: Vec<(String, bool)>,
    pub has_login_profile: bool,
    /// The cutoff of Firebreak's session-revoking policy already on the principal.
    pub revoked_before: Option<String>,
    /// Firebreak's instance-deny policy already on the role (instance exfiltration only).
    pub instance_policy: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokePhase {
    /// Keys and console password: nothing new can be minted from them.
    Disable,
    /// Sessions and instance credentials already out there stop working.
    Revoke,
    Preserve,
    Quarantine,
}

impl engine::Phase for RevokePhase {
    /// One after the other: sessions are revoked only once no key can mint new ones.
    fn stage(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RevokeAction {
    DeactivateAccessKey {
        user_name: String,
        access_key_id: String,
    },
    DeleteLoginProfile {
        user_name: String,
    },
    /// The cutoff is taken when the step runs: after the keys are disabled.
    RevokeSessions {
        principal: Principal,
    },
    DenyInstanceCredentials {
        role_name: String,
        instance_id: String,
        instance_arn: String,
    },
    TagPrincipal {
        principal: Principal,
        tags: Vec<(String, String)>,
    },
    QuarantineInstance {
        request: QuarantineRequest,
    },
}

impl engine::Action for RevokeAction {
    type Phase = RevokePhase;

    fn name(&self) -> &'static str {
        match self {
            Self::DeactivateAccessKey { .. } => "deactivate_access_key",
            Self::DeleteLoginProfile { .. } => "delete_login_profile",
            Self::RevokeSessions { .. } => "revoke_sessions",
            Self::DenyInstanceCredentials { .. } => "deny_instance_credentials",
            Self::TagPrincipal { .. } => "tag_principal",
            Self::QuarantineInstance { .. } => "quarantine_source_instance",
        }
    }

    fn phase(&self) -> RevokePhase {
        match self {
            Self::DeactivateAccessKey { .. } | Self::DeleteLoginProfile { .. } => RevokePhase::Disable,
            Self::RevokeSessions { .. } | Self::DenyInstanceCredentials { .. } => RevokePhase::Revoke,
            Self::TagPrincipal { .. } => RevokePhase::Preserve,
            Self::QuarantineInstance { .. } => RevokePhase::Quarantine,
        }
    }

    fn resource(&self) -> String {
        match self {
            Self::DeactivateAccessKey { access_key_id, .. } => access_key_id.clone(),
            Self::DeleteLoginProfile { user_name } => user_name.clone(),
            Self::RevokeSessions { principal } | Self::TagPrincipal { principal, .. } => principal.name().to_string(),
            Self::DenyInstanceCredentials { role_name, .. } => role_name.clone(),
            Self::QuarantineInstance { request } => request.instance_id.clone(),
        }
    }

    /// A failure of these leaves credentials usable: the case is not contained.
    fn is_containment(&self) -> bool {
        !matches!(self, Self::TagPrincipal { .. })
    }

    /// The quarantine of the source instance runs its own plan, dry run included.
    fn plans_itself(&self) -> bool {
        matches!(self, Self::QuarantineInstance { .. })
    }
}

impl fmt::Display for RevokeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DeactivateAccessKey { user_name, access_key_id } => {
                write!(f, "make access key {access_key_id} of {user_name} Inactive (kept, not deleted)")
            }
            Self::DeleteLoginProfile { user_name } => write!(f, "delete the console password of {user_name}"),
            Self::RevokeSessions { principal } => write!(
                f,
                "attach {} to {principal}: deny every request signed with credentials issued before now",
                policy::REVOKE_SESSIONS_POLICY
            ),
            Self::DenyInstanceCredentials { role_name, instance_arn, .. } => write!(
                f,
                "attach a deny to role {role_name} for credentials used by {instance_arn} (its other instances keep working)"
            ),
            Self::TagPrincipal { principal, tags } => write!(
                f,
                "tag {principal} with {}",
                tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            ),
            Self::QuarantineInstance { request } => {
                write!(f, "quarantine {} through the shared quarantine plan", request.instance_id)
            }
        }
    }
}

pub type RevokePlan = Plan<RevokeAction>;
pub type RevokeDecision = Decision<RevokeAction, RevokeSkip>;

/// Turns a request and what was read about its principal into a decision. Pure.
pub fn decide(request: &RevokeRequest, facts: &PrincipalFacts, config: &RevokeConfig, now: DateTime) -> RevokeDecision {
    let exempt_key = &config.quarantine.common.exempt_tag_key;
    if facts.tags.contains_key(exempt_key) {
        return Decision::Skip(RevokeSkip::Exempt { principal: facts.principal.clone(), tag_key: exempt_key.clone() });
    }
    let case_id = facts.tags.get(tags::CASE).cloned().unwrap_or_else(|| case_id_for(&request.signal_id));
    let principal = facts.principal.clone();
    let mut steps = Vec::new();

    if let Target::User { user_name, access_key_id } = &request.target {
        if let Some(named) = access_key_id {
            let skip = if named.starts_with("ASIA") {
                Some(
                    "temporary credentials, not a key: revoked by the session policy (the long-term key that minted them is not named; see FIREBREAK_DEACTIVATE_ALL_KEYS)"
                        .to_string(),
                )
            } else {
                match facts.access_keys.iter().find(|(id, _)| id == named) {
                    Some((_, true)) => None,
                    Some((_, false)) => Some("already Inactive".to_string()),
                    None => Some(format!("not a key of {user_name} (deleted, or another user's)")),
                }
            };
            steps.push(Planned {
                action: RevokeAction::DeactivateAccessKey {
                    user_name: user_name.clone(),
                    access_key_id: named.clone(),
                },
                skip,
            });
        }
        for (key, active) in facts.access_keys.iter().filter(|(id, _)| Some(id) != access_key_id.as_ref()) {
            let skip = if !active {
                Some("already Inactive".to_string())
            } else if !config.deactivate_all_keys {
                Some("not named by the signal; left active (FIREBREAK_DEACTIVATE_ALL_KEYS=false)".to_string())
            } else {
                None
            };
            steps.push(Planned {
                action: RevokeAction::DeactivateAccessKey { user_name: user_name.clone(), access_key_id: key.clone() },
                skip,
            });
        }
        steps.push(Planned {
            action: RevokeAction::DeleteLoginProfile { user_name: user_name.clone() },
            skip: if !facts.has_login_profile {
                Some("no console password".into())
            } else if !config.delete_login_profile {
                Some(
                    "console password left in place (FIREBREAK_DELETE_LOGIN_PROFILE=false): a new console sign-in is not revoked by the session policy"
                        .into(),
                )
            } else {
                None
            },
        });
    }

    match &request.target {
        Target::User { .. } | Target::RoleSessions { .. } => {
            steps.push(Planned {
                action: RevokeAction::RevokeSessions { principal: principal.clone() },
                skip: sessions_already_revoked(facts.revoked_before.as_deref(), request.signal_time.as_deref(), now),
            });
        }
        Target::InstanceCredentials { role_name, instance_id, instance_arn, .. } => {
            let wanted = serde_json::to_value(PolicyDocument::deny_instance_credentials(instance_arn)).ok();
            steps.push(Planned {
                action: RevokeAction::DenyInstanceCredentials {
                    role_name: role_name.clone(),
                    instance_id: instance_id.clone(),
                    instance_arn: instance_arn.clone(),
                },
                skip: (facts.instance_policy.is_some() && facts.instance_policy == wanted)
                    .then(|| "the role already denies this instance's credentials".to_string()),
            });
        }
        Target::NotRevocable { .. } => {}
    }

    let mut case_tags = vec![
        (tags::CASE.to_string(), case_id.clone()),
        (tags::FINDING_ID.to_string(), truncate_tag(&request.signal_id)),
        (tags::FINDING_TYPE.to_string(), truncate_tag(&request.signal_type)),
    ];
    if facts.tags.contains_key(tags::CASE) {
        case_tags.retain(|(k, _)| k != tags::FINDING_ID && k != tags::FINDING_TYPE);
    }
    if !facts.tags.contains_key(tags::CREDENTIALS_REVOKED_AT) {
        case_tags.push((tags::CREDENTIALS_REVOKED_AT.to_string(), policy::cutoff_at(now)));
    }
    let missing: Vec<(String, String)> = case_tags.into_iter().filter(|(k, v)| facts.tags.get(k) != Some(v)).collect();
    steps.push(Planned {
        skip: missing.is_empty().then(|| "already tagged with the case".to_string()),
        action: RevokeAction::TagPrincipal { principal: principal.clone(), tags: missing },
    });

    if let Target::InstanceCredentials { instance_id, vpc_hints, .. } = &request.target {
        steps.push(Planned {
            action: RevokeAction::QuarantineInstance {
                request: QuarantineRequest {
                    instance_id: instance_id.clone(),
                    signal: request.signal(),
                    vpc_hints: vpc_hints.clone(),
                },
            },
            skip: (!config.quarantine_source_instance)
                .then(|| "FIREBREAK_QUARANTINE_SOURCE_INSTANCE=false".to_string()),
        });
    }

    Decision::Act(Plan { title: format!("revoke credentials of {principal}"), case_id, steps })
}

/// IAM tag values hold at most 256 characters.
fn truncate_tag(value: &str) -> String {
    value.chars().take(256).collect()
}

/// `Some(reason)` when the policy already there revokes every session the signal can be about:
/// its cutoff is not earlier than the activity the signal reports. A signal time in the future
/// (clock skew, a crafted event) says nothing, and then any existing cutoff is kept.
pub fn sessions_already_revoked(existing: Option<&str>, signal_time: Option<&str>, now: DateTime) -> Option<String> {
    let existing_text = existing?;
    let existing = policy::parse_time(existing_text)?;
    let signal = signal_time.and_then(policy::parse_time).filter(|t| *t <= now);
    match signal {
        Some(signal) if existing < signal => None,
        _ => Some(format!("sessions issued before {existing_text} are already denied, which covers this signal")),
    }
}

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
}

impl From<RevokeError> for engine::FunctionError {
    fn from(error: RevokeError) -> Self {
        let kind = match &error {
            RevokeError::Event(_) => "InvalidEvent",
            RevokeError::UserNotFound { .. }
            | RevokeError::RoleNotFound { .. }
            | RevokeError::KeyOwnerNotFound { .. } => "ResourceNotFound",
            RevokeError::Read(_) => "AwsCallFailed",
        };
        engine::FunctionError::new(kind, error)
    }
}

/// Reads what the plan needs about the principal, in parallel.
pub async fn observe(clients: &Clients, request: &RevokeRequest) -> Result<Option<PrincipalFacts>, RevokeError> {
    let iam_client = &clients.iam;
    match &request.target {
        Target::User { user_name, .. } => {
            let (arn, tags, keys, login, policy) = tokio::join!(
                iam::user_arn(iam_client, user_name),
                iam::user_tags(iam_client, user_name),
                iam::access_keys(iam_client, user_name),
                iam::has_login_profile(iam_client, user_name),
                iam::user_policy(iam_client, user_name, policy::REVOKE_SESSIONS_POLICY),
            );
            let Some(arn) = arn? else {
                return Err(RevokeError::UserNotFound {
                    user_name: user_name.clone(),
                    account_id: request.account_id.clone(),
                });
            };
            Ok(Some(PrincipalFacts {
                principal: Principal::User(user_name.clone()),
                arn,
                tags: tags?,
                access_keys: keys?,
                has_login_profile: login?,
                revoked_before: policy?.as_ref().and_then(policy::revoked_sessions_cutoff).map(policy::cutoff_at),
                instance_policy: None,
            }))
        }
        Target::RoleSessions { role_name } | Target::InstanceCredentials { role_name, .. } => {
            let instance_policy_name = match &request.target {
                Target::InstanceCredentials { instance_id, .. } => {
                    Some(format!("{}{instance_id}", policy::DENY_INSTANCE_POLICY_PREFIX))
                }
                _ => None,
            };
            let (arn, tags, sessions, instance) = tokio::join!(
                iam::find_role_arn(iam_client, role_name),
                iam::role_tags(iam_client, role_name),
                iam::role_policy(iam_client, role_name, policy::REVOKE_SESSIONS_POLICY),
                async {
                    match &instance_policy_name {
                        Some(name) => iam::role_policy(iam_client, role_name, name).await,
                        None => Ok(None),
                    }
                },
            );
            let Some(arn) = arn? else {
                return Err(RevokeError::RoleNotFound {
                    role_name: role_name.clone(),
                    account_id: request.account_id.clone(),
                });
            };
            Ok(Some(PrincipalFacts {
                principal: Principal::Role(role_name.clone()),
                arn,
                tags: tags?,
                access_keys: Vec::new(),
                has_login_profile: false,
                revoked_before: sessions?.as_ref().and_then(policy::revoked_sessions_cutoff).map(policy::cutoff_at),
                instance_policy: instance?,
            }))
        }
        Target::NotRevocable { .. } => Ok(None),
    }
}

/// The one entry point of the function: a GuardDuty IAM finding or an AWS Health credentials
/// notice, as EventBridge delivers it.
pub async fn revoke_event(
    clients: &Clients,
    config: &RevokeConfig,
    event: &Value,
    deadline: Deadline,
) -> Result<Report, RevokeError> {
    let mut report = match event.get("source").and_then(Value::as_str) {
        Some(health::SOURCE) => revoke_health_event(clients, config, &HealthEvent::from_event(event)?, deadline).await,
        Some(securityhub::SOURCE) => {
            revoke_security_hub_action(clients, config, &SecurityHubEvent::from_event(event)?, deadline).await
        }
        _ => revoke_finding(clients, config, &GuardDutyFinding::from_event(event)?, deadline).await,
    }?;
    notify(clients, config, &mut report).await;
    Ok(report)
}

/// Tells the SNS topic about a revocation, or about credentials only a human can revoke; the
/// outcome of the publish is a step of the report.
async fn notify(clients: &Clients, config: &RevokeConfig, report: &mut Report) {
    let Some(topic) = &config.sns_topic_arn else { return };
    let acted = matches!(report.outcome, Outcome::Contained | Outcome::ContainedWithErrors | Outcome::Failed);
    let needs_a_human = report.reason.as_deref().is_some_and(|r| r.contains("cannot be revoked"));
    if !acted && !needs_a_human {
        return;
    }
    let what = if needs_a_human { "NEEDS A HUMAN".to_string() } else { format!("{:?}", report.outcome) };
    let subject = format!("Firebreak revoke-credentials: {} {what}", report.resource);
    let mut summary = format!(
        "{} ({}) in account {}: {what}\nfinding {} {}\n",
        report.resource,
        report.case_id.as_deref().unwrap_or("no case"),
        report.signal.account,
        report.signal.kind,
        report.signal.id
    );
    if let Some(reason) = &report.reason {
        summary.push_str(&format!("{reason}\n"));
    }
    for step in &report.steps {
        summary.push_str(&format!("- {} {}: {} ({})\n", step.step, step.resource, step.outcome.as_str(), step.detail));
    }
    let clock = Instant::now();
    let published = crate::notify::publish_summary(&clients.sns, topic, &subject, &summary, &report.to_json()).await;
    let (outcome, detail) = match published {
        Ok(id) => (StepOutcome::Done, format!("message {id}")),
        Err(e) => (StepOutcome::Failed, e.to_string()),
    };
    let mut step = StepReport::new("publish_sns_summary", topic, outcome, detail);
    step.duration_ms = millis(clock.elapsed());
    log_step(report.case_id.as_deref().unwrap_or_default(), &report.signal.id, &step);
    report.steps.push(step);
}

async fn own_identity(clients: &Clients, config: &RevokeConfig) -> Result<Option<PrincipalRef>, RevokeError> {
    let arn = match &config.own_identity {
        Some(arn) => arn.clone(),
        None => iam::caller_identity(&clients.sts).await?,
    };
    Ok(PrincipalRef::parse(&arn))
}

pub async fn revoke_finding(
    clients: &Clients,
    config: &RevokeConfig,
    finding: &GuardDutyFinding,
    deadline: Deadline,
) -> Result<Report, RevokeError> {
    // Sample findings name placeholders ("GeneratedFindingUserName") that would not validate.
    if finding.is_sample() && !config.quarantine.common.act_on_sample_findings {
        let user = finding.resource.access_key_details.as_ref().and_then(|d| d.user_name.clone()).unwrap_or_default();
        let report = Report::new(FUNCTION, finding.signal(), user, config.quarantine.common.dry_run);
        return Ok(report.skipped(RevokeSkip::SampleFinding));
    }
    let request = RevokeRequest::from_finding(finding)?;
    // Severity and principal type need no identity; reading it first would cost an STS call.
    if let Some(skip) = triage(Some(finding), &request, config, None) {
        return Ok(skipped(config, &request, skip));
    }
    let own = own_identity(clients, config).await?;
    if let Some(skip) = triage(Some(finding), &request, config, own.as_ref()) {
        return Ok(skipped(config, &request, skip));
    }
    revoke(clients, config, &request, deadline).await
}

/// An analyst's "Revoke credentials" custom action on Security Hub access-key findings: each
/// becomes the GuardDuty finding it came from and is revoked as such. The analyst has decided, so
/// the severity threshold does not hold it back; protection, exemption and sample checks still do.
pub async fn revoke_security_hub_action(
    clients: &Clients,
    config: &RevokeConfig,
    event: &SecurityHubEvent,
    deadline: Deadline,
) -> Result<Report, RevokeError> {
    if !matches!(event.trigger, Trigger::CustomAction { action: CustomAction::RevokeCredentials, .. }) {
        return Err(EventError::UnsupportedFinding {
            finding_type: "Security Hub event".into(),
            resource_type: "-".into(),
            why: "revoke-credentials acts on the \"Revoke credentials\" custom action only",
        }
        .into());
    }
    let mut reports = Vec::new();
    for asff in &event.findings {
        let mut finding = asff.to_access_key_finding()?;
        finding.severity = finding.severity.max(config.quarantine.common.min_severity);
        reports.push(revoke_finding(clients, config, &finding, deadline).await?);
    }
    merge(reports).ok_or_else(|| EventError::Malformed("a custom action without findings".into()).into())
}

pub async fn revoke_health_event(
    clients: &Clients,
    config: &RevokeConfig,
    event: &HealthEvent,
    deadline: Deadline,
) -> Result<Report, RevokeError> {
    let keys = exposed_access_keys(event)?;
    let own = own_identity(clients, config).await?;
    let mut reports = Vec::new();
    for access_key_id in keys {
        let Some(user_name) = iam::access_key_owner(&clients.iam, &access_key_id).await? else {
            return Err(RevokeError::KeyOwnerNotFound { access_key_id, account_id: event.account_id.clone() });
        };
        let request = RevokeRequest {
            source: health::SOURCE,
            account_id: event.account_id.clone(),
            region: event.region.clone(),
            signal_id: event.event_arn.clone(),
            signal_type: event.event_type_code.clone(),
            signal_time: event.start_time.clone(),
            target: Target::User { user_name, access_key_id: Some(access_key_id) },
        };
        reports.push(match triage(None, &request, config, own.as_ref()) {
            Some(skip) => skipped(config, &request, skip),
            None => revoke(clients, config, &request, deadline).await?,
        });
    }
    merge(reports).ok_or_else(|| EventError::Malformed("the AWS Health notice names no access key".into()).into())
}

fn empty_report(config: &RevokeConfig, request: &RevokeRequest) -> Report {
    let resource = match &request.target {
        Target::User { user_name, .. } => user_name.clone(),
        Target::RoleSessions { role_name } | Target::InstanceCredentials { role_name, .. } => role_name.clone(),
        Target::NotRevocable { principal, user_type } => format!("{user_type}:{principal}"),
    };
    Report::new(FUNCTION, request.signal(), resource, config.quarantine.common.dry_run)
}

fn skipped(config: &RevokeConfig, request: &RevokeRequest, skip: RevokeSkip) -> Report {
    empty_report(config, request).skipped(skip)
}

/// One report for a notice that named several keys: every step, the worst outcome.
fn merge(reports: Vec<Report>) -> Option<Report> {
    let mut reports = reports.into_iter();
    let mut merged = reports.next()?;
    reports.for_each(|report| merged.absorb(report));
    Some(merged)
}

/// Revokes the credentials of one principal (already triaged): read, decide, act.
pub async fn revoke(
    clients: &Clients,
    config: &RevokeConfig,
    request: &RevokeRequest,
    deadline: Deadline,
) -> Result<Report, RevokeError> {
    let clock = Instant::now();
    let mut report = empty_report(config, request);
    let Some(facts) = observe(clients, request).await? else {
        return Ok(report);
    };
    let plan = match decide(request, &facts, config, DateTime::from(SystemTime::now())) {
        Decision::Skip(skip) => {
            report.reason = Some(skip.to_string());
            report.duration_ms = millis(clock.elapsed());
            return Ok(report);
        }
        Decision::Act(plan) => plan,
    };
    report.duration_ms = millis(clock.elapsed());
    engine::run(&plan, &Executor { clients, config, deadline }, deadline, &mut report).await;
    Ok(report)
}

struct Executor<'a> {
    clients: &'a Clients,
    config: &'a RevokeConfig,
    deadline: Deadline,
}

impl Execute<RevokeAction> for Executor<'_> {
    type Error = AwsError;

    async fn execute(&self, action: &RevokeAction, _: Progress) -> Result<Acted, AwsError> {
        let iam_client = &self.clients.iam;
        match action {
            RevokeAction::DeactivateAccessKey { user_name, access_key_id } => {
                iam::deactivate_access_key(iam_client, user_name, access_key_id).await?;
                Ok(Acted::done(format!("{access_key_id} is Inactive")))
            }
            RevokeAction::DeleteLoginProfile { user_name } => {
                iam::delete_login_profile(iam_client, user_name).await?;
                Ok(Acted::done(format!("console password of {user_name} deleted")))
            }
            RevokeAction::RevokeSessions { principal } => {
                // Taken now, after the Disable phase: no session minted from a disabled key survives.
                let cutoff = policy::cutoff_at(DateTime::from(SystemTime::now()));
                let document = PolicyDocument::revoke_sessions_issued_before(&cutoff).to_json();
                match principal {
                    Principal::User(name) => {
                        iam::put_user_policy(iam_client, name, policy::REVOKE_SESSIONS_POLICY, &document).await?
                    }
                    Principal::Role(name) => {
                        iam::put_role_policy(iam_client, name, policy::REVOKE_SESSIONS_POLICY, &document).await?
                    }
                }
                Ok(Acted::done(format!("{} denies credentials issued before {cutoff}", policy::REVOKE_SESSIONS_POLICY)))
            }
            RevokeAction::DenyInstanceCredentials { role_name, instance_id, instance_arn } => {
                let name = format!("{}{instance_id}", policy::DENY_INSTANCE_POLICY_PREFIX);
                let document = PolicyDocument::deny_instance_credentials(instance_arn).to_json();
                iam::put_role_policy(iam_client, role_name, &name, &document).await?;
                Ok(Acted::done(format!("{name} denies requests whose ec2:SourceInstanceARN is {instance_arn}")))
            }
            RevokeAction::TagPrincipal { principal, tags } => {
                match principal {
                    Principal::User(name) => iam::tag_user(iam_client, name, tags).await?,
                    Principal::Role(name) => iam::tag_role(iam_client, name, tags).await?,
                }
                Ok(Acted::done(tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")))
            }
            RevokeAction::QuarantineInstance { request } => {
                // The quarantine plans its own dry run (reads only), which shows what it would do.
                match quarantine::quarantine(self.clients, &self.config.quarantine, request, self.deadline).await {
                    Ok(q) => {
                        let detail = format!(
                            "quarantine {}{}",
                            q.outcome.as_str(),
                            q.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
                        );
                        Ok(Acted::nested(q.outcome.as_step(), detail, q.steps))
                    }
                    Err(e) => Ok(Acted::nested(StepOutcome::Failed, e.to_string(), Vec::new())),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime {
        policy::parse_time(text).unwrap()
    }

    #[test]
    fn principal_refs_parse_names_and_arns() {
        let name = PrincipalRef::parse("breakglass-admin").unwrap();
        assert!(name.matches(&Principal::User("breakglass-admin".into()), "123456789012"));
        assert!(name.matches(&Principal::Role("BreakGlass-Admin".into()), "123456789012"));

        let role = PrincipalRef::parse("arn:aws:iam::123456789012:role/ops/firebreak-revoke").unwrap();
        assert!(role.matches(&Principal::Role("firebreak-revoke".into()), "123456789012"));
        assert!(!role.matches(&Principal::User("firebreak-revoke".into()), "123456789012"));
        assert!(!role.matches(&Principal::Role("firebreak-revoke".into()), "222222222222"));

        let session =
            PrincipalRef::parse("arn:aws:sts::123456789012:assumed-role/firebreak-revoke/revoke-credentials").unwrap();
        assert_eq!(session.kind, Some(PrincipalKind::Role));
        assert_eq!(session.name, "firebreak-revoke");
        let moto = PrincipalRef::parse("arn:aws:sts::123456789012:user/moto").unwrap();
        assert!(moto.matches(&Principal::User("moto".into()), "123456789012"));

        assert_eq!(PrincipalRef::parse("arn:aws:iam::123456789012:root"), None);
        assert_eq!(PrincipalRef::parse("not a name"), None);
    }

    #[test]
    fn protected_list_is_read_and_bad_entries_refused() {
        let vars = |v: &'static str| move |name: &str| (name == PROTECTED_PRINCIPALS).then(|| v.to_string());
        let config = RevokeConfig::from_lookup(vars("admin, arn:aws:iam::123456789012:role/ir ,")).unwrap();
        assert_eq!(config.protected_principals.len(), 2);
        let err = RevokeConfig::from_lookup(vars("admin,arn:aws:s3:::bucket")).unwrap_err();
        assert!(err.to_string().contains(PROTECTED_PRINCIPALS), "{err}");
        let defaults = RevokeConfig::from_lookup(|_| None).unwrap();
        assert_eq!(defaults, RevokeConfig::default());
    }

    #[test]
    fn access_key_ids_are_checked() {
        assert!(is_access_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(is_access_key_id("ASIAQ3EGSYGZJ5EXAMPL"));
        assert!(!is_access_key_id("GeneratedFindingAccessKeyId"));
        assert!(!is_access_key_id("AKIA/../x"));
    }

    #[test]
    fn the_cutoff_is_kept_on_redelivery_and_only_ever_moves_forward() {
        let now = at("2026-11-25T12:00:00Z");
        // No policy yet: revoke.
        assert_eq!(sessions_already_revoked(None, Some("2026-11-24T02:12:09Z"), now), None);
        // Redelivery: the cutoff is after the reported activity, nothing to add.
        assert!(sessions_already_revoked(Some("2026-11-24T02:13:00Z"), Some("2026-11-24T02:12:09.620Z"), now).is_some());
        // Activity reported after the cutoff: revoke again (the cutoff moves forward to now).
        assert_eq!(sessions_already_revoked(Some("2026-11-24T02:13:00Z"), Some("2026-11-24T05:00:00Z"), now), None);
        // A signal from the future, or without a time, does not move an existing cutoff.
        assert!(sessions_already_revoked(Some("2026-11-24T02:13:00Z"), Some("2030-01-01T00:00:00Z"), now).is_some());
        assert!(sessions_already_revoked(Some("2026-11-24T02:13:00Z"), None, now).is_some());
    }
}
