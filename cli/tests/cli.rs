//! The `firebreak` command as a responder runs it (see `common`): quarantine, cases, show,
//! revoke, plan, and bad input.

mod common;

use aws_sdk_iam::types::StatusType;
use common::{firebreak, setup, EventFile};
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::scenario::Setup;
use serde_json::Value;

const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";

#[tokio::test]
async fn quarantine_with_yes_isolates_the_instance_and_cases_and_show_find_its_case() {
    let (moto, scenario, instance, dynamodb) = setup(Setup::bare()).await;
    let before = scenario.view(&instance.instance_id, None).await;

    let run = firebreak(&moto, None, &["--table", TABLE, "quarantine", &instance.instance_id, "--yes"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("planned  isolate_network_interface"), "the plan first: {run}");
    assert!(run.stdout.contains("done     isolate_network_interface"), "each step as it finishes: {run}");
    assert!(run.stdout.contains(" contained ("), "{run}");

    let after = scenario.view(&instance.instance_id, None).await;
    assert_ne!(after.interface_groups, before.interface_groups, "isolated: {after:#?}");
    let cases = ledger::cases(&dynamodb).await;
    assert_eq!(cases.len(), 1, "{cases:#?}");
    let case = &cases[0];
    assert_eq!((case.state.as_str(), case.resource.as_str()), ("contained", instance.instance_id.as_str()));
    assert!(case.triggered_by.starts_with("cli:arn:aws:"), "{}", case.triggered_by);
    assert_eq!(
        case.signal.as_ref().map(|s| (s.source.as_str(), s.kind.as_str())),
        Some(("cli", "firebreak quarantine"))
    );

    let list = firebreak(&moto, Some(TABLE), &["cases"]);
    assert_eq!(list.code, 0, "{list}");
    let line = list.stdout.lines().find(|l| l.starts_with(&case.case_id)).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains("contained") && line.contains("quarantine-instance"), "{line}");
    assert!(line.contains("123456789012/us-east-1"), "{line}");

    let json = firebreak(&moto, Some(TABLE), &["cases", "--json", "--state", "contained"]);
    let listed: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(listed[0]["case_id"], case.case_id.as_str(), "{json}");
    let none = firebreak(&moto, Some(TABLE), &["cases", "--json", "--state", "released"]);
    assert_eq!(serde_json::from_str::<Value>(&none.stdout).unwrap(), serde_json::json!([]), "{none}");

    let show = firebreak(&moto, Some(TABLE), &["show", &case.case_id]);
    assert_eq!(show.code, 0, "{show}");
    for expected in
        [&case.case_id, "triggered by", "cli:arn:aws:", "isolate_network_interface", "firebreak:original-groups"]
    {
        assert!(show.stdout.contains(expected), "{expected}: {show}");
    }
    let show_json = firebreak(&moto, Some(TABLE), &["show", &case.case_id, "--json"]);
    let shown: Value = serde_json::from_str(&show_json.stdout).unwrap_or_else(|e| panic!("{e}: {show_json}"));
    assert_eq!(shown["state"], "contained");
    assert!(shown["recorded"].as_object().is_some_and(|r| !r.is_empty()), "{shown:#}");
}

#[tokio::test]
async fn without_yes_and_without_a_terminal_nothing_is_changed() {
    let (moto, scenario, instance, dynamodb) = setup(Setup::bare()).await;
    let before = scenario.view(&instance.instance_id, None).await;

    let run = firebreak(&moto, Some(TABLE), &["quarantine", &instance.instance_id]);
    assert_eq!(run.code, 3, "refused: {run}");
    assert!(run.stdout.contains("planned  isolate_network_interface"), "the plan is shown: {run}");
    assert!(run.stderr.contains("not confirmed") && run.stderr.contains("--yes"), "{run}");

    let dry = firebreak(&moto, Some(TABLE), &["quarantine", &instance.instance_id, "--dry-run"]);
    assert_eq!(dry.code, 0, "{dry}");
    assert!(dry.stdout.contains(" planned ("), "{dry}");

    assert_eq!(scenario.view(&instance.instance_id, None).await, before);
    assert!(ledger::cases(&dynamodb).await.is_empty(), "no case written");
}

#[tokio::test]
async fn plan_shows_what_the_function_would_do_and_changes_nothing() {
    let (moto, scenario, instance, dynamodb) = setup(Setup::bare()).await;
    let before = scenario.view(&instance.instance_id, None).await;
    let event = EventFile::new(&scenario.guardduty_event(DOS_EVENT, &instance));

    let run = firebreak(&moto, Some(TABLE), &["plan", event.path()]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("goes to quarantine-instance"), "{run}");
    assert!(run.stdout.contains("planned  isolate_network_interface"), "{run}");
    assert!(run.stdout.contains("outcome: planned"), "{run}");

    // The hourly sweep would close the world-open SSH rule of the scenario.
    let sweep = firebreak_tests::workspace_root().join("events/close-open-ports/schedule-sweep.json");
    let run = firebreak(&moto, Some(TABLE), &["plan", sweep.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("goes to close-open-ports") && run.stdout.contains("planned "), "{run}");

    assert_eq!(scenario.view(&instance.instance_id, None).await, before);
    let groups = scenario.groups_named(&instance.vpc_id, "web-ssh-open").await;
    assert!(
        !groups.is_empty() && groups.iter().all(|(_, ingress, ..)| *ingress > 0),
        "the open rule is still there: {groups:?}"
    );
    assert!(ledger::cases(&dynamodb).await.is_empty(), "a plan writes no case");
}

#[tokio::test]
async fn revoke_an_access_key_disables_it_and_records_the_case() {
    let (moto, scenario, _instance, dynamodb) = setup(Setup::bare()).await;
    scenario.iam.create_user().user_name("leaky").send().await.expect("CreateUser");
    let key = scenario.iam.create_access_key().user_name("leaky").send().await.expect("CreateAccessKey");
    let key_id = key.access_key().unwrap().access_key_id().to_string();

    let run = firebreak(&moto, Some(TABLE), &["revoke", "--access-key", &key_id, "--yes"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("done     deactivate_access_key"), "{run}");

    let keys = scenario.iam.list_access_keys().user_name("leaky").send().await.expect("ListAccessKeys");
    assert_eq!(keys.access_key_metadata()[0].status(), Some(&StatusType::Inactive));
    let cases = ledger::cases(&dynamodb).await;
    assert_eq!(cases.len(), 1, "{cases:#?}");
    assert_eq!((cases[0].function.as_str(), cases[0].resource.as_str()), ("revoke-credentials", "leaky"));
}

#[tokio::test]
async fn bad_input_is_a_clear_error_and_changes_nothing() {
    let (moto, scenario, instance, dynamodb) = setup(Setup::bare()).await;
    let before = scenario.view(&instance.instance_id, None).await;

    let malformed = firebreak(&moto, Some(TABLE), &["show", "fb-NOT-A-CASE"]);
    assert_eq!(malformed.code, 2, "{malformed}");
    assert!(malformed.stderr.contains("a case id is fb- followed by 16 lowercase hex digits"), "{malformed}");

    let unknown = firebreak(&moto, Some(TABLE), &["show", "fb-0000000000000000"]);
    assert_eq!(unknown.code, 2, "{unknown}");
    assert!(unknown.stderr.contains("no case fb-0000000000000000"), "{unknown}");

    let no_table = firebreak(&moto, None, &["cases"]);
    assert_eq!(no_table.code, 2, "{no_table}");
    assert!(no_table.stderr.contains("FIREBREAK_CASES_TABLE"), "{no_table}");

    let no_instance = firebreak(&moto, Some(TABLE), &["quarantine", "i-0123456789abcdef0", "--yes"]);
    assert_eq!(no_instance.code, 2, "{no_instance}");
    assert!(no_instance.stderr.contains("does not exist"), "{no_instance}");

    let not_an_event = EventFile::new(&serde_json::json!({"source": "aws.s3", "detail-type": "Object Created"}));
    let unrouted = firebreak(&moto, Some(TABLE), &["plan", not_an_event.path()]);
    assert_eq!(unrouted.code, 2, "{unrouted}");
    assert!(unrouted.stderr.contains("no function for this event"), "{unrouted}");

    assert!(!malformed.stderr.contains("panicked"), "{malformed}");
    for run in [&unknown, &no_table, &no_instance, &unrouted] {
        assert_eq!(run.stderr.lines().count(), 1, "one sentence, no panic: {run}");
    }
    assert_eq!(scenario.view(&instance.instance_id, None).await, before);
    assert!(ledger::cases(&dynamodb).await.is_empty());
}
