//! The case ledger against moto's DynamoDB: every delivery writes its case, before acting and
//! after; redeliveries and concurrent duplicates share one case and one owner; a released case is
//! not acted on again; a ledger that cannot be written does not stop containment.

use firebreak::cases::{Case, EntryKind};
use firebreak::engine::CommonConfig;
use firebreak::notify::NotifyConfig;
use firebreak::respond::Settings;
use firebreak::tags;
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::{Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use quarantine_instance::Function;
use serde_json::{json, Value};

const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";

fn settings(table: &str) -> Settings {
    let mut settings =
        Settings { notify: NotifyConfig { sns_topic_arn: None, security_hub: false }, ..Settings::default() };
    settings.quarantine.common = CommonConfig { cases_table: Some(table.into()), ..CommonConfig::default() };
    settings
}

async fn function(moto: &Moto, table: &str) -> Function {
    Function { accounts: firebreak_tests::accounts(moto).await, config: settings(table) }
}

async fn quarantine(function: &Function, event: Value) -> Value {
    quarantine_instance::handle(function, LambdaEvent::new(event, Context::default())).await.expect("handled")
}

async fn setup(setup: Setup) -> (Moto, Scenario, CompromisedInstance, aws_sdk_dynamodb::Client) {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&setup).await;
    let dynamodb = ledger::create_table(&moto).await;
    (moto, scenario, instance, dynamodb)
}

fn kinds(case: &Case) -> Vec<EntryKind> {
    case.entries.iter().map(|e| e.kind).collect()
}

#[tokio::test]
async fn a_quarantine_writes_its_plan_first_then_its_outcome_and_what_it_recorded() {
    let (moto, scenario, instance, dynamodb) = setup(Setup::default()).await;
    let function = function(&moto, TABLE).await;
    let event = scenario.guardduty_event(DOS_EVENT, &instance);
    let response = quarantine(&function, event.clone()).await;
    assert_eq!(response["outcome"], "contained", "{response:#}");

    let cases = ledger::cases(&dynamodb).await;
    assert_eq!(cases.len(), 1, "{cases:#?}");
    let case = &cases[0];
    assert_eq!(Some(case.case_id.as_str()), response["case_id"].as_str());
    assert_eq!((case.state.as_str(), case.function.as_str()), ("contained", "quarantine-instance"));
    assert_eq!(case.resource, instance.instance_id);
    assert_eq!(case.triggered_by, "aws.guardduty");
    assert_eq!(case.signal.as_ref().map(|s| s.kind.as_str()), Some("Backdoor:EC2/DenialOfService.Tcp"));
    assert_eq!(kinds(case), [EntryKind::Plan, EntryKind::Outcome]);
    assert!(case.entries[0].plan.iter().any(|l| l.starts_with("isolate_network_interface")), "{case:#?}");

    // What the release needs, per resource, as the tags have it.
    let recorded = case.recorded();
    for (eni, groups) in &instance.interfaces {
        assert_eq!(recorded[eni][tags::ORIGINAL_GROUPS], groups.join(","), "{recorded:#?}");
    }
    let on_instance = &recorded[&instance.instance_id];
    assert_eq!(on_instance[tags::AUTOSCALING_GROUP], "web-asg");
    assert_eq!(on_instance[tags::TERMINATION_PROTECTION_BEFORE], "false");
    assert_eq!(on_instance[tags::SHUTDOWN_BEHAVIOR_BEFORE], "stop", "moto launches with shutdown behaviour stop");
    assert!(on_instance[tags::TARGET_GROUPS].starts_with(instance.target_group_arn.as_deref().unwrap()));
    assert!(on_instance.contains_key(tags::INSTANCE_PROFILE));

    // A redelivery appends to the same case, under the same owner.
    let again = quarantine(&function, event).await;
    assert_eq!(again["outcome"], "contained", "{again:#}");
    let cases = ledger::cases(&dynamodb).await;
    assert_eq!(cases.len(), 1);
    assert_eq!(kinds(&cases[0]), [EntryKind::Plan, EntryKind::Outcome, EntryKind::Plan, EntryKind::Outcome]);
    assert_eq!(cases[0].owner, case.owner);
    assert_eq!(cases[0].recorded(), recorded, "a redelivery never overwrites what was recorded");
}

#[tokio::test]
async fn concurrent_duplicate_deliveries_make_one_case_with_one_owner() {
    let (moto, scenario, instance, dynamodb) = setup(Setup::bare()).await;
    let (first, second) = (function(&moto, TABLE).await, function(&moto, TABLE).await);
    let event = scenario.guardduty_event(DOS_EVENT, &instance);
    let (a, b) = tokio::join!(quarantine(&first, event.clone()), quarantine(&second, event));
    assert_eq!(a["case_id"], b["case_id"]);
    let cases = ledger::cases(&dynamodb).await;
    assert_eq!(cases.len(), 1, "{cases:#?}");
    let case = &cases[0];
    assert_eq!(case.entries.len(), 4, "both deliveries appended: {case:#?}");
    let owners: Vec<&str> = case.entries.iter().map(|e| e.by.as_str()).collect();
    assert!(owners.contains(&case.owner.as_str()), "the owner is one of the two deliveries");
    assert!(matches!(case.state.as_str(), "contained" | "contained_with_errors"), "{case:#?}");
}

#[tokio::test]
async fn a_decision_not_to_act_is_a_case_too() {
    let (moto, scenario, instance, dynamodb) = setup(Setup::bare()).await;
    let function = function(&moto, TABLE).await;
    let mut event = scenario.guardduty_event(DOS_EVENT, &instance);
    event["detail"]["severity"] = json!(2.0);
    let response = quarantine(&function, event).await;
    assert_eq!(response["outcome"], "skipped", "{response:#}");
    let cases = ledger::cases(&dynamodb).await;
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].state, "skipped");
    assert_eq!(kinds(&cases[0]), [EntryKind::Outcome]);
    assert!(cases[0].entries[0].reason.as_deref().unwrap_or_default().contains("severity"), "{:#?}", cases[0]);
}

#[tokio::test]
async fn a_released_case_is_not_contained_again_by_a_redelivery() {
    let (moto, scenario, instance, dynamodb) = setup(Setup::bare()).await;
    let function = function(&moto, TABLE).await;
    let event = scenario.guardduty_event(DOS_EVENT, &instance);
    let response = quarantine(&function, event.clone()).await;
    let case_id = response["case_id"].as_str().unwrap().to_string();
    let released = firebreak::aws::cases::release(
        &dynamodb,
        TABLE,
        &case_id,
        &["contained"],
        &[("released_by", "alice".to_string())],
        "{}",
    )
    .await
    .unwrap();
    assert!(released);
    let again = quarantine(&function, event).await;
    assert_eq!(again["outcome"], "skipped", "{again:#}");
    assert!(again["reports"][0]["reason"].as_str().unwrap().contains("released"), "{again:#}");
}

#[tokio::test]
async fn a_ledger_that_cannot_be_written_does_not_stop_containment() {
    let (moto, scenario, instance, _dynamodb) = setup(Setup::bare()).await;
    let function = function(&moto, "no-such-table").await;
    let response = quarantine(&function, scenario.guardduty_event(DOS_EVENT, &instance)).await;
    assert_eq!(response["outcome"], "contained_with_errors", "{response:#}");
    let steps = response["reports"][0]["steps"].as_array().unwrap();
    let failed: Vec<&Value> = steps.iter().filter(|s| s["step"] == "record_case").collect();
    assert_eq!(failed.len(), 2, "before and after: {response:#}");
    assert!(failed[0]["detail"].as_str().unwrap().contains("the resource tags still record"));
    let view = scenario.view(&instance.instance_id, None).await;
    assert!(view.tags.contains_key(tags::CASE), "contained all the same");
}
