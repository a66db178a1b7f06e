//! Disk evidence on moto: volumes kept on termination (and put back by a release), the case's
//! snapshots copied encrypted with the forensic key and shared with the forensic account only,
//! no second copy on a redelivery. GuardDuty StartMalwareScan is absent from moto (5.2.1 and
//! 5.2.5): its exact request and once-an-hour rule are checked against aws-smithy-mocks.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{EbsInstanceBlockDeviceSpecification, InstanceBlockDeviceMappingSpecification};
use firebreak::deadline::Deadline;
use firebreak::disk_evidence::{DiskEvidenceConfig, ForensicTarget};
use firebreak::engine::{CommonConfig, Outcome, Report, StepOutcome};
use firebreak::events::GuardDutyFinding;
use firebreak::notify::NotifyConfig;
use firebreak::quarantine::quarantine_finding;
use firebreak::release::ReleaseConfig;
use firebreak::respond::Settings;
use firebreak::{Clients, QuarantineConfig};
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::moto::ACCOUNT_ID;
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::{on_large_stack, Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const FORENSIC_ACCOUNT: &str = "444455556666";

fn config(forensic_account: &str, malware_scan: bool) -> QuarantineConfig {
    QuarantineConfig {
        disk_evidence: DiskEvidenceConfig {
            forensic: Some(ForensicTarget { kms_key_arn: KEY.into(), account_id: forensic_account.into() }),
            malware_scan,
            follow_up: None,
        },
        ..QuarantineConfig::default()
    }
}

async fn quarantine(
    clients: &Clients,
    scenario: &Scenario,
    instance: &CompromisedInstance,
    config: &QuarantineConfig,
) -> Report {
    let finding = GuardDutyFinding::from_event(&scenario.guardduty_event(DOS_EVENT, instance)).unwrap();
    quarantine_finding(clients, config, &finding, Deadline::NONE).await.expect("quarantine runs")
}

/// An instance whose root volume is deleted on termination (the EC2 default for a root volume)
/// and whose data volume is not.
async fn instance(scenario: &Scenario) -> CompromisedInstance {
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    set_delete_on_termination(scenario, &instance.instance_id, "/dev/xvda", true).await;
    set_delete_on_termination(scenario, &instance.instance_id, "/dev/xvdf", false).await;
    instance
}

async fn set_delete_on_termination(scenario: &Scenario, instance_id: &str, device: &str, delete: bool) {
    scenario
        .ec2
        .modify_instance_attribute()
        .instance_id(instance_id)
        .block_device_mappings(
            InstanceBlockDeviceMappingSpecification::builder()
                .device_name(device)
                .ebs(EbsInstanceBlockDeviceSpecification::builder().delete_on_termination(delete).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
}

async fn delete_on_termination(scenario: &Scenario, instance_id: &str) -> BTreeMap<String, bool> {
    firebreak_tests::snapshots::delete_on_termination(&scenario.ec2, instance_id).await
}

async fn instance_tags(scenario: &Scenario, instance_id: &str) -> BTreeMap<String, String> {
    scenario.view(instance_id, None).await.tags
}

/// Firebreak's copies: (copy id, source, encrypted, key, case tag, accounts it is shared with).
async fn copies(scenario: &Scenario) -> Vec<(String, String, bool, String, String, Vec<String>)> {
    firebreak_tests::snapshots::forensic_copies(&scenario.ec2).await
}

#[tokio::test]
async fn quarantine_keeps_volumes_and_hands_encrypted_copies_to_the_forensic_account_once() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = instance(&scenario).await;
    let config = config(FORENSIC_ACCOUNT, false);

    let report = quarantine(&scenario.clients, &scenario, &instance, &config).await;
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    let case_id = report.case_id.clone().unwrap();
    assert!(
        delete_on_termination(&scenario, &instance.instance_id).await.values().all(|delete| !delete),
        "every volume is kept when the instance terminates"
    );
    let tags = instance_tags(&scenario, &instance.instance_id).await;
    let mut recorded: Vec<&str> = tags["firebreak:delete-on-termination-before"].split(',').collect();
    recorded.sort();
    assert_eq!(recorded, ["/dev/xvda=true", "/dev/xvdf=false"], "the settings before, recorded");

    let copies_made = copies(&scenario).await;
    let sources: Vec<String> =
        scenario.view(&instance.instance_id, None).await.snapshots.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(copies_made.len(), 2, "one copy per volume: {copies_made:#?}");
    for (copy, source, encrypted, key, case, shared) in &copies_made {
        assert!(sources.contains(source), "{copy} is a copy of the case's snapshot {source}");
        assert!(*encrypted, "{copy} is encrypted");
        assert_eq!(key, KEY, "{copy} is encrypted with the forensic key");
        assert_eq!(case, &case_id, "{copy} is tagged with the case");
        assert_eq!(shared, &vec![FORENSIC_ACCOUNT.to_string()], "{copy} is shared with the forensic account only");
    }
    let step = report.step("copy_snapshots_to_forensic_account").unwrap();
    assert_eq!(step.outcome, StepOutcome::Done, "{step:#?}");

    // A redelivery finds the copies by their tags: no second copy, no second share.
    let again = quarantine(&scenario.clients, &scenario, &instance, &config).await;
    assert_eq!(again.outcome, Outcome::Contained, "{again:#?}");
    assert_eq!(copies(&scenario).await, copies_made);
    for step in ["copy_snapshots_to_forensic_account", "keep_volumes_on_termination"] {
        assert_eq!(again.step(step).unwrap().outcome, StepOutcome::Skipped, "{again:#?}");
    }
}

#[tokio::test]
async fn a_forensic_account_that_is_the_instance_own_is_refused_and_nothing_is_copied() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = instance(&scenario).await;
    let report = quarantine(&scenario.clients, &scenario, &instance, &config(ACCOUNT_ID, false)).await;
    assert_eq!(report.outcome, Outcome::ContainedWithErrors, "{report:#?}");
    let step = report.step("copy_snapshots_to_forensic_account").unwrap();
    assert_eq!(step.outcome, StepOutcome::Failed);
    assert!(step.detail.contains("the instance's own account"), "{}", step.detail);
    assert!(copies(&scenario).await.is_empty());
}

#[tokio::test]
async fn a_dry_run_plans_the_disk_evidence_and_changes_nothing() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = instance(&scenario).await;
    let mut config = config(FORENSIC_ACCOUNT, false);
    config.common.dry_run = true;
    let report = quarantine(&scenario.clients, &scenario, &instance, &config).await;
    for step in ["keep_volumes_on_termination", "copy_snapshots_to_forensic_account"] {
        assert_eq!(report.step(step).unwrap().outcome, StepOutcome::Planned, "{report:#?}");
    }
    assert!(delete_on_termination(&scenario, &instance.instance_id).await["/dev/xvda"]);
    assert!(copies(&scenario).await.is_empty());
}

#[test]
fn release_turns_delete_on_termination_back_on_where_it_is_still_firebreaks() {
    on_large_stack(|| async {
        let moto = Moto::start();
        let scenario = Scenario::new(&moto).await;
        let instance = instance(&scenario).await;
        ledger::create_table(&moto).await;
        let common = CommonConfig { cases_table: Some(TABLE.into()), ..CommonConfig::default() };
        let mut settings =
            Settings { notify: NotifyConfig { sns_topic_arn: None, security_hub: false }, ..Settings::default() };
        settings.quarantine.common = common.clone();
        let function =
            quarantine_instance::Function { accounts: firebreak_tests::accounts(&moto).await, config: settings };
        let event = scenario.guardduty_event(DOS_EVENT, &instance);
        let response =
            quarantine_instance::handle(&function, LambdaEvent::new(event, Context::default())).await.unwrap();
        let case_id = response["case_id"].as_str().unwrap().to_string();
        assert!(!delete_on_termination(&scenario, &instance.instance_id).await["/dev/xvda"]);

        let release = release::Function {
            accounts: firebreak_tests::accounts(&moto).await,
            config: ReleaseConfig { common, isolation_group_name: "firebreak-isolation".into() },
        };
        let event = json!({"release": {
            "case_id": case_id, "reason": "false positive", "requested_by": "alice@example.com", "credentials": false
        }});
        let report = release::handle(&release, LambdaEvent::new(event, Context::default())).await.unwrap();
        assert_eq!(report["outcome"], "completed", "{report:#}");
        let after = delete_on_termination(&scenario, &instance.instance_id).await;
        assert!(after["/dev/xvda"], "put back: {report:#}");
        assert!(!after["/dev/xvdf"], "was never Firebreak's to change");
    });
}

/// A member account's instance, from the administrator's finding: the copies are made and shared
/// in the member account; a forensic account that is the member itself is refused, even though
/// it is not the function's own account.
#[test]
fn a_member_instance_is_copied_in_its_own_account_and_its_own_account_is_refused() {
    use firebreak::accounts::{Accounts, AccountsConfig};
    use firebreak_tests::member::{self, MEMBER_ACCOUNT};
    on_large_stack(|| async {
        let moto = Moto::start();
        let admin = Scenario::new(&moto).await;
        let member = member::scenario(&moto, MEMBER_ACCOUNT, "us-east-1").await;
        let instance = instance(&member).await;
        let accounts = || async {
            let config = AccountsConfig {
                external_id: Some("firebreak-test".into()),
                allowed_accounts: Some([MEMBER_ACCOUNT.to_string()].into()),
                ..AccountsConfig::default()
            };
            Accounts::new(&moto.sdk_config().await, config)
        };
        let mut event = member.guardduty_event(DOS_EVENT, &instance);
        event["account"] = json!(ACCOUNT_ID);
        event["detail"]["accountId"] = json!(MEMBER_ACCOUNT);
        for (forensic, outcome) in [(MEMBER_ACCOUNT, "contained_with_errors"), (FORENSIC_ACCOUNT, "contained")] {
            let settings = Settings {
                quarantine: config(forensic, false),
                notify: NotifyConfig { sns_topic_arn: None, security_hub: false },
                ..Settings::default()
            };
            let function = quarantine_instance::Function { accounts: accounts().await, config: settings };
            let mut context = Context::default();
            context.invoked_function_arn = format!("arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:firebreak");
            let response =
                quarantine_instance::handle(&function, LambdaEvent::new(event.clone(), context)).await.unwrap();
            assert_eq!(response["outcome"], outcome, "forensic account {forensic}: {response:#}");
        }
        let in_member = copies(&member).await;
        assert_eq!(in_member.len(), 2, "copied once, in the member account: {in_member:#?}");
        assert!(in_member.iter().all(|c| c.5 == [FORENSIC_ACCOUNT]), "{in_member:#?}");
        assert!(copies(&admin).await.is_empty(), "nothing copied in the administrator's account");
    });
}

/// The same quarantine with GuardDuty answered by a mock: moto has no StartMalwareScan.
mod malware_scan {
    use super::*;
    use aws_sdk_guardduty::operation::start_malware_scan::StartMalwareScanOutput;
    use aws_smithy_mocks::{mock, mock_client, Rule};

    fn start_rule(instance_id: &str) -> Rule {
        let arn = format!("arn:aws:ec2:us-east-1:{ACCOUNT_ID}:instance/{instance_id}");
        let instance_id = instance_id.to_string();
        mock!(aws_sdk_guardduty::Client::start_malware_scan)
            .match_requests(move |req| {
                req.resource_arn() == Some(arn.as_str())
                    && req.client_token().is_some_and(|t| t.ends_with(&instance_id) && t.len() <= 64)
                    && req.scan_configuration().is_none()
            })
            .then_output(|| StartMalwareScanOutput::builder().scan_id("scan-0123456789abcdef").build())
    }

    fn with_guardduty(scenario: &Scenario, rule: &Rule) -> Clients {
        let mut clients = scenario.clients.clone();
        clients.guardduty = mock_client!(aws_sdk_guardduty, [rule]);
        clients
    }

    #[tokio::test]
    async fn the_scan_is_started_once_for_the_case_and_recorded() {
        let moto = Moto::start();
        let scenario = Scenario::new(&moto).await;
        let instance = instance(&scenario).await;
        let rule = start_rule(&instance.instance_id);
        let clients = with_guardduty(&scenario, &rule);
        let config = config(FORENSIC_ACCOUNT, true);

        let report = quarantine(&clients, &scenario, &instance, &config).await;
        let step = report.step("start_malware_scan").unwrap();
        assert_eq!(step.outcome, StepOutcome::Done, "{report:#?}");
        assert_eq!(rule.num_calls(), 1);
        let tags = instance_tags(&scenario, &instance.instance_id).await;
        assert_eq!(tags.get("firebreak:malware-scan-id").map(String::as_str), Some("scan-0123456789abcdef"));
        assert!(tags.contains_key("firebreak:malware-scan-at"));
        assert!(step.recorded.contains_key("firebreak:malware-scan-at"), "{step:#?}");

        let again = quarantine(&clients, &scenario, &instance, &config).await;
        assert_eq!(again.step("start_malware_scan").unwrap().outcome, StepOutcome::Skipped, "{again:#?}");
        assert_eq!(rule.num_calls(), 1, "a redelivery starts no second scan");
    }

    /// A new case on an instance whose last scan (an earlier, released case's) is less than an
    /// hour old starts none: GuardDuty allows one an hour. An older one does not hold it back.
    #[tokio::test]
    async fn a_scan_less_than_an_hour_old_holds_back_the_next() {
        let moto = Moto::start();
        let scenario = Scenario::new(&moto).await;
        let instance = instance(&scenario).await;
        let rule = start_rule(&instance.instance_id);
        let clients = with_guardduty(&scenario, &rule);
        let now = std::time::SystemTime::now();
        for (ago, calls) in [(600, 0), (7200, 1)] {
            let at = firebreak::engine::report::timestamp(now - std::time::Duration::from_secs(ago));
            let tags = [
                ("firebreak:case", "fb-earlier"),
                ("firebreak:released-case", "fb-earlier"),
                ("firebreak:malware-scan-at", at.as_str()),
                ("firebreak:malware-scan-id", "scan-earlier"),
            ];
            let mut request = scenario.ec2.create_tags().resources(&instance.instance_id);
            for (key, value) in tags {
                request = request.tags(aws_sdk_ec2::types::Tag::builder().key(key).value(value).build());
            }
            request.send().await.unwrap();
            let report = quarantine(&clients, &scenario, &instance, &config(FORENSIC_ACCOUNT, true)).await;
            let step = report.step("start_malware_scan").unwrap();
            assert_eq!(rule.num_calls(), calls, "{ago} s after the last scan: {step:#?}");
            if calls == 0 {
                assert_eq!(step.outcome, StepOutcome::Skipped);
                assert!(step.detail.contains("less than an hour ago"), "{}", step.detail);
            }
        }
    }
}
