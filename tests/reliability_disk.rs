//! Disk evidence under faults, against moto through the fault-injecting proxy: a throttled copy or
//! share is retried and reported, and a lost response or a crash after any of its changes ends
//! (after redelivery) in the state of one uninterrupted run: every volume kept on termination,
//! exactly one encrypted copy per snapshot, each shared with the forensic account only.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{EbsInstanceBlockDeviceSpecification, InstanceBlockDeviceMappingSpecification};
use firebreak::deadline::Deadline;
use firebreak::disk_evidence::{DiskEvidenceConfig, ForensicTarget};
use firebreak::engine::{Outcome, Report};
use firebreak::events::GuardDutyFinding;
use firebreak::quarantine::quarantine_finding;
use firebreak::{Clients, QuarantineConfig};
use firebreak_tests::faults::{Fault, FaultProxy};
use firebreak_tests::moto::sdk_config_for;
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::snapshots::{delete_on_termination, forensic_copies};
use firebreak_tests::{Moto, Scenario};

const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const FORENSIC_ACCOUNT: &str = "444455556666";
/// The disk-evidence changes. ModifyInstanceAttribute is termination protection's too: with this
/// instance there are two in all, in either order, so #2 is the later.
const CHANGES: [(&str, usize); 4] =
    [("CopySnapshot", 1), ("CopySnapshot", 2), ("ModifySnapshotAttribute", 1), ("ModifyInstanceAttribute", 2)];

struct Bench {
    _moto: Moto,
    proxy: FaultProxy,
    scenario: Scenario,
    instance: CompromisedInstance,
    clients: Clients,
}

async fn bench() -> Bench {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    scenario
        .ec2
        .modify_instance_attribute()
        .instance_id(&instance.instance_id)
        .block_device_mappings(
            InstanceBlockDeviceMappingSpecification::builder()
                .device_name("/dev/xvda")
                .ebs(EbsInstanceBlockDeviceSpecification::builder().delete_on_termination(true).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let proxy = FaultProxy::start(&moto.endpoint);
    let clients = Clients::new(&sdk_config_for(&proxy.endpoint).await);
    Bench { _moto: moto, proxy, scenario, instance, clients }
}

impl Bench {
    async fn quarantine(&self) -> Report {
        let config = QuarantineConfig {
            disk_evidence: DiskEvidenceConfig {
                forensic: Some(ForensicTarget { kms_key_arn: KEY.into(), account_id: FORENSIC_ACCOUNT.into() }),
                malware_scan: false,
                follow_up: None,
            },
            ..QuarantineConfig::default()
        };
        let finding = GuardDutyFinding::from_event(&self.scenario.guardduty_event(DOS_EVENT, &self.instance)).unwrap();
        quarantine_finding(&self.clients, &config, &finding, Deadline::NONE).await.unwrap()
    }

    /// (any volume still deleted on termination, copies per source, each copy's shares).
    async fn state(&self) -> (bool, BTreeMap<String, usize>, Vec<Vec<String>>) {
        let ec2 = &self.scenario.ec2;
        let deleted = delete_on_termination(ec2, &self.instance.instance_id).await.values().any(|delete| *delete);
        let mut per_source = BTreeMap::new();
        let mut shares = Vec::new();
        for (_, source, _, _, _, shared) in forensic_copies(ec2).await {
            *per_source.entry(source).or_insert(0) += 1;
            shares.push(shared);
        }
        (deleted, per_source, shares)
    }

    async fn assert_handed_over(&self, context: &str) {
        let (deleted, per_source, shares) = self.state().await;
        assert!(!deleted, "{context}: every volume kept on termination");
        assert_eq!(per_source.len(), 2, "{context}: both snapshots copied: {per_source:?}");
        assert!(per_source.values().all(|n| *n == 1), "{context}: one copy each: {per_source:?}");
        assert!(shares.iter().all(|s| s == &[FORENSIC_ACCOUNT]), "{context}: shared once, with it only: {shares:?}");
    }
}

#[tokio::test]
async fn throttled_copies_and_shares_are_retried_and_reported() {
    let bench = bench().await;
    bench.proxy.fail_nth("CopySnapshot", 1, Fault::Throttle);
    bench.proxy.fail_nth("ModifySnapshotAttribute", 1, Fault::Throttle);
    let report = bench.quarantine().await;
    assert_eq!(report.outcome, Outcome::Contained, "{:#}", report.to_json());
    let copy = report.step("copy_snapshots_to_forensic_account").unwrap();
    assert!(copy.retries.len() >= 2, "both throttled calls are reported with their retries: {copy:#?}");
    bench.assert_handed_over("throttled").await;
}

#[tokio::test]
async fn a_lost_response_at_each_change_then_redelivery_ends_handed_over_once() {
    for (operation, n) in CHANGES {
        let bench = bench().await;
        bench.proxy.fail_nth(operation, n, Fault::ResetAfterForwarding);
        let first = bench.quarantine().await;
        let again = bench.quarantine().await;
        let context = format!("{operation} #{n}: {:#} then {:#}", first.to_json(), again.to_json());
        assert_eq!(again.outcome, Outcome::Contained, "{context}");
        bench.assert_handed_over(&context).await;
    }
}

#[tokio::test]
async fn a_crash_after_each_change_then_redelivery_finishes_and_a_third_changes_nothing() {
    for (operation, n) in CHANGES {
        let bench = bench().await;
        bench.proxy.crash_after(operation, n);
        let crashed = bench.quarantine().await;
        assert_ne!(crashed.outcome, Outcome::Contained, "{operation} #{n}: the crash cut the run short");
        bench.proxy.heal();
        let redelivered = bench.quarantine().await;
        assert_eq!(redelivered.outcome, Outcome::Contained, "{operation} #{n}: {:#}", redelivered.to_json());
        bench.assert_handed_over(&format!("{operation} #{n}")).await;
        bench.proxy.reset_record();
        bench.quarantine().await;
        let changes: Vec<String> = bench
            .proxy
            .mutating_calls()
            .into_iter()
            .filter(|c| {
                ["CopySnapshot", "ModifySnapshotAttribute", "ModifyInstanceAttribute", "DeleteSnapshot"]
                    .contains(&c.as_str())
            })
            .collect();
        assert_eq!(changes, Vec::<String>::new(), "{operation} #{n}: nothing changed twice");
    }
}

/// EC2 refusing to share a copy still pending (`IncorrectState`; moto makes every snapshot
/// completed at once, so the refusal is injected): reported as waiting, the copies kept, and the
/// next delivery shares them without copying again.
#[tokio::test]
async fn a_copy_ec2_will_not_share_yet_is_shared_by_a_later_delivery() {
    let bench = bench().await;
    bench.proxy.fail_nth("ModifySnapshotAttribute", 1, Fault::Refused("IncorrectState"));
    bench.proxy.fail_nth("ModifySnapshotAttribute", 2, Fault::Refused("IncorrectState"));
    let first = bench.quarantine().await;
    assert_eq!(first.outcome, Outcome::Contained, "{:#}", first.to_json());
    let step = first.step("copy_snapshots_to_forensic_account").unwrap();
    assert!(step.detail.contains("shared by a later delivery"), "{step:#?}");
    let (_, per_source, shares) = bench.state().await;
    assert_eq!((per_source.len(), shares.iter().all(Vec::is_empty)), (2, true), "copied, not shared yet");

    bench.proxy.heal();
    bench.proxy.reset_record();
    let later = bench.quarantine().await;
    assert_eq!(later.outcome, Outcome::Contained, "{:#}", later.to_json());
    assert!(!bench.proxy.calls().iter().any(|c| c == "CopySnapshot"), "no second copy");
    bench.assert_handed_over("shared later").await;
}
