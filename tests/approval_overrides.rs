//! A rule's `overrides` change the settings the plan is made with, for that signal only, on
//! moto: the DoS relay's quarantine without the stop or without snapshots, at once and on
//! approval (re-planned with the same overrides); revoke-credentials going further than its
//! configuration. The report says what the rule changed (`policy.overrides`).

use firebreak::respond::Settings;
use firebreak::response_policy::{Mode, Policy};
use firebreak::revoke::RevokeConfig;
use firebreak_tests::approval::{invoke, policy, world};
use firebreak_tests::sample_event;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

/// A function configured to snapshot and stop: the most a rule can take away.
fn stopping() -> Settings {
    let mut settings = Settings::default();
    settings.quarantine.stop_instance = true;
    settings.quarantine.snapshot = true;
    settings
}

fn steps(report: &Value) -> Vec<String> {
    let steps = report["steps"].as_array().cloned().unwrap_or_default();
    steps.iter().filter_map(|s| s["step"].as_str().or(s["name"].as_str()).map(String::from)).collect()
}

#[tokio::test]
async fn without_overrides_the_function_snapshots_and_stops() {
    let world = world().await;
    let function = world.function_with(Policy::none(Mode::Contain), stopping()).await;
    let response = invoke(&function, world.event()).await.expect("handled");
    let report = &response["reports"][0];
    assert_eq!(report["outcome"], "contained", "{response:#}");
    assert!(steps(report).contains(&"stop_instance".to_string()), "{response:#}");
    assert!(report["policy"]["overrides"].is_null(), "nothing overridden: {response:#}");
    let view = world.scenario.view(&world.instance.instance_id, None).await;
    assert!(view.state == "stopped" || view.state == "stopping", "{view:?}");
    assert!(!view.snapshots.is_empty(), "{view:?}");
}

#[tokio::test]
async fn a_stop_instance_override_keeps_the_instance_running_and_the_report_says_so() {
    let world = world().await;
    let rules = r#"{"rules": [{"name": "keep relays running", "match": {"type": ["Backdoor:EC2/*"]}, "mode": "contain", "overrides": {"stop_instance": false}}]}"#;
    let function = world.function_with(policy(rules), stopping()).await;
    let response = invoke(&function, world.event()).await.expect("handled");
    let report = &response["reports"][0];
    assert_eq!(report["outcome"], "contained", "{response:#}");
    assert_eq!(report["policy"]["overrides"], json!(["stop_instance false"]), "{response:#}");
    assert!(!steps(report).contains(&"stop_instance".to_string()), "{response:#}");
    assert!(steps(report).contains(&"snapshot_volumes".to_string()), "snapshots kept: {response:#}");
    let view = world.scenario.view(&world.instance.instance_id, None).await;
    assert_eq!(view.state, "running");
    assert!(!view.snapshots.is_empty(), "{view:?}");
    assert_ne!(world.groups().await, world.original_groups(), "isolated all the same");
}

#[tokio::test]
async fn a_snapshot_override_takes_no_snapshot_and_so_no_stop() {
    let world = world().await;
    let rules = r#"{"rules": [{"name": "no snapshots", "match": {"account": ["123456789012"]}, "mode": "contain", "overrides": {"snapshot": false}}]}"#;
    let function = world.function_with(policy(rules), stopping()).await;
    let response = invoke(&function, world.event()).await.expect("handled");
    let report = &response["reports"][0];
    assert_eq!(report["outcome"], "contained", "{response:#}");
    // Never stopped before its volumes are snapshotted: no snapshot, no stop.
    assert_eq!(report["policy"]["overrides"], json!(["snapshot false", "stop_instance false"]), "{response:#}");
    let view = world.scenario.view(&world.instance.instance_id, None).await;
    assert!(view.snapshots.is_empty(), "{view:?}");
    assert_eq!(view.state, "running");
    assert_ne!(world.groups().await, world.original_groups(), "isolated");
}

#[tokio::test]
async fn an_approved_plan_is_re_planned_with_the_rules_overrides() {
    let world = world().await;
    let rules = r#"{"rules": [{"name": "ask, never stop", "match": {"type": ["Backdoor:EC2/*"]}, "mode": "approve", "overrides": {"stop_instance": false}}]}"#;
    let function = world.function_with(policy(rules), stopping()).await;
    let held = invoke(&function, world.event()).await.expect("handled");
    assert_eq!(held["outcome"], "pending_approval", "{held:#}");
    let case = &world.cases().await[0];
    assert!(!case.entries[0].plan.iter().any(|l| l.starts_with("stop_instance")), "the held plan: {case:#?}");
    let approve = json!({"approve": {"case_id": case.case_id, "approved_by": "alice"}});
    let approved = invoke(&function, approve).await.expect("approved");
    let report = &approved["response"]["reports"][0];
    assert_eq!(report["outcome"], "contained", "{approved:#}");
    assert_eq!(report["policy"]["overrides"], json!(["stop_instance false"]), "{approved:#}");
    assert_eq!(world.scenario.view(&world.instance.instance_id, None).await.state, "running");
    assert_ne!(world.groups().await, world.original_groups(), "isolated");
}

/// revoke-credentials configured to disable only the leaked key: a rule makes it disable every
/// key and delete the console password, for this signal.
#[tokio::test]
async fn revoke_overrides_go_further_than_the_configuration() {
    let world = world().await;
    let iam = &world.scenario.iam;
    iam.create_user().user_name("deploy-bot").send().await.expect("CreateUser");
    iam.create_login_profile()
        .user_name("deploy-bot")
        .password("Corr3ct-Horse-Battery!")
        .send()
        .await
        .expect("CreateLoginProfile");
    let mut keys = Vec::new();
    for _ in 0..2 {
        let key = iam.create_access_key().user_name("deploy-bot").send().await.expect("CreateAccessKey");
        keys.push(key.access_key.expect("key").access_key_id);
    }
    let rules = r#"{"rules": [{"name": "leaked keys: everything", "match": {"function": ["revoke-credentials"]}, "mode": "contain", "overrides": {"deactivate_all_keys": true, "delete_login_profile": true}}]}"#;
    let function = revoke_credentials::Function {
        accounts: firebreak_tests::accounts(&world.moto).await.with_approvals(world.approvals(policy(rules))),
        config: RevokeConfig::default(),
    };
    let mut event = sample_event("revoke-credentials/guardduty-iam-user-malicious-ip.json");
    event["detail"]["resource"]["accessKeyDetails"]["userName"] = json!("deploy-bot");
    event["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = json!(keys[0]);
    let report =
        revoke_credentials::handle(&function, LambdaEvent::new(event, Context::default())).await.expect("handled");
    assert_eq!(report["outcome"], "contained", "{report:#}");
    assert_eq!(
        report["policy"]["overrides"],
        json!(["deactivate_all_keys true", "delete_login_profile true"]),
        "{report:#}"
    );
    let listed = iam.list_access_keys().user_name("deploy-bot").send().await.expect("ListAccessKeys");
    let statuses: Vec<_> =
        listed.access_key_metadata().iter().map(|k| k.status().map(|s| s.as_str().to_string())).collect();
    assert_eq!(statuses, [Some("Inactive".to_string()), Some("Inactive".to_string())], "both keys disabled");
    let profile = iam.get_login_profile().user_name("deploy-bot").send().await;
    assert!(profile.is_err(), "console password deleted");
}
