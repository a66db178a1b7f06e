//! The evidence steps (docs/evidence.md) under fire: throttling, lost responses at the calls that
//! change something, and a crash then a redelivery. Whatever happens, the instance ends with the
//! forensic profile, exactly one capture command and one copy of each evidence object.
//!
//! Requests pass through the fault proxy, then the shim that answers DescribeInstanceInformation
//! (which moto lacks) and forwards the rest to moto.

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use firebreak::deadline::Deadline;
use firebreak::engine::{Outcome, Report, StepOutcome};
use firebreak::events::GuardDutyFinding;
use firebreak::evidence::EvidenceConfig;
use firebreak::quarantine::quarantine_finding;
use firebreak::{Clients, QuarantineConfig};
use firebreak_tests::faults::{Fault, FaultProxy};
use firebreak_tests::moto::{sdk_config_for, ACCOUNT_ID, REGION};
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::ssm_shim::SsmShim;
use firebreak_tests::{Moto, Scenario};

const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";
const BUCKET: &str = "firebreak-evidence-test";
const DOCUMENT: &str = "Firebreak-CaptureEvidence";
const FORENSIC: &str = "firebreak-forensic";

struct Bench {
    moto: Moto,
    proxy: FaultProxy,
    _shim: SsmShim,
    scenario: Scenario,
    instance: CompromisedInstance,
    clients: Clients,
}

async fn bench() -> Bench {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup { instance_profile: true, ..Setup::bare() }).await;
    let iam = &scenario.iam;
    iam.create_role()
        .role_name(FORENSIC)
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .expect("CreateRole");
    iam.create_instance_profile().instance_profile_name(FORENSIC).send().await.expect("CreateInstanceProfile");
    iam.add_role_to_instance_profile().instance_profile_name(FORENSIC).role_name(FORENSIC).send().await.unwrap();
    let s3 = &scenario.clients.s3;
    s3.create_bucket().bucket(BUCKET).send().await.expect("CreateBucket");
    s3.put_bucket_versioning()
        .bucket(BUCKET)
        .versioning_configuration(VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build())
        .send()
        .await
        .expect("PutBucketVersioning");
    let shim = SsmShim::start(&moto.endpoint);
    shim.manage(&instance.instance_id, "Linux");
    let proxy = FaultProxy::start(&shim.endpoint);
    let clients = Clients::new(&sdk_config_for(&proxy.endpoint).await);
    Bench { moto, proxy, _shim: shim, scenario, instance, clients }
}

impl Bench {
    async fn quarantine(&self) -> Report {
        let event = self.scenario.guardduty_event(DOS_EVENT, &self.instance);
        let finding = GuardDutyFinding::from_event(&event).unwrap();
        let config = QuarantineConfig {
            evidence: EvidenceConfig {
                forensic_instance_profile: Some(FORENSIC.into()),
                allow_ssm_endpoints: false,
                bucket: Some(BUCKET.into()),
                document: Some(DOCUMENT.into()),
            },
            ..QuarantineConfig::default()
        };
        quarantine_finding(&self.clients, &config, &finding, Deadline::NONE).await.unwrap()
    }

    /// One forensic profile, one command, one version of each object, whatever happened.
    async fn assert_evidence_once(&self, report: &Report) {
        let moto = Clients::new(&self.moto.sdk_config().await);
        let associations = moto
            .ec2
            .describe_iam_instance_profile_associations()
            .send()
            .await
            .expect("DescribeIamInstanceProfileAssociations");
        let attached: Vec<&str> = associations
            .iam_instance_profile_associations()
            .iter()
            .filter(|a| a.instance_id() == Some(self.instance.instance_id.as_str()))
            .filter(|a| a.state().map(|s| s.as_str()) == Some("associated"))
            .filter_map(|a| a.iam_instance_profile()?.arn())
            .collect();
        assert_eq!(attached.len(), 1, "{attached:?}");
        assert!(attached[0].ends_with(&format!("/{FORENSIC}")), "{attached:?}");
        let commands = moto.ssm.list_commands().send().await.expect("ListCommands");
        assert_eq!(commands.commands().len(), 1, "one capture: {report:#?}");
        let case = report.case_id.as_deref().unwrap();
        let prefix = format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:instance/{}/{case}/", self.instance.instance_id);
        let versions = moto.s3.list_object_versions().bucket(BUCKET).prefix(&prefix).send().await.unwrap();
        let mut keys: Vec<&str> = versions.versions().iter().filter_map(|v| v.key()).collect();
        keys.sort();
        assert_eq!(
            keys,
            [format!("{prefix}console-output.txt"), format!("{prefix}instance-metadata.json")],
            "{report:#?}"
        );
    }
}

fn step<'a>(report: &'a Report, name: &str) -> &'a firebreak::engine::StepReport {
    report.steps.iter().find(|s| s.step == name).unwrap_or_else(|| panic!("{name}: {report:#?}"))
}

#[tokio::test]
async fn evidence_is_taken_once_under_thirty_percent_throttling() {
    let bench = bench().await;
    bench.proxy.fail_share(0.3, Fault::Throttle);
    let report = bench.quarantine().await;
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    assert!(!bench.proxy.injected().is_empty());
    bench.assert_evidence_once(&report).await;
}

/// The request reaches AWS and its answer is lost: no second command, no second swap.
async fn survives_lost_response_at(operation: &str) {
    let bench = bench().await;
    bench.proxy.fail_nth(operation, 1, Fault::ResetAfterForwarding);
    let report = bench.quarantine().await;
    assert_eq!(bench.proxy.injected().len(), 1, "the fault fired: {:?}", bench.proxy.calls());
    assert_eq!(report.outcome, Outcome::Contained, "lost {operation}: {report:#?}");
    bench.assert_evidence_once(&report).await;
}

#[tokio::test]
async fn a_lost_send_command_answer_sends_no_second_command() {
    survives_lost_response_at("SendCommand").await;
}

#[tokio::test]
async fn a_lost_profile_replacement_answer_is_not_a_failure() {
    survives_lost_response_at("ReplaceIamInstanceProfileAssociation").await;
}

/// The invocation dies right after SSM took the command, before it was tagged: the redelivery
/// finds the command by the case's comment and sends none.
#[tokio::test]
async fn a_crash_after_send_command_then_a_redelivery_sends_no_second_command() {
    let bench = bench().await;
    bench.proxy.crash_after("SendCommand", 1);
    let first = bench.quarantine().await;
    assert_ne!(step(&first, "capture_volatile_state").outcome, StepOutcome::Done, "{first:#?}");
    bench.proxy.heal();
    let second = bench.quarantine().await;
    assert_eq!(second.outcome, Outcome::Contained, "{second:#?}");
    let capture = step(&second, "capture_volatile_state");
    assert!(capture.detail.contains("already sent"), "{second:#?}");
    assert_eq!(step(&second, "replace_instance_profile").outcome, StepOutcome::Skipped, "{second:#?}");
    bench.assert_evidence_once(&second).await;
}
