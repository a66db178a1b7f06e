//! abuse-report and the Security Hub / SNS / multi-account paths against a real moto server.

use std::collections::BTreeSet;

use abuse_report::Function as AbuseFunction;
use aws_config::SdkConfig;
use aws_sdk_ec2::types::{Filter, InstanceNetworkInterfaceSpecification};
use firebreak::accounts::{Accounts, AccountsConfig};
use firebreak::aws::sns::REPORT_ATTRIBUTE;
use firebreak::engine::FunctionError;
use firebreak::notify::NotifyConfig;
use firebreak::respond::{AbuseTrigger, Settings};
use firebreak_tests::moto::{ACCOUNT_ID, REGION};
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::{sample_event, Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use quarantine_instance::Function as QuarantineFunction;
use serde_json::{json, Value};

const MEMBER_ACCOUNT: &str = "222222222222";

async fn accounts(moto: &Moto, config: AccountsConfig) -> Accounts {
    Accounts::new(&moto.sdk_config().await, config)
}

async fn abuse(function: &AbuseFunction, event: Value) -> Result<Value, FunctionError> {
    abuse_report::handle(function, LambdaEvent::new(event, Context::default())).await
}

async fn quarantine(function: &QuarantineFunction, event: Value) -> Result<Value, FunctionError> {
    quarantine_instance::handle(function, LambdaEvent::new(event, Context::default())).await
}

async fn is_isolated(scenario: &Scenario, instance: &CompromisedInstance) -> bool {
    let view = scenario.view(&instance.instance_id, None).await;
    let isolation = scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await;
    let Some((isolation_id, ..)) = isolation.first() else { return false };
    view.interface_groups.values().all(|groups| groups == &vec![isolation_id.clone()])
        && view.tags.contains_key("firebreak:case")
}

async fn private_ip(scenario: &Scenario, instance_id: &str) -> String {
    let described = scenario.ec2.describe_instances().instance_ids(instance_id).send().await.unwrap();
    described.reservations()[0].instances()[0].private_ip_address().unwrap().to_string()
}

/// An instance launched with a public IPv4 address in the scenario's subnet.
async fn public_instance(scenario: &Scenario, around: &CompromisedInstance) -> (CompromisedInstance, String) {
    let image = scenario.ec2.describe_images().owners("amazon").send().await.unwrap().images()[0]
        .image_id()
        .unwrap()
        .to_string();
    let launched = scenario
        .ec2
        .run_instances()
        .image_id(image)
        .min_count(1)
        .max_count(1)
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&around.subnet_id)
                .groups(&around.ssh_open_group_id)
                .associate_public_ip_address(true)
                .build(),
        )
        .send()
        .await
        .expect("RunInstances");
    let instance = &launched.instances()[0];
    let id = instance.instance_id().unwrap().to_string();
    let described = scenario.ec2.describe_instances().instance_ids(&id).send().await.unwrap();
    let public_ip = described.reservations()[0].instances()[0].public_ip_address().expect("a public IP").to_string();
    let mut public = around.clone();
    public.instance_id = id;
    (public, public_ip)
}

#[tokio::test]
async fn abuse_report_ip_entities_resolve_to_instances_and_unknown_ips_are_reported() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let private = scenario.compromised_instance(&Setup::bare()).await;
    let (public, public_ip) = public_instance(&scenario, &private).await;
    let private_address = private_ip(&scenario, &private.instance_id).await;

    let mut event = sample_event("abuse-report/health-abuse-dos-ip.json");
    event["detail"]["affectedEntities"] =
        json!([{"entityValue": public_ip}, {"entityValue": private_address}, {"entityValue": "198.51.100.99"}]);
    let function =
        AbuseFunction { accounts: accounts(&moto, AccountsConfig::default()).await, config: Settings::default() };
    let response = abuse(&function, event).await.expect("handled");

    assert_eq!(response["outcome"], "contained", "{response:#}");
    let kinds: BTreeSet<(String, String)> = response["resolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["instance_id"].as_str().unwrap().to_string(), r["kind"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            (public.instance_id.clone(), "public".into()),
            (private.instance_id.clone(), "private".into())
        ])
    );
    assert_eq!(response["unresolved"][0]["entity"], "198.51.100.99", "the unknown IP is reported, not guessed");
    assert_eq!(response["reports"].as_array().unwrap().len(), 2, "only the two resolved instances");
    assert!(is_isolated(&scenario, &private).await);
    assert!(is_isolated(&scenario, &public).await);
    // One case for the one abuse report, on both instances.
    let case = response["case_id"].as_str().unwrap();
    assert_eq!(scenario.view(&public.instance_id, None).await.tags["firebreak:case"], case);
    assert_eq!(scenario.view(&private.instance_id, None).await.tags["firebreak:finding-type"], "AWS_ABUSE_DOS_REPORT");
}

#[tokio::test]
async fn elastic_ip_resolves_to_its_instance() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    let allocation = scenario.ec2.allocate_address().domain(aws_sdk_ec2::types::DomainType::Vpc).send().await.unwrap();
    scenario
        .ec2
        .associate_address()
        .allocation_id(allocation.allocation_id().unwrap())
        .instance_id(&instance.instance_id)
        .send()
        .await
        .unwrap();
    let mut event = sample_event("abuse-report/health-abuse-dos-ip.json");
    event["detail"]["affectedEntities"] = json!([{"entityValue": allocation.public_ip().unwrap()}]);
    let function =
        AbuseFunction { accounts: accounts(&moto, AccountsConfig::default()).await, config: Settings::default() };
    let response = abuse(&function, event).await.expect("handled");
    assert_eq!(response["resolved"][0]["kind"], "elastic", "{response:#}");
    assert_eq!(response["resolved"][0]["instance_id"], instance.instance_id.as_str());
    assert!(is_isolated(&scenario, &instance).await);
}

#[tokio::test]
async fn health_abuse_event_quarantines_the_instance_notifies_sns_and_imports_our_finding() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    let config = moto.sdk_config().await;
    let topic = aws_sdk_sns::Client::new(&config).create_topic().name("firebreak").send().await.unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_string();

    let mut event = sample_event("abuse-report/health-abuse-dos-instance.json");
    event["detail"]["affectedEntities"][0]["entityValue"] = json!(instance.instance_id);
    let settings = Settings {
        notify: NotifyConfig { sns_topic_arn: Some(topic_arn.clone()), security_hub: true },
        ..Settings::default()
    };
    let function = AbuseFunction { accounts: accounts(&moto, AccountsConfig::default()).await, config: settings };
    let response = abuse(&function, event.clone()).await.expect("handled");
    assert_eq!(response["outcome"], "contained", "{response:#}");
    assert!(is_isolated(&scenario, &instance).await);
    let case = response["case_id"].as_str().unwrap().to_string();

    let messages = moto.sns_messages(&topic_arn);
    assert_eq!(messages.len(), 1, "one summary per remediation: {messages:#?}");
    let (summary, subject, attributes) = (&messages[0][1], &messages[0][2], &messages[0][3]);
    let summary = summary.as_str().unwrap();
    assert!(summary.contains(&instance.instance_id) && summary.contains(&case), "{summary}");
    assert!(summary.contains("AWS_ABUSE_DOS_REPORT"), "{summary}");
    assert!(subject.as_str().unwrap().starts_with("Firebreak contained"), "{subject}");
    let attached: Value = serde_json::from_str(attributes[REPORT_ATTRIBUTE]["Value"].as_str().unwrap()).unwrap();
    assert_eq!(attached["case_id"], case.as_str(), "the JSON report rides along as a message attribute");

    let findings = aws_sdk_securityhub::Client::new(&config).get_findings().send().await.expect("GetFindings");
    let ours: Vec<_> = findings.findings().iter().filter(|f| f.id() == Some(&format!("firebreak/{case}"))).collect();
    assert_eq!(ours.len(), 1, "our own ASFF finding: {findings:#?}");
    assert_eq!(ours[0].aws_account_id(), Some(ACCOUNT_ID));
    assert!(ours[0].title().unwrap().contains("AWS_ABUSE_DOS_REPORT"));
    assert!(ours[0].resources()[0].id().unwrap().ends_with(&instance.instance_id));
    assert_eq!(ours[0].product_fields().unwrap()["firebreak/case-id"], case);

    // Redelivery: the same case, the same (updated) finding, nothing new on the instance.
    let before = scenario.view(&instance.instance_id, None).await;
    let again = abuse(&function, event).await.expect("handled");
    assert_eq!(again["case_id"], case.as_str());
    assert_eq!(scenario.view(&instance.instance_id, None).await, before);
    let findings = aws_sdk_securityhub::Client::new(&config).get_findings().send().await.unwrap();
    assert_eq!(findings.findings().iter().filter(|f| f.id() == Some(&format!("firebreak/{case}"))).count(), 1);
}

#[tokio::test]
async fn network_out_alarm_isolates_the_instance() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    let mut event = sample_event("abuse-report/cloudwatch-networkout-alarm.json");
    event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["InstanceId"] =
        json!(instance.instance_id);
    let function =
        AbuseFunction { accounts: accounts(&moto, AccountsConfig::default()).await, config: Settings::default() };

    let mut back_to_ok = event.clone();
    back_to_ok["detail"]["state"]["value"] = json!("OK");
    let ignored = abuse(&function, back_to_ok).await.unwrap();
    assert_eq!(ignored["outcome"], "skipped");
    assert!(!is_isolated(&scenario, &instance).await, "an alarm returning to OK changes nothing");

    let response = abuse(&function, event).await.expect("handled");
    assert_eq!(response["outcome"], "contained", "{response:#}");
    assert!(is_isolated(&scenario, &instance).await);
    let view = scenario.view(&instance.instance_id, None).await;
    assert_eq!(view.tags["firebreak:finding-type"], "NetworkOut alarm web-1-network-out");
}

/// The ranking itself (GetMetricData, NetworkOut per instance) is unit-tested in `traffic::rank`:
/// moto 5.2.1 does not serve the rpc-v2 CBOR protocol the Rust CloudWatch SDK speaks, so here
/// GetMetricData fails. What this checks against the emulator: a billing alarm quarantines nothing
/// by default, even with instances running, and says so (and why the ranking is missing).
#[tokio::test]
async fn billing_alarm_quarantines_nothing_by_default() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let noisy = scenario.compromised_instance(&Setup::bare()).await;
    let before = scenario.view(&noisy.instance_id, None).await;
    let accounts = accounts(&moto, AccountsConfig::default()).await;
    let trigger = AbuseTrigger::from_event(&sample_event("abuse-report/cloudwatch-billing-alarm.json")).expect("valid");
    let response = firebreak::respond::respond_to_abuse(
        &accounts,
        &Settings::default(),
        &trigger,
        firebreak::deadline::Deadline::NONE,
    )
    .await;
    assert!(response.reports.is_empty(), "{response:#?}");
    assert!(response.reason.as_deref().unwrap().contains("none quarantined"), "{response:#?}");
    assert!(
        response.errors.iter().any(|e| e.contains("GetMetricData")),
        "the missing ranking is reported: {response:#?}"
    );
    assert_eq!(scenario.view(&noisy.instance_id, None).await, before, "no quarantine by default");
    assert_eq!(isolation_groups_anywhere(&scenario).await, 0);
}

/// A Security Hub event from `events/`, pointed at an instance (and account).
fn security_hub_event(name: &str, instance: &CompromisedInstance, account: &str) -> Value {
    let mut event = sample_event(name);
    let finding = &mut event["detail"]["findings"][0];
    finding["AwsAccountId"] = json!(account);
    finding["Id"] = json!(format!(
        "arn:aws:guardduty:us-east-1:{account}:detector/d2c4f1a9b8e7c6d5e4f3a2b1c0d9e8f7/finding/16afba5c5c43e07c9e3e5e2e544e95df"
    ));
    let resource = &mut finding["Resources"][0];
    resource["Id"] = json!(format!("arn:aws:ec2:us-east-1:{account}:instance/{}", instance.instance_id));
    resource["Details"]["AwsEc2Instance"]["VpcId"] = json!(instance.vpc_id);
    resource["Details"]["AwsEc2Instance"]["SubnetId"] = json!(instance.subnet_id);
    resource["Details"]["AwsEc2Instance"]["NetworkInterfaces"] =
        Value::Array(instance.interfaces.iter().map(|(eni, _)| json!({"NetworkInterfaceId": eni})).collect());
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

#[tokio::test]
async fn security_hub_import_and_custom_action_do_what_the_native_guardduty_event_does() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let settings =
        Settings { notify: NotifyConfig { sns_topic_arn: None, security_hub: false }, ..Settings::default() };
    let function = QuarantineFunction { accounts: accounts(&moto, AccountsConfig::default()).await, config: settings };

    let native_instance = scenario.compromised_instance(&Setup::bare()).await;
    let native = quarantine(
        &function,
        scenario.guardduty_event("quarantine-instance/guardduty-ec2-dos-actor.json", &native_instance),
    )
    .await
    .expect("native");
    let mut results = vec![("native", native_instance, native)];
    for name in [
        "quarantine-instance/securityhub-imported-guardduty-ec2-dos.json",
        "quarantine-instance/securityhub-custom-action-quarantine.json",
    ] {
        let instance = scenario.compromised_instance(&Setup::bare()).await;
        let response = quarantine(&function, security_hub_event(name, &instance, ACCOUNT_ID)).await.expect(name);
        results.push((name, instance, response));
    }
    let (_, native_instance, native) = &results[0];
    let native_view = scenario.view(&native_instance.instance_id, None).await;
    for (name, instance, response) in &results {
        assert_eq!(response["outcome"], "contained", "{name}: {response:#}");
        assert_eq!(response["case_id"], native["case_id"], "{name}: the same finding is the same case");
        assert_eq!(step_outcomes(response), step_outcomes(native), "{name}: the same plan");
        assert!(is_isolated(&scenario, instance).await, "{name}");
        let view = scenario.view(&instance.instance_id, None).await;
        for tag in ["firebreak:case", "firebreak:finding-id", "firebreak:finding-type"] {
            assert_eq!(view.tags[tag], native_view.tags[tag], "{name}: {tag}");
        }
    }

    // Our own write-back comes back as an import with workflow NOTIFIED: nothing is done again.
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    let mut worked =
        security_hub_event("quarantine-instance/securityhub-imported-guardduty-ec2-dos.json", &instance, ACCOUNT_ID);
    worked["detail"]["findings"][0]["Workflow"]["Status"] = json!("NOTIFIED");
    let response = quarantine(&function, worked).await.unwrap();
    assert_eq!(response["outcome"], "skipped", "{response:#}");
    assert!(!is_isolated(&scenario, &instance).await);
}

async fn member_account_config(moto: &Moto) -> SdkConfig {
    firebreak_tests::member::account_config(moto, MEMBER_ACCOUNT, REGION).await
}

fn scenario_in(config: &SdkConfig) -> Scenario {
    Scenario::in_config(config)
}

async fn isolation_groups_anywhere(scenario: &Scenario) -> usize {
    scenario
        .ec2
        .describe_security_groups()
        .filters(Filter::builder().name("group-name").values("firebreak-isolation").build())
        .send()
        .await
        .unwrap()
        .security_groups()
        .len()
}

#[tokio::test]
async fn a_finding_in_a_member_account_is_remediated_there_and_nowhere_else() {
    let moto = Moto::start();
    let home = Scenario::new(&moto).await;
    let home_instance = home.compromised_instance(&Setup::bare()).await;
    let member = scenario_in(&member_account_config(&moto).await);
    let instance = member.compromised_instance(&Setup::bare()).await;
    let caller =
        aws_sdk_sts::Client::new(&member_account_config(&moto).await).get_caller_identity().send().await.unwrap();
    assert_eq!(caller.account(), Some(MEMBER_ACCOUNT), "the emulator really separates the accounts");
    let home_before = home.view(&home_instance.instance_id, None).await;

    let config = AccountsConfig {
        external_id: Some("firebreak-test".into()),
        allowed_accounts: Some(BTreeSet::from([MEMBER_ACCOUNT.to_string()])),
        ..AccountsConfig::default()
    };
    let settings =
        Settings { notify: NotifyConfig { sns_topic_arn: None, security_hub: false }, ..Settings::default() };
    let function = QuarantineFunction { accounts: accounts(&moto, config).await, config: settings };
    let event = security_hub_event(
        "quarantine-instance/securityhub-imported-guardduty-ec2-dos.json",
        &instance,
        MEMBER_ACCOUNT,
    );
    let response = quarantine(&function, event.clone()).await.expect("remediated in the member account");
    assert_eq!(response["outcome"], "contained", "{response:#}");
    assert_eq!(response["reports"][0]["signal"]["account"], MEMBER_ACCOUNT);
    assert!(is_isolated(&member, &instance).await, "isolated in the member account");
    assert_eq!(isolation_groups_anywhere(&home).await, 0, "nothing created in the function's own account");
    assert_eq!(home.view(&home_instance.instance_id, None).await, home_before);

    // The cached member clients serve the redelivery.
    let again = quarantine(&function, event).await.unwrap();
    assert_eq!(again["case_id"], response["case_id"]);
}

#[tokio::test]
async fn an_account_outside_the_allow_list_is_refused_with_no_action() {
    let moto = Moto::start();
    let member = scenario_in(&member_account_config(&moto).await);
    let instance = member.compromised_instance(&Setup::bare()).await;
    let before = member.view(&instance.instance_id, None).await;
    let config = AccountsConfig {
        allowed_accounts: Some(BTreeSet::from(["333333333333".to_string()])),
        ..AccountsConfig::default()
    };
    let function = QuarantineFunction { accounts: accounts(&moto, config).await, config: Settings::default() };
    let event =
        security_hub_event("quarantine-instance/securityhub-custom-action-quarantine.json", &instance, MEMBER_ACCOUNT);
    let err = quarantine(&function, event).await.unwrap_err().to_string();
    assert!(err.contains("222222222222 is not in FIREBREAK_ALLOWED_ACCOUNTS"), "{err}");
    assert_eq!(member.view(&instance.instance_id, None).await, before, "no action");
    assert_eq!(isolation_groups_anywhere(&member).await, 0);
}

/// moto does not implement Security Hub BatchUpdateFindings (checked with moto 5.2.1 and 5.2.5),
/// so the exact request is checked against an aws-smithy-mocks client instead of the emulator.
#[tokio::test]
async fn batch_update_findings_request_marks_the_finding_notified_with_the_case() {
    use aws_sdk_securityhub::operation::batch_update_findings::BatchUpdateFindingsOutput;
    use aws_sdk_securityhub::types::WorkflowStatus;
    use aws_smithy_mocks::{mock, mock_client};

    let event = sample_event("quarantine-instance/securityhub-imported-guardduty-ec2-dos.json");
    let finding = &event["detail"]["findings"][0];
    let id = finding["Id"].as_str().unwrap().to_string();
    let product_arn = finding["ProductArn"].as_str().unwrap().to_string();
    let (expected_id, expected_product) = (id.clone(), product_arn.clone());
    let rule = mock!(aws_sdk_securityhub::Client::batch_update_findings)
        .match_requests(move |req| {
            let identifiers = req.finding_identifiers();
            identifiers.len() == 1
                && identifiers[0].id() == Some(expected_id.as_str())
                && identifiers[0].product_arn() == Some(expected_product.as_str())
                && req.workflow().and_then(|w| w.status()) == Some(&WorkflowStatus::Notified)
                && req.note().is_some_and(|n| {
                    n.text().is_some_and(|t| t.contains("fb-0123456789abcdef") && t.chars().count() <= 512)
                        && n.updated_by() == Some("firebreak")
                })
        })
        .then_output(|| {
            BatchUpdateFindingsOutput::builder()
                .set_processed_findings(Some(vec![]))
                .set_unprocessed_findings(Some(vec![]))
                .build()
        });
    let client = mock_client!(aws_sdk_securityhub, [&rule]);
    let note = format!("Firebreak case fb-0123456789abcdef: i-0a1b2c3d4e5f60718 contained; {}", "x".repeat(600));
    firebreak::aws::securityhub::update_findings(
        &client,
        &[firebreak::aws::securityhub::FindingRef { id, product_arn }],
        &note,
    )
    .await
    .expect("the request matched the rule");
    assert_eq!(rule.num_calls(), 1);
}
