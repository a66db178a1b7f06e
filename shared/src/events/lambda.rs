//! GuardDuty Lambda Protection findings (`Backdoor:Lambda/C&CActivity.B`,
//! `CryptoCurrency:Lambda/BitcoinTool.B`, …): `resource.resourceType` = `Lambda` and
//! `resource.lambdaDetails` (service model `LambdaDetails`: `functionName`, `functionArn`,
//! `functionVersion`, `role`, `vpcConfig`, `tags`, `lastModifiedAt`, `revisionId`, `description`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::guardduty::GuardDutyFinding;
use super::timestamp::iso_time;
use super::{arn_account_region, EventError};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaDetails {
    #[serde(default)]
    pub function_name: Option<String>,
    #[serde(default)]
    pub function_arn: Option<String>,
    #[serde(default)]
    pub function_version: Option<String>,
    /// The execution role's ARN.
    #[serde(default)]
    pub role: Option<String>,
    /// ISO string or epoch seconds (both appear in published samples).
    #[serde(default)]
    pub last_modified_at: Option<Value>,
    #[serde(default)]
    pub revision_id: Option<String>,
    #[serde(default)]
    pub vpc_config: Option<Value>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

/// The function a Lambda finding is about, validated: nothing here reaches an API call unchecked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LambdaFunction {
    pub function_name: String,
    /// Unqualified (`…:function:<name>`): concurrency and tags belong to the function, not a version.
    pub function_arn: String,
    pub function_version: Option<String>,
    /// The execution role as the finding names it (the function's own configuration is read too).
    pub role_arn: Option<String>,
    pub last_modified_at: Option<String>,
}

impl GuardDutyFinding {
    /// Refuses a finding about anything but a Lambda function (checked before triage: another
    /// function's finding is misrouted, whatever its severity).
    pub fn about_lambda(&self) -> Result<(), EventError> {
        if self.resource.resource_type == "Lambda" {
            return Ok(());
        }
        Err(EventError::UnsupportedFinding {
            finding_type: self.finding_type.clone(),
            resource_type: self.resource.resource_type.clone(),
            why: "this function handles findings about Lambda functions (resource type Lambda)",
        })
    }

    /// The Lambda function of a Lambda Protection finding, checked: its ARN must name the
    /// finding's own account and Region, and agree with its name.
    pub fn lambda_function(&self) -> Result<LambdaFunction, EventError> {
        self.about_lambda()?;
        let details = self
            .resource
            .lambda_details
            .as_ref()
            .ok_or(EventError::Malformed("detail.resource.lambdaDetails is missing".into()))?;
        let name = details.function_name.as_deref().unwrap_or_default();
        validate_function_name(name)?;
        let function_arn = match details.function_arn.as_deref() {
            Some(arn) => {
                let (account, region, named) = parse_function_arn(arn).ok_or_else(|| EventError::InvalidField {
                    field: "lambdaDetails.functionArn",
                    value: arn.chars().take(64).collect(),
                    why: "expected arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]",
                })?;
                if account != self.account_id || region != self.region || named != name {
                    return Err(EventError::InvalidField {
                        field: "lambdaDetails.functionArn",
                        value: arn.chars().take(128).collect(),
                        why: "names another function, account or Region than the finding",
                    });
                }
                format!("{}:function:{name}", arn.splitn(6, ':').take(5).collect::<Vec<_>>().join(":"))
            }
            None => format!(
                "arn:{}:lambda:{}:{}:function:{name}",
                super::partition_of(&self.region),
                self.region,
                self.account_id
            ),
        };
        let role_arn = details.role.as_deref().filter(|r| !r.is_empty()).map(|role| match arn_account_region(role) {
            Some((Some(account), None)) if account == self.account_id && role.contains(":iam::") => {
                Ok(role.to_string())
            }
            _ => Err(EventError::InvalidField {
                field: "lambdaDetails.role",
                value: role.chars().take(128).collect(),
                why: "expected an IAM role ARN of the finding's account",
            }),
        });
        Ok(LambdaFunction {
            function_name: name.to_string(),
            function_arn,
            function_version: details.function_version.clone(),
            role_arn: role_arn.transpose()?,
            last_modified_at: details.last_modified_at.as_ref().map(iso_time).transpose()?,
        })
    }
}

/// Lambda function names: 1-64 letters, digits, hyphens or underscores.
pub fn validate_function_name(name: &str) -> Result<(), EventError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then_some(()).ok_or_else(|| EventError::InvalidField {
        field: "lambdaDetails.functionName",
        value: name.chars().take(64).collect(),
        why: "a Lambda function name is 1-64 letters, digits, hyphens or underscores",
    })
}

/// `(account, region, name)` of `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
fn parse_function_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", partition, "lambda", region, account, "function", name, rest @ ..]
            if partition.starts_with("aws") && rest.len() <= 1 =>
        {
            super::validate_region("lambdaDetails.functionArn", region).ok()?;
            super::validate_account_id("lambdaDetails.functionArn", account).ok()?;
            Some((account, region, name))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn finding(details: Value) -> GuardDutyFinding {
        let event = json!({
            "version": "0", "id": "e-1", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
            "account": "123456789012", "time": "2026-11-24T02:13:48Z", "region": "us-east-1", "resources": [],
            "detail": {
                "schemaVersion": "2.0", "accountId": "123456789012", "region": "us-east-1",
                "id": "c2b4f1", "type": "CryptoCurrency:Lambda/BitcoinTool.B", "severity": 8,
                "resource": {"resourceType": "Lambda", "lambdaDetails": details},
                "service": {}
            }
        });
        GuardDutyFinding::from_event(&event).unwrap()
    }

    #[test]
    fn a_lambda_finding_names_its_function_and_role() {
        let f = finding(json!({
            "functionName": "thumbnailer",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:thumbnailer:7",
            "functionVersion": "7",
            "role": "arn:aws:iam::123456789012:role/service-role/thumbnailer-role",
            "lastModifiedAt": 1764000000
        }))
        .lambda_function()
        .unwrap();
        assert_eq!(f.function_arn, "arn:aws:lambda:us-east-1:123456789012:function:thumbnailer");
        assert_eq!(f.role_arn.as_deref(), Some("arn:aws:iam::123456789012:role/service-role/thumbnailer-role"));
        assert_eq!(f.last_modified_at.as_deref(), Some("2025-11-24T16:00:00.000Z"));
    }

    #[test]
    fn foreign_or_malformed_names_are_refused() {
        for details in [
            json!({"functionName": "x", "functionArn": "arn:aws:lambda:us-east-1:222222222222:function:x"}),
            json!({"functionName": "x", "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:x"}),
            json!({"functionName": "x", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:y"}),
            json!({"functionName": "x", "functionArn": "arn:aws:lambda:us-east-1:123456789012:layer:x"}),
            json!({"functionName": "../x"}),
            json!({"functionName": "x", "role": "arn:aws:iam::222222222222:role/r"}),
            json!({"functionName": "x", "role": "not-an-arn"}),
        ] {
            assert!(finding(details.clone()).lambda_function().is_err(), "{details}");
        }
    }
}
