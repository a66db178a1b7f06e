//! What a failed invocation tells Lambda (and so the failure destination and every alarm on the
//! function): an `errorType` a person can read and an `errorMessage` of a sentence or two — for
//! each function, built from the environment exactly as on Lambda.

use firebreak::engine::FunctionError;
use firebreak_tests::{sample_event, Moto};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::{json, Value};

/// Events every function must refuse before any AWS call.
fn malformed() -> Vec<Value> {
    let hostile = firebreak_tests::workspace_root().join("tests/hostile");
    let mut events = vec![
        json!({}),
        json!("not an event"),
        json!({ "source": "aws.guardduty", "detail-type": "GuardDuty Finding", "detail": [] }),
        json!({ "source": "my.app", "detail-type": "Scheduled Event", "detail": {} }),
    ];
    for name in ["detail-is-array.json", "guardduty-look-alike-source.json", "instance-id-path-traversal.json"] {
        let text = std::fs::read_to_string(hostile.join(name)).expect("hostile event");
        events.push(serde_json::from_str(&text).expect("hostile event is JSON"));
    }
    events
}

fn readable(function: &str, event: &Value, result: Result<Value, FunctionError>, kind: &str) {
    let error = match result {
        Ok(value) => panic!("{function} accepted {event}: {value}"),
        Err(error) => error,
    };
    let diagnostic = Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, kind, "{function}: {diagnostic:?}");
    assert!(!diagnostic.error_type.contains("alloc::") && !diagnostic.error_type.contains("Box<dyn"));
    assert!(
        !diagnostic.error_message.is_empty() && diagnostic.error_message.len() < 500,
        "{function}: {} characters: {}",
        diagnostic.error_message.len(),
        diagnostic.error_message
    );
}

fn lambda_event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

#[test]
fn every_function_names_its_errors() {
    firebreak_tests::on_large_stack(|| async {
        let moto = Moto::start();
        // The functions are configured as on Lambda: from the environment, endpoint included.
        std::env::set_var("AWS_ENDPOINT_URL", &moto.endpoint);
        std::env::set_var("AWS_REGION", firebreak_tests::moto::REGION);
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::remove_var("AWS_PROFILE");
        let quarantine = quarantine_instance::Function::from_env().await.expect("quarantine-instance starts");
        let revoke = revoke_credentials::Function::from_env().await.expect("revoke-credentials starts");
        let ports = close_open_ports::Function::from_env().await.expect("close-open-ports starts");
        let posture = audit_posture::Function::from_env().await.expect("audit-posture starts");
        let abuse = abuse_report::Function::from_env().await.expect("abuse-report starts");
        let release = release::Function::from_env().await.expect("release starts");
        let lambda = contain_lambda::Function::from_env().await.expect("contain-lambda starts");

        for event in malformed() {
            let e = || lambda_event(event.clone());
            readable(
                "quarantine-instance",
                &event,
                quarantine_instance::handle(&quarantine, e()).await,
                "InvalidEvent",
            );
            readable("revoke-credentials", &event, revoke_credentials::handle(&revoke, e()).await, "InvalidEvent");
            readable("close-open-ports", &event, close_open_ports::handle(&ports, e()).await, "InvalidEvent");
            readable("audit-posture", &event, audit_posture::handle(&posture, e()).await, "InvalidEvent");
            readable("abuse-report", &event, abuse_report::handle(&abuse, e()).await, "InvalidEvent");
            readable("release", &event, release::handle(&release, e()).await, "InvalidEvent");
            readable("contain-lambda", &event, contain_lambda::handle(&lambda, e()).await, "InvalidEvent");
        }

        // A well-formed release without a ledger to read the case from.
        let request = json!({"release": {"case_id": "fb-0123456789abcdef", "requested_by": "alice"}});
        readable("release", &request, release::handle(&release, lambda_event(request.clone())).await, "InvalidConfig");

        // Past parsing: an instance the account does not have.
        let unknown = sample_event("quarantine-instance/guardduty-ec2-dos-actor.json");
        let result = quarantine_instance::handle(&quarantine, lambda_event(unknown.clone())).await;
        readable("quarantine-instance", &unknown, result, "ResourceNotFound");
    });
}
