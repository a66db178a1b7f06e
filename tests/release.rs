//! The release function against moto: a contained instance goes back to exactly its pre-case
//! state (ENI groups, instance profile, target groups, Auto Scaling group, termination settings)
//! and keeps its snapshots; ports and credentials cases are undone; a second release, an unknown
//! or malformed case and a case outside the allow-list are refused with no change.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{IpPermission, IpRange};
use aws_sdk_iam::types::StatusType;
use firebreak::accounts::{Accounts, AccountsConfig};
use firebreak::engine::{CommonConfig, FunctionError};
use firebreak::notify::NotifyConfig;
use firebreak::ports::PortsConfig;
use firebreak::release::ReleaseConfig;
use firebreak::respond::Settings;
use firebreak::revoke::RevokeConfig;
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::scenario::{CompromisedInstance, InstanceView, Setup};
use firebreak_tests::{on_large_stack, sample_event, Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";

fn common() -> CommonConfig {
    CommonConfig { cases_table: Some(TABLE.into()), ..CommonConfig::default() }
}

fn invocation(event: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(event, Context::default())
}

async fn release_function(moto: &Moto) -> release::Function {
    let config = ReleaseConfig { common: common(), isolation_group_name: "firebreak-isolation".into() };
    release::Function { accounts: firebreak_tests::accounts(moto).await, config }
}

async fn release(function: &release::Function, case_id: &str, credentials: bool) -> Result<Value, FunctionError> {
    let event = json!({"release": {
        "case_id": case_id, "reason": "false positive", "requested_by": "alice@example.com", "credentials": credentials
    }});
    release::handle(function, invocation(event)).await
}

async fn quarantined(moto: &Moto, scenario: &Scenario, instance: &CompromisedInstance) -> String {
    let mut settings =
        Settings { notify: NotifyConfig { sns_topic_arn: None, security_hub: false }, ..Settings::default() };
    settings.quarantine.common = common();
    let function = quarantine_instance::Function { accounts: firebreak_tests::accounts(moto).await, config: settings };
    let response = quarantine_instance::handle(&function, invocation(scenario.guardduty_event(DOS_EVENT, instance)))
        .await
        .expect("quarantined");
    assert_eq!(response["outcome"], "contained", "{response:#}");
    response["case_id"].as_str().unwrap().to_string()
}

/// What a release must restore, side by side (tags and snapshots are expected to differ).
fn restorable(view: &InstanceView) -> impl PartialEq + std::fmt::Debug {
    (
        view.state.clone(),
        view.interface_groups.clone(),
        view.termination_protected,
        view.shutdown_behavior.clone(),
        view.autoscaling_group.clone(),
        view.in_target_group,
        view.instance_profile.clone(),
    )
}

#[test]
fn quarantine_then_release_restores_the_exact_pre_case_state() {
    on_large_stack(|| async {
        let moto = Moto::start();
        let scenario = Scenario::new(&moto).await;
        let instance = scenario.compromised_instance(&Setup::default()).await;
        let dynamodb = ledger::create_table(&moto).await;
        let tg = instance.target_group_arn.as_deref();
        let before = scenario.view(&instance.instance_id, tg).await;
        let case_id = quarantined(&moto, &scenario, &instance).await;
        let contained = scenario.view(&instance.instance_id, tg).await;
        assert_ne!(restorable(&contained), restorable(&before));
        assert!(!contained.snapshots.is_empty());

        let function = release_function(&moto).await;
        let report = release(&function, &case_id, false).await.expect("released");
        assert_eq!(report["outcome"], "completed", "{report:#}");
        let after = scenario.view(&instance.instance_id, tg).await;
        assert_eq!(restorable(&after), restorable(&before), "{report:#}");
        assert_eq!(after.snapshots, contained.snapshots, "the evidence stays");
        assert_eq!(after.tags.get("firebreak:released-by").map(String::as_str), Some("alice@example.com"));

        let case = &ledger::cases(&dynamodb).await[0];
        assert_eq!(case.state, "released");
        assert_eq!(case.released_by.as_deref(), Some("alice@example.com"));
        assert_eq!(case.release_reason.as_deref(), Some("false positive"));

        // A second release changes nothing and says why.
        let error = release(&function, &case_id, false).await.expect_err("refused");
        assert_eq!(error.kind, "AlreadyReleased", "{error}");
        assert!(error.message.contains("alice@example.com"), "{error}");
        assert_eq!(scenario.view(&instance.instance_id, tg).await, after);
    });
}

#[tokio::test]
async fn an_eni_a_person_moved_since_the_case_is_left_alone_and_said_so() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup { second_interface: true, ..Setup::bare() }).await;
    ledger::create_table(&moto).await;
    let case_id = quarantined(&moto, &scenario, &instance).await;
    let (moved, _) = &instance.interfaces[1];
    // A group of its own, not one of the ENI's originals: where an investigator put it.
    let elsewhere = scenario
        .ec2
        .create_security_group()
        .group_name("ops-debug")
        .description("an investigator's group")
        .vpc_id(&instance.vpc_id)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    scenario
        .ec2
        .modify_network_interface_attribute()
        .network_interface_id(moved)
        .groups(&elsewhere)
        .send()
        .await
        .unwrap();

    let report = release(&release_function(&moto).await, &case_id, false).await.expect("released");
    let view = scenario.view(&instance.instance_id, None).await;
    let (first, groups) = &instance.interfaces[0];
    let mut original = groups.clone();
    original.sort();
    assert_eq!(view.interface_groups[first], original, "the isolated ENI is back");
    assert_eq!(view.interface_groups[moved], vec![elsewhere], "the person's change wins");
    let steps = report["steps"].as_array().unwrap();
    let left = steps.iter().find(|s| s["resource"] == moved.as_str()).unwrap();
    assert_eq!(left["outcome"], "skipped");
    assert!(left["detail"].as_str().unwrap().contains("changed since the case"), "{report:#}");
}

#[tokio::test]
async fn close_open_ports_then_release_reauthorizes_exactly_the_revoked_rules() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    ledger::create_table(&moto).await;
    let rules = |scenario: &Scenario, group: String| {
        let ec2 = scenario.ec2.clone();
        async move {
            let groups = ec2.describe_security_groups().group_ids(group).send().await.unwrap();
            let mut rules: Vec<String> = groups.security_groups()[0]
                .ip_permissions()
                .iter()
                .flat_map(|p| {
                    p.ip_ranges().iter().map(move |r| {
                        format!(
                            "{} {:?}-{:?} {}",
                            p.ip_protocol().unwrap(),
                            p.from_port(),
                            p.to_port(),
                            r.cidr_ip().unwrap()
                        )
                    })
                })
                .collect();
            rules.sort();
            rules
        }
    };
    // A second world-open admin port beside SSH, and a rule that is not world-open.
    scenario
        .ec2
        .authorize_security_group_ingress()
        .group_id(&instance.ssh_open_group_id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(3389)
                .to_port(3389)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let before = rules(&scenario, instance.ssh_open_group_id.clone()).await;

    let ports = close_open_ports::Function {
        accounts: firebreak_tests::accounts(&moto).await,
        config: {
            let mut config = PortsConfig::default();
            config.common.cases_table = Some(TABLE.into());
            config
        },
    };
    let event = scenario.guardduty_event("close-open-ports/guardduty-ec2-ssh-bruteforce-target.json", &instance);
    let closed = close_open_ports::handle(&ports, invocation(event)).await.expect("closed");
    let case_id = closed["case_id"].as_str().unwrap().to_string();
    assert_ne!(rules(&scenario, instance.ssh_open_group_id.clone()).await, before, "{closed:#}");

    let report = release(&release_function(&moto).await, &case_id, false).await.expect("released");
    assert_eq!(report["outcome"], "completed", "{report:#}");
    assert_eq!(rules(&scenario, instance.ssh_open_group_id.clone()).await, before, "{report:#}");
}

#[tokio::test]
async fn revoke_then_release_with_credentials_reactivates_the_key_and_removes_only_firebreaks_policies() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    ledger::create_table(&moto).await;
    let iam = &scenario.iam;
    iam.create_user().user_name("deploy-bot").send().await.unwrap();
    let key = iam.create_access_key().user_name("deploy-bot").send().await.unwrap();
    let key = key.access_key().unwrap().access_key_id().to_string();
    let own_policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#;
    iam.put_user_policy()
        .user_name("deploy-bot")
        .policy_name("team-policy")
        .policy_document(own_policy)
        .send()
        .await
        .unwrap();

    let mut event = sample_event("revoke-credentials/guardduty-iam-user-malicious-ip.json");
    event["detail"]["resource"]["accessKeyDetails"]["userName"] = json!("deploy-bot");
    event["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = json!(key);
    let mut config = RevokeConfig::default();
    config.quarantine.common = common();
    let revoke = revoke_credentials::Function { accounts: firebreak_tests::accounts(&moto).await, config };
    let revoked = revoke_credentials::handle(&revoke, invocation(event)).await.expect("revoked");
    let case_id = revoked["case_id"].as_str().unwrap().to_string();
    let status = || async {
        iam.list_access_keys().user_name("deploy-bot").send().await.unwrap().access_key_metadata()[0].status().cloned()
    };
    let policies = || async {
        let mut names = iam.list_user_policies().user_name("deploy-bot").send().await.unwrap().policy_names().to_vec();
        names.sort();
        names
    };
    assert_eq!(status().await, Some(StatusType::Inactive));
    assert_eq!(policies().await.len(), 2);

    let function = release_function(&moto).await;
    let report = release(&function, &case_id, true).await.expect("released");
    assert_eq!(report["outcome"], "completed", "{report:#}");
    assert_eq!(status().await, Some(StatusType::Active));
    assert_eq!(policies().await, vec!["team-policy".to_string()], "only Firebreak's policy went");

    // The next finding about the same user opens a new case (the released one stays closed).
    let mut event = sample_event("revoke-credentials/guardduty-iam-user-malicious-ip.json");
    event["detail"]["id"] = json!("2222ba5c5c43e07c9e3e5e2e544e95df");
    event["detail"]["resource"]["accessKeyDetails"]["userName"] = json!("deploy-bot");
    event["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = json!(key);
    let again = revoke_credentials::handle(&revoke, invocation(event)).await.expect("revoked");
    assert_ne!(again["case_id"], case_id.as_str(), "{again:#}");
    assert_eq!(status().await, Some(StatusType::Inactive));

    // Released without `credentials`, they stay revoked, and the case is over.
    let new_case = again["case_id"].as_str().unwrap();
    let kept = release(&function, new_case, false).await.expect("released");
    assert_eq!(status().await, Some(StatusType::Inactive), "{kept:#}");
    let steps = kept["steps"].as_array().unwrap();
    let credential_steps: Vec<&Value> =
        steps.iter().filter(|s| s["step"] == "remove_policy" || s["step"] == "activate_access_key").collect();
    assert_eq!(credential_steps.len(), 2, "{kept:#}");
    assert!(credential_steps.iter().all(|s| s["outcome"] == "skipped"), "{kept:#}");
}

#[tokio::test]
async fn bad_requests_are_refused_with_no_change() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    let dynamodb = ledger::create_table(&moto).await;
    let case_id = quarantined(&moto, &scenario, &instance).await;
    let contained = scenario.view(&instance.instance_id, None).await;
    let function = release_function(&moto).await;

    let error = release(&function, "fb-00000000000000ff", false).await.expect_err("unknown");
    assert_eq!(error.kind, "ResourceNotFound", "{error}");
    let error = release(&function, "fb-not-a-case", false).await.expect_err("malformed");
    assert_eq!(error.kind, "InvalidEvent", "{error}");
    let error = release::handle(&function, invocation(sample_event(DOS_EVENT))).await.expect_err("not a release");
    assert_eq!(error.kind, "InvalidEvent", "{error}");
    let error =
        release::handle(&function, invocation(json!({"release": {"case_id": case_id}}))).await.expect_err("who");
    assert!(error.message.contains("requested_by"), "{error}");

    // A case about an account outside the allow-list.
    let write = firebreak::aws::cases::CaseWrite {
        case_id: "fb-0000000000000333".into(),
        account: "333333333333".into(),
        region: "us-east-1".into(),
        resource: instance.instance_id.clone(),
        state: Some("contained".into()),
        entry: "{}".into(),
        ..Default::default()
    };
    firebreak::aws::cases::append(&dynamodb, TABLE, &write, 10).await.unwrap();
    let config = AccountsConfig {
        allowed_accounts: Some(BTreeSet::from(["222222222222".to_string()])),
        ..AccountsConfig::default()
    };
    let guarded = release::Function {
        accounts: Accounts::new(&moto.sdk_config().await, config),
        config: release_function(&moto).await.config,
    };
    let error = release(&guarded, "fb-0000000000000333", false).await.expect_err("outside the allow-list");
    assert_eq!(error.kind, "AccountNotAllowed", "{error}");
    assert_eq!(scenario.view(&instance.instance_id, None).await, contained, "nothing changed");

    // The Security Hub custom action "Release" on the GuardDuty finding releases its case.
    let mut action = sample_event("quarantine-instance/securityhub-custom-action-quarantine.json");
    action["detail"]["actionName"] = json!("Release");
    action["resources"] = json!(["arn:aws:securityhub:us-east-1:123456789012:action/custom/Release"]);
    let finding = &mut action["detail"]["findings"][0];
    finding["AwsAccountId"] = json!("123456789012");
    finding["Id"] = json!(format!(
        "arn:aws:guardduty:us-east-1:123456789012:detector/d2c4f1a9b8e7c6d5e4f3a2b1c0d9e8f7/finding/{}",
        sample_event(DOS_EVENT)["detail"]["id"].as_str().unwrap()
    ));
    let report = release::handle(&function, invocation(action)).await.expect("released from Security Hub");
    assert_eq!(report["case_id"], case_id.as_str(), "{report:#}");
    assert_ne!(scenario.view(&instance.instance_id, None).await, contained);
}
