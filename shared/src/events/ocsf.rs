//! Security Hub (v2) findings in OCSF: `source: aws.securityhub`, `detail-type: Findings Imported V2`,
//! `detail.findings[]` of OCSF Detection Findings (snake_case, not ASFF's PascalCase).
//!
//! What this relies on, and where it is from:
//! - The envelope, and "each event sends a single finding": the Security Hub user guide,
//!   "EventBridge event formats" (securityhub-v2-cwe-event-formats).
//! - The field names `finding_info.uid` / `.types`, `metadata.product.name`, `cloud.account.uid`,
//!   `cloud.region`, `resources.type` / `.uid` / `.region`, `status`, `severity`: the Security Hub
//!   API reference, `OcsfStringFilter` (the filterable OCSF fields) and `OcsfFindingIdentifier`
//!   (a finding is `cloud.account.uid` + `finding_info.uid` + `metadata.product.uid`).
//! - Active findings are those whose `activity_name` is not `Close`: the user guide, "OCSF
//!   findings in Security Hub".
//! - `severity_id` 1..6 (Informational, Low, Medium, High, Critical, Fatal), `status_id` 1 = New,
//!   `time` in epoch milliseconds, `actor.user` (`name`, `type`, `uid`, `credential_uid`): the
//!   OCSF schema (Detection Finding, class 2004).
//!
//! Not documented, so accepted in every plausible form: the GuardDuty finding id inside
//! `finding_info.uid` (the finding ARN ending `/finding/<id>`, or the bare id), the finding type in
//! `finding_info.types` (`Backdoor:EC2/DenialOfService.Tcp`, or ASFF's
//! `TTPs/.../Backdoor:EC2-DenialOfService.Tcp`), an instance's `uid` (id or ARN), an access key's
//! (`AKIA...`, or `AWS::IAM::AccessKey:AKIA...`), and timestamps (ISO strings, epoch seconds or
//! milliseconds; both appear in published samples).

use serde::Deserialize;
use serde_json::{json, Value};

use super::imported::{self, ImportedResource};
use super::securityhub::{guardduty_type_of, SOURCE};
use super::timestamp::iso_time;
use super::{
    arn_account_region, envelope, validate_account_id, validate_instance_id, validate_region, EventError,
    GuardDutyFinding,
};

pub const DETAIL_TYPE: &str = "Findings Imported V2";
/// Security Hub sends one finding per event; more than a custom action's batch is not real.
pub const MAX_FINDINGS: usize = super::securityhub::MAX_FINDINGS;
/// A finding names a handful of resources, an attack sequence more; a longer list than a sequence
/// may name is hostile, not a finding (how many are acted on is bounded again per function).
pub const MAX_RESOURCES: usize = super::sequence::MAX_SEQUENCE_RESOURCES;
pub const EC2_INSTANCE: &str = "AWS::EC2::Instance";
pub const ACCESS_KEY: &str = "AWS::IAM::AccessKey";
/// Lambda Protection: `uid` the function ARN (or its name).
pub const LAMBDA_FUNCTION: &str = "AWS::Lambda::Function";
/// S3 Protection: `uid` the bucket ARN or its name.
pub const S3_BUCKET: &str = "AWS::S3::Bucket";
/// Runtime Monitoring on ECS and ECS attack sequences: `uid` the task ARN.
pub const ECS_TASK: &str = "AWS::ECS::Task";

#[derive(Debug, Clone, PartialEq)]
pub struct OcsfEvent {
    /// The account and Region the event was delivered in (the aggregating administrator's).
    pub account_id: String,
    pub region: String,
    pub findings: Vec<OcsfFinding>,
}

/// The part of an OCSF finding Firebreak reads. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OcsfFinding {
    pub finding_info: FindingInfo,
    #[serde(default)]
    pub metadata: Metadata,
    pub cloud: Cloud,
    #[serde(default)]
    pub resources: Vec<OcsfResource>,
    #[serde(default)]
    pub severity_id: Option<u8>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub status_id: Option<u8>,
    #[serde(default)]
    pub activity_name: Option<String>,
    #[serde(default)]
    pub time: Option<Value>,
    #[serde(default)]
    pub actor: Option<Actor>,
    /// The envelope's account when it is not the finding's (see `Accounts::check_delivery`).
    #[serde(skip)]
    pub delivered_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FindingInfo {
    pub uid: String,
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub created_time: Option<Value>,
    #[serde(default)]
    pub modified_time: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub product: Product,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Product {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub uid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Cloud {
    pub account: CloudAccount,
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CloudAccount {
    pub uid: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OcsfResource {
    #[serde(rename = "type")]
    pub resource_type: String,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// OCSF's resource `role` (Target, Actor, Affected, Related), when the provider sets it.
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Actor {
    #[serde(default)]
    pub user: Option<User>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct User {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub user_type: Option<String>,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub credential_uid: Option<String>,
}

impl OcsfEvent {
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        let envelope = envelope(
            event,
            SOURCE,
            &[DETAIL_TYPE],
            "Security Hub OCSF findings (source aws.securityhub, detail-type \"Findings Imported V2\")",
        )?;
        let account_id =
            envelope.account.ok_or_else(|| EventError::Malformed("Security Hub event without an account".into()))?;
        validate_account_id("account", &account_id)?;
        let region = envelope.region.unwrap_or_default();
        let findings = envelope.detail.get("findings").cloned().unwrap_or(Value::Null);
        // Counted before anything is parsed into structs: a hostile list costs nothing more.
        let count = findings.as_array().map_or(0, Vec::len);
        if count > MAX_FINDINGS {
            return Err(EventError::InvalidField {
                field: "detail.findings",
                value: format!("{count} findings"),
                why: "more findings than Security Hub puts in one event",
            });
        }
        let mut findings: Vec<OcsfFinding> = serde_json::from_value(findings)
            .map_err(|e| EventError::Malformed(format!("Security Hub detail.findings (OCSF): {e}")))?;
        if findings.is_empty() {
            return Err(EventError::Malformed("Security Hub event without findings".into()));
        }
        for finding in &mut findings {
            finding.validate(&region)?;
            finding.delivered_by = (finding.cloud.account.uid != account_id).then(|| account_id.clone());
        }
        Ok(Self { account_id, region, findings })
    }
}

impl OcsfFinding {
    fn validate(&mut self, envelope_region: &str) -> Result<(), EventError> {
        validate_account_id("detail.findings[].cloud.account.uid", &self.cloud.account.uid)?;
        // An aggregator delivers every linked Region's findings to its own: the finding's Region
        // (or its resources') is where the resource is.
        if self.cloud.region.is_none() {
            let from_resource = self.resources.iter().find_map(|r| r.region.clone());
            self.cloud.region = Some(from_resource.unwrap_or_else(|| envelope_region.to_string()));
        }
        validate_region("detail.findings[].cloud.region", self.cloud.region.as_deref().unwrap_or_default())?;
        if self.resources.len() > MAX_RESOURCES {
            return Err(EventError::InvalidField {
                field: "detail.findings[].resources",
                value: format!("{} resources", self.resources.len()),
                why: "more resources than a GuardDuty finding names",
            });
        }
        for resource in &self.resources {
            let uid = resource.uid.as_deref().unwrap_or_default();
            // A resource ARN of another account than the finding's: acting on it would use the
            // finding's account to reach someone else's resource.
            if let Some((Some(account), _)) = arn_account_region(uid) {
                if account != self.cloud.account.uid {
                    return Err(EventError::InvalidField {
                        field: "detail.findings[].resources[].uid",
                        value: uid.chars().take(200).collect(),
                        why: "the resource belongs to another account than the finding",
                    });
                }
            }
            if let Some(region) = &resource.region {
                validate_region("detail.findings[].resources[].region", region)?;
            }
        }
        Ok(())
    }

    pub fn is_guardduty(&self) -> bool {
        let name = self.metadata.product.name.as_deref().unwrap_or_default();
        name.eq_ignore_ascii_case("GuardDuty") || name.eq_ignore_ascii_case("Amazon GuardDuty")
    }

    /// Only a new (`status` New, or none) and open (`activity_name` not Close) finding is acted
    /// on: anything else was worked by someone, or is being closed.
    pub fn is_new_and_active(&self) -> bool {
        let new = match (self.status.as_deref(), self.status_id) {
            (Some(status), _) => status.eq_ignore_ascii_case("New"),
            (None, Some(id)) => id == 1,
            (None, None) => true,
        };
        let open = !self.activity_name.as_deref().is_some_and(|a| a.eq_ignore_ascii_case("Close"));
        new && open
    }

    /// GuardDuty's own finding id: the last part of a finding ARN, or the uid itself.
    pub fn guardduty_finding_id(&self) -> &str {
        let uid = self.finding_info.uid.as_str();
        uid.rsplit_once("/finding/").map_or(uid, |(_, id)| id)
    }

    /// The GuardDuty type: a native one (`Backdoor:EC2/DenialOfService.Tcp`) as it is, or an ASFF
    /// one (`TTPs/.../Backdoor:EC2-DenialOfService.Tcp`) converted.
    pub fn guardduty_type(&self) -> Option<String> {
        let native =
            |t: &&String| t.split_once(':').is_some_and(|(purpose, rest)| !purpose.contains('/') && rest.contains('/'));
        match self.finding_info.types.iter().find(native) {
            Some(found) => Some(found.clone()),
            None => guardduty_type_of(&self.finding_info.types),
        }
    }

    /// OCSF keeps only the band; each band becomes the lowest GuardDuty severity in it (Low 1-3.9,
    /// Medium 4-6.9, High 7-8.9, Critical 9-10), so a severity threshold never lets it rise.
    pub fn guardduty_severity(&self) -> f64 {
        let by_name = self.severity.as_deref().map(str::to_ascii_lowercase);
        let id = self.severity_id.or(match by_name.as_deref() {
            Some("low") => Some(2),
            Some("medium") => Some(3),
            Some("high") => Some(4),
            Some("critical") => Some(5),
            Some("fatal") => Some(6),
            _ => None,
        });
        match id {
            Some(2) => 1.0,
            Some(3) => 4.0,
            Some(4) => 7.0,
            Some(5 | 6) => 9.0,
            _ => 0.0,
        }
    }

    /// The finding as the native GuardDuty event would have given it: same finding id, type,
    /// account, Region, instance or access key (severity from its band).
    pub fn to_guardduty_finding(&self) -> Result<GuardDutyFinding, EventError> {
        if !self.is_guardduty() {
            return Err(EventError::UnsupportedFinding {
                finding_type: self.finding_info.types.join(", "),
                resource_type: self.metadata.product.name.clone().unwrap_or_default(),
                why: "only findings that came from GuardDuty are acted on automatically",
            });
        }
        let finding_type = self.guardduty_type().ok_or_else(|| EventError::InvalidField {
            field: "detail.findings[].finding_info.types",
            value: self.finding_info.types.join(", ").chars().take(200).collect(),
            why: "expected a GuardDuty type such as Backdoor:EC2/DenialOfService.Tcp",
        })?;
        let region = self.cloud.region.clone().unwrap_or_default();
        let (resource, service) = if imported::is_sequence_type(&finding_type) {
            let service = imported::sequence_service(&self.finding_info.uid, &self.imported(), self.sequence_actors());
            (json!({"resourceType": super::sequence::RESOURCE_TYPE}), service)
        } else {
            let role = self.resources.iter().find_map(|r| r.role.as_deref()).map(str::to_ascii_uppercase);
            (self.guardduty_resource(&finding_type)?, json!({"resourceRole": role}))
        };
        let created = self.finding_info.created_time.as_ref().map(iso_time).transpose()?;
        let updated = self.finding_info.modified_time.as_ref().or(self.time.as_ref()).map(iso_time).transpose()?;
        let detail = json!({
            "schemaVersion": "2.0",
            "accountId": self.cloud.account.uid,
            "region": region,
            "id": self.guardduty_finding_id(),
            "arn": self.finding_info.uid.starts_with("arn:").then_some(&self.finding_info.uid),
            "type": finding_type,
            "severity": self.guardduty_severity(),
            "title": self.finding_info.title,
            "createdAt": created,
            "updatedAt": updated,
            "resource": resource,
            "service": service,
        });
        let delivered_by = self.delivered_by.clone().unwrap_or_else(|| self.cloud.account.uid.clone());
        // The native parser validates the id, account and severity the same way for every source.
        GuardDutyFinding::from_event(&json!({
            "version": "0",
            "id": self.finding_info.uid,
            "detail-type": super::guardduty::DETAIL_TYPE,
            "source": super::guardduty::SOURCE,
            "account": delivered_by,
            "region": region,
            "resources": [],
            "detail": detail,
        }))
    }

    fn guardduty_resource(&self, finding_type: &str) -> Result<Value, EventError> {
        let of = |kind: &str| self.resources.iter().find(|r| r.resource_type == kind);
        let (instance, key) = (of(EC2_INSTANCE), of(ACCESS_KEY));
        // `UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration...` names the instance too,
        // but is about the credentials: the type's resource part decides when both are named.
        let about = |kind: &str| finding_type.split_once(':').is_some_and(|(_, rest)| rest.starts_with(kind));
        let about_credentials = about("IAMUser/");
        // An S3 or Lambda finding may name the caller's key too; it is about the bucket or function.
        let elsewhere = (about("S3/") && of(S3_BUCKET).is_some())
            || (about("Lambda/") && of(LAMBDA_FUNCTION).is_some())
            || of(ECS_TASK).is_some();
        // Runtime Monitoring on ECS names the task (and maybe its container instance): the task is
        // what quarantine-task isolates, as the native finding's `ECSCluster` resource says.
        if let Some(ecs) = imported::ecs_resource(&self.imported()).filter(|_| !about_credentials) {
            return Ok(ecs);
        }
        let instance_details = instance.map(instance_details).transpose()?;
        if let Some(key) = key.filter(|_| about_credentials || (instance.is_none() && !elsewhere)) {
            let user = self.actor.as_ref().and_then(|a| a.user.as_ref());
            let from_uid = key.uid.as_deref().and_then(|uid| uid.rsplit([':', '/']).next()).filter(|id| !id.is_empty());
            let key_id = from_uid.map(str::to_string).or_else(|| user.and_then(|u| u.credential_uid.clone()));
            return Ok(json!({
                "resourceType": "AccessKey",
                "accessKeyDetails": {
                    "accessKeyId": key_id,
                    "principalId": user.and_then(|u| u.uid.clone()),
                    "userName": user.and_then(|u| u.name.clone()),
                    "userType": user.and_then(|u| u.user_type.clone()),
                },
                "instanceDetails": instance_details,
            }));
        }
        if let Some(details) = instance_details {
            return Ok(json!({"resourceType": "Instance", "instanceDetails": details}));
        }
        // The native shapes contain-lambda and contain-bucket read; their parsers validate them.
        if let Some(function) = of(LAMBDA_FUNCTION) {
            let uid = function.uid.as_deref().unwrap_or_default();
            let (name, arn) = match uid.split_once(":function:") {
                Some((_, rest)) => (rest.split(':').next().unwrap_or_default(), Some(uid)),
                None => (uid, None),
            };
            return Ok(json!({"resourceType": "Lambda", "lambdaDetails": {"functionName": name, "functionArn": arn}}));
        }
        let buckets: Vec<Value> = (self.resources.iter().filter(|r| r.resource_type == S3_BUCKET))
            .map(|r| r.uid.as_deref().unwrap_or_default())
            .map(|uid| if uid.starts_with("arn:") { json!({"arn": uid}) } else { json!({"name": uid}) })
            .collect();
        if !buckets.is_empty() {
            return Ok(json!({"resourceType": "S3Bucket", "s3BucketDetails": buckets}));
        }
        Err(EventError::UnsupportedFinding {
            finding_type: finding_type.to_string(),
            resource_type: self.resources.iter().map(|r| r.resource_type.as_str()).collect::<Vec<_>>().join(", "),
            why:
                "expected an AWS::EC2::Instance, AWS::IAM::AccessKey, AWS::Lambda::Function or AWS::S3::Bucket resource",
        })
    }
}

impl OcsfFinding {
    fn imported(&self) -> Vec<ImportedResource<'_>> {
        (self.resources.iter())
            .map(|r| ImportedResource {
                kind: &r.resource_type,
                uid: r.uid.as_deref().unwrap_or_default(),
                region: r.region.as_deref(),
            })
            .collect()
    }

    /// The finding's actor as a sequence's native `actors[]` (who revoke-credentials revokes).
    fn sequence_actors(&self) -> Vec<Value> {
        let user = self.actor.as_ref().and_then(|a| a.user.as_ref());
        user.map(
            |u| json!({"user": {"name": u.name, "uid": u.uid, "type": u.user_type, "credentialUid": u.credential_uid}}),
        )
        .into_iter()
        .collect()
    }
}

/// `i-0abc...` or `arn:aws:ec2:<region>:<account>:instance/i-0abc...`, validated.
fn instance_details(resource: &OcsfResource) -> Result<Value, EventError> {
    let uid = resource.uid.as_deref().unwrap_or_default();
    let instance_id = uid.rsplit('/').next().unwrap_or_default();
    validate_instance_id(instance_id)?;
    Ok(json!({"instanceId": instance_id, "networkInterfaces": []}))
}

#[path = "ocsf_import.rs"]
mod import;
pub use import::{imported_guardduty_finding, native_or_imported};

#[cfg(test)]
#[path = "ocsf_tests.rs"]
mod tests;
