//! The policy document as written: JSON, every object refusing unknown keys.

use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Document {
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub default_mode: Option<Mode>,
}

/// What happens to a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Act now.
    Contain,
    /// Plan, record, ask a human; act only on approval.
    Approve,
    /// Plan and record only.
    Observe,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "contain" => Some(Self::Contain),
            "approve" => Some(Self::Approve),
            "observe" => Some(Self::Observe),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contain => "contain",
            Self::Approve => "approve",
            Self::Observe => "observe",
        }
    }
}

/// What an unanswered approval turns into once `approve_within` has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    Contain,
    Observe,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    /// Every field given must match; within a list, any element. Empty: every signal.
    #[serde(rename = "match", default)]
    pub matches: Match,
    pub mode: Mode,
    /// `approve` only: how long a human has (`90s`, `15m`, `2h`, `1d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approve_within: Option<String>,
    /// With `approve_within`, and only with it: the safe side, said explicitly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<OnTimeout>,
    #[serde(default)]
    pub overrides: Overrides,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// EventBridge sources (`aws.guardduty`, `aws.securityhub`, `aws.health`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Vec<String>>,
    /// Finding types (or the signal's kind), as globs: `*` any run of characters, `?` one.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub finding_type: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Vec<String>>,
    /// `key` (any value) or `key=value`; every one must be on the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Function names (`quarantine-instance`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<Vec<String>>,
}

/// A GuardDuty severity range, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Severity {
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

/// The action settings a rule may change, and only those (each is also a function's environment
/// variable: `FIREBREAK_SNAPSHOT`, ...). Unset: the function's configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// quarantine: snapshot the volumes (`QuarantineConfig::snapshot`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<bool>,
    /// quarantine: stop the instance after the snapshots (`QuarantineConfig::stop_instance`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_instance: Option<bool>,
    /// quarantine: end tracked connections first (`QuarantineConfig::cut_tracked_connections`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_tracked_connections: Option<bool>,
    /// quarantine-task: stop the task once isolated (`TaskConfig::stop_task`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_task: Option<bool>,
    /// revoke: disable every key of the user (`RevokeConfig::deactivate_all_keys`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivate_all_keys: Option<bool>,
    /// revoke: delete the console password (`RevokeConfig::delete_login_profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_login_profile: Option<bool>,
    /// revoke: quarantine the instance whose credentials leaked (`RevokeConfig::quarantine_source_instance`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine_source_instance: Option<bool>,
}
