//! EC2 API calls recorded by CloudTrail, as EventBridge delivers them: `source: aws.ec2`,
//! `detail-type: AWS API Call via CloudTrail`, the CloudTrail record in `detail`. Only the calls
//! that can open a security group to the world are accepted.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{envelope, validate_account_id, validate_ec2_id, validate_region, EventError};

pub const SOURCE: &str = "aws.ec2";
pub const DETAIL_TYPE: &str = "AWS API Call via CloudTrail";
/// The calls that add or widen ingress rules (CreateSecurityGroup: a group created with rules in
/// the same template, or one about to receive them, is checked at once).
pub const SECURITY_GROUP_CALLS: [&str; 3] =
    ["AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules", "CreateSecurityGroup"];

/// A CloudTrail record of a security-group call, reduced to what close-open-ports needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecurityGroupApiCall {
    /// CloudTrail's `eventID`: the signal id of the report.
    pub event_id: String,
    pub event_name: String,
    pub account_id: String,
    pub region: String,
    /// The envelope's account when it is not the record's (an event forwarded to another
    /// account's bus keeps its own account, so this is rare: a bus that re-publishes).
    pub delivered_by: Option<String>,
    /// The group the call changed or created.
    pub group_id: String,
    /// Who made the call (`userIdentity.arn`), for the report.
    pub caller: Option<String>,
    /// Set when AWS refused the call: nothing was opened.
    pub error_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(rename = "eventID")]
    event_id: String,
    event_name: String,
    event_source: String,
    #[serde(default)]
    aws_region: Option<String>,
    #[serde(default)]
    recipient_account_id: Option<String>,
    #[serde(default)]
    user_identity: Option<Value>,
    #[serde(default)]
    request_parameters: Option<Value>,
    #[serde(default)]
    response_elements: Option<Value>,
    #[serde(default)]
    error_code: Option<String>,
}

impl SecurityGroupApiCall {
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        let envelope = envelope(
            event,
            SOURCE,
            &[DETAIL_TYPE],
            "EC2 API calls recorded by CloudTrail (source aws.ec2, detail-type \"AWS API Call via CloudTrail\")",
        )?;
        let record: Record = serde_json::from_value(envelope.detail)
            .map_err(|e| EventError::Malformed(format!("CloudTrail record: {e}")))?;
        if record.event_source != "ec2.amazonaws.com" {
            return Err(EventError::InvalidField {
                field: "detail.eventSource",
                value: record.event_source,
                why: "expected ec2.amazonaws.com",
            });
        }
        if !SECURITY_GROUP_CALLS.contains(&record.event_name.as_str()) {
            return Err(EventError::InvalidField {
                field: "detail.eventName",
                value: record.event_name,
                why: "expected AuthorizeSecurityGroupIngress, ModifySecurityGroupRules or CreateSecurityGroup",
            });
        }
        if let Some(account) = &envelope.account {
            validate_account_id("account", account)?;
        }
        // The record's account is the one whose group changed.
        let account_id = record
            .recipient_account_id
            .clone()
            .or_else(|| envelope.account.clone())
            .ok_or_else(|| EventError::Malformed("CloudTrail event without an account".into()))?;
        validate_account_id("detail.recipientAccountId", &account_id)?;
        let region = record.aws_region.clone().or(envelope.region).unwrap_or_default();
        validate_region("detail.awsRegion", &region)?;
        let group_id = group_id(&record)?;
        if !(group_id.is_empty() && record.error_code.is_some()) {
            validate_ec2_id("security group id", "sg-", &group_id)?;
        }
        Ok(Self {
            event_id: record.event_id,
            event_name: record.event_name,
            delivered_by: envelope.account.filter(|a| *a != account_id),
            account_id,
            region,
            group_id,
            caller: record
                .user_identity
                .as_ref()
                .and_then(|u| u.get("arn"))
                .and_then(Value::as_str)
                .map(str::to_string),
            error_code: record.error_code,
        })
    }
}

/// Where each call names its group: `requestParameters.groupId` (AuthorizeSecurityGroupIngress by
/// id), `requestParameters.ModifySecurityGroupRulesRequest.GroupId` (ModifySecurityGroupRules is
/// logged in its PascalCase request shape), the rules AWS created
/// (`responseElements.securityGroupRuleSet.items[].groupId`, also present when the ingress call
/// named the group by name), or `responseElements.groupId` (CreateSecurityGroup).
fn group_id(record: &Record) -> Result<String, EventError> {
    let request = record.request_parameters.as_ref();
    let response = record.response_elements.as_ref();
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let found = text(request.and_then(|r| r.get("groupId")))
        .or_else(|| text(request.and_then(|r| r.pointer("/ModifySecurityGroupRulesRequest/GroupId"))))
        .or_else(|| text(response.and_then(|r| r.pointer("/securityGroupRuleSet/items/0/groupId"))))
        .or_else(|| text(response.and_then(|r| r.get("groupId"))));
    match found {
        Some(id) => Ok(id),
        // A refused call may carry no response at all; its request still names the group by name only.
        None if record.error_code.is_some() => Ok(String::new()),
        None => Err(EventError::Malformed(format!(
            "{} record names no security group id in requestParameters or responseElements",
            record.event_name
        ))),
    }
}
