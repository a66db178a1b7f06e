//! CloudWatch alarm state changes as EventBridge delivers them: `source: aws.cloudwatch`,
//! `detail-type: CloudWatch Alarm State Change`. The alarm's ARN is in `resources`, its metrics in
//! `detail.configuration.metrics[].metricStat.metric` (dimensions as a JSON object).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{envelope, validate_account_id, validate_instance_id, EventError};

pub const SOURCE: &str = "aws.cloudwatch";
pub const DETAIL_TYPE: &str = "CloudWatch Alarm State Change";

/// Metrics whose alarm means an instance is sending too much: a DoS relay, exfiltration.
pub const OUTBOUND_TRAFFIC_METRICS: [&str; 2] = ["NetworkOut", "NetworkPacketsOut"];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmStateChange {
    pub alarm_name: String,
    pub alarm_arn: String,
    pub account_id: String,
    pub region: String,
    /// ALARM, OK or INSUFFICIENT_DATA.
    pub state: String,
    pub state_reason: Option<String>,
    /// When the alarm entered this state: with the ARN it identifies this one alarm episode.
    pub state_timestamp: String,
    pub metrics: Vec<AlarmMetric>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmMetric {
    pub namespace: String,
    pub name: String,
    pub dimensions: BTreeMap<String, String>,
}

/// What an alarm is about, as far as Firebreak is concerned.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlarmKind {
    /// `NetworkOut` / `NetworkPacketsOut` of one instance (validated id).
    OutboundTraffic { instance_id: String, metric: String },
    /// `AWS/Billing EstimatedCharges`: names no instance.
    Billing,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    alarm_name: String,
    state: State,
    #[serde(default)]
    configuration: Option<Configuration>,
}

#[derive(Deserialize)]
struct State {
    value: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

#[derive(Deserialize)]
struct Configuration {
    #[serde(default)]
    metrics: Vec<ConfiguredMetric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfiguredMetric {
    #[serde(default)]
    metric_stat: Option<MetricStat>,
}

#[derive(Deserialize)]
struct MetricStat {
    metric: Metric,
}

#[derive(Deserialize)]
struct Metric {
    #[serde(default)]
    namespace: String,
    name: String,
    #[serde(default)]
    dimensions: BTreeMap<String, String>,
}

impl AlarmStateChange {
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        let envelope = envelope(
            event,
            SOURCE,
            &[DETAIL_TYPE],
            "CloudWatch alarm state changes (source aws.cloudwatch, detail-type \"CloudWatch Alarm State Change\")",
        )?;
        let detail: Detail = serde_json::from_value(envelope.detail)
            .map_err(|e| EventError::Malformed(format!("CloudWatch alarm detail: {e}")))?;
        let account_id =
            envelope.account.ok_or_else(|| EventError::Malformed("alarm state change without an account".into()))?;
        validate_account_id("account", &account_id)?;
        let alarm_arn = envelope
            .resources
            .unwrap_or_default()
            .into_iter()
            .find(|r| r.starts_with("arn:") && r.contains(":cloudwatch:") && r.contains(":alarm:"))
            .ok_or_else(|| EventError::Malformed("alarm state change without the alarm ARN in resources".into()))?;
        let state_timestamp = detail
            .state
            .timestamp
            .or(envelope.time.map(|t| t.to_rfc3339()))
            .ok_or_else(|| EventError::Malformed("alarm state change without a state timestamp".into()))?;
        Ok(Self {
            alarm_name: detail.alarm_name,
            alarm_arn,
            account_id,
            region: envelope.region.unwrap_or_default(),
            state: detail.state.value,
            state_reason: detail.state.reason,
            state_timestamp,
            metrics: detail
                .configuration
                .map(|c| c.metrics)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|m| m.metric_stat)
                .map(|s| AlarmMetric {
                    namespace: s.metric.namespace,
                    name: s.metric.name,
                    dimensions: s.metric.dimensions,
                })
                .collect(),
        })
    }

    pub fn is_alarm(&self) -> bool {
        self.state == "ALARM"
    }

    /// The alarm episode's id: the same alarm going into ALARM again later is a new signal.
    pub fn signal_id(&self) -> String {
        format!("{}@{}", self.alarm_arn, self.state_timestamp)
    }

    /// What the alarm watches: an instance's outbound traffic, or the bill. Anything else is an error.
    pub fn kind(&self) -> Result<AlarmKind, EventError> {
        for metric in &self.metrics {
            if metric.namespace == "AWS/EC2" && OUTBOUND_TRAFFIC_METRICS.contains(&metric.name.as_str()) {
                let Some(instance_id) = metric.dimensions.get("InstanceId") else {
                    continue;
                };
                validate_instance_id(instance_id)?;
                return Ok(AlarmKind::OutboundTraffic {
                    instance_id: instance_id.clone(),
                    metric: metric.name.clone(),
                });
            }
            if metric.namespace == "AWS/Billing" && metric.name == "EstimatedCharges" {
                return Ok(AlarmKind::Billing);
            }
        }
        Err(EventError::UnsupportedFinding {
            finding_type: format!("CloudWatch alarm {}", self.alarm_name),
            resource_type: self
                .metrics
                .iter()
                .map(|m| format!("{}/{}", m.namespace, m.name))
                .collect::<Vec<_>>()
                .join(", "),
            why: "expected an AWS/EC2 NetworkOut or NetworkPacketsOut alarm with an InstanceId dimension, or AWS/Billing EstimatedCharges",
        })
    }
}
