//! What to release, from whichever way it was asked: a direct invocation
//! (`{"release": {"case_id": …, "reason": …, "requested_by": …, "credentials": false}}`), the
//! Security Hub custom action "Release" on a Firebreak or GuardDuty finding, or `firebreak
//! release`. Parsed and validated with no AWS call.

use serde::Deserialize;
use serde_json::Value;

use crate::case::case_id_for;
use crate::events::securityhub::{self, AsffFinding, CustomAction, SecurityHubEvent, Trigger};
use crate::events::EventError;

/// Who and why are free text, kept short: they land in the ledger and in tags.
const MAX_TEXT: usize = 256;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReleaseRequest {
    pub case_id: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub requested_by: String,
    /// Also re-activate the keys the case disabled and remove Firebreak's deny policies. Off by
    /// default: credentials that leaked stay revoked unless someone says otherwise.
    #[serde(default)]
    pub credentials: bool,
}

/// `fb-` and 16 lowercase hex digits, as [`case_id_for`] makes them.
pub fn validate_case_id(case_id: &str) -> Result<(), EventError> {
    let valid = case_id
        .strip_prefix("fb-")
        .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    if valid {
        Ok(())
    } else {
        Err(EventError::InvalidField {
            field: "case_id",
            value: case_id.chars().take(64).collect(),
            why: "a Firebreak case id is fb- and 16 lowercase hex digits",
        })
    }
}

fn bounded(field: &'static str, text: &str) -> Result<String, EventError> {
    if text.chars().count() > MAX_TEXT || text.chars().any(char::is_control) {
        return Err(EventError::InvalidField {
            field,
            value: text.chars().take(64).collect(),
            why: "at most 256 printable characters",
        });
    }
    Ok(text.trim().to_string())
}

impl ReleaseRequest {
    /// Checks every field; `requested_by` is required (a release says who asked for it).
    pub fn validated(mut self) -> Result<Self, EventError> {
        validate_case_id(&self.case_id)?;
        self.reason = bounded("reason", &self.reason)?;
        self.requested_by = bounded("requested_by", &self.requested_by)?;
        if self.requested_by.is_empty() {
            return Err(EventError::Malformed("a release names who asked for it (requested_by)".into()));
        }
        Ok(self)
    }

    /// The cases an event asks to release (one per finding of a custom action).
    pub fn from_event(event: &Value) -> Result<Vec<Self>, EventError> {
        if let Some(direct) = event.get("release") {
            let request: ReleaseRequest = serde_json::from_value(direct.clone())
                .map_err(|e| EventError::Malformed(format!("release request: {e}")))?;
            return Ok(vec![request.validated()?]);
        }
        if event.get("source").and_then(Value::as_str) != Some(securityhub::SOURCE) {
            return Err(EventError::WrongSource {
                event_source: event.get("source").and_then(Value::as_str).unwrap_or_default().to_string(),
                detail_type: event.get("detail-type").and_then(Value::as_str).unwrap_or_default().to_string(),
                expected: "the Security Hub custom action \"Release\" or a direct invocation {\"release\": {\"case_id\": …, \"reason\": …, \"requested_by\": …}}",
            });
        }
        let hub = SecurityHubEvent::from_event(event)?;
        let Trigger::CustomAction { action: CustomAction::Release, arn, .. } = &hub.trigger else {
            return Err(EventError::UnsupportedFinding {
                finding_type: "Security Hub event".into(),
                resource_type: "-".into(),
                why: "release acts on the \"Release\" custom action only",
            });
        };
        if hub.findings.is_empty() {
            return Err(EventError::Malformed("a custom action without findings".into()));
        }
        hub.findings
            .iter()
            .map(|finding| {
                let case_id = case_id_of(finding)?;
                ReleaseRequest {
                    case_id,
                    reason: "Security Hub custom action Release".into(),
                    requested_by: format!("Security Hub custom action {arn}"),
                    credentials: false,
                }
                .validated()
            })
            .collect()
    }
}

/// The case a finding is about: a Firebreak finding names its case; a GuardDuty finding's case
/// derives from its id (what the custom actions "Release", "Approve" and "Reject" act on).
pub fn case_id_of(finding: &AsffFinding) -> Result<String, EventError> {
    if let Some(case_id) = finding.product_fields.get(crate::aws::securityhub::CASE_FIELD) {
        return Ok(case_id.clone());
    }
    let id = finding.guardduty_finding_id().ok_or_else(|| EventError::UnsupportedFinding {
        finding_type: finding.types.join(", "),
        resource_type: finding.product_arn.clone(),
        why: "a custom action about a case needs a Firebreak finding (ProductFields firebreak/case) or a GuardDuty finding",
    })?;
    Ok(case_id_for(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn direct_requests_are_validated() {
        let ok =
            json!({"release": {"case_id": "fb-0123456789abcdef", "reason": "false positive", "requested_by": "alice"}});
        let request = &ReleaseRequest::from_event(&ok).unwrap()[0];
        assert_eq!((request.case_id.as_str(), request.credentials), ("fb-0123456789abcdef", false));
        for bad in [
            json!({"release": {"case_id": "fb-123", "requested_by": "alice"}}),
            json!({"release": {"case_id": "fb-0123456789ABCDEF", "requested_by": "alice"}}),
            json!({"release": {"case_id": "fb-0123456789abcdef"}}),
            json!({"release": {"case_id": "fb-0123456789abcdef", "requested_by": "a\u{0}b"}}),
            json!({"release": "fb-0123456789abcdef"}),
            json!({"source": "aws.guardduty", "detail-type": "GuardDuty Finding", "detail": {}}),
        ] {
            assert!(ReleaseRequest::from_event(&bad).is_err(), "{bad}");
        }
    }
}
