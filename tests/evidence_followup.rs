//! Snapshots still pending when quarantine-instance runs are copied by the follow-up it schedules.
//! moto completes every snapshot at once, so the fault proxy rewrites DescribeSnapshots' answers
//! (`completed` → `pending`) for as long as the sources are to look pending. The follow-up is
//! invoked as EventBridge Scheduler would invoke it: with the input of the schedule moto holds;
//! and under faults (throttled and lost CreateSchedule answers, concurrent duplicate follow-ups).

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use firebreak::accounts::{Accounts, AccountsConfig};
use firebreak::disk_evidence::follow_up::MAX_ATTEMPTS;
use firebreak::disk_evidence::{DiskEvidenceConfig, FollowUpSchedule, ForensicTarget};
use firebreak::engine::CommonConfig;
use firebreak::notify::NotifyConfig;
use firebreak::respond::Settings;
use firebreak::QuarantineConfig;
use firebreak_tests::approval::{invoke, world, World, FUNCTION_ARN, GROUP, SCHEDULER_ROLE};
use firebreak_tests::faults::{Fault, FaultProxy};
use firebreak_tests::ledger::TABLE;
use firebreak_tests::moto::sdk_config_for;
use firebreak_tests::on_large_stack;
use firebreak_tests::snapshots::forensic_copies;
use quarantine_instance::Function;
use serde_json::{json, Value};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const FORENSIC_ACCOUNT: &str = "444455556666";

struct Bench {
    world: World,
    proxy: FaultProxy,
    function: Function,
}

async fn bench() -> Bench {
    let world = world().await;
    let proxy = FaultProxy::start(&world.moto.endpoint);
    let accounts = Accounts::new(&sdk_config_for(&proxy.endpoint).await, AccountsConfig::default());
    let quarantine = QuarantineConfig {
        common: CommonConfig { cases_table: Some(TABLE.into()), ..CommonConfig::default() },
        disk_evidence: DiskEvidenceConfig {
            forensic: Some(ForensicTarget { kms_key_arn: KEY.into(), account_id: FORENSIC_ACCOUNT.into() }),
            follow_up: Some(FollowUpSchedule {
                group: GROUP.into(),
                role_arn: SCHEDULER_ROLE.into(),
                every: Duration::from_secs(1800),
            }),
            malware_scan: false,
        },
        ..QuarantineConfig::default()
    };
    let config = Settings {
        quarantine,
        notify: NotifyConfig { sns_topic_arn: None, security_hub: false },
        ..Settings::default()
    };
    Bench { world, proxy, function: Function { accounts, config } }
}

impl Bench {
    fn sources_pending(&self) {
        self.proxy.rewrite("DescribeSnapshots", "<status>completed</status>", "<status>pending</status>");
    }

    /// The input of the follow-up schedule named so, as Scheduler holds it; `None` when there is
    /// no such schedule.
    async fn scheduled(&self, name: &str) -> Option<Value> {
        let schedule = self.world.scheduler.get_schedule().group_name(GROUP).name(name).send().await.ok()?;
        assert!(schedule.schedule_expression().unwrap_or_default().starts_with("at("), "{schedule:?}");
        let target = schedule.target().expect("target");
        assert_eq!((target.arn(), target.role_arn()), (FUNCTION_ARN, SCHEDULER_ROLE));
        Some(serde_json::from_str(target.input().expect("input")).expect("JSON input"))
    }

    async fn copies(&self) -> Vec<(String, String, bool, String, String, Vec<String>)> {
        forensic_copies(&self.world.scenario.ec2).await
    }
}

fn step<'a>(response: &'a Value, name: &str) -> &'a Value {
    response["reports"][0]["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == name))
        .unwrap_or_else(|| panic!("no step {name}: {response:#}"))
}

fn schedule_name(case_id: &str, instance_id: &str, attempt: u32) -> String {
    format!("firebreak-copy-{case_id}-{instance_id}-{attempt}")
}

#[test]
fn pending_snapshots_are_copied_by_the_scheduled_follow_up_once_they_complete() {
    on_large_stack(|| async {
        let bench = bench().await;
        let instance_id = bench.world.instance.instance_id.clone();
        bench.sources_pending();

        let response = invoke(&bench.function, bench.world.event()).await.expect("quarantine runs");
        assert_eq!(response["outcome"], "contained", "{response:#}");
        let copy = step(&response, "copy_snapshots_to_forensic_account");
        assert_eq!(copy["waiting"].as_array().map(Vec::len), Some(2), "both sources wait: {copy:#}");
        assert!(bench.copies().await.is_empty(), "nothing is copied while the sources are pending");
        let case_id = response["case_id"].as_str().expect("case").to_string();
        let first = schedule_name(&case_id, &instance_id, 1);
        let scheduled =
            &response["follow_up"].as_array().unwrap().iter().find(|s| s["step"] == "schedule_evidence_followup");
        assert_eq!(scheduled.map(|s| s["outcome"].clone()), Some(json!("done")), "{response:#}");
        let input = bench.scheduled(&first).await.expect("the first follow-up is scheduled");
        assert_eq!(
            input,
            json!({"evidence_followup": {
                "case_id": case_id, "account": "123456789012", "region": "us-east-1",
                "instance_id": instance_id, "attempt": 1
            }})
        );

        // Still pending when it fires: nothing copied, the next attempt scheduled.
        let again = invoke(&bench.function, input).await.expect("follow-up runs");
        assert_eq!(again["outcome"], "completed", "{again:#}");
        assert!(bench.copies().await.is_empty());
        let second = bench.scheduled(&schedule_name(&case_id, &instance_id, 2)).await.expect("attempt 2 scheduled");

        // Completed by the next: both copied and shared, the case keeps its state, no third.
        bench.proxy.heal();
        let done = invoke(&bench.function, second.clone()).await.expect("follow-up runs");
        let copy = step(&done, "copy_snapshots_to_forensic_account");
        assert_eq!(copy["outcome"], "done", "{done:#}");
        assert!(copy.get("waiting").is_none(), "{copy:#}");
        let copies = bench.copies().await;
        assert_eq!(copies.len(), 2, "{copies:#?}");
        for (copy, _, encrypted, key, case, shared) in &copies {
            assert!(*encrypted && key == KEY, "{copy} is encrypted with the forensic key");
            assert_eq!(case, &case_id);
            assert_eq!(shared, &vec![FORENSIC_ACCOUNT.to_string()]);
        }
        assert!(bench.scheduled(&schedule_name(&case_id, &instance_id, 3)).await.is_none(), "no third attempt");
        let case = &bench.world.cases().await[0];
        assert_eq!(case.state, "contained", "a follow-up leaves the case's state: {case:?}");
        assert!(
            case.steps().any(|s| s.step == "copy_snapshots_to_forensic_account" && s.outcome == "done"),
            "the copies are in the case: {case:?}"
        );

        // A redelivered follow-up copies nothing twice.
        let redelivered = invoke(&bench.function, second).await.expect("follow-up runs");
        assert_eq!(step(&redelivered, "copy_snapshots_to_forensic_account")["outcome"], "skipped", "{redelivered:#}");
        assert_eq!(bench.copies().await, copies);
    });
}

#[test]
fn the_last_attempt_and_a_released_case_schedule_nothing_more() {
    on_large_stack(|| async {
        let bench = bench().await;
        let instance_id = bench.world.instance.instance_id.clone();
        bench.sources_pending();
        let response = invoke(&bench.function, bench.world.event()).await.expect("quarantine runs");
        let case_id = response["case_id"].as_str().expect("case").to_string();
        let mut input = bench.scheduled(&schedule_name(&case_id, &instance_id, 1)).await.expect("scheduled");

        input["evidence_followup"]["attempt"] = json!(MAX_ATTEMPTS);
        let last = invoke(&bench.function, input.clone()).await.expect("follow-up runs");
        assert!(last["reason"].as_str().unwrap_or_default().contains("still pending after 48 follow-ups"), "{last:#}");
        assert!(last["follow_up"].as_array().unwrap().is_empty(), "{last:#}");

        bench
            .world
            .dynamodb
            .update_item()
            .table_name(TABLE)
            .key("case_id", AttributeValue::S(case_id.clone()))
            .update_expression("SET #state = :released")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":released", AttributeValue::S("released".into()))
            .send()
            .await
            .expect("release the case");
        bench.proxy.heal();
        bench.proxy.reset_record();
        input["evidence_followup"]["attempt"] = json!(2);
        let released = invoke(&bench.function, input).await.expect("follow-up runs");
        assert!(released["reason"].as_str().unwrap_or_default().contains("is released"), "{released:#}");
        assert!(bench.copies().await.is_empty(), "a released case's snapshots are not followed up");
        assert!(bench.proxy.mutating_calls().is_empty(), "{:?}", bench.proxy.calls());
    });
}

#[test]
fn a_hostile_follow_up_is_refused_with_no_call() {
    on_large_stack(|| async {
        let bench = bench().await;
        bench.proxy.reset_record();
        let valid = json!({
            "case_id": "fb-0123456789abcdef", "account": "123456789012", "region": "us-east-1",
            "instance_id": "i-0123456789abcdef0", "attempt": 1
        });
        let mut hostile = Vec::new();
        for (field, value) in [
            ("attempt", json!(0)),
            ("attempt", json!(MAX_ATTEMPTS + 1)),
            ("account", json!("1234567890123")),
            ("instance_id", json!("i-0123/../x")),
            ("kms_key_arn", json!("arn:aws:kms:us-east-1:999999999999:key/attacker")),
        ] {
            let mut follow_up = valid.clone();
            follow_up[field] = value;
            hostile.push(json!({ "evidence_followup": follow_up }));
        }
        hostile.push(json!({ "evidence_followup": valid, "source": "aws.guardduty" }));
        for event in hostile {
            let error = invoke(&bench.function, event.clone()).await.expect_err("refused");
            assert_eq!(error.kind, "InvalidEvent", "{event}: {error:?}");
        }
        assert!(bench.proxy.calls().is_empty(), "no AWS call: {:?}", bench.proxy.calls());
    });
}

#[test]
fn duplicate_follow_ups_under_faults_make_one_schedule_and_one_copy_per_source() {
    on_large_stack(|| async {
        let bench = bench().await;
        let instance_id = bench.world.instance.instance_id.clone();
        bench.sources_pending();
        bench.proxy.fail_nth("CreateSchedule", 1, Fault::Throttle);
        let response = invoke(&bench.function, bench.world.event()).await.expect("quarantine runs");
        let case_id = response["case_id"].as_str().expect("case").to_string();
        let scheduled =
            response["follow_up"].as_array().unwrap().iter().find(|s| s["step"] == "schedule_evidence_followup");
        let scheduled = scheduled.expect("scheduled");
        assert_eq!(scheduled["outcome"], "done", "a throttled CreateSchedule is retried: {scheduled:#}");
        assert!(!scheduled["retries"].as_array().unwrap().is_empty(), "and reported: {scheduled:#}");
        let input = bench.scheduled(&schedule_name(&case_id, &instance_id, 1)).await.expect("scheduled");

        // Two deliveries of the follow-up at once, the first CreateSchedule answer lost: one next schedule.
        bench.proxy.fail_nth("CreateSchedule", 2, Fault::ResetAfterForwarding);
        let (a, b) = tokio::join!(invoke(&bench.function, input.clone()), invoke(&bench.function, input.clone()));
        for done in [a.expect("follow-up runs"), b.expect("follow-up runs")] {
            let step = &done["follow_up"][0];
            assert_eq!(
                (&step["step"], &step["outcome"]),
                (&json!("schedule_evidence_followup"), &json!("done")),
                "{done:#}"
            );
        }
        let second = bench.scheduled(&schedule_name(&case_id, &instance_id, 2)).await.expect("attempt 2 scheduled");
        let listed = bench.world.scheduler.list_schedules().group_name(GROUP).send().await.expect("ListSchedules");
        let names: Vec<&str> = listed.schedules().iter().filter_map(|s| s.name()).collect();
        assert_eq!(
            names.iter().filter(|n| n.starts_with("firebreak-copy-")).count(),
            2,
            "attempts 1 and 2 only: {names:?}"
        );

        // Completed: two concurrent deliveries of the next follow-up leave one copy per source.
        bench.proxy.heal();
        let (a, b) = tokio::join!(invoke(&bench.function, second.clone()), invoke(&bench.function, second.clone()));
        a.expect("follow-up runs");
        b.expect("follow-up runs");
        let copies = bench.copies().await;
        let mut sources: Vec<&str> = copies.iter().map(|c| c.1.as_str()).collect();
        sources.sort();
        sources.dedup();
        assert_eq!((copies.len(), sources.len()), (2, 2), "one copy per source: {copies:#?}");
        assert!(copies.iter().all(|c| c.5 == vec![FORENSIC_ACCOUNT.to_string()]), "{copies:#?}");
    });
}
