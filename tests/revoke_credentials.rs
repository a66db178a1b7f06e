//! revoke-credentials against a real moto server: every case of the issue on real-shaped events.

use std::time::SystemTime;

use aws_sdk_iam::primitives::DateTime;
use aws_sdk_iam::types::StatusType;
use firebreak::engine::{Outcome, Report, StepOutcome};
use firebreak::policy::{self, cutoff_at, decode_document, parse_time, revoked_sessions_cutoff};
use firebreak::quarantine::untracking_group_name;
use firebreak::revoke::{self, RevokeConfig, RevokeError, RevokeTrigger};
use firebreak_tests::scenario::Setup;
use firebreak_tests::{sample_event, Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const USER_EVENT: &str = "revoke-credentials/guardduty-iam-user-malicious-ip.json";
const ROLE_EVENT: &str = "revoke-credentials/guardduty-assumed-role-anomalous.json";
const EXFILTRATION_EVENT: &str = "revoke-credentials/guardduty-instance-credential-exfiltration-outside-aws.json";
const ROOT_EVENT: &str = "revoke-credentials/guardduty-root-credential-usage.json";
const SAMPLE_EVENT: &str = "revoke-credentials/guardduty-iam-user-sample.json";
const HEALTH_EVENT: &str = "revoke-credentials/health-risk-credentials-exposed.json";

struct Env {
    _moto: Moto,
    scenario: Scenario,
}

async fn start() -> Env {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    Env { _moto: moto, scenario }
}

impl Env {
    fn iam(&self) -> &aws_sdk_iam::Client {
        &self.scenario.iam
    }

    async fn run(&self, config: &RevokeConfig, event: &Value) -> Result<Report, RevokeError> {
        let trigger = RevokeTrigger::from_event(event)?;
        revoke::revoke_credentials(
            &firebreak_tests::home_only(self.scenario.clients.clone()),
            config,
            &trigger,
            firebreak::deadline::Deadline::NONE,
        )
        .await
    }

    /// A user with two access keys and a console password; returns the key ids.
    async fn user(&self, name: &str, tags: &[(&str, &str)]) -> (String, String) {
        let iam = self.iam();
        let mut create = iam.create_user().user_name(name);
        for (k, v) in tags {
            create = create.tags(aws_sdk_iam::types::Tag::builder().key(*k).value(*v).build().unwrap());
        }
        create.send().await.expect("CreateUser");
        iam.create_login_profile()
            .user_name(name)
            .password("Corr3ct-Horse-Battery!")
            .send()
            .await
            .expect("CreateLoginProfile");
        let mut keys = Vec::new();
        for _ in 0..2 {
            let key = iam.create_access_key().user_name(name).send().await.expect("CreateAccessKey");
            keys.push(key.access_key().unwrap().access_key_id().to_string());
        }
        (keys[0].clone(), keys[1].clone())
    }

    async fn key_statuses(&self, user: &str) -> Vec<(String, StatusType)> {
        let out = self.iam().list_access_keys().user_name(user).send().await.expect("ListAccessKeys");
        out.access_key_metadata()
            .iter()
            .map(|k| (k.access_key_id().unwrap().to_string(), k.status().unwrap().clone()))
            .collect()
    }

    async fn status_of(&self, user: &str, key: &str) -> StatusType {
        self.key_statuses(user).await.into_iter().find(|(id, _)| id == key).expect("key exists").1
    }

    async fn user_policy(&self, user: &str, name: &str) -> Option<Value> {
        let out = self.iam().get_user_policy().user_name(user).policy_name(name).send().await.ok()?;
        decode_document(out.policy_document())
    }

    async fn role_policy(&self, role: &str, name: &str) -> Option<Value> {
        let out = self.iam().get_role_policy().role_name(role).policy_name(name).send().await.ok()?;
        decode_document(out.policy_document())
    }

    async fn user_policy_names(&self, user: &str) -> Vec<String> {
        self.iam().list_user_policies().user_name(user).send().await.expect("ListUserPolicies").policy_names().to_vec()
    }

    async fn has_login_profile(&self, user: &str) -> bool {
        self.iam().get_login_profile().user_name(user).send().await.is_ok()
    }

    async fn user_tags(&self, user: &str) -> Vec<(String, String)> {
        let out = self.iam().list_user_tags().user_name(user).send().await.expect("ListUserTags");
        out.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
    }

    async fn role(&self, name: &str) {
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        self.iam()
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .expect("CreateRole");
    }
}

/// The user finding, naming `user` and `key`.
fn user_event(user: &str, key: &str) -> Value {
    let mut event = sample_event(USER_EVENT);
    let details = &mut event["detail"]["resource"]["accessKeyDetails"];
    details["userName"] = json!(user);
    details["accessKeyId"] = json!(key);
    event
}

fn assert_step(report: &Report, step: &str, outcome: StepOutcome) {
    let found: Vec<_> = report.steps_named(step).collect();
    assert!(!found.is_empty(), "no step {step} in {report:#?}");
    for s in found {
        assert_eq!(s.outcome, outcome, "step {step}: {s:#?}");
    }
}

/// The policy's TokenIssueTime cutoff, and that it is the moment of the run (to the second).
fn assert_revokes_sessions_issued_before_the_run(document: &Value, before: SystemTime, after: SystemTime) -> String {
    let statement = &document["Statement"][0];
    assert_eq!(statement["Effect"], "Deny");
    assert_eq!(statement["Action"], "*");
    assert_eq!(statement["Resource"], "*");
    let cutoff_text = statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"].as_str().expect("a TokenIssueTime");
    let cutoff = parse_time(cutoff_text).expect("an RFC 3339 time");
    let earliest = DateTime::from(before).secs();
    let latest = parse_time(&cutoff_at(after.into())).unwrap().secs();
    assert!((earliest..=latest).contains(&cutoff.secs()), "cutoff {cutoff_text} is the time of the run");
    assert_eq!(revoked_sessions_cutoff(document), Some(cutoff));
    cutoff_text.to_string()
}

#[tokio::test]
async fn iam_user_key_disabled_sessions_revoked_other_keys_and_password_untouched() {
    let env = start().await;
    let (leaked, other) = env.user("deploy-bot", &[]).await;

    let before = SystemTime::now();
    let report = env.run(&RevokeConfig::default(), &user_event("deploy-bot", &leaked)).await.expect("revocation runs");
    let after = SystemTime::now();
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");

    assert_eq!(env.status_of("deploy-bot", &leaked).await, StatusType::Inactive, "the named key is disabled");
    assert_eq!(env.status_of("deploy-bot", &other).await, StatusType::Active, "the other key is left alone by default");
    assert_eq!(env.key_statuses("deploy-bot").await.len(), 2, "no key deleted: they are evidence");
    let document = env.user_policy("deploy-bot", policy::REVOKE_SESSIONS_POLICY).await.expect("the deny policy");
    assert_revokes_sessions_issued_before_the_run(&document, before, after);
    assert!(env.has_login_profile("deploy-bot").await, "console password kept unless configured");

    let tags = env.user_tags("deploy-bot").await;
    let case_id = report.case_id.clone().expect("a case");
    assert!(tags.contains(&("firebreak:case".into(), case_id)), "{tags:?}");
    assert!(tags.contains(&("firebreak:finding-id".into(), "a4c6e0b1f2d3c4b5a69788f7e6d5c4b3".into())));
    assert!(tags.iter().any(|(k, _)| k == "firebreak:credentials-revoked-at"));

    assert_step(&report, "revoke_sessions", StepOutcome::Done);
    assert_step(&report, "tag_principal", StepOutcome::Done);
    let key_steps: Vec<_> = report.steps_named("deactivate_access_key").collect();
    assert_eq!(key_steps.len(), 2);
    assert_eq!((key_steps[0].resource.as_str(), key_steps[0].outcome), (leaked.as_str(), StepOutcome::Done));
    assert_eq!((key_steps[1].resource.as_str(), key_steps[1].outcome), (other.as_str(), StepOutcome::Skipped));
    assert_step(&report, "delete_login_profile", StepOutcome::Skipped);
}

#[tokio::test]
async fn every_key_and_the_console_password_go_when_configured() {
    let env = start().await;
    let (leaked, other) = env.user("deploy-bot", &[]).await;
    let config = RevokeConfig { deactivate_all_keys: true, delete_login_profile: true, ..RevokeConfig::default() };

    let report = env.run(&config, &user_event("deploy-bot", &leaked)).await.unwrap();
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    assert_eq!(env.status_of("deploy-bot", &leaked).await, StatusType::Inactive);
    assert_eq!(env.status_of("deploy-bot", &other).await, StatusType::Inactive);
    assert_eq!(env.key_statuses("deploy-bot").await.len(), 2, "keys disabled, never deleted");
    assert!(!env.has_login_profile("deploy-bot").await, "console password deleted");
    assert_step(&report, "delete_login_profile", StepOutcome::Done);
    assert_step(&report, "deactivate_access_key", StepOutcome::Done);
}

#[tokio::test]
async fn second_delivery_changes_nothing() {
    let env = start().await;
    let (leaked, _) = env.user("deploy-bot", &[]).await;
    let config = RevokeConfig { deactivate_all_keys: true, delete_login_profile: true, ..RevokeConfig::default() };
    let event = user_event("deploy-bot", &leaked);

    let first = env.run(&config, &event).await.unwrap();
    let policy_after_first = env.user_policy("deploy-bot", policy::REVOKE_SESSIONS_POLICY).await;
    let tags_after_first = env.user_tags("deploy-bot").await;

    let second = env.run(&config, &event).await.unwrap();
    assert_eq!(second.outcome, Outcome::Contained, "{second:#?}");
    assert_eq!(second.case_id, first.case_id, "same case");
    for step in &second.steps {
        assert_eq!(step.outcome, StepOutcome::Skipped, "nothing new on a redelivery: {step:#?}");
    }
    assert!(second.step("revoke_sessions").unwrap().detail.contains("already denied"));
    assert_eq!(
        env.user_policy("deploy-bot", policy::REVOKE_SESSIONS_POLICY).await,
        policy_after_first,
        "the cutoff is not moved"
    );
    assert_eq!(env.user_tags("deploy-bot").await, tags_after_first);
}

#[tokio::test]
async fn an_existing_cutoff_is_kept_when_it_covers_the_finding_and_moved_forward_when_not() {
    let env = start().await;
    let (leaked, _) = env.user("deploy-bot", &[]).await;
    let event = user_event("deploy-bot", &leaked); // updatedAt 2026-11-24T02:12:09.620Z
    let put = |cutoff: &'static str| {
        let document = policy::PolicyDocument::revoke_sessions_issued_before(cutoff).to_json();
        env.iam()
            .put_user_policy()
            .user_name("deploy-bot")
            .policy_name(policy::REVOKE_SESSIONS_POLICY)
            .policy_document(document)
            .send()
    };

    // A cutoff after the reported activity already revokes every session it can be about: kept,
    // not moved to now (which would revoke sessions legitimately issued since).
    put("2026-11-24T03:00:00Z").await.unwrap();
    let report = env.run(&RevokeConfig::default(), &event).await.unwrap();
    assert_step(&report, "revoke_sessions", StepOutcome::Skipped);
    let kept = env.user_policy("deploy-bot", policy::REVOKE_SESSIONS_POLICY).await.unwrap();
    assert_eq!(kept["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"], "2026-11-24T03:00:00Z");

    // A cutoff before the reported activity leaves sessions minted in between: moved forward to now.
    put("2026-11-24T02:00:00Z").await.unwrap();
    let before = SystemTime::now();
    let report = env.run(&RevokeConfig::default(), &event).await.unwrap();
    let after = SystemTime::now();
    assert_step(&report, "revoke_sessions", StepOutcome::Done);
    let moved = env.user_policy("deploy-bot", policy::REVOKE_SESSIONS_POLICY).await.unwrap();
    assert_revokes_sessions_issued_before_the_run(&moved, before, after);
}

#[tokio::test]
async fn assumed_role_sessions_are_revoked_on_the_role() {
    let env = start().await;
    env.role("ci-deployer").await;

    let before = SystemTime::now();
    let report = env.run(&RevokeConfig::default(), &sample_event(ROLE_EVENT)).await.unwrap();
    let after = SystemTime::now();
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    let document = env.role_policy("ci-deployer", policy::REVOKE_SESSIONS_POLICY).await.expect("the role deny policy");
    assert_revokes_sessions_issued_before_the_run(&document, before, after);
    let tags = env.iam().list_role_tags().role_name("ci-deployer").send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == "firebreak:case"));

    let again = env.run(&RevokeConfig::default(), &sample_event(ROLE_EVENT)).await.unwrap();
    assert!(again.steps.iter().all(|s| s.outcome == StepOutcome::Skipped), "{again:#?}");
}

#[tokio::test]
async fn exfiltrated_instance_credentials_are_denied_for_that_instance_and_the_instance_quarantined() {
    let env = start().await;
    let instance = env.scenario.compromised_instance(&Setup::default()).await;
    // The finding names the instance in instanceDetails and in the role session (principalId).
    let mut event = env.scenario.guardduty_event(EXFILTRATION_EVENT, &instance);
    event["detail"]["resource"]["accessKeyDetails"]["principalId"] =
        json!(format!("AROAQ3EGSYGZP8EXAMPLE:{}", instance.instance_id));

    let report = env.run(&RevokeConfig::default(), &event).await.unwrap();
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");

    let policy_name = format!("{}{}", policy::DENY_INSTANCE_POLICY_PREFIX, instance.instance_id);
    let document = env.role_policy("web-app", &policy_name).await.expect("the instance deny policy");
    assert_eq!(
        document,
        json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "FirebreakDenyInstanceCredentials", "Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"ec2:SourceInstanceARN":
                format!("arn:aws:ec2:us-east-1:123456789012:instance/{}", instance.instance_id)}}}]})
    );
    assert_eq!(
        env.role_policy("web-app", policy::REVOKE_SESSIONS_POLICY).await,
        None,
        "the role's other instances keep their sessions"
    );

    assert_step(&report, "deny_instance_credentials", StepOutcome::Done);
    assert_step(&report, "quarantine_source_instance", StepOutcome::Done);
    let isolation = env.scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await;
    assert_eq!(isolation.len(), 1);
    assert!(!env
        .scenario
        .groups_named(&instance.vpc_id, &untracking_group_name("firebreak-isolation"))
        .await
        .is_empty());
    let after = env.scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    for (eni, _) in &instance.interfaces {
        assert_eq!(after.interface_groups[eni], vec![isolation[0].0.clone()], "{eni} is isolated");
    }
    assert_eq!(after.tags["firebreak:case"], report.case_id.clone().unwrap(), "one case for role and instance");
    assert_eq!(after.snapshots.len(), 2, "the quarantine snapshotted the volumes");

    let again = env.run(&RevokeConfig::default(), &event).await.unwrap();
    assert_step(&again, "deny_instance_credentials", StepOutcome::Skipped);
    assert_eq!(env.scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await.snapshots.len(), 2);
}

#[tokio::test]
async fn exfiltration_finding_naming_two_different_instances_is_refused() {
    let env = start().await;
    let mut event = sample_event(EXFILTRATION_EVENT);
    event["detail"]["resource"]["accessKeyDetails"]["principalId"] = json!("AROAQ3EGSYGZP8EXAMPLE:i-0fffffffffffffff0");
    let err = env.run(&RevokeConfig::default(), &event).await.unwrap_err();
    assert!(err.to_string().contains("another instance"), "{err}");
}

#[tokio::test]
async fn health_risk_notice_naming_a_key_disables_it() {
    let env = start().await;
    let (exposed, other) = env.user("deploy-bot", &[]).await;
    let mut event = sample_event(HEALTH_EVENT);
    event["detail"]["affectedEntities"] = json!([{ "entityValue": exposed }]);

    let report = env.run(&RevokeConfig::default(), &event).await.unwrap();
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    assert_eq!(report.resource, "deploy-bot", "the key's owner was found");
    assert_eq!(env.status_of("deploy-bot", &exposed).await, StatusType::Inactive);
    assert_eq!(env.status_of("deploy-bot", &other).await, StatusType::Active);
    assert!(env.user_policy("deploy-bot", policy::REVOKE_SESSIONS_POLICY).await.is_some());
}

#[tokio::test]
async fn health_notice_naming_an_unknown_key_is_a_clear_error() {
    let env = start().await;
    let err = env.run(&RevokeConfig::default(), &sample_event(HEALTH_EVENT)).await.unwrap_err();
    assert!(matches!(err, RevokeError::KeyOwnerNotFound { .. }), "{err}");
    assert!(err.to_string().contains("AKIAQ3EGSYGZR3EXAMPL"), "{err}");
}

#[tokio::test]
async fn exempt_user_is_untouched() {
    let env = start().await;
    let (leaked, _) = env.user("breakglass", &[("firebreak:exempt", "incident-runbook")]).await;
    let report = env.run(&RevokeConfig::default(), &user_event("breakglass", &leaked)).await.unwrap();
    assert_eq!(report.outcome, Outcome::Skipped);
    assert!(report.reason.as_deref().unwrap().contains("exemption tag firebreak:exempt"), "{report:#?}");
    assert_eq!(env.status_of("breakglass", &leaked).await, StatusType::Active);
    assert!(env.user_policy_names("breakglass").await.is_empty());
    assert_eq!(env.user_tags("breakglass").await.len(), 1, "not even tagged");
}

#[tokio::test]
async fn protected_principals_and_our_own_identity_are_never_revoked() {
    let env = start().await;
    let (leaked, _) = env.user("ir-admin", &[]).await;
    for entry in ["ir-admin", "IR-Admin", "arn:aws:iam::123456789012:user/ops/ir-admin"] {
        let config =
            RevokeConfig::from_lookup(|name| (name == revoke::PROTECTED_PRINCIPALS).then(|| entry.to_string()))
                .unwrap();
        let report = env.run(&config, &user_event("ir-admin", &leaked)).await.unwrap();
        assert_eq!(report.outcome, Outcome::Skipped, "{entry}");
        assert!(report.reason.as_deref().unwrap().contains("FIREBREAK_PROTECTED_PRINCIPALS"), "{report:#?}");
    }
    assert_eq!(env.status_of("ir-admin", &leaked).await, StatusType::Active);
    assert!(env.user_policy_names("ir-admin").await.is_empty());

    // moto's GetCallerIdentity answers arn:aws:sts::123456789012:user/moto: the function's own
    // identity, looked up because the config has none cached.
    let (own_key, _) = env.user("moto", &[]).await;
    let report = env.run(&RevokeConfig::default(), &user_event("moto", &own_key)).await.unwrap();
    assert_eq!(report.outcome, Outcome::Skipped);
    assert!(report.reason.as_deref().unwrap().contains("identity this function runs as"), "{report:#?}");
    assert_eq!(env.status_of("moto", &own_key).await, StatusType::Active);
    assert!(env.user_policy_names("moto").await.is_empty());

    // The identity cached at cold start is honoured too (here: a role ARN).
    env.role("ci-deployer").await;
    let config = RevokeConfig {
        own_identity: Some("arn:aws:sts::123456789012:assumed-role/ci-deployer/revoke-credentials".into()),
        ..RevokeConfig::default()
    };
    let report = env.run(&config, &sample_event(ROLE_EVENT)).await.unwrap();
    assert_eq!(report.outcome, Outcome::Skipped, "{report:#?}");
    assert_eq!(env.role_policy("ci-deployer", policy::REVOKE_SESSIONS_POLICY).await, None);
}

#[tokio::test]
async fn root_finding_changes_nothing_and_says_why() {
    let env = start().await;
    let (key, _) = env.user("deploy-bot", &[]).await;
    let function = revoke_credentials::Function {
        accounts: firebreak_tests::accounts(&env._moto).await,
        config: RevokeConfig::default(),
    };
    let report = revoke_credentials::handle(&function, LambdaEvent::new(sample_event(ROOT_EVENT), Context::default()))
        .await
        .unwrap();
    assert_eq!(report["outcome"], "skipped", "{report:#}");
    let reason = report["reason"].as_str().unwrap();
    assert!(reason.contains("root credentials") && reason.contains("cannot be revoked"), "{reason}");
    assert_eq!(report["steps"], json!([]));
    assert_eq!(env.status_of("deploy-bot", &key).await, StatusType::Active);
}

#[tokio::test]
async fn missing_user_is_a_clear_error_and_sample_findings_are_skipped() {
    let env = start().await;
    let err = env.run(&RevokeConfig::default(), &user_event("nobody", "AKIAQ3EGSYGZJ5EXAMPL")).await.unwrap_err();
    assert!(matches!(err, RevokeError::UserNotFound { .. }), "{err}");
    assert_eq!(err.to_string(), "IAM user nobody does not exist in account 123456789012");

    let report = env.run(&RevokeConfig::default(), &sample_event(SAMPLE_EVENT)).await.unwrap();
    assert_eq!(report.outcome, Outcome::Skipped);
    assert!(report.reason.unwrap().contains("sample finding"));

    let mut low = sample_event(USER_EVENT);
    low["detail"]["severity"] = json!(2);
    let report = env.run(&RevokeConfig::default(), &low).await.unwrap();
    assert!(report.reason.unwrap().contains("below the configured minimum"));
}

#[tokio::test]
async fn dry_run_plans_and_changes_nothing() {
    let env = start().await;
    let (leaked, _) = env.user("deploy-bot", &[]).await;
    let mut config = RevokeConfig::default();
    config.quarantine.common.dry_run = true;
    let report = env.run(&config, &user_event("deploy-bot", &leaked)).await.unwrap();
    assert_eq!(report.outcome, Outcome::Planned, "{report:#?}");
    assert!(report.dry_run);
    assert_step(&report, "revoke_sessions", StepOutcome::Planned);
    assert_eq!(env.status_of("deploy-bot", &leaked).await, StatusType::Active);
    assert!(env.user_policy_names("deploy-bot").await.is_empty());
    assert!(env.user_tags("deploy-bot").await.is_empty());
}

#[tokio::test]
async fn handler_refuses_other_events_without_calling_aws() {
    let env = start().await;
    let function = revoke_credentials::Function {
        accounts: firebreak_tests::accounts(&env._moto).await,
        config: RevokeConfig::default(),
    };
    let ec2_finding = sample_event("quarantine-instance/guardduty-ec2-dos-actor.json");
    let err =
        revoke_credentials::handle(&function, LambdaEvent::new(ec2_finding, Context::default())).await.unwrap_err();
    assert!(err.to_string().contains("resource type AccessKey"), "{err}");
    let mut abuse = sample_event(HEALTH_EVENT);
    abuse["detail"]["eventTypeCode"] = json!("AWS_ABUSE_DOS_REPORT");
    let err = revoke_credentials::handle(&function, LambdaEvent::new(abuse, Context::default())).await.unwrap_err();
    assert!(err.to_string().contains("AWS_RISK_CREDENTIALS_"), "{err}");
    let mut injected = sample_event(USER_EVENT);
    injected["detail"]["resource"]["accessKeyDetails"]["userName"] = json!("bob/../admin");
    let err = revoke_credentials::handle(&function, LambdaEvent::new(injected, Context::default())).await.unwrap_err();
    assert!(err.to_string().contains("invalid accessKeyDetails.userName"), "{err}");
}

#[tokio::test]
async fn root_finding_and_revocations_are_sent_to_the_sns_topic() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let sns = aws_sdk_sns::Client::new(&moto.sdk_config().await);
    let topic_arn = sns.create_topic().name("firebreak").send().await.unwrap().topic_arn().unwrap().to_string();
    let config = RevokeConfig { sns_topic_arn: Some(topic_arn.clone()), ..RevokeConfig::default() };

    let trigger = RevokeTrigger::from_event(&sample_event(ROOT_EVENT)).unwrap();
    let report = revoke::revoke_credentials(
        &firebreak_tests::home_only(scenario.clients.clone()),
        &config,
        &trigger,
        firebreak::deadline::Deadline::NONE,
    )
    .await
    .unwrap();
    assert_eq!(report.outcome, Outcome::Skipped, "{report:#?}");
    assert_step(&report, "publish_sns_summary", StepOutcome::Done);
    let messages = moto.sns_messages(&topic_arn);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let text = messages[0].to_string();
    assert!(text.contains("NEEDS A HUMAN") && text.contains("root credentials"), "{text}");
}

#[tokio::test]
async fn security_hub_revoke_credentials_action_disables_the_key() {
    let env = start().await;
    let (leaked, other) = env.user("deploy-bot", &[]).await;
    let mut event = sample_event("revoke-credentials/securityhub-custom-action-revoke-credentials.json");
    event["detail"]["findings"][0]["Resources"][0]["Id"] = json!(format!("AWS::IAM::AccessKey:{leaked}"));
    let report = env.run(&RevokeConfig::default(), &event).await.expect("the action is handled");
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    assert_eq!(env.status_of("deploy-bot", &leaked).await, StatusType::Inactive);
    assert_eq!(env.status_of("deploy-bot", &other).await, StatusType::Active);
    assert!(env.user_policy("deploy-bot", policy::REVOKE_SESSIONS_POLICY).await.is_some());

    // The Quarantine action is not this function's.
    let quarantine = sample_event("quarantine-instance/securityhub-custom-action-quarantine.json");
    assert!(env.run(&RevokeConfig::default(), &quarantine).await.is_err());
}
