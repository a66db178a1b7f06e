//! contain-lambda against moto (CreateFunction, Get/Put/DeleteFunctionConcurrency, GetFunction
//! tags, TagResource and IAM role policies are all implemented there): a Lambda Protection finding
//! stops the function (reserved concurrency 0, the previous value recorded on the function and in
//! the case), revokes its role's sessions and tags it; a redelivery changes nothing; dry run,
//! exempt functions and sample findings change nothing; a member account's finding acts there;
//! a release puts the concurrency back.

use std::collections::{BTreeMap, BTreeSet};

use aws_config::SdkConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use firebreak::accounts::{Accounts, AccountsConfig};
use firebreak::contain_lambda::ContainLambdaConfig;
use firebreak::engine::{CommonConfig, FunctionError};
use firebreak::release::ReleaseConfig;
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::member::{self, MEMBER_ACCOUNT};
use firebreak_tests::moto::ACCOUNT_ID;
use firebreak_tests::{sample_event, Moto};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const EVENT: &str = "contain-lambda/guardduty-lambda-cryptocurrency.json";
const SAMPLE: &str = "contain-lambda/guardduty-lambda-backdoor-sample.json";
const FUNCTION: &str = "thumbnailer";
const ROLE: &str = "thumbnailer-role";
const BEFORE: &str = "firebreak:reserved-concurrency-before";
const SESSIONS_POLICY: &str = "firebreak-revoke-older-sessions";

/// The smallest valid zip archive (an empty one: only the end-of-central-directory record).
fn empty_zip() -> Vec<u8> {
    let mut zip = b"PK\x05\x06".to_vec();
    zip.extend([0u8; 18]);
    zip
}

/// A function with its execution role (under a path, as the console creates it) in the account
/// `config` acts in, with `reserved` concurrency and `tags`.
async fn deploy(config: &SdkConfig, account: &str, reserved: Option<i32>, tags: &[(&str, &str)]) {
    let iam = aws_sdk_iam::Client::new(config);
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    iam.create_role()
        .role_name(ROLE)
        .path("/service-role/")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("CreateRole");
    let lambda = aws_sdk_lambda::Client::new(config);
    let mut create = lambda
        .create_function()
        .function_name(FUNCTION)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role(format!("arn:aws:iam::{account}:role/service-role/{ROLE}"))
        .code(FunctionCode::builder().zip_file(Blob::new(empty_zip())).build());
    for (k, v) in tags {
        create = create.tags(*k, *v);
    }
    create.send().await.expect("CreateFunction");
    if let Some(n) = reserved {
        lambda
            .put_function_concurrency()
            .function_name(FUNCTION)
            .reserved_concurrent_executions(n)
            .send()
            .await
            .expect("PutFunctionConcurrency");
    }
}

/// What contain-lambda and a release change: reservation, tags, the role's policy.
#[derive(Debug, PartialEq)]
struct State {
    reserved: Option<i32>,
    tags: BTreeMap<String, String>,
    role_policy: bool,
}

async fn state(config: &SdkConfig) -> State {
    let lambda = aws_sdk_lambda::Client::new(config);
    let concurrency = lambda.get_function_concurrency().function_name(FUNCTION).send().await.expect("concurrency");
    let function = lambda.get_function().function_name(FUNCTION).send().await.expect("GetFunction");
    let tags = function.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
    let iam = aws_sdk_iam::Client::new(config);
    let policy = iam.get_role_policy().role_name(ROLE).policy_name(SESSIONS_POLICY).send().await;
    State { reserved: concurrency.reserved_concurrent_executions(), tags, role_policy: policy.is_ok() }
}

fn common(dry_run: bool) -> CommonConfig {
    CommonConfig { cases_table: Some(TABLE.into()), dry_run, ..CommonConfig::default() }
}

async fn function(moto: &Moto, dry_run: bool) -> contain_lambda::Function {
    contain_lambda::Function {
        accounts: firebreak_tests::accounts(moto).await,
        config: ContainLambdaConfig { common: common(dry_run) },
    }
}

async fn deliver(function: &contain_lambda::Function, event: Value) -> Result<Value, FunctionError> {
    contain_lambda::handle(function, LambdaEvent::new(event, Context::default())).await
}

async fn release(moto: &Moto, case_id: &str) -> Value {
    let function = release::Function {
        accounts: firebreak_tests::accounts(moto).await,
        config: ReleaseConfig { common: common(false), isolation_group_name: "firebreak-isolation".into() },
    };
    let event = json!({"release": {
        "case_id": case_id, "reason": "false positive", "requested_by": "alice@example.com", "credentials": true
    }});
    release::handle(&function, LambdaEvent::new(event, Context::default())).await.expect("released")
}

#[tokio::test]
async fn a_lambda_finding_sets_concurrency_to_zero_records_the_previous_value_and_a_release_restores_it() {
    let moto = Moto::start();
    let dynamodb = ledger::create_table(&moto).await;
    let config = moto.sdk_config().await;
    deploy(&config, ACCOUNT_ID, Some(25), &[("team", "media")]).await;
    let f = function(&moto, false).await;

    let report = deliver(&f, sample_event(EVENT)).await.expect("contained");
    assert_eq!(report["outcome"], "contained", "{report:#}");
    let case_id = report["case_id"].as_str().unwrap().to_string();
    let after = state(&config).await;
    assert_eq!(after.reserved, Some(0), "the function no longer runs");
    assert_eq!(after.tags.get(BEFORE).map(String::as_str), Some("25"), "the previous value is on the function");
    assert_eq!(after.tags.get("firebreak:case"), Some(&case_id));
    assert_eq!(
        after.tags.get("firebreak:finding-type").map(String::as_str),
        Some("CryptoCurrency:Lambda/BitcoinTool.B")
    );
    assert_eq!(after.tags.get("team").map(String::as_str), Some("media"), "its own tags stay");
    assert!(after.role_policy, "the execution role's sessions are revoked");
    let case = ledger::cases(&dynamodb).await.into_iter().find(|c| c.case_id == case_id).expect("case");
    let recorded = case.recorded();
    assert_eq!(recorded["function/thumbnailer"][BEFORE], "25", "the previous value is in the case");
    assert_eq!(
        recorded["role/thumbnailer-role"]["firebreak:policy:firebreak-revoke-older-sessions"],
        "role/thumbnailer-role"
    );

    // A redelivery finds everything done and changes nothing.
    let again = deliver(&f, sample_event(EVENT)).await.expect("redelivered");
    let steps = again["steps"].as_array().unwrap();
    assert!(steps.iter().all(|s| s["outcome"] == "skipped"), "{again:#}");
    assert_eq!(state(&config).await, after);

    let released = release(&moto, &case_id).await;
    assert_eq!(released["outcome"], "completed", "{released:#}");
    let back = state(&config).await;
    assert_eq!(back.reserved, Some(25), "reserved concurrency as before the case");
    assert!(!back.role_policy, "Firebreak's policy removed (credentials: true)");
    assert_eq!(back.tags.get("firebreak:released-case"), Some(&case_id));
}

#[tokio::test]
async fn an_unreserved_function_is_unreserved_again_after_release() {
    let moto = Moto::start();
    ledger::create_table(&moto).await;
    let config = moto.sdk_config().await;
    deploy(&config, ACCOUNT_ID, None, &[]).await;
    let report = deliver(&function(&moto, false).await, sample_event(EVENT)).await.expect("contained");
    assert_eq!(report["outcome"], "contained", "{report:#}");
    let after = state(&config).await;
    assert_eq!((after.reserved, after.tags.get(BEFORE).map(String::as_str)), (Some(0), Some("none")));
    let released = release(&moto, report["case_id"].as_str().unwrap()).await;
    assert_eq!(released["outcome"], "completed", "{released:#}");
    assert_eq!(state(&config).await.reserved, None, "DeleteFunctionConcurrency: no reservation, as before");
}

#[tokio::test]
async fn dry_run_exempt_functions_and_sample_findings_change_nothing() {
    let moto = Moto::start();
    ledger::create_table(&moto).await;
    let config = moto.sdk_config().await;
    deploy(&config, ACCOUNT_ID, Some(10), &[]).await;
    let before = state(&config).await;

    let dry = deliver(&function(&moto, true).await, sample_event(EVENT)).await.expect("planned");
    assert_eq!(dry["outcome"], "planned", "{dry:#}");
    assert_eq!(state(&config).await, before, "a dry run changes nothing");

    let sample = deliver(&function(&moto, false).await, sample_event(SAMPLE)).await.expect("skipped");
    assert_eq!(sample["outcome"], "skipped", "{sample:#}");
    assert!(sample["reason"].as_str().unwrap().contains("sample"), "{sample:#}");
    assert_eq!(state(&config).await, before);

    let lambda = aws_sdk_lambda::Client::new(&config);
    let arn = lambda
        .get_function()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap()
        .configuration()
        .unwrap()
        .function_arn()
        .unwrap()
        .to_string();
    lambda.tag_resource().resource(&arn).tags("firebreak:exempt", "payments").send().await.unwrap();
    let exempt_before = state(&config).await;
    let exempt = deliver(&function(&moto, false).await, sample_event(EVENT)).await.expect("skipped");
    assert_eq!(exempt["outcome"], "skipped", "{exempt:#}");
    assert!(exempt["reason"].as_str().unwrap().contains("exemption"), "{exempt:#}");
    assert_eq!(state(&config).await, exempt_before, "an exempt function is untouched");
}

#[tokio::test]
async fn a_member_accounts_finding_acts_in_the_member_account() {
    let moto = Moto::start();
    let member_config = member::account_config(&moto, MEMBER_ACCOUNT, "us-east-1").await;
    deploy(&member_config, MEMBER_ACCOUNT, Some(5), &[]).await;
    // The same function name in the security account must stay untouched.
    let home = moto.sdk_config().await;
    deploy(&home, ACCOUNT_ID, Some(5), &[]).await;
    let accounts = Accounts::new(
        &home,
        AccountsConfig {
            external_id: Some("firebreak-test".into()),
            allowed_accounts: Some(BTreeSet::from([MEMBER_ACCOUNT.to_string()])),
            ..AccountsConfig::default()
        },
    );
    let f = contain_lambda::Function { accounts, config: ContainLambdaConfig::default() };
    let mut event = sample_event(EVENT);
    event["detail"]["accountId"] = json!(MEMBER_ACCOUNT);
    let arn = format!("arn:aws:lambda:us-east-1:{MEMBER_ACCOUNT}:function:{FUNCTION}");
    event["detail"]["resource"]["lambdaDetails"]["functionArn"] = json!(arn);
    event["detail"]["resource"]["lambdaDetails"]["role"] =
        json!(format!("arn:aws:iam::{MEMBER_ACCOUNT}:role/service-role/{ROLE}"));
    let mut context = Context::default();
    context.invoked_function_arn = format!("arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:firebreak");
    let report = contain_lambda::handle(&f, LambdaEvent::new(event, context)).await.expect("contained");
    assert_eq!(report["outcome"], "contained", "{report:#}");
    let member_state = state(&member_config).await;
    assert_eq!((member_state.reserved, member_state.role_policy), (Some(0), true));
    let home_state = state(&home).await;
    assert_eq!((home_state.reserved, home_state.role_policy), (Some(5), false), "the security account is untouched");
}

#[tokio::test]
async fn a_function_of_another_account_is_refused_with_no_change() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    deploy(&config, ACCOUNT_ID, Some(3), &[]).await;
    let before = state(&config).await;
    let mut event = sample_event(EVENT);
    event["detail"]["resource"]["lambdaDetails"]["functionArn"] =
        json!("arn:aws:lambda:us-east-1:999999999999:function:thumbnailer");
    let error = deliver(&function(&moto, false).await, event).await.expect_err("refused");
    assert_eq!(error.kind, "InvalidEvent", "{error:?}");
    assert_eq!(state(&config).await, before);
}
