//! The response policy and approval against moto: a held plan changes nothing, leaves one
//! `pending_approval` case and one notification; approval (direct invocation) re-plans and
//! contains, recording the approver; rejection closes with no change; `approve_within` contains
//! when its schedule fires (invoked with the input the schedule names, as Scheduler would) and
//! does nothing once answered; redeliveries and concurrent duplicates ask once, an approval acts
//! once. Security Hub's BatchUpdateFindings is absent from moto: these functions run with
//! `security_hub: false`, and `approval::notice` is unit-tested for the finding it addresses.

use firebreak::approval::Approvals;
use firebreak::cases::EntryKind;
use firebreak::response_policy::{Mode, Policy};
use firebreak_tests::approval::{invoke, policy, world, World, FUNCTION_ARN, GROUP, SCHEDULER_ROLE};
use firebreak_tests::ledger::TABLE;
use firebreak_tests::scenario::Setup;
use firebreak_tests::Moto;
use serde_json::{json, Value};

#[tokio::test]
async fn default_mode_approve_holds_the_finding_until_approved() {
    let world = world().await;
    let function = world.function(Policy::none(Mode::Approve)).await;
    let response = invoke(&function, world.event()).await.expect("handled");
    assert_eq!(response["outcome"], "pending_approval", "{response:#}");
    assert_eq!(world.groups().await, world.original_groups(), "nothing changed");
    let cases = world.cases().await;
    assert_eq!(cases.len(), 1, "{cases:#?}");
    let case = &cases[0];
    assert_eq!(case.state, "pending_approval");
    assert_eq!(case.entries.iter().map(|e| e.kind).collect::<Vec<_>>(), [EntryKind::Plan]);
    assert!(case.entries[0].plan.iter().any(|l| l.starts_with("isolate_network_interface")), "{case:#?}");
    assert!(case.entries[0]
        .policy
        .as_deref()
        .unwrap_or_default()
        .contains("no policy: FIREBREAK_DEFAULT_MODE approve"));
    assert!(case.trigger.as_deref().unwrap_or_default().contains("DenialOfService"), "the event is kept");
    let messages = world.moto.sns_messages(&world.topic);
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let text = messages[0].to_string();
    assert!(text.contains(&format!("firebreak approve {}", case.case_id)), "{text}");
    assert!(text.contains("isolate_network_interface"), "the plan in words: {text}");

    // A redelivery: no second case, no second notification.
    let again = invoke(&function, world.event()).await.expect("handled");
    assert_eq!(again["outcome"], "pending_approval", "{again:#}");
    assert_eq!(world.cases().await.len(), 1);
    assert_eq!(world.moto.sns_messages(&world.topic).len(), 1);

    // Approved: re-read, re-planned, contained, the approver recorded.
    let approve = json!({"approve": {"case_id": case.case_id, "approved_by": "alice"}});
    let approved = invoke(&function, approve.clone()).await.expect("approved");
    assert_eq!(approved["answer"], "approved", "{approved:#}");
    assert_eq!(approved["response"]["outcome"], "contained", "{approved:#}");
    assert_ne!(world.groups().await, world.original_groups(), "isolated");
    let case = &world.cases().await[0];
    assert_eq!((case.state.as_str(), case.answered_by.as_deref()), ("contained", Some("alice")));
    assert!(case.entries.iter().any(|e| e.kind == EntryKind::Answer && e.by == "alice"), "{case:#?}");

    // The approval redelivered acts no second time.
    let error = invoke(&function, approve).await.expect_err("answered already");
    assert_eq!(error.kind, "NotPendingApproval", "{error}");
    assert!(error.message.contains("answered by alice"), "{error}");
}

#[tokio::test]
async fn a_rejection_closes_the_case_and_changes_nothing() {
    let world = world().await;
    let function = world.function(Policy::none(Mode::Approve)).await;
    let response = invoke(&function, world.event()).await.expect("handled");
    let case_id = response["case_id"].as_str().expect("case").to_string();
    let reject = json!({"reject": {"case_id": case_id, "rejected_by": "bob", "reason": "planned load test"}});
    let rejected = invoke(&function, reject).await.expect("rejected");
    assert_eq!(rejected["answer"], "rejected", "{rejected:#}");
    let case = &world.cases().await[0];
    assert_eq!((case.state.as_str(), case.answered_by.as_deref()), ("rejected", Some("bob")));
    assert_eq!(case.answer_reason.as_deref(), Some("planned load test"));
    // A redelivery of the signal does not reopen it; nothing was ever changed.
    let again = invoke(&function, world.event()).await.expect("handled");
    assert_eq!(again["outcome"], "skipped", "{again:#}");
    assert_eq!(world.groups().await, world.original_groups());
    let approve = json!({"approve": {"case_id": case_id, "approved_by": "mallory"}});
    assert_eq!(invoke(&function, approve).await.expect_err("rejected").kind, "NotPendingApproval");
}

#[tokio::test]
async fn observe_records_the_plan_and_changes_nothing() {
    let world = world().await;
    let function = world
        .function(policy(
            r#"{"rules": [{"name": "watch DoS", "match": {"type": ["Backdoor:EC2/*"]}, "mode": "observe"}]}"#,
        ))
        .await;
    let response = invoke(&function, world.event()).await.expect("handled");
    assert_eq!(response["outcome"], "observed", "{response:#}");
    assert_eq!(world.groups().await, world.original_groups());
    let case = &world.cases().await[0];
    assert_eq!(case.state, "observed");
    assert!(case.entries[0].policy.as_deref().unwrap_or_default().starts_with("rule 1 \"watch DoS\""), "{case:#?}");
    assert!(world.moto.sns_messages(&world.topic).is_empty(), "observe asks no one");
}

#[tokio::test]
async fn a_contain_rule_acts_at_once_and_says_why() {
    let world = world().await;
    let function = world
        .function(policy(
            r#"{"default_mode": "approve", "rules": [
                {"name": "sandbox DoS relay", "match": {"type": ["Backdoor:EC2/DenialOfService.*"], "account": ["123456789012"], "severity": {"min": 7}}, "mode": "contain"}
            ]}"#,
        ))
        .await;
    let response = invoke(&function, world.event()).await.expect("handled");
    assert_eq!(response["outcome"], "contained", "{response:#}");
    let because = response["reports"][0]["policy"]["because"].as_str().unwrap_or_default().to_string();
    assert!(because.starts_with("rule 1 \"sandbox DoS relay\""), "{response:#}");
    assert!(world.cases().await[0].entries[0].policy.as_deref() == Some(because.as_str()));
}

async fn schedule_input(world: &World, case_id: &str) -> Value {
    let schedule = world
        .scheduler
        .get_schedule()
        .group_name(GROUP)
        .name(format!("firebreak-{case_id}"))
        .send()
        .await
        .expect("GetSchedule");
    assert!(schedule.schedule_expression().unwrap_or_default().starts_with("at("), "{schedule:?}");
    let target = schedule.target().expect("target");
    assert_eq!((target.arn(), target.role_arn()), (FUNCTION_ARN, SCHEDULER_ROLE));
    serde_json::from_str(target.input().expect("input")).expect("JSON input")
}

const WITHIN: &str = r#"{"rules": [{"name": "production within 15 minutes", "match": {"tags": ["Name=web-1"]}, "mode": "approve", "approve_within": "15m", "on_timeout": "contain"}]}"#;

#[tokio::test]
async fn approve_within_contains_when_the_schedule_fires() {
    let world = world().await;
    let function = world.function(policy(WITHIN)).await;
    let response = invoke(&function, world.event()).await.expect("handled");
    assert_eq!(response["outcome"], "pending_approval", "{response:#}");
    let case_id = response["case_id"].as_str().expect("case").to_string();
    let input = schedule_input(&world, &case_id).await;
    assert_eq!(input, json!({"approval_timeout": {"case_id": case_id}}));
    let fired = invoke(&function, input).await.expect("timeout handled");
    assert_eq!(fired["response"]["outcome"], "contained", "{fired:#}");
    assert_ne!(world.groups().await, world.original_groups(), "isolated");
    let case = &world.cases().await[0];
    assert_eq!(case.answered_by.as_deref(), Some("approve_within timeout"));
}

#[tokio::test]
async fn approve_within_does_nothing_once_answered() {
    let world = world().await;
    let function = world.function(policy(WITHIN)).await;
    let response = invoke(&function, world.event()).await.expect("handled");
    let case_id = response["case_id"].as_str().expect("case").to_string();
    let input = schedule_input(&world, &case_id).await;
    let reject = json!({"reject": {"case_id": case_id, "rejected_by": "carol"}});
    let rejected = invoke(&function, reject).await.expect("rejected");
    assert_eq!(rejected["schedule"], format!("firebreak-{case_id} deleted"), "{rejected:#}");
    let gone = world.scheduler.get_schedule().group_name(GROUP).name(format!("firebreak-{case_id}")).send().await;
    assert!(gone.is_err(), "the schedule is deleted when the case is answered");
    // Had it fired anyway (deleted too late), it finds the case answered.
    let fired = invoke(&function, input).await.expect("timeout handled");
    assert_eq!(fired["answer"], "none", "{fired:#}");
    assert_eq!(world.groups().await, world.original_groups());
    assert_eq!(world.cases().await[0].state, "rejected");
}

#[tokio::test]
async fn concurrent_duplicate_deliveries_ask_once_and_an_approval_acts_once() {
    let world = world().await;
    let (first, second) =
        (world.function(Policy::none(Mode::Approve)).await, world.function(Policy::none(Mode::Approve)).await);
    let (a, b) = tokio::join!(invoke(&first, world.event()), invoke(&second, world.event()));
    let (a, b) = (a.expect("handled"), b.expect("handled"));
    assert_eq!((a["outcome"].as_str(), b["outcome"].as_str()), (Some("pending_approval"), Some("pending_approval")));
    assert_eq!(world.cases().await.len(), 1);
    assert_eq!(world.moto.sns_messages(&world.topic).len(), 1, "one notification");
    let approve = json!({"approve": {"case_id": a["case_id"], "approved_by": "alice"}});
    let (x, y) = tokio::join!(invoke(&first, approve.clone()), invoke(&second, approve));
    assert_eq!([x.is_ok(), y.is_ok()].iter().filter(|ok| **ok).count(), 1, "{x:?} {y:?}");
    let case = &world.cases().await[0];
    assert_eq!(case.entries.iter().filter(|e| e.kind == EntryKind::Outcome).count(), 1, "acted once: {case:#?}");
}

#[tokio::test]
async fn an_invalid_policy_fails_the_cold_start_naming_the_line() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let ssm = aws_sdk_ssm::Client::new(&config);
    let bad = "{\n  \"rules\": [\n    {\"name\": \"x\", \"mode\": \"contian\"}\n  ]\n}";
    ssm.put_parameter()
        .name("/firebreak/policy")
        .value(bad)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("PutParameter");
    let env = |name: &str| match name {
        "FIREBREAK_POLICY_PARAMETER" => Some("/firebreak/policy".to_string()),
        "FIREBREAK_CASES_TABLE" => Some(TABLE.to_string()),
        _ => None,
    };
    let error = Approvals::from_lookup(env, &config).await.expect_err("invalid");
    assert!(error.to_string().contains("SSM parameter /firebreak/policy): line 3"), "{error}");
    let good = r#"{"rules": [{"name": "all", "mode": "observe"}]}"#;
    ssm.put_parameter().name("/firebreak/policy").value(good).overwrite(true).send().await.expect("PutParameter");
    let approvals = Approvals::from_lookup(env, &config).await.expect("valid").expect("a policy");
    assert_eq!(approvals.policy.rules.len(), 1);
    assert!(Approvals::from_lookup(|_| None, &config).await.expect("none").is_none(), "no policy: today's behaviour");
}

/// The policy's type globs apply to attack sequences like any finding: `AttackSequence:*` held
/// for approval changes nothing; the approval contains every instance the sequence names.
#[tokio::test]
async fn a_type_glob_holds_an_attack_sequence_for_approval() {
    let world = world().await;
    let second = world.scenario.compromised_instance(&Setup::bare()).await;
    let rules = r#"{"rules": [{"name": "attack sequences need approval", "match": {"type": ["AttackSequence:*"]}, "mode": "approve"}]}"#;
    let function = world.function(policy(rules)).await;
    let mut event =
        firebreak_tests::sample_event("quarantine-instance/guardduty-attack-sequence-ec2-instance-group.json");
    let resources = &mut event["detail"]["service"]["detection"]["sequence"]["resources"];
    resources[0]["uid"] = json!(world.instance.instance_id);
    resources[1]["data"]["autoscalingAutoScalingGroup"]["ec2InstanceUids"] = json!([second.instance_id]);

    let held = invoke(&function, event).await.expect("handled");
    assert_eq!(held["outcome"], "pending_approval", "{held:#}");
    assert!(held.to_string().contains("attack sequences need approval"), "the rule is named: {held:#}");
    assert_eq!(world.groups().await, world.original_groups(), "nothing changed");
    let cases = world.cases().await;
    assert_eq!(cases.len(), 1, "one case for the sequence: {cases:#?}");
    assert_eq!(cases[0].state, "pending_approval");

    let approve = json!({"approve": {"case_id": cases[0].case_id, "approved_by": "alice"}});
    let approved = invoke(&function, approve).await.expect("approved");
    assert_ne!(approved["outcome"], "failed", "{approved:#}");
    for instance in [&world.instance, &second] {
        let view = world.scenario.view(&instance.instance_id, None).await;
        let isolation = world.scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await;
        for (eni, groups) in &view.interface_groups {
            assert_eq!(groups, &vec![isolation[0].0.clone()], "{eni} of {} isolated", instance.instance_id);
        }
    }
}
