//! `firebreak plan EVENT.json`: which function an event goes to, as the EventBridge rules of the
//! templates route it, and what that function would do in this account now: its own handler,
//! configured from the environment as deployed, with dry run forced on. Changes nothing: dry run
//! makes no mutating call, and the ledger, SNS and Security Hub writes are switched off too (a
//! release reads its case from the ledger, and writes it only when not a dry run).

use std::path::Path;

use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

use crate::error::{CliError, Result};

/// The functions an event can go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    QuarantineInstance,
    RevokeCredentials,
    CloseOpenPorts,
    AuditPosture,
    AbuseReport,
    Release,
    ContainLambda,
    QuarantineTask,
    ContainBucket,
}

impl Route {
    pub fn function(self) -> &'static str {
        match self {
            Self::QuarantineInstance => "quarantine-instance",
            Self::RevokeCredentials => "revoke-credentials",
            Self::CloseOpenPorts => "close-open-ports",
            Self::AuditPosture => "audit-posture",
            Self::AbuseReport => "abuse-report",
            Self::Release => "release",
            Self::ContainLambda => "contain-lambda",
            Self::QuarantineTask => "quarantine-task",
            Self::ContainBucket => "contain-bucket",
        }
    }
}

fn text<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    path.iter().try_fold(value, |v, key| v.get(key)).and_then(Value::as_str).unwrap_or_default()
}

/// Every value at `path`, looking into arrays on the way (EventBridge matches a field of an array
/// of objects when any element's field matches).
fn texts<'a>(value: &'a Value, path: &[&str]) -> Vec<&'a str> {
    let Some((key, rest)) = path.split_first() else {
        return match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
    };
    match value {
        Value::Array(items) => items.iter().flat_map(|item| texts(item, path)).collect(),
        _ => value.get(key).map(|v| texts(v, rest)).unwrap_or_default(),
    }
}

const PORT_FINDINGS: [&str; 3] = [
    "Recon:EC2/PortProbeUnprotectedPort",
    "UnauthorizedAccess:EC2/SSHBruteForce",
    "UnauthorizedAccess:EC2/RDPBruteForce",
];
const QUARANTINE_ACTIONS: [&str; 3] = ["quarantine", "quarantine instance", "quarantineinstance"];
const REVOKE_ACTIONS: [&str; 2] = ["revoke credentials", "revokecredentials"];
const RELEASE_ACTIONS: [&str; 3] = ["release", "release case", "releasecase"];
/// Answers to a case pending approval: release forwards them to the function holding the case.
const ANSWER_ACTIONS: [&str; 2] = ["approve", "reject"];
const ABUSE_METRICS: [&str; 3] = ["NetworkOut", "NetworkPacketsOut", "EstimatedCharges"];
const SECURITY_GROUP_CALLS: [&str; 3] =
    ["AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules", "CreateSecurityGroup"];

/// The function whose rule (infra/sam/template.yaml, infra/cdk) matches the event, or why none
/// does.
pub fn route(event: &Value) -> Result<Route, String> {
    // The release function's direct invocation: no EventBridge rule, the same function.
    if event.get("release").is_some() {
        return Ok(Route::Release);
    }
    let detail = event.get("detail").unwrap_or(&Value::Null);
    let detail_type = text(event, &["detail-type"]);
    match (text(event, &["source"]), detail_type) {
        ("aws.guardduty", "GuardDuty Finding") => {
            let role = text(detail, &["service", "resourceRole"]);
            match text(detail, &["resource", "resourceType"]) {
                "Instance" if role == "ACTOR" || role.is_empty() => Ok(Route::QuarantineInstance),
                "Instance" if role == "TARGET" && PORT_FINDINGS.contains(&text(detail, &["type"])) => {
                    Ok(Route::CloseOpenPorts)
                }
                "Instance" => Err("a GuardDuty finding about an instance that is the TARGET goes to close-open-ports only for port probes and SSH/RDP brute force".into()),
                "AccessKey" => Ok(Route::RevokeCredentials),
                "S3Bucket" => Ok(Route::ContainBucket),
                "AttackSequence" if text(detail, &["type"]).starts_with("AttackSequence:S3/") => {
                    Ok(Route::ContainBucket)
                }
                "Lambda" => Ok(Route::ContainLambda),
                // The primary function; an EC2 sequence naming a shared instance profile also
                // reaches revoke-credentials (infra_check.py's ALSO_DELIVERED).
                "AttackSequence"
                    if ["AttackSequence:EC2/", "AttackSequence:EKS/"].iter().any(|p| text(detail, &["type"]).starts_with(p)) =>
                {
                    Ok(Route::QuarantineInstance)
                }
                "AttackSequence" if text(detail, &["type"]).starts_with("AttackSequence:IAM/") => {
                    Ok(Route::RevokeCredentials)
                }
                // Runtime Monitoring on ECS, and ECS attack sequences: the task's ENI is isolated.
                "ECSCluster" | "Container" => Ok(Route::QuarantineTask),
                "AttackSequence" if text(detail, &["type"]).starts_with("AttackSequence:ECS/") => {
                    Ok(Route::QuarantineTask)
                }
                other => Err(format!("no function handles GuardDuty findings about resource type {other:?}")),
            }
        }
        ("aws.securityhub", "Security Hub Findings - Imported") => {
            let findings = detail.get("findings").unwrap_or(&Value::Null);
            let guardduty = texts(findings, &["ProductArn"]).iter().any(|a| a.ends_with("::product/aws/guardduty"));
            let instance = texts(findings, &["Resources", "Type"]).contains(&"AwsEc2Instance");
            let active = texts(findings, &["RecordState"]).contains(&"ACTIVE");
            let new = texts(findings, &["Workflow", "Status"]).contains(&"NEW");
            if guardduty && instance && active && new {
                Ok(Route::QuarantineInstance)
            } else {
                Err("only new, active GuardDuty findings about an EC2 instance imported into Security Hub are routed (to quarantine-instance)".into())
            }
        }
        // Security Hub v2 (OCSF): the rules match GuardDuty's new, open findings by finding type
        // (credentials, attack sequences) and resource type; this names the primary function.
        ("aws.securityhub", "Findings Imported V2") => {
            let findings = detail.get("findings").unwrap_or(&Value::Null);
            let guardduty = texts(findings, &["metadata", "product", "name"]).contains(&"GuardDuty");
            let open = texts(findings, &["status"]).contains(&"New")
                && !texts(findings, &["activity_name"]).contains(&"Close");
            let types = texts(findings, &["resources", "type"]);
            let finding_types = texts(findings, &["finding_info", "types"]);
            let typed = |prefix: &str| finding_types.iter().any(|t| t.starts_with(prefix));
            let credentials = finding_types.iter().any(|t| t.contains("IAMUser"));
            match (guardduty && open, types.contains(&"AWS::EC2::Instance"), types.contains(&"AWS::IAM::AccessKey")) {
                (false, ..) => Err("only new, open GuardDuty findings imported into Security Hub v2 are routed".into()),
                _ if typed("AttackSequence:IAM/") => Ok(Route::RevokeCredentials),
                _ if typed("AttackSequence:S3/") => Ok(Route::ContainBucket),
                (_, _, true) if credentials => Ok(Route::RevokeCredentials),
                (_, true, _) => Ok(Route::QuarantineInstance),
                _ if types.contains(&"AWS::ECS::Task") => Ok(Route::QuarantineTask),
                _ if types.contains(&"AWS::Lambda::Function") => Ok(Route::ContainLambda),
                _ if types.contains(&"AWS::S3::Bucket") => Ok(Route::ContainBucket),
                _ => Err("only GuardDuty findings about an EC2 instance, an access key, an ECS task, a Lambda function or an S3 bucket, or attack sequences, imported into Security Hub v2 are routed".into()),
            }
        }
        ("aws.securityhub", "Security Hub Findings - Custom Action") => {
            let action = text(detail, &["actionName"]).to_ascii_lowercase();
            if QUARANTINE_ACTIONS.contains(&action.as_str()) {
                Ok(Route::QuarantineInstance)
            } else if REVOKE_ACTIONS.contains(&action.as_str()) {
                Ok(Route::RevokeCredentials)
            } else if RELEASE_ACTIONS.contains(&action.as_str()) || ANSWER_ACTIONS.contains(&action.as_str()) {
                Ok(Route::Release)
            } else {
                Err(format!("no function handles the Security Hub custom action {action:?}"))
            }
        }
        ("aws.health", "AWS Health Abuse Event") => Ok(Route::AbuseReport),
        ("aws.health", "AWS Health Event") => {
            let code = text(detail, &["eventTypeCode"]);
            if code.starts_with("AWS_RISK_CREDENTIALS_") {
                Ok(Route::RevokeCredentials)
            } else if code.starts_with("AWS_ABUSE_") && text(detail, &["eventTypeCategory"]) == "issue" {
                Ok(Route::AbuseReport)
            } else {
                Err(format!("no function handles the AWS Health event {code:?}"))
            }
        }
        ("aws.cloudwatch", "CloudWatch Alarm State Change") => {
            let metrics = texts(detail, &["configuration", "metrics", "metricStat", "metric", "name"]);
            if text(detail, &["state", "value"]) == "ALARM" && metrics.iter().any(|m| ABUSE_METRICS.contains(m)) {
                Ok(Route::AbuseReport)
            } else {
                Err("only an alarm going into ALARM on NetworkOut, NetworkPacketsOut or EstimatedCharges is routed (to abuse-report)".into())
            }
        }
        ("aws.ec2", "AWS API Call via CloudTrail")
            if text(detail, &["eventSource"]) == "ec2.amazonaws.com"
                && SECURITY_GROUP_CALLS.contains(&text(detail, &["eventName"])) =>
        {
            Ok(Route::CloseOpenPorts)
        }
        ("aws.events", "Scheduled Event") => {
            // Two functions run on a schedule: the rule the event names says which.
            let rules = texts(event, &["resources"]);
            if rules.iter().any(|r| r.ends_with("close-open-ports-sweep")) {
                Ok(Route::CloseOpenPorts)
            } else if rules.iter().any(|r| r.ends_with("audit-posture-daily")) {
                Ok(Route::AuditPosture)
            } else {
                Err("a scheduled event goes to the function whose schedule rule it names (firebreak-close-open-ports-sweep or firebreak-audit-posture-daily)".into())
            }
        }
        (source, detail_type) => {
            Err(format!("no Firebreak rule matches source {source:?} with detail-type {detail_type:?}"))
        }
    }
}

/// Reads, routes and dry-runs the event; prints the function's steps as they finish, then the
/// outcome.
pub async fn plan(path: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(path).map_err(|e| CliError::invalid(format!("cannot read {}: {e}", path.display())))?;
    let event: Value =
        serde_json::from_str(&text).map_err(|e| CliError::invalid(format!("{} is not JSON: {e}", path.display())))?;
    let route = route(&event).map_err(|why| CliError::invalid(format!("no function for this event: {why}")))?;
    println!("{} goes to {} (dry run: nothing is changed)", path.display(), route.function());
    let result = match route {
        Route::QuarantineInstance => {
            let mut f = quarantine_instance::Function::from_env().await?;
            f.config.quarantine.common = read_only(&f.config.quarantine.common);
            f.config.notify.sns_topic_arn = None;
            f.config.notify.security_hub = false;
            quarantine_instance::handle(&f, lambda_event(event)).await
        }
        Route::AbuseReport => {
            let mut f = abuse_report::Function::from_env().await?;
            f.config.quarantine.common = read_only(&f.config.quarantine.common);
            f.config.notify.sns_topic_arn = None;
            f.config.notify.security_hub = false;
            abuse_report::handle(&f, lambda_event(event)).await
        }
        Route::RevokeCredentials => {
            let mut f = revoke_credentials::Function::from_env().await?;
            f.config.quarantine.common = read_only(&f.config.quarantine.common);
            f.config.sns_topic_arn = None;
            revoke_credentials::handle(&f, lambda_event(event)).await
        }
        Route::CloseOpenPorts => {
            let mut f = close_open_ports::Function::from_env().await?;
            f.config.common = read_only(&f.config.common);
            close_open_ports::handle(&f, lambda_event(event)).await
        }
        Route::AuditPosture => {
            let mut f = audit_posture::Function::from_env().await?;
            f.config.common = read_only(&f.config.common);
            audit_posture::handle(&f, lambda_event(event)).await
        }
        Route::ContainLambda => {
            let mut f = contain_lambda::Function::from_env().await?;
            f.config.common = read_only(&f.config.common);
            contain_lambda::handle(&f, lambda_event(event)).await
        }
        Route::QuarantineTask => {
            let mut f = quarantine_task::Function::from_env().await?;
            f.config.quarantine.common = read_only(&f.config.quarantine.common);
            quarantine_task::handle(&f, lambda_event(event)).await
        }
        Route::ContainBucket => {
            let mut f = contain_bucket::Function::from_env().await?;
            f.config.common = read_only(&f.config.common);
            contain_bucket::handle(&f, lambda_event(event)).await
        }
        Route::Release => {
            // A release reads its case from the ledger (a dry run writes nothing to it).
            let mut f = release_function::Function::from_env().await?;
            f.config.common.dry_run = true;
            release_function::handle(&f, lambda_event(event)).await
        }
    };
    let value = result?;
    println!("{}", outcome_lines(&value));
    Ok(())
}

/// The common settings with dry run forced on and no ledger (a dry run would write a planned case).
fn read_only(common: &firebreak::engine::CommonConfig) -> firebreak::engine::CommonConfig {
    firebreak::engine::CommonConfig { dry_run: true, cases_table: None, ..common.clone() }
}

fn lambda_event(event: Value) -> LambdaEvent<Value> {
    // An empty context: no deadline, no invoked ARN (the account is asked of STS).
    LambdaEvent::new(event, Context::default())
}

/// The outcome of a report or a response, and every reason it gives.
pub fn outcome_lines(value: &Value) -> String {
    let mut lines = vec![format!("outcome: {}", text(value, &["outcome"]))];
    let reports = value.get("reports").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for report in std::iter::once(value).chain(reports) {
        let reason = text(report, &["reason"]);
        if !reason.is_empty() {
            lines.push(format!("  {}: {reason}", text(report, &["resource"])));
        }
    }
    for unresolved in value.get("unresolved").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        lines.push(format!("  {}: {}", text(unresolved, &["entity"]), text(unresolved, &["reason"])));
    }
    for error in value.get("errors").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        lines.push(format!("  error: {}", error.as_str().map(str::to_string).unwrap_or_else(|| error.to_string())));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_event_goes_to_the_function_it_is_filed_under() {
        let events = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
        let mut seen = 0;
        for folder in std::fs::read_dir(&events).unwrap().map(|e| e.unwrap().path()) {
            let function = folder.file_name().unwrap().to_string_lossy().to_string();
            for file in std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()) {
                let event: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
                assert_eq!(route(&event).map(Route::function), Ok(function.as_str()), "{}", file.display());
                seen += 1;
            }
        }
        assert!(seen >= 20, "{seen} sample events");
    }

    #[test]
    fn events_no_rule_matches_are_refused_with_the_reason() {
        let event = serde_json::json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}});
        assert!(route(&event).unwrap_err().contains("aws.s3"));
        let target = serde_json::json!({"source": "aws.guardduty", "detail-type": "GuardDuty Finding", "detail": {
            "type": "Backdoor:EC2/DenialOfService.Tcp", "resource": {"resourceType": "Instance"},
            "service": {"resourceRole": "TARGET"}}});
        assert!(route(&target).is_err());
        let direct = serde_json::json!({"release": {"case_id": "fb-0123456789abcdef", "requested_by": "alice"}});
        assert_eq!(route(&direct), Ok(Route::Release));
    }
}
