use serde_json::{json, Value};

use super::*;
use crate::events::timestamp::iso_time;

fn sample(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("sample")).expect("json")
}

fn ec2() -> Value {
    sample("quarantine-instance/securityhub-v2-imported-guardduty-ec2-dos.json")
}

fn iam() -> Value {
    sample("revoke-credentials/securityhub-v2-imported-guardduty-iam-user.json")
}

fn only(event: &Value) -> Result<OcsfFinding, EventError> {
    Ok(OcsfEvent::from_event(event)?.findings.remove(0))
}

#[test]
fn an_ec2_finding_becomes_the_native_one() {
    let finding = only(&ec2()).unwrap().to_guardduty_finding().unwrap();
    assert_eq!(finding.id, "16afba5c5c43e07c9e3e5e2e544e95df");
    assert_eq!(finding.finding_type, "Backdoor:EC2/DenialOfService.Tcp");
    assert_eq!(finding.account_id, "123456789012");
    assert_eq!(finding.region, "us-east-1");
    assert_eq!(finding.severity, 7.0, "High is GuardDuty's 7.0-8.9");
    assert_eq!(finding.resource.resource_type, "Instance");
    assert_eq!(finding.ec2_instance().unwrap().instance_id, "i-0a1b2c3d4e5f60718");
    assert_eq!(finding.resource_role(), crate::events::ResourceRole::Actor);
    // Epoch milliseconds, as OCSF's timestamp_t.
    assert_eq!(finding.created_at.as_deref(), Some("2026-11-24T01:08:45.105Z"));
    assert_eq!(finding.updated_at.as_deref(), Some("2026-11-24T02:12:09.620Z"));
    assert_eq!(finding.delivered_by, None);
}

#[test]
fn an_access_key_finding_becomes_the_native_one() {
    let ocsf = only(&iam()).unwrap();
    let finding = ocsf.to_guardduty_finding().unwrap();
    assert_eq!(finding.id, "a4c6e0b1f2d3c4b5a69788f7e6d5c4b3");
    assert_eq!(finding.finding_type, "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom");
    assert_eq!(finding.severity, 4.0);
    let key = finding.resource.access_key_details.unwrap();
    assert_eq!(key.access_key_id.as_deref(), Some("AKIAQ3EGSYGZJ5EXAMPL"));
    assert_eq!(key.user_name.as_deref(), Some("deploy-bot"));
    assert_eq!(key.user_type.as_deref(), Some("IAMUser"));
    // ISO strings pass through; `time` in epoch seconds is only used without modified_time.
    assert_eq!(finding.updated_at.as_deref(), Some("2026-11-24T02:13:21.944Z"));
}

#[test]
fn timestamps_in_every_published_form() {
    assert_eq!(iso_time(&json!(1795486401)).unwrap(), "2026-11-24T02:13:21.000Z");
    assert_eq!(iso_time(&json!(1795486401000_i64)).unwrap(), "2026-11-24T02:13:21.000Z");
    assert_eq!(iso_time(&json!(0)).unwrap(), "1970-01-01T00:00:00.000Z");
    assert_eq!(iso_time(&json!(951782400)).unwrap(), "2000-02-29T00:00:00.000Z");
    assert_eq!(iso_time(&json!("2026-11-24T02:13:21Z")).unwrap(), "2026-11-24T02:13:21Z");
    for bad in [json!(-1), json!(1.5), json!("yesterday"), json!("2026-11-24 02:13:21"), json!(true), json!(i64::MAX)] {
        assert!(iso_time(&bad).is_err(), "{bad}");
    }
    let mut event = iam();
    event["detail"]["findings"][0]["finding_info"].as_object_mut().unwrap().remove("modified_time");
    let finding = only(&event).unwrap().to_guardduty_finding().unwrap();
    assert_eq!(finding.updated_at.as_deref(), Some("2026-11-24T02:13:21.000Z"), "epoch seconds in `time`");
}

#[test]
fn asff_style_types_and_bare_ids_are_accepted() {
    let mut event = ec2();
    let info = &mut event["detail"]["findings"][0]["finding_info"];
    info["types"] = json!(["TTPs/Command and Control/Backdoor:EC2-DenialOfService.Tcp"]);
    info["uid"] = json!("16afba5c5c43e07c9e3e5e2e544e95df");
    event["detail"]["findings"][0]["resources"][0]["uid"] = json!("i-0a1b2c3d4e5f60718");
    let finding = only(&event).unwrap().to_guardduty_finding().unwrap();
    assert_eq!(finding.finding_type, "Backdoor:EC2/DenialOfService.Tcp");
    assert_eq!(finding.id, "16afba5c5c43e07c9e3e5e2e544e95df");
    assert_eq!(finding.ec2_instance().unwrap().instance_id, "i-0a1b2c3d4e5f60718");
}

#[test]
fn hostile_events_are_refused_before_any_call() {
    let mut many = ec2();
    let one = many["detail"]["findings"][0].clone();
    many["detail"]["findings"] = Value::Array(vec![one; 500]);
    let error = OcsfEvent::from_event(&many).unwrap_err().to_string();
    assert!(error.contains("500 findings"), "{error}");

    let mut resources = ec2();
    let resource = resources["detail"]["findings"][0]["resources"][0].clone();
    resources["detail"]["findings"][0]["resources"] = Value::Array(vec![resource; 500]);
    assert!(OcsfEvent::from_event(&resources).unwrap_err().to_string().contains("500 resources"));

    let mut foreign = ec2();
    foreign["detail"]["findings"][0]["resources"][0]["uid"] =
        json!("arn:aws:ec2:us-east-1:999999999999:instance/i-0a1b2c3d4e5f60718");
    let error = OcsfEvent::from_event(&foreign).unwrap_err().to_string();
    assert!(error.contains("another account"), "{error}");

    for uid in ["i-../../etc", "sg-0a1b2c3d4e5f60718", "arn:aws:ec2:us-east-1:123456789012:instance/i-XYZ", ""] {
        let mut wrong = ec2();
        wrong["detail"]["findings"][0]["resources"][0]["uid"] = json!(uid);
        let finding = only(&wrong).unwrap();
        assert!(finding.to_guardduty_finding().is_err(), "{uid}");
    }

    let mut bad_id = ec2();
    bad_id["detail"]["findings"][0]["finding_info"]["uid"] = json!("arn:aws:guardduty:x/finding/../../etc");
    assert!(only(&bad_id).unwrap().to_guardduty_finding().is_err());

    let mut region = ec2();
    region["detail"]["findings"][0]["cloud"]["region"] = json!("evil.example.com/x");
    assert!(OcsfEvent::from_event(&region).is_err());

    let mut account = ec2();
    account["detail"]["findings"][0]["cloud"]["account"]["uid"] = json!("12345");
    assert!(OcsfEvent::from_event(&account).is_err());

    let mut empty = ec2();
    empty["detail"]["findings"] = json!([]);
    assert!(OcsfEvent::from_event(&empty).is_err());

    let mut asff = ec2();
    asff["detail-type"] = json!("Security Hub Findings - Imported");
    assert!(matches!(OcsfEvent::from_event(&asff), Err(EventError::WrongSource { .. })));
}

#[test]
fn other_products_and_worked_findings_are_recognised() {
    let mut inspector = ec2();
    inspector["detail"]["findings"][0]["metadata"]["product"]["name"] = json!("Inspector");
    let finding = only(&inspector).unwrap();
    assert!(!finding.is_guardduty());
    assert!(finding.to_guardduty_finding().unwrap_err().to_string().contains("came from GuardDuty"));

    let mut resolved = ec2();
    resolved["detail"]["findings"][0]["status"] = json!("Resolved");
    assert!(!only(&resolved).unwrap().is_new_and_active());
    let mut closed = ec2();
    closed["detail"]["findings"][0]["activity_name"] = json!("Close");
    assert!(!only(&closed).unwrap().is_new_and_active());
    assert!(only(&ec2()).unwrap().is_new_and_active());
}

#[test]
fn a_member_finding_keeps_who_delivered_it() {
    let mut event = ec2();
    event["account"] = json!("111111111111");
    let finding = only(&event).unwrap().to_guardduty_finding().unwrap();
    assert_eq!(finding.account_id, "123456789012");
    assert_eq!(finding.delivered_by.as_deref(), Some("111111111111"));
}

#[test]
fn lambda_and_s3_imports_become_the_native_shapes() {
    let lambda = sample("contain-lambda/securityhub-v2-imported-guardduty-lambda.json");
    let finding = native_or_imported(&lambda, &["Lambda"]).unwrap();
    assert_eq!(finding.finding_type, "CryptoCurrency:Lambda/BitcoinTool.B");
    let function = finding.lambda_function().unwrap();
    assert_eq!(function.function_name, "thumbnailer");
    assert_eq!(function.function_arn, "arn:aws:lambda:us-east-1:123456789012:function:thumbnailer");
    assert_eq!(function.role_arn, None, "read from the function's configuration");
    let s3 = sample("contain-bucket/securityhub-v2-imported-guardduty-s3.json");
    let finding = native_or_imported(&s3, &["S3Bucket"]).unwrap();
    assert_eq!(finding.resource.s3_bucket_details[0].arn.as_deref(), Some("arn:aws:s3:::acme-customer-exports"));
    // Routed elsewhere, or not to be acted on: refused with the reason.
    let refused = native_or_imported(&s3, &["Lambda"]).unwrap_err().to_string();
    assert!(refused.contains("contain-bucket"), "{refused}");
    let mut closing = lambda.clone();
    closing["detail"]["findings"][0]["activity_name"] = json!("Close");
    assert!(native_or_imported(&closing, &["Lambda"]).is_err());
    // An S3 finding naming the caller's key too is about the bucket.
    let mut with_key = s3.clone();
    let key = json!({"type": "AWS::IAM::AccessKey", "uid": "ASIAQ3EGSYGZP6EXAMPL"});
    with_key["detail"]["findings"][0]["resources"].as_array_mut().unwrap().push(key);
    assert_eq!(native_or_imported(&with_key, &["S3Bucket"]).unwrap().resource.resource_type, "S3Bucket");
}
