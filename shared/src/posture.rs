//! audit-posture: check the account against the incident playbook's hardening list, and report
//! each gap as an ASFF finding in Security Hub and in the run's JSON report. Changes nothing else.
//!
//! Reading ([`observe`]) gathers plain facts; [`evaluate`] turns them into gaps without AWS; each
//! gap has a deterministic finding id, so the next run updates the same finding, and a finding
//! whose gap is gone is imported again as ARCHIVED / PASSED / RESOLVED. A check that could not be
//! read neither reports a gap nor resolves one: an AccessDenied is not a fix.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, Compliance, ComplianceStatus, Partition, Recommendation,
    RecordState, Remediation, Resource, Severity, SeverityLabel, StringFilter, StringFilterComparison, Workflow,
    WorkflowStatus,
};
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::aws::{AwsError, AwsResultExt, Clients};
use crate::deadline::Deadline;
use crate::engine::config::{self, flag, ConfigError};
use crate::engine::report::{self, millis, timestamp};
use crate::engine::{Outcome, Report, Signal, StepOutcome, StepReport};
use crate::events::{EventError, ScheduledEvent};
use crate::ports::{self, GroupFacts};
use crate::tags;

pub const FUNCTION: &str = "audit-posture";
pub const ACCESS_KEY_MAX_AGE_DAYS: &str = "FIREBREAK_ACCESS_KEY_MAX_AGE_DAYS";
pub const ACCESS_KEY_UNUSED_DAYS: &str = "FIREBREAK_ACCESS_KEY_UNUSED_DAYS";
/// Every finding this function imports has a GeneratorId starting with this, then the check.
pub const GENERATOR_PREFIX: &str = "firebreak-audit-posture/";
const DAY: i64 = 24 * 60 * 60;
/// BatchImportFindings takes at most 100 findings per call.
const FINDINGS_PER_IMPORT: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct PostureConfig {
    pub access_key_max_age_days: u32,
    pub access_key_unused_days: u32,
    pub admin_ports: Vec<u16>,
    /// Check and report; import nothing into Security Hub.
    pub dry_run: bool,
}

impl Default for PostureConfig {
    fn default() -> Self {
        Self {
            access_key_max_age_days: 90,
            access_key_unused_days: 90,
            admin_ports: ports::DEFAULT_ADMIN_PORTS.to_vec(),
            dry_run: false,
        }
    }
}

impl PostureConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let days = |name: &'static str, default: u32| match lookup(name) {
            None => Ok(default),
            Some(value) => value.trim().parse::<u32>().ok().filter(|&d| d <= 3650).ok_or(ConfigError::Invalid {
                name,
                value,
                why: "expected a number of days from 0 to 3650",
            }),
        };
        Ok(Self {
            access_key_max_age_days: days(ACCESS_KEY_MAX_AGE_DAYS, defaults.access_key_max_age_days)?,
            access_key_unused_days: days(ACCESS_KEY_UNUSED_DAYS, defaults.access_key_unused_days)?,
            admin_ports: match lookup(ports::ADMIN_PORTS) {
                None => defaults.admin_ports,
                Some(value) => ports::admin_ports(ports::ADMIN_PORTS, &value)?,
            },
            dry_run: flag(config::DRY_RUN, lookup(config::DRY_RUN), defaults.dry_run)?,
        })
    }
}

/// Each item of the hardening list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    GuarddutyEnabled,
    MultiRegionTrailLogging,
    RootMfa,
    RootAccessKeys,
    ConsoleUserMfa,
    AccessKeyAge,
    AccessKeyUnused,
    SecurityGroupOpen,
    BillingAlarm,
    NetworkOutAlarm,
}

impl Check {
    pub const ALL: [Check; 10] = [
        Self::GuarddutyEnabled,
        Self::MultiRegionTrailLogging,
        Self::RootMfa,
        Self::RootAccessKeys,
        Self::ConsoleUserMfa,
        Self::AccessKeyAge,
        Self::AccessKeyUnused,
        Self::SecurityGroupOpen,
        Self::BillingAlarm,
        Self::NetworkOutAlarm,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Self::GuarddutyEnabled => "guardduty-enabled",
            Self::MultiRegionTrailLogging => "multi-region-trail-logging",
            Self::RootMfa => "root-mfa",
            Self::RootAccessKeys => "root-access-keys",
            Self::ConsoleUserMfa => "console-user-mfa",
            Self::AccessKeyAge => "access-key-age",
            Self::AccessKeyUnused => "access-key-unused",
            Self::SecurityGroupOpen => "security-group-open",
            Self::BillingAlarm => "billing-alarm",
            Self::NetworkOutAlarm => "network-out-alarm",
        }
    }

    pub fn from_generator_id(generator_id: &str) -> Option<Self> {
        let slug = generator_id.strip_prefix(GENERATOR_PREFIX)?;
        Self::ALL.into_iter().find(|c| c.slug() == slug)
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// An IAM user's console and key facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserFacts {
    pub user_name: String,
    pub arn: String,
    pub console_access: bool,
    pub mfa_devices: usize,
    pub access_keys: Vec<AccessKeyFacts>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessKeyFacts {
    pub access_key_id: String,
    pub active: bool,
    /// Seconds since the epoch.
    pub created: i64,
    pub last_used: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmFacts {
    pub alarm_name: String,
    pub namespace: Option<String>,
    pub metric_names: Vec<String>,
}

/// Everything read about the account. `Err` holds why a check could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct PostureFacts {
    pub account_id: String,
    pub region: String,
    pub guardduty_enabled: Result<bool, AwsError>,
    /// The ARN of a multi-region trail that is logging, if any.
    pub logging_multi_region_trail: Result<Option<String>, AwsError>,
    /// (root MFA enabled, root access keys present), from GetAccountSummary.
    pub root: Result<(bool, bool), AwsError>,
    pub users: Result<Vec<UserFacts>, AwsError>,
    pub groups: Result<Vec<GroupFacts>, AwsError>,
    pub alarms: Result<Vec<AlarmFacts>, AwsError>,
}

/// One unguarded thing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    pub check: Check,
    /// ASFF resource type (`AwsAccount`, `AwsIamUser`, `AwsIamAccessKey`, `AwsEc2SecurityGroup`).
    pub resource_type: &'static str,
    pub resource_id: String,
    pub severity: &'static str,
    pub title: String,
    pub description: String,
    pub recommendation: String,
    /// The deterministic Security Hub finding id.
    pub finding_id: String,
}

impl Gap {
    fn new(
        facts: &PostureFacts,
        check: Check,
        resource: (&'static str, String),
        severity: &'static str,
        title: String,
        description: String,
        recommendation: &str,
    ) -> Self {
        let (resource_type, resource_id) = resource;
        Self {
            finding_id: finding_id(&facts.account_id, &facts.region, check, &resource_id),
            check,
            resource_type,
            resource_id,
            severity,
            title,
            description,
            recommendation: recommendation.to_string(),
        }
    }
}

/// The same gap gets the same id on every run: account, region, check and resource.
pub fn finding_id(account_id: &str, region: &str, check: Check, resource_id: &str) -> String {
    format!("firebreak/audit-posture/{account_id}/{region}/{}/{resource_id}", check.slug())
}

fn account_resource(facts: &PostureFacts) -> (&'static str, String) {
    ("AwsAccount", format!("AWS::::Account:{}", facts.account_id))
}

/// The gaps in the facts, and the checks that could be evaluated. Pure.
pub fn evaluate(facts: &PostureFacts, config: &PostureConfig, now: i64) -> (Vec<Gap>, BTreeSet<Check>) {
    let mut gaps = Vec::new();
    let mut evaluated = BTreeSet::new();
    if let Ok(enabled) = &facts.guardduty_enabled {
        evaluated.insert(Check::GuarddutyEnabled);
        if !enabled {
            gaps.push(Gap::new(
                facts,
                Check::GuarddutyEnabled,
                account_resource(facts),
                "HIGH",
                format!("GuardDuty is not enabled in {}", facts.region),
                "No enabled GuardDuty detector in this region: a compromised instance raises no finding, and nothing triggers containment.".into(),
                "Enable GuardDuty in every region you use (aws guardduty create-detector --enable).",
            ));
        }
    }
    if let Ok(trail) = &facts.logging_multi_region_trail {
        evaluated.insert(Check::MultiRegionTrailLogging);
        if trail.is_none() {
            gaps.push(Gap::new(
                facts,
                Check::MultiRegionTrailLogging,
                account_resource(facts),
                "HIGH",
                "No multi-region CloudTrail trail is logging".into(),
                "Without a logging multi-region trail, API calls in other regions (where an attacker starts instances) leave no record.".into(),
                "Create a multi-region trail (aws cloudtrail create-trail --is-multi-region-trail) and start logging.",
            ));
        }
    }
    if let Ok((mfa, keys)) = facts.root {
        evaluated.insert(Check::RootMfa);
        evaluated.insert(Check::RootAccessKeys);
        if !mfa {
            gaps.push(Gap::new(
                facts,
                Check::RootMfa,
                account_resource(facts),
                "CRITICAL",
                "The root user has no MFA".into(),
                "GetAccountSummary reports AccountMFAEnabled = 0: the root password alone opens the whole account."
                    .into(),
                "Enable an MFA device on the root user.",
            ));
        }
        if keys {
            gaps.push(Gap::new(
                facts,
                Check::RootAccessKeys,
                account_resource(facts),
                "CRITICAL",
                "The root user has access keys".into(),
                "GetAccountSummary reports AccountAccessKeysPresent = 1: a leaked root key cannot be restricted by any policy.".into(),
                "Delete the root user's access keys; use IAM roles instead.",
            ));
        }
    }
    if let Ok(users) = &facts.users {
        evaluated.extend([Check::ConsoleUserMfa, Check::AccessKeyAge, Check::AccessKeyUnused]);
        for user in users {
            if user.console_access && user.mfa_devices == 0 {
                gaps.push(Gap::new(
                    facts,
                    Check::ConsoleUserMfa,
                    ("AwsIamUser", user.arn.clone()),
                    "HIGH",
                    format!("IAM user {} can sign in to the console without MFA", user.user_name),
                    format!("{} has a console password (login profile) and no MFA device.", user.user_name),
                    "Require MFA for the user, or remove the console password if it is not needed.",
                ));
            }
            for key in user.access_keys.iter().filter(|k| k.active) {
                let resource = ("AwsIamAccessKey", key.access_key_id.clone());
                let age_days = (now - key.created) / DAY;
                if now - key.created >= i64::from(config.access_key_max_age_days) * DAY {
                    gaps.push(Gap::new(
                        facts,
                        Check::AccessKeyAge,
                        resource.clone(),
                        "MEDIUM",
                        format!("Access key {} of {} is {age_days} days old", key.access_key_id, user.user_name),
                        format!(
                            "The active key was created {age_days} days ago; the limit is {} days.",
                            config.access_key_max_age_days
                        ),
                        "Rotate the key: create a new one, move its users to it, deactivate and delete the old one.",
                    ));
                }
                let since = key.last_used.unwrap_or(key.created);
                if now - since >= i64::from(config.access_key_unused_days) * DAY {
                    let used = match key.last_used {
                        Some(_) => format!("last used {} days ago", (now - since) / DAY),
                        None => "never used".to_string(),
                    };
                    gaps.push(Gap::new(
                        facts,
                        Check::AccessKeyUnused,
                        resource,
                        "MEDIUM",
                        format!("Access key {} of {} is unused ({used})", key.access_key_id, user.user_name),
                        format!(
                            "The active key is {used}; keys unused for {} days should not exist.",
                            config.access_key_unused_days
                        ),
                        "Deactivate and delete keys nobody uses.",
                    ));
                }
            }
        }
    }
    if let Ok(groups) = &facts.groups {
        evaluated.insert(Check::SecurityGroupOpen);
        // Firebreak's untracking group is open to everything by design, and never has an instance for long.
        for group in groups.iter().filter(|g| !g.tags.contains_key(tags::ROLE)) {
            let exposing = ports::exposing_rules(&group.ingress, &config.admin_ports);
            if exposing.is_empty() {
                continue;
            }
            let mut exposed: Vec<u16> = exposing.iter().flat_map(|e| e.exposed_ports.iter().copied()).collect();
            exposed.sort_unstable();
            exposed.dedup();
            let list = exposed.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
            gaps.push(Gap::new(
                facts,
                Check::SecurityGroupOpen,
                ("AwsEc2SecurityGroup", group.group_id.clone()),
                "HIGH",
                format!(
                    "Security group {} ({}) is open to the internet on port(s) {list}",
                    group.group_id, group.group_name
                ),
                format!(
                    "Rules open to 0.0.0.0/0 or ::/0: {}.",
                    exposing.iter().map(|e| e.rule.to_string()).collect::<Vec<_>>().join("; ")
                ),
                "Allow administrative and data ports only from known CIDRs (close-open-ports does this automatically).",
            ));
        }
    }
    if let Ok(alarms) = &facts.alarms {
        evaluated.extend([Check::BillingAlarm, Check::NetworkOutAlarm]);
        let watches =
            |metrics: &[&str]| alarms.iter().any(|a| a.metric_names.iter().any(|m| metrics.contains(&m.as_str())));
        if !watches(&["EstimatedCharges"]) {
            gaps.push(Gap::new(
                facts,
                Check::BillingAlarm,
                account_resource(facts),
                "MEDIUM",
                "No billing alarm (EstimatedCharges)".into(),
                format!("No CloudWatch alarm on AWS/Billing EstimatedCharges in {}: a hijacked account runs up costs unseen.", facts.region),
                "Create a CloudWatch alarm on EstimatedCharges (billing metrics live in us-east-1).",
            ));
        }
        if !watches(&["NetworkOut", "NetworkPacketsOut"]) {
            gaps.push(Gap::new(
                facts,
                Check::NetworkOutAlarm,
                account_resource(facts),
                "MEDIUM",
                "No outbound-traffic alarm (NetworkOut)".into(),
                format!("No CloudWatch alarm on EC2 NetworkOut or NetworkPacketsOut in {}: an instance used as a DoS relay goes unnoticed.", facts.region),
                "Create a CloudWatch alarm on NetworkOut (per instance or Auto Scaling group) and route it to abuse-report.",
            ));
        }
    }
    (gaps, evaluated)
}

fn product_arn(account_id: &str, region: &str) -> String {
    format!("arn:aws:securityhub:{region}:{account_id}:product/{account_id}/default")
}

fn severity_label(label: &str) -> SeverityLabel {
    SeverityLabel::from(label)
}

/// The ASFF finding for a gap. `created_at` is the first import's, kept on every update.
pub fn gap_finding(gap: &Gap, account_id: &str, region: &str, created_at: &str, now: &str) -> AwsSecurityFinding {
    AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(&gap.finding_id)
        .product_arn(product_arn(account_id, region))
        .generator_id(format!("{GENERATOR_PREFIX}{}", gap.check.slug()))
        .aws_account_id(account_id)
        .types("Software and Configuration Checks/AWS Security Best Practices")
        .created_at(created_at)
        .updated_at(now)
        .severity(Severity::builder().label(severity_label(gap.severity)).build())
        .title(truncate(&gap.title, 256))
        .description(truncate(&gap.description, 1024))
        .remediation(
            Remediation::builder().recommendation(Recommendation::builder().text(&gap.recommendation).build()).build(),
        )
        .resources(
            Resource::builder()
                .r#type(gap.resource_type)
                .id(&gap.resource_id)
                .partition(Partition::Aws)
                .region(region)
                .build(),
        )
        .compliance(Compliance::builder().status(ComplianceStatus::Failed).build())
        .workflow(Workflow::builder().status(WorkflowStatus::New).build())
        .record_state(RecordState::Active)
        .product_fields("firebreak/check", gap.check.slug())
        .build()
}

/// The update that closes a finding whose gap is gone: the same finding, ARCHIVED, PASSED, RESOLVED.
pub fn resolved_finding(previous: &AwsSecurityFinding, now: &str) -> AwsSecurityFinding {
    AwsSecurityFinding::builder()
        .set_schema_version(previous.schema_version().map(str::to_string))
        .set_id(previous.id().map(str::to_string))
        .set_product_arn(previous.product_arn().map(str::to_string))
        .set_generator_id(previous.generator_id().map(str::to_string))
        .set_aws_account_id(previous.aws_account_id().map(str::to_string))
        .set_types(Some(previous.types().to_vec()))
        .set_created_at(previous.created_at().map(str::to_string))
        .updated_at(now)
        .set_severity(previous.severity().cloned())
        .set_title(previous.title().map(str::to_string))
        .set_description(previous.description().map(str::to_string))
        .set_resources(Some(previous.resources().to_vec()))
        .set_product_fields(previous.product_fields().cloned())
        .compliance(Compliance::builder().status(ComplianceStatus::Passed).build())
        .workflow(Workflow::builder().status(WorkflowStatus::Resolved).build())
        .record_state(RecordState::Archived)
        .build()
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[derive(Debug, Error)]
pub enum PostureError {
    #[error(transparent)]
    Event(#[from] EventError),
}

impl From<PostureError> for crate::engine::FunctionError {
    fn from(error: PostureError) -> Self {
        match error {
            PostureError::Event(e) => e.into(),
        }
    }
}

/// The run's report: the steps (one per check, then the imports), every gap and every finding resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostureReport {
    #[serde(flatten)]
    pub report: Report,
    pub gaps: Vec<Gap>,
    pub resolved: Vec<String>,
}

impl PostureReport {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self)
            .unwrap_or_else(|e| serde_json::json!({ "error": format!("report not serialisable: {e}") }))
    }
}

fn secs(date: &aws_sdk_iam::primitives::DateTime) -> i64 {
    date.secs()
}

/// Reads every fact the checks need, concurrently; each read fails on its own.
pub async fn observe(clients: &Clients, account_id: &str, region: &str) -> PostureFacts {
    // Boxed: six SDK futures side by side overflow a 2 MiB thread stack in debug builds.
    let (guardduty_enabled, logging_multi_region_trail, root, users, groups, alarms) = tokio::join!(
        Box::pin(guardduty_enabled(&clients.guardduty)),
        Box::pin(logging_multi_region_trail(&clients.cloudtrail)),
        Box::pin(root_summary(&clients.iam)),
        Box::pin(users(&clients.iam)),
        Box::pin(ports::read_groups(&clients.ec2, None)),
        Box::pin(alarms(&clients.cloudwatch)),
    );
    PostureFacts {
        account_id: account_id.to_string(),
        region: region.to_string(),
        guardduty_enabled,
        logging_multi_region_trail,
        root,
        users,
        groups,
        alarms,
    }
}

async fn guardduty_enabled(guardduty: &aws_sdk_guardduty::Client) -> Result<bool, AwsError> {
    let mut detectors = Vec::new();
    let mut pages = guardduty.list_detectors().into_paginator().send();
    while let Some(page) = pages.next().await {
        detectors.extend(page.aws("ListDetectors")?.detector_ids().iter().cloned());
    }
    for detector_id in detectors {
        let detector = guardduty.get_detector().detector_id(detector_id).send().await.aws("GetDetector")?;
        if detector.status() == Some(&aws_sdk_guardduty::types::DetectorStatus::Enabled) {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn logging_multi_region_trail(cloudtrail: &aws_sdk_cloudtrail::Client) -> Result<Option<String>, AwsError> {
    let trails = cloudtrail.describe_trails().include_shadow_trails(true).send().await.aws("DescribeTrails")?;
    for trail in trails.trail_list().iter().filter(|t| t.is_multi_region_trail() == Some(true)) {
        let Some(arn) = trail.trail_arn().or(trail.name()) else { continue };
        let status = cloudtrail.get_trail_status().name(arn).send().await.aws("GetTrailStatus")?;
        if status.is_logging() == Some(true) {
            return Ok(Some(arn.to_string()));
        }
    }
    Ok(None)
}

async fn root_summary(iam: &aws_sdk_iam::Client) -> Result<(bool, bool), AwsError> {
    use aws_sdk_iam::types::SummaryKeyType;
    let summary = iam.get_account_summary().send().await.aws("GetAccountSummary")?;
    let map = summary.summary_map().cloned().unwrap_or_default();
    let value = |key: SummaryKeyType| map.get(&key).copied().unwrap_or(0);
    Ok((value(SummaryKeyType::AccountMfaEnabled) > 0, value(SummaryKeyType::AccountAccessKeysPresent) > 0))
}

async fn users(iam: &aws_sdk_iam::Client) -> Result<Vec<UserFacts>, AwsError> {
    let mut listed = Vec::new();
    let mut pages = iam.list_users().into_paginator().send();
    while let Some(page) = pages.next().await {
        listed.extend(page.aws("ListUsers")?.users().iter().cloned());
    }
    let mut users = Vec::new();
    for user in listed {
        let name = user.user_name().to_string();
        let (login, mfa, keys) = tokio::join!(
            iam.get_login_profile().user_name(&name).send(),
            iam.list_mfa_devices().user_name(&name).send(),
            iam.list_access_keys().user_name(&name).send(),
        );
        let console_access = match login.aws("GetLoginProfile") {
            Ok(_) => true,
            Err(e) if e.is_code("NoSuchEntity") => false,
            Err(e) => return Err(e),
        };
        let mfa_devices = mfa.aws("ListMFADevices")?.mfa_devices().len();
        let mut access_keys = Vec::new();
        for key in keys.aws("ListAccessKeys")?.access_key_metadata() {
            let Some(id) = key.access_key_id() else { continue };
            let last_used =
                iam.get_access_key_last_used().access_key_id(id).send().await.aws("GetAccessKeyLastUsed")?;
            access_keys.push(AccessKeyFacts {
                access_key_id: id.to_string(),
                active: key.status() == Some(&aws_sdk_iam::types::StatusType::Active),
                created: key.create_date().map(secs).unwrap_or(0),
                last_used: last_used.access_key_last_used().and_then(|u| u.last_used_date()).map(secs),
            });
        }
        users.push(UserFacts {
            user_name: name,
            arn: user.arn().to_string(),
            console_access,
            mfa_devices,
            access_keys,
        });
    }
    Ok(users)
}

async fn alarms(cloudwatch: &aws_sdk_cloudwatch::Client) -> Result<Vec<AlarmFacts>, AwsError> {
    let mut alarms = Vec::new();
    let mut pages = cloudwatch.describe_alarms().into_paginator().send();
    while let Some(page) = pages.next().await {
        for alarm in page.aws("DescribeAlarms")?.metric_alarms() {
            // A metric-math alarm names its metrics in `metrics[]` rather than `metricName`.
            let mut metric_names: Vec<String> = alarm.metric_name().map(str::to_string).into_iter().collect();
            metric_names.extend(
                alarm.metrics().iter().filter_map(|m| m.metric_stat()?.metric()?.metric_name().map(str::to_string)),
            );
            alarms.push(AlarmFacts {
                alarm_name: alarm.alarm_name().unwrap_or_default().to_string(),
                namespace: alarm.namespace().map(str::to_string),
                metric_names,
            });
        }
    }
    Ok(alarms)
}

/// The ACTIVE findings this function imported earlier in this account, by id. moto ignores
/// GetFindings filters, so the same conditions are checked again on what comes back.
async fn previous_findings(
    securityhub: &aws_sdk_securityhub::Client,
    account_id: &str,
) -> Result<BTreeMap<String, AwsSecurityFinding>, AwsError> {
    let filters = AwsSecurityFindingFilters::builder()
        .generator_id(
            StringFilter::builder().value(GENERATOR_PREFIX).comparison(StringFilterComparison::Prefix).build(),
        )
        .aws_account_id(StringFilter::builder().value(account_id).comparison(StringFilterComparison::Equals).build())
        .record_state(StringFilter::builder().value("ACTIVE").comparison(StringFilterComparison::Equals).build())
        .build();
    let mut found = BTreeMap::new();
    let mut securityhub_pages = securityhub.get_findings().filters(filters).max_results(100).into_paginator().send();
    while let Some(securityhub_page) = securityhub_pages.next().await {
        for finding in securityhub_page.aws("GetFindings")?.findings() {
            let ours = finding.generator_id().is_some_and(|g| g.starts_with(GENERATOR_PREFIX))
                && finding.aws_account_id() == Some(account_id)
                && finding.record_state() == Some(&RecordState::Active);
            if let (true, Some(id)) = (ours, finding.id()) {
                found.insert(id.to_string(), finding.clone());
            }
        }
    }
    Ok(found)
}

async fn import(
    securityhub: &aws_sdk_securityhub::Client,
    findings: Vec<AwsSecurityFinding>,
) -> Result<usize, AwsError> {
    let mut imported = 0;
    for chunk in findings.chunks(FINDINGS_PER_IMPORT) {
        let response = securityhub
            .batch_import_findings()
            .set_findings(Some(chunk.to_vec()))
            .send()
            .await
            .aws("BatchImportFindings")?;
        if let Some(failed) = response.failed_findings().first() {
            return Err(AwsError {
                action: "BatchImportFindings",
                code: failed.error_code().unwrap_or("Failed").to_string(),
                message: format!(
                    "{} of {} findings refused; first {}: {}",
                    response.failed_count().unwrap_or(0),
                    chunk.len(),
                    failed.id().unwrap_or_default(),
                    failed.error_message().unwrap_or_default()
                ),
            });
        }
        imported += chunk.len();
    }
    Ok(imported)
}

/// Runs the audit for a scheduled event: observe, evaluate, import the gaps, resolve the closed ones.
pub async fn audit_posture(
    clients: &Clients,
    config: &PostureConfig,
    event: &ScheduledEvent,
    deadline: Deadline,
) -> Result<PostureReport, PostureError> {
    let clock = Instant::now();
    let started = SystemTime::now();
    let now = timestamp(started);
    let now_secs = started.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let signal = Signal {
        source: crate::events::schedule::SOURCE.into(),
        kind: crate::events::schedule::DETAIL_TYPE.into(),
        id: event.id.clone(),
        account: event.account_id.clone(),
        region: event.region.clone(),
        time: None,
    };
    let resource = format!("account {} in {}", event.account_id, event.region);
    let mut report = Report::new(FUNCTION, signal, resource, config.dry_run);
    report.outcome = Outcome::Completed;
    let Some(facts) = deadline.run(Box::pin(observe(clients, &event.account_id, &event.region))).await else {
        report.outcome = Outcome::CompletedWithErrors;
        report.reason = Some(
            "cut off at the Lambda deadline while reading the account: nothing imported; the next run starts over"
                .into(),
        );
        report.duration_ms = millis(clock.elapsed());
        return Ok(PostureReport { report, gaps: Vec::new(), resolved: Vec::new() });
    };
    let (gaps, evaluated) = evaluate(&facts, config, now_secs);
    let read_errors: BTreeMap<Check, AwsError> = [
        (vec![Check::GuarddutyEnabled], facts.guardduty_enabled.as_ref().err()),
        (vec![Check::MultiRegionTrailLogging], facts.logging_multi_region_trail.as_ref().err()),
        (vec![Check::RootMfa, Check::RootAccessKeys], facts.root.as_ref().err()),
        (vec![Check::ConsoleUserMfa, Check::AccessKeyAge, Check::AccessKeyUnused], facts.users.as_ref().err()),
        (vec![Check::SecurityGroupOpen], facts.groups.as_ref().err()),
        (vec![Check::BillingAlarm, Check::NetworkOutAlarm], facts.alarms.as_ref().err()),
    ]
    .into_iter()
    .filter_map(|(checks, err)| Some((checks, err?.clone())))
    .flat_map(|(checks, err)| checks.into_iter().map(move |c| (c, err.clone())))
    .collect();
    let mut failed = false;
    for check in Check::ALL {
        let found: Vec<&Gap> = gaps.iter().filter(|g| g.check == check).collect();
        let (outcome, detail) = match read_errors.get(&check) {
            Some(err) => {
                failed = true;
                (StepOutcome::Failed, format!("could not check: {err}"))
            }
            None if found.is_empty() => (StepOutcome::Done, "ok: no gap".to_string()),
            None => (
                StepOutcome::Done,
                format!(
                    "{} gap(s): {}",
                    found.len(),
                    found.iter().map(|g| g.title.as_str()).collect::<Vec<_>>().join("; ")
                ),
            ),
        };
        report.steps.push(StepReport {
            step: check.slug(),
            resource: report.resource.clone(),
            outcome,
            detail,
            duration_ms: 0,
            retries: Vec::new(),
            containment: false,
        });
    }

    let mut resolved = Vec::new();
    let step_clock = Instant::now();
    let previous = match previous_findings(&clients.securityhub, &event.account_id).await {
        Ok(previous) => Some(previous),
        Err(e) => {
            failed = true;
            report.steps.push(StepReport {
                step: "read_previous_findings",
                resource: "securityhub".into(),
                outcome: StepOutcome::Failed,
                detail: e.to_string(),
                duration_ms: millis(step_clock.elapsed()),
                retries: Vec::new(),
                containment: false,
            });
            None
        }
    };
    let current: BTreeSet<&str> = gaps.iter().map(|g| g.finding_id.as_str()).collect();
    let mut findings: Vec<AwsSecurityFinding> = gaps
        .iter()
        .map(|gap| {
            let created = previous
                .as_ref()
                .and_then(|p| p.get(&gap.finding_id))
                .and_then(|f| f.created_at())
                .unwrap_or(now.as_str());
            gap_finding(gap, &event.account_id, &event.region, created, &now)
        })
        .collect();
    let gap_count = findings.len();
    // Only a check that ran can say its gap closed, and only findings of this region are ours to close.
    for (id, finding) in previous.iter().flatten() {
        let check = finding.generator_id().and_then(Check::from_generator_id);
        let same_region = id.starts_with(&format!("firebreak/audit-posture/{}/{}/", event.account_id, event.region));
        if !current.contains(id.as_str()) && same_region && check.is_some_and(|c| evaluated.contains(&c)) {
            findings.push(resolved_finding(finding, &now));
            resolved.push(id.clone());
        }
    }
    let step_clock = Instant::now();
    let (outcome, detail) = if config.dry_run {
        (StepOutcome::Planned, format!("would import {gap_count} gap finding(s) and resolve {}", resolved.len()))
    } else if findings.is_empty() {
        (StepOutcome::Skipped, "no gap and nothing to resolve".into())
    } else {
        match deadline.run(import(&clients.securityhub, findings)).await {
            Some(Ok(n)) => {
                (StepOutcome::Done, format!("imported {n} finding(s): {gap_count} gap(s), {} resolved", resolved.len()))
            }
            Some(Err(e)) => {
                failed = true;
                (StepOutcome::Failed, e.to_string())
            }
            None => {
                failed = true;
                (StepOutcome::Failed, "cut off at the Lambda deadline; the next run imports again".into())
            }
        }
    };
    report.steps.push(StepReport {
        step: "import_findings",
        resource: "securityhub".into(),
        outcome,
        detail,
        duration_ms: millis(step_clock.elapsed()),
        retries: Vec::new(),
        containment: false,
    });
    for step in &report.steps {
        report::log_step(&event.account_id, &event.id, step);
    }
    report.outcome = if config.dry_run {
        Outcome::Planned
    } else if failed {
        Outcome::CompletedWithErrors
    } else {
        Outcome::Completed
    };
    report.reason = Some(format!("{} gap(s), {} resolved", gaps.len(), resolved.len()));
    report.duration_ms = millis(clock.elapsed());
    Ok(PostureReport { report, gaps, resolved })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::IngressRule;

    const NOW: i64 = 1_800_000_000;

    fn clean() -> PostureFacts {
        PostureFacts {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            guardduty_enabled: Ok(true),
            logging_multi_region_trail: Ok(Some("arn:aws:cloudtrail:us-east-1:123456789012:trail/org".into())),
            root: Ok((true, false)),
            users: Ok(vec![]),
            groups: Ok(vec![]),
            alarms: Ok(vec![
                AlarmFacts {
                    alarm_name: "billing".into(),
                    namespace: Some("AWS/Billing".into()),
                    metric_names: vec!["EstimatedCharges".into()],
                },
                AlarmFacts {
                    alarm_name: "egress".into(),
                    namespace: Some("AWS/EC2".into()),
                    metric_names: vec!["NetworkOut".into()],
                },
            ]),
        }
    }

    fn checks(gaps: &[Gap]) -> Vec<Check> {
        gaps.iter().map(|g| g.check).collect()
    }

    #[test]
    fn a_hardened_account_has_no_gap_and_every_check_is_evaluated() {
        let (gaps, evaluated) = evaluate(&clean(), &PostureConfig::default(), NOW);
        assert!(gaps.is_empty(), "{gaps:#?}");
        assert_eq!(evaluated.len(), Check::ALL.len());
    }

    #[test]
    fn every_gap_of_the_incident_account_is_found() {
        let mut facts = clean();
        facts.guardduty_enabled = Ok(false);
        facts.logging_multi_region_trail = Ok(None);
        facts.root = Ok((false, true));
        facts.alarms = Ok(vec![]);
        facts.users = Ok(vec![UserFacts {
            user_name: "dev".into(),
            arn: "arn:aws:iam::123456789012:user/dev".into(),
            console_access: true,
            mfa_devices: 0,
            access_keys: vec![
                AccessKeyFacts {
                    access_key_id: "AKIAOLD".into(),
                    active: true,
                    created: NOW - 400 * DAY,
                    last_used: Some(NOW - DAY),
                },
                AccessKeyFacts {
                    access_key_id: "AKIAIDLE".into(),
                    active: true,
                    created: NOW - 10 * DAY,
                    last_used: None,
                },
                AccessKeyFacts {
                    access_key_id: "AKIAOFF".into(),
                    active: false,
                    created: NOW - 900 * DAY,
                    last_used: None,
                },
            ],
        }]);
        facts.groups = Ok(vec![
            GroupFacts {
                group_id: "sg-0123456789abcdef0".into(),
                group_name: "web-ssh-open".into(),
                vpc_id: None,
                tags: BTreeMap::new(),
                ingress: vec![IngressRule {
                    rule_id: "sgr-1".into(),
                    protocol: "tcp".into(),
                    from_port: 22,
                    to_port: 22,
                    cidr: Some("0.0.0.0/0".into()),
                }],
            },
            GroupFacts {
                group_id: "sg-0fedcba9876543210".into(),
                group_name: "firebreak-isolation-untracking".into(),
                vpc_id: None,
                tags: [(tags::ROLE.to_string(), tags::ROLE_UNTRACKING.to_string())].into(),
                ingress: vec![IngressRule {
                    rule_id: "sgr-2".into(),
                    protocol: "-1".into(),
                    from_port: -1,
                    to_port: -1,
                    cidr: Some("0.0.0.0/0".into()),
                }],
            },
        ]);
        let config = PostureConfig { access_key_unused_days: 5, ..PostureConfig::default() };
        let (gaps, _) = evaluate(&facts, &config, NOW);
        let mut found = checks(&gaps);
        found.sort();
        assert_eq!(found, Check::ALL.to_vec(), "{gaps:#?}");
        let key_gap = |check| gaps.iter().find(|g| g.check == check).unwrap().resource_id.clone();
        assert_eq!(key_gap(Check::AccessKeyAge), "AKIAOLD");
        assert_eq!(key_gap(Check::AccessKeyUnused), "AKIAIDLE");
        assert_eq!(key_gap(Check::SecurityGroupOpen), "sg-0123456789abcdef0", "Firebreak's own group is not a gap");
    }

    #[test]
    fn a_check_that_could_not_be_read_reports_nothing_and_is_not_evaluated() {
        let mut facts = clean();
        facts.guardduty_enabled =
            Err(AwsError { action: "ListDetectors", code: "AccessDenied".into(), message: "no".into() });
        let (gaps, evaluated) = evaluate(&facts, &PostureConfig::default(), NOW);
        assert!(gaps.is_empty());
        assert!(!evaluated.contains(&Check::GuarddutyEnabled));
    }

    #[test]
    fn finding_ids_are_deterministic_and_findings_carry_the_asff_fields() {
        let mut facts = clean();
        facts.guardduty_enabled = Ok(false);
        let (first, _) = evaluate(&facts, &PostureConfig::default(), NOW);
        let (second, _) = evaluate(&facts, &PostureConfig::default(), NOW + DAY);
        assert_eq!(first[0].finding_id, second[0].finding_id);
        assert_eq!(
            first[0].finding_id,
            "firebreak/audit-posture/123456789012/us-east-1/guardduty-enabled/AWS::::Account:123456789012"
        );
        let finding =
            gap_finding(&first[0], "123456789012", "us-east-1", "2026-11-01T00:00:00Z", "2026-11-24T06:00:00Z");
        assert_eq!(finding.generator_id(), Some("firebreak-audit-posture/guardduty-enabled"));
        assert_eq!(
            finding.product_arn(),
            Some("arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default")
        );
        assert_eq!(finding.created_at(), Some("2026-11-01T00:00:00Z"));
        assert_eq!(finding.record_state(), Some(&RecordState::Active));
        assert_eq!(finding.compliance().and_then(|c| c.status()), Some(&ComplianceStatus::Failed));
        assert_eq!(finding.severity().and_then(|s| s.label()), Some(&SeverityLabel::High));
        assert_eq!(Check::from_generator_id(finding.generator_id().unwrap()), Some(Check::GuarddutyEnabled));

        let closed = resolved_finding(&finding, "2026-11-25T06:00:00Z");
        assert_eq!(closed.id(), finding.id());
        assert_eq!(closed.created_at(), finding.created_at());
        assert_eq!(closed.record_state(), Some(&RecordState::Archived));
        assert_eq!(closed.compliance().and_then(|c| c.status()), Some(&ComplianceStatus::Passed));
        assert_eq!(closed.workflow().and_then(|w| w.status()), Some(&WorkflowStatus::Resolved));
    }

    #[test]
    fn configuration_is_read_and_validated() {
        let vars = |pairs: &[(&str, &str)]| {
            let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            PostureConfig::from_lookup(move |name| map.get(name).cloned())
        };
        assert_eq!(vars(&[]).unwrap(), PostureConfig::default());
        let config =
            vars(&[(ACCESS_KEY_MAX_AGE_DAYS, "30"), (ACCESS_KEY_UNUSED_DAYS, "0"), (ports::ADMIN_PORTS, "22")])
                .unwrap();
        assert_eq!((config.access_key_max_age_days, config.access_key_unused_days), (30, 0));
        assert_eq!(config.admin_ports, vec![22]);
        assert!(vars(&[(ACCESS_KEY_MAX_AGE_DAYS, "-1")]).is_err());
        assert!(vars(&[(config::DRY_RUN, "perhaps")]).is_err());
    }
}
