//! Pure logic, no emulator: Security Hub, CloudWatch alarm and AWS Health samples parse, and a
//! GuardDuty finding seen through Security Hub becomes the same request as the native event.

use std::path::PathBuf;

use firebreak::events::{
    AlarmKind, AlarmStateChange, CustomAction, GuardDutyFinding, HealthEvent, SecurityHubEvent, Trigger,
};
use firebreak::quarantine::{self as plan, QuarantineRequest};
use firebreak::respond::{AbuseTrigger, InstanceTrigger};
use firebreak::QuarantineConfig;
use serde_json::{json, Value};

fn event(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn native() -> GuardDutyFinding {
    GuardDutyFinding::from_event(&event("quarantine-instance/guardduty-ec2-dos-actor.json")).unwrap()
}

#[test]
fn imported_guardduty_finding_is_the_native_finding() {
    let hub = SecurityHubEvent::from_event(&event("quarantine-instance/securityhub-imported-guardduty-ec2-dos.json"))
        .unwrap();
    assert_eq!(hub.trigger, Trigger::Imported);
    let asff = &hub.findings[0];
    assert!(asff.is_guardduty() && asff.is_new_and_active());
    let finding = asff.to_guardduty_finding().unwrap();
    let native = native();
    assert_eq!(finding.id, native.id);
    assert_eq!(finding.finding_type, native.finding_type);
    assert_eq!(finding.severity, native.severity);
    assert_eq!(finding.resource_role(), native.resource_role());
    assert_eq!(QuarantineRequest::from_finding(&finding).unwrap(), QuarantineRequest::from_finding(&native).unwrap());
    let config = QuarantineConfig::default();
    assert_eq!(plan::triage(&finding, &config).unwrap(), plan::triage(&native, &config).unwrap());
}

#[test]
fn custom_action_is_recognised_by_name_or_arn() {
    let hub =
        SecurityHubEvent::from_event(&event("quarantine-instance/securityhub-custom-action-quarantine.json")).unwrap();
    assert!(matches!(hub.trigger, Trigger::CustomAction { action: CustomAction::Quarantine, .. }));
    assert_eq!(CustomAction::recognise("Revoke credentials", ""), Some(CustomAction::RevokeCredentials));
    assert_eq!(
        CustomAction::recognise("", "arn:aws:securityhub:us-east-1:123456789012:action/custom/RevokeCredentials"),
        Some(CustomAction::RevokeCredentials)
    );
    let mut unknown = event("quarantine-instance/securityhub-custom-action-quarantine.json");
    unknown["detail"]["actionName"] = json!("Delete everything");
    unknown["resources"] = json!(["arn:aws:securityhub:us-east-1:123456789012:action/custom/DeleteAll"]);
    assert!(SecurityHubEvent::from_event(&unknown).unwrap_err().to_string().contains("Quarantine"));
}

#[test]
fn worked_and_foreign_findings_are_recognised() {
    let mut value = event("quarantine-instance/securityhub-imported-guardduty-ec2-dos.json");
    value["detail"]["findings"][0]["Workflow"]["Status"] = json!("NOTIFIED");
    let hub = SecurityHubEvent::from_event(&value).unwrap();
    assert!(!hub.findings[0].is_new_and_active(), "our own write-back must not trigger a second run");
    value["detail"]["findings"][0]["ProductArn"] = json!("arn:aws:securityhub:us-east-1::product/aws/inspector");
    value["detail"]["findings"][0]["ProductName"] = json!("Inspector");
    value["detail"]["findings"][0]["ProductFields"] = json!({});
    let hub = SecurityHubEvent::from_event(&value).unwrap();
    assert!(!hub.findings[0].is_guardduty());
    assert!(hub.findings[0].to_guardduty_finding().is_err());
}

#[test]
fn iam_access_key_finding_becomes_a_guardduty_access_key_finding() {
    let mut value = event("quarantine-instance/securityhub-imported-guardduty-ec2-dos.json");
    let finding = &mut value["detail"]["findings"][0];
    finding["Id"] = json!("arn:aws:guardduty:us-east-1:123456789012:detector/d2c4f1a9b8e7c6d5e4f3a2b1c0d9e8f7/finding/2ac4b1e9f0d3c5a7b9e1f3d5c7a9b1e3");
    finding["Types"] =
        json!(["TTPs/Initial Access/UnauthorizedAccess:IAMUser-InstanceCredentialExfiltration.OutsideAWS"]);
    finding["Resources"] = json!([{
        "Type": "AwsIamAccessKey",
        "Id": "AWS::IAM::AccessKey:ASIAQ3EGSYGZJ5EXAMPLE",
        "Partition": "aws",
        "Region": "us-east-1",
        "Details": {"AwsIamAccessKey": {"PrincipalId": "AROAQ3EGSYGZEXAMPLE:i-0a1b2c3d4e5f60718", "PrincipalName": "web-app", "PrincipalType": "AssumedRole"}}
    }]);
    let hub = SecurityHubEvent::from_event(&value).unwrap();
    let key = hub.findings[0].to_access_key_finding().unwrap();
    assert_eq!(key.finding_type, "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS");
    assert_eq!(key.resource.resource_type, "AccessKey");
    let details = key.resource.access_key_details.unwrap();
    assert_eq!(details.access_key_id.as_deref(), Some("ASIAQ3EGSYGZJ5EXAMPLE"));
    assert_eq!(details.user_name.as_deref(), Some("web-app"));
    assert_eq!(details.user_type.as_deref(), Some("AssumedRole"));
    // The EC2 sample is not an access-key finding.
    let ec2 = SecurityHubEvent::from_event(&event("quarantine-instance/securityhub-imported-guardduty-ec2-dos.json"))
        .unwrap();
    assert!(ec2.findings[0].to_access_key_finding().is_err());
}

#[test]
fn alarms_are_read_and_classified() {
    let traffic = AlarmStateChange::from_event(&event("abuse-report/cloudwatch-networkout-alarm.json")).unwrap();
    assert!(traffic.is_alarm());
    assert_eq!(
        traffic.kind().unwrap(),
        AlarmKind::OutboundTraffic { instance_id: "i-0a1b2c3d4e5f60718".into(), metric: "NetworkOut".into() }
    );
    assert_eq!(
        traffic.signal_id(),
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-1-network-out@2026-11-24T02:05:12.345+0000"
    );
    let billing = AlarmStateChange::from_event(&event("abuse-report/cloudwatch-billing-alarm.json")).unwrap();
    assert_eq!(billing.kind().unwrap(), AlarmKind::Billing);

    let mut injected = event("abuse-report/cloudwatch-networkout-alarm.json");
    injected["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["InstanceId"] =
        json!("i-../x");
    assert!(AlarmStateChange::from_event(&injected).unwrap().kind().is_err(), "a bad instance id never reaches AWS");
    let mut cpu = event("abuse-report/cloudwatch-networkout-alarm.json");
    cpu["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["name"] = json!("CPUUtilization");
    assert!(AlarmStateChange::from_event(&cpu).unwrap().kind().is_err());
}

#[test]
fn health_abuse_samples_parse() {
    for name in ["abuse-report/health-abuse-dos-instance.json", "abuse-report/health-abuse-dos-ip.json"] {
        let health = HealthEvent::from_event(&event(name)).unwrap();
        assert!(health.is_abuse_report(), "{name}");
        assert_eq!(health.event_type_category.as_deref(), Some("issue"));
        assert!(!health.affected_entities.is_empty());
    }
}

#[test]
fn triggers_are_parsed_and_checked_before_any_aws_call() {
    let native = InstanceTrigger::from_event(&event("quarantine-instance/guardduty-ec2-dos-actor.json")).unwrap();
    assert!(matches!(native, InstanceTrigger::Finding(_)));
    let imported =
        InstanceTrigger::from_event(&event("quarantine-instance/securityhub-imported-guardduty-ec2-dos.json")).unwrap();
    assert_eq!(imported.signal().kind, native.signal().kind, "one imported finding is named like the native one");
    let mut revoke = event("quarantine-instance/securityhub-custom-action-quarantine.json");
    revoke["detail"]["actionName"] = json!("Revoke credentials");
    revoke["resources"] = json!(["arn:aws:securityhub:us-east-1:123456789012:action/custom/RevokeCredentials"]);
    let refused = InstanceTrigger::from_event(&revoke).unwrap_err().to_string();
    assert!(refused.contains("revoke-credentials handles this action"), "{refused}");

    let alarm = AbuseTrigger::from_event(&event("abuse-report/cloudwatch-networkout-alarm.json")).unwrap();
    assert_eq!(alarm.signal().kind, "web-1-network-out");
    let mut cpu = event("abuse-report/cloudwatch-networkout-alarm.json");
    cpu["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["name"] = json!("CPUUtilization");
    assert!(AbuseTrigger::from_event(&cpu).is_err(), "an alarm on anything else is refused");
    let health = AbuseTrigger::from_event(&event("abuse-report/health-abuse-dos-ip.json")).unwrap();
    assert_eq!(health.signal().source, "aws.health");
    let mut scheduled = event("abuse-report/health-abuse-dos-ip.json");
    scheduled["detail"]["eventTypeCategory"] = json!("scheduledChange");
    assert!(AbuseTrigger::from_event(&scheduled).unwrap_err().to_string().contains("category issue"));
}
