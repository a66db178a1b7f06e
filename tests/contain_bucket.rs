//! contain-bucket against moto: an S3 exfiltration finding blocks public access and merges the
//! deny statement into the bucket policy (its statements kept); an S3 attack sequence contains
//! both its buckets in one case; a redelivery changes nothing twice; a dry run changes nothing;
//! an exempt bucket is untouched; a member account's finding acts there; a release puts the
//! policy and the public access block back; and every object is still there.

use std::collections::BTreeSet;

use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{PublicAccessBlockConfiguration, Tag, Tagging};
use firebreak::accounts::{Accounts, AccountsConfig};
use firebreak::bucket::BucketConfig;
use firebreak::engine::CommonConfig;
use firebreak::release::ReleaseConfig;
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::member::{self, MEMBER_ACCOUNT};
use firebreak_tests::moto::{ACCOUNT_ID, REGION};
use firebreak_tests::{on_large_stack, sample_event, Moto};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const EXFILTRATION: &str = "contain-bucket/guardduty-s3-exfiltration-malicious-ip.json";
const SEQUENCE: &str = "contain-bucket/guardduty-attack-sequence-s3-compromised-data.json";
const SAMPLE: &str = "contain-bucket/guardduty-s3-sample-anomalous-delete.json";
const EXPORTS: &str = "acme-customer-exports";
const INVOICES: &str = "acme-invoices-archive";
const RESPONDER: &str = "arn:aws:iam::123456789012:role/ir/Responder";
const OWN_IDENTITY: &str = "arn:aws:sts::123456789012:assumed-role/firebreak-contain-bucket/contain-bucket";
const PARTNER_POLICY: &str = r#"{"Version":"2012-10-17","Id":"exports","Statement":[{"Sid":"ReadForPartner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-customer-exports/*"}]}"#;

/// S3 on an emulator needs path-style addressing (no bucket subdomains).
fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

fn config(dry_run: bool, ledger: bool) -> BucketConfig {
    BucketConfig {
        common: CommonConfig { dry_run, cases_table: ledger.then(|| TABLE.to_string()), ..CommonConfig::default() },
        breakglass_roles: vec![RESPONDER.into()],
        own_identity: Some(OWN_IDENTITY.into()),
    }
}

fn invocation(event: Value) -> LambdaEvent<Value> {
    let mut context = Context::default();
    context.invoked_function_arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:contain-bucket");
    LambdaEvent::new(event, context)
}

async fn contain(function: &contain_bucket::Function, event: Value) -> Value {
    contain_bucket::handle(function, invocation(event)).await.expect("handled")
}

/// A bucket with objects, and optionally a policy, a public access block and tags.
async fn bucket(s3: &aws_sdk_s3::Client, name: &str, policy: Option<&str>, block: bool, tags: &[(&str, &str)]) {
    s3.create_bucket().bucket(name).send().await.expect("CreateBucket");
    for key in ["2026/11/customers.csv", "2026/11/orders.csv"] {
        s3.put_object().bucket(name).key(key).body(ByteStream::from_static(b"id,name\n1,a\n")).send().await.unwrap();
    }
    if let Some(policy) = policy {
        s3.put_bucket_policy().bucket(name).policy(policy).send().await.expect("PutBucketPolicy");
    }
    if block {
        let configuration = PublicAccessBlockConfiguration::builder().block_public_acls(true).build();
        s3.put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(configuration)
            .send()
            .await
            .unwrap();
    }
    if !tags.is_empty() {
        let set = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap()).collect();
        let tagging = Tagging::builder().set_tag_set(Some(set)).build().unwrap();
        s3.put_bucket_tagging().bucket(name).tagging(tagging).send().await.unwrap();
    }
}

/// How a bucket stands: policy (parsed), public access block, tags, object keys.
#[derive(Debug, PartialEq)]
struct BucketView {
    policy: Option<Value>,
    block: Option<[bool; 4]>,
    tags: Vec<(String, String)>,
    objects: BTreeSet<String>,
}

async fn view(s3: &aws_sdk_s3::Client, name: &str) -> BucketView {
    let policy = s3.get_bucket_policy().bucket(name).send().await.ok().and_then(|o| o.policy().map(str::to_string));
    let block = s3.get_public_access_block().bucket(name).send().await.ok().and_then(|o| {
        o.public_access_block_configuration().map(|c| {
            [
                c.block_public_acls().unwrap_or(false),
                c.ignore_public_acls().unwrap_or(false),
                c.block_public_policy().unwrap_or(false),
                c.restrict_public_buckets().unwrap_or(false),
            ]
        })
    });
    let mut tags: Vec<(String, String)> = s3
        .get_bucket_tagging()
        .bucket(name)
        .send()
        .await
        .map(|o| o.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
        .unwrap_or_default();
    tags.sort();
    let objects = s3.list_objects_v2().bucket(name).send().await.unwrap();
    BucketView {
        policy: policy.map(|p| serde_json::from_str(&p).unwrap()),
        block,
        tags,
        objects: objects.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect(),
    }
}

fn statements(view: &BucketView) -> Vec<Value> {
    view.policy.as_ref().and_then(|p| p["Statement"].as_array().cloned()).unwrap_or_default()
}

fn firebreak_statement(view: &BucketView) -> Option<Value> {
    statements(view).into_iter().find(|s| s["Sid"] == "FirebreakContainment")
}

fn tag<'a>(view: &'a BucketView, key: &str) -> Option<&'a str> {
    view.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn an_exfiltration_finding_blocks_public_access_and_keeps_the_policy_statements() {
    on_large_stack(|| async {
        let moto = Moto::start();
        let s3 = s3(&moto.sdk_config().await);
        bucket(&s3, EXPORTS, Some(PARTNER_POLICY), false, &[("team", "data")]).await;
        let before = view(&s3, EXPORTS).await;
        let function =
            contain_bucket::Function { accounts: firebreak_tests::accounts(&moto).await, config: config(false, false) };

        let report = contain(&function, sample_event(EXFILTRATION)).await;
        assert_eq!(report["outcome"], "contained", "{report:#}");
        let after = view(&s3, EXPORTS).await;
        assert_eq!(after.block, Some([true; 4]), "public access blocked");
        let kept = statements(&after);
        assert_eq!(kept.len(), 2, "{kept:#?}");
        assert_eq!(kept[0], statements(&before)[0], "the partner's statement is kept as it was");
        assert_eq!(after.policy.as_ref().unwrap()["Id"], "exports");
        let ours = firebreak_statement(&after).expect("Firebreak's statement");
        assert_eq!(ours["Effect"], "Deny");
        assert_eq!(ours["Action"], "s3:*");
        assert_eq!(
            ours["Resource"],
            json!(["arn:aws:s3:::acme-customer-exports", "arn:aws:s3:::acme-customer-exports/*"])
        );
        let exempt = &ours["Condition"]["ArnNotLike"]["aws:PrincipalArn"];
        assert!(exempt.as_array().unwrap().contains(&json!(RESPONDER)), "{exempt}");
        assert!(exempt.as_array().unwrap().contains(&json!("arn:aws:iam::123456789012:role/firebreak-contain-bucket")));
        assert_eq!(tag(&after, "team"), Some("data"), "the bucket's own tags are kept");
        assert!(tag(&after, "firebreak:case").is_some_and(|c| Some(c) == report["case_id"].as_str()));
        assert_eq!(tag(&after, "firebreak:bucket-policy-before"), Some("kept-beside-firebreak-statement"));
        assert_eq!(
            tag(&after, "firebreak:public-access-block-before"),
            Some("none"),
            "the bucket had no public access block"
        );
        assert_eq!(after.objects, before.objects, "every object is still there");

        // Redelivered: every step finds its change in place and changes nothing.
        let again = contain(&function, sample_event(EXFILTRATION)).await;
        assert_eq!(again["outcome"], "contained", "{again:#}");
        let steps = again["steps"].as_array().unwrap();
        assert!(steps.iter().all(|s| s["outcome"] == "skipped"), "{again:#}");
        assert_eq!(view(&s3, EXPORTS).await, after, "a redelivery changes nothing");
    });
}

#[test]
fn an_attack_sequence_contains_both_buckets_in_one_case_and_release_restores_them() {
    on_large_stack(|| async {
        let moto = Moto::start();
        let s3 = s3(&moto.sdk_config().await);
        let dynamodb = ledger::create_table(&moto).await;
        bucket(&s3, EXPORTS, Some(PARTNER_POLICY), true, &[]).await;
        bucket(&s3, INVOICES, None, false, &[]).await;
        let (exports_before, invoices_before) = (view(&s3, EXPORTS).await, view(&s3, INVOICES).await);
        let accounts = firebreak_tests::accounts(&moto).await;
        let function = contain_bucket::Function { accounts, config: config(false, true) };

        let report = contain(&function, sample_event(SEQUENCE)).await;
        assert_eq!(report["outcome"], "contained", "{report:#}");
        assert!(report["reason"].as_str().unwrap().contains("ACCESS_KEY"), "the key is left to revoke-credentials");
        let case_id = report["case_id"].as_str().unwrap().to_string();
        for name in [EXPORTS, INVOICES] {
            let now = view(&s3, name).await;
            assert_eq!(now.block, Some([true; 4]), "{name}");
            assert!(firebreak_statement(&now).is_some(), "{name}");
            assert_eq!(tag(&now, "firebreak:case"), Some(case_id.as_str()), "{name}: one case");
        }
        assert_eq!(statements(&view(&s3, INVOICES).await).len(), 1, "a bucket without a policy gets ours alone");
        let cases = ledger::cases(&dynamodb).await;
        assert_eq!(cases.len(), 1, "one case for the sequence");
        let recorded = cases[0].recorded();
        assert!(recorded["arn:aws:s3:::acme-customer-exports"]["firebreak:bucket-policy"].contains("ReadForPartner"));
        assert_eq!(recorded["arn:aws:s3:::acme-invoices-archive"]["firebreak:bucket-policy"], "none");

        let release_function = release::Function {
            accounts: firebreak_tests::accounts(&moto).await,
            config: ReleaseConfig {
                common: CommonConfig { cases_table: Some(TABLE.into()), ..CommonConfig::default() },
                isolation_group_name: "firebreak-isolation".into(),
            },
        };
        let event = json!({"release": {"case_id": case_id, "reason": "false positive", "requested_by": "alice"}});
        let released = release::handle(&release_function, LambdaEvent::new(event, Context::default())).await.unwrap();
        assert!(released["steps"].as_array().unwrap().iter().all(|s| s["outcome"] == "done"), "{released:#}");
        let (exports, invoices) = (view(&s3, EXPORTS).await, view(&s3, INVOICES).await);
        assert_eq!(exports.policy, exports_before.policy, "the recorded policy is back, verbatim");
        assert_eq!(exports.block, exports_before.block, "the public access block is back");
        assert_eq!(invoices.policy, None, "no policy before the case: none after the release");
        assert_eq!(invoices.block, None, "no public access block before the case: none after");
        assert_eq!(tag(&exports, "firebreak:released-case"), Some(case_id.as_str()));
        assert_eq!(exports.objects, exports_before.objects, "every object is still there");
        assert_eq!(invoices.objects, invoices_before.objects, "every object is still there");
    });
}

#[test]
fn a_dry_run_changes_nothing_and_a_sample_is_skipped() {
    on_large_stack(|| async {
        let moto = Moto::start();
        let s3 = s3(&moto.sdk_config().await);
        bucket(&s3, EXPORTS, Some(PARTNER_POLICY), false, &[]).await;
        let before = view(&s3, EXPORTS).await;
        let dry =
            contain_bucket::Function { accounts: firebreak_tests::accounts(&moto).await, config: config(true, false) };
        let report = contain(&dry, sample_event(EXFILTRATION)).await;
        assert_eq!(report["outcome"], "planned", "{report:#}");
        assert_eq!(view(&s3, EXPORTS).await, before, "a dry run changes nothing");

        let acting =
            contain_bucket::Function { accounts: firebreak_tests::accounts(&moto).await, config: config(false, false) };
        let sample = contain(&acting, sample_event(SAMPLE)).await;
        assert_eq!(sample["outcome"], "skipped", "{sample:#}");
        assert!(sample["reason"].as_str().unwrap().contains("sample finding"));
        assert_eq!(view(&s3, EXPORTS).await, before);
    });
}

#[test]
fn an_exempt_bucket_is_untouched_and_the_others_are_contained() {
    on_large_stack(|| async {
        let moto = Moto::start();
        let s3 = s3(&moto.sdk_config().await);
        bucket(&s3, EXPORTS, Some(PARTNER_POLICY), false, &[("firebreak:exempt", "legal-hold")]).await;
        bucket(&s3, INVOICES, None, false, &[]).await;
        let exempt_before = view(&s3, EXPORTS).await;
        let function =
            contain_bucket::Function { accounts: firebreak_tests::accounts(&moto).await, config: config(false, false) };

        let alone = contain(&function, sample_event(EXFILTRATION)).await;
        assert_eq!(alone["outcome"], "skipped", "{alone:#}");
        assert!(alone["reason"].as_str().unwrap().contains("exemption tag"));
        let report = contain(&function, sample_event(SEQUENCE)).await;
        assert_eq!(report["outcome"], "contained", "{report:#}");
        assert_eq!(view(&s3, EXPORTS).await, exempt_before, "the exempt bucket is untouched");
        assert!(firebreak_statement(&view(&s3, INVOICES).await).is_some());
    });
}

#[test]
fn a_member_account_finding_contains_the_bucket_there() {
    on_large_stack(|| async {
        let moto = Moto::start();
        let home = s3(&moto.sdk_config().await);
        let member_s3 = s3(&member::account_config(&moto, MEMBER_ACCOUNT, REGION).await);
        bucket(&member_s3, EXPORTS, Some(PARTNER_POLICY), false, &[]).await;
        bucket(&home, "acme-security-logs", None, false, &[]).await;
        let accounts = Accounts::new(
            &moto.sdk_config().await,
            AccountsConfig {
                allowed_accounts: Some(BTreeSet::from([MEMBER_ACCOUNT.to_string()])),
                ..AccountsConfig::default()
            },
        );
        let function = contain_bucket::Function { accounts, config: config(false, false) };
        let mut event = sample_event(EXFILTRATION);
        event["detail"]["accountId"] = json!(MEMBER_ACCOUNT);

        let report = contain(&function, event).await;
        assert_eq!(report["outcome"], "contained", "{report:#}");
        let now = view(&member_s3, EXPORTS).await;
        assert_eq!(now.block, Some([true; 4]));
        let ours = firebreak_statement(&now).expect("contained in the member account");
        let exempt = ours["Condition"]["ArnNotLike"]["aws:PrincipalArn"].as_array().unwrap().clone();
        assert!(exempt.contains(&json!("arn:aws:iam::222222222222:role/FirebreakMember")), "{exempt:?}");
        assert_eq!(view(&home, "acme-security-logs").await.policy, None, "the security account is left alone");
    });
}
