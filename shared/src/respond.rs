//! From any signal of a compromise to containment and word of it: the one entry point per function.
//!
//! 1. The event becomes targets (instance + why), with no AWS call: a GuardDuty finding, Security
//!    Hub findings (imported or chosen by an analyst), an AWS Health abuse report's entities, an
//!    alarm's instance.
//! 2. Each target is quarantined in its own account and region ([`crate::accounts`]) through the
//!    one quarantine plan ([`crate::quarantine::quarantine`]).
//! 3. Follow-up: the originating Security Hub finding is updated, a signal that was not a finding
//!    gets a finding of its own, and one summary goes to SNS. A follow-up failure is reported but
//!    never undoes or fails the containment.

use std::collections::BTreeSet;
use std::time::{Instant, SystemTime};

use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::abuse::{self, AbuseConfig, Entity, ResolvedAddress, TopTalker, Unresolved};
use crate::accounts::Accounts;
use crate::case::case_id_for;
use crate::deadline::Deadline;
use crate::engine::config::ConfigError;
use crate::engine::report::{self, millis, timestamp};
use crate::engine::Signal;
use crate::engine::{FunctionError, Outcome, Report, StepOutcome, StepReport};
use crate::events::{
    AlarmKind, AlarmStateChange, AsffFinding, CustomAction, EventError, GuardDutyFinding, HealthEvent,
    SecurityHubEvent, Trigger,
};
use crate::notify::{self, NotifyConfig};
use crate::quarantine::{self, QuarantineConfig, QuarantineRequest};

const FUNCTION_ABUSE: &str = "abuse-report";
use crate::aws::securityhub::{self, FindingRef, IncidentFinding};

/// Everything a responding function is configured with, read once per cold start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub quarantine: QuarantineConfig,
    pub notify: NotifyConfig,
    pub abuse: AbuseConfig,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            quarantine: QuarantineConfig::from_env()?,
            notify: NotifyConfig::from_env()?,
            abuse: AbuseConfig::from_env()?,
        })
    }
}

/// What a function did about one event: a report per instance, what could not be resolved, and
/// the follow-up (Security Hub, SNS).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    pub function: &'static str,
    pub signal: Signal,
    pub case_id: Option<String>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub reports: Vec<Report>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<ResolvedAddress>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<Unresolved>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub top_talkers: Vec<TopTalker>,
    /// Targets that could not be acted on at all (account refused, instance unknown, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The kind of the first error, for the Lambda error type.
    #[serde(skip)]
    pub error_kind: Option<&'static str>,
    pub follow_up: Vec<StepReport>,
    pub dry_run: bool,
    pub started_at: String,
    pub duration_ms: u64,
}

#[derive(Debug, Error)]
pub enum RespondError {
    #[error(transparent)]
    Event(#[from] EventError),
}

impl From<RespondError> for FunctionError {
    fn from(error: RespondError) -> Self {
        match error {
            RespondError::Event(e) => e.into(),
        }
    }
}

impl Response {
    fn new(function: &'static str, signal: Signal) -> Self {
        Self {
            function,
            signal,
            case_id: None,
            outcome: Outcome::Skipped,
            reason: None,
            reports: Vec::new(),
            resolved: Vec::new(),
            unresolved: Vec::new(),
            top_talkers: Vec::new(),
            errors: Vec::new(),
            error_kind: None,
            follow_up: Vec::new(),
            dry_run: false,
            started_at: timestamp(SystemTime::now()),
            duration_ms: 0,
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self)
            .unwrap_or_else(|e| serde_json::json!({ "error": format!("response not serialisable: {e}") }))
    }

    /// The handler's result: the response, or an error when containment failed or a target could
    /// not be acted on.
    /// The handler's result: the response, or an error when containment failed or a target could
    /// not be acted on, so that Lambda retries the event and then its failure destination gets it.
    pub fn into_result(self) -> Result<Value, FunctionError> {
        if self.outcome != Outcome::Failed {
            return Ok(self.to_json());
        }
        if let Some(failed) = self.reports.iter().find(|r| r.outcome == Outcome::Failed) {
            return Err(FunctionError::containment_failed(&failed.resource, failed.case_id.as_deref(), &failed.steps));
        }
        let first = self.errors.first().map(String::as_str).unwrap_or("no target could be acted on");
        Err(FunctionError::new(
            self.error_kind.unwrap_or("ContainmentFailed"),
            format!("{first} ({} error(s))", self.errors.len().max(1)),
        ))
    }

    /// Records a target that could not be acted on at all.
    fn error(&mut self, error: FunctionError) {
        self.error_kind.get_or_insert(error.kind);
        self.errors.push(error.message);
    }

    fn finish(&mut self) {
        let worst = self.reports.iter().fold(Outcome::Skipped, |worst, r| worst.worst(r.outcome));
        self.outcome = if self.errors.is_empty() { worst } else { Outcome::Failed };
        if self.case_id.is_none() {
            self.case_id = self.reports.iter().find_map(|r| r.case_id.clone());
        }
        if self.reason.is_none() && self.outcome == Outcome::Skipped {
            self.reason = self.reports.iter().find_map(|r| r.reason.clone());
        }
    }

    fn acted(&self) -> bool {
        self.reports.iter().any(|r| r.case_id.is_some())
    }

    pub fn subject(&self) -> String {
        let instances: Vec<&str> =
            self.reports.iter().filter(|r| r.case_id.is_some()).map(|r| r.resource.as_str()).collect();
        format!(
            "Firebreak {}: {} in {}{}",
            outcome_words(self.outcome),
            self.signal.kind,
            self.signal.account,
            if instances.is_empty() { String::new() } else { format!(" ({})", instances.join(", ")) }
        )
    }

    /// The human-readable summary sent to SNS: what came in, what was done, what was not.
    pub fn summary(&self) -> String {
        let mut lines = vec![
            format!(
                "Firebreak {} — {}{}",
                self.function,
                outcome_words(self.outcome),
                if self.dry_run { " (DRY RUN: nothing was changed)" } else { "" }
            ),
            format!("Signal: {} ({}) from {}", self.signal.kind, self.signal.id, self.signal.source),
            format!("Account {} region {}", self.signal.account, self.signal.region),
        ];
        if let Some(case) = &self.case_id {
            lines.push(format!("Case: {case}"));
        }
        if let Some(reason) = &self.reason {
            lines.push(format!("Reason: {reason}"));
        }
        for report in &self.reports {
            lines.push(format!("- {} in {}: {}", report.resource, report.signal.account, report_line(report)));
        }
        for resolved in &self.resolved {
            lines.push(
                format!("- {} is the {:?} address of {}", resolved.ip, resolved.kind, resolved.instance_id)
                    .to_lowercase(),
            );
        }
        for unresolved in &self.unresolved {
            lines.push(format!("- {}: not acted on — {}", unresolved.entity, unresolved.reason));
        }
        if !self.top_talkers.is_empty() {
            lines.push("Most outbound traffic (NetworkOut):".into());
            for talker in &self.top_talkers {
                lines.push(format!("  {}  {}", talker.instance_id, abuse::human_bytes(talker.network_out_bytes)));
            }
        }
        for error in &self.errors {
            lines.push(format!("! {error}"));
        }
        lines.join("\n")
    }
}

fn outcome_words(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Contained => "contained",
        Outcome::ContainedWithErrors => "contained, with errors",
        Outcome::Failed => "FAILED",
        Outcome::Skipped => "no action",
        Outcome::Planned => "planned",
        Outcome::Completed => "completed",
        Outcome::CompletedWithErrors => "completed, with errors",
    }
}

fn report_line(report: &Report) -> String {
    if let Some(reason) = &report.reason {
        return format!("{} — {reason}", outcome_words(report.outcome));
    }
    let done: Vec<&str> = report.steps.iter().filter(|s| s.outcome == StepOutcome::Done).map(|s| s.step).collect();
    let failed: Vec<String> = report
        .steps
        .iter()
        .filter(|s| s.outcome == StepOutcome::Failed)
        .map(|s| format!("{} ({})", s.step, s.detail))
        .collect();
    let snapshots: Vec<&str> = report
        .steps_named("snapshot_volumes")
        .filter(|s| s.outcome == StepOutcome::Done)
        .map(|s| s.detail.as_str())
        .collect();
    let mut line = format!("{} (case {})", outcome_words(report.outcome), report.case_id.clone().unwrap_or_default());
    if !done.is_empty() {
        let mut unique: Vec<&str> = Vec::new();
        for step in done {
            if !unique.contains(&step) {
                unique.push(step);
            }
        }
        line.push_str(&format!("; done: {}", unique.join(", ")));
    } else if report.outcome != Outcome::Planned {
        line.push_str("; everything was already in place");
    }
    if !snapshots.is_empty() {
        line.push_str(&format!("; {}", snapshots.join("; ")));
    }
    if !failed.is_empty() {
        line.push_str(&format!("; FAILED: {}", failed.join(", ")));
    }
    line
}

/// One instance to quarantine, and where the request came from.
#[derive(Debug, Clone)]
struct Target {
    request: QuarantineRequest,
    /// A GuardDuty finding (native or from Security Hub) goes through triage first.
    finding: Option<GuardDutyFinding>,
    /// The Security Hub finding to update afterwards.
    origin: Option<FindingRef>,
}

/// quarantine-instance: a GuardDuty EC2 finding, Security Hub imported GuardDuty findings, or the
/// Security Hub "Quarantine" custom action.
pub async fn respond_to_instance_event(
    accounts: &Accounts,
    settings: &Settings,
    event: &Value,
    deadline: Deadline,
) -> Result<Response, RespondError> {
    // Boxed: the response future holds every AWS call's future, too large for a small stack.
    Box::pin(instance_event(accounts, settings, event, deadline)).await
}

async fn instance_event(
    accounts: &Accounts,
    settings: &Settings,
    event: &Value,
    deadline: Deadline,
) -> Result<Response, RespondError> {
    let source = event.get("source").and_then(Value::as_str).unwrap_or_default();
    let (mut response, targets) = if source == crate::events::securityhub::SOURCE {
        let hub = SecurityHubEvent::from_event(event)?;
        security_hub_targets(&hub)?
    } else {
        let finding = GuardDutyFinding::from_event(event)?;
        let request = QuarantineRequest::from_finding(&finding)?;
        let response = Response::new(quarantine::FUNCTION, finding.signal());
        (response, vec![Target { request, finding: Some(finding), origin: None }])
    };
    Box::pin(run(accounts, settings, &mut response, targets, deadline)).await;
    Ok(response)
}

fn security_hub_targets(hub: &SecurityHubEvent) -> Result<(Response, Vec<Target>), RespondError> {
    let (source_label, signal_type) = match &hub.trigger {
        Trigger::Imported => ("aws.securityhub (imported)".to_string(), "Security Hub imported findings".to_string()),
        Trigger::CustomAction { name, .. } => {
            ("aws.securityhub (custom action)".to_string(), format!("Security Hub custom action {name:?}"))
        }
    };
    let signal_id = hub.findings.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().join(" ");
    let signal = Signal {
        source: source_label,
        kind: signal_type,
        id: signal_id,
        account: hub.account_id.clone(),
        region: hub.region.clone(),
        time: None,
    };
    let mut response = Response::new(quarantine::FUNCTION, signal);
    if let [only] = hub.findings.as_slice() {
        response.signal.kind = only.guardduty_type().unwrap_or_else(|| only.types.join(", "));
        response.signal.account = only.aws_account_id.clone();
        response.signal.region = only.region.clone().unwrap_or_else(|| hub.region.clone());
    }
    let mut targets = Vec::new();
    for asff in &hub.findings {
        let origin = Some(FindingRef { id: asff.id.clone(), product_arn: asff.product_arn.clone() });
        match &hub.trigger {
            Trigger::Imported => {
                if !asff.is_guardduty() {
                    response
                        .unresolved
                        .push(Unresolved { entity: asff.id.clone(), reason: "not a GuardDuty finding".into() });
                    continue;
                }
                if !asff.is_new_and_active() {
                    response.unresolved.push(Unresolved {
                        entity: asff.id.clone(),
                        reason: "already worked (workflow not NEW, or archived)".into(),
                    });
                    continue;
                }
                let finding = asff.to_guardduty_finding()?;
                if finding.resource.resource_type != "Instance" {
                    response.unresolved.push(Unresolved {
                        entity: asff.id.clone(),
                        reason: format!("{} finding: handled by revoke-credentials", finding.resource.resource_type),
                    });
                    continue;
                }
                let request = QuarantineRequest::from_finding(&finding)?;
                targets.push(Target { request, finding: Some(finding), origin });
            }
            Trigger::CustomAction { action: CustomAction::RevokeCredentials, .. } => {
                return Err(EventError::UnsupportedFinding {
                    finding_type: "Security Hub custom action \"Revoke credentials\"".into(),
                    resource_type: asff
                        .resources
                        .iter()
                        .map(|r| r.resource_type.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                    why: "revoke-credentials handles this action; quarantine-instance handles \"Quarantine\"",
                }
                .into());
            }
            // An analyst chose to quarantine: no severity or role triage, the exemption tag still holds.
            Trigger::CustomAction { action: CustomAction::Quarantine, .. } => {
                targets.extend(custom_action_targets(asff)?.into_iter().map(|request| Target {
                    request,
                    finding: None,
                    origin: origin.clone(),
                }));
            }
        }
    }
    if targets.is_empty() && response.unresolved.is_empty() {
        return Err(EventError::Malformed("Security Hub event without findings".into()).into());
    }
    Ok((response, targets))
}

fn custom_action_targets(asff: &AsffFinding) -> Result<Vec<QuarantineRequest>, EventError> {
    if asff.is_guardduty() {
        let finding = asff.to_guardduty_finding()?;
        if finding.resource.resource_type == "Instance" {
            return Ok(vec![QuarantineRequest::from_finding(&finding)?]);
        }
    }
    let instance_ids = asff.instance_ids()?;
    if instance_ids.is_empty() {
        return Err(EventError::UnsupportedFinding {
            finding_type: asff.types.join(", "),
            resource_type: asff.resources.iter().map(|r| r.resource_type.clone()).collect::<Vec<_>>().join(", "),
            why: "\"Quarantine\" needs a finding with an AwsEc2Instance resource",
        });
    }
    let region = asff.region.clone().unwrap_or_default();
    Ok(instance_ids
        .into_iter()
        .map(|instance_id| QuarantineRequest {
            instance_id,
            signal: Signal {
                source: crate::events::securityhub::SOURCE.into(),
                kind: asff.title.clone().or_else(|| asff.types.first().cloned()).unwrap_or_default(),
                id: asff.id.clone(),
                account: asff.aws_account_id.clone(),
                region: region.clone(),
                time: None,
            },
            vpc_hints: Vec::new(),
        })
        .collect())
}

/// abuse-report: AWS Health abuse events and CloudWatch outbound-traffic or billing alarms.
pub async fn respond_to_abuse_event(
    accounts: &Accounts,
    settings: &Settings,
    event: &Value,
    deadline: Deadline,
) -> Result<Response, RespondError> {
    Box::pin(abuse_event(accounts, settings, event, deadline)).await
}

async fn abuse_event(
    accounts: &Accounts,
    settings: &Settings,
    event: &Value,
    deadline: Deadline,
) -> Result<Response, RespondError> {
    let source = event.get("source").and_then(Value::as_str).unwrap_or_default();
    let mut response;
    let mut targets = Vec::new();
    if source == crate::events::cloudwatch::SOURCE {
        let alarm = AlarmStateChange::from_event(event)?;
        let kind = alarm.kind()?;
        let signal = Signal {
            source: source.into(),
            kind: alarm.alarm_name.clone(),
            id: alarm.signal_id(),
            account: alarm.account_id.clone(),
            region: alarm.region.clone(),
            time: None,
        };
        response = Response::new(FUNCTION_ABUSE, signal);
        if !alarm.is_alarm() {
            response.reason = Some(format!("alarm state is {}, not ALARM", alarm.state));
            response.finish();
            return Ok(response);
        }
        match kind {
            AlarmKind::OutboundTraffic { instance_id, metric } => targets.push(Target {
                request: QuarantineRequest {
                    instance_id,
                    signal: Signal {
                        kind: format!("{metric} alarm {}", alarm.alarm_name).chars().take(256).collect(),
                        ..response.signal.clone()
                    },
                    vpc_hints: Vec::new(),
                },
                finding: None,
                origin: None,
            }),
            AlarmKind::Billing => {
                // Billing alarms live in us-east-1; the instances are where the function runs.
                let region = accounts.home_region();
                let case_id = case_id_for(&alarm.signal_id());
                match accounts.clients_for(&alarm.account_id, &region, &case_id).await {
                    Err(e) => response.error(e.into()),
                    Ok(account) => {
                        match abuse::top_talkers(
                            &account.clients.ec2,
                            &account.clients.cloudwatch,
                            settings.abuse.traffic_window,
                            settings.abuse.top_talkers,
                        )
                        .await
                        {
                            Err(e) => response.error(FunctionError::new(
                                "AwsCallFailed",
                                format!("could not rank instances by NetworkOut: {e}"),
                            )),
                            Ok(talkers) => response.top_talkers = talkers,
                        }
                    }
                }
                match (settings.abuse.quarantine_on_billing_alarm, response.top_talkers.first()) {
                    (true, Some(top)) => targets.push(Target {
                        request: QuarantineRequest {
                            instance_id: top.instance_id.clone(),
                            signal: Signal {
                                kind: format!("billing alarm {}", alarm.alarm_name).chars().take(256).collect(),
                                region,
                                ..response.signal.clone()
                            },
                            vpc_hints: Vec::new(),
                        },
                        finding: None,
                        origin: None,
                    }),
                    (true, None) => response.reason = Some("billing alarm: no instance sent measurable traffic".into()),
                    (false, _) => {
                        response.reason = Some(format!(
                            "billing alarm: the instances sending the most are listed, none quarantined (set {} to quarantine the top one)",
                            abuse::QUARANTINE_ON_BILLING_ALARM
                        ))
                    }
                }
            }
        }
    } else {
        let health = HealthEvent::from_event(event)?;
        if !health.is_abuse_report() || health.event_type_category.as_deref().is_some_and(|c| c != "issue") {
            return Err(EventError::UnsupportedFinding {
                finding_type: health.event_type_code.clone(),
                resource_type: health.event_type_category.clone().unwrap_or_default(),
                why: "abuse-report handles AWS Health events of category issue with an AWS_ABUSE_* type code",
            }
            .into());
        }
        let signal = Signal {
            source: source.into(),
            kind: health.event_type_code.clone(),
            id: health.event_arn.clone(),
            account: health.account_id.clone(),
            region: health.region.clone(),
            time: health.start_time.clone(),
        };
        response = Response::new(FUNCTION_ABUSE, signal);
        let case_id = case_id_for(&health.event_arn);
        let mut instance_ids = Vec::new();
        let mut ips = Vec::new();
        for entity in &health.affected_entities {
            match abuse::classify_entity(&entity.entity_value) {
                Entity::Instance(id) => instance_ids.push(id),
                Entity::Ip(ip) => ips.push(ip),
                Entity::Other(value) => response
                    .unresolved
                    .push(Unresolved { entity: value, reason: "neither an instance id nor an IP address".into() }),
            }
        }
        if !ips.is_empty() {
            match accounts.clients_for(&health.account_id, &health.region, &case_id).await {
                Err(e) => response.error(e.into()),
                Ok(account) => {
                    for ip in ips {
                        match abuse::resolve_ip(&account.clients.ec2, ip).await {
                            Err(e) => response
                                .error(FunctionError::new("AwsCallFailed", format!("could not resolve {ip}: {e}"))),
                            Ok(Err(reason)) => response.unresolved.push(Unresolved { entity: ip.to_string(), reason }),
                            Ok(Ok(resolved)) => {
                                instance_ids.push(resolved.instance_id.clone());
                                response.resolved.push(resolved);
                            }
                        }
                    }
                }
            }
        }
        for instance_id in instance_ids {
            targets.push(Target {
                request: QuarantineRequest { instance_id, signal: response.signal.clone(), vpc_hints: Vec::new() },
                finding: None,
                origin: None,
            });
        }
        if targets.is_empty() && response.errors.is_empty() && response.unresolved.is_empty() {
            response.reason = Some("the abuse report names no affected entity".into());
        }
    }
    Box::pin(run(accounts, settings, &mut response, targets, deadline)).await;
    Ok(response)
}

/// Quarantines every target (each instance once), then writes back and notifies.
async fn run(
    accounts: &Accounts,
    settings: &Settings,
    response: &mut Response,
    targets: Vec<Target>,
    deadline: Deadline,
) {
    let clock = Instant::now();
    response.dry_run = settings.quarantine.common.dry_run;
    let mut seen = BTreeSet::new();
    let targets: Vec<Target> = targets
        .into_iter()
        .filter(|t| {
            seen.insert((
                t.request.signal.account.clone(),
                t.request.signal.region.clone(),
                t.request.instance_id.clone(),
            ))
        })
        .collect();
    let function = response.function;
    let mut updates: Vec<(FindingRef, Report)> = Vec::new();
    // One after the other: instances in the same VPC share its isolation group, and creating it
    // twice at once would race.
    for target in &targets {
        match Box::pin(quarantine_target(accounts, settings, target, deadline)).await {
            Ok(mut report) => {
                report.function = function;
                if let Some(origin) = &target.origin {
                    updates.push((origin.clone(), report.clone()));
                }
                response.reports.push(report);
            }
            Err(error) => response
                .error(FunctionError::new(error.kind, format!("{}: {}", target.request.instance_id, error.message))),
        }
    }
    response.finish();
    // Boxed: the quarantine and follow-up futures are large, and Lambda's stack is not.
    Box::pin(follow_up(accounts, settings, response, updates)).await;
    response.duration_ms = millis(clock.elapsed());
}

async fn quarantine_target(
    accounts: &Accounts,
    settings: &Settings,
    target: &Target,
    deadline: Deadline,
) -> Result<Report, FunctionError> {
    let config = &settings.quarantine;
    if let Some(finding) = &target.finding {
        if let Some(skip) = quarantine::triage(finding, config)? {
            let report = Report::new(
                quarantine::FUNCTION,
                target.request.signal.clone(),
                &target.request.instance_id,
                config.common.dry_run,
            );
            return Ok(report.skipped(skip));
        }
    }
    let request = &target.request;
    let account =
        accounts.clients_for(&request.signal.account, &request.signal.region, &case_id_for(&request.signal.id)).await?;
    Ok(Box::pin(quarantine::quarantine(&account.clients, config, request, deadline)).await?)
}

async fn follow_up(
    accounts: &Accounts,
    settings: &Settings,
    response: &mut Response,
    updates: Vec<(FindingRef, Report)>,
) {
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
                securityhub::update_findings(&accounts.home().securityhub, std::slice::from_ref(finding), &note)
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
                securityhub::import_incident(&account.clients.securityhub, &incident)
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
            notify::publish_summary(&accounts.home().sns, topic, &subject, &summary, &json)
                .await
                .map(|id| format!("message {id}"))
                .map_err(|e| e.to_string())
        })
        .await;
        record(response, &case, step);
    }
}

fn record(response: &mut Response, case: &str, step: StepReport) {
    report::log_step(case, &response.signal.id, &step);
    response.follow_up.push(step);
}

async fn timed<F, Fut, E>(step: &'static str, resource: &str, act: F) -> StepReport
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String, E>>,
    E: ToString,
{
    let clock = Instant::now();
    let (outcome, detail) = match act().await {
        Ok(detail) => (StepOutcome::Done, detail),
        Err(e) => (StepOutcome::Failed, e.to_string()),
    };
    let mut report = StepReport::new(step, resource, outcome, detail);
    report.duration_ms = millis(clock.elapsed());
    report
}

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
