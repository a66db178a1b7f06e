//! Forensic evidence on moto (issue 17): the forensic instance profile in place of the instance's
//! own (the original recorded, put back by release), Firebreak's Run Command sent once to an
//! SSM-managed instance with the case's S3 prefix, the instance's metadata and console output
//! written once under that prefix, the isolation group opened to the VPC's Systems Manager
//! endpoints only, every volume kept on termination and the snapshots copied encrypted and shared
//! with the forensic account only (all of the issue's variables set at once), and a not-managed
//! instance reported while the rest still happens.
//!
//! moto has no SSM DescribeInstanceInformation: `SsmShim` answers it (and the test checks the
//! exact request it received); SendCommand and ListCommands are moto's. moto has no
//! GetConsoleScreenshot either: the step reports the screenshot unavailable, as on an instance
//! type without one.

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use firebreak::disk_evidence::ForensicTarget;
use firebreak::engine::CommonConfig;
use firebreak::evidence::EvidenceConfig;
use firebreak::notify::NotifyConfig;
use firebreak::release::ReleaseConfig;
use firebreak::respond::Settings;
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::moto::{sdk_config_for, ACCOUNT_ID, REGION};
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::ssm_shim::SsmShim;
use firebreak_tests::{home_only, on_large_stack, Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";
const BUCKET: &str = "firebreak-evidence-test";
const DOCUMENT: &str = "Firebreak-CaptureEvidence";
const FORENSIC: &str = "firebreak-forensic";
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const FORENSIC_ACCOUNT: &str = "444455556666";

struct Bench {
    moto: Moto,
    scenario: Scenario,
    instance: CompromisedInstance,
    shim: SsmShim,
    ssm: aws_sdk_ssm::Client,
    s3: aws_sdk_s3::Client,
}

/// A compromised instance with a profile, the forensic profile, the versioned evidence bucket,
/// Firebreak's document in SSM, and the shim in front of moto's SSM.
async fn bench(endpoints: bool) -> Bench {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup { instance_profile: true, ..Setup::bare() }).await;
    ledger::create_table(&moto).await;
    let iam = &scenario.iam;
    iam.create_role()
        .role_name(FORENSIC)
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .expect("CreateRole");
    iam.create_instance_profile().instance_profile_name(FORENSIC).send().await.expect("CreateInstanceProfile");
    iam.add_role_to_instance_profile()
        .instance_profile_name(FORENSIC)
        .role_name(FORENSIC)
        .send()
        .await
        .expect("AddRoleToInstanceProfile");
    let s3 = scenario.clients.s3.clone();
    s3.create_bucket().bucket(BUCKET).send().await.expect("CreateBucket");
    s3.put_bucket_versioning()
        .bucket(BUCKET)
        .versioning_configuration(VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build())
        .send()
        .await
        .expect("PutBucketVersioning");
    let ssm = aws_sdk_ssm::Client::new(&moto.sdk_config().await);
    ssm.create_document()
        .name(DOCUMENT)
        .document_type(aws_sdk_ssm::types::DocumentType::Command)
        .content(r#"{"schemaVersion":"2.2","description":"test","parameters":{"Bucket":{"type":"String"},"Prefix":{"type":"String"}},"mainSteps":[{"action":"aws:runShellScript","name":"capture","inputs":{"runCommand":["true"]}}]}"#)
        .send()
        .await
        .expect("CreateDocument");
    if endpoints {
        let group = scenario
            .ec2
            .create_security_group()
            .group_name("endpoints")
            .description("the VPC endpoints")
            .vpc_id(&instance.vpc_id)
            .send()
            .await
            .expect("CreateSecurityGroup");
        for service in ["ssm", "ssmmessages", "ec2messages"] {
            scenario
                .ec2
                .create_vpc_endpoint()
                .vpc_id(&instance.vpc_id)
                .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
                .service_name(format!("com.amazonaws.us-east-1.{service}"))
                .subnet_ids(&instance.subnet_id)
                .security_group_ids(group.group_id().unwrap())
                .send()
                .await
                .expect("CreateVpcEndpoint");
        }
    }
    let shim = SsmShim::start(&moto.endpoint);
    Bench { moto, scenario, instance, shim, ssm, s3 }
}

fn evidence_config() -> EvidenceConfig {
    EvidenceConfig {
        forensic_instance_profile: Some(FORENSIC.into()),
        allow_ssm_endpoints: true,
        bucket: Some(BUCKET.into()),
        document: Some(DOCUMENT.into()),
    }
}

fn common() -> CommonConfig {
    CommonConfig { cases_table: Some(TABLE.into()), ..CommonConfig::default() }
}

async fn quarantine(bench: &Bench) -> Value {
    let mut clients = firebreak::Clients::new(&bench.moto.sdk_config().await);
    clients.ssm = aws_sdk_ssm::Client::new(&sdk_config_for(&bench.shim.endpoint).await);
    let mut settings =
        Settings { notify: NotifyConfig { sns_topic_arn: None, security_hub: false }, ..Settings::default() };
    settings.quarantine.common = common();
    settings.quarantine.evidence = evidence_config();
    // Disk evidence as well: every variable of the issue set at once.
    settings.quarantine.disk_evidence.forensic =
        Some(ForensicTarget { kms_key_arn: KEY.into(), account_id: FORENSIC_ACCOUNT.into() });
    let function = quarantine_instance::Function { accounts: home_only(clients), config: settings };
    let event = bench.scenario.guardduty_event(DOS_EVENT, &bench.instance);
    quarantine_instance::handle(&function, LambdaEvent::new(event, Context::default())).await.expect("quarantined")
}

/// A step of the instance's report (the response holds one report per resource).
fn step<'a>(response: &'a Value, name: &str) -> &'a Value {
    let steps = response["reports"][0]["steps"].as_array();
    steps.into_iter().flatten().find(|s| s["step"] == name).unwrap_or_else(|| panic!("{name}: {response:#}"))
}

async fn profile_of(bench: &Bench) -> Option<String> {
    let associations = bench
        .scenario
        .ec2
        .describe_iam_instance_profile_associations()
        .filters(aws_sdk_ec2::types::Filter::builder().name("instance-id").values(&bench.instance.instance_id).build())
        .send()
        .await
        .expect("DescribeIamInstanceProfileAssociations");
    associations
        .iam_instance_profile_associations()
        .iter()
        .filter(|a| a.state().map(|s| s.as_str()) == Some("associated"))
        .find_map(|a| a.iam_instance_profile()?.arn().map(str::to_string))
}

async fn commands(bench: &Bench) -> Vec<aws_sdk_ssm::types::Command> {
    bench.ssm.list_commands().send().await.expect("ListCommands").commands().to_vec()
}

/// Every version of every object under the prefix: a rewrite would add one.
async fn versions(bench: &Bench, prefix: &str) -> Vec<String> {
    let listed =
        bench.s3.list_object_versions().bucket(BUCKET).prefix(prefix).send().await.expect("ListObjectVersions");
    let mut keys: Vec<String> = listed.versions().iter().filter_map(|v| v.key().map(str::to_string)).collect();
    keys.sort();
    keys
}

async fn tags_of(bench: &Bench) -> std::collections::BTreeMap<String, String> {
    bench.scenario.view(&bench.instance.instance_id, None).await.tags
}

#[test]
fn a_managed_instance_keeps_ssm_sends_one_capture_and_its_evidence_is_saved_once() {
    on_large_stack(|| async {
        let bench = bench(true).await;
        let instance_id = bench.instance.instance_id.clone();
        bench.shim.manage(&instance_id, "Linux");
        let original = bench.instance.instance_profile_arn.clone().expect("a profile");

        let report = quarantine(&bench).await;
        assert_eq!(report["outcome"], "contained", "{report:#}");
        let case_id = report["case_id"].as_str().unwrap().to_string();
        let prefix = format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:instance/{instance_id}/{case_id}/");

        // The forensic profile in place, the original recorded.
        assert!(profile_of(&bench).await.is_some_and(|p| p.ends_with(&format!("/{FORENSIC}"))), "{report:#}");
        let tags = tags_of(&bench).await;
        assert_eq!(tags.get("firebreak:instance-profile"), Some(&original));
        assert_eq!(tags.get("firebreak:forensic-instance-profile").map(String::as_str), Some(FORENSIC));
        assert_eq!(step(&report, "replace_instance_profile")["outcome"], "done", "{report:#}");

        // Exactly one command of Firebreak's document, on the instance, into the case's prefix.
        assert_eq!(
            bench.shim.describe_requests(),
            vec![json!({"Filters": [{"Key": "InstanceIds", "Values": [instance_id]}]})],
            "the exact DescribeInstanceInformation request"
        );
        let sent = commands(&bench).await;
        assert_eq!(sent.len(), 1, "{report:#}");
        let command = &sent[0];
        assert_eq!(command.document_name(), Some(DOCUMENT));
        assert_eq!(command.instance_ids(), std::slice::from_ref(&instance_id));
        let parameters = command.parameters().expect("parameters");
        assert_eq!(parameters["Prefix"], vec![prefix.clone()]);
        assert_eq!(parameters["Bucket"], vec![BUCKET.to_string()]);
        let capture = step(&report, "capture_volatile_state");
        assert_eq!(capture["outcome"], "done", "{report:#}");
        assert_eq!(capture["recorded"]["firebreak:evidence-command"], command.command_id().unwrap());
        assert_eq!(tags_of(&bench).await.get("firebreak:evidence-command").map(String::as_str), command.command_id());

        // Every volume kept on termination; the case's snapshots copied with the forensic key and
        // shared with the forensic account only.
        let kept = firebreak_tests::snapshots::delete_on_termination(&bench.scenario.ec2, &instance_id).await;
        assert!(!kept.is_empty() && kept.values().all(|delete| !delete), "{kept:?}");
        let copies = firebreak_tests::snapshots::forensic_copies(&bench.scenario.ec2).await;
        assert!(!copies.is_empty(), "{report:#}");
        for (copy, _, encrypted, key, case, shared) in &copies {
            assert!(*encrypted && key == KEY && case == &case_id, "{copy}: {copies:?}");
            assert_eq!(shared, &vec![FORENSIC_ACCOUNT.to_string()], "{copy} shared with the forensic account only");
        }

        // Metadata and console output under the case's prefix; no screenshot from moto, said so.
        let saved = versions(&bench, &prefix).await;
        assert_eq!(saved, vec![format!("{prefix}console-output.txt"), format!("{prefix}instance-metadata.json")]);
        let metadata =
            bench.s3.get_object().bucket(BUCKET).key(format!("{prefix}instance-metadata.json")).send().await.unwrap();
        let metadata: Value = serde_json::from_slice(&metadata.body.collect().await.unwrap().into_bytes()).unwrap();
        assert_eq!(metadata["InstanceId"], instance_id.as_str());
        let save = step(&report, "save_instance_evidence");
        assert!(save["detail"].as_str().unwrap().contains("screenshot unavailable"), "{report:#}");

        // The isolation group reaches the endpoints' group on 443, nothing else.
        let endpoints = step(&report, "allow_ssm_endpoints");
        assert_eq!(endpoints["outcome"], "done", "{report:#}");
        let egress = isolation_rules(&bench).await;
        assert_eq!(egress.len(), 1, "{egress:?}");
        assert_eq!((egress[0].from_port(), egress[0].ip_protocol()), (Some(443), Some("tcp")));
        assert!(egress[0].ip_ranges().is_empty() && egress[0].ipv6_ranges().is_empty());

        // A redelivery: no second command, no second write, the profile swap not repeated.
        let again = quarantine(&bench).await;
        assert_eq!(again["outcome"], "contained", "{again:#}");
        assert_eq!(commands(&bench).await.len(), 1, "{again:#}");
        assert_eq!(firebreak_tests::snapshots::forensic_copies(&bench.scenario.ec2).await, copies, "no second copy");
        assert_eq!(versions(&bench, &prefix).await, saved);
        assert_eq!(step(&again, "replace_instance_profile")["outcome"], "skipped", "{again:#}");
        assert_eq!(step(&again, "capture_volatile_state")["outcome"], "skipped", "{again:#}");
        assert_eq!(isolation_egress(&bench).await, 1, "the endpoint rule stays an intact isolation group's");

        // Release puts the original profile back.
        let release = release::Function {
            accounts: firebreak_tests::accounts(&bench.moto).await,
            config: ReleaseConfig { common: common(), isolation_group_name: "firebreak-isolation".into() },
        };
        let event = json!({"release": {"case_id": case_id, "reason": "drill", "requested_by": "alice@example.com"}});
        let released = release::handle(&release, LambdaEvent::new(event, Context::default())).await.expect("released");
        assert_eq!(released["outcome"], "completed", "{released:#}");
        assert_eq!(profile_of(&bench).await, Some(original));
        assert_eq!(versions(&bench, &prefix).await, saved, "the evidence stays");
    });
}

async fn isolation_rules(bench: &Bench) -> Vec<aws_sdk_ec2::types::IpPermission> {
    let filter = |name: &str, value: &str| aws_sdk_ec2::types::Filter::builder().name(name).values(value).build();
    let groups = bench
        .scenario
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &bench.instance.vpc_id))
        .filters(filter("group-name", "firebreak-isolation"))
        .send()
        .await
        .expect("DescribeSecurityGroups");
    assert!(groups.security_groups()[0].ip_permissions().is_empty(), "no ingress");
    groups.security_groups()[0].ip_permissions_egress().to_vec()
}

async fn isolation_egress(bench: &Bench) -> usize {
    isolation_rules(bench).await.len()
}

#[test]
fn a_not_managed_instance_is_reported_and_everything_else_still_happens() {
    on_large_stack(|| async {
        let bench = bench(false).await;
        let instance_id = bench.instance.instance_id.clone();
        let report = quarantine(&bench).await;
        assert_eq!(report["outcome"], "contained", "{report:#}");
        let case_id = report["case_id"].as_str().unwrap();

        let capture = step(&report, "capture_volatile_state");
        assert_eq!(capture["outcome"], "skipped", "{report:#}");
        assert!(capture["detail"].as_str().unwrap().contains("not SSM-managed"), "{report:#}");
        assert!(commands(&bench).await.is_empty());
        let endpoints = step(&report, "allow_ssm_endpoints");
        assert!(endpoints["detail"].as_str().unwrap().contains("not reachable through SSM"), "{report:#}");
        assert_eq!(isolation_egress(&bench).await, 0, "no endpoints: no egress at all");

        assert!(profile_of(&bench).await.is_some_and(|p| p.ends_with(&format!("/{FORENSIC}"))));
        let prefix = format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:instance/{instance_id}/{case_id}/");
        assert_eq!(versions(&bench, &prefix).await.len(), 2, "{report:#}");
        assert!(!bench.scenario.view(&instance_id, None).await.snapshots.is_empty());
    });
}

/// The exact DescribeInstanceInformation request (moto lacks the operation: aws-smithy-mocks), and
/// how its answer is read: an instance SSM does not list is not managed.
#[tokio::test]
async fn describe_instance_information_asks_for_exactly_the_instance() {
    use aws_sdk_ssm::operation::describe_instance_information::DescribeInstanceInformationOutput;
    use aws_sdk_ssm::types::{InstanceInformation, PingStatus, PlatformType};
    use aws_smithy_mocks::{mock, mock_client};

    let exact = |req: &aws_sdk_ssm::operation::describe_instance_information::DescribeInstanceInformationInput| {
        let filters = req.filters();
        filters.len() == 1
            && filters[0].key() == "InstanceIds"
            && filters[0].values() == ["i-0a1b2c3d4e5f60718"]
            && req.instance_information_filter_list().is_empty()
    };
    let managed = mock!(aws_sdk_ssm::Client::describe_instance_information).match_requests(exact).then_output(|| {
        DescribeInstanceInformationOutput::builder()
            .instance_information_list(
                InstanceInformation::builder()
                    .instance_id("i-0a1b2c3d4e5f60718")
                    .ping_status(PingStatus::ConnectionLost)
                    .platform_type(PlatformType::Windows)
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_ssm, [&managed]);
    let found = firebreak::aws::ssm::managed_instance(&client, "i-0a1b2c3d4e5f60718").await.expect("matched");
    let found = found.expect("managed");
    assert_eq!((found.ping_status.as_str(), found.platform_type.as_str()), ("ConnectionLost", "Windows"));
    assert_eq!(managed.num_calls(), 1);

    let unknown = mock!(aws_sdk_ssm::Client::describe_instance_information)
        .match_requests(exact)
        .then_output(|| DescribeInstanceInformationOutput::builder().build());
    let client = mock_client!(aws_sdk_ssm, [&unknown]);
    assert_eq!(firebreak::aws::ssm::managed_instance(&client, "i-0a1b2c3d4e5f60718").await.expect("matched"), None);
    assert_eq!(unknown.num_calls(), 1);
}
