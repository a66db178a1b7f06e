//! Security Hub (v2) OCSF imports of GuardDuty findings, on a real moto server: they do exactly
//! what the native GuardDuty event does (same case, same plan), like the ASFF imports: EC2
//! instances, access keys, Lambda functions (concurrency 0) and S3 buckets (deny statement merged,
//! public access blocked); an import not from GuardDuty, not New or being closed changes nothing.

use std::collections::BTreeMap;

use aws_sdk_iam::types::StatusType;
use firebreak::accounts::{Accounts, AccountsConfig};
use firebreak::bucket::BucketConfig;
use firebreak::contain_lambda::ContainLambdaConfig;
use firebreak::engine::{FunctionError, Outcome};
use firebreak::notify::NotifyConfig;
use firebreak::respond::Settings;
use firebreak::revoke::{self, RevokeConfig, RevokeTrigger};
use firebreak_tests::moto::ACCOUNT_ID;
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::{on_large_stack, sample_event, Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use quarantine_instance::Function as QuarantineFunction;
use serde_json::{json, Value};

const EC2_V2: &str = "quarantine-instance/securityhub-v2-imported-guardduty-ec2-dos.json";
const IAM_V2: &str = "revoke-credentials/securityhub-v2-imported-guardduty-iam-user.json";

async fn quarantine(function: &QuarantineFunction, event: Value) -> Result<Value, FunctionError> {
    quarantine_instance::handle(function, LambdaEvent::new(event, Context::default())).await
}

/// The v2 sample, naming the emulator's account and `instance`.
fn v2_event(instance: &CompromisedInstance) -> Value {
    let mut event = sample_event(EC2_V2);
    let finding = &mut event["detail"]["findings"][0];
    finding["cloud"]["account"]["uid"] = json!(ACCOUNT_ID);
    finding["finding_info"]["uid"] = json!(format!(
        "arn:aws:guardduty:us-east-1:{ACCOUNT_ID}:detector/d2c4f1a9b8e7c6d5e4f3a2b1c0d9e8f7/finding/16afba5c5c43e07c9e3e5e2e544e95df"
    ));
    finding["resources"][0]["uid"] =
        json!(format!("arn:aws:ec2:us-east-1:{ACCOUNT_ID}:instance/{}", instance.instance_id));
    event["account"] = json!(ACCOUNT_ID);
    event
}

fn step_outcomes(response: &Value) -> Vec<(String, String)> {
    response["reports"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap().to_string(), s["outcome"].as_str().unwrap().to_string()))
        .collect()
}

async fn is_isolated(scenario: &Scenario, instance: &CompromisedInstance) -> bool {
    let view = scenario.view(&instance.instance_id, None).await;
    let isolation = scenario.groups_named(&instance.vpc_id, "firebreak-isolation").await;
    let Some((isolation_id, ..)) = isolation.first() else { return false };
    view.interface_groups.values().all(|groups| groups == &vec![isolation_id.clone()])
        && view.tags.contains_key("firebreak:case")
}

#[tokio::test]
async fn a_v2_import_of_a_guardduty_ec2_finding_contains_the_instance_like_the_native_finding() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let settings =
        Settings { notify: NotifyConfig { sns_topic_arn: None, security_hub: false }, ..Settings::default() };
    let accounts = Accounts::new(&moto.sdk_config().await, AccountsConfig::default());
    let function = QuarantineFunction { accounts, config: settings };

    let native_instance = scenario.compromised_instance(&Setup::bare()).await;
    let native = quarantine(
        &function,
        scenario.guardduty_event("quarantine-instance/guardduty-ec2-dos-actor.json", &native_instance),
    )
    .await
    .expect("native");
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    let imported = quarantine(&function, v2_event(&instance)).await.expect("v2 import");
    assert_eq!(imported["outcome"], "contained", "{imported:#}");
    assert_eq!(imported["case_id"], native["case_id"], "the same finding is the same case");
    assert_eq!(step_outcomes(&imported), step_outcomes(&native), "the same plan");
    assert!(is_isolated(&scenario, &native_instance).await);
    assert!(is_isolated(&scenario, &instance).await, "the v2 import isolated its instance");
    let (view, native_view) =
        (scenario.view(&instance.instance_id, None).await, scenario.view(&native_instance.instance_id, None).await);
    for tag in ["firebreak:case", "firebreak:finding-id", "firebreak:finding-type"] {
        assert_eq!(view.tags[tag], native_view.tags[tag], "{tag}");
    }

    // A finding someone already worked, another product's, and an access-key one: left alone.
    for (field, value) in [
        ("status", json!("Resolved")),
        ("metadata", json!({"product": {"name": "Inspector"}})),
        ("resources", json!([{"type": "AWS::IAM::AccessKey", "uid": "AKIAQ3EGSYGZJ5EXAMPL"}])),
    ] {
        let untouched = scenario.compromised_instance(&Setup::bare()).await;
        let mut event = v2_event(&untouched);
        event["detail"]["findings"][0][field] = value;
        if field == "resources" {
            event["detail"]["findings"][0]["finding_info"]["types"] =
                json!(["UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom"]);
        }
        let response = quarantine(&function, event).await.expect(field);
        assert_eq!(response["outcome"], "skipped", "{field}: {response:#}");
        assert!(!is_isolated(&scenario, &untouched).await, "{field}");
    }
}

#[tokio::test]
async fn a_v2_import_of_a_guardduty_access_key_finding_disables_the_key() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let iam = &scenario.iam;
    iam.create_user().user_name("deploy-bot").send().await.expect("CreateUser");
    let mut keys = Vec::new();
    for _ in 0..2 {
        let key = iam.create_access_key().user_name("deploy-bot").send().await.expect("CreateAccessKey");
        keys.push(key.access_key().unwrap().access_key_id().to_string());
    }
    let mut event = sample_event(IAM_V2);
    let finding = &mut event["detail"]["findings"][0];
    finding["resources"][0]["uid"] = json!(keys[0]);
    finding["actor"]["user"]["credential_uid"] = json!(keys[0]);

    let trigger = RevokeTrigger::from_event(&event).expect("routed to revoke-credentials");
    let accounts = firebreak_tests::home_only(scenario.clients.clone());
    let report =
        revoke::revoke_credentials(&accounts, &RevokeConfig::default(), &trigger, firebreak::deadline::Deadline::NONE)
            .await
            .expect("revocation runs");
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    let listed = iam.list_access_keys().user_name("deploy-bot").send().await.expect("ListAccessKeys");
    let status = |id: &str| {
        listed.access_key_metadata().iter().find(|k| k.access_key_id() == Some(id)).and_then(|k| k.status().cloned())
    };
    assert_eq!(status(&keys[0]), Some(StatusType::Inactive), "the named key is disabled");
    assert_eq!(status(&keys[1]), Some(StatusType::Active), "the other key is left alone");

    // The EC2 import is quarantine-instance's, not revoke-credentials'.
    let refused = RevokeTrigger::from_event(&sample_event(EC2_V2)).unwrap_err().to_string();
    assert!(refused.contains("quarantine-instance"), "{refused}");
}

const LAMBDA_NATIVE: &str = "contain-lambda/guardduty-lambda-cryptocurrency.json";
const LAMBDA_V2: &str = "contain-lambda/securityhub-v2-imported-guardduty-lambda.json";
const S3_NATIVE: &str = "contain-bucket/guardduty-s3-exfiltration-malicious-ip.json";
const S3_V2: &str = "contain-bucket/securityhub-v2-imported-guardduty-s3.json";

/// What must leave an import untouched: already worked, another product's, being closed.
fn refused_variants(path: &str) -> Vec<(&'static str, Value)> {
    let mut variants = Vec::new();
    for (label, field, value) in [
        ("resolved", "status", json!("Resolved")),
        ("inspector", "metadata", json!({"product": {"name": "Inspector"}})),
        ("closing", "activity_name", json!("Close")),
    ] {
        let mut event = sample_event(path);
        event["detail"]["findings"][0][field] = value;
        variants.push((label, event));
    }
    variants
}

/// `thumbnailer` and its execution role, as the Lambda samples name them; reserved concurrency 5.
async fn deploy_function(moto: &Moto) {
    let config = moto.sdk_config().await;
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let iam = aws_sdk_iam::Client::new(&config);
    let role = "thumbnailer-role";
    iam.create_role()
        .role_name(role)
        .path("/service-role/")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("CreateRole");
    let lambda = aws_sdk_lambda::Client::new(&config);
    // The smallest valid zip archive: only the end-of-central-directory record.
    let mut zip = b"PK\x05\x06".to_vec();
    zip.extend([0u8; 18]);
    lambda
        .create_function()
        .function_name("thumbnailer")
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(format!("arn:aws:iam::{ACCOUNT_ID}:role/service-role/{role}"))
        .code(
            aws_sdk_lambda::types::FunctionCode::builder().zip_file(aws_sdk_lambda::primitives::Blob::new(zip)).build(),
        )
        .send()
        .await
        .expect("CreateFunction");
    lambda
        .put_function_concurrency()
        .function_name("thumbnailer")
        .reserved_concurrent_executions(5)
        .send()
        .await
        .expect("PutFunctionConcurrency");
}

/// The function's reserved concurrency, its tags (without timestamps), whether its role has the
/// session-revoking policy.
async fn function_state(moto: &Moto) -> (Option<i32>, BTreeMap<String, String>, bool) {
    let config = moto.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let reserved = lambda.get_function_concurrency().function_name("thumbnailer").send().await.expect("concurrency");
    let function = lambda.get_function().function_name("thumbnailer").send().await.expect("GetFunction");
    let mut tags: BTreeMap<String, String> = function.tags().cloned().unwrap_or_default().into_iter().collect();
    tags.retain(|k, _| !k.ends_with("-at"));
    let iam = aws_sdk_iam::Client::new(&config);
    let policy =
        iam.get_role_policy().role_name("thumbnailer-role").policy_name("firebreak-revoke-older-sessions").send().await;
    (reserved.reserved_concurrent_executions(), tags, policy.is_ok())
}

async fn contain_function(moto: &Moto, event: Value) -> Result<Value, FunctionError> {
    let function = contain_lambda::Function {
        accounts: firebreak_tests::accounts(moto).await,
        config: ContainLambdaConfig::default(),
    };
    contain_lambda::handle(&function, LambdaEvent::new(event, Context::default())).await
}

#[tokio::test]
async fn a_v2_import_of_a_guardduty_lambda_finding_stops_the_function_like_the_native_finding() {
    let (native_moto, moto) = (Moto::start(), Moto::start());
    deploy_function(&native_moto).await;
    deploy_function(&moto).await;
    let before = function_state(&moto).await;
    for (label, event) in refused_variants(LAMBDA_V2) {
        let refused = contain_function(&moto, event).await.expect_err(label);
        assert_eq!(refused.kind, "InvalidEvent", "{label}: {refused:?}");
        assert_eq!(function_state(&moto).await, before, "{label} changes nothing");
    }
    // The EC2 import is quarantine-instance's.
    let refused = contain_function(&moto, sample_event(EC2_V2)).await.expect_err("EC2 import");
    assert!(refused.message.contains("quarantine-instance"), "{refused:?}");

    let native = contain_function(&native_moto, sample_event(LAMBDA_NATIVE)).await.expect("native");
    let imported = contain_function(&moto, sample_event(LAMBDA_V2)).await.expect("v2 import");
    assert_eq!(imported["outcome"], "contained", "{imported:#}");
    assert_eq!(imported["case_id"], native["case_id"], "the same finding is the same case");
    let after = function_state(&moto).await;
    assert_eq!(after.0, Some(0), "the function no longer runs");
    assert_eq!(after.1.get("firebreak:reserved-concurrency-before").map(String::as_str), Some("5"));
    assert!(after.2, "the execution role's sessions are revoked");
    assert_eq!(after, function_state(&native_moto).await, "exactly what the native finding does");
}

/// S3 on an emulator needs path-style addressing (no bucket subdomains).
fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

const EXPORTS_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadForPartner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-customer-exports/*"}]}"#;

/// The policy (parsed), public access block and tags (without timestamps) of the exports bucket.
async fn bucket_state(moto: &Moto) -> (Option<Value>, Option<[bool; 4]>, BTreeMap<String, String>) {
    let s3 = s3_client(&moto.sdk_config().await);
    let bucket = "acme-customer-exports";
    let policy = s3.get_bucket_policy().bucket(bucket).send().await.ok().and_then(|o| o.policy().map(str::to_string));
    let block = s3.get_public_access_block().bucket(bucket).send().await.ok().and_then(|o| {
        let c = o.public_access_block_configuration()?;
        Some(
            [c.block_public_acls(), c.ignore_public_acls(), c.block_public_policy(), c.restrict_public_buckets()]
                .map(|b| b.unwrap_or(false)),
        )
    });
    let tagging = s3.get_bucket_tagging().bucket(bucket).send().await;
    let mut tags: BTreeMap<String, String> = tagging
        .map(|o| o.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
        .unwrap_or_default();
    tags.retain(|k, _| !k.ends_with("-at"));
    (policy.map(|p| serde_json::from_str(&p).expect("policy")), block, tags)
}

/// The bucket the S3 samples name, with a partner's policy statement.
async fn exports_bucket(moto: &Moto) {
    let s3 = s3_client(&moto.sdk_config().await);
    s3.create_bucket().bucket("acme-customer-exports").send().await.expect("CreateBucket");
    s3.put_bucket_policy()
        .bucket("acme-customer-exports")
        .policy(EXPORTS_POLICY)
        .send()
        .await
        .expect("PutBucketPolicy");
}

async fn contain_exports(moto: &Moto, event: Value) -> Result<Value, FunctionError> {
    let config = BucketConfig {
        own_identity: Some("arn:aws:sts::123456789012:assumed-role/firebreak-contain-bucket/contain-bucket".into()),
        ..BucketConfig::default()
    };
    let function = contain_bucket::Function { accounts: firebreak_tests::accounts(moto).await, config };
    contain_bucket::handle(&function, LambdaEvent::new(event, Context::default())).await
}

#[test]
fn a_v2_import_of_a_guardduty_s3_finding_contains_the_bucket_like_the_native_finding() {
    on_large_stack(|| async {
        let (native_moto, moto) = (Moto::start(), Moto::start());
        exports_bucket(&native_moto).await;
        exports_bucket(&moto).await;
        let before = bucket_state(&moto).await;
        for (label, event) in refused_variants(S3_V2) {
            let refused = contain_exports(&moto, event).await.expect_err(label);
            assert_eq!(refused.kind, "InvalidEvent", "{label}: {refused:?}");
            assert_eq!(bucket_state(&moto).await, before, "{label} changes nothing");
        }

        let native = contain_exports(&native_moto, sample_event(S3_NATIVE)).await.expect("native");
        let imported = contain_exports(&moto, sample_event(S3_V2)).await.expect("v2 import");
        assert_eq!(imported["outcome"], "contained", "{imported:#}");
        assert_eq!(imported["case_id"], native["case_id"], "the same finding is the same case");
        let (policy, block, tags) = bucket_state(&moto).await;
        assert_eq!(block, Some([true; 4]), "public access blocked");
        let statements = policy.as_ref().and_then(|p| p["Statement"].as_array().cloned()).unwrap_or_default();
        assert_eq!(statements.len(), 2, "{statements:#?}");
        assert_eq!(statements[0]["Sid"], "ReadForPartner", "the bucket's own statement is kept");
        assert_eq!(
            (statements[1]["Sid"].clone(), statements[1]["Effect"].clone()),
            (json!("FirebreakContainment"), json!("Deny"))
        );
        assert_eq!(tags.get("firebreak:case").map(String::as_str), imported["case_id"].as_str());
        assert_eq!((policy, block, tags), bucket_state(&native_moto).await, "exactly what the native finding does");
    });
}
