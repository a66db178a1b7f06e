//! The `firebreak` command as a responder runs it: a process, against moto through
//! `AWS_ENDPOINT_URL`, with nothing read from the machine's own AWS configuration.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use aws_sdk_iam::types::StatusType;
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::{Moto, Scenario};
use serde_json::Value;

const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs `firebreak ARGS` against the emulator, with no terminal on stdin.
fn firebreak(moto: &Moto, table: Option<&str>, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_firebreak"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("FIREBREAK_") || n.starts_with("AWS_")) {
        command.env_remove(name);
    }
    let nowhere = std::env::temp_dir().join("firebreak-cli-test-no-aws-config");
    command
        .args(args)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", &nowhere)
        .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    if let Some(table) = table {
        command.env("FIREBREAK_CASES_TABLE", table);
    }
    let output = command.output().expect("firebreak runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn setup() -> (Moto, Scenario, CompromisedInstance, aws_sdk_dynamodb::Client) {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    let dynamodb = ledger::create_table(&moto).await;
    (moto, scenario, instance, dynamodb)
}

/// An event file for `firebreak plan`, removed when dropped.
struct EventFile(PathBuf);

impl EventFile {
    fn new(event: &Value) -> Self {
        let path = std::env::temp_dir().join(format!(
            "firebreak-cli-{}-{:?}.json",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        ));
        std::fs::write(&path, event.to_string()).unwrap();
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for EventFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn quarantine_with_yes_isolates_the_instance_and_cases_and_show_find_its_case() {
    let (moto, scenario, instance, dynamodb) = setup().await;
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
    let (moto, scenario, instance, dynamodb) = setup().await;
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
    let (moto, scenario, instance, dynamodb) = setup().await;
    let before = scenario.view(&instance.instance_id, None).await;
    let event = EventFile::new(&scenario.guardduty_event(DOS_EVENT, &instance));

    let run = firebreak(&moto, Some(TABLE), &["plan", event.path()]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("goes to quarantine-instance"), "{run}");
    assert!(run.stdout.contains("planned  isolate_network_interface"), "{run}");
    assert!(run.stdout.contains("outcome: planned"), "{run}");

    assert_eq!(scenario.view(&instance.instance_id, None).await, before);
    assert!(ledger::cases(&dynamodb).await.is_empty(), "a plan writes no case");
}

#[tokio::test]
async fn revoke_an_access_key_disables_it_and_records_the_case() {
    let (moto, scenario, _instance, dynamodb) = setup().await;
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
    let (moto, scenario, instance, dynamodb) = setup().await;
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
