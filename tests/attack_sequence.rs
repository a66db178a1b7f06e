//! quarantine-instance on a GuardDuty attack sequence (`AttackSequence:EC2/CompromisedInstanceGroup`)
//! against moto: every instance the sequence names is contained, in one case.

use firebreak::events::{EventError, GuardDutyFinding};
use firebreak::respond::InstanceTrigger;
use firebreak::tags;
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::{Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use quarantine_instance::Function;
use serde_json::{json, Value};

const SEQUENCE_EVENT: &str = "quarantine-instance/guardduty-attack-sequence-ec2-instance-group.json";

/// The sample, pointed at real instances: the first by ARN as an EC2_INSTANCE resource, the
/// others through the Auto Scaling group's `ec2InstanceUids`.
fn sequence_event(direct: &CompromisedInstance, grouped: &[&CompromisedInstance]) -> Value {
    let mut event = firebreak_tests::sample_event(SEQUENCE_EVENT);
    let resources = &mut event["detail"]["service"]["detection"]["sequence"]["resources"];
    resources[0]["uid"] = json!(format!("arn:aws:ec2:us-east-1:123456789012:instance/{}", direct.instance_id));
    resources[1]["data"]["autoscalingAutoScalingGroup"]["ec2InstanceUids"] =
        json!(grouped.iter().map(|i| i.instance_id.clone()).collect::<Vec<_>>());
    event
}

async fn handle(function: &Function, event: Value) -> Value {
    quarantine_instance::handle(function, LambdaEvent::new(event, Context::default())).await.expect("handled")
}

#[tokio::test]
async fn a_sequence_quarantines_every_instance_it_names_in_one_case() {
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
    let event = sequence_event(&instances[0], &[&instances[1], &instances[2]]);

    let response = handle(&function, event.clone()).await;
    assert_eq!(response["outcome"], "contained", "{response:#}");
    assert_eq!(response["reports"].as_array().map(Vec::len), Some(3), "{response:#}");
    let unresolved = response["unresolved"].to_string();
    assert!(unresolved.contains("IAM_INSTANCE_PROFILE"), "the profile is reported, not acted on: {unresolved}");
    let case_id = response["case_id"].as_str().expect("a case").to_string();
    assert_eq!(case_id, firebreak::case::case_id_for("a4c9b1e7f03d42e88b6f2d1c9e7a5b30"));

    let mut before = Vec::new();
    for instance in &instances {
        let view = scenario.view(&instance.instance_id, None).await;
        assert_eq!(view.tags.get(tags::CASE), Some(&case_id), "{} in the case", instance.instance_id);
        let isolation = scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await;
        assert_eq!(isolation.len(), 1, "one isolation group in {}", instance.vpc_id);
        for (eni, groups) in &view.interface_groups {
            assert_eq!(groups, &vec![isolation[0].0.clone()], "{eni} isolated");
        }
        assert_eq!(view.snapshots.len(), instance.volume_ids.len(), "snapshots of {}", instance.instance_id);
        before.push(view);
    }
    let cases = ledger::cases(&dynamodb).await;
    assert_eq!(cases.len(), 1, "one ledger item: {cases:#?}");
    assert_eq!(cases[0].case_id, case_id);

    // A redelivery changes nothing: no second snapshot, no second group, the same case.
    let again = handle(&function, event).await;
    assert_ne!(again["outcome"], "failed", "{again:#}");
    for (instance, view) in instances.iter().zip(&before) {
        assert_eq!(&scenario.view(&instance.instance_id, None).await, view, "{} unchanged", instance.instance_id);
        assert_eq!(scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await.len(), 1);
    }
    assert_eq!(ledger::cases(&dynamodb).await.len(), 1);
}

fn uids(event: &mut Value) -> &mut Value {
    &mut event["detail"]["service"]["detection"]["sequence"]["resources"][1]["data"]["autoscalingAutoScalingGroup"]
        ["ec2InstanceUids"]
}

fn refused(event: &Value) -> EventError {
    InstanceTrigger::from_event(event).expect_err("refused")
}

#[test]
fn hostile_sequences_are_refused_before_any_call() {
    let sample = firebreak_tests::sample_event(SEQUENCE_EVENT);
    assert!(InstanceTrigger::from_event(&sample).is_ok());
    let finding = GuardDutyFinding::from_event(&sample).unwrap();
    let found = finding.sequence_instances().unwrap();
    assert_eq!(found.instance_ids, ["i-0a1b2c3d4e5f60718", "i-0b1c2d3e4f5a60719", "i-0c2d3e4f5a6b7082a"]);

    // Hundreds of instances: refused whole, not half-contained.
    let mut many = sample.clone();
    *uids(&mut many) = json!((0..200).map(|n| format!("i-{n:017x}")).collect::<Vec<_>>());
    assert!(refused(&many).to_string().contains("200 entries"));
    // 60 per group, two groups: each list within the bound, 120 in all.
    let mut spread = sample.clone();
    *uids(&mut spread) = json!((0..60).map(|n| format!("i-{n:017x}")).collect::<Vec<_>>());
    let mut second = spread["detail"]["service"]["detection"]["sequence"]["resources"][1].clone();
    second["data"]["autoscalingAutoScalingGroup"]["ec2InstanceUids"] =
        json!((100..160).map(|n| format!("i-{n:017x}")).collect::<Vec<_>>());
    spread["detail"]["service"]["detection"]["sequence"]["resources"].as_array_mut().unwrap().push(second);
    assert!(refused(&spread).to_string().contains("instances named by the sequence"));
    // Another account's instance, by its resource's accountId or by its ARN.
    let mut foreign = sample.clone();
    foreign["detail"]["service"]["detection"]["sequence"]["resources"][1]["accountId"] = json!("210987654321");
    assert!(refused(&foreign).to_string().contains("another account"));
    let mut foreign_arn = sample.clone();
    foreign_arn["detail"]["service"]["detection"]["sequence"]["resources"][0]["uid"] =
        json!("arn:aws:ec2:us-east-1:210987654321:instance/i-0a1b2c3d4e5f60718");
    assert!(refused(&foreign_arn).to_string().contains("another account"));
    // Uids of the wrong shape.
    for bad in [json!("sg-0a1b2c3d4e5f60718"), json!("i-../../x"), json!(42), json!("arn:aws:s3:::bucket/i-0a1b2c3d")] {
        let mut malformed = sample.clone();
        *uids(&mut malformed) = json!([bad.clone()]);
        assert!(matches!(refused(&malformed), EventError::InvalidField { .. }), "{bad}");
    }
    // A sequence naming no instance is not this function's.
    let mut none = sample.clone();
    none["detail"]["service"]["detection"]["sequence"]["resources"] = json!([]);
    assert!(matches!(refused(&none), EventError::UnsupportedFinding { .. }));
}
