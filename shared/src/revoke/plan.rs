//! The revocation plan: what was read about the principal, the actions and their phases, and the
//! pure [`decide`] that turns a request and those facts into a printable plan.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_ec2::primitives::DateTime;
use serde::Serialize;
use serde_json::Value;

use super::config::RevokeConfig;
use super::principal::Principal;
use super::request::{RevokeRequest, Target};
use super::triage::{exempt, RevokeSkip};
use crate::case::case_id_for;
use crate::engine::{self, Decision, Plan, Planned};
use crate::policy::{self, PolicyDocument};
use crate::quarantine::QuarantineRequest;
use crate::tags;

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
    if let Some(skip) = exempt(config, &facts.principal, &facts.tags) {
        return Decision::Skip(skip);
    }
    let case_id = tags::open_case(&facts.tags).cloned().unwrap_or_else(|| case_id_for(&request.signal.id));
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
                skip: sessions_already_revoked(facts.revoked_before.as_deref(), request.signal.time.as_deref(), now),
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
        (tags::FINDING_ID.to_string(), truncate_tag(&request.signal.id)),
        (tags::FINDING_TYPE.to_string(), truncate_tag(&request.signal.kind)),
    ];
    if tags::open_case(&facts.tags).is_some() {
        case_tags.retain(|(k, _)| k != tags::FINDING_ID && k != tags::FINDING_TYPE);
    }
    if tags::open_case(&facts.tags).is_none() || !facts.tags.contains_key(tags::CREDENTIALS_REVOKED_AT) {
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
                    signal: request.signal.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime {
        policy::parse_time(text).unwrap()
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
