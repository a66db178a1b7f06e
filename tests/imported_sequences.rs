//! Attack sequences and ECS findings arriving as Security Hub imports (OCSF `Findings Imported V2`
//! and ASFF), against moto where they act: the same plans, and the same case, as the native
//! GuardDuty event. And the routing that keeps an import naming two kinds of resource with the
//! function its finding type is about.

use aws_sdk_iam::types::StatusType;
use firebreak::engine::Outcome;
use firebreak::events::ocsf::native_or_imported;
use firebreak::revoke::{self, RevokeConfig, RevokeTrigger};
use firebreak::tags;
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::{sample_event, Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use quarantine_instance::Function;
use serde_json::{json, Value};

const OCSF_EC2: &str = "quarantine-instance/securityhub-v2-imported-guardduty-attack-sequence-ec2.json";
const ASFF_EC2: &str = "quarantine-instance/securityhub-imported-guardduty-attack-sequence-ec2.json";
const OCSF_IAM: &str = "revoke-credentials/securityhub-v2-imported-guardduty-attack-sequence-iam.json";
const OCSF_S3_WITH_KEY: &str = "contain-bucket/securityhub-v2-imported-guardduty-s3-with-access-key.json";
const OCSF_ECS: &str = "quarantine-task/securityhub-v2-imported-guardduty-runtime-ecs.json";
/// The native sequence's finding id, which both imports carry: one case for all three.
const SEQUENCE_FINDING: &str = "a4c9b1e7f03d42e88b6f2d1c9e7a5b30";

/// The OCSF sample pointed at real instances (its three `AWS::EC2::Instance` resources).
fn ocsf_event(instances: &[CompromisedInstance]) -> Value {
    let mut event = sample_event(OCSF_EC2);
    let resources = &mut event["detail"]["findings"][0]["resources"];
    for (slot, instance) in instances.iter().enumerate() {
        resources[slot]["uid"] = json!(format!("arn:aws:ec2:us-east-1:123456789012:instance/{}", instance.instance_id));
    }
    event
}

/// The ASFF sample pointed at real instances (its three `AwsEc2Instance` resources).
fn asff_event(instances: &[CompromisedInstance]) -> Value {
    let mut event = sample_event(ASFF_EC2);
    let resources = &mut event["detail"]["findings"][0]["Resources"];
    for (slot, instance) in instances.iter().enumerate() {
        resources[slot]["Id"] = json!(format!("arn:aws:ec2:us-east-1:123456789012:instance/{}", instance.instance_id));
        resources[slot]["Details"] = Value::Null;
    }
    event
}

async fn quarantine(build: impl FnOnce(&[CompromisedInstance]) -> Value) {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(scenario.compromised_instance(&Setup::bare()).await);
    }
    let dynamodb = ledger::create_table(&moto).await;
    let mut config = firebreak::respond::Settings::default();
    config.notify.security_hub = false;
    config.quarantine.common.cases_table = Some(TABLE.into());
    let function = Function { accounts: firebreak_tests::accounts(&moto).await, config };

    let response = quarantine_instance::handle(&function, LambdaEvent::new(build(&instances), Context::default()))
        .await
        .expect("handled");
    assert_eq!(response["outcome"], "contained", "{response:#}");
    assert_eq!(response["reports"].as_array().map(Vec::len), Some(3), "{response:#}");
    let case_id = firebreak::case::case_id_for(SEQUENCE_FINDING);
    assert_eq!(response["case_id"], json!(case_id), "the native sequence's case");
    for instance in &instances {
        let view = scenario.view(&instance.instance_id, None).await;
        assert_eq!(view.tags.get(tags::CASE), Some(&case_id), "{} in the case", instance.instance_id);
        let isolation = scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await;
        for (eni, groups) in &view.interface_groups {
            assert_eq!(groups, &vec![isolation[0].0.clone()], "{eni} isolated");
        }
        assert_eq!(view.snapshots.len(), instance.volume_ids.len(), "snapshots of {}", instance.instance_id);
    }
    assert_eq!(ledger::cases(&dynamodb).await.len(), 1, "one case");
}

#[tokio::test]
async fn an_ocsf_import_of_an_ec2_sequence_quarantines_every_instance_in_the_native_case() {
    quarantine(ocsf_event).await;
}

#[tokio::test]
async fn an_asff_import_of_an_ec2_sequence_quarantines_every_instance_in_the_native_case() {
    quarantine(asff_event).await;
}

#[tokio::test]
async fn an_ocsf_import_of_an_iam_sequence_disables_its_keys() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let iam = &scenario.iam;
    iam.create_user().user_name("ci-deploy").send().await.expect("CreateUser");
    let mut keys = Vec::new();
    for _ in 0..2 {
        let key = iam.create_access_key().user_name("ci-deploy").send().await.expect("CreateAccessKey");
        keys.push(key.access_key().expect("key").access_key_id().to_string());
    }
    let mut event = sample_event(OCSF_IAM);
    let finding = &mut event["detail"]["findings"][0];
    finding["resources"][0]["uid"] = json!(keys[0]);
    finding["resources"][1]["uid"] = json!(format!("AWS::IAM::AccessKey:{}", keys[1]));
    finding["actor"]["user"]["credential_uid"] = json!(keys[0]);

    let trigger = RevokeTrigger::from_event(&event).expect("an IAM sequence import");
    let accounts = firebreak_tests::home_only(scenario.clients.clone());
    let report =
        revoke::revoke_credentials(&accounts, &RevokeConfig::default(), &trigger, firebreak::deadline::Deadline::NONE)
            .await
            .expect("revoked");
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    assert_eq!(report.case_id, Some(firebreak::case::case_id_for("b7e2d9f0c1a34b5c8d6e7f8091a2b3c4")));
    let listed = iam.list_access_keys().user_name("ci-deploy").send().await.expect("ListAccessKeys");
    for key in listed.access_key_metadata() {
        assert_eq!(key.status(), Some(&StatusType::Inactive), "{key:?}");
    }
}

#[test]
fn an_s3_import_naming_the_callers_key_is_the_buckets() {
    let event = sample_event(OCSF_S3_WITH_KEY);
    let finding = native_or_imported(&event, &["S3Bucket"]).expect("contain-bucket takes it");
    assert_eq!(finding.resource.resource_type, "S3Bucket");
    // revoke-credentials' rule does not deliver it; were it delivered, it is refused, not acted on.
    let refused = RevokeTrigger::from_event(&event).expect_err("not an access-key finding");
    assert!(refused.to_string().contains("another resource"), "{refused}");
}

#[test]
fn an_ocsf_import_of_an_ecs_runtime_finding_names_its_task() {
    let event = sample_event(OCSF_ECS);
    let finding = firebreak::task::parse(&event).expect("quarantine-task takes it");
    let tasks = finding.ecs_tasks().expect("its task");
    assert_eq!(tasks.tasks.len(), 1, "{tasks:?}");
    assert!(tasks.tasks[0].task_arn.ends_with("/7c3f2e1d0b9a48c6a5f4e3d2c1b0a998"), "{tasks:?}");
    assert_eq!(tasks.tasks[0].cluster, "payments");
    assert_eq!(finding.finding_type, "Execution:Runtime/ReverseShell");
}
