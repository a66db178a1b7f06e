//! Security Hub (v2) OCSF imports of GuardDuty findings, on a real moto server: they do exactly
//! what the native GuardDuty event does (same case, same plan), like the ASFF imports.

use aws_sdk_iam::types::StatusType;
use firebreak::accounts::{Accounts, AccountsConfig};
use firebreak::engine::{FunctionError, Outcome};
use firebreak::notify::NotifyConfig;
use firebreak::respond::Settings;
use firebreak::revoke::{self, RevokeConfig, RevokeTrigger};
use firebreak_tests::moto::ACCOUNT_ID;
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::{sample_event, Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use quarantine_instance::Function as QuarantineFunction;
use serde_json::{json, Value};

const EC2_V2: &str = "quarantine-instance/securityhub-v2-imported-guardduty-ec2-dos.json";
const IAM_V2: &str = "revoke-credentials/securityhub-v2-imported-guardduty-iam-user.json";

async fn quarantine(function: &QuarantineFunction, event: Value) -> Result<Value, FunctionError> {
    quarantine_instance::handle(function, LambdaEvent::new(event, Context::default())).await
}

/// The v2 sample, naming the emulator's account and `instance`.
fn v2_event(instance: &CompromisedInstance) -> Value {
    let mut event = sample_event(EC2_V2);
    let finding = &mut event["detail"]["findings"][0];
    finding["cloud"]["account"]["uid"] = json!(ACCOUNT_ID);
    finding["finding_info"]["uid"] = json!(format!(
        "arn:aws:guardduty:us-east-1:{ACCOUNT_ID}:detector/d2c4f1a9b8e7c6d5e4f3a2b1c0d9e8f7/finding/16afba5c5c43e07c9e3e5e2e544e95df"
    ));
    finding["resources"][0]["uid"] =
        json!(format!("arn:aws:ec2:us-east-1:{ACCOUNT_ID}:instance/{}", instance.instance_id));
    event["account"] = json!(ACCOUNT_ID);
    event
}

fn step_outcomes(response: &Value) -> Vec<(String, String)> {
    response["reports"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap().to_string(), s["outcome"].as_str().unwrap().to_string()))
        .collect()
}

async fn is_isolated(scenario: &Scenario, instance: &CompromisedInstance) -> bool {
    let view = scenario.view(&instance.instance_id, None).await;
    let isolation = scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await;
    let Some((isolation_id, ..)) = isolation.first() else { return false };
    view.interface_groups.values().all(|groups| groups == &vec![isolation_id.clone()])
        && view.tags.contains_key("firebreak:case")
}

#[tokio::test]
async fn a_v2_import_of_a_guardduty_ec2_finding_contains_the_instance_like_the_native_finding() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let settings =
        Settings { notify: NotifyConfig { sns_topic_arn: None, security_hub: false }, ..Settings::default() };
    let accounts = Accounts::new(&moto.sdk_config().await, AccountsConfig::default());
    let function = QuarantineFunction { accounts, config: settings };

    let native_instance = scenario.compromised_instance(&Setup::bare()).await;
    let native = quarantine(
        &function,
        scenario.guardduty_event("quarantine-instance/guardduty-ec2-dos-actor.json", &native_instance),
    )
    .await
    .expect("native");
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    let imported = quarantine(&function, v2_event(&instance)).await.expect("v2 import");
    assert_eq!(imported["outcome"], "contained", "{imported:#}");
    assert_eq!(imported["case_id"], native["case_id"], "the same finding is the same case");
    assert_eq!(step_outcomes(&imported), step_outcomes(&native), "the same plan");
    assert!(is_isolated(&scenario, &native_instance).await);
    assert!(is_isolated(&scenario, &instance).await, "the v2 import isolated its instance");
    let (view, native_view) =
        (scenario.view(&instance.instance_id, None).await, scenario.view(&native_instance.instance_id, None).await);
    for tag in ["firebreak:case", "firebreak:finding-id", "firebreak:finding-type"] {
        assert_eq!(view.tags[tag], native_view.tags[tag], "{tag}");
    }

    // A finding someone already worked, another product's, and an access-key one: left alone.
    for (field, value) in [
        ("status", json!("Resolved")),
        ("metadata", json!({"product": {"name": "Inspector"}})),
        ("resources", json!([{"type": "AWS::IAM::AccessKey", "uid": "AKIAQ3EGSYGZJ5EXAMPL"}])),
    ] {
        let untouched = scenario.compromised_instance(&Setup::bare()).await;
        let mut event = v2_event(&untouched);
        event["detail"]["findings"][0][field] = value;
        if field == "resources" {
            event["detail"]["findings"][0]["finding_info"]["types"] =
                json!(["UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom"]);
        }
        let response = quarantine(&function, event).await.expect(field);
        assert_eq!(response["outcome"], "skipped", "{field}: {response:#}");
        assert!(!is_isolated(&scenario, &untouched).await, "{field}");
    }
}

#[tokio::test]
async fn a_v2_import_of_a_guardduty_access_key_finding_disables_the_key() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let iam = &scenario.iam;
    iam.create_user().user_name("deploy-bot").send().await.expect("CreateUser");
    let mut keys = Vec::new();
    for _ in 0..2 {
        let key = iam.create_access_key().user_name("deploy-bot").send().await.expect("CreateAccessKey");
        keys.push(key.access_key().unwrap().access_key_id().to_string());
    }
    let mut event = sample_event(IAM_V2);
    let finding = &mut event["detail"]["findings"][0];
    finding["resources"][0]["uid"] = json!(keys[0]);
    finding["actor"]["user"]["credential_uid"] = json!(keys[0]);

    let trigger = RevokeTrigger::from_event(&event).expect("routed to revoke-credentials");
    let accounts = firebreak_tests::home_only(scenario.clients.clone());
    let report =
        revoke::revoke_credentials(&accounts, &RevokeConfig::default(), &trigger, firebreak::deadline::Deadline::NONE)
            .await
            .expect("revocation runs");
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    let listed = iam.list_access_keys().user_name("deploy-bot").send().await.expect("ListAccessKeys");
    let status = |id: &str| {
        listed.access_key_metadata().iter().find(|k| k.access_key_id() == Some(id)).and_then(|k| k.status().cloned())
    };
    assert_eq!(status(&keys[0]), Some(StatusType::Inactive), "the named key is disabled");
    assert_eq!(status(&keys[1]), Some(StatusType::Active), "the other key is left alone");

    // The EC2 import is quarantine-instance's, not revoke-credentials'.
    let refused = RevokeTrigger::from_event(&sample_event(EC2_V2)).unwrap_err().to_string();
    assert!(refused.contains("quarantine-instance"), "{refused}");
}
