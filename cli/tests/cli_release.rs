//! `firebreak release`: a case quarantined by the command is put back exactly, marked released
//! with the caller's ARN, and a second release is refused.

mod common;

use common::{firebreak, setup, EventFile};
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::scenario::Setup;

#[tokio::test]
async fn release_restores_what_the_quarantine_changed_and_a_second_release_is_refused() {
    let (moto, scenario, instance, dynamodb) = setup(Setup::default()).await;
    let tg = instance.target_group_arn.as_deref();
    let before = scenario.view(&instance.instance_id, tg).await;

    let quarantined = firebreak(&moto, Some(TABLE), &["quarantine", &instance.instance_id, "--yes"]);
    assert_eq!(quarantined.code, 0, "{quarantined}");
    let case_id = ledger::cases(&dynamodb).await[0].case_id.clone();
    assert_ne!(scenario.view(&instance.instance_id, tg).await.interface_groups, before.interface_groups);

    // What the release function would do with a direct invocation: planned, nothing changed.
    let direct = EventFile::new(&serde_json::json!({"release": {"case_id": case_id, "requested_by": "alice"}}));
    let plan = firebreak(&moto, Some(TABLE), &["plan", direct.path()]);
    assert_eq!(plan.code, 0, "{plan}");
    assert!(
        plan.stdout.contains("goes to release") && plan.stdout.contains("planned  restore_interface_groups"),
        "{plan}"
    );

    let refused = firebreak(&moto, Some(TABLE), &["release", &case_id]);
    assert_eq!(refused.code, 3, "no terminal, no --yes: {refused}");
    assert_eq!(ledger::cases(&dynamodb).await[0].state, "contained");

    let released = firebreak(&moto, Some(TABLE), &["release", &case_id, "--yes", "--reason", "false positive"]);
    assert_eq!(released.code, 0, "{released}");
    assert!(released.stdout.contains("done "), "each step as it finishes: {released}");

    let after = scenario.view(&instance.instance_id, tg).await;
    assert_eq!(after.interface_groups, before.interface_groups, "{after:#?}");
    assert_eq!(after.autoscaling_group, before.autoscaling_group);
    assert_eq!(after.in_target_group, before.in_target_group);
    assert_eq!(after.instance_profile, before.instance_profile);
    assert_eq!(after.termination_protected, before.termination_protected);
    assert!(!after.snapshots.is_empty(), "evidence stays");
    let case = &ledger::cases(&dynamodb).await[0];
    assert_eq!(case.state, "released");
    assert!(case.released_by.as_deref().is_some_and(|by| by.starts_with("arn:aws:")), "{case:#?}");
    assert_eq!(case.release_reason.as_deref(), Some("false positive"));

    let show = firebreak(&moto, Some(TABLE), &["show", &case_id]);
    assert!(show.stdout.contains("Released") && show.stdout.contains("false positive"), "{show}");

    let again = firebreak(&moto, Some(TABLE), &["release", &case_id, "--yes"]);
    assert_eq!(again.code, 3, "{again}");
    assert!(again.stderr.contains("already released"), "{again}");
    assert_eq!(scenario.view(&instance.instance_id, tg).await, after, "a second release changes nothing");
}
