//! Pure parsing, no emulator: every close-open-ports and audit-posture sample event becomes the
//! trigger it stands for, and malformed or spoofed ones are refused.

use std::path::PathBuf;

use firebreak::engine::{CommonConfig, Skip};
use firebreak::events::{EventError, ScheduledEvent, SecurityGroupApiCall};
use firebreak::ports::{PortsConfig, PortsSkip, PortsTrigger};
use serde_json::{json, Value};

fn event(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn every_close_open_ports_sample_is_a_trigger() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/close-open-ports");
    let mut parsed = 0;
    for file in std::fs::read_dir(dir).unwrap() {
        let path = file.unwrap().path();
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        PortsTrigger::from_event(&value).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        parsed += 1;
    }
    assert!(parsed >= 7, "parsed {parsed}");
}

#[test]
fn guardduty_samples_are_target_findings_of_the_three_types() {
    for (name, finding_type) in [
        ("guardduty-ec2-ssh-bruteforce-target.json", "UnauthorizedAccess:EC2/SSHBruteForce"),
        ("guardduty-ec2-rdp-bruteforce-target.json", "UnauthorizedAccess:EC2/RDPBruteForce"),
        ("guardduty-ec2-port-probe-target.json", "Recon:EC2/PortProbeUnprotectedPort"),
    ] {
        let PortsTrigger::Finding(finding) =
            PortsTrigger::from_event(&event(&format!("close-open-ports/{name}"))).unwrap()
        else {
            panic!("{name} is not a finding trigger");
        };
        assert_eq!(finding.finding_type, finding_type);
        assert_eq!(finding.resource_role(), firebreak::events::ResourceRole::Target);
        assert_eq!(finding.ec2_instance().unwrap().instance_id, "i-0a1b2c3d4e5f60718");
        assert!(!finding.is_sample());
    }
}

#[test]
fn cloudtrail_samples_name_their_group_wherever_the_call_logs_it() {
    let authorize = SecurityGroupApiCall::from_event(&event(
        "close-open-ports/cloudtrail-authorize-security-group-ingress-ssh-world.json",
    ))
    .unwrap();
    assert_eq!(
        (authorize.event_name.as_str(), authorize.group_id.as_str()),
        ("AuthorizeSecurityGroupIngress", "sg-0d4c3b2a19f8e7d6c")
    );
    assert_eq!(authorize.caller.as_deref(), Some("arn:aws:iam::123456789012:user/dev-alice"));
    assert_eq!(authorize.event_id, "2b7d4e1f-6a3c-4d8e-b5f2-9c0a1b2c3d4e");
    assert_eq!((authorize.account_id.as_str(), authorize.region.as_str()), ("123456789012", "us-east-1"));

    let modify = SecurityGroupApiCall::from_event(&event(
        "close-open-ports/cloudtrail-modify-security-group-rules-rdp-world.json",
    ))
    .unwrap();
    assert_eq!(
        (modify.event_name.as_str(), modify.group_id.as_str()),
        ("ModifySecurityGroupRules", "sg-0e5d4c3b2a1f0e9d8")
    );

    let create =
        SecurityGroupApiCall::from_event(&event("close-open-ports/cloudtrail-create-security-group.json")).unwrap();
    assert_eq!((create.event_name.as_str(), create.group_id.as_str()), ("CreateSecurityGroup", "sg-0f6e5d4c3b2a10987"));
    assert_eq!(create.error_code, None);
}

#[test]
fn an_ingress_call_that_named_the_group_by_name_is_read_from_the_rules_created() {
    let mut by_name = event("close-open-ports/cloudtrail-authorize-security-group-ingress-ssh-world.json");
    by_name["detail"]["requestParameters"] = json!({"groupName": "web-ssh-open", "ipPermissions": {}});
    assert_eq!(SecurityGroupApiCall::from_event(&by_name).unwrap().group_id, "sg-0d4c3b2a19f8e7d6c");
}

#[test]
fn refused_calls_and_spoofed_or_foreign_records_are_handled() {
    let mut refused = event("close-open-ports/cloudtrail-authorize-security-group-ingress-ssh-world.json");
    refused["detail"]["errorCode"] = json!("Client.UnauthorizedOperation");
    refused["detail"]["responseElements"] = Value::Null;
    refused["detail"]["requestParameters"] = json!({"groupName": "web"});
    let call = SecurityGroupApiCall::from_event(&refused).unwrap();
    assert_eq!(call.error_code.as_deref(), Some("Client.UnauthorizedOperation"));

    let mut injected = event("close-open-ports/cloudtrail-authorize-security-group-ingress-ssh-world.json");
    injected["detail"]["requestParameters"]["groupId"] = json!("sg-*");
    assert!(matches!(SecurityGroupApiCall::from_event(&injected), Err(EventError::InvalidField { .. })));

    let mut other_call = event("close-open-ports/cloudtrail-create-security-group.json");
    other_call["detail"]["eventName"] = json!("DeleteSecurityGroup");
    assert!(SecurityGroupApiCall::from_event(&other_call).is_err());

    let mut other_account = event("close-open-ports/cloudtrail-create-security-group.json");
    other_account["detail"]["recipientAccountId"] = json!("210987654321");
    let call = SecurityGroupApiCall::from_event(&other_account).unwrap();
    // The record's account is where the group is; who delivered it is checked before acting.
    assert_eq!(call.account_id, "210987654321");
    assert_eq!(call.delivered_by.as_deref(), other_account["account"].as_str());

    let mut wrong_source = event("close-open-ports/cloudtrail-create-security-group.json");
    wrong_source["source"] = json!("custom.attacker");
    assert!(matches!(PortsTrigger::from_event(&wrong_source), Err(EventError::WrongSource { .. })));
}

#[test]
fn each_trigger_names_its_signal_and_resource_and_triages_without_a_call() {
    let common = PortsConfig::default().common;
    let call =
        PortsTrigger::from_event(&event("close-open-ports/cloudtrail-authorize-security-group-ingress-ssh-world.json"))
            .unwrap();
    let signal = call.signal();
    assert_eq!((signal.source.as_str(), signal.kind.as_str()), ("aws.ec2", "AuthorizeSecurityGroupIngress"));
    assert_eq!(signal.id, "2b7d4e1f-6a3c-4d8e-b5f2-9c0a1b2c3d4e");
    assert_eq!(call.resource(), "sg-0d4c3b2a19f8e7d6c");
    assert_eq!(call.triage(&common), None);

    let mut refused = event("close-open-ports/cloudtrail-authorize-security-group-ingress-ssh-world.json");
    refused["detail"]["errorCode"] = json!("Client.UnauthorizedOperation");
    let refused = PortsTrigger::from_event(&refused).unwrap();
    let skip = refused.triage(&common).expect("a refused call opened nothing").to_string();
    assert!(skip.contains("failed (Client.UnauthorizedOperation): nothing was opened"), "{skip}");

    let sweep = PortsTrigger::from_event(&event("close-open-ports/schedule-sweep.json")).unwrap();
    assert_eq!((sweep.signal().source.as_str(), sweep.signal().kind.as_str()), ("aws.events", "Scheduled Event"));
    assert_eq!(sweep.triage(&common), None);

    let finding =
        PortsTrigger::from_event(&event("close-open-ports/guardduty-ec2-ssh-bruteforce-target.json")).unwrap();
    assert_eq!(finding.signal().kind, "UnauthorizedAccess:EC2/SSHBruteForce");
    assert_eq!(finding.resource(), "i-0a1b2c3d4e5f60718");
    assert_eq!(finding.triage(&common), None, "any severity by default: the port is open whatever it is");
    let strict = CommonConfig { min_severity: 5.0, ..common };
    assert!(matches!(finding.triage(&strict), Some(PortsSkip::Triage(Skip::BelowSeverity { .. }))));
}

#[test]
fn schedule_samples_parse_for_both_functions() {
    let sweep = ScheduledEvent::from_event(&event("close-open-ports/schedule-sweep.json")).unwrap();
    assert_eq!(sweep.account_id, "123456789012");
    assert_eq!(
        sweep.rule_arn.as_deref(),
        Some("arn:aws:events:us-east-1:123456789012:rule/firebreak-close-open-ports-sweep")
    );
    let audit = ScheduledEvent::from_event(&event("audit-posture/schedule-daily.json")).unwrap();
    assert_eq!((audit.region.as_str(), audit.id.as_str()), ("us-east-1", "9a1e7c44-2b0d-4f3a-9d6e-5c8b7a6f4e3d"));
    let mut no_account = event("audit-posture/schedule-daily.json");
    no_account.as_object_mut().unwrap().remove("account");
    assert!(ScheduledEvent::from_event(&no_account).is_err());
}
