//! The policy against the real samples of `events/`, and invalid policies naming their line.

use std::path::Path;

use serde_json::Value;

use super::*;

/// docs/response-policy.md's example, with its rules for tag, account, type glob and severity.
const EXAMPLE: &str = include_str!("../../../docs/response-policy.json");

fn sample(path: &str) -> (Value, String) {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events").join(path);
    let event = serde_json::from_str(&std::fs::read_to_string(&full).expect("sample")).expect("json");
    (event, path.split('/').next().unwrap_or_default().to_string())
}

// Not `input`: the infra check reads this file as reachable, and `Policy::decide` names its
// parameter `input`.
fn sample_input(path: &str, edit: impl Fn(&mut PolicyInput)) -> PolicyInput {
    let (event, function) = sample(path);
    let mut input = PolicyInput::from_event(&event, &function);
    edit(&mut input);
    input
}

#[test]
fn each_sample_gets_the_documented_rule_and_mode() {
    let policy = Policy::from_json(EXAMPLE, Mode::Contain).expect("the example is valid");
    let dos = "quarantine-instance/guardduty-ec2-dos-actor.json";
    let prod = |i: &mut PolicyInput| {
        i.account = "222222222222".into();
        i.tags.insert("env".into(), "prod".into());
    };
    let bastion = |i: &mut PolicyInput| {
        i.tags.insert("role".into(), "bastion".into());
    };
    let none = |_: &mut PolicyInput| {};
    #[allow(clippy::type_complexity)]
    let table: [(&str, &dyn Fn(&mut PolicyInput), Mode, Option<usize>, &str); 8] = [
        (dos, &bastion, Mode::Observe, Some(1), "tag role=bastion"),
        (dos, &prod, Mode::Approve, Some(2), "account 222222222222"),
        (dos, &none, Mode::Contain, Some(3), "type Backdoor:EC2/DenialOfService.Tcp (Backdoor:EC2/*)"),
        (
            "quarantine-instance/guardduty-attack-sequence-ec2-instance-group.json",
            &none,
            Mode::Approve,
            Some(4),
            "(AttackSequence:*)",
        ),
        (
            "contain-bucket/guardduty-attack-sequence-s3-compromised-data.json",
            &none,
            Mode::Approve,
            Some(4),
            "AttackSequence:S3/CompromisedData",
        ),
        ("revoke-credentials/guardduty-root-credential-usage.json", &none, Mode::Observe, Some(5), "severity 2"),
        ("close-open-ports/guardduty-ec2-port-probe-target.json", &none, Mode::Observe, Some(5), "severity 2"),
        (
            "contain-lambda/guardduty-lambda-cryptocurrency.json",
            &none,
            Mode::Contain,
            None,
            "no rule matches: FIREBREAK_DEFAULT_MODE contain",
        ),
    ];
    for (path, edit, mode, rule, because) in table {
        let decision = policy.decide(&sample_input(path, edit));
        assert_eq!((decision.mode, decision.rule.as_ref().map(|r| r.0)), (mode, rule), "{path}: {}", decision.because);
        assert!(decision.because.contains(because), "{path}: {}", decision.because);
    }
}

#[test]
fn security_hub_samples_carry_the_guardduty_type_and_source() {
    let policy = Policy::from_json(
        r#"{"rules": [{"name": "hub dos", "match": {"source": ["aws.securityhub"], "type": ["Backdoor:EC2/*"]}, "mode": "approve"}]}"#,
        Mode::Contain,
    )
    .expect("valid");
    for path in [
        "quarantine-instance/securityhub-imported-guardduty-ec2-dos.json",
        "quarantine-instance/securityhub-v2-imported-guardduty-ec2-dos.json",
    ] {
        let decision = policy.decide(&sample_input(path, |_| {}));
        assert_eq!(decision.mode, Mode::Approve, "{path}: {}", decision.because);
    }
}

#[test]
fn production_is_approved_within_fifteen_minutes_or_contained() {
    let policy = Policy::from_json(EXAMPLE, Mode::Contain).expect("valid");
    let decision = policy.decide(&sample_input("quarantine-instance/guardduty-ec2-dos-actor.json", |i| {
        i.account = "222222222222".into();
        i.tags.insert("env".into(), "prod".into());
    }));
    assert_eq!(decision.because, r#"rule 2 "production needs approval": account 222222222222, tag env=prod"#);
    assert_eq!(decision.approve_within, Some(std::time::Duration::from_secs(900)));
    assert_eq!(decision.on_timeout, Some(OnTimeout::Contain));
    assert_eq!(decision.overrides.stop_instance, Some(false));
}

#[test]
fn the_tag_rule_reads_the_tags_the_finding_carries() {
    let policy = Policy::from_json(
        r#"{"rules": [{"name": "web", "match": {"tags": ["Name=web-1", "aws:autoscaling:groupName"]}, "mode": "observe"}]}"#,
        Mode::Approve,
    )
    .expect("valid");
    let decision = policy.decide(&sample_input("quarantine-instance/guardduty-ec2-dos-actor.json", |_| {}));
    assert_eq!(decision.mode, Mode::Observe, "{}", decision.because);
    let other = policy.decide(&sample_input("contain-lambda/guardduty-lambda-cryptocurrency.json", |_| {}));
    assert_eq!(
        (other.mode, other.because.as_str()),
        (Mode::Approve, "no rule matches: FIREBREAK_DEFAULT_MODE approve")
    );
}

#[test]
fn no_policy_and_the_default_mode_variable() {
    let lookup = |value: &'static str| move |name: &str| (name == DEFAULT_MODE).then(|| value.to_string());
    assert_eq!(default_mode(|_| None), Ok(Mode::Contain));
    assert_eq!(default_mode(lookup("Approve")), Ok(Mode::Approve));
    assert_eq!(default_mode(lookup("")), Ok(Mode::Contain));
    let err = default_mode(lookup("yolo")).unwrap_err();
    assert!(err.to_string().contains("FIREBREAK_DEFAULT_MODE"), "{err}");
    let decision = Policy::none(Mode::Observe).decide(&PolicyInput::default());
    assert_eq!(
        (decision.mode, decision.because.as_str()),
        (Mode::Observe, "no policy: FIREBREAK_DEFAULT_MODE observe")
    );
    let own = Policy::from_json(r#"{"rules": [], "default_mode": "approve"}"#, Mode::Contain).expect("valid");
    assert_eq!(own.decide(&PolicyInput::default()).mode, Mode::Approve);
}

/// Each invalid policy, and the line, column and words its error must give.
#[test]
fn invalid_policies_name_the_line() {
    let rule = |body: &str| {
        format!("{{\n  \"rules\": [\n    {{\"name\": \"first\", \"match\": {{\"account\": [\"111111111111\"]}}, \"mode\": \"contain\"}},\n    {body}\n  ]\n}}\n")
    };
    let table = [
        (
            "{\n  \"rules\": [\n    {\"name\": \"a\", \"mode\": \"contain\", \"stop\": true}\n  ]\n}",
            "line 3, column",
            "unknown field `stop`",
        ),
        ("{\n  \"rules\": [],\n  \"default\": \"contain\"\n}", "line 3, column", "unknown field `default`"),
        (
            "{\n  \"rules\": [\n    {\"name\": \"a\", \"mode\": \"yes\"}\n  ]\n}",
            "line 3, column",
            "unknown variant `yes`",
        ),
        (
            "{\n  \"rules\": [\n    {\"name\": \"a\", \"mode\": \"contain\",}\n  ]\n}",
            "line 3, column",
            "trailing comma",
        ),
        (
            &rule(r#"{"name": "o", "mode": "contain", "overrides": {"terminate": true}}"#),
            "line 4, column",
            "unknown field `terminate`",
        ),
        (
            &rule(r#"{"name": "g", "match": {"type": ["Backdoor:[EC2]/*"]}, "mode": "contain"}"#),
            "line 4, column 29: rule 2 \"g\"",
            "only * and ?",
        ),
        (
            &rule(r#"{"name": "d", "mode": "approve", "approve_within": "15 minutes", "on_timeout": "contain"}"#),
            "line 4, column 38: rule 2 \"d\"",
            "not a duration",
        ),
        (
            &rule(r#"{"name": "s", "match": {"severity": {"min": 8, "max": 4}}, "mode": "contain"}"#),
            "line 4, column 29",
            "min 8 is above max 4",
        ),
        (
            &rule(r#"{"name": "w", "mode": "contain", "approve_within": "15m", "on_timeout": "contain"}"#),
            "line 4, column 38",
            "applies to mode approve",
        ),
        (&rule(r#"{"name": "t", "mode": "approve", "approve_within": "15m"}"#), "line 4", "needs on_timeout"),
        (
            &rule(r#"{"name": "dup", "match": {"account": ["111111111111"]}, "mode": "observe"}"#),
            "line 4, column 21: rule 2 \"dup\"",
            "unreachable: rule 1 \"first\" before it has the same match",
        ),
        (&rule(r#"{"name": "first", "mode": "observe"}"#), "line 4", "already rule 1's"),
        (
            &rule(r#"{"name": "f", "match": {"function": ["quarantine"]}, "mode": "observe"}"#),
            "line 4",
            "not a Firebreak function",
        ),
        (&rule(r#"{"name": "a", "match": {"account": ["2222"]}, "mode": "observe"}"#), "line 4", "12 digits"),
        (&rule(r#"{"name": "e", "match": {"region": []}, "mode": "observe"}"#), "line 4", "matches nothing"),
        (
            &rule(r#"{"name": "x", "mode": "contain", "overrides": {"stop_instance": true, "snapshot": false}}"#),
            "line 4",
            "never stopped before",
        ),
    ];
    for (text, at, words) in table {
        let err = Policy::from_json(text, Mode::Contain).unwrap_err().to_string();
        assert!(err.starts_with(at) && err.contains(words), "{err}\n--- for ---\n{text}");
    }
    let everything = "{\"rules\": [\n{\"name\": \"all\", \"mode\": \"approve\"},\n{\"name\": \"later\", \"match\": {\"region\": [\"eu-west-1\"]}, \"mode\": \"contain\"}\n]}";
    let err = Policy::from_json(everything, Mode::Contain).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "line 3, column 19: rule 2 \"later\": unreachable: rule 1 \"all\" before it matches every signal"
        ),
        "{err}"
    );
}

/// The example in the SAM template's comment above `ResponsePolicyParameter` is a valid policy
/// that does what its rule names say.
#[test]
fn the_template_example_is_valid_and_does_what_it_says() {
    let template = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/sam/template.yaml"))
        .expect("the SAM template");
    let example: String = template
        .lines()
        .skip_while(|line| !line.contains("An example to adapt"))
        .skip(1)
        .take_while(|line| line.trim_start().starts_with('#'))
        .map(|line| line.trim_start().trim_start_matches('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(example.contains("\"rules\""), "the example is found: {example}");
    let policy = Policy::from_json(&example, Mode::Contain).expect("the template's example is valid");
    let dos = "quarantine-instance/guardduty-ec2-dos-actor.json";
    let sandbox = policy.decide(&sample_input(dos, |i| i.account = "111111111111".into()));
    assert_eq!((sandbox.mode, sandbox.rule.map(|(n, _)| n)), (Mode::Contain, Some(1)), "{}", sandbox.because);
    let prod = policy.decide(&sample_input(dos, |i| {
        i.account = "222222222222".into();
        i.tags.insert("env".into(), "prod".into());
    }));
    assert_eq!((prod.mode, prod.rule.map(|(n, _)| n)), (Mode::Approve, Some(2)), "{}", prod.because);
    assert_eq!(prod.on_timeout, Some(OnTimeout::Contain));
}
