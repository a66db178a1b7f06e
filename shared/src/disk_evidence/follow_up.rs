//! Snapshots still `pending` when the quarantine ran are copied later. EC2 copies only completed
//! snapshots, and a large volume's first snapshot can take hours, so the quarantine does not
//! wait: it schedules a one-time EventBridge Scheduler schedule that invokes the same function
//! with `{"evidence_followup": {…}}`. That invocation runs the copy step alone (the forensic key
//! and account are the function's own settings, never the input's) and schedules the next
//! attempt while sources remain pending, at most [`MAX_ATTEMPTS`] times.
//!
//! Pure: the invocation, its schedule and its plan. Carried out by `respond::evidence`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::{Plan, Planned, Signal};
use crate::events::{validate_account_id, validate_instance_id, validate_region, EventError};
use crate::quarantine::{Action, QuarantineConfig};
use crate::tags;

/// The key of the invocation.
pub const KEY: &str = "evidence_followup";
/// Attempts after the quarantine's own: at the default 30 minutes, a day.
pub const MAX_ATTEMPTS: u32 = 48;
/// The step that schedules the next attempt.
pub const SCHEDULE_STEP: &str = "schedule_evidence_followup";

/// One later attempt to copy a case's snapshots of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceFollowUp {
    pub case_id: String,
    pub account: String,
    pub region: String,
    pub instance_id: String,
    /// 1 for the first follow-up.
    pub attempt: u32,
}

/// Where follow-ups are scheduled: the approval's schedule group and Scheduler role, every
/// `every`.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpSchedule {
    pub group: String,
    pub role_arn: String,
    pub every: Duration,
}

impl EvidenceFollowUp {
    /// The first follow-up of the instance a quarantine report is about.
    pub fn first(case_id: &str, signal: &Signal, instance_id: &str) -> Self {
        Self {
            case_id: case_id.to_string(),
            account: signal.account.clone(),
            region: signal.region.clone(),
            instance_id: instance_id.to_string(),
            attempt: 1,
        }
    }

    /// The follow-up, if the event is one (an object keyed `evidence_followup`), checked
    /// strictly; `None` for any other event.
    pub fn from_event(event: &Value) -> Result<Option<Self>, EventError> {
        let Some(inner) = event.as_object().and_then(|o| o.get(KEY)) else {
            return Ok(None);
        };
        if event.as_object().is_some_and(|o| o.len() != 1) {
            return Err(EventError::Malformed(format!("{{\"{KEY}\": …}} takes no other key")));
        }
        let follow_up: Self = serde_json::from_value(inner.clone()).map_err(|e| {
            EventError::Malformed(format!(
                "a follow-up is {{\"{KEY}\": {{\"case_id\", \"account\", \"region\", \"instance_id\", \"attempt\"}}}}: {e}"
            ))
        })?;
        if !crate::case::is_case_id(&follow_up.case_id) {
            return Err(EventError::InvalidField {
                field: "case_id",
                value: follow_up.case_id.chars().take(64).collect(),
                why: "a Firebreak case id is fb- and 16 lowercase hex digits",
            });
        }
        validate_account_id("account", &follow_up.account)?;
        validate_region("region", &follow_up.region)?;
        validate_instance_id(&follow_up.instance_id)?;
        if !(1..=MAX_ATTEMPTS).contains(&follow_up.attempt) {
            return Err(EventError::InvalidField {
                field: "attempt",
                value: follow_up.attempt.to_string(),
                why: "a follow-up attempt is 1 to 48",
            });
        }
        Ok(Some(follow_up))
    }

    /// The invocation the schedule sends.
    pub fn input(&self) -> String {
        serde_json::json!({ KEY: self }).to_string()
    }

    /// One name per attempt (≤ 64 characters), so that concurrent deliveries make one schedule.
    pub fn schedule_name(&self) -> String {
        format!("firebreak-copy-{}-{}-{}", self.case_id, self.instance_id, self.attempt)
    }

    /// The attempt after this one, unless this was the last.
    pub fn next(&self) -> Option<Self> {
        (self.attempt < MAX_ATTEMPTS).then(|| Self { attempt: self.attempt + 1, ..self.clone() })
    }

    /// The signal a follow-up's report answers: the case, in the instance's account and region.
    pub fn signal(&self) -> Signal {
        Signal {
            source: "firebreak (evidence follow-up)".into(),
            kind: format!("evidence follow-up {} of {MAX_ATTEMPTS}", self.attempt),
            id: format!("{}/{}", self.case_id, self.attempt),
            account: self.account.clone(),
            region: self.region.clone(),
            delivered_by: None,
            time: None,
        }
    }

    /// The copy step alone, with the function's own forensic target; `None` when the function
    /// has none (nothing to follow up).
    pub fn plan(&self, config: &QuarantineConfig) -> Option<Plan<Action>> {
        let target = config.disk_evidence.forensic.as_ref()?;
        let action = Action::CopySnapshotsToForensicAccount {
            instance_id: self.instance_id.clone(),
            instance_account: self.account.clone(),
            kms_key_arn: target.kms_key_arn.clone(),
            forensic_account: target.account_id.clone(),
            tags: vec![
                (tags::CASE.into(), self.case_id.clone()),
                (tags::FORENSIC_ACCOUNT.into(), target.account_id.clone()),
            ],
        };
        Some(Plan {
            title: format!("copy the snapshots of {} (follow-up {})", self.instance_id, self.attempt),
            case_id: self.case_id.clone(),
            steps: vec![Planned::act(action)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn follow_up(attempt: u32) -> Value {
        json!({ KEY: {
            "case_id": "fb-0123456789abcdef", "account": "123456789012", "region": "us-east-1",
            "instance_id": "i-0123456789abcdef0", "attempt": attempt
        }})
    }

    #[test]
    fn a_follow_up_is_parsed_strictly_and_round_trips() {
        let parsed = EvidenceFollowUp::from_event(&follow_up(1)).unwrap().unwrap();
        assert_eq!(serde_json::from_str::<Value>(&parsed.input()).unwrap(), follow_up(1));
        assert_eq!(parsed.next().unwrap().attempt, 2);
        assert!(parsed.schedule_name().len() <= 64, "{}", parsed.schedule_name());
        assert_eq!(EvidenceFollowUp::from_event(&json!({"source": "aws.guardduty"})).unwrap(), None);
        let last = EvidenceFollowUp::from_event(&follow_up(MAX_ATTEMPTS)).unwrap().unwrap();
        assert_eq!(last.next(), None, "the last attempt schedules none");
    }

    #[test]
    fn hostile_follow_ups_are_refused() {
        let mut bad = vec![follow_up(0), follow_up(MAX_ATTEMPTS + 1)];
        for (field, value) in [
            ("case_id", json!("fb-../x")),
            ("account", json!("12345")),
            ("region", json!("us-east-1/../")),
            ("instance_id", json!("sg-0123456789abcdef0")),
            ("kms_key_arn", json!("arn:aws:kms:us-east-1:999999999999:key/x")),
        ] {
            let mut event = follow_up(1);
            event[KEY][field] = value;
            bad.push(event);
        }
        let mut extra = follow_up(1);
        extra["approve"] = json!({});
        bad.push(extra);
        for event in bad {
            assert!(EvidenceFollowUp::from_event(&event).is_err(), "{event}");
        }
    }

    #[test]
    fn the_plan_copies_to_the_function_own_forensic_target() {
        let parsed = EvidenceFollowUp::from_event(&follow_up(3)).unwrap().unwrap();
        assert_eq!(parsed.plan(&QuarantineConfig::default()), None);
        let mut config = QuarantineConfig::default();
        config.disk_evidence.forensic = Some(crate::disk_evidence::ForensicTarget {
            kms_key_arn: "arn:aws:kms:us-east-1:444455556666:key/k".into(),
            account_id: "444455556666".into(),
        });
        let plan = parsed.plan(&config).unwrap();
        assert_eq!(plan.case_id, "fb-0123456789abcdef");
        assert_eq!(plan.steps.len(), 1);
        assert!(plan.to_string().contains("444455556666"), "{plan}");
    }
}
