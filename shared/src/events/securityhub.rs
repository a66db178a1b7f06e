//! Security Hub events: `source: aws.securityhub`, `detail-type` `Security Hub Findings - Imported`
//! (every new or updated finding) or `Security Hub Findings - Custom Action` (an analyst chose an
//! action on findings in the console). Both carry ASFF findings (PascalCase) in `detail.findings`.
//!
//! A GuardDuty finding in ASFF becomes the [`GuardDutyFinding`] the native GuardDuty event gives,
//! so it goes through exactly the same triage and plan.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::imported::{self, ImportedResource};
use super::{envelope, validate_account_id, validate_instance_id, validate_region, EventError, GuardDutyFinding};

pub const SOURCE: &str = "aws.securityhub";
pub const IMPORTED: &str = "Security Hub Findings - Imported";
pub const CUSTOM_ACTION: &str = "Security Hub Findings - Custom Action";

/// At most this many findings are read from one event (a console custom action sends up to 100).
pub const MAX_FINDINGS: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecurityHubEvent {
    pub trigger: Trigger,
    /// The account and region the event was delivered in (the Security Hub administrator account
    /// for aggregated findings); each finding names its own account.
    pub account_id: String,
    pub region: String,
    pub findings: Vec<AsffFinding>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "trigger", rename_all = "snake_case")]
pub enum Trigger {
    Imported,
    CustomAction { action: CustomAction, name: String, arn: String },
}

/// The custom actions Firebreak implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomAction {
    Quarantine,
    RevokeCredentials,
    /// Undo a case: the release function.
    Release,
    /// Answer a case pending approval: the release function forwards the answer to the function
    /// holding the case.
    Approve,
    Reject,
}

impl CustomAction {
    /// From the action's name ("Quarantine", "Revoke credentials") or its ARN's id
    /// (`.../action/custom/Quarantine`, `.../RevokeCredentials`); case and spacing do not matter.
    pub fn recognise(name: &str, arn: &str) -> Option<Self> {
        let squash = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
        let id = arn.rsplit('/').next().unwrap_or_default();
        [squash(name), squash(id)].iter().find_map(|s| match s.as_str() {
            "quarantine" | "quarantineinstance" => Some(Self::Quarantine),
            "revokecredentials" | "revokecreds" | "revokecredential" => Some(Self::RevokeCredentials),
            "release" | "releasecase" => Some(Self::Release),
            "approve" => Some(Self::Approve),
            "reject" => Some(Self::Reject),
            _ => None,
        })
    }
}

/// The part of an ASFF finding Firebreak reads. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffFinding {
    pub id: String,
    pub product_arn: String,
    #[serde(default)]
    pub product_name: Option<String>,
    #[serde(default)]
    pub generator_id: Option<String>,
    pub aws_account_id: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub severity: Option<AsffSeverity>,
    #[serde(default)]
    pub resources: Vec<AsffResource>,
    #[serde(default)]
    pub product_fields: BTreeMap<String, String>,
    #[serde(default)]
    pub workflow: Option<AsffWorkflow>,
    /// Attack sequences: `Detection.Sequence` (its `Actors[].User`; the resources are `Resources`).
    #[serde(default)]
    pub detection: Option<Value>,
    #[serde(default)]
    pub record_state: Option<String>,
    #[serde(default)]
    pub sample: Option<bool>,
    /// The account whose Security Hub delivered the finding (the envelope's `account`, the
    /// administrator for aggregated findings), when it is not the finding's own.
    #[serde(skip)]
    pub delivered_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffSeverity {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub normalized: Option<f64>,
    #[serde(default)]
    pub product: Option<f64>,
    #[serde(default)]
    pub original: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffWorkflow {
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffResource {
    #[serde(rename = "Type")]
    pub resource_type: String,
    pub id: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub details: Option<Value>,
}

/// An ASFF finding about an IAM access key, in the shape revoke-credentials consumes: the
/// [`GuardDutyFinding`] with resource type AccessKey that the native GuardDuty event would give.
pub type AccessKeyFinding = GuardDutyFinding;

impl SecurityHubEvent {
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        let envelope = envelope(
            event,
            SOURCE,
            &[IMPORTED, CUSTOM_ACTION],
            "Security Hub findings (source aws.securityhub, detail-type \"Security Hub Findings - Imported\" or \"Security Hub Findings - Custom Action\")",
        )?;
        let account_id =
            envelope.account.ok_or_else(|| EventError::Malformed("Security Hub event without an account".into()))?;
        validate_account_id("account", &account_id)?;
        let detail = envelope.detail;
        let mut findings: Vec<AsffFinding> =
            serde_json::from_value(detail.get("findings").cloned().unwrap_or(Value::Null))
                .map_err(|e| EventError::Malformed(format!("Security Hub detail.findings: {e}")))?;
        if findings.len() > MAX_FINDINGS {
            return Err(EventError::InvalidField {
                field: "detail.findings",
                value: format!("{} findings", findings.len()),
                why: "more findings than Security Hub puts in one event",
            });
        }
        let region = envelope.region.unwrap_or_default();
        for finding in &mut findings {
            validate_account_id("detail.findings[].AwsAccountId", &finding.aws_account_id)?;
            // A cross-Region aggregator delivers every linked Region's findings to its own Region:
            // the finding's `Region` (or its resource's) is where the resource is.
            if finding.region.is_none() {
                finding.region = finding.resources.iter().find_map(|r| r.region.clone()).or(Some(region.clone()));
            }
            validate_region("detail.findings[].Region", finding.region.as_deref().unwrap_or_default())?;
            finding.delivered_by = (finding.aws_account_id != account_id).then(|| account_id.clone());
        }
        let trigger = if envelope.detail_type == IMPORTED {
            Trigger::Imported
        } else {
            let name = detail.get("actionName").and_then(Value::as_str).unwrap_or_default().to_string();
            let arn = envelope
                .resources
                .unwrap_or_default()
                .into_iter()
                .find(|r| r.contains(":securityhub:") && r.contains(":action/custom/"))
                .unwrap_or_default();
            let action = CustomAction::recognise(&name, &arn).ok_or_else(|| EventError::InvalidField {
                field: "detail.actionName",
                value: name.clone(),
                why: "Firebreak implements the custom actions \"Quarantine\", \"Revoke credentials\", \"Release\", \"Approve\" and \"Reject\"",
            })?;
            Trigger::CustomAction { action, name, arn }
        };
        Ok(Self { trigger, account_id, region, findings })
    }
}

/// The GuardDuty type an ASFF `Types` entry carries (see [`AsffFinding::guardduty_type`]).
pub fn guardduty_type_of(types: &[String]) -> Option<String> {
    let last = types.iter().find_map(|t| t.rsplit('/').next().filter(|s| s.contains(':')))?;
    let (purpose, rest) = last.split_once(':')?;
    let (resource, name) = rest.split_once('-')?;
    Some(format!("{purpose}:{resource}/{name}"))
}

impl AsffFinding {
    pub fn is_guardduty(&self) -> bool {
        self.product_arn.ends_with("::product/aws/guardduty")
            || self.product_name.as_deref() == Some("GuardDuty")
            || self.product_fields.get("aws/securityhub/ProductName").map(String::as_str) == Some("GuardDuty")
    }

    /// Archived findings and findings someone already worked (NOTIFIED, SUPPRESSED, RESOLVED, or
    /// our own write-back, which Security Hub re-publishes as an import) are not acted on again.
    pub fn is_new_and_active(&self) -> bool {
        let active = self.record_state.as_deref().is_none_or(|s| s == "ACTIVE");
        let new = self.workflow.as_ref().and_then(|w| w.status.as_deref()).is_none_or(|s| s == "NEW");
        active && new
    }

    /// GuardDuty's own finding id: the last part of the ASFF `Id` (the GuardDuty finding ARN).
    pub fn guardduty_finding_id(&self) -> Option<&str> {
        self.id.rsplit_once("/finding/").map(|(_, id)| id)
    }

    /// `TTPs/Command and Control/Backdoor:EC2-DenialOfService.Tcp` → `Backdoor:EC2/DenialOfService.Tcp`:
    /// ASFF types may not contain a slash in the last part, so GuardDuty writes a dash there.
    pub fn guardduty_type(&self) -> Option<String> {
        guardduty_type_of(&self.types)
    }

    /// GuardDuty severity (0-10): `Severity.Product`, else `Original`, else `Normalized` / 10.
    pub fn guardduty_severity(&self) -> f64 {
        let Some(severity) = &self.severity else { return 0.0 };
        severity
            .product
            .or_else(|| severity.original.as_deref().and_then(|s| s.parse().ok()))
            .or(severity.normalized.map(|n| n / 10.0))
            .unwrap_or(0.0)
    }

    /// Sample findings: ASFF's `Sample` flag, or GuardDuty's `additionalInfo/sample` product field.
    pub fn is_sample(&self) -> bool {
        self.sample == Some(true)
            || self.product_fields.get("aws/guardduty/service/additionalInfo/sample").map(String::as_str)
                == Some("true")
    }

    /// The EC2 instance ids the finding's resources name (`AwsEc2Instance`, id an instance ARN), validated.
    pub fn instance_ids(&self) -> Result<Vec<String>, EventError> {
        let mut ids = Vec::new();
        for resource in self.resources.iter().filter(|r| r.resource_type == "AwsEc2Instance") {
            let id = resource.id.rsplit('/').next().unwrap_or_default();
            validate_instance_id(id)?;
            ids.push(id.to_string());
        }
        Ok(ids)
    }

    /// The finding as the native GuardDuty event would have given it: same finding id, type,
    /// severity, account, region, instance (with its VPC) or access key, and resource role.
    pub fn to_guardduty_finding(&self) -> Result<GuardDutyFinding, EventError> {
        if !self.is_guardduty() {
            return Err(EventError::UnsupportedFinding {
                finding_type: self.types.join(", "),
                resource_type: self.product_arn.clone(),
                why: "only findings that came from GuardDuty are acted on automatically",
            });
        }
        let id = self.guardduty_finding_id().ok_or_else(|| EventError::InvalidField {
            field: "detail.findings[].Id",
            value: self.id.chars().take(200).collect(),
            why: "a GuardDuty finding's ASFF Id is its ARN, ending /finding/<id>",
        })?;
        let finding_type = self.guardduty_type().ok_or_else(|| EventError::InvalidField {
            field: "detail.findings[].Types",
            value: self.types.join(", "),
            why: "expected a GuardDuty type such as TTPs/Command and Control/Backdoor:EC2-DenialOfService.Tcp",
        })?;
        let region = self.region.clone().or_else(|| self.resources.iter().find_map(|r| r.region.clone()));
        let (resource, mut service) = if imported::is_sequence_type(&finding_type) {
            let service = imported::sequence_service(&self.id, &self.imported(), self.sequence_actors());
            (json!({"resourceType": super::sequence::RESOURCE_TYPE}), service)
        } else {
            (
                self.guardduty_resource()?,
                json!({"resourceRole": self.product_fields.get("aws/guardduty/service/resourceRole")}),
            )
        };
        let delivered_by = self.delivered_by.clone().unwrap_or_else(|| self.aws_account_id.clone());
        let mut additional_info = json!({});
        if self.is_sample() {
            additional_info["sample"] = json!(true);
        }
        service["additionalInfo"] = additional_info;
        let detail = json!({
            "schemaVersion": "2.0",
            "accountId": self.aws_account_id,
            "region": region.clone().unwrap_or_default(),
            "id": id,
            "arn": self.id,
            "type": finding_type,
            "severity": self.guardduty_severity(),
            "title": self.title,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "resource": resource,
            "service": service,
        });
        // The native parser validates ids, account and severity the same way for both sources.
        GuardDutyFinding::from_event(&json!({
            "version": "0",
            "id": self.id,
            "detail-type": super::guardduty::DETAIL_TYPE,
            "source": super::guardduty::SOURCE,
            "account": delivered_by,
            "region": region,
            "resources": [],
            "detail": detail,
        }))
    }

    fn imported(&self) -> Vec<ImportedResource<'_>> {
        (self.resources.iter())
            .map(|r| ImportedResource { kind: &r.resource_type, uid: &r.id, region: r.region.as_deref() })
            .collect()
    }

    /// `Detection.Sequence.Actors[].User` as the native sequence's `actors[]`.
    fn sequence_actors(&self) -> Vec<Value> {
        let actors = self.detection.as_ref().and_then(|d| d.get("Sequence")).and_then(|s| s.get("Actors"));
        let text = |user: &Value, key: &str| user.get(key).and_then(Value::as_str).map(str::to_string);
        (actors.and_then(Value::as_array).into_iter().flatten())
            .filter_map(|actor| actor.get("User"))
            .map(|user| {
                json!({"user": {
                    "name": text(user, "Name"),
                    "uid": text(user, "Uid"),
                    "type": text(user, "Type"),
                    "credentialUid": text(user, "CredentialUid"),
                }})
            })
            .collect()
    }

    fn guardduty_resource(&self) -> Result<Value, EventError> {
        if let Some(instance) = self.resources.iter().find(|r| r.resource_type == "AwsEc2Instance") {
            let instance_id = instance.id.rsplit('/').next().unwrap_or_default();
            validate_instance_id(instance_id)?;
            let details = instance.details.as_ref().and_then(|d| d.get("AwsEc2Instance"));
            let text = |key: &str| details.and_then(|d| d.get(key)).and_then(Value::as_str).map(str::to_string);
            let mut interfaces: Vec<Value> = details
                .and_then(|d| d.get("NetworkInterfaces"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|eni| eni.get("NetworkInterfaceId").and_then(Value::as_str))
                .map(|eni| json!({"networkInterfaceId": eni, "vpcId": text("VpcId"), "subnetId": text("SubnetId")}))
                .collect();
            if interfaces.is_empty() && text("VpcId").is_some() {
                interfaces.push(json!({"vpcId": text("VpcId"), "subnetId": text("SubnetId")}));
            }
            return Ok(json!({
                "resourceType": "Instance",
                "instanceDetails": {
                    "instanceId": instance_id,
                    "networkInterfaces": interfaces,
                    "iamInstanceProfile": {"arn": text("IamInstanceProfileArn")},
                },
            }));
        }
        if let Some(key) = self.resources.iter().find(|r| r.resource_type == "AwsIamAccessKey") {
            let details = key.details.as_ref().and_then(|d| d.get("AwsIamAccessKey"));
            let text = |k: &str| details.and_then(|d| d.get(k)).and_then(Value::as_str).map(str::to_string);
            // GuardDuty writes the resource id as `AWS::IAM::AccessKey:<key id>`.
            let access_key_id = key.id.rsplit(':').next().filter(|id| id.len() >= 16).map(str::to_string);
            return Ok(json!({
                "resourceType": "AccessKey",
                "accessKeyDetails": {
                    "accessKeyId": access_key_id,
                    "principalId": text("PrincipalId"),
                    "userName": text("PrincipalName").or_else(|| text("UserName")),
                    "userType": text("PrincipalType"),
                },
            }));
        }
        Err(EventError::UnsupportedFinding {
            finding_type: self.guardduty_type().unwrap_or_default(),
            resource_type: self.resources.iter().map(|r| r.resource_type.as_str()).collect::<Vec<_>>().join(", "),
            why: "expected an AwsEc2Instance or AwsIamAccessKey resource",
        })
    }

    /// For revoke-credentials: the finding as a GuardDuty AccessKey finding, or an error when it is
    /// not about an access key.
    pub fn to_access_key_finding(&self) -> Result<AccessKeyFinding, EventError> {
        let finding = self.to_guardduty_finding()?;
        if finding.resource.resource_type != "AccessKey" {
            return Err(EventError::UnsupportedFinding {
                finding_type: finding.finding_type,
                resource_type: finding.resource.resource_type,
                why: "expected an AwsIamAccessKey resource",
            });
        }
        Ok(finding)
    }
}
