//! GuardDuty findings as EventBridge delivers them: `source: aws.guardduty`,
//! `detail-type: GuardDuty Finding`, and a camelCase `detail` (not the PascalCase of the
//! GetFindings API).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{envelope, validate_account_id, validate_ec2_id, validate_instance_id, validate_region, EventError};

pub const SOURCE: &str = "aws.guardduty";
pub const DETAIL_TYPE: &str = "GuardDuty Finding";
/// The largest instance types take 50-odd ENIs; a finding listing more is not real.
pub const MAX_NETWORK_INTERFACES: usize = 64;

/// The part of a GuardDuty finding Firebreak acts on. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardDutyFinding {
    pub schema_version: String,
    pub account_id: String,
    pub region: String,
    pub id: String,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(rename = "type")]
    pub finding_type: String,
    pub severity: f64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    pub resource: Resource,
    pub service: Service,
    /// The account whose event bus received the finding (the envelope's `account`): the member
    /// itself, or the GuardDuty administrator, which receives its members' findings too.
    #[serde(skip)]
    pub delivered_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub resource_type: String,
    #[serde(default)]
    pub instance_details: Option<InstanceDetails>,
    #[serde(default)]
    pub access_key_details: Option<AccessKeyDetails>,
    /// Lambda Protection findings (see `lambda`).
    #[serde(default)]
    pub lambda_details: Option<super::lambda::LambdaDetails>,
    /// Runtime Monitoring on ECS: the cluster, and the task under `taskDetails` (see `ecs`).
    #[serde(default)]
    pub ecs_cluster_details: Option<super::ecs::EcsClusterDetails>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceDetails {
    pub instance_id: String,
    #[serde(default)]
    pub instance_state: Option<String>,
    #[serde(default)]
    pub network_interfaces: Vec<NetworkInterface>,
    #[serde(default)]
    pub iam_instance_profile: Option<IamInstanceProfile>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterface {
    #[serde(default)]
    pub network_interface_id: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub private_ip_address: Option<String>,
    #[serde(default)]
    pub public_ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IamInstanceProfile {
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeyDetails {
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub user_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    #[serde(default)]
    pub resource_role: Option<String>,
    #[serde(default)]
    pub additional_info: Option<Value>,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub archived: Option<bool>,
    /// `Correlation` for attack sequences, `RuntimeMonitoring`, ...
    #[serde(default)]
    pub feature_name: Option<String>,
    /// Attack sequences list their resources here (see `sequence`).
    #[serde(default)]
    pub detection: Option<super::sequence::Detection>,
    /// Runtime Monitoring: the process that did it (see `runtime`).
    #[serde(default)]
    pub runtime_details: Option<super::runtime::RuntimeDetails>,
}

/// Whose side the resource was on. ACTOR: it did the bad thing (compromised). TARGET: it was
/// attacked (exposed, not necessarily compromised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceRole {
    Actor,
    Target,
    /// Findings such as malware detections name the instance without a role.
    Unspecified,
}

impl GuardDutyFinding {
    /// Parses and validates a whole EventBridge event carrying a GuardDuty finding.
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        let envelope = envelope(
            event,
            SOURCE,
            &[DETAIL_TYPE],
            "GuardDuty findings (source aws.guardduty, detail-type \"GuardDuty Finding\")",
        )?;
        let mut finding: GuardDutyFinding = serde_json::from_value(envelope.detail)
            .map_err(|e| EventError::Malformed(format!("GuardDuty finding detail: {e}")))?;
        validate_account_id("detail.accountId", &finding.account_id)?;
        validate_region("detail.region", &finding.region)?;
        // Whether the delivering account may speak for the finding's is checked before acting
        // (`Accounts::check_delivery`): only the function knows its own account.
        if let Some(account) = envelope.account.filter(|a| *a != finding.account_id) {
            validate_account_id("account", &account)?;
            finding.delivered_by = Some(account);
        }
        if finding.id.is_empty()
            || finding.id.len() > 128
            || !finding.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(EventError::InvalidField {
                field: "detail.id",
                value: finding.id.chars().take(64).collect(),
                why: "a GuardDuty finding id is alphanumeric",
            });
        }
        if !(0.0..=10.0).contains(&finding.severity) {
            return Err(EventError::InvalidField {
                field: "detail.severity",
                value: finding.severity.to_string(),
                why: "GuardDuty severity is between 0 and 10",
            });
        }
        Ok(finding)
    }

    pub fn resource_role(&self) -> ResourceRole {
        match self.service.resource_role.as_deref() {
            Some(role) if role.eq_ignore_ascii_case("ACTOR") => ResourceRole::Actor,
            Some(role) if role.eq_ignore_ascii_case("TARGET") => ResourceRole::Target,
            _ => ResourceRole::Unspecified,
        }
    }

    /// GuardDuty's "Generate sample findings" marks its output in `service.additionalInfo`:
    /// current events carry `{"value": "{\"sample\":true}", "type": "default"}` (a JSON string),
    /// older ones `"sample": true`. Both forms count.
    /// The report header of this finding: its type, id, account and region.
    pub fn signal(&self) -> crate::engine::Signal {
        crate::engine::Signal {
            source: "aws.guardduty".into(),
            kind: self.finding_type.clone(),
            id: self.id.clone(),
            account: self.account_id.clone(),
            region: self.region.clone(),
            delivered_by: self.delivered_by.clone(),
            time: self.updated_at.clone().or_else(|| self.created_at.clone()),
        }
    }

    pub fn is_sample(&self) -> bool {
        let Some(info) = &self.service.additional_info else {
            return false;
        };
        if is_true(info.get("sample")) {
            return true;
        }
        match info.get("value") {
            Some(Value::String(text)) => {
                serde_json::from_str::<Value>(text).map(|inner| is_true(inner.get("sample"))).unwrap_or(false)
            }
            Some(inner @ Value::Object(_)) => is_true(inner.get("sample")),
            _ => false,
        }
    }

    /// The EC2 instance the finding is about, validated, for findings on resource type Instance
    /// whose type concerns EC2 (`Backdoor:EC2/...`, `CryptoCurrency:Runtime/...` on an instance).
    pub fn ec2_instance(&self) -> Result<&InstanceDetails, EventError> {
        let unsupported = |why| EventError::UnsupportedFinding {
            finding_type: self.finding_type.clone(),
            resource_type: self.resource.resource_type.clone(),
            why,
        };
        if self.resource.resource_type != "Instance" {
            return Err(unsupported("this function handles findings about EC2 instances"));
        }
        let resource_kind =
            self.finding_type.split_once(':').and_then(|(_, rest)| rest.split_once('/')).map(|(kind, _)| kind);
        if !matches!(resource_kind, Some("EC2" | "Runtime" | "Execution")) {
            return Err(unsupported(
                "expected a finding type of the form ThreatPurpose:EC2/... or ThreatPurpose:Runtime/...",
            ));
        }
        let details = self
            .resource
            .instance_details
            .as_ref()
            .ok_or(EventError::Malformed("detail.resource.instanceDetails is missing".into()))?;
        validate_instance_id(&details.instance_id)?;
        if details.network_interfaces.len() > MAX_NETWORK_INTERFACES {
            return Err(EventError::InvalidField {
                field: "networkInterfaces",
                value: format!("{} interfaces", details.network_interfaces.len()),
                why: "more network interfaces than any EC2 instance can have",
            });
        }
        for eni in &details.network_interfaces {
            if let Some(vpc) = &eni.vpc_id {
                validate_ec2_id("networkInterfaces[].vpcId", "vpc-", vpc)?;
            }
            if let Some(id) = &eni.network_interface_id {
                validate_ec2_id("networkInterfaces[].networkInterfaceId", "eni-", id)?;
            }
        }
        Ok(details)
    }

    /// The VPCs the event says the instance's interfaces are in, so the isolation groups can be
    /// looked up while the instance itself is still being read.
    pub fn vpc_ids(&self) -> Vec<String> {
        let mut vpcs: Vec<String> = self
            .resource
            .instance_details
            .iter()
            .flat_map(|d| d.network_interfaces.iter())
            .filter_map(|eni| eni.vpc_id.clone())
            .collect();
        vpcs.sort();
        vpcs.dedup();
        vpcs
    }
}

fn is_true(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}
