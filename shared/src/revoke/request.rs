//! What to revoke, from whichever signal named the credentials: the event as a [`RevokeTrigger`]
//! (parsed and validated, no AWS call), and each principal it names as a [`RevokeRequest`].

use serde::Serialize;
use serde_json::Value;

use super::principal::{validate_access_key_id, validate_iam_name, Principal};
use crate::engine::Signal;
use crate::events::ocsf;
use crate::events::securityhub::{self, CustomAction, SecurityHubEvent, Trigger};
use crate::events::{health, partition_of, validate_instance_id, EventError, GuardDutyFinding, HealthEvent};

/// The events revoke-credentials acts on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "trigger", rename_all = "snake_case")]
pub enum RevokeTrigger {
    /// A GuardDuty IAM finding (resource type `AccessKey`); boxed, it is the largest by far.
    Finding(Box<GuardDutyFinding>),
    /// An analyst's "Revoke credentials" custom action on Security Hub access-key findings.
    SecurityHubAction(SecurityHubEvent),
    /// An AWS Health `AWS_RISK_CREDENTIALS_*` notice naming exposed access keys.
    Health(Box<HealthEvent>),
}

impl RevokeTrigger {
    /// The event as EventBridge delivers it, routed by its `source`, with every name that will
    /// reach an API call validated. Sample findings are not validated: they name placeholders
    /// ("GeneratedFindingUserName"), and triage skips them before anything is read.
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        match event.get("source").and_then(Value::as_str) {
            Some(health::SOURCE) => {
                let notice = HealthEvent::from_event(event)?;
                exposed_access_keys(&notice)?;
                Ok(Self::Health(Box::new(notice)))
            }
            Some(securityhub::SOURCE)
                if event.get("detail-type").and_then(Value::as_str) == Some(ocsf::DETAIL_TYPE) =>
            {
                Ok(Self::Finding(Box::new(ocsf_access_key_finding(event)?)))
            }
            Some(securityhub::SOURCE) => {
                let action = SecurityHubEvent::from_event(event)?;
                if !matches!(action.trigger, Trigger::CustomAction { action: CustomAction::RevokeCredentials, .. }) {
                    return Err(EventError::UnsupportedFinding {
                        finding_type: "Security Hub event".into(),
                        resource_type: "-".into(),
                        why: "revoke-credentials acts on the \"Revoke credentials\" custom action only",
                    });
                }
                if action.findings.is_empty() {
                    return Err(EventError::Malformed("a custom action without findings".into()));
                }
                for asff in &action.findings {
                    validate_finding(&asff.to_access_key_finding()?)?;
                }
                Ok(Self::SecurityHubAction(action))
            }
            _ => {
                let finding = GuardDutyFinding::from_event(event)?;
                validate_finding(&finding)?;
                Ok(Self::Finding(Box::new(finding)))
            }
        }
    }
}

/// A Security Hub (v2) import of a GuardDuty access-key finding, as the native finding.
fn ocsf_access_key_finding(event: &Value) -> Result<GuardDutyFinding, EventError> {
    let finding = ocsf::imported_guardduty_finding(event, &["AccessKey", crate::events::sequence::RESOURCE_TYPE])?;
    validate_finding(&finding)?;
    Ok(finding)
}

fn validate_finding(finding: &GuardDutyFinding) -> Result<(), EventError> {
    if finding.is_sample() {
        Ok(())
    } else if finding.is_attack_sequence() {
        super::sequence::sequence_credentials(finding).map(drop)
    } else {
        RevokeRequest::from_finding(finding).map(drop)
    }
}

/// What to revoke, from a validated signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum Target {
    User {
        user_name: String,
        access_key_id: Option<String>,
    },
    RoleSessions {
        role_name: String,
    },
    /// The role credentials of one instance, used from elsewhere.
    InstanceCredentials {
        role_name: String,
        instance_id: String,
        instance_arn: String,
        vpc_hints: Vec<String>,
    },
    /// Root, federated and other principals: no API revokes them.
    NotRevocable {
        user_type: String,
        principal: String,
    },
}

impl Target {
    pub fn principal(&self) -> Option<Principal> {
        match self {
            Self::User { user_name, .. } => Some(Principal::User(user_name.clone())),
            Self::RoleSessions { role_name } | Self::InstanceCredentials { role_name, .. } => {
                Some(Principal::Role(role_name.clone()))
            }
            Self::NotRevocable { .. } => None,
        }
    }

    /// The resource a report about this target names.
    pub fn resource(&self) -> String {
        match self {
            Self::User { user_name, .. } => user_name.clone(),
            Self::RoleSessions { role_name } | Self::InstanceCredentials { role_name, .. } => role_name.clone(),
            Self::NotRevocable { principal, user_type } => format!("{user_type}:{principal}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevokeRequest {
    /// The signal, whose account is the principal's; its id makes the case id, and its time is
    /// when it last saw the activity (finding `updatedAt`, Health `startTime`).
    pub signal: Signal,
    pub target: Target,
}

/// The finding types whose credentials are an instance role's, delivered to one instance.
fn is_instance_credential_exfiltration(finding_type: &str) -> bool {
    finding_type.starts_with("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration")
}

impl RevokeRequest {
    /// The request a GuardDuty IAM finding (resource type `AccessKey`) makes. Validates every
    /// name that will reach an API call.
    ///
    /// For instance credential exfiltration the instance is named twice in real findings:
    /// `resource.instanceDetails.instanceId`, and the session name of the role credentials in
    /// `resource.accessKeyDetails.principalId` (`AROA...:i-0123...`, EC2 names instance-role
    /// sessions after the instance). Either is accepted; when both are present they must agree,
    /// and `accessKeyDetails.userName` is the role's name.
    pub fn from_finding(finding: &GuardDutyFinding) -> Result<Self, EventError> {
        let unsupported = |why| EventError::UnsupportedFinding {
            finding_type: finding.finding_type.clone(),
            resource_type: finding.resource.resource_type.clone(),
            why,
        };
        if finding.resource.resource_type != "AccessKey" {
            return Err(unsupported("this function handles findings about IAM credentials (resource type AccessKey)"));
        }
        let details = finding
            .resource
            .access_key_details
            .as_ref()
            .ok_or_else(|| EventError::Malformed("detail.resource.accessKeyDetails is missing".into()))?;
        let user_type = details.user_type.clone().unwrap_or_default();
        let user_name = details.user_name.clone().unwrap_or_default();
        let target = match user_type.as_str() {
            "IAMUser" => {
                validate_iam_name("accessKeyDetails.userName", &user_name)?;
                if let Some(key) = &details.access_key_id {
                    validate_access_key_id("accessKeyDetails.accessKeyId", key)?;
                }
                Target::User { user_name, access_key_id: details.access_key_id.clone() }
            }
            "AssumedRole" if is_instance_credential_exfiltration(&finding.finding_type) => {
                validate_iam_name("accessKeyDetails.userName", &user_name)?;
                let from_details = finding.resource.instance_details.as_ref().map(|d| d.instance_id.clone());
                let from_session = details
                    .principal_id
                    .as_deref()
                    .and_then(|p| p.split_once(':'))
                    .map(|(_, session)| session.to_string())
                    .filter(|session| session.starts_with("i-"));
                let instance_id = match (from_details, from_session) {
                    (Some(a), Some(b)) if a != b => {
                        return Err(EventError::InvalidField {
                            field: "accessKeyDetails.principalId",
                            value: b,
                            why: "the role session names another instance than resource.instanceDetails",
                        })
                    }
                    (Some(id), _) | (None, Some(id)) => id,
                    (None, None) => {
                        return Err(EventError::Malformed(
                            "an instance credential exfiltration finding without instanceDetails.instanceId or an instance session in accessKeyDetails.principalId".into(),
                        ))
                    }
                };
                validate_instance_id(&instance_id)?;
                let instance_arn = format!(
                    "arn:{}:ec2:{}:{}:instance/{instance_id}",
                    partition_of(&finding.region),
                    finding.region,
                    finding.account_id
                );
                Target::InstanceCredentials {
                    role_name: user_name,
                    instance_id,
                    instance_arn,
                    vpc_hints: finding.vpc_ids(),
                }
            }
            "AssumedRole" => {
                validate_iam_name("accessKeyDetails.userName", &user_name)?;
                Target::RoleSessions { role_name: user_name }
            }
            _ => Target::NotRevocable { user_type, principal: user_name },
        };
        // The activity's time is `updatedAt` alone: with no time, an existing cutoff is kept.
        Ok(Self { signal: Signal { time: finding.updated_at.clone(), ..finding.signal() }, target })
    }

    /// The request for one access key an AWS Health notice names, once its owner is known.
    pub fn from_health(notice: &HealthEvent, user_name: String, access_key_id: String) -> Self {
        Self { signal: notice.signal(), target: Target::User { user_name, access_key_id: Some(access_key_id) } }
    }
}

/// The access key ids an AWS Health credentials-risk notice names (validated; at least one).
pub fn exposed_access_keys(event: &HealthEvent) -> Result<Vec<String>, EventError> {
    if !event.is_credentials_risk() {
        return Err(EventError::UnsupportedFinding {
            finding_type: event.event_type_code.clone(),
            resource_type: "AWS Health event".into(),
            why: "this function handles AWS_RISK_CREDENTIALS_* notices",
        });
    }
    let mut keys = Vec::new();
    for entity in &event.affected_entities {
        validate_access_key_id("detail.affectedEntities[].entityValue", &entity.entity_value)?;
        if !keys.contains(&entity.entity_value) {
            keys.push(entity.entity_value.clone());
        }
    }
    if keys.is_empty() {
        return Err(EventError::Malformed("the AWS Health notice names no access key in affectedEntities".into()));
    }
    Ok(keys)
}
