//! close-open-ports' actions and phases, per group in this order:
//!
//! 1. **Record** — tag the group with every rule about to be revoked (`firebreak:revoked-ingress`,
//!    restorable with AuthorizeSecurityGroupIngress), so that no rule is ever gone unrecorded.
//! 2. **Authorize** — allow each exposed port again from each allowed CIDR, so that administrators
//!    never lose access between the two changes.
//! 3. **Revoke** — revoke each exposing rule by its rule id: the containment.
//!
//! Each phase is one stage: every group's record runs side by side, then every authorization, then
//! every revoke. A failed record or authorization does not hold the revoke back (an open port is
//! the threat); the report shows it.

use std::fmt;

use serde::Serialize;

use crate::engine;
use crate::exposure::ExposingRule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A group with nothing to close: reported, never run.
    Check,
    Record,
    Authorize,
    Revoke,
}

impl engine::Phase for Phase {
    fn stage(self) -> u8 {
        match self {
            Self::Check | Self::Record => 0,
            Self::Authorize => 1,
            Self::Revoke => 2,
        }
    }
}

/// An ingress rule to add so that the allowed CIDRs keep the access the revoked rule gave them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Replacement {
    pub protocol: String,
    pub port: u16,
    pub cidr: String,
}

impl fmt::Display for Replacement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} from {}", self.protocol, self.port, self.cidr)
    }
}

/// One change to one group. Every action is idempotent: run again, it finds its change in place.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PortsAction {
    /// A group left alone; the plan says why (exempt, Firebreak's own, nothing exposed).
    CheckGroup {
        group_id: String,
        group_name: String,
    },
    /// The tags recording every rule revoked so far, this run's included.
    RecordRevokedRules {
        group_id: String,
        tags: Vec<(String, String)>,
    },
    AuthorizeAllowedCidr {
        group_id: String,
        replacement: Replacement,
    },
    RevokeIngressRule {
        group_id: String,
        exposing: ExposingRule,
    },
}

impl engine::Action for PortsAction {
    type Phase = Phase;

    fn name(&self) -> &'static str {
        match self {
            Self::CheckGroup { .. } => "check_group",
            Self::RecordRevokedRules { .. } => "record_revoked_rules",
            Self::AuthorizeAllowedCidr { .. } => "authorize_allowed_cidr",
            Self::RevokeIngressRule { .. } => "revoke_ingress_rule",
        }
    }

    fn phase(&self) -> Phase {
        match self {
            Self::CheckGroup { .. } => Phase::Check,
            Self::RecordRevokedRules { .. } => Phase::Record,
            Self::AuthorizeAllowedCidr { .. } => Phase::Authorize,
            Self::RevokeIngressRule { .. } => Phase::Revoke,
        }
    }

    /// The group; for a revoke, the rule (its id is what is revoked).
    fn resource(&self) -> String {
        match self {
            Self::CheckGroup { group_id, .. }
            | Self::RecordRevokedRules { group_id, .. }
            | Self::AuthorizeAllowedCidr { group_id, .. } => group_id.clone(),
            Self::RevokeIngressRule { exposing, .. } => exposing.rule.rule_id.clone(),
        }
    }

    /// Only a failed revoke leaves the port open.
    fn is_containment(&self) -> bool {
        matches!(self, Self::RevokeIngressRule { .. })
    }
}

impl fmt::Display for PortsAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CheckGroup { group_id, group_name } => write!(f, "check {group_id} ({group_name})"),
            Self::RecordRevokedRules { group_id, tags } => write!(
                f,
                "tag {group_id} with {}",
                tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
            ),
            Self::AuthorizeAllowedCidr { group_id, replacement } => write!(f, "authorize {replacement} in {group_id}"),
            Self::RevokeIngressRule { group_id, exposing } => write!(
                f,
                "revoke {} from {group_id}: it exposed port(s) {} to the internet",
                exposing.rule,
                exposing.exposed_ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}
