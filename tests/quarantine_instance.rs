//! quarantine-instance against a real moto server: every step of the issue on real-shaped events.

use firebreak::deadline::Deadline;
use firebreak::engine::CommonConfig;
use firebreak::engine::{Outcome, Report, StepOutcome};
use firebreak::events::GuardDutyFinding;
use firebreak::quarantine::untracking_group_name;
use firebreak::quarantine::{quarantine_finding, QuarantineError};
use firebreak::QuarantineConfig;
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::{Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";

async fn run(scenario: &Scenario, config: &QuarantineConfig, event: &Value) -> Result<Report, QuarantineError> {
    let finding = GuardDutyFinding::from_event(event).expect("event parses");
    quarantine_finding(&scenario.clients, config, &finding, Deadline::NONE).await
}

fn assert_step(report: &Report, step: &str, outcome: StepOutcome) {
    let found: Vec<_> = report.steps_named(step).collect();
    assert!(!found.is_empty(), "no step {step} in {report:#?}");
    for s in found {
        assert_eq!(s.outcome, outcome, "step {step}: {s:#?}");
    }
}

async fn setup(setup: Setup) -> (Moto, Scenario, CompromisedInstance) {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&setup).await;
    (moto, scenario, instance)
}

#[tokio::test]
async fn quarantines_a_multi_interface_autoscaled_load_balanced_instance() {
    let (_moto, scenario, instance) = setup(Setup::default()).await;
    let before = scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    assert_eq!(before.interface_groups.len(), 2, "the scenario has two ENIs");
    assert_eq!(before.autoscaling_group.as_deref(), Some("web-asg"));
    assert!(before.in_target_group);
    assert!(before.instance_profile.is_some());
    let desired_before = desired_capacity(&scenario).await;

    let event = scenario.guardduty_event(DOS_EVENT, &instance);
    let report = run(&scenario, &QuarantineConfig::default(), &event).await.expect("quarantine runs");
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");

    let isolation = scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await;
    assert_eq!(isolation.len(), 1, "one isolation group in the VPC");
    let (isolation_id, ingress, egress, tags) = &isolation[0];
    assert_eq!((*ingress, *egress), (0, 0), "the isolation group allows nothing, not even egress");
    assert_eq!(tags.get("firebreak:role").map(String::as_str), Some("isolation"));
    let untracking = scenario.groups_named(&instance.vpc_id, &untracking_group_name("firebreak-isolation")).await;
    assert_eq!(untracking.len(), 1, "the untracking group exists for cutting tracked connections");

    let after = scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    for (eni, original) in &instance.interfaces {
        assert_eq!(after.interface_groups[eni], vec![isolation_id.clone()], "{eni} is isolated");
        let mut recorded: Vec<String> =
            after.interface_tags[eni]["firebreak:original-groups"].split(',').map(str::to_string).collect();
        recorded.sort();
        let mut original = original.clone();
        original.sort();
        assert_eq!(recorded, original, "{eni} remembers its original groups");
    }
    assert_eq!(report.steps_named("isolate_network_interface").count(), 2);
    assert!(
        report.step("isolate_network_interface").unwrap().detail.contains("through"),
        "passes through the untracking group"
    );

    assert!(after.termination_protected);
    assert_eq!(after.shutdown_behavior, "stop");
    assert_eq!(after.autoscaling_group, None, "detached from the Auto Scaling group");
    assert_eq!(desired_capacity(&scenario).await, desired_before, "desired capacity kept: the group replaces it");
    assert!(!after.in_target_group, "deregistered from the target group");
    assert_eq!(after.instance_profile, None, "instance profile removed");
    assert_eq!(after.state, "running", "not stopped by default");

    let case_id = report.case_id.clone().expect("a case");
    assert_eq!(after.snapshots.len(), 2, "one snapshot per volume: {:?}", after.snapshots);
    for (_, tags) in &after.snapshots {
        assert_eq!(tags["firebreak:case"], case_id);
        assert_eq!(tags["firebreak:finding-id"], "16afba5c5c43e07c9e3e5e2e544e95df");
        assert_eq!(tags["firebreak:instance-id"], instance.instance_id);
    }
    assert_eq!(after.tags["firebreak:case"], case_id);
    assert_eq!(after.tags["firebreak:finding-type"], "Backdoor:EC2/DenialOfService.Tcp");
    assert_eq!(after.tags["firebreak:autoscaling-group"], "web-asg");
    assert_eq!(&after.tags["firebreak:instance-profile"], instance.instance_profile_arn.as_ref().unwrap());
    assert!(after.tags.contains_key("firebreak:quarantined-at"));
    for step in [
        "detach_from_autoscaling_group",
        "protect_from_termination",
        "snapshot_volumes",
        "deregister_from_target_groups",
        "disassociate_instance_profile",
        "tag_instance",
    ] {
        assert_step(&report, step, StepOutcome::Done);
    }
}

async fn desired_capacity(scenario: &Scenario) -> i32 {
    scenario
        .autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names("web-asg")
        .send()
        .await
        .unwrap()
        .auto_scaling_groups()[0]
        .desired_capacity()
        .unwrap()
}

#[tokio::test]
async fn second_delivery_changes_nothing_and_takes_no_second_snapshots() {
    let (_moto, scenario, instance) = setup(Setup::default()).await;
    let event = scenario.guardduty_event(DOS_EVENT, &instance);
    let config = QuarantineConfig::default();
    let first = run(&scenario, &config, &event).await.unwrap();
    assert_eq!(first.outcome, Outcome::Contained);
    let after_first = scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;

    let second = run(&scenario, &config, &event).await.unwrap();
    assert_eq!(second.outcome, Outcome::Contained, "{second:#?}");
    assert_eq!(second.case_id, first.case_id);
    let after_second = scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    assert_eq!(after_second, after_first, "the second delivery changed nothing");
    assert_eq!(scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await.len(), 1);
    for step in &second.steps {
        if !["read_instance", "deregister_from_target_groups"].contains(&step.step) {
            assert_eq!(step.outcome, StepOutcome::Skipped, "{step:#?}");
        }
    }
    assert_eq!(second.step("deregister_from_target_groups").unwrap().detail, "not registered in any target group");
}

#[tokio::test]
async fn exempt_instance_is_untouched() {
    let mut with_tag = Setup::default();
    with_tag.tags.push(("firebreak:exempt".into(), "break-glass bastion".into()));
    let (_moto, scenario, instance) = setup(with_tag).await;
    let before = scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    let report =
        run(&scenario, &QuarantineConfig::default(), &scenario.guardduty_event(DOS_EVENT, &instance)).await.unwrap();
    assert_eq!(report.outcome, Outcome::Skipped);
    assert!(report.reason.as_deref().unwrap().contains("firebreak:exempt"), "{report:#?}");
    assert!(report.steps.is_empty());
    assert_eq!(scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await, before);
    assert!(scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await.is_empty(), "no group created");
}

#[tokio::test]
async fn exemption_tag_key_is_configurable() {
    let mut with_tag = Setup::bare();
    with_tag.tags.push(("SecurityExempt".into(), "true".into()));
    let (_moto, scenario, instance) = setup(with_tag).await;
    let config = QuarantineConfig {
        common: CommonConfig { exempt_tag_key: "SecurityExempt".into(), ..CommonConfig::default() },
        ..QuarantineConfig::default()
    };
    let report = run(&scenario, &config, &scenario.guardduty_event(DOS_EVENT, &instance)).await.unwrap();
    assert_eq!(report.outcome, Outcome::Skipped, "{report:#?}");
}

#[tokio::test]
async fn terminated_instance_is_reported_and_left_alone() {
    let (_moto, scenario, instance) = setup(Setup::bare()).await;
    scenario.terminate(&instance.instance_id).await;
    let report =
        run(&scenario, &QuarantineConfig::default(), &scenario.guardduty_event(DOS_EVENT, &instance)).await.unwrap();
    assert_eq!(report.outcome, Outcome::Skipped);
    assert!(report.reason.as_deref().unwrap().contains("terminated"), "{report:#?}");
    assert!(scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await.is_empty());
}

#[tokio::test]
async fn missing_instance_is_a_clear_error() {
    let (_moto, scenario, instance) = setup(Setup::bare()).await;
    let mut event = scenario.guardduty_event(DOS_EVENT, &instance);
    event["detail"]["resource"]["instanceDetails"]["instanceId"] = "i-0123456789abcdef0".into();
    let err = run(&scenario, &QuarantineConfig::default(), &event).await.unwrap_err();
    assert!(matches!(err, QuarantineError::InstanceNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("i-0123456789abcdef0 does not exist"), "{err}");
    assert!(scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await.is_empty(), "no group created");
}

#[tokio::test]
async fn sample_finding_is_skipped_unless_configured() {
    let (_moto, scenario, instance) = setup(Setup::bare()).await;
    let event = scenario.guardduty_event("quarantine-instance/guardduty-ec2-bitcoin-sample.json", &instance);
    let report = run(&scenario, &QuarantineConfig::default(), &event).await.unwrap();
    assert_eq!(report.outcome, Outcome::Skipped);
    assert!(report.reason.as_deref().unwrap().contains("sample"), "{report:#?}");
    assert!(scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await.is_empty());

    let config = QuarantineConfig {
        common: CommonConfig { act_on_sample_findings: true, ..CommonConfig::default() },
        ..QuarantineConfig::default()
    };
    let report = run(&scenario, &config, &event).await.unwrap();
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
}

#[tokio::test]
async fn severity_below_threshold_is_skipped() {
    let (_moto, scenario, instance) = setup(Setup::bare()).await;
    let config = QuarantineConfig {
        common: CommonConfig { min_severity: 8.5, ..CommonConfig::default() },
        ..QuarantineConfig::default()
    };
    let before = scenario.view(&instance.instance_id, None).await;
    let report = run(&scenario, &config, &scenario.guardduty_event(DOS_EVENT, &instance)).await.unwrap();
    assert_eq!(report.outcome, Outcome::Skipped);
    assert!(report.reason.as_deref().unwrap().contains("below the configured minimum 8.5"), "{report:#?}");
    assert_eq!(scenario.view(&instance.instance_id, None).await, before);
}

#[tokio::test]
async fn target_of_brute_force_is_not_quarantined() {
    let (_moto, scenario, instance) = setup(Setup::bare()).await;
    let config = QuarantineConfig {
        common: CommonConfig { min_severity: 0.0, ..CommonConfig::default() },
        ..QuarantineConfig::default()
    };
    let event = scenario.guardduty_event("close-open-ports/guardduty-ec2-ssh-bruteforce-target.json", &instance);
    let report = run(&scenario, &config, &event).await.unwrap();
    assert_eq!(report.outcome, Outcome::Skipped);
    assert!(report.reason.as_deref().unwrap().contains("TARGET"), "{report:#?}");
}

#[tokio::test]
async fn dry_run_plans_everything_and_changes_nothing() {
    let (_moto, scenario, instance) = setup(Setup::default()).await;
    let before = scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    let config = QuarantineConfig {
        common: CommonConfig { dry_run: true, ..CommonConfig::default() },
        ..QuarantineConfig::default()
    };
    let report = run(&scenario, &config, &scenario.guardduty_event(DOS_EVENT, &instance)).await.unwrap();
    assert_eq!(report.outcome, Outcome::Planned, "{report:#?}");
    assert!(report.dry_run);
    for step in [
        "ensure_isolation_groups",
        "detach_from_autoscaling_group",
        "protect_from_termination",
        "isolate_network_interface",
        "snapshot_volumes",
        "disassociate_instance_profile",
        "tag_instance",
    ] {
        assert_step(&report, step, StepOutcome::Planned);
    }
    assert_eq!(scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await, before);
    assert!(scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await.is_empty());
}

#[tokio::test]
async fn stop_is_opt_in_and_comes_after_the_snapshots() {
    let (_moto, scenario, instance) = setup(Setup::bare()).await;
    let config = QuarantineConfig { stop_instance: true, ..QuarantineConfig::default() };
    let report = run(&scenario, &config, &scenario.guardduty_event(DOS_EVENT, &instance)).await.unwrap();
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    let names: Vec<&str> = report.steps.iter().map(|s| s.step).collect();
    let snapshot_at = names.iter().position(|s| *s == "snapshot_volumes").unwrap();
    let stop_at = names.iter().position(|s| *s == "stop_instance").unwrap();
    assert!(snapshot_at < stop_at, "{names:?}");
    let after = scenario.view(&instance.instance_id, None).await;
    assert!(matches!(after.state.as_str(), "stopped" | "stopping"), "{}", after.state);
    assert_eq!(after.snapshots.len(), 2);
}

#[tokio::test]
async fn a_tampered_isolation_group_is_repaired_before_use() {
    let (_moto, scenario, instance) = setup(Setup::bare()).await;
    // An isolation group someone created by hand, still with its default allow-all egress rule.
    scenario
        .ec2
        .create_security_group()
        .group_name("firebreak-isolation")
        .description("made by hand")
        .vpc_id(&instance.vpc_id)
        .send()
        .await
        .unwrap();
    let report =
        run(&scenario, &QuarantineConfig::default(), &scenario.guardduty_event(DOS_EVENT, &instance)).await.unwrap();
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    assert_step(&report, "ensure_isolation_groups", StepOutcome::Done);
    let groups = scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await;
    assert_eq!(groups.len(), 1);
    assert_eq!((groups[0].1, groups[0].2), (0, 0), "its egress rule was revoked");
}

#[tokio::test]
async fn handler_rejects_a_malformed_event_and_acts_on_a_real_one() {
    let (moto, scenario, instance) = setup(Setup::bare()).await;
    let function = quarantine_instance::Function {
        accounts: firebreak::accounts::Accounts::new(&moto.sdk_config().await, Default::default()),
        config: Default::default(),
    };

    let mut wrong_source = scenario.guardduty_event(DOS_EVENT, &instance);
    wrong_source["source"] = "my.app".into();
    let err =
        quarantine_instance::handle(&function, LambdaEvent::new(wrong_source, Context::default())).await.unwrap_err();
    assert!(err.to_string().contains("unexpected event source"), "{err}");
    let err =
        quarantine_instance::handle(&function, LambdaEvent::new(serde_json::json!({"detail": 1}), Context::default()))
            .await
            .unwrap_err();
    assert!(err.to_string().contains("malformed event"), "{err}");
    assert!(scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await.is_empty(), "no action on bad input");

    let event = scenario.guardduty_event(DOS_EVENT, &instance);
    let report = quarantine_instance::handle(&function, LambdaEvent::new(event, Context::default())).await.unwrap();
    assert_eq!(report["outcome"], "contained", "{report:#}");
    assert_eq!(report["reports"][0]["resource"], instance.instance_id.as_str());
}

/// Runtime Monitoring (no `resourceRole`): the instance is quarantined like an ACTOR, and the
/// process GuardDuty saw, with its lineage, is in the report.
#[tokio::test]
async fn a_runtime_monitoring_reverse_shell_quarantines_the_instance_and_names_the_process() {
    let (_moto, scenario, instance) = setup(Setup::bare()).await;
    let event = scenario.guardduty_event("quarantine-instance/guardduty-runtime-reverse-shell-ec2.json", &instance);
    let report = run(&scenario, &QuarantineConfig::default(), &event).await.unwrap();
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    let view = scenario.view(&instance.instance_id, None).await;
    let isolation = scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await;
    for (eni, groups) in &view.interface_groups {
        assert_eq!(groups, &vec![isolation[0].0.clone()], "{eni} isolated");
    }
    assert_eq!(view.snapshots.len(), instance.volume_ids.len(), "evidence kept");
    let process = report.process.as_ref().expect("the process is reported");
    assert_eq!(process.name.as_deref(), Some("bash"));
    assert_eq!(process.pid, Some(31415));
    assert_eq!(process.lineage.len(), 2, "{process:#?}");
}
