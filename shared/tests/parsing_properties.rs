//! Property tests of event parsing: whatever arrives, parsing never panics, and whatever it
//! accepts is safe to hand to an AWS call. Bounded case counts keep CI fast.

use firebreak::events::{validate_instance_id, GuardDutyFinding, HealthEvent};
use proptest::prelude::*;
use serde_json::{json, Value};

fn dos_event() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/quarantine-instance/guardduty-ec2-dos-actor.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        "(i|sg|vpc|eni)-[0-9a-fA-F./*,]{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Paths into the sample event whose values the mutation replaces.
const PATHS: &[&[&str]] = &[
    &["source"],
    &["detail-type"],
    &["account"],
    &["detail"],
    &["detail", "accountId"],
    &["detail", "id"],
    &["detail", "type"],
    &["detail", "severity"],
    &["detail", "resource"],
    &["detail", "resource", "resourceType"],
    &["detail", "resource", "instanceDetails"],
    &["detail", "resource", "instanceDetails", "instanceId"],
    &["detail", "resource", "instanceDetails", "networkInterfaces"],
    &["detail", "service"],
    &["detail", "service", "resourceRole"],
    &["detail", "service", "additionalInfo"],
];

/// Replaces the value at `path`, when an earlier mutation has not already replaced a parent
/// object by something else.
fn set(event: &mut Value, path: &[&str], value: Value) {
    let mut node = event;
    for key in &path[..path.len() - 1] {
        match node.get_mut(*key) {
            Some(child) if child.is_object() => node = child,
            _ => return,
        }
    }
    if let Some(object) = node.as_object_mut() {
        object.insert(path[path.len() - 1].to_string(), value);
    }
}

fn is_well_formed_instance_id(id: &str) -> bool {
    id.strip_prefix("i-").is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17) && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_guardduty_events_never_panic_and_only_valid_ids_pass(
        mutations in prop::collection::vec((0..PATHS.len(), any_json()), 1..4)
    ) {
        let mut event = dos_event();
        for (path, value) in mutations {
            set(&mut event, PATHS[path], value);
        }
        if let Ok(finding) = GuardDutyFinding::from_event(&event) {
            prop_assert!(finding.account_id.len() == 12 && finding.account_id.bytes().all(|b| b.is_ascii_digit()));
            prop_assert!((0.0..=10.0).contains(&finding.severity));
            let _ = finding.is_sample();
            if let Ok(instance) = finding.ec2_instance() {
                prop_assert!(is_well_formed_instance_id(&instance.instance_id), "{}", instance.instance_id);
                prop_assert!(instance.network_interfaces.len() <= 64);
            }
        }
    }

    #[test]
    fn arbitrary_values_never_panic_any_parser(value in any_json()) {
        let _ = GuardDutyFinding::from_event(&value);
        let _ = HealthEvent::from_event(&value);
    }

    #[test]
    fn instance_id_validation_accepts_exactly_the_ec2_shape(id in "(i-)?[0-9a-fA-F./-]{0,20}") {
        prop_assert_eq!(validate_instance_id(&id).is_ok(), is_well_formed_instance_id(&id));
    }
}
