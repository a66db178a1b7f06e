//! Firebreak deployed once in the security account (the GuardDuty / Security Hub administrator,
//! the Health organisational view) acting on signals about a member account: every function acts
//! in the member account and Region the signal names, through the member role, and leaves the
//! security account alone even where it holds a same-named user or a world-open group. Against
//! moto, whose AssumeRole credentials really act in the account the role ARN names.

use std::collections::BTreeSet;

use aws_sdk_iam::types::StatusType;
use firebreak::accounts::{Accounts, AccountsConfig};
use firebreak::engine::FunctionError;
use firebreak::notify::NotifyConfig;
use firebreak::posture::PostureConfig;
use firebreak::respond::Settings;
use firebreak::revoke::RevokeConfig;
use firebreak_tests::member::{self, MEMBER_ACCOUNT};
use firebreak_tests::moto::{ACCOUNT_ID as ADMIN, REGION};
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::{on_large_stack, sample_event, Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const OTHER_REGION: &str = "eu-west-1";

/// The function's provider, allowed to act in the member account.
async fn accounts(moto: &Moto) -> Accounts {
    let config = AccountsConfig {
        external_id: Some("firebreak-test".into()),
        allowed_accounts: Some(BTreeSet::from([MEMBER_ACCOUNT.to_string()])),
        ..AccountsConfig::default()
    };
    Accounts::new(&moto.sdk_config().await, config)
}

/// Invoked as Lambda invokes it: the context names the function, and so its account.
fn invocation(event: Value) -> LambdaEvent<Value> {
    let mut context = Context::default();
    context.invoked_function_arn = format!("arn:aws:lambda:{REGION}:{ADMIN}:function:firebreak");
    LambdaEvent::new(event, context)
}

fn quiet() -> Settings {
    Settings { notify: NotifyConfig { sns_topic_arn: None, security_hub: false }, ..Settings::default() }
}

/// A native GuardDuty finding about `instance` of the member account, as the administrator's
/// EventBridge receives it: envelope account = administrator, `detail.accountId` = member.
fn delivered_to_admin(scenario: &Scenario, template: &str, instance: &CompromisedInstance) -> Value {
    let mut event = scenario.guardduty_event(template, instance);
    event["account"] = json!(ADMIN);
    event["detail"]["accountId"] = json!(MEMBER_ACCOUNT);
    event
}

async fn is_isolated(scenario: &Scenario, instance: &CompromisedInstance) -> bool {
    let view = scenario.view(&instance.instance_id, None).await;
    let isolation = scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await;
    let Some((isolation_id, ..)) = isolation.first() else { return false };
    view.interface_groups.values().all(|groups| groups == &vec![isolation_id.clone()])
}

/// (protocol, from, to, cidr) of every IPv4 ingress rule of a group.
async fn ingress(scenario: &Scenario, group_id: &str) -> Vec<(String, i32, i32, String)> {
    let groups = scenario.ec2.describe_security_groups().group_ids(group_id).send().await.unwrap();
    let mut rules = Vec::new();
    for permission in groups.security_groups()[0].ip_permissions() {
        for range in permission.ip_ranges() {
            rules.push((
                permission.ip_protocol().unwrap_or_default().to_string(),
                permission.from_port().unwrap_or(-1),
                permission.to_port().unwrap_or(-1),
                range.cidr_ip().unwrap_or_default().to_string(),
            ));
        }
    }
    rules
}

#[tokio::test]
async fn quarantine_instance_contains_a_member_instance_from_the_administrators_finding() {
    let moto = Moto::start();
    let admin = Scenario::new(&moto).await;
    let admin_instance = admin.compromised_instance(&Setup::bare()).await;
    let admin_before = admin.view(&admin_instance.instance_id, None).await;
    let member = member::scenario(&moto, MEMBER_ACCOUNT, REGION).await;
    let instance = member.compromised_instance(&Setup::bare()).await;

    let function = quarantine_instance::Function { accounts: accounts(&moto).await, config: quiet() };
    let event = delivered_to_admin(&member, "quarantine-instance/guardduty-ec2-dos-actor.json", &instance);
    let response = quarantine_instance::handle(&function, invocation(event)).await.expect("contained");
    assert_eq!(response["outcome"], "contained", "{response:#}");
    assert_eq!(response["reports"][0]["signal"]["account"], MEMBER_ACCOUNT);
    assert_eq!(response["reports"][0]["signal"]["delivered_by"], ADMIN);
    assert!(is_isolated(&member, &instance).await, "isolated in the member account");
    assert_eq!(admin.view(&admin_instance.instance_id, None).await, admin_before, "the administrator untouched");
    assert!(admin.groups_named(&admin_instance.vpc_id, "firebreak-isolation").await.is_empty());
}

#[tokio::test]
async fn revoke_credentials_disables_the_member_key_and_not_the_same_named_admin_user() {
    let moto = Moto::start();
    let admin = Scenario::new(&moto).await;
    let member = member::scenario(&moto, MEMBER_ACCOUNT, REGION).await;
    let mut keys = Vec::new();
    for scenario in [&admin, &member] {
        scenario.iam.create_user().user_name("deploy-bot").send().await.unwrap();
        let key = scenario.iam.create_access_key().user_name("deploy-bot").send().await.unwrap();
        keys.push(key.access_key().unwrap().access_key_id().to_string());
    }
    let (admin_key, member_key) = (keys[0].clone(), keys[1].clone());

    let mut event = sample_event("revoke-credentials/guardduty-iam-user-malicious-ip.json");
    event["account"] = json!(ADMIN);
    event["detail"]["accountId"] = json!(MEMBER_ACCOUNT);
    event["detail"]["resource"]["accessKeyDetails"]["userName"] = json!("deploy-bot");
    event["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = json!(member_key);
    let function = revoke_credentials::Function { accounts: accounts(&moto).await, config: RevokeConfig::default() };
    let report = revoke_credentials::handle(&function, invocation(event)).await.expect("revoked");
    assert_eq!(report["outcome"], "contained", "{report:#}");

    let status = |scenario: &Scenario, key: String| {
        let iam = scenario.iam.clone();
        async move {
            let keys = iam.list_access_keys().user_name("deploy-bot").send().await.unwrap();
            let found = keys.access_key_metadata().iter().find(|k| k.access_key_id() == Some(key.as_str())).cloned();
            found.and_then(|k| k.status().cloned()).unwrap()
        }
    };
    assert_eq!(status(&member, member_key).await, StatusType::Inactive, "the member's key");
    let policies = |scenario: &Scenario| {
        let iam = scenario.iam.clone();
        async move { iam.list_user_policies().user_name("deploy-bot").send().await.unwrap().policy_names().to_vec() }
    };
    assert_eq!(policies(&member).await, vec![firebreak::policy::REVOKE_SESSIONS_POLICY.to_string()]);
    assert_eq!(status(&admin, admin_key).await, StatusType::Active, "the administrator's same-named user");
    assert!(policies(&admin).await.is_empty());
}

#[tokio::test]
async fn revoke_credentials_acts_on_an_organisational_health_notice_in_the_affected_account() {
    let moto = Moto::start();
    let member = member::scenario(&moto, MEMBER_ACCOUNT, REGION).await;
    member.iam.create_user().user_name("deploy-bot").send().await.unwrap();
    let key = member.iam.create_access_key().user_name("deploy-bot").send().await.unwrap();
    let key = key.access_key().unwrap().access_key_id().to_string();

    let mut event = sample_event("revoke-credentials/health-risk-credentials-exposed.json");
    event["account"] = json!(ADMIN);
    event["detail"]["affectedAccount"] = json!(MEMBER_ACCOUNT);
    event["detail"]["affectedEntities"][0]["entityValue"] = json!(key);
    let function = revoke_credentials::Function { accounts: accounts(&moto).await, config: RevokeConfig::default() };
    let report = revoke_credentials::handle(&function, invocation(event)).await.expect("revoked");
    assert_eq!(report["outcome"], "contained", "{report:#}");
    assert_eq!(report["signal"]["account"], MEMBER_ACCOUNT);
    let keys = member.iam.list_access_keys().user_name("deploy-bot").send().await.unwrap();
    assert_eq!(keys.access_key_metadata()[0].status(), Some(&StatusType::Inactive));
}

#[tokio::test]
async fn close_open_ports_closes_the_member_group_and_not_the_administrators() {
    let moto = Moto::start();
    let admin = Scenario::new(&moto).await;
    let admin_instance = admin.compromised_instance(&Setup::bare()).await;
    let member = member::scenario(&moto, MEMBER_ACCOUNT, REGION).await;
    let instance = member.compromised_instance(&Setup::bare()).await;
    let admin_rules = ingress(&admin, &admin_instance.ssh_open_group_id).await;
    let world_ssh = ("tcp".to_string(), 22, 22, "0.0.0.0/0".to_string());
    assert!(ingress(&member, &instance.ssh_open_group_id).await.contains(&world_ssh));

    let event = delivered_to_admin(&member, "close-open-ports/guardduty-ec2-ssh-bruteforce-target.json", &instance);
    let function = close_open_ports::Function {
        accounts: accounts(&moto).await,
        config: firebreak::ports::PortsConfig::default(),
    };
    let report = close_open_ports::handle(&function, invocation(event)).await.expect("closed");
    assert_eq!(report["signal"]["account"], MEMBER_ACCOUNT, "{report:#}");
    assert!(!ingress(&member, &instance.ssh_open_group_id).await.contains(&world_ssh), "{report:#}");
    assert_eq!(ingress(&admin, &admin_instance.ssh_open_group_id).await, admin_rules, "administrator untouched");
}

#[tokio::test]
async fn abuse_report_acts_in_the_affected_account_and_the_event_region() {
    let moto = Moto::start();
    // The notice is sent to us-east-1; the instance is in eu-west-1 of the member account.
    let member = member::scenario(&moto, MEMBER_ACCOUNT, OTHER_REGION).await;
    let instance = member.compromised_instance(&Setup::bare()).await;
    let mut event = sample_event("abuse-report/health-abuse-dos-instance.json");
    event["account"] = json!(ADMIN);
    event["region"] = json!(REGION);
    event["detail"]["affectedAccount"] = json!(MEMBER_ACCOUNT);
    event["detail"]["eventRegion"] = json!(OTHER_REGION);
    event["detail"]["affectedEntities"] = json!([{ "entityValue": instance.instance_id }]);
    event["resources"] = json!([instance.instance_id]);
    let function = abuse_report::Function { accounts: accounts(&moto).await, config: quiet() };
    let response = abuse_report::handle(&function, invocation(event.clone())).await.expect("contained");
    assert_eq!(response["outcome"], "contained", "{response:#}");
    assert_eq!(response["reports"][0]["signal"]["region"], OTHER_REGION);
    assert!(is_isolated(&member, &instance).await, "isolated in eu-west-1 of the member account");

    // A global notice whose entity is a bare instance id names no Region: reported, not guessed.
    event["detail"]["eventRegion"] = json!("global");
    event["detail"]["eventArn"] = json!("arn:aws:health:global::event/AWS_ABUSE_DOS_REPORT_global_1");
    let err = abuse_report::handle(&function, invocation(event.clone())).await;
    let response = err.map(|r| r.to_string()).unwrap_or_else(|e| e.to_string());
    assert!(response.contains("names no Region"), "{response}");
    // The instance's ARN names it: acted on there.
    let arn = format!("arn:aws:ec2:{OTHER_REGION}:{MEMBER_ACCOUNT}:instance/{}", instance.instance_id);
    event["detail"]["affectedEntities"] = json!([{ "entityValue": instance.instance_id, "entityArn": arn }]);
    let response = abuse_report::handle(&function, invocation(event)).await.expect("acted on");
    assert_eq!(response["reports"][0]["signal"]["region"], OTHER_REGION, "{response:#}");
}

#[test]
fn a_security_hub_finding_aggregated_from_another_region_is_acted_on_in_its_region() {
    on_large_stack(aggregated_from_another_region);
}

async fn aggregated_from_another_region() {
    let moto = Moto::start();
    let member = member::scenario(&moto, MEMBER_ACCOUNT, OTHER_REGION).await;
    let instance = member.compromised_instance(&Setup::bare()).await;
    let mut event = sample_event("quarantine-instance/securityhub-imported-guardduty-ec2-dos.json");
    event["account"] = json!(ADMIN);
    event["region"] = json!(REGION);
    let finding = &mut event["detail"]["findings"][0];
    finding["AwsAccountId"] = json!(MEMBER_ACCOUNT);
    finding["Region"] = json!(OTHER_REGION);
    finding["Id"] = json!(format!(
        "arn:aws:guardduty:{OTHER_REGION}:{MEMBER_ACCOUNT}:detector/d2c4f1a9b8e7c6d5e4f3a2b1c0d9e8f7/finding/26afba5c5c43e07c9e3e5e2e544e95df"
    ));
    let resource = &mut finding["Resources"][0];
    resource["Id"] = json!(format!("arn:aws:ec2:{OTHER_REGION}:{MEMBER_ACCOUNT}:instance/{}", instance.instance_id));
    resource["Region"] = json!(OTHER_REGION);
    resource["Details"]["AwsEc2Instance"]["VpcId"] = json!(instance.vpc_id);
    resource["Details"]["AwsEc2Instance"]["NetworkInterfaces"] =
        Value::Array(instance.interfaces.iter().map(|(eni, _)| json!({"NetworkInterfaceId": eni})).collect());
    let function = quarantine_instance::Function { accounts: accounts(&moto).await, config: quiet() };
    let response = quarantine_instance::handle(&function, invocation(event)).await.expect("contained");
    assert_eq!(response["outcome"], "contained", "{response:#}");
    assert!(is_isolated(&member, &instance).await, "isolated in eu-west-1");
}

#[test]
fn a_signal_delivered_by_a_third_account_is_refused_by_every_function() {
    on_large_stack(|| async {
        let moto = Moto::start();
        let member = member::scenario(&moto, MEMBER_ACCOUNT, REGION).await;
        let instance = member.compromised_instance(&Setup::bare()).await;
        let before = member.view(&instance.instance_id, None).await;
        let forged = |template: &str| {
            let mut event = delivered_to_admin(&member, template, &instance);
            event["account"] = json!("999999999999");
            event
        };
        let refused = |result: Result<Value, FunctionError>| {
            let error = result.expect_err("refused");
            assert_eq!(error.kind, "AccountNotAllowed", "{error}");
            assert!(error.message.contains("delivered by account 999999999999"), "{error}");
        };
        let q = quarantine_instance::Function { accounts: accounts(&moto).await, config: quiet() };
        refused(
            quarantine_instance::handle(&q, invocation(forged("quarantine-instance/guardduty-ec2-dos-actor.json")))
                .await,
        );
        let p = close_open_ports::Function { accounts: accounts(&moto).await, config: Default::default() };
        let event = forged("close-open-ports/guardduty-ec2-ssh-bruteforce-target.json");
        refused(close_open_ports::handle(&p, invocation(event)).await);
        let r = revoke_credentials::Function { accounts: accounts(&moto).await, config: RevokeConfig::default() };
        let mut event = sample_event("revoke-credentials/guardduty-iam-user-malicious-ip.json");
        event["account"] = json!("999999999999");
        event["detail"]["accountId"] = json!(MEMBER_ACCOUNT);
        refused(revoke_credentials::handle(&r, invocation(event)).await);
        let a = abuse_report::Function { accounts: accounts(&moto).await, config: quiet() };
        let mut event = sample_event("abuse-report/health-abuse-dos-instance.json");
        event["account"] = json!("999999999999");
        event["detail"]["affectedAccount"] = json!(MEMBER_ACCOUNT);
        event["detail"]["affectedEntities"] = json!([{ "entityValue": instance.instance_id }]);
        let error = abuse_report::handle(&a, invocation(event)).await.expect_err("refused");
        assert!(error.message.contains("delivered by account 999999999999"), "{error}");
        assert_eq!(member.view(&instance.instance_id, None).await, before, "nothing changed");
        assert!(member.groups_named(&instance.vpc_id, "firebreak-isolation").await.is_empty());
    });
}

#[tokio::test]
async fn each_case_acts_under_its_own_session_name() {
    let moto = Moto::start();
    let accounts = accounts(&moto).await;
    let identity = |case: &'static str| {
        let accounts = &accounts;
        async move {
            let member = accounts.clients_for(MEMBER_ACCOUNT, REGION, case).await.expect("member role");
            let caller = member.clients.sts.get_caller_identity().send().await.unwrap();
            (caller.arn().unwrap().to_string(), member.session_name.unwrap())
        }
    };
    let (first_arn, first) = identity("fb-00000000000000a1").await;
    let (second_arn, second) = identity("fb-00000000000000b2").await;
    assert_eq!(first, "firebreak-fb-00000000000000a1");
    assert_eq!(second, "firebreak-fb-00000000000000b2");
    assert!(first_arn.ends_with("/firebreak-fb-00000000000000a1"), "CloudTrail sees the case: {first_arn}");
    assert!(second_arn.ends_with("/firebreak-fb-00000000000000b2"), "{second_arn}");
    assert!(first_arn.starts_with(&format!("arn:aws:sts::{MEMBER_ACCOUNT}:assumed-role/")), "{first_arn}");
    // The same case again reuses its session.
    let (again, _) = identity("fb-00000000000000b2").await;
    assert_eq!(again, second_arn);
}

#[test]
fn audit_posture_reports_each_accounts_gaps_as_that_accounts_findings() {
    on_large_stack(|| async {
        let moto = Moto::start();
        let admin = Scenario::new(&moto).await;
        let member = member::scenario(&moto, MEMBER_ACCOUNT, REGION).await;
        // A gap only the member has: a group open to the world.
        member.compromised_instance(&Setup::bare()).await;
        let function = audit_posture::Function { accounts: accounts(&moto).await, config: PostureConfig::default() };
        let run = audit_posture::handle(&function, invocation(sample_event("audit-posture/schedule-daily.json")))
            .await
            .expect("audit-posture runs");
        assert_eq!(run["accounts_from"], "allow-list", "{run:#}");
        assert_eq!(run["errors"], json!([]), "{run:#}");
        let audited: Vec<&str> =
            run["reports"].as_array().unwrap().iter().map(|r| r["signal"]["account"].as_str().unwrap()).collect();
        assert_eq!(audited, [ADMIN, MEMBER_ACCOUNT]);
        let open_groups = |report: &Value| {
            report["gaps"].as_array().unwrap().iter().filter(|g| g["check"] == "security-group-open").count()
        };
        assert_eq!(open_groups(&run["reports"][0]), 0, "{run:#}");
        assert!(open_groups(&run["reports"][1]) >= 1, "{run:#}");

        for (scenario, account) in [(&admin, ADMIN), (&member, MEMBER_ACCOUNT)] {
            let findings = scenario.clients.securityhub.get_findings().send().await.expect("GetFindings");
            assert!(!findings.findings().is_empty(), "{account} has its findings");
            for finding in findings.findings() {
                assert_eq!(finding.aws_account_id(), Some(account), "each account's gaps are its own findings");
            }
        }
    });
}

#[tokio::test]
async fn the_member_role_and_firebreak_roles_are_never_revoked() {
    let moto = Moto::start();
    let member = member::scenario(&moto, MEMBER_ACCOUNT, REGION).await;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    for (name, path) in [("FirebreakMember", "/"), ("firebreak-quarantine-instance", "/firebreak/")] {
        member.iam.create_role().role_name(name).path(path).assume_role_policy_document(trust).send().await.unwrap();
    }
    let function = revoke_credentials::Function { accounts: accounts(&moto).await, config: RevokeConfig::default() };
    for role in ["FirebreakMember", "firebreak-quarantine-instance"] {
        let mut event = sample_event("revoke-credentials/guardduty-assumed-role-anomalous.json");
        event["account"] = json!(ADMIN);
        event["detail"]["accountId"] = json!(MEMBER_ACCOUNT);
        event["detail"]["resource"]["accessKeyDetails"]["userName"] = json!(role);
        let report = revoke_credentials::handle(&function, invocation(event)).await.expect("reported");
        assert_eq!(report["outcome"], "skipped", "{report:#}");
        assert!(report["reason"].as_str().unwrap().contains("Firebreak's own"), "{report:#}");
        let policies = member.iam.list_role_policies().role_name(role).send().await.unwrap();
        assert!(policies.policy_names().is_empty(), "{role} untouched");
    }
}
