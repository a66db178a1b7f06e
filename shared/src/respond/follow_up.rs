//! After the quarantine: the originating Security Hub finding is updated, a signal that was not a
//! finding gets a finding of its own, snapshots still pending get a follow-up, and one summary
//! goes to SNS. A follow-up failure is
//! reported as a step but never undoes or fails the containment.

use std::time::SystemTime;

use super::response::{outcome_words, report_line};
use super::{Response, Settings};
use crate::accounts::Accounts;
use crate::attempts::timed_step as timed;
use crate::aws::securityhub::{import_incident, update_findings, FindingRef, IncidentFinding};
use crate::aws::sns::publish_summary;
use crate::case::case_id_for;
use crate::engine::report::{log_step, timestamp};
use crate::engine::{Report, StepReport};

pub(super) async fn follow_up(
    accounts: &Accounts,
    settings: &Settings,
    response: &mut Response,
    updates: Vec<(FindingRef, Report)>,
) {
    super::evidence::schedule_pending_copies(accounts, settings, response).await;
    let case = response.case_id.clone().unwrap_or_default();
    let writes = settings.notify.security_hub && !settings.quarantine.common.dry_run;
    if writes {
        for (finding, report) in updates.iter().filter(|(_, r)| r.case_id.is_some()) {
            let note = format!(
                "Firebreak case {}: {} {}",
                report.case_id.clone().unwrap_or_default(),
                report.resource,
                report_line(report)
            );
            let step = timed("update_security_hub_finding", &finding.id, || async {
                update_findings(&accounts.home().securityhub, std::slice::from_ref(finding), &note)
                    .await
                    .map(|()| format!("workflow NOTIFIED, note: {note}"))
            })
            .await;
            record(response, &case, step);
        }
        let is_finding = response.signal.source.starts_with("aws.guardduty")
            || response.signal.source.starts_with("aws.securityhub");
        if !is_finding && (response.acted() || !response.unresolved.is_empty() || !response.top_talkers.is_empty()) {
            let incident = incident_finding(response);
            let step = timed("import_security_hub_finding", &incident.finding_id(), || async {
                let account = accounts
                    .clients_for(&incident.account_id, &incident.region, &incident.case_id)
                    .await
                    .map_err(|e| e.to_string())?;
                import_incident(&account.clients.securityhub, &incident)
                    .await
                    .map(|id| format!("finding {id} in {}", incident.product_arn()))
                    .map_err(|e| e.to_string())
            })
            .await;
            record(response, &case, step);
        }
    }
    let worth_telling = response.acted()
        || !response.unresolved.is_empty()
        || !response.top_talkers.is_empty()
        || !response.errors.is_empty();
    if let (Some(topic), true) = (&settings.notify.sns_topic_arn, worth_telling) {
        let (subject, summary, json) = (response.subject(), response.summary(), response.to_json());
        let step = timed("publish_sns_summary", topic, || async {
            publish_summary(&accounts.home().sns, topic, &subject, &summary, &json)
                .await
                .map(|id| format!("message {id}"))
                .map_err(|e| e.to_string())
        })
        .await;
        record(response, &case, step);
    }
}

fn record(response: &mut Response, case: &str, step: StepReport) {
    log_step(case, &response.signal.id, &step);
    response.follow_up.push(step);
}

/// The ASFF finding Firebreak imports for a signal that was not a finding itself.
fn incident_finding(response: &Response) -> IncidentFinding {
    let instance_ids: Vec<String> =
        response.reports.iter().filter(|r| r.case_id.is_some()).map(|r| r.resource.clone()).collect();
    let case_id = response.case_id.clone().unwrap_or_else(|| case_id_for(&response.signal.id));
    let what = if instance_ids.is_empty() {
        "no instance quarantined".to_string()
    } else {
        format!("{} {}", outcome_words(response.outcome), instance_ids.join(", "))
    };
    IncidentFinding {
        title: format!("Firebreak: {} — {what}", response.signal.kind),
        description: response.summary(),
        case_id,
        account_id: response.signal.account.clone(),
        region: if response.signal.region.is_empty() { "us-east-1".into() } else { response.signal.region.clone() },
        signal_type: response.signal.kind.clone(),
        signal_id: response.signal.id.clone(),
        generator: format!("firebreak/{}", response.function),
        instance_ids,
        severity: aws_sdk_securityhub::types::SeverityLabel::High,
        now: timestamp(SystemTime::now()),
    }
}
