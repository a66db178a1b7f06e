//! Whether to act at all: the common rules (sample, severity, exemption), principals no API can
//! revoke, and principals never revoked (the function's own identity, the protected list).

use std::fmt;

use serde::Serialize;

use super::config::RevokeConfig;
use super::plan::PrincipalFacts;
use super::principal::{Principal, PrincipalRef};
use super::request::{RevokeRequest, Target};
use super::RevokeError;
use crate::accounts::Accounts;
use crate::engine::triage::{self, Skip};
use crate::events::GuardDutyFinding;

/// Why nothing is done. Each is reported, never silent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RevokeSkip {
    NotRevocable {
        user_type: String,
        principal: String,
    },
    OwnIdentity {
        principal: Principal,
    },
    Protected {
        principal: Principal,
    },
    /// The member role Firebreak acts through, or a role under the `/firebreak/` path: revoking
    /// them would lock Firebreak out of the account in the middle of an incident.
    Firebreak {
        principal: Principal,
    },
    /// The common rules: a sample finding, below the severity threshold, exempt by tag.
    #[serde(untagged)]
    Triage(Skip),
}

impl fmt::Display for RevokeSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Triage(skip) => skip.fmt(f),
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
            Self::Firebreak { principal } => write!(
                f,
                "{principal} is Firebreak's own (the member role or a /firebreak/ role): never revoked, it is how the account is contained"
            ),
        }
    }
}

/// The principals never revoked, in every account: the function's own identity, the member role
/// it acts through, and (once a role's path is read) every `/firebreak/` role.
#[derive(Debug, Clone, Default)]
pub struct Protected {
    pub own_identity: Option<PrincipalRef>,
    pub member_role_name: Option<String>,
}

impl Protected {
    /// Nothing known yet: the checks that need no identity.
    pub fn none() -> Self {
        Self::default()
    }

    /// The function's identity (cached at cold start, or asked of STS) and its member role.
    pub async fn of(accounts: &Accounts, config: &RevokeConfig) -> Result<Self, RevokeError> {
        Ok(Self {
            own_identity: super::observe::own_identity(accounts.home(), config).await?,
            member_role_name: Some(accounts.config().member_role_name.clone()),
        })
    }

    fn is_member_role(&self, principal: &Principal) -> bool {
        matches!(principal, Principal::Role(name) if self.member_role_name.as_ref().is_some_and(|m| m.eq_ignore_ascii_case(name)))
    }

    /// A role whose ARN puts it under `/firebreak/` (the function roles, in the security account).
    pub fn firebreak_path(&self, facts: &PrincipalFacts) -> Option<RevokeSkip> {
        (matches!(facts.principal, Principal::Role(_)) && facts.arn.contains(":role/firebreak/"))
            .then(|| RevokeSkip::Firebreak { principal: facts.principal.clone() })
    }
}

/// Checks that need no AWS call except the caller identity: sample, revocable at all, severity,
/// and protected.
pub fn triage(
    finding: Option<&GuardDutyFinding>,
    request: &RevokeRequest,
    config: &RevokeConfig,
    protected: &Protected,
) -> Option<RevokeSkip> {
    let common = triage::triage(
        &config.quarantine.common,
        finding.is_some_and(GuardDutyFinding::is_sample),
        finding.map(|f| f.severity),
    );
    match (&request.target, common) {
        (_, Some(skip @ Skip::SampleFinding)) => Some(RevokeSkip::Triage(skip)),
        // Before severity: GuardDuty rates root usage Low, and "cannot be revoked" is the useful answer.
        (Target::NotRevocable { user_type, principal }, _) => {
            Some(RevokeSkip::NotRevocable { user_type: user_type.clone(), principal: principal.clone() })
        }
        (_, Some(skip)) => Some(RevokeSkip::Triage(skip)),
        (target, None) => {
            let principal = target.principal()?;
            if protected.is_member_role(&principal) {
                return Some(RevokeSkip::Firebreak { principal });
            }
            protection(
                &principal,
                &request.signal.account,
                protected.own_identity.as_ref(),
                &config.protected_principals,
            )
        }
    }
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

/// A principal whose tags carry the exemption key is never revoked.
pub fn exempt(
    config: &RevokeConfig,
    principal: &Principal,
    tags: &std::collections::BTreeMap<String, String>,
) -> Option<RevokeSkip> {
    triage::exempt(&config.quarantine.common, &principal.to_string(), tags).map(RevokeSkip::Triage)
}
