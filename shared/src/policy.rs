//! The IAM policy documents Firebreak writes, as typed values, and the reading back of the ones it
//! wrote earlier (to decide whether a redelivered signal needs anything new).

use std::collections::BTreeMap;

use aws_sdk_ec2::primitives::{DateTime, DateTimeFormat};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Inline policy (on a user or a role) that denies every request signed with temporary
/// credentials issued before its cutoff: what the IAM console's "Revoke active sessions" attaches.
pub const REVOKE_SESSIONS_POLICY: &str = "firebreak-revoke-older-sessions";
/// Prefix of the inline role policy that denies the credentials of one instance (the instance id follows).
pub const DENY_INSTANCE_POLICY_PREFIX: &str = "firebreak-deny-instance-";

const VERSION: &str = "2012-10-17";
const TOKEN_ISSUE_TIME: &str = "aws:TokenIssueTime";
const SOURCE_INSTANCE_ARN: &str = "ec2:SourceInstanceARN";

/// Whether an inline policy name is one Firebreak writes (a release deletes only those).
pub fn is_firebreak_policy(name: &str) -> bool {
    name == REVOKE_SESSIONS_POLICY
        || name
            .strip_prefix(DENY_INSTANCE_POLICY_PREFIX)
            .is_some_and(|id| crate::events::validate_instance_id(id).is_ok())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: String,
    pub statement: Vec<Statement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Condition`: operator → condition key → value.
pub type Condition = BTreeMap<String, BTreeMap<String, String>>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: String,
    pub effect: Effect,
    pub action: String,
    pub resource: String,
    pub condition: Condition,
}

impl PolicyDocument {
    fn deny_all_when(sid: &str, operator: &str, key: &str, value: &str) -> Self {
        let condition =
            BTreeMap::from([(operator.to_string(), BTreeMap::from([(key.to_string(), value.to_string())]))]);
        Self {
            version: VERSION.into(),
            statement: vec![Statement {
                sid: sid.into(),
                effect: Effect::Deny,
                action: "*".into(),
                resource: "*".into(),
                condition,
            }],
        }
    }

    /// Denies everything to temporary credentials issued before `cutoff` (RFC 3339). Requests signed
    /// with long-term access keys carry no `aws:TokenIssueTime`, so they are not affected by it.
    pub fn revoke_sessions_issued_before(cutoff: &str) -> Self {
        Self::deny_all_when("FirebreakRevokeOlderSessions", "DateLessThan", TOKEN_ISSUE_TIME, cutoff)
    }

    /// Denies everything to the role credentials delivered to one EC2 instance, wherever they are
    /// used from, and leaves the role's other instances working.
    pub fn deny_instance_credentials(instance_arn: &str) -> Self {
        Self::deny_all_when("FirebreakDenyInstanceCredentials", "StringEquals", SOURCE_INSTANCE_ARN, instance_arn)
    }

    pub fn to_json(&self) -> String {
        // A struct of strings and maps always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986); decodes them, and accepts plain JSON too.
pub fn decode_document(raw: &str) -> Option<Value> {
    if let Ok(value) = serde_json::from_str(raw) {
        return Some(value);
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    serde_json::from_slice(&out).ok()
}

/// The latest `aws:TokenIssueTime` cutoff of a `DateLessThan` deny in a policy document: the
/// moment before which sessions are already revoked. Accepts the console's form too (arrays).
pub fn revoked_sessions_cutoff(document: &Value) -> Option<DateTime> {
    let statements = match document.get("Statement")? {
        Value::Array(items) => items.iter().collect::<Vec<_>>(),
        single @ Value::Object(_) => vec![single],
        _ => return None,
    };
    statements
        .into_iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Deny"))
        .filter_map(|s| s.get("Condition")?.get("DateLessThan")?.get(TOKEN_ISSUE_TIME))
        .flat_map(|v| match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        })
        .filter_map(parse_time)
        .max()
}

/// Parses the times found in events and policies: RFC 3339 (GuardDuty, IAM) or the HTTP date
/// form AWS Health uses in `startTime`.
pub fn parse_time(text: &str) -> Option<DateTime> {
    DateTime::from_str(text, DateTimeFormat::DateTime)
        .or_else(|_| DateTime::from_str(text, DateTimeFormat::HttpDate))
        .ok()
}

/// A cutoff for a revoke policy: `at`, rounded up to the next whole second, so that a session
/// issued in the same second as the revocation is revoked too.
pub fn cutoff_at(at: DateTime) -> String {
    let secs = if at.has_subsec_nanos() { at.secs() + 1 } else { at.secs() };
    DateTime::from_secs(secs).fmt(DateTimeFormat::DateTime).unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_sessions_policy_is_exactly_the_console_shape() {
        let json = PolicyDocument::revoke_sessions_issued_before("2026-11-24T02:15:00Z").to_json();
        assert_eq!(
            json,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"FirebreakRevokeOlderSessions","Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-11-24T02:15:00Z"}}}]}"#
        );
    }

    #[test]
    fn deny_instance_policy_names_the_source_instance() {
        let json = PolicyDocument::deny_instance_credentials(
            "arn:aws:ec2:us-east-1:123456789012:instance/i-0a1b2c3d4e5f60718",
        )
        .to_json();
        assert_eq!(
            json,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"FirebreakDenyInstanceCredentials","Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"ec2:SourceInstanceARN":"arn:aws:ec2:us-east-1:123456789012:instance/i-0a1b2c3d4e5f60718"}}}]}"#
        );
    }

    #[test]
    fn documents_are_read_back_url_encoded_or_plain() {
        let written = PolicyDocument::revoke_sessions_issued_before("2026-11-24T02:15:00Z").to_json();
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Deny%22%2C%22Action%22%3A%5B%22%2A%22%5D%2C%22Resource%22%3A%5B%22%2A%22%5D%2C%22Condition%22%3A%7B%22DateLessThan%22%3A%7B%22aws%3ATokenIssueTime%22%3A%222026-11-24T03%3A00%3A00.000Z%22%7D%7D%7D%5D%7D";
        let plain = decode_document(&written).unwrap();
        let console = decode_document(encoded).unwrap();
        assert_eq!(cutoff_at(revoked_sessions_cutoff(&plain).unwrap()), "2026-11-24T02:15:00Z");
        assert_eq!(cutoff_at(revoked_sessions_cutoff(&console).unwrap()), "2026-11-24T03:00:00Z");
        assert_eq!(decode_document("%7"), None);
        assert_eq!(revoked_sessions_cutoff(&serde_json::json!({"Statement": []})), None);
    }

    #[test]
    fn cutoffs_round_up_to_the_second_and_times_parse_in_both_forms() {
        assert_eq!(cutoff_at(parse_time("2026-11-24T02:12:09.620Z").unwrap()), "2026-11-24T02:12:10Z");
        assert_eq!(cutoff_at(parse_time("2026-11-24T02:12:09Z").unwrap()), "2026-11-24T02:12:09Z");
        assert_eq!(cutoff_at(parse_time("Tue, 24 Nov 2026 02:12:09 GMT").unwrap()), "2026-11-24T02:12:09Z");
        assert!(parse_time("yesterday").is_none());
    }
}
