//! abuse-report: an AWS Health abuse notice or an outbound-traffic / billing alarm, turned into
//! the instances to quarantine.
//!
//! `config` (its settings), `addresses` (an IP address → the instance holding it), `traffic`
//! (a billing alarm → the instances sending the most).

pub mod addresses;
pub mod config;
pub mod traffic;

use std::net::IpAddr;

use serde_json::Value;

pub use addresses::{classify_entity, resolve_ip, AddressKind, Entity, ResolvedAddress};
pub use config::AbuseConfig;
pub use traffic::{top_talkers, TopTalker};

use super::run::{quarantine_all, Target};
use super::{RespondError, Response, Settings, Unresolved};
use crate::accounts::Accounts;
use crate::case::case_id_for;
use crate::deadline::Deadline;
use crate::engine::Signal;
use crate::events::{arn_account_region, cloudwatch, AlarmKind, AlarmStateChange, EventError, HealthEvent};
use crate::quarantine::QuarantineRequest;

pub const FUNCTION: &str = "abuse-report";

/// What set abuse-report off, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum AbuseTrigger {
    Alarm(AlarmStateChange),
    Health(HealthEvent),
}

impl AbuseTrigger {
    /// Parses and checks the event with no AWS call: an alarm on anything but an instance's
    /// outbound traffic or the bill, or a Health event that is not an abuse issue, is refused here.
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        let source = event.get("source").and_then(Value::as_str).unwrap_or_default();
        if source == cloudwatch::SOURCE {
            let alarm = AlarmStateChange::from_event(event)?;
            alarm.kind()?;
            return Ok(Self::Alarm(alarm));
        }
        let health = HealthEvent::from_event(event)?;
        if !health.is_abuse_report() || health.event_type_category.as_deref().is_some_and(|c| c != "issue") {
            return Err(EventError::UnsupportedFinding {
                finding_type: health.event_type_code.clone(),
                resource_type: health.event_type_category.clone().unwrap_or_default(),
                why: "abuse-report handles AWS Health events of category issue with an AWS_ABUSE_* type code",
            });
        }
        Ok(Self::Health(health))
    }

    pub fn signal(&self) -> Signal {
        match self {
            Self::Alarm(alarm) => Signal {
                source: cloudwatch::SOURCE.into(),
                kind: alarm.alarm_name.clone(),
                id: alarm.signal_id(),
                account: alarm.account_id.clone(),
                region: alarm.region.clone(),
                delivered_by: None,
                time: None,
            },
            Self::Health(health) => health.signal(),
        }
    }
}

/// Finds the instances the trigger names (resolving IP addresses, ranking traffic for a billing
/// alarm), quarantines them, imports a finding for the incident and notifies.
pub async fn respond_to_abuse(
    accounts: &Accounts,
    settings: &Settings,
    trigger: &AbuseTrigger,
    deadline: Deadline,
) -> Response {
    Box::pin(answer(accounts, settings, trigger, deadline)).await
}

async fn answer(accounts: &Accounts, settings: &Settings, trigger: &AbuseTrigger, deadline: Deadline) -> Response {
    let mut response = Response::new(FUNCTION, trigger.signal());
    let targets = match trigger {
        AbuseTrigger::Alarm(alarm) if !alarm.is_alarm() => {
            response.reason = Some(format!("alarm state is {}, not ALARM", alarm.state));
            response.finish();
            return response;
        }
        AbuseTrigger::Alarm(alarm) => match alarm.kind() {
            Ok(AlarmKind::OutboundTraffic { instance_id, metric }) => {
                vec![alarm_target(&response, instance_id, format!("{metric} alarm {}", alarm.alarm_name), None)]
            }
            Ok(AlarmKind::Billing) => billing_targets(accounts, settings, alarm, &mut response).await,
            // A trigger from `from_event` has passed this already; one built by hand may not.
            Err(error) => {
                response.error(RespondError::from(error).into());
                response.finish();
                return response;
            }
        },
        AbuseTrigger::Health(health) => health_targets(accounts, health, &mut response).await,
    };
    Box::pin(quarantine_all(accounts, settings, &mut response, targets, deadline)).await;
    response
}

/// The instance an alarm names, under the alarm's signal (`kind` says which alarm; a billing
/// alarm's instance is in the function's own region).
fn alarm_target(response: &Response, instance_id: String, kind: String, region: Option<String>) -> Target {
    let mut signal = Signal { kind: kind.chars().take(256).collect(), ..response.signal.clone() };
    if let Some(region) = region {
        signal.region = region;
    }
    Target::instance(QuarantineRequest { instance_id, signal, vpc_hints: Vec::new() })
}

/// A billing alarm: the instances sending the most are listed; the top one is quarantined only
/// when configured to be.
async fn billing_targets(
    accounts: &Accounts,
    settings: &Settings,
    alarm: &AlarmStateChange,
    response: &mut Response,
) -> Vec<Target> {
    // Billing alarms live in us-east-1; the instances are where the function runs.
    let region = accounts.home_region();
    let case_id = case_id_for(&alarm.signal_id());
    let signal = Signal { region: region.clone(), ..response.signal.clone() };
    match accounts.clients_for_signal(&signal, &case_id).await {
        Err(e) => response.error(RespondError::from(e).into()),
        Ok(account) => {
            let (clients, abuse) = (&account.clients, &settings.abuse);
            match top_talkers(&clients.ec2, &clients.cloudwatch, abuse.traffic_window, abuse.top_talkers).await {
                Err(e) => response.error(RespondError::Ranking(e).into()),
                Ok(talkers) => response.top_talkers = talkers,
            }
        }
    }
    match (settings.abuse.quarantine_on_billing_alarm, response.top_talkers.first()) {
        (true, Some(top)) => {
            let (instance_id, kind) = (top.instance_id.clone(), format!("billing alarm {}", alarm.alarm_name));
            vec![alarm_target(response, instance_id, kind, Some(region))]
        }
        (true, None) => {
            response.reason = Some("billing alarm: no instance sent measurable traffic".into());
            Vec::new()
        }
        (false, _) => {
            response.reason = Some(format!(
                "billing alarm: the instances sending the most are listed, none quarantined (set {} to quarantine the top one)",
                config::QUARANTINE_ON_BILLING_ALARM
            ));
            Vec::new()
        }
    }
}

/// A Health abuse notice: its instances as named, its IP addresses resolved to the instances
/// holding them, each in its own Region (the entity's ARN, else the notice's `eventRegion`);
/// anything else is reported, not acted on.
async fn health_targets(accounts: &Accounts, health: &HealthEvent, response: &mut Response) -> Vec<Target> {
    let mut instances: Vec<(String, String)> = Vec::new();
    let mut ips: Vec<(IpAddr, String)> = Vec::new();
    for entity in &health.affected_entities {
        let mut leave = |reason: String| {
            response.unresolved.push(Unresolved { entity: entity.entity_value.chars().take(200).collect(), reason })
        };
        let named_account = [entity.entity_arn.as_deref(), Some(entity.entity_value.as_str())]
            .into_iter()
            .flatten()
            .find_map(|arn| arn_account_region(arn).and_then(|(account, _)| account));
        if let Some(other) = named_account.filter(|a| *a != health.account_id) {
            leave(format!("its ARN names account {other}, the notice is about {}", health.account_id));
            continue;
        }
        let Some(region) = health.entity_region(entity) else {
            leave("a global notice whose entity names no Region: cannot tell where to act".into());
            continue;
        };
        match classify_entity(&entity.entity_value) {
            Entity::Instance(id) => instances.push((id, region)),
            Entity::Ip(ip) => ips.push((ip, region)),
            Entity::Other(_) => leave("neither an instance id nor an IP address".into()),
        }
    }
    let case_id = case_id_for(&health.event_arn);
    for (ip, region) in ips {
        let signal = Signal { region: region.clone(), ..response.signal.clone() };
        match accounts.clients_for_signal(&signal, &case_id).await {
            Err(e) => response.error(RespondError::from(e).into()),
            Ok(account) => match resolve_ip(&account.clients.ec2, ip).await {
                Err(source) => response.error(RespondError::Resolve { ip, source }.into()),
                Ok(Err(reason)) => response.unresolved.push(Unresolved { entity: ip.to_string(), reason }),
                Ok(Ok(resolved)) => {
                    instances.push((resolved.instance_id.clone(), region));
                    response.resolved.push(resolved);
                }
            },
        }
    }
    let targets: Vec<Target> = instances
        .into_iter()
        .map(|(instance_id, region)| {
            let signal = Signal { region, ..response.signal.clone() };
            Target::instance(QuarantineRequest { instance_id, signal, vpc_hints: Vec::new() })
        })
        .collect();
    if targets.is_empty() && response.errors.is_empty() && response.unresolved.is_empty() {
        response.reason = Some("the abuse report names no affected entity".into());
    }
    targets
}
