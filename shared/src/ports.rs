//! close-open-ports: find the ingress rules that expose administrative and data ports to the
//! whole internet, and revoke exactly those, by security group rule id.
//!
//! Deciding is pure ([`exposing_ports`], [`plan_group`]): a rule list and the configuration give
//! the rules to revoke, the allowed-CIDR rules to add in their place and the tags recording what
//! was revoked. [`close_open_ports`] reads the groups a trigger concerns, plans, and carries the
//! plan out (or only reports it, in a dry run).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Instant, SystemTime};

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, Tag};
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::aws::{AwsError, AwsResultExt, Clients};
use crate::deadline::Deadline;
use crate::engine::config::{self, flag, tag_key, ConfigError};
use crate::engine::report::{self, millis, timestamp};
use crate::engine::{Outcome, Report, Signal, StepOutcome, StepReport};
use crate::events::{self, EventError, GuardDutyFinding, ScheduledEvent, SecurityGroupApiCall};
use crate::tags;

pub const FUNCTION: &str = "close-open-ports";
pub const ALLOWED_CIDRS: &str = "FIREBREAK_ALLOWED_CIDRS";
/// The GuardDuty findings that show an instance probed or brute-forced from the internet.
pub const FINDING_TYPES: [&str; 3] = [
    "Recon:EC2/PortProbeUnprotectedPort",
    "UnauthorizedAccess:EC2/SSHBruteForce",
    "UnauthorizedAccess:EC2/RDPBruteForce",
];
/// On a group: every rule Firebreak revoked, as `<protocol> <from>-<to> <cidr>` items (restorable
/// with AuthorizeSecurityGroupIngress), spilling into `:2`, `:3`... like every Firebreak list tag.
pub const REVOKED_INGRESS_TAG: &str = "firebreak:revoked-ingress";
pub const PORTS_CLOSED_AT_TAG: &str = "firebreak:ports-closed-at";

pub use crate::aws::security_groups::read_groups;
pub use crate::exposure::{
    admin_ports, exposing_ports, exposing_rules, ExposingRule, GroupFacts, IngressRule, ADMIN_PORTS,
    DEFAULT_ADMIN_PORTS,
};

/// What close-open-ports closes, and for whom it reopens.
#[derive(Debug, Clone, PartialEq)]
pub struct PortsConfig {
    pub admin_ports: Vec<u16>,
    /// After revoking a world-open rule, the same port is authorized for each of these CIDRs.
    pub allowed_cidrs: Vec<String>,
    pub exempt_tag_key: String,
    /// GuardDuty triggers below this severity are reported and left alone. Default 0: the port
    /// is open whatever the finding's severity (brute-force findings against a TARGET are low).
    pub min_severity: f64,
    pub dry_run: bool,
    pub act_on_sample_findings: bool,
}

impl Default for PortsConfig {
    fn default() -> Self {
        Self {
            admin_ports: DEFAULT_ADMIN_PORTS.to_vec(),
            allowed_cidrs: Vec::new(),
            exempt_tag_key: "firebreak:exempt".into(),
            min_severity: 0.0,
            dry_run: false,
            act_on_sample_findings: false,
        }
    }
}

impl PortsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            admin_ports: match lookup(ADMIN_PORTS) {
                None => defaults.admin_ports,
                Some(value) => admin_ports(ADMIN_PORTS, &value)?,
            },
            allowed_cidrs: match lookup(ALLOWED_CIDRS) {
                None => defaults.allowed_cidrs,
                Some(value) => allowed_cidrs(&value)?,
            },
            exempt_tag_key: tag_key(config::EXEMPT_TAG_KEY, lookup(config::EXEMPT_TAG_KEY), defaults.exempt_tag_key)?,
            min_severity: severity(config::MIN_SEVERITY, lookup(config::MIN_SEVERITY), defaults.min_severity)?,
            dry_run: flag(config::DRY_RUN, lookup(config::DRY_RUN), defaults.dry_run)?,
            act_on_sample_findings: flag(
                config::ACT_ON_SAMPLE_FINDINGS,
                lookup(config::ACT_ON_SAMPLE_FINDINGS),
                defaults.act_on_sample_findings,
            )?,
        })
    }
}

fn allowed_cidrs(value: &str) -> Result<Vec<String>, ConfigError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|cidr| {
            if is_valid_cidr(cidr) {
                Ok(cidr.to_string())
            } else {
                Err(ConfigError::Invalid {
                    name: ALLOWED_CIDRS,
                    value: value.to_string(),
                    why: "expected comma-separated IPv4 or IPv6 CIDRs, none of them /0 (that is the whole internet)",
                })
            }
        })
        .collect()
}

fn is_valid_cidr(cidr: &str) -> bool {
    let Some((address, prefix)) = cidr.split_once('/') else {
        return false;
    };
    let Ok(prefix) = prefix.parse::<u8>() else {
        return false;
    };
    let max = if address.parse::<Ipv4Addr>().is_ok() {
        32
    } else if address.parse::<Ipv6Addr>().is_ok() {
        128
    } else {
        return false;
    };
    (1..=max).contains(&prefix)
}

fn severity(name: &'static str, value: Option<String>, default: f64) -> Result<f64, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => match v.trim().parse::<f64>() {
            Ok(n) if (0.0..=10.0).contains(&n) => Ok(n),
            _ => {
                Err(ConfigError::Invalid { name, value: v, why: "expected a number from 0 to 10 (GuardDuty severity)" })
            }
        },
    }
}

/// An ingress rule to add so that the allowed CIDRs keep the access the revoked rule gave them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Replacement {
    pub protocol: String,
    pub port: u16,
    pub cidr: String,
}

impl fmt::Display for Replacement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} from {}", self.protocol, self.port, self.cidr)
    }
}

/// What to do to one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupPlan {
    pub group_id: String,
    pub group_name: String,
    /// Why the group is left alone (exempt, Firebreak's own, nothing exposed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<String>,
    pub revoke: Vec<ExposingRule>,
    pub authorize: Vec<Replacement>,
    /// The tags recording every rule revoked so far, this run's included.
    pub record_tags: Vec<(String, String)>,
}

impl GroupPlan {
    pub fn has_work(&self) -> bool {
        self.skip.is_none() && !self.revoke.is_empty()
    }
}

/// Decides what happens to one group. Pure: the same rules and configuration give the same plan,
/// and a group whose world-open rules are gone plans nothing, which makes a second run a no-op.
pub fn plan_group(group: &GroupFacts, config: &PortsConfig, now: &str) -> GroupPlan {
    let exposing = exposing_rules(&group.ingress, &config.admin_ports);
    let mut plan = GroupPlan {
        group_id: group.group_id.clone(),
        group_name: group.group_name.clone(),
        skip: None,
        revoke: Vec::new(),
        authorize: Vec::new(),
        record_tags: Vec::new(),
    };
    if let Some(role) = group.tags.get(tags::ROLE) {
        plan.skip =
            Some(format!("Firebreak's own {role} group ({}={role}): its rules are what isolation needs", tags::ROLE));
        return plan;
    }
    if group.tags.contains_key(&config.exempt_tag_key) {
        let exposed = if exposing.is_empty() {
            String::new()
        } else {
            format!("; it exposes {}", exposing.iter().map(|e| e.rule.to_string()).collect::<Vec<_>>().join(", "))
        };
        plan.skip = Some(format!("exempt: tagged {}{exposed}", config.exempt_tag_key));
        return plan;
    }
    if exposing.is_empty() {
        plan.skip = Some("no ingress rule exposes an admin or data port to the internet".into());
        return plan;
    }
    let mut authorize: Vec<Replacement> = Vec::new();
    for exposing_rule in &exposing {
        let protocol = match exposing_rule.rule.protocol.as_str() {
            "udp" | "17" => "udp",
            _ => "tcp",
        };
        for &port in &exposing_rule.exposed_ports {
            for cidr in &config.allowed_cidrs {
                let present = group.ingress.iter().any(|r| {
                    r.cidr.as_deref() == Some(cidr.as_str())
                        && (r.is_all_traffic()
                            || (r.protocol == protocol
                                && r.from_port <= i32::from(port)
                                && i32::from(port) <= r.to_port))
                });
                if !present {
                    authorize.push(Replacement { protocol: protocol.into(), port, cidr: cidr.clone() });
                }
            }
        }
    }
    authorize.sort();
    authorize.dedup();
    let mut recorded = tags::read_list(&group.tags, REVOKED_INGRESS_TAG).unwrap_or_default();
    for exposing_rule in &exposing {
        let record = exposing_rule.rule.record();
        if !recorded.contains(&record) {
            recorded.push(record);
        }
    }
    let mut record_tags = tags::list_tags(REVOKED_INGRESS_TAG, &recorded);
    record_tags.push((PORTS_CLOSED_AT_TAG.into(), now.into()));
    plan.revoke = exposing;
    plan.authorize = authorize;
    plan.record_tags = record_tags;
    plan
}

/// Why close-open-ports looked at groups, and which.
#[derive(Debug, Clone, PartialEq)]
pub enum PortsTrigger {
    /// A GuardDuty finding: an instance probed or brute-forced from the internet.
    Finding(Box<GuardDutyFinding>),
    /// CloudTrail: someone opened or created a group.
    ApiCall(SecurityGroupApiCall),
    /// The schedule: every group in the region.
    Sweep(ScheduledEvent),
}

impl PortsTrigger {
    /// Parses any of the three events close-open-ports is delivered; no AWS call.
    pub fn from_event(event: &Value) -> Result<Self, EventError> {
        match event.get("source").and_then(Value::as_str) {
            Some(events::guardduty::SOURCE) => {
                let finding = GuardDutyFinding::from_event(event)?;
                if !FINDING_TYPES.contains(&finding.finding_type.as_str()) {
                    return Err(EventError::UnsupportedFinding {
                        finding_type: finding.finding_type,
                        resource_type: finding.resource.resource_type,
                        why: "close-open-ports acts on port-probe and SSH/RDP brute-force findings",
                    });
                }
                finding.ec2_instance()?;
                Ok(Self::Finding(Box::new(finding)))
            }
            Some(events::cloudtrail::SOURCE) => Ok(Self::ApiCall(SecurityGroupApiCall::from_event(event)?)),
            Some(events::schedule::SOURCE) => Ok(Self::Sweep(ScheduledEvent::from_event(event)?)),
            other => Err(EventError::WrongSource {
                event_source: other.unwrap_or_default().to_string(),
                detail_type: event.get("detail-type").and_then(Value::as_str).unwrap_or_default().to_string(),
                expected: "GuardDuty port-probe / brute-force findings, CloudTrail security group calls (aws.ec2) or a Scheduled Event",
            }),
        }
    }

    fn report(&self, dry_run: bool) -> Report {
        let (signal_id, signal_type, account_id, region, resource) = match self {
            Self::Finding(f) => (
                f.id.clone(),
                f.finding_type.clone(),
                f.account_id.clone(),
                f.region.clone(),
                f.resource.instance_details.as_ref().map(|d| d.instance_id.clone()).unwrap_or_default(),
            ),
            Self::ApiCall(c) => {
                (c.event_id.clone(), c.event_name.clone(), c.account_id.clone(), c.region.clone(), c.group_id.clone())
            }
            Self::Sweep(s) => (
                s.id.clone(),
                events::schedule::DETAIL_TYPE.to_string(),
                s.account_id.clone(),
                s.region.clone(),
                "every security group in the region".to_string(),
            ),
        };
        let source = match self {
            Self::Finding(_) => events::guardduty::SOURCE,
            Self::ApiCall(_) => events::cloudtrail::SOURCE,
            Self::Sweep(_) => events::schedule::SOURCE,
        };
        let signal =
            Signal { source: source.into(), kind: signal_type, id: signal_id, account: account_id, region, time: None };
        Report::new(FUNCTION, signal, resource, dry_run)
    }
}

#[derive(Debug, Error)]
pub enum PortsError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(
        "instance {0} has no network interfaces: it does not exist (or no longer does) in this account and region"
    )]
    InstanceNotFound(String),
    #[error("could not read the security groups: {0}")]
    Read(#[from] AwsError),
}

impl From<PortsError> for crate::engine::FunctionError {
    fn from(error: PortsError) -> Self {
        let kind = match &error {
            PortsError::Event(_) => "InvalidEvent",
            PortsError::InstanceNotFound(_) => "ResourceNotFound",
            PortsError::Read(_) => "AwsCallFailed",
        };
        crate::engine::FunctionError::new(kind, error)
    }
}

/// The plan for one run: every group looked at, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortsPlan {
    pub groups: Vec<GroupPlan>,
}

impl fmt::Display for PortsPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "close open ports in {} group(s)", self.groups.len())?;
        for group in &self.groups {
            match &group.skip {
                Some(why) => writeln!(f, "  {} ({}): skip — {why}", group.group_id, group.group_name)?,
                None => {
                    writeln!(f, "  {} ({}):", group.group_id, group.group_name)?;
                    for replacement in &group.authorize {
                        writeln!(f, "    authorize {replacement}")?;
                    }
                    for exposing in &group.revoke {
                        writeln!(f, "    revoke {}", exposing.rule)?;
                    }
                }
            }
        }
        Ok(())
    }
}

pub fn plan(groups: &[GroupFacts], config: &PortsConfig, now: &str) -> PortsPlan {
    PortsPlan { groups: groups.iter().map(|g| plan_group(g, config, now)).collect() }
}

/// Runs close-open-ports for one trigger: read, plan, act (or only report, in a dry run).
pub async fn close_open_ports(
    clients: &Clients,
    config: &PortsConfig,
    trigger: &PortsTrigger,
    deadline: Deadline,
) -> Result<Report, PortsError> {
    let clock = Instant::now();
    let mut report = trigger.report(config.dry_run);
    let scope: Option<Vec<String>> = match trigger {
        PortsTrigger::Finding(finding) => {
            if finding.is_sample() && !config.act_on_sample_findings {
                report.reason = Some("GuardDuty sample finding: not acted on".into());
                return Ok(report);
            }
            if finding.severity < config.min_severity {
                report.reason =
                    Some(format!("severity {} is below the threshold {}", finding.severity, config.min_severity));
                return Ok(report);
            }
            let instance_id = finding.ec2_instance()?.instance_id.clone();
            let interfaces = crate::aws::ec2::describe_interfaces(&clients.ec2, &instance_id).await?;
            if interfaces.is_empty() {
                return Err(PortsError::InstanceNotFound(instance_id));
            }
            let mut ids: Vec<String> = interfaces.into_iter().flat_map(|eni| eni.group_ids).collect();
            ids.sort();
            ids.dedup();
            Some(ids)
        }
        PortsTrigger::ApiCall(call) => {
            if let Some(code) = &call.error_code {
                report.reason = Some(format!("{} failed ({code}): nothing was opened", call.event_name));
                return Ok(report);
            }
            Some(vec![call.group_id.clone()])
        }
        PortsTrigger::Sweep(_) => None,
    };
    let Some(read) = deadline.run(read_groups(&clients.ec2, scope.as_deref())).await else {
        report.outcome = Outcome::Failed;
        report.reason = Some(
            "cut off at the Lambda deadline before the groups were read: nothing changed; a retry starts over".into(),
        );
        report.duration_ms = millis(clock.elapsed());
        return Ok(report);
    };
    let groups = match read {
        Ok(groups) => groups,
        Err(e) if e.is_code("InvalidGroup.NotFound") => {
            report.reason = Some(format!("the security group no longer exists ({})", e.message));
            report.duration_ms = millis(clock.elapsed());
            return Ok(report);
        }
        Err(e) => return Err(e.into()),
    };
    let ports_plan = plan(&groups, config, &timestamp(SystemTime::now()));
    tracing::info!(finding_id = %report.signal.id, plan = %ports_plan, "plan");
    let signal_id = report.signal.id.clone();
    let (mut revoke_failed, mut other_failed, mut revoked) = (false, false, 0);
    for group in &ports_plan.groups {
        let steps = if !group.has_work() {
            vec![StepReport::new(
                "check_group",
                group.group_id.clone(),
                StepOutcome::Skipped,
                group.skip.clone().unwrap_or_default(),
            )]
        } else if config.dry_run {
            planned_steps(group)
        } else {
            let cut_off = |why: &str| {
                vec![StepReport::new("revoke_ingress_rule", group.group_id.clone(), StepOutcome::Failed, why)]
            };
            let steps = if deadline.is_near() {
                cut_off("not started: the Lambda deadline is near; a retry of the event resumes here")
            } else {
                deadline
                    .run(execute_group(&clients.ec2, group))
                    .await
                    .unwrap_or_else(|| cut_off("cut off at the Lambda deadline; a retry of the event resumes here"))
            };
            for step in &steps {
                match (step.step, step.outcome) {
                    ("revoke_ingress_rule", StepOutcome::Failed) => revoke_failed = true,
                    ("revoke_ingress_rule", StepOutcome::Done) => revoked += 1,
                    (_, StepOutcome::Failed) => other_failed = true,
                    _ => {}
                }
            }
            steps
        };
        for step in &steps {
            report::log_step(&group.group_id, &signal_id, step);
        }
        report.steps.extend(steps);
    }
    let any_work = ports_plan.groups.iter().any(GroupPlan::has_work);
    report.outcome = if !any_work {
        report.reason = Some(format!(
            "no security group among the {} checked exposes an admin or data port to the internet (or every one that does is exempt)",
            ports_plan.groups.len()
        ));
        Outcome::Skipped
    } else if config.dry_run {
        Outcome::Planned
    } else if revoke_failed {
        Outcome::Failed
    } else if other_failed {
        Outcome::ContainedWithErrors
    } else {
        Outcome::Contained
    };
    if revoked > 0 {
        tracing::info!(finding_id = %signal_id, revoked, "ingress rules revoked");
    }
    report.duration_ms = millis(clock.elapsed());
    Ok(report)
}

fn planned_steps(group: &GroupPlan) -> Vec<StepReport> {
    let step = |step, detail: String| StepReport::new(step, group.group_id.clone(), StepOutcome::Planned, detail);
    let mut steps: Vec<StepReport> =
        group.authorize.iter().map(|r| step("authorize_allowed_cidr", format!("authorize {r}"))).collect();
    steps.extend(group.revoke.iter().map(|e| StepReport {
        resource: e.rule.rule_id.clone(),
        ..step("revoke_ingress_rule", revoke_detail(group, e))
    }));
    steps.push(step("record_revoked_rules", record_detail(group)));
    steps
}

fn revoke_detail(group: &GroupPlan, exposing: &ExposingRule) -> String {
    format!(
        "revoke {} from {}: it exposed port(s) {} to the internet",
        exposing.rule,
        group.group_id,
        exposing.exposed_ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
    )
}

fn record_detail(group: &GroupPlan) -> String {
    format!(
        "tag {} with {}",
        group.group_id,
        group.record_tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    )
}

/// Allowed CIDRs first, so administrators never lose access between the two calls; then one
/// revoke of every exposing rule by id; then the record on the group.
async fn execute_group(ec2: &aws_sdk_ec2::Client, group: &GroupPlan) -> Vec<StepReport> {
    let mut steps = Vec::new();
    let timed = |step, resource: String, clock: Instant, result: Result<String, AwsError>| {
        let (outcome, detail) = match result {
            Ok(detail) => (StepOutcome::Done, detail),
            Err(e) => (StepOutcome::Failed, e.to_string()),
        };
        StepReport { duration_ms: millis(clock.elapsed()), ..StepReport::new(step, resource, outcome, detail) }
    };
    for replacement in &group.authorize {
        let clock = Instant::now();
        let mut permission = IpPermission::builder()
            .ip_protocol(&replacement.protocol)
            .from_port(replacement.port.into())
            .to_port(replacement.port.into());
        let description = "Firebreak: allowed CIDR kept after closing the port to the internet";
        permission = if replacement.cidr.contains(':') {
            permission.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(&replacement.cidr).description(description).build())
        } else {
            permission.ip_ranges(IpRange::builder().cidr_ip(&replacement.cidr).description(description).build())
        };
        let result = match ec2
            .authorize_security_group_ingress()
            .group_id(&group.group_id)
            .ip_permissions(permission.build())
            .send()
            .await
            .aws("AuthorizeSecurityGroupIngress")
        {
            Ok(_) => Ok(format!("authorized {replacement}")),
            Err(e) if e.is_code("InvalidPermission.Duplicate") => Ok(format!("{replacement} was already allowed")),
            Err(e) => Err(e),
        };
        steps.push(timed("authorize_allowed_cidr", group.group_id.clone(), clock, result));
    }

    let clock = Instant::now();
    let revoked = ec2
        .revoke_security_group_ingress()
        .group_id(&group.group_id)
        .set_security_group_rule_ids(Some(group.revoke.iter().map(|e| e.rule.rule_id.clone()).collect()))
        .send()
        .await
        .aws("RevokeSecurityGroupIngress");
    let revoke_ok = revoked.is_ok();
    for exposing in &group.revoke {
        let result = match &revoked {
            Ok(_) => Ok(revoke_detail(group, exposing).replacen("revoke", "revoked", 1)),
            Err(e) => Err(e.clone()),
        };
        steps.push(timed("revoke_ingress_rule", exposing.rule.rule_id.clone(), clock, result));
    }

    let clock = Instant::now();
    let result = if revoke_ok {
        ec2.create_tags()
            .resources(&group.group_id)
            .set_tags(Some(group.record_tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
            .send()
            .await
            .aws("CreateTags")
            .map(|_| record_detail(group))
    } else {
        Err(AwsError {
            action: "CreateTags",
            code: "NotAttempted".into(),
            message: "the revoke failed, so nothing is recorded as revoked".into(),
        })
    };
    steps.push(timed("record_revoked_rules", group.group_id.clone(), clock, result));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn rule(id: &str, protocol: &str, from: i32, to: i32, cidr: &str) -> IngressRule {
        IngressRule {
            rule_id: id.into(),
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            cidr: Some(cidr.into()),
        }
    }

    fn group(rules: Vec<IngressRule>, tags: &[(&str, &str)]) -> GroupFacts {
        GroupFacts {
            group_id: "sg-0123456789abcdef0".into(),
            group_name: "web".into(),
            vpc_id: Some("vpc-01234567".into()),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ingress: rules,
        }
    }

    const ADMIN: [u16; 8] = DEFAULT_ADMIN_PORTS;

    #[test]
    fn ssh_open_to_the_world_on_both_families_is_exposing_and_https_is_not() {
        assert_eq!(exposing_ports(&rule("sgr-1", "tcp", 22, 22, "0.0.0.0/0"), &ADMIN), vec![22]);
        assert_eq!(exposing_ports(&rule("sgr-2", "tcp", 22, 22, "::/0"), &ADMIN), vec![22]);
        assert!(exposing_ports(&rule("sgr-3", "tcp", 443, 443, "0.0.0.0/0"), &ADMIN).is_empty());
        assert!(exposing_ports(&rule("sgr-4", "tcp", 22, 22, "10.0.0.0/8"), &ADMIN).is_empty());
    }

    #[test]
    fn ranges_and_all_traffic_cover_every_admin_port_inside_them() {
        let mut sorted = ADMIN.to_vec();
        sorted.sort_unstable();
        let mut whole = exposing_ports(&rule("sgr-1", "tcp", 0, 65535, "0.0.0.0/0"), &ADMIN);
        whole.sort_unstable();
        assert_eq!(whole, sorted);
        let mut all = exposing_ports(&rule("sgr-2", "-1", -1, -1, "::/0"), &ADMIN);
        all.sort_unstable();
        assert_eq!(all, sorted);
        assert_eq!(exposing_ports(&rule("sgr-3", "tcp", 3000, 3400, "0.0.0.0/0"), &ADMIN), vec![3389, 3306]);
        assert_eq!(exposing_ports(&rule("sgr-4", "6", 20, 23, "0.0.0.0/0"), &ADMIN), vec![22]);
        assert!(exposing_ports(&rule("sgr-5", "icmp", -1, -1, "0.0.0.0/0"), &ADMIN).is_empty());
        assert!(exposing_ports(&rule("sgr-6", "tcp", 8000, 9000, "0.0.0.0/0"), &ADMIN).is_empty());
        let group_reference = IngressRule { cidr: None, ..rule("sgr-7", "-1", -1, -1, "") };
        assert!(exposing_ports(&group_reference, &ADMIN).is_empty());
    }

    #[test]
    fn plan_revokes_only_exposing_rules_and_records_them() {
        let facts = group(
            vec![
                rule("sgr-a", "tcp", 22, 22, "0.0.0.0/0"),
                rule("sgr-b", "tcp", 22, 22, "::/0"),
                rule("sgr-c", "tcp", 443, 443, "0.0.0.0/0"),
            ],
            &[],
        );
        let plan = plan_group(&facts, &PortsConfig::default(), "2026-11-24T02:14:00Z");
        assert!(plan.has_work());
        let ids: Vec<&str> = plan.revoke.iter().map(|e| e.rule.rule_id.as_str()).collect();
        assert_eq!(ids, ["sgr-a", "sgr-b"]);
        assert!(plan.authorize.is_empty(), "no allowed CIDRs configured");
        assert_eq!(
            plan.record_tags[0],
            (REVOKED_INGRESS_TAG.to_string(), "tcp 22-22 0.0.0.0/0,tcp 22-22 ::/0".to_string())
        );
        assert_eq!(plan.record_tags.last().unwrap().0, PORTS_CLOSED_AT_TAG);
        let printed = PortsPlan { groups: vec![plan] }.to_string();
        assert!(printed.contains("revoke sgr-a") && !printed.contains("sgr-c"), "{printed}");
    }

    #[test]
    fn allowed_cidrs_replace_each_exposed_port_unless_already_allowed() {
        let config =
            PortsConfig { allowed_cidrs: vec!["203.0.113.0/24".into(), "10.0.0.0/8".into()], ..Default::default() };
        let facts = group(
            vec![
                rule("sgr-a", "tcp", 22, 22, "0.0.0.0/0"),
                rule("sgr-b", "tcp", 22, 22, "::/0"),
                rule("sgr-c", "tcp", 22, 22, "10.0.0.0/8"),
            ],
            &[],
        );
        let plan = plan_group(&facts, &config, "now");
        assert_eq!(
            plan.authorize,
            vec![Replacement { protocol: "tcp".into(), port: 22, cidr: "203.0.113.0/24".into() }]
        );
    }

    #[test]
    fn exempt_and_firebreak_groups_and_clean_groups_are_skipped_with_a_reason() {
        let open = vec![rule("sgr-a", "-1", -1, -1, "0.0.0.0/0")];
        let exempt = plan_group(&group(open.clone(), &[("firebreak:exempt", "")]), &PortsConfig::default(), "now");
        assert!(!exempt.has_work());
        assert!(exempt.skip.as_deref().unwrap().contains("exempt"), "{exempt:?}");
        let own = plan_group(&group(open, &[(tags::ROLE, tags::ROLE_UNTRACKING)]), &PortsConfig::default(), "now");
        assert!(!own.has_work());
        assert!(own.skip.as_deref().unwrap().contains("untracking"), "{own:?}");
        let clean =
            plan_group(&group(vec![rule("sgr-c", "tcp", 443, 443, "0.0.0.0/0")], &[]), &PortsConfig::default(), "now");
        assert!(!clean.has_work() && clean.revoke.is_empty());
    }

    #[test]
    fn earlier_records_are_kept_and_long_records_spill_into_more_tags() {
        let earlier: Vec<String> = (0..12).map(|i| format!("tcp {i}000-{i}999 0.0.0.0/0")).collect();
        let tags_before: BTreeMap<String, String> =
            tags::list_tags(REVOKED_INGRESS_TAG, &earlier).into_iter().collect();
        let mut facts = group(vec![rule("sgr-a", "tcp", 0, 65535, "::/0")], &[]);
        facts.tags = tags_before;
        let plan = plan_group(&facts, &PortsConfig::default(), "now");
        assert!(plan.record_tags.iter().all(|(_, v)| v.len() <= tags::MAX_VALUE_LEN));
        let written: BTreeMap<String, String> = plan.record_tags.into_iter().collect();
        let recorded = tags::read_list(&written, REVOKED_INGRESS_TAG).unwrap();
        assert_eq!(recorded.len(), 13);
        assert_eq!(recorded.last().unwrap(), "tcp 0-65535 ::/0");
    }

    #[test]
    fn configuration_is_read_and_validated() {
        let vars = |pairs: &[(&str, &str)]| {
            let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            PortsConfig::from_lookup(move |name| map.get(name).cloned())
        };
        assert_eq!(vars(&[]).unwrap(), PortsConfig::default());
        let config = vars(&[
            (ADMIN_PORTS, "22, 8080,22"),
            (ALLOWED_CIDRS, "198.51.100.7/32,2001:db8::/32"),
            (config::DRY_RUN, "true"),
        ])
        .unwrap();
        assert_eq!(config.admin_ports, vec![22, 8080]);
        assert_eq!(config.allowed_cidrs, vec!["198.51.100.7/32", "2001:db8::/32"]);
        assert!(config.dry_run);
        assert!(vars(&[(ADMIN_PORTS, "ssh")]).is_err());
        assert!(vars(&[(ADMIN_PORTS, "0")]).is_err());
        assert!(vars(&[(ADMIN_PORTS, "")]).is_err());
        assert!(vars(&[(ALLOWED_CIDRS, "0.0.0.0/0")]).is_err(), "re-adding the whole internet is refused");
        assert!(vars(&[(ALLOWED_CIDRS, "10.0.0.0")]).is_err());
        assert!(vars(&[(config::MIN_SEVERITY, "12")]).is_err());
    }
}
