//! `firebreak show CASE` reports the case's evidence capture: a quarantine by the command with the
//! evidence variables set sends Firebreak's document (moto records it; moto has no
//! DescribeInstanceInformation, which the SSM shim answers, reached through the SDK's
//! service-specific endpoint `AWS_ENDPOINT_URL_SSM`), then `show` reads the command back
//! (GetCommandInvocation in the case's account) and prints its status, in text and in JSON.

mod common;

use common::{firebreak, firebreak_with, setup};
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::scenario::Setup;
use firebreak_tests::ssm_shim::SsmShim;
use serde_json::Value;

const BUCKET: &str = "firebreak-evidence-cli";
const DOCUMENT: &str = "Firebreak-CaptureEvidence";

#[tokio::test]
async fn show_prints_the_status_of_the_cases_evidence_capture() {
    let (moto, scenario, instance, dynamodb) = setup(Setup::bare()).await;
    scenario.clients.s3.create_bucket().bucket(BUCKET).send().await.expect("CreateBucket");
    scenario
        .clients
        .ssm
        .create_document()
        .name(DOCUMENT)
        .document_type("Command".into())
        .content(r#"{"schemaVersion":"2.2","description":"test","parameters":{"Bucket":{"type":"String"},"Prefix":{"type":"String"}},"mainSteps":[{"action":"aws:runShellScript","name":"capture","inputs":{"runCommand":["true"]}}]}"#)
        .send()
        .await
        .expect("CreateDocument");
    let shim = SsmShim::start(&moto.endpoint);
    shim.manage(&instance.instance_id, "Linux");
    let env = [
        ("FIREBREAK_EVIDENCE_BUCKET", BUCKET),
        ("FIREBREAK_EVIDENCE_DOCUMENT", DOCUMENT),
        ("AWS_ENDPOINT_URL_SSM", shim.endpoint.as_str()),
    ];

    let run = firebreak_with(&moto, Some(TABLE), &env, &["quarantine", &instance.instance_id, "--yes"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("done     capture_volatile_state"), "{run}");
    let cases = ledger::cases(&dynamodb).await;
    let case = &cases[0];
    let commands = scenario.clients.ssm.list_commands().send().await.expect("ListCommands");
    let [command] = commands.commands() else { panic!("one command: {commands:#?}") };
    let command_id = command.command_id().unwrap_or_default();

    let show = firebreak(&moto, Some(TABLE), &["show", &case.case_id]);
    assert_eq!(show.code, 0, "{show}");
    let line = format!("evidence capture on {}: command {command_id} ", instance.instance_id);
    let printed = show.stdout.lines().find(|l| l.starts_with(&line)).unwrap_or_else(|| panic!("{line}: {show}"));
    // moto records commands and never runs them; its invocation answers a status all the same.
    let status = printed.trim_start_matches(&line);
    assert!(!status.is_empty() && !status.starts_with("not readable"), "{printed}");

    let json = firebreak(&moto, Some(TABLE), &["show", &case.case_id, "--json"]);
    let shown: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(
        shown["evidence_commands"],
        serde_json::json!([{"instance_id": instance.instance_id, "command_id": command_id, "status": status}]),
        "{shown:#}"
    );
}
