//! AWS Health events as EventBridge delivers them: `source: aws.health`, `detail-type`
//! `AWS Health Event` or `AWS Health Abuse Event`, camelCase `detail`. Abuse reports carry
//! `eventTypeCode` `AWS_ABUSE_*`; exposed-credential notices `AWS_RISK_CREDENTIALS_*`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{arn_account_region, envelope, validate_account_id, validate_region, EventError};

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
    /// The Region the notice is about (`global` for global services); absent in older events.
    #[serde(default)]
    pub event_region: Option<String>,
    /// The affected account: `detail.affectedAccount` (organisational view), else the envelope's.
    #[serde(skip_deserializing)]
    pub account_id: String,
    /// The affected Region: `detail.eventRegion`, else (older events) the envelope's; empty when
    /// the notice is `global` and only its entities can say where they are.
    #[serde(skip_deserializing)]
    pub region: String,
    /// The envelope's account when it is not the affected one (the management or delegated
    /// administrator account of an organisational view).
    #[serde(skip_deserializing)]
    pub delivered_by: Option<String>,
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
        let envelope_account = envelope.account.filter(|a| !a.is_empty());
        if let Some(account) = &envelope_account {
            validate_account_id("account", account)?;
        }
        if let Some(affected) = &health.affected_account {
            validate_account_id("detail.affectedAccount", affected)?;
        }
        let account_id = health
            .affected_account
            .clone()
            .or_else(|| envelope_account.clone())
            .ok_or_else(|| EventError::Malformed("AWS Health event without an account".into()))?;
        // The envelope's region is where the notice was sent, not where the resource is.
        let region = match health.event_region.as_deref() {
            Some("global") => String::new(),
            Some(region) => {
                validate_region("detail.eventRegion", region)?;
                region.to_string()
            }
            None => envelope.region.clone().unwrap_or_default(),
        };
        if health.affected_entities.len() > MAX_AFFECTED_ENTITIES {
            return Err(EventError::InvalidField {
                field: "detail.affectedEntities",
                value: format!("{} entities", health.affected_entities.len()),
                why: "more entities than any real AWS Health notice carries",
            });
        }
        health.delivered_by = envelope_account.filter(|a| *a != account_id);
        health.account_id = account_id;
        health.region = region;
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

    /// Where one entity is: the Region its ARN names, else the notice's; None when the notice is
    /// global and the entity names no Region (nothing can be acted on then).
    pub fn entity_region(&self, entity: &AffectedEntity) -> Option<String> {
        let from_arn = [entity.entity_arn.as_deref(), Some(entity.entity_value.as_str())]
            .into_iter()
            .flatten()
            .find_map(|arn| arn_account_region(arn).and_then(|(_, region)| region))
            .filter(|region| validate_region("entity ARN", region).is_ok());
        from_arn.map(str::to_string).or_else(|| (!self.region.is_empty()).then(|| self.region.clone()))
    }

    /// The report header: the notice, about the affected account and Region.
    pub fn signal(&self) -> crate::engine::Signal {
        crate::engine::Signal {
            source: SOURCE.into(),
            kind: self.event_type_code.clone(),
            id: self.event_arn.clone(),
            account: self.account_id.clone(),
            region: self.region.clone(),
            delivered_by: self.delivered_by.clone(),
            time: self.start_time.clone(),
        }
    }

    pub fn description(&self) -> Option<&str> {
        self.event_description.iter().find_map(|d| d.latest_description.as_deref())
    }
}
