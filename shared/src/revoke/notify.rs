//! The SNS summary of a revocation, or of credentials only a human can revoke: a step of the
//! report like any other.

use std::time::Instant;

use super::config::RevokeConfig;
use crate::aws::Clients;
use crate::engine::report::{log_step, millis};
use crate::engine::{Outcome, Report, StepOutcome, StepReport};

/// Tells the SNS topic about a revocation, or about credentials only a human can revoke; the
/// outcome of the publish is a step of the report.
pub async fn notify(clients: &Clients, config: &RevokeConfig, report: &mut Report) {
    let Some(topic) = &config.sns_topic_arn else { return };
    let acted = matches!(report.outcome, Outcome::Contained | Outcome::ContainedWithErrors | Outcome::Failed);
    let needs_a_human = report.reason.as_deref().is_some_and(|r| r.contains("cannot be revoked"));
    if !acted && !needs_a_human {
        return;
    }
    let what = if needs_a_human { "NEEDS A HUMAN".to_string() } else { format!("{:?}", report.outcome) };
    let subject = format!("Firebreak revoke-credentials: {} {what}", report.resource);
    let mut summary = format!(
        "{} ({}) in account {}: {what}\nfinding {} {}\n",
        report.resource,
        report.case_id.as_deref().unwrap_or("no case"),
        report.signal.account,
        report.signal.kind,
        report.signal.id
    );
    if let Some(reason) = &report.reason {
        summary.push_str(&format!("{reason}\n"));
    }
    for step in &report.steps {
        summary.push_str(&format!("- {} {}: {} ({})\n", step.step, step.resource, step.outcome.as_str(), step.detail));
    }
    let clock = Instant::now();
    let published = crate::notify::publish_summary(&clients.sns, topic, &subject, &summary, &report.to_json()).await;
    let (outcome, detail) = match published {
        Ok(id) => (StepOutcome::Done, format!("message {id}")),
        Err(e) => (StepOutcome::Failed, e.to_string()),
    };
    let mut step = StepReport::new("publish_sns_summary", topic, outcome, detail);
    step.duration_ms = millis(clock.elapsed());
    log_step(report.case_id.as_deref().unwrap_or_default(), &report.signal.id, &step);
    report.steps.push(step);
}
