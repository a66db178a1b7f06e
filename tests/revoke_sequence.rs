//! revoke-credentials on GuardDuty attack sequences against moto: the access keys and actors of an
//! `AttackSequence:IAM/CompromisedCredentials`, and the role behind the instance profile an
//! `AttackSequence:EC2/CompromisedInstanceGroup` names — all in one case.

use aws_sdk_iam::types::StatusType;
use firebreak::engine::{Outcome, Report, StepOutcome};
use firebreak::policy::{self, decode_document, revoked_sessions_cutoff};
use firebreak::revoke::{self, RevokeConfig, RevokeError, RevokeTrigger};
use firebreak_tests::{sample_event, Moto, Scenario};
use serde_json::{json, Value};

const IAM_SEQUENCE: &str = "revoke-credentials/guardduty-attack-sequence-iam-compromised-credentials.json";
const EC2_SEQUENCE: &str = "quarantine-instance/guardduty-attack-sequence-ec2-instance-group.json";

struct Env {
    _moto: Moto,
    scenario: Scenario,
}

impl Env {
    async fn start() -> Self {
        let moto = Moto::start();
        let scenario = Scenario::new(&moto).await;
        Self { _moto: moto, scenario }
    }

    fn iam(&self) -> &aws_sdk_iam::Client {
        &self.scenario.iam
    }

    async fn run(&self, config: &RevokeConfig, event: &Value) -> Result<Report, RevokeError> {
        let trigger = RevokeTrigger::from_event(event)?;
        let accounts = firebreak_tests::home_only(self.scenario.clients.clone());
        revoke::revoke_credentials(&accounts, config, &trigger, firebreak::deadline::Deadline::NONE).await
    }

    async fn user_with_keys(&self, name: &str, keys: usize) -> Vec<String> {
        self.iam().create_user().user_name(name).send().await.expect("CreateUser");
        let mut ids = Vec::new();
        for _ in 0..keys {
            let key = self.iam().create_access_key().user_name(name).send().await.expect("CreateAccessKey");
            ids.push(key.access_key().expect("key").access_key_id().to_string());
        }
        ids
    }

    async fn role(&self, name: &str) {
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        self.iam()
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .expect("CreateRole");
    }

    async fn key_status(&self, user: &str, key: &str) -> StatusType {
        let out = self.iam().list_access_keys().user_name(user).send().await.expect("ListAccessKeys");
        let key = out.access_key_metadata().iter().find(|k| k.access_key_id() == Some(key)).expect("key");
        key.status().expect("status").clone()
    }

    async fn user_deny(&self, user: &str) -> Option<Value> {
        let out = self
            .iam()
            .get_user_policy()
            .user_name(user)
            .policy_name(policy::REVOKE_SESSIONS_POLICY)
            .send()
            .await
            .ok()?;
        decode_document(out.policy_document())
    }

    async fn role_deny(&self, role: &str) -> Option<Value> {
        let out = self
            .iam()
            .get_role_policy()
            .role_name(role)
            .policy_name(policy::REVOKE_SESSIONS_POLICY)
            .send()
            .await
            .ok()?;
        decode_document(out.policy_document())
    }
}

fn case_of(report: &Report) -> String {
    report.case_id.clone().expect("a case id")
}

#[tokio::test]
async fn an_iam_sequence_revokes_every_key_and_actor_in_one_case() {
    let env = Env::start().await;
    // moto mints its own key ids: the sample is pointed at them.
    let deploy_keys = env.user_with_keys("ci-deploy", 2).await;
    let persistence_keys = env.user_with_keys("backdoor", 1).await;
    env.role("ops-admin").await;
    let mut event = sample_event(IAM_SEQUENCE);
    let resources = &mut event["detail"]["service"]["detection"]["sequence"]["resources"];
    resources[0]["uid"] = json!(deploy_keys[0]);
    // The key the attacker created names no user: its owner is read (GetAccessKeyLastUsed).
    resources[1]["uid"] = json!(persistence_keys[0]);

    let report = env.run(&RevokeConfig::default(), &event).await.expect("revoked");
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    assert_eq!(case_of(&report), firebreak::case::case_id_for("b7e2d9f0c1a34b5c8d6e7f8091a2b3c4"));
    assert_eq!(env.key_status("ci-deploy", &deploy_keys[0]).await, StatusType::Inactive);
    assert_eq!(env.key_status("ci-deploy", &deploy_keys[1]).await, StatusType::Active, "only the named key");
    assert_eq!(env.key_status("backdoor", &persistence_keys[0]).await, StatusType::Inactive);
    for user in ["ci-deploy", "backdoor"] {
        let deny = env.user_deny(user).await.unwrap_or_else(|| panic!("{user} has the session deny"));
        assert!(revoked_sessions_cutoff(&deny).is_some(), "{deny}");
    }
    let role_deny = env.role_deny("ops-admin").await.expect("the actor role's sessions are revoked");
    assert!(revoked_sessions_cutoff(&role_deny).is_some());

    // A redelivery finds everything done.
    let again = env.run(&RevokeConfig::default(), &event).await.expect("again");
    assert_ne!(again.outcome, Outcome::Failed, "{again:#?}");
    assert!(again.steps.iter().all(|s| s.outcome == StepOutcome::Skipped), "{again:#?}");
}

#[tokio::test]
async fn an_ec2_sequence_revokes_the_sessions_of_the_shared_profile_role() {
    let env = Env::start().await;
    env.role("web-app-role").await;
    env.iam().create_instance_profile().instance_profile_name("web-app").send().await.expect("profile");
    env.iam()
        .add_role_to_instance_profile()
        .instance_profile_name("web-app")
        .role_name("web-app-role")
        .send()
        .await
        .expect("AddRoleToInstanceProfile");
    let event = sample_event(EC2_SEQUENCE);

    let dry = RevokeConfig { quarantine: dry_run(), ..RevokeConfig::default() };
    let planned = env.run(&dry, &event).await.expect("planned");
    assert!(env.role_deny("web-app-role").await.is_none(), "a dry run changes nothing: {planned:#?}");

    let report = env.run(&RevokeConfig::default(), &event).await.expect("revoked");
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    let deny = env.role_deny("web-app-role").await.expect("the profile's role gets the session deny");
    assert!(revoked_sessions_cutoff(&deny).is_some(), "{deny}");
    assert_eq!(case_of(&report), firebreak::case::case_id_for("a4c9b1e7f03d42e88b6f2d1c9e7a5b30"));
}

#[tokio::test]
async fn a_missing_profile_or_key_is_reported_and_the_rest_still_revoked() {
    let env = Env::start().await;
    let keys = env.user_with_keys("ci-deploy", 1).await;
    let mut event = sample_event(IAM_SEQUENCE);
    let resources = &mut event["detail"]["service"]["detection"]["sequence"]["resources"];
    resources[0]["uid"] = json!(keys[0]);
    // resources[1] names a key no user of the account owns; the actor role ops-admin does not exist.

    let report = env.run(&RevokeConfig::default(), &event).await.expect("revoked what exists");
    assert_eq!(env.key_status("ci-deploy", &keys[0]).await, StatusType::Inactive);
    let reason = report.reason.clone().unwrap_or_default();
    assert!(reason.contains("AKIAQ3EGSYGZNEWKEY01"), "the unknown key is reported: {reason}");
    assert!(reason.contains("ops-admin"), "the missing role is reported: {reason}");
}

#[tokio::test]
async fn hostile_sequences_are_refused_before_any_call() {
    let mut foreign = sample_event(IAM_SEQUENCE);
    foreign["detail"]["service"]["detection"]["sequence"]["resources"][0]["accountId"] = json!("999999999999");
    assert!(RevokeTrigger::from_event(&foreign).is_err());
    let mut many = sample_event(IAM_SEQUENCE);
    let keys: Vec<Value> =
        (0..250).map(|i| json!({"uid": format!("AKIAQ3EGSYGZ{i:08}"), "resourceType": "ACCESS_KEY"})).collect();
    many["detail"]["service"]["detection"]["sequence"]["resources"] = Value::Array(keys);
    assert!(RevokeTrigger::from_event(&many).is_err());
    for name in ["attack-sequence-access-key-of-another-account.json", "attack-sequence-access-key-malformed.json"] {
        let path = firebreak_tests::workspace_root().join("tests/hostile").join(name);
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("hostile file")).expect("JSON");
        assert!(RevokeTrigger::from_event(&event).is_err(), "{name} must be refused");
    }
}

fn dry_run() -> firebreak::quarantine::QuarantineConfig {
    let mut config = firebreak::quarantine::QuarantineConfig::default();
    config.common.dry_run = true;
    config
}
