//! Pure logic, no emulator: every sample event parses, and findings become the expected plans.

use std::collections::BTreeMap;
use std::path::PathBuf;

use firebreak::engine::{triage::Skip, Action as _, Decision};
use firebreak::events::{EventError, GuardDutyFinding, ResourceRole};
use firebreak::quarantine::{
    self as plan, Action, FoundGroup, InstanceFacts, InterfaceFacts, QuarantineDecision, SkipReason, VpcGroups,
};
use firebreak::QuarantineConfig;
use serde_json::Value;

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// Every sample event, in `events/<function>/<name>.json`.
fn all_events() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for function in std::fs::read_dir(events_dir()).unwrap() {
        for file in std::fs::read_dir(function.unwrap().path()).unwrap() {
            files.push(file.unwrap().path());
        }
    }
    files
}

fn event(name: &str) -> Value {
    let path = events_dir().join("quarantine-instance").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The TARGET brute-force finding: delivered to close-open-ports, and skipped by quarantine.
fn target_finding() -> GuardDutyFinding {
    let path = events_dir().join("close-open-ports/guardduty-ec2-ssh-bruteforce-target.json");
    GuardDutyFinding::from_event(&serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()).unwrap()
}

fn finding(name: &str) -> GuardDutyFinding {
    GuardDutyFinding::from_event(&event(name)).unwrap()
}

#[test]
fn every_guardduty_sample_event_parses() {
    let mut parsed = 0;
    for path in all_events() {
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if value["source"] != "aws.guardduty" {
            continue;
        }
        let finding = GuardDutyFinding::from_event(&value).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(finding.account_id, "123456789012");
        parsed += 1;
    }
    assert!(parsed >= 4, "expected the GuardDuty samples, parsed {parsed}");
}

#[test]
fn dos_finding_is_read_with_its_camel_case_fields() {
    let f = finding("guardduty-ec2-dos-actor.json");
    assert_eq!(f.finding_type, "Backdoor:EC2/DenialOfService.Tcp");
    assert_eq!(f.severity, 8.0);
    assert_eq!(f.resource_role(), ResourceRole::Actor);
    assert!(!f.is_sample());
    let instance = f.ec2_instance().unwrap();
    assert_eq!(instance.instance_id, "i-0a1b2c3d4e5f60718");
    assert_eq!(instance.network_interfaces.len(), 2);
    assert_eq!(f.vpc_ids(), vec!["vpc-0c1d2e3f4a5b6c7d8".to_string()]);
}

#[test]
fn both_forms_of_sample_marking_are_recognised() {
    assert!(finding("guardduty-ec2-bitcoin-sample.json").is_sample(), "additionalInfo.value JSON string");
    assert!(finding("guardduty-ec2-trojan-sample-legacy.json").is_sample(), "legacy additionalInfo.sample");
    assert_eq!(target_finding().resource_role(), ResourceRole::Target);
}

#[test]
fn events_from_elsewhere_are_refused() {
    let mut e = event("guardduty-ec2-dos-actor.json");
    e["source"] = "custom.guardduty".into();
    assert!(matches!(GuardDutyFinding::from_event(&e), Err(EventError::WrongSource { .. })));

    // Delivered by another account (the GuardDuty administrator, or a forger): parsed, and the
    // delivering account kept for `Accounts::check_delivery`, which knows the function's own.
    let mut e = event("guardduty-ec2-dos-actor.json");
    e["account"] = "999999999999".into();
    let f = GuardDutyFinding::from_event(&e).unwrap();
    assert_eq!(f.signal().delivered_by.as_deref(), Some("999999999999"));
    assert_eq!(f.signal().account, f.account_id);
    assert_eq!(finding("guardduty-ec2-dos-actor.json").signal().delivered_by, None);

    let mut e = event("guardduty-ec2-dos-actor.json");
    e["detail"]["region"] = "evil.example.com/".into();
    assert!(GuardDutyFinding::from_event(&e).unwrap_err().to_string().contains("detail.region"));

    let mut e = event("guardduty-ec2-dos-actor.json");
    e["detail"]["severity"] = "high".into();
    assert!(matches!(GuardDutyFinding::from_event(&e), Err(EventError::Malformed(_))));

    assert!(matches!(GuardDutyFinding::from_event(&Value::String("{".into())), Err(EventError::Malformed(_))));
}

#[test]
fn injected_or_malformed_ids_are_refused_before_any_call() {
    for bad in ["i-../../etc", "sg-0123456789abcdef0", "i-0123", "i-0A1B2C3D4E5F60718", "i-0a1b2c3d4e5f60718 "] {
        let mut e = event("guardduty-ec2-dos-actor.json");
        e["detail"]["resource"]["instanceDetails"]["instanceId"] = bad.into();
        let f = GuardDutyFinding::from_event(&e).unwrap();
        let err = f.ec2_instance().unwrap_err();
        assert!(matches!(err, EventError::InvalidField { field: "instance id", .. }), "{bad}: {err}");
    }
}

#[test]
fn findings_about_other_resources_are_unsupported() {
    let mut e = event("guardduty-ec2-dos-actor.json");
    e["detail"]["type"] = "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS".into();
    e["detail"]["resource"]["resourceType"] = "AccessKey".into();
    let f = GuardDutyFinding::from_event(&e).unwrap();
    let err = plan::triage(&f, &QuarantineConfig::default()).unwrap_err();
    assert!(matches!(err, EventError::UnsupportedFinding { .. }), "{err}");

    let mut e = event("guardduty-ec2-dos-actor.json");
    e["detail"]["type"] = "Policy:S3/BucketBlockPublicAccessDisabled".into();
    let f = GuardDutyFinding::from_event(&e).unwrap();
    assert!(plan::triage(&f, &QuarantineConfig::default()).is_err());
}

#[test]
fn triage_skips_samples_low_severity_and_targets() {
    let config = QuarantineConfig::default();
    assert_eq!(plan::triage(&finding("guardduty-ec2-dos-actor.json"), &config), Ok(None));
    assert_eq!(
        plan::triage(&finding("guardduty-ec2-bitcoin-sample.json"), &config),
        Ok(Some(SkipReason::Triage(Skip::SampleFinding)))
    );
    assert_eq!(
        plan::triage(&target_finding(), &config),
        Ok(Some(SkipReason::Triage(Skip::BelowSeverity { severity: 2.0, minimum: 4.0 })))
    );
    let mut everything = config;
    everything.common.min_severity = 0.0;
    assert_eq!(plan::triage(&target_finding(), &everything), Ok(Some(SkipReason::TargetNotCompromised)));
}

fn facts() -> InstanceFacts {
    InstanceFacts {
        instance_id: "i-0a1b2c3d4e5f60718".into(),
        state: "running".into(),
        network_interfaces: vec![
            InterfaceFacts {
                id: "eni-07a6b5c4d3e2f1098".into(),
                vpc_id: "vpc-0c1d2e3f4a5b6c7d8".into(),
                group_ids: vec!["sg-0e5d4c3b2a1f0e9d8".into()],
                tags: BTreeMap::new(),
            },
            InterfaceFacts {
                id: "eni-0f1e2d3c4b5a69788".into(),
                vpc_id: "vpc-0c1d2e3f4a5b6c7d8".into(),
                group_ids: vec!["sg-0d4c3b2a19f8e7d6c".into()],
                tags: BTreeMap::new(),
            },
        ],
        volume_ids: vec!["vol-0a0a0a0a0a0a0a0a0".into(), "vol-0b0b0b0b0b0b0b0b0".into()],
        tags: BTreeMap::from([("Name".to_string(), "web-1".to_string())]),
        autoscaling_group: Some("web-asg".into()),
        instance_profile_arn: Some("arn:aws:iam::123456789012:instance-profile/web-app".into()),
        target_group_arns: vec![
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef".into()
        ],
    }
}

#[test]
fn target_groups_are_only_looked_through_when_the_region_has_some() {
    let f = finding("guardduty-ec2-dos-actor.json");
    let config = QuarantineConfig::default();
    let step = |facts: &InstanceFacts| {
        let plan = plan_of(plan::decide(&request(&f), facts, &existing_groups(), &config, "now"));
        plan.steps.into_iter().find(|s| s.action.name() == "deregister_from_target_groups").unwrap()
    };
    let with_groups = step(&facts());
    assert_eq!(with_groups.skip, None);
    let Action::DeregisterFromTargetGroups { target_group_arns, .. } = &with_groups.action else { unreachable!() };
    assert_eq!(target_group_arns, &facts().target_group_arns);
    let without = step(&InstanceFacts { target_group_arns: vec![], ..facts() });
    assert_eq!(without.skip.as_deref(), Some("no instance target groups in the region"));
}

fn existing_groups() -> BTreeMap<String, VpcGroups> {
    BTreeMap::from([(
        "vpc-0c1d2e3f4a5b6c7d8".to_string(),
        VpcGroups {
            isolation: Some(FoundGroup { group_id: "sg-0isolation0000000".into(), ready: true }),
            untracking: Some(FoundGroup { group_id: "sg-0untracking000000".into(), ready: true }),
        },
    )])
}

fn request(f: &GuardDutyFinding) -> plan::QuarantineRequest {
    plan::QuarantineRequest::from_finding(f).unwrap()
}

fn plan_of(decision: QuarantineDecision) -> plan::QuarantinePlan {
    match decision {
        Decision::Act(plan) => plan,
        Decision::Skip(why) => panic!("expected a plan, got skip: {why}"),
    }
}

#[test]
fn full_quarantine_plan_in_containment_order() {
    let f = finding("guardduty-ec2-dos-actor.json");
    let plan = plan_of(plan::decide(
        &request(&f),
        &facts(),
        &BTreeMap::new(),
        &QuarantineConfig::default(),
        "2026-11-24T02:14:00Z",
    ));
    assert_eq!(plan.case_id, firebreak::case::case_id_for("16afba5c5c43e07c9e3e5e2e544e95df"));
    let names: Vec<&str> = plan.steps.iter().map(|s| s.action.name()).collect();
    assert_eq!(
        names,
        [
            "ensure_isolation_groups",
            "detach_from_autoscaling_group",
            "protect_from_termination",
            "isolate_network_interface",
            "isolate_network_interface",
            "snapshot_volumes",
            "keep_volumes_on_termination",
            "deregister_from_target_groups",
            "disassociate_instance_profile",
            "tag_instance",
        ]
    );
    assert!(plan.steps.iter().all(|s| s.skip.is_none()), "{plan}");
    let phases: Vec<_> = plan.steps.iter().map(|s| s.action.phase()).collect();
    assert!(phases.windows(2).all(|w| w[0] <= w[1]), "steps are in phase order");
    assert!(matches!(
        &plan.steps[3].action,
        Action::IsolateNetworkInterface { original_group_ids, record_original_groups: true, via_untracking_group: true, .. }
            if original_group_ids == &["sg-0e5d4c3b2a1f0e9d8".to_string()]
    ));
    let Action::TagInstance { tags, .. } = &plan.steps[9].action else { panic!() };
    let tags: BTreeMap<_, _> = tags.iter().cloned().collect();
    assert_eq!(tags["firebreak:quarantined-at"], "2026-11-24T02:14:00Z");
    assert_eq!(tags["firebreak:finding-type"], "Backdoor:EC2/DenialOfService.Tcp");
    let printed = plan.to_string();
    assert!(printed.contains("detach from Auto Scaling group web-asg"), "{printed}");
}

/// With a forensic target and the malware scan: the scan beside the snapshots, the copy last
/// (after them, in its own phase), both printed.
#[test]
fn disk_evidence_steps_follow_the_snapshots() {
    use firebreak::disk_evidence::{DiskEvidenceConfig, ForensicTarget};
    let f = finding("guardduty-ec2-dos-actor.json");
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let config = QuarantineConfig {
        stop_instance: true,
        disk_evidence: DiskEvidenceConfig {
            forensic: Some(ForensicTarget { kms_key_arn: key.into(), account_id: "444455556666".into() }),
            malware_scan: true,
            follow_up: None,
        },
        ..QuarantineConfig::default()
    };
    let plan = plan_of(plan::decide(&request(&f), &facts(), &BTreeMap::new(), &config, "2026-11-24T02:14:00Z"));
    let names: Vec<&str> = plan.steps.iter().map(|s| s.action.name()).collect();
    assert_eq!(names[5..8], ["snapshot_volumes", "keep_volumes_on_termination", "start_malware_scan"]);
    assert_eq!(names.last(), Some(&"copy_snapshots_to_forensic_account"));
    let phases: Vec<_> = plan.steps.iter().map(|s| s.action.phase()).collect();
    assert!(phases.windows(2).all(|w| w[0] <= w[1]), "steps are in phase order: {plan}");
    assert!(plan.steps.iter().all(|s| s.skip.is_none()), "{plan}");
    let printed = plan.to_string();
    assert!(printed.contains(key) && printed.contains("444455556666 only"), "{printed}");
    assert!(printed.contains("arn:aws:ec2:us-east-1:123456789012:instance/i-0a1b2c3d4e5f60718"), "{printed}");
}

/// Termination settings, volumes' DeleteOnTermination and earlier snapshots are read by their
/// steps when they run (after the ENIs' moves are sent), so the plan leaves those to them; every
/// other step is a skip.
#[test]
fn already_quarantined_instance_plans_only_skips() {
    let f = finding("guardduty-ec2-dos-actor.json");
    let case_id = firebreak::case::case_id_for(&f.id);
    let mut done = facts();
    done.autoscaling_group = None;
    done.instance_profile_arn = None;
    for eni in &mut done.network_interfaces {
        eni.tags.insert("firebreak:original-groups".into(), eni.group_ids.join(","));
        eni.group_ids = vec!["sg-0isolation0000000".into()];
    }
    for (k, v) in [
        ("firebreak:case", case_id.as_str()),
        ("firebreak:finding-id", f.id.as_str()),
        ("firebreak:finding-type", f.finding_type.as_str()),
        ("firebreak:quarantined-at", "earlier"),
    ] {
        done.tags.insert(k.into(), v.into());
    }
    let plan = plan_of(plan::decide(&request(&f), &done, &existing_groups(), &QuarantineConfig::default(), "later"));
    for step in &plan.steps {
        if ![
            "deregister_from_target_groups",
            "protect_from_termination",
            "snapshot_volumes",
            "keep_volumes_on_termination",
        ]
        .contains(&step.action.name())
        {
            assert!(step.skip.is_some(), "{} should be a skip: {plan}", step.action.name());
        }
    }
}

#[test]
fn interrupted_isolation_keeps_the_recorded_original_groups() {
    let f = finding("guardduty-ec2-dos-actor.json");
    let mut half = facts();
    // Crashed after the first move: the ENI sits in the untracking group, its record written.
    half.network_interfaces[0].tags.insert("firebreak:original-groups".into(), "sg-0e5d4c3b2a1f0e9d8".into());
    half.network_interfaces[0].group_ids = vec!["sg-0untracking000000".into()];
    let plan = plan_of(plan::decide(&request(&f), &half, &existing_groups(), &QuarantineConfig::default(), "now"));
    let Action::IsolateNetworkInterface { original_group_ids, record_original_groups, .. } = &plan.steps[3].action
    else {
        panic!()
    };
    assert_eq!(original_group_ids, &["sg-0e5d4c3b2a1f0e9d8".to_string()]);
    assert!(!record_original_groups, "the record is not overwritten with the untracking group");
    assert!(plan.steps[3].skip.is_none(), "but the move to isolation is still done");
}

#[test]
fn interrupted_before_the_record_the_original_groups_are_still_on_the_interface() {
    let f = finding("guardduty-ec2-dos-actor.json");
    let mut half = facts();
    // Crashed after the first move but before its record landed: the untracking group sits
    // beside the ENI's own groups, which are the originals.
    half.network_interfaces[0].group_ids = vec!["sg-0e5d4c3b2a1f0e9d8".into(), "sg-0untracking000000".into()];
    let plan = plan_of(plan::decide(&request(&f), &half, &existing_groups(), &QuarantineConfig::default(), "now"));
    let Action::IsolateNetworkInterface { original_group_ids, current_group_ids, record_original_groups, .. } =
        &plan.steps[3].action
    else {
        panic!()
    };
    assert_eq!(original_group_ids, &["sg-0e5d4c3b2a1f0e9d8".to_string()], "the untracking group is not an original");
    assert_eq!(current_group_ids, &half.network_interfaces[0].group_ids);
    assert!(record_original_groups, "the record is written now");
}

#[test]
fn exempt_and_gone_instances_are_skipped() {
    let f = finding("guardduty-ec2-dos-actor.json");
    let mut exempt = facts();
    exempt.tags.insert("firebreak:exempt".into(), "".into());
    assert!(matches!(
        plan::decide(&request(&f), &exempt, &existing_groups(), &QuarantineConfig::default(), "now"),
        Decision::Skip(SkipReason::Triage(Skip::Exempt { .. }))
    ));
    let mut gone = facts();
    gone.state = "shutting-down".into();
    assert!(matches!(
        plan::decide(&request(&f), &gone, &existing_groups(), &QuarantineConfig::default(), "now"),
        Decision::Skip(SkipReason::InstanceGone { .. })
    ));
}

#[test]
fn stop_and_snapshot_follow_the_configuration() {
    let f = finding("guardduty-ec2-dos-actor.json");
    let config = QuarantineConfig { stop_instance: true, ..QuarantineConfig::default() };
    let plan = plan_of(plan::decide(&request(&f), &facts(), &existing_groups(), &config, "now"));
    assert_eq!(plan.steps.last().unwrap().action.name(), "stop_instance");
    let no_snapshots = QuarantineConfig { snapshot: false, ..QuarantineConfig::default() };
    let plan = plan_of(plan::decide(&request(&f), &facts(), &existing_groups(), &no_snapshots, "now"));
    let snapshot = plan.steps.iter().find(|s| s.action.name() == "snapshot_volumes").unwrap();
    assert!(snapshot.skip.as_deref().unwrap().contains("disabled"));
    assert!(plan.steps.iter().all(|s| s.action.name() != "stop_instance"));
}

#[test]
fn without_cutting_connections_the_untracking_group_is_not_needed() {
    let f = finding("guardduty-ec2-dos-actor.json");
    let config = QuarantineConfig { cut_tracked_connections: false, ..QuarantineConfig::default() };
    let only_isolation = BTreeMap::from([(
        "vpc-0c1d2e3f4a5b6c7d8".to_string(),
        VpcGroups {
            isolation: Some(FoundGroup { group_id: "sg-0isolation0000000".into(), ready: true }),
            untracking: None,
        },
    )]);
    let plan = plan_of(plan::decide(&request(&f), &facts(), &only_isolation, &config, "now"));
    assert!(plan.steps[0].skip.is_some(), "{plan}");
    assert!(matches!(plan.steps[3].action, Action::IsolateNetworkInterface { via_untracking_group: false, .. }));
}
