//! Asking a human, once per pending case: one SNS message with the plan in words and how to
//! answer, and — when the signal is a finding — a note on the Security Hub finding, workflow
//! NOTIFIED. A failure is a failed step: the case stays pending and can still be answered.

use std::time::Duration;

use serde_json::Value;

use super::context::Context;
use crate::attempts::timed_step as timed;
use crate::aws::securityhub::{update_findings, FindingRef};
use crate::aws::sns::publish_summary;
use crate::engine::report::log_step;
use crate::engine::{Report, StepReport};
use crate::response_policy::OnTimeout;

/// Sends the approval request; returns the steps it took.
pub(super) async fn notify(
    context: &Context,
    report: &Report,
    plan: &[String],
    timeout: Option<(Duration, OnTimeout)>,
) -> Vec<StepReport> {
    let case_id = report.case_id.clone().unwrap_or_default();
    let mut steps = Vec::new();
    if let Some(topic) = &context.approvals.sns_topic_arn {
        let subject = format!("Firebreak: approval needed, {} {} (case {case_id})", report.function, report.resource);
        let body = message(report, plan, timeout);
        let json = report.to_json();
        steps.push(
            timed("notify_approval", topic, || async {
                publish_summary(&context.home.sns, topic, &subject, &body, &json)
                    .await
                    .map(|id| format!("message {id}"))
                    .map_err(|e| e.to_string())
            })
            .await,
        );
    }
    let findings = findings_of(&context.trigger);
    if context.approvals.security_hub && !findings.is_empty() {
        let note = format!(
            "Firebreak case {case_id} is pending approval: {} {}. Approve with `firebreak approve {case_id}` or the action Approve; reject with `firebreak reject {case_id}` or the action Reject.",
            report.function, report.resource
        );
        let resource = findings.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().join(" ");
        steps.push(
            timed("update_security_hub_finding", &resource, || async {
                update_findings(&context.home.securityhub, &findings, &note)
                    .await
                    .map(|()| format!("workflow NOTIFIED, note: {note}"))
            })
            .await,
        );
    }
    for step in &steps {
        log_step(&case_id, &report.signal.id, step);
    }
    steps
}

/// The request in words: what was seen, what would be done, why it waits, how to answer.
pub fn message(report: &Report, plan: &[String], timeout: Option<(Duration, OnTimeout)>) -> String {
    let case_id = report.case_id.clone().unwrap_or_default();
    let signal = &report.signal;
    let because = report.policy.as_ref().map(|p| p.because.as_str()).unwrap_or_default();
    let mut text = format!(
        "Firebreak holds case {case_id} for approval: nothing has been changed yet.\n\n\
         Signal: {} ({}) in account {} region {}\nResource: {}\nWhy it waits: {because}\n\n\
         Plan of {} if approved:\n",
        signal.kind, signal.source, signal.account, signal.region, report.resource, report.function,
    );
    for line in plan {
        text.push_str(&format!("  - {line}\n"));
    }
    text.push_str(&format!(
        "\nTo approve (the function re-reads the resource and re-plans first):\n  firebreak approve {case_id} --yes\n  \
         or invoke {function} with {{\"approve\": {{\"case_id\": \"{case_id}\", \"approved_by\": \"<you>\"}}}}\n  \
         or the Security Hub custom action Approve on the finding.\n\
         To reject (nothing is changed, the case is closed):\n  firebreak reject {case_id}\n  \
         or invoke {function} with {{\"reject\": {{\"case_id\": \"{case_id}\", \"rejected_by\": \"<you>\", \"reason\": \"…\"}}}}\n",
        function = report.function,
    ));
    if let Some((within, on)) = timeout {
        let then = match on {
            OnTimeout::Contain => "the plan is carried out anyway (on_timeout: contain)",
            OnTimeout::Observe => "the case is closed as observed, nothing changed (on_timeout: observe)",
        };
        text.push_str(&format!("\nIf no one answers within {}s, {then}.\n", within.as_secs()));
    }
    text
}

/// The Security Hub findings the event is (ASFF): a GuardDuty finding by its ARN under
/// GuardDuty's product, Security Hub findings by their own ids. OCSF findings are not
/// addressable by BatchUpdateFindings.
pub fn findings_of(event: &Value) -> Vec<FindingRef> {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let detail = event.get("detail").unwrap_or(&Value::Null);
    match text(event, "source").as_deref() {
        Some(crate::events::guardduty::SOURCE) => {
            let region = text(detail, "region").or_else(|| text(event, "region")).unwrap_or_default();
            text(detail, "arn")
                .map(|id| FindingRef {
                    id,
                    product_arn: format!("arn:aws:securityhub:{region}::product/aws/guardduty"),
                })
                .into_iter()
                .collect()
        }
        Some(crate::events::securityhub::SOURCE) => detail
            .get("findings")
            .and_then(Value::as_array)
            .map(|findings| {
                findings
                    .iter()
                    .filter_map(|f| Some(FindingRef { id: text(f, "Id")?, product_arn: text(f, "ProductArn")? }))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Signal;
    use serde_json::json;

    /// moto has no BatchUpdateFindings: the finding the request addresses is checked here.
    #[test]
    fn a_guardduty_finding_is_addressed_under_guardduty_s_product() {
        let event = json!({"source": "aws.guardduty", "region": "us-east-1",
            "detail": {"region": "eu-west-1", "arn": "arn:aws:guardduty:eu-west-1:1:detector/d/finding/f"}});
        assert_eq!(
            findings_of(&event),
            [FindingRef {
                id: "arn:aws:guardduty:eu-west-1:1:detector/d/finding/f".into(),
                product_arn: "arn:aws:securityhub:eu-west-1::product/aws/guardduty".into(),
            }]
        );
        let hub = json!({"source": "aws.securityhub", "detail": {"findings": [{"Id": "a", "ProductArn": "p"}]}});
        assert_eq!(findings_of(&hub), [FindingRef { id: "a".into(), product_arn: "p".into() }]);
        assert!(findings_of(&json!({"source": "aws.health", "detail": {}})).is_empty());
    }

    #[test]
    fn the_request_says_what_would_be_done_and_how_to_answer() {
        let mut report = Report::new(
            "quarantine-instance",
            Signal { kind: "Backdoor:EC2/X".into(), ..Signal::default() },
            "i-1",
            false,
        );
        report.case_id = Some("fb-0123456789abcdef".into());
        let text = message(
            &report,
            &["isolate_network_interface: eni-1".into()],
            Some((Duration::from_secs(900), OnTimeout::Contain)),
        );
        assert!(text.contains("  - isolate_network_interface: eni-1"), "{text}");
        assert!(text.contains("firebreak approve fb-0123456789abcdef --yes"), "{text}");
        assert!(text.contains("within 900s, the plan is carried out anyway"), "{text}");
    }
}
