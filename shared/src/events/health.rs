//! AWS Health events as EventBridge delivers them: `source: aws.health`, `detail-type`
//! `AWS Health Event` or `AWS Health Abuse Event`, camelCase `detail`. Abuse reports carry
//! `eventTypeCode` `AWS_ABUSE_*`; exposed-credential notices `AWS_RISK_CREDENTIALS_*`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{envelope, validate_account_id, EventError};

pub const SOURCE: &str = "aws.health";
pub const DETAIL_TYPES: [&str; 2] = ["AWS Health Event", "AWS Health Abuse Event"];

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthEvent {
    pub event_arn: String,
    pub service: String,
    pub event_type_code: String,
    #[serde(default)]
    pub event_type_category: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub status_code: Option<String>,
    #[serde(default)]
    pub event_description: Vec<EventDescription>,
    #[serde(default)]
    pub affected_entities: Vec<AffectedEntity>,
    #[serde(default)]
    pub affected_account: Option<String>,
    /// The EventBridge envelope's account and region, kept beside the detail.
    #[serde(skip_deserializing)]
    pub account_id: String,
    #[serde(skip_deserializing)]
    pub region: String,
    /// The envelope's `detail-type`.
    #[serde(skip_deserializing)]
    pub detail_type: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDescription {
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub latest_description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AffectedEntity {
    pub entity_value: String,
    #[serde(default)]
    pub entity_arn: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// At most this many entities are read from one event: a real notice names a handful, and a
/// crafted one must not make the function fan out over thousands of resources.
pub const MAX_AFFECTED_ENTITIES: usize = 100;

impl HealthEvent {
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        let envelope = envelope(
            event,
            SOURCE,
            &DETAIL_TYPES,
            "AWS Health events (source aws.health, detail-type \"AWS Health Event\" or \"AWS Health Abuse Event\")",
        )?;
        let mut health: HealthEvent = serde_json::from_value(envelope.detail)
            .map_err(|e| EventError::Malformed(format!("AWS Health event detail: {e}")))?;
        let account_id = envelope
            .account
            .or_else(|| health.affected_account.clone())
            .ok_or_else(|| EventError::Malformed("AWS Health event without an account".into()))?;
        validate_account_id("account", &account_id)?;
        if let Some(affected) = &health.affected_account {
            if affected != &account_id {
                return Err(EventError::InvalidField {
                    field: "detail.affectedAccount",
                    value: affected.clone(),
                    why: "the event's account does not match the affected account",
                });
            }
        }
        if health.affected_entities.len() > MAX_AFFECTED_ENTITIES {
            return Err(EventError::InvalidField {
                field: "detail.affectedEntities",
                value: format!("{} entities", health.affected_entities.len()),
                why: "more entities than any real AWS Health notice carries",
            });
        }
        health.account_id = account_id;
        health.region = envelope.region.unwrap_or_default();
        health.detail_type = envelope.detail_type;
        Ok(health)
    }

    /// `AWS_ABUSE_*` notices: AWS received a report that a resource of the account was used for abuse.
    pub fn is_abuse_report(&self) -> bool {
        self.event_type_code.starts_with("AWS_ABUSE_")
    }

    /// `AWS_RISK_CREDENTIALS_*` notices: an access key was found exposed or compromised.
    pub fn is_credentials_risk(&self) -> bool {
        self.event_type_code.starts_with("AWS_RISK_CREDENTIALS_")
    }

    pub fn description(&self) -> Option<&str> {
        self.event_description.iter().find_map(|d| d.latest_description.as_deref())
    }
}
