//! Cases and their release under fire (the fault proxy of `firebreak_tests::faults` between the
//! SDK and moto, DynamoDB included): a quarantine that dies mid-way and its redelivery leave one
//! consistent case; throttling, lost responses, a crash mid-release and its redelivery, and two
//! releases at once each end with the instance exactly as before the case, released once.

use firebreak::accounts::{Accounts, AccountsConfig};
use firebreak::deadline::Deadline;
use firebreak::engine::{CommonConfig, Outcome, Report, StepOutcome};
use firebreak::notify::NotifyConfig;
use firebreak::release::{self, ReleaseConfig, ReleaseError, ReleaseRequest};
use firebreak::respond::Settings;
use firebreak_tests::faults::{Fault, FaultProxy};
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::moto::sdk_config_for;
use firebreak_tests::scenario::{CompromisedInstance, InstanceView, Setup};
use firebreak_tests::{on_large_stack, Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};

struct Bench {
    _moto: Moto,
    proxy: FaultProxy,
    scenario: Scenario,
    instance: CompromisedInstance,
    dynamodb: aws_sdk_dynamodb::Client,
    before: InstanceView,
    case_id: String,
    /// Clients (DynamoDB too) whose every request passes through the proxy.
    accounts: Accounts,
}

fn common() -> CommonConfig {
    CommonConfig { cases_table: Some(TABLE.into()), ..CommonConfig::default() }
}

async fn bench() -> Bench {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::default()).await;
    let dynamodb = ledger::create_table(&moto).await;
    let before = scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    let mut settings =
        Settings { notify: NotifyConfig { sns_topic_arn: None, security_hub: false }, ..Settings::default() };
    settings.quarantine.common = common();
    let function = quarantine_instance::Function { accounts: firebreak_tests::accounts(&moto).await, config: settings };
    let event = scenario.guardduty_event("quarantine-instance/guardduty-ec2-dos-actor.json", &instance);
    let response = quarantine_instance::handle(&function, LambdaEvent::new(event, Context::default())).await.unwrap();
    let case_id = response["case_id"].as_str().unwrap().to_string();
    let proxy = FaultProxy::start(&moto.endpoint);
    let accounts = Accounts::new(&sdk_config_for(&proxy.endpoint).await, AccountsConfig::default());
    Bench { _moto: moto, proxy, scenario, instance, dynamodb, before, case_id, accounts }
}

impl Bench {
    async fn release(&self) -> Result<Report, ReleaseError> {
        let config = ReleaseConfig { common: common(), isolation_group_name: "firebreak-isolation".into() };
        let request = ReleaseRequest {
            case_id: self.case_id.clone(),
            reason: "cleaned".into(),
            requested_by: "alice".into(),
            credentials: false,
        };
        release::release_case(&self.accounts, &config, &request, Deadline::NONE).await
    }

    /// Exactly the pre-case state (tags and snapshots aside), and the case released once.
    async fn assert_released(&self) {
        let after = self.scenario.view(&self.instance.instance_id, self.instance.target_group_arn.as_deref()).await;
        let restorable = |v: &InstanceView| {
            (
                v.interface_groups.clone(),
                v.termination_protected,
                v.shutdown_behavior.clone(),
                v.autoscaling_group.clone(),
                v.in_target_group,
                v.instance_profile.clone(),
            )
        };
        assert_eq!(restorable(&after), restorable(&self.before));
        assert!(!after.snapshots.is_empty(), "the evidence stays");
        let cases = ledger::cases(&self.dynamodb).await;
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].state, "released");
        let releases = cases[0].entries.iter().filter(|e| e.kind == firebreak::cases::EntryKind::Release).count();
        assert_eq!(releases, 1, "released once: {:#?}", cases[0]);
    }
}

#[test]
fn releases_under_throttling_and_names_the_retries() {
    on_large_stack(|| async {
        let bench = bench().await;
        bench.proxy.fail_nth("ModifyNetworkInterfaceAttribute", 1, Fault::Throttle);
        bench.proxy.fail_nth("GetItem", 1, Fault::Throttle);
        bench.proxy.fail_share(0.3, Fault::Throttle);
        let report = bench.release().await.expect("released");
        assert_eq!(report.outcome, Outcome::Completed, "{report:#?}");
        let retried: Vec<_> = report.steps.iter().flat_map(|s| s.retries.iter()).collect();
        assert!(
            retried.iter().any(|r| r.starts_with("ModifyNetworkInterfaceAttribute")),
            "the throttled move says so: {report:#?}"
        );
        bench.assert_released().await;
    });
}

#[test]
fn lost_responses_are_retried_and_found_done() {
    on_large_stack(|| async {
        let bench = bench().await;
        for operation in
            ["AssociateIamInstanceProfile", "AttachInstances", "ModifyNetworkInterfaceAttribute", "UpdateItem"]
        {
            bench.proxy.fail_nth(operation, 1, Fault::ResetAfterForwarding);
        }
        let report = bench.release().await.expect("released");
        assert_eq!(report.outcome, Outcome::Completed, "{report:#?}");
        assert!(bench.proxy.injected().len() >= 4, "{:?}", bench.proxy.injected());
        bench.assert_released().await;
    });
}

#[test]
fn a_release_that_dies_midway_is_finished_by_the_next_one() {
    on_large_stack(|| async {
        let bench = bench().await;
        bench.proxy.crash_after("ModifyNetworkInterfaceAttribute", 1);
        let first = bench.release().await.expect("a partial report");
        assert!(first.steps.iter().any(|s| s.outcome == StepOutcome::Failed), "{first:#?}");
        assert!(first.reason.as_deref().unwrap_or_default().contains("stays open"), "{first:#?}");
        let case = &ledger::cases(&bench.dynamodb).await[0];
        assert_ne!(case.state, "released", "not marked released while half done");

        bench.proxy.heal();
        let second = bench.release().await.expect("finished");
        assert_eq!(second.outcome, Outcome::Completed, "{second:#?}");
        bench.assert_released().await;
    });
}

#[test]
fn two_releases_at_once_release_the_case_once() {
    on_large_stack(|| async {
        let bench = bench().await;
        let (a, b) = tokio::join!(bench.release(), bench.release());
        let outcomes = [&a, &b].map(|r| match r {
            Ok(report) => report.outcome.as_str().to_string(),
            Err(e) => e.to_string(),
        });
        assert!(a.is_ok() || b.is_ok(), "{outcomes:?}");
        for result in [a, b] {
            if let Err(error) = result {
                assert!(matches!(error, ReleaseError::AlreadyReleased { .. }), "{error}");
            }
        }
        bench.assert_released().await;
    });
}

#[test]
fn a_quarantine_that_dies_midway_and_its_redelivery_leave_one_consistent_case() {
    on_large_stack(|| async {
        let moto = Moto::start();
        let scenario = Scenario::new(&moto).await;
        let instance = scenario.compromised_instance(&Setup::default()).await;
        let dynamodb = ledger::create_table(&moto).await;
        let proxy = FaultProxy::start(&moto.endpoint);
        let mut settings =
            Settings { notify: NotifyConfig { sns_topic_arn: None, security_hub: false }, ..Settings::default() };
        settings.quarantine.common = common();
        let accounts = Accounts::new(&sdk_config_for(&proxy.endpoint).await, AccountsConfig::default());
        let function = quarantine_instance::Function { accounts, config: settings };
        let event = scenario.guardduty_event("quarantine-instance/guardduty-ec2-dos-actor.json", &instance);
        let deliver = || quarantine_instance::handle(&function, LambdaEvent::new(event.clone(), Context::default()));

        // Dies right after the first ENI moved: the rest of the calls fail, the ledger write too.
        proxy.crash_after("ModifyNetworkInterfaceAttribute", 1);
        let _ = deliver().await;
        let cases = ledger::cases(&dynamodb).await;
        assert_eq!(cases.len(), 1, "the plan was written before acting: {cases:#?}");
        assert_eq!(cases[0].state, "open", "{:#?}", cases[0]);

        proxy.heal();
        let response = deliver().await.expect("the redelivery finishes");
        assert_eq!(response["outcome"], "contained", "{response:#}");
        let cases = ledger::cases(&dynamodb).await;
        assert_eq!(cases.len(), 1, "one case, not a fork");
        let case = &cases[0];
        assert_eq!(case.state, "contained");
        assert_eq!(case.entries.first().map(|e| e.kind), Some(firebreak::cases::EntryKind::Plan));
        assert_eq!(case.entries.last().map(|e| e.kind), Some(firebreak::cases::EntryKind::Outcome));
        let recorded = case.recorded();
        for (eni, groups) in &instance.interfaces {
            assert_eq!(recorded[eni][firebreak::tags::ORIGINAL_GROUPS], groups.join(","), "{recorded:#?}");
        }
    });
}
