//! Reliability under fire: throttling, lost responses, crashes at every step, concurrent
//! duplicates, hostile input and the Lambda deadline — all against the real emulator, with a
//! fault-injecting proxy between the SDK and moto.

use std::time::Duration;

use firebreak::deadline::Deadline;
use firebreak::engine::{Outcome, Report, StepOutcome};
use firebreak::events::GuardDutyFinding;
use firebreak::quarantine::quarantine_finding;
use firebreak::{Clients, QuarantineConfig};
use firebreak_tests::faults::{Fault, FaultProxy};
use firebreak_tests::moto::sdk_config_for;
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::{Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";

struct Bench {
    _moto: Moto,
    proxy: FaultProxy,
    scenario: Scenario,
    instance: CompromisedInstance,
    /// Clients whose every request passes through the fault proxy.
    clients: Clients,
    event: Value,
}

async fn bench() -> Bench {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::default()).await;
    let proxy = FaultProxy::start(&moto.endpoint);
    let clients = Clients::new(&sdk_config_for(&proxy.endpoint).await);
    let event = scenario.guardduty_event(DOS_EVENT, &instance);
    Bench { _moto: moto, proxy, scenario, instance, clients, event }
}

impl Bench {
    async fn quarantine(&self) -> Report {
        let finding = GuardDutyFinding::from_event(&self.event).unwrap();
        quarantine_finding(&self.clients, &QuarantineConfig::default(), &finding, Deadline::NONE).await.unwrap()
    }

    /// The state an uninterrupted run leaves: one isolation group, every ENI in it with its
    /// original groups recorded once, one set of snapshots, every attachment removed, the case tagged.
    async fn assert_fully_contained(&self) {
        let instance = &self.instance;
        let isolation = self.scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await;
        assert_eq!(isolation.len(), 1, "exactly one isolation group");
        assert_eq!((isolation[0].1, isolation[0].2), (0, 0), "the isolation group has no rules");
        assert_eq!(self.scenario.groups_named(&instance.vpc_id, "firebreak-isolation-untracking").await.len(), 1);
        let view = self.scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
        for (eni, original) in &instance.interfaces {
            assert_eq!(view.interface_groups[eni], vec![isolation[0].0.clone()], "{eni} isolated");
            let mut recorded: Vec<String> =
                view.interface_tags[eni]["firebreak:original-groups"].split(',').map(str::to_string).collect();
            recorded.sort();
            let mut original = original.clone();
            original.sort();
            assert_eq!(recorded, original, "{eni}: original groups recorded once, not overwritten");
        }
        assert!(view.termination_protected);
        assert_eq!(view.shutdown_behavior, "stop");
        assert_eq!(view.autoscaling_group, None);
        assert!(!view.in_target_group);
        assert_eq!(view.instance_profile, None);
        assert_eq!(view.snapshots.len(), instance.volume_ids.len(), "one set of snapshots: {:?}", view.snapshots);
        let case = &view.tags["firebreak:case"];
        assert!(view.snapshots.iter().all(|(_, tags)| &tags["firebreak:case"] == case));
        assert_eq!(view.tags["firebreak:autoscaling-group"], "web-asg");
        assert!(view.tags.contains_key("firebreak:instance-profile"));
    }
}

fn retries(report: &Report) -> Vec<String> {
    report.steps.iter().flat_map(|s| s.retries.iter().cloned()).collect()
}

#[tokio::test]
async fn contains_fully_under_thirty_percent_throttling() {
    let bench = bench().await;
    bench.proxy.fail_share(0.3, Fault::Throttle);
    let report = bench.quarantine().await;
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    bench.assert_fully_contained().await;
    assert!(!bench.proxy.injected().is_empty(), "faults were injected");
    assert!(!retries(&report).is_empty(), "the report names what was retried: {report:#?}");
}

#[tokio::test]
async fn contains_fully_when_a_fifth_of_requests_get_server_errors() {
    let bench = bench().await;
    bench.proxy.fail_share(0.2, Fault::ServerError(503));
    let report = bench.quarantine().await;
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    bench.assert_fully_contained().await;
    assert!(!retries(&report).is_empty());
}

/// A lost response (the request reached AWS, the connection reset before the answer) at one
/// step: the SDK retries the call, which must then be harmless.
async fn survives_lost_response_at(operation: &str, occurrence: usize) {
    let bench = bench().await;
    bench.proxy.fail_nth(operation, occurrence, Fault::ResetAfterForwarding);
    let report = bench.quarantine().await;
    assert_eq!(report.outcome, Outcome::Contained, "reset at {operation}: {report:#?}");
    assert_eq!(bench.proxy.injected().len(), 1, "the fault fired: {:?}", bench.proxy.calls());
    assert!(
        retries(&report).iter().any(|r| r.starts_with(operation)),
        "the report names the retried {operation}: {:?}",
        retries(&report)
    );
    bench.assert_fully_contained().await;
}

macro_rules! lost_response_tests {
    ($($name:ident: $operation:literal #$n:literal,)*) => {$(
        #[tokio::test]
        async fn $name() {
            survives_lost_response_at($operation, $n).await;
        }
    )*};
}

lost_response_tests! {
    reset_at_describe_instances: "DescribeInstances" #1,
    reset_at_create_security_group: "CreateSecurityGroup" #1,
    reset_at_revoke_isolation_egress: "RevokeSecurityGroupEgress" #1,
    reset_at_authorize_untracking_ingress: "AuthorizeSecurityGroupIngress" #1,
    reset_at_authorize_untracking_egress: "AuthorizeSecurityGroupEgress" #1,
    reset_at_record_original_groups: "CreateTags" #1,
    reset_at_move_to_untracking_group: "ModifyNetworkInterfaceAttribute" #1,
    reset_at_move_to_isolation_group: "ModifyNetworkInterfaceAttribute" #3,
    reset_at_detach_from_autoscaling: "DetachInstances" #1,
    reset_at_termination_protection: "ModifyInstanceAttribute" #1,
    reset_at_create_snapshots: "CreateSnapshots" #1,
    reset_at_deregister_targets: "DeregisterTargets" #1,
    reset_at_disassociate_profile: "DisassociateIamInstanceProfile" #1,
}

/// The invocation dies right after one step; the same event is delivered again, and the end
/// state equals an uninterrupted run's.
async fn recovers_from_crash_after(operation: &str, occurrence: usize) {
    let bench = bench().await;
    bench.proxy.crash_after(operation, occurrence);
    let first = bench.quarantine().await;
    // Unless the crash came after the very last call, the run was cut short.
    if !bench.proxy.injected().is_empty() {
        assert_ne!(first.outcome, Outcome::Contained, "the crash after {operation} interrupted the run: {first:#?}");
        assert!(first.steps.iter().any(|s| s.outcome == StepOutcome::Failed));
    }
    bench.proxy.heal();
    let second = bench.quarantine().await;
    assert_eq!(second.outcome, Outcome::Contained, "redelivery after a crash at {operation}: {second:#?}");
    assert_eq!(second.case_id, first.case_id);
    bench.assert_fully_contained().await;
}

macro_rules! crash_tests {
    ($($name:ident: $operation:literal #$n:literal,)*) => {$(
        #[tokio::test]
        async fn $name() {
            recovers_from_crash_after($operation, $n).await;
        }
    )*};
}

crash_tests! {
    crash_after_creating_the_isolation_group: "CreateSecurityGroup" #1,
    crash_after_revoking_its_egress: "RevokeSecurityGroupEgress" #1,
    crash_after_creating_the_untracking_group: "CreateSecurityGroup" #2,
    crash_after_opening_the_untracking_group: "AuthorizeSecurityGroupIngress" #1,
    crash_after_recording_original_groups: "CreateTags" #1,
    crash_after_first_move_to_untracking: "ModifyNetworkInterfaceAttribute" #1,
    crash_after_second_move: "ModifyNetworkInterfaceAttribute" #2,
    crash_after_first_isolation: "ModifyNetworkInterfaceAttribute" #3,
    crash_after_detaching_from_autoscaling: "DetachInstances" #1,
    crash_after_termination_protection: "ModifyInstanceAttribute" #1,
    crash_after_snapshots: "CreateSnapshots" #1,
    crash_after_deregistering: "DeregisterTargets" #1,
    crash_after_removing_the_profile: "DisassociateIamInstanceProfile" #1,
}

/// The invocation died after an ENI's first move landed but before its record did (the two go
/// side by side): the ENI sits in its own groups plus the untracking group, with no record. The
/// redelivery records its own groups, not the untracking group, and isolates it.
#[tokio::test]
async fn crash_between_the_first_move_and_its_record_loses_no_original_group() {
    let bench = bench().await;
    let instance = &bench.instance;
    let groups = firebreak::aws::isolation::ensure_isolation_groups(
        &bench.scenario.ec2,
        &instance.vpc_id,
        "firebreak-isolation",
        true,
    )
    .await
    .unwrap();
    let untracking = groups.untracking.unwrap();
    let before = bench.scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    for (eni, own) in &before.interface_groups {
        let with_untracking: Vec<String> = own.iter().cloned().chain([untracking.clone()]).collect();
        bench
            .scenario
            .ec2
            .modify_network_interface_attribute()
            .network_interface_id(eni)
            .set_groups(Some(with_untracking))
            .send()
            .await
            .unwrap();
    }
    let report = bench.quarantine().await;
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    bench.assert_fully_contained().await;
}

/// An ENI already at its quota of groups per interface cannot take the untracking group beside
/// them: it passes through the untracking group alone, once its record is written.
#[tokio::test]
async fn an_interface_at_its_group_quota_passes_through_the_untracking_group_alone() {
    let bench = bench().await;
    bench.proxy.fail_nth(
        "ModifyNetworkInterfaceAttribute",
        1,
        Fault::Refused("SecurityGroupsPerInterfaceLimitExceeded"),
    );
    let report = bench.quarantine().await;
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    assert_eq!(bench.proxy.injected().len(), 1, "the quota refusal fired: {:?}", bench.proxy.calls());
    bench.assert_fully_contained().await;
}

/// No record, no move: when the original groups cannot be recorded, no ENI is left in the
/// all-open untracking group; each is back in its own groups and the step says why.
#[tokio::test]
async fn an_interface_whose_record_is_refused_goes_back_to_its_own_groups() {
    let bench = bench().await;
    let instance = &bench.instance;
    let before = bench.scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    for n in 1..=20 {
        bench.proxy.fail_nth("CreateTags", n, Fault::Refused("UnauthorizedOperation"));
    }
    let report = bench.quarantine().await;
    assert_ne!(report.outcome, Outcome::Contained, "{report:#?}");
    let after = bench.scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    for (eni, own) in &before.interface_groups {
        let (mut own, mut now) = (own.clone(), after.interface_groups[eni].clone());
        own.sort();
        now.sort();
        assert_eq!(now, own, "{eni} is back in its own groups, not left all-open");
    }
    for step in report.steps_named("isolate_network_interface") {
        assert_eq!(step.outcome, StepOutcome::Failed, "{step:#?}");
        assert!(step.detail.contains("UnauthorizedOperation"), "{step:#?}");
    }
}

#[tokio::test]
async fn concurrent_duplicate_deliveries_make_one_group_and_one_snapshot_set() {
    let bench = bench().await;
    let (a, b) = tokio::join!(bench.quarantine(), bench.quarantine());
    assert_ne!(a.outcome, Outcome::Failed, "{a:#?}");
    assert_ne!(b.outcome, Outcome::Failed, "{b:#?}");
    bench.assert_fully_contained().await;
    // And a third delivery afterwards finds everything in place.
    let c = bench.quarantine().await;
    assert_eq!(c.outcome, Outcome::Contained);
    bench.assert_fully_contained().await;
}

#[tokio::test]
async fn a_slow_api_meets_the_deadline_with_a_partial_report() {
    let bench = bench().await;
    // Every request after the reads is slow: the work cannot finish in the time given.
    bench.proxy.fail_share(1.0, Fault::Slow(Duration::from_millis(400)));
    let finding = GuardDutyFinding::from_event(&bench.event).unwrap();
    let deadline = Deadline::after(firebreak::deadline::REPORT_MARGIN + Duration::from_millis(1200));
    let report = quarantine_finding(&bench.clients, &QuarantineConfig::default(), &finding, deadline).await;
    let report = match report {
        Ok(report) => report,
        // Even the reads did not fit: a clear error, nothing changed.
        Err(e) => {
            assert!(e.to_string().contains("deadline"), "{e}");
            assert!(bench.proxy.mutating_calls().is_empty());
            return;
        }
    };
    assert_ne!(report.outcome, Outcome::Contained, "{report:#?}");
    assert!(
        report.steps.iter().any(|s| s.detail.contains("deadline")),
        "the report says the deadline cut the work: {report:#?}"
    );
    // The redelivered event, with time, finishes the job.
    bench.proxy.heal();
    let report = bench.quarantine().await;
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    bench.assert_fully_contained().await;
}

/// Every file in tests/hostile/ is refused with a clear error, and the emulator receives no call.
#[tokio::test]
async fn hostile_and_malformed_events_are_refused_without_any_call() {
    let bench = bench().await;
    let function = quarantine_instance::Function {
        accounts: firebreak::accounts::Accounts::new(&sdk_config_for(&bench.proxy.endpoint).await, Default::default()),
        config: Default::default(),
    };
    let dir = firebreak_tests::workspace_root().join("tests/hostile");
    let mut refused = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(mut event) = serde_json::from_str::<Value>(&text) else {
            // Not JSON at all: the Lambda runtime refuses it before the handler is called.
            refused += 1;
            continue;
        };
        // Point the event at the real instance, so that only the hostile part can stop it.
        if event["detail"]["resource"]["instanceDetails"]["instanceId"] == "REAL" {
            event["detail"]["resource"]["instanceDetails"]["instanceId"] = bench.instance.instance_id.clone().into();
        }
        // As Lambda invokes it: the function's own account is known without a call.
        let mut context = Context::default();
        context.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:quarantine-instance".into();
        let result = quarantine_instance::handle(&function, LambdaEvent::new(event, context)).await;
        let err = result.expect_err(&format!("{} must be refused", path.display()));
        assert!(!err.to_string().is_empty());
        refused += 1;
    }
    assert!(refused >= 10, "the corpus has {refused} events");
    assert_eq!(bench.proxy.calls(), Vec::<String>::new(), "bad input made AWS calls");
    bench.proxy.reset_record();
}

// ---------------------------------------------------------------------------------------------
// revoke-credentials under the same faults.

struct RevokeBench {
    _moto: Moto,
    proxy: FaultProxy,
    iam: aws_sdk_iam::Client,
    clients: Clients,
    leaked_key: String,
}

const REVOKE_USER_EVENT: &str = "revoke-credentials/guardduty-iam-user-malicious-ip.json";

async fn revoke_bench() -> RevokeBench {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let iam = scenario.iam.clone();
    iam.create_user().user_name("deploy-bot").send().await.unwrap();
    let mut keys = Vec::new();
    for _ in 0..2 {
        let key = iam.create_access_key().user_name("deploy-bot").send().await.unwrap();
        keys.push(key.access_key().unwrap().access_key_id().to_string());
    }
    let proxy = FaultProxy::start(&moto.endpoint);
    let clients = Clients::new(&sdk_config_for(&proxy.endpoint).await);
    RevokeBench { _moto: moto, proxy, iam, clients, leaked_key: keys[0].clone() }
}

impl RevokeBench {
    async fn revoke(&self) -> Report {
        let mut event = firebreak_tests::sample_event(REVOKE_USER_EVENT);
        event["detail"]["resource"]["accessKeyDetails"]["userName"] = "deploy-bot".into();
        event["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = self.leaked_key.clone().into();
        let trigger = firebreak::revoke::RevokeTrigger::from_event(&event).unwrap();
        firebreak::revoke::revoke_credentials(
            &firebreak_tests::home_only(self.clients.clone()),
            &Default::default(),
            &trigger,
            Deadline::NONE,
        )
        .await
        .unwrap()
    }

    /// The named key is Inactive, the other still Active, the session deny policy present, the user tagged.
    async fn assert_fully_revoked(&self) {
        let keys = self.iam.list_access_keys().user_name("deploy-bot").send().await.unwrap();
        for key in keys.access_key_metadata() {
            let expected = if key.access_key_id() == Some(self.leaked_key.as_str()) { "Inactive" } else { "Active" };
            assert_eq!(key.status().unwrap().as_str(), expected, "{key:?}");
        }
        let policy = self
            .iam
            .get_user_policy()
            .user_name("deploy-bot")
            .policy_name(firebreak::policy::REVOKE_SESSIONS_POLICY)
            .send()
            .await;
        assert!(policy.is_ok(), "the session deny policy exists");
        let tags = self.iam.list_user_tags().user_name("deploy-bot").send().await.unwrap();
        assert!(tags.tags().iter().any(|t| t.key() == "firebreak:case"));
    }
}

#[tokio::test]
async fn revocation_completes_under_thirty_percent_throttling() {
    let bench = revoke_bench().await;
    bench.proxy.fail_share(0.3, Fault::Throttle);
    let report = bench.revoke().await;
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    bench.assert_fully_revoked().await;
    assert!(!bench.proxy.injected().is_empty());
}

async fn revocation_survives_lost_response_at(operation: &str) {
    let bench = revoke_bench().await;
    bench.proxy.fail_nth(operation, 1, Fault::ResetAfterForwarding);
    let report = bench.revoke().await;
    assert_eq!(report.outcome, Outcome::Contained, "reset at {operation}: {report:#?}");
    assert_eq!(bench.proxy.injected().len(), 1, "the fault fired: {:?}", bench.proxy.calls());
    assert!(retries(&report).iter().any(|r| r.starts_with(operation)), "{:?}", retries(&report));
    bench.assert_fully_revoked().await;
    // And the redelivery finds everything in place.
    let again = bench.revoke().await;
    assert!(again.steps.iter().all(|s| s.outcome != StepOutcome::Failed), "{again:#?}");
}

#[tokio::test]
async fn revocation_reset_at_update_access_key() {
    revocation_survives_lost_response_at("UpdateAccessKey").await;
}

#[tokio::test]
async fn revocation_reset_at_put_user_policy() {
    revocation_survives_lost_response_at("PutUserPolicy").await;
}

#[tokio::test]
async fn revocation_reset_at_tag_user() {
    revocation_survives_lost_response_at("TagUser").await;
}

// ---------------------------------------------------------------------------------------------
// The deadline, for the functions that do not quarantine.

#[tokio::test]
async fn close_open_ports_meets_the_deadline_with_a_partial_report() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let _instance = scenario.compromised_instance(&Setup::bare()).await;
    let proxy = FaultProxy::start(&moto.endpoint);
    let clients = Clients::new(&sdk_config_for(&proxy.endpoint).await);
    proxy.fail_share(1.0, Fault::Slow(Duration::from_millis(600)));
    let trigger = firebreak::ports::PortsTrigger::from_event(&firebreak_tests::sample_event(
        "close-open-ports/schedule-sweep.json",
    ))
    .unwrap();
    let deadline = Deadline::after(firebreak::deadline::REPORT_MARGIN + Duration::from_millis(900));
    let report = firebreak::ports::close_open_ports(
        &firebreak_tests::home_only(clients.clone()),
        &Default::default(),
        &trigger,
        deadline,
    )
    .await
    .unwrap();
    assert_eq!(report.outcome, Outcome::Failed, "a cut-off sweep fails so that it is retried: {report:#?}");
    let said = report.reason.iter().chain(report.steps.iter().map(|s| &s.detail)).any(|d| d.contains("deadline"));
    assert!(said, "the report says the deadline cut the work: {report:#?}");
}

#[test]
fn audit_posture_meets_the_deadline_with_a_partial_report() {
    firebreak_tests::on_large_stack(|| async {
        let moto = Moto::start();
        let proxy = FaultProxy::start(&moto.endpoint);
        let clients = Clients::new(&sdk_config_for(&proxy.endpoint).await);
        proxy.fail_share(1.0, Fault::Slow(Duration::from_millis(600)));
        let schedule = firebreak::events::ScheduledEvent::from_event(&firebreak_tests::sample_event(
            "audit-posture/schedule-daily.json",
        ))
        .unwrap();
        let deadline = Deadline::after(firebreak::deadline::REPORT_MARGIN + Duration::from_millis(300));
        let posture =
            firebreak::posture::audit_posture(&clients, &Default::default(), &schedule, deadline).await.unwrap();
        assert_eq!(posture.report.outcome, Outcome::CompletedWithErrors, "{:#?}", posture.report);
        assert!(posture.report.reason.as_deref().unwrap_or_default().contains("deadline"));
        assert!(proxy.mutating_calls().iter().all(|c| c != "BatchImportFindings"), "nothing imported");
    });
}
