//! Pure logic, no emulator: the revoke-credentials samples parse into the expected requests, and
//! requests plus facts become the expected plans.

use std::collections::BTreeMap;
use std::path::PathBuf;

use firebreak::engine::{Action as _, Skip};
use firebreak::events::{EventError, GuardDutyFinding, HealthEvent};
use firebreak::policy::parse_time;
use firebreak::revoke::{
    self, decide, exposed_access_keys, Principal, PrincipalFacts, RevokeAction, RevokeConfig, RevokeDecision,
    RevokeRequest, RevokeSkip, Target,
};
use serde_json::{json, Value};

fn event(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/revoke-credentials").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn request(name: &str) -> Result<RevokeRequest, EventError> {
    RevokeRequest::from_finding(&GuardDutyFinding::from_event(&event(name)).unwrap())
}

#[test]
fn each_guardduty_sample_names_the_expected_target() {
    let user = request("guardduty-iam-user-malicious-ip.json").unwrap();
    assert_eq!(
        user.target,
        Target::User { user_name: "deploy-bot".into(), access_key_id: Some("AKIAQ3EGSYGZJ5EXAMPL".into()) }
    );
    assert_eq!(user.signal.time.as_deref(), Some("2026-11-24T02:12:09.620Z"));

    let role = request("guardduty-assumed-role-anomalous.json").unwrap();
    assert_eq!(role.target, Target::RoleSessions { role_name: "ci-deployer".into() });

    let exfiltration = request("guardduty-instance-credential-exfiltration-outside-aws.json").unwrap();
    assert_eq!(
        exfiltration.target,
        Target::InstanceCredentials {
            role_name: "web-app".into(),
            instance_id: "i-0a1b2c3d4e5f60718".into(),
            instance_arn: "arn:aws:ec2:us-east-1:123456789012:instance/i-0a1b2c3d4e5f60718".into(),
            vpc_hints: vec!["vpc-0c1d2e3f4a5b6c7d8".into()],
        }
    );

    let root = request("guardduty-root-credential-usage.json").unwrap();
    assert_eq!(root.target, Target::NotRevocable { user_type: "Root".into(), principal: "Root".into() });
    let skip = revoke::triage(None, &root, &RevokeConfig::default(), &revoke::Protected::none()).unwrap();
    assert!(skip.to_string().contains("root credentials"), "{skip}");

    let sample = GuardDutyFinding::from_event(&event("guardduty-iam-user-sample.json")).unwrap();
    assert!(sample.is_sample());
}

#[test]
fn the_instance_is_found_in_the_role_session_name_when_instance_details_are_absent() {
    let mut e = event("guardduty-instance-credential-exfiltration-outside-aws.json");
    e["detail"]["resource"].as_object_mut().unwrap().remove("instanceDetails");
    let request = RevokeRequest::from_finding(&GuardDutyFinding::from_event(&e).unwrap()).unwrap();
    assert!(
        matches!(request.target, Target::InstanceCredentials { ref instance_id, .. } if instance_id == "i-0a1b2c3d4e5f60718")
    );

    e["detail"]["resource"]["accessKeyDetails"]["principalId"] = json!("AROAQ3EGSYGZP8EXAMPLE:someone");
    let err = RevokeRequest::from_finding(&GuardDutyFinding::from_event(&e).unwrap()).unwrap_err();
    assert!(matches!(err, EventError::Malformed(_)), "{err}");
}

#[test]
fn health_notice_names_the_exposed_key() {
    let health = HealthEvent::from_event(&event("health-risk-credentials-exposed.json")).unwrap();
    assert!(health.is_credentials_risk());
    assert_eq!(exposed_access_keys(&health).unwrap(), vec!["AKIAQ3EGSYGZR3EXAMPL".to_string()]);
    assert!(parse_time(health.start_time.as_deref().unwrap()).is_some(), "Health's HTTP-date startTime is read");

    let mut bad = event("health-risk-credentials-exposed.json");
    bad["detail"]["affectedEntities"] = json!([{"entityValue": "arn:aws:iam::123456789012:user/x"}]);
    assert!(exposed_access_keys(&HealthEvent::from_event(&bad).unwrap()).is_err());
    bad["detail"]["affectedEntities"] = json!([]);
    assert!(exposed_access_keys(&HealthEvent::from_event(&bad).unwrap()).is_err());
}

fn user_facts(keys: &[(&str, bool)]) -> PrincipalFacts {
    PrincipalFacts {
        principal: Principal::User("deploy-bot".into()),
        arn: "arn:aws:iam::123456789012:user/deploy-bot".into(),
        tags: BTreeMap::new(),
        access_keys: keys.iter().map(|(k, a)| (k.to_string(), *a)).collect(),
        has_login_profile: true,
        revoked_before: None,
        instance_policy: None,
    }
}

#[test]
fn user_plan_disables_the_named_key_then_revokes_sessions_then_tags() {
    let request = request("guardduty-iam-user-malicious-ip.json").unwrap();
    let facts = user_facts(&[("AKIAQ3EGSYGZJ5EXAMPL", true), ("AKIAQ3EGSYGZZZEXAMPL", true)]);
    let now = parse_time("2026-11-24T02:20:00Z").unwrap();
    let RevokeDecision::Act(plan) = decide(&request, &facts, &RevokeConfig::default(), now) else {
        panic!("expected a plan")
    };
    let summary: Vec<(&str, bool)> = plan.steps.iter().map(|s| (s.action.name(), s.skip.is_none())).collect();
    assert_eq!(
        summary,
        vec![
            ("deactivate_access_key", true),
            ("deactivate_access_key", false),
            ("delete_login_profile", false),
            ("revoke_sessions", true),
            ("tag_principal", true),
        ]
    );
    let text = plan.to_string();
    assert!(text.contains("make access key AKIAQ3EGSYGZJ5EXAMPL of deploy-bot Inactive"), "{text}");
    assert!(text.contains("FIREBREAK_DEACTIVATE_ALL_KEYS=false"), "{text}");

    let mut temporary = request.clone();
    temporary.target =
        Target::User { user_name: "deploy-bot".into(), access_key_id: Some("ASIAQ3EGSYGZJ5EXAMPL".into()) };
    let RevokeDecision::Act(plan) = decide(&temporary, &facts, &RevokeConfig::default(), now) else { panic!() };
    assert!(plan.steps[0].skip.as_deref().unwrap().contains("temporary credentials"));
}

#[test]
fn exempt_principal_is_skipped_and_exfiltration_plan_quarantines_the_instance() {
    let request = request("guardduty-instance-credential-exfiltration-outside-aws.json").unwrap();
    let mut facts = PrincipalFacts {
        principal: Principal::Role("web-app".into()),
        arn: "arn:aws:iam::123456789012:role/web-app".into(),
        ..user_facts(&[])
    };
    facts.has_login_profile = false;
    let now = parse_time("2026-11-24T02:20:00Z").unwrap();
    let RevokeDecision::Act(plan) = decide(&request, &facts, &RevokeConfig::default(), now) else { panic!() };
    let names: Vec<&str> = plan.steps.iter().map(|s| s.action.name()).collect();
    assert_eq!(names, vec!["deny_instance_credentials", "tag_principal", "quarantine_source_instance"]);
    let RevokeAction::QuarantineInstance { request: quarantine } = &plan.steps[2].action else { panic!() };
    assert_eq!(quarantine.instance_id, "i-0a1b2c3d4e5f60718");
    assert_eq!(quarantine.signal.id, request.signal.id, "one case for the role and the instance");

    facts.tags.insert("firebreak:exempt".into(), "".into());
    assert!(matches!(
        decide(&request, &facts, &RevokeConfig::default(), now),
        RevokeDecision::Skip(RevokeSkip::Triage(Skip::Exempt { .. }))
    ));
}
