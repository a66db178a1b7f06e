//! Facts → gaps, check by check, without AWS. A check whose facts could not be read decides
//! nothing: an AccessDenied is neither a gap nor a fix.

use std::collections::BTreeSet;

use serde::Serialize;

use super::checks::{finding_id, Check};
use super::config::PostureConfig;
use super::observe::{AlarmFacts, PostureFacts, UserFacts};
use crate::aws::AwsError;
use crate::engine::triage;
use crate::exposure::{exposing_rules, GroupFacts};
use crate::tags;

const DAY: i64 = 24 * 60 * 60;

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

/// What every gap of one run shares.
struct Audit<'a> {
    facts: &'a PostureFacts,
    config: &'a PostureConfig,
    now: i64,
}

impl Audit<'_> {
    fn gap(
        &self,
        check: Check,
        resource: (&'static str, String),
        severity: &'static str,
        title: String,
        description: String,
        recommendation: &str,
    ) -> Gap {
        let (resource_type, resource_id) = resource;
        Gap {
            finding_id: finding_id(&self.facts.account_id, &self.facts.region, check, &resource_id),
            check,
            resource_type,
            resource_id,
            severity,
            title,
            description,
            recommendation: recommendation.to_string(),
        }
    }

    fn account(&self) -> (&'static str, String) {
        ("AwsAccount", format!("AWS::::Account:{}", self.facts.account_id))
    }
}

/// The gaps in the facts, and the checks that could be evaluated. Pure.
pub fn evaluate(facts: &PostureFacts, config: &PostureConfig, now: i64) -> (Vec<Gap>, BTreeSet<Check>) {
    let mut gaps = Vec::new();
    let mut evaluated = BTreeSet::new();
    for check in Check::ALL {
        if let Ok(found) = gaps_of(check, facts, config, now) {
            evaluated.insert(check);
            gaps.extend(found);
        }
    }
    (gaps, evaluated)
}

/// One check's gaps, or why its facts could not be read.
pub fn gaps_of<'f>(
    check: Check,
    facts: &'f PostureFacts,
    config: &PostureConfig,
    now: i64,
) -> Result<Vec<Gap>, &'f AwsError> {
    let audit = Audit { facts, config, now };
    Ok(match check {
        Check::GuarddutyEnabled => guardduty(&audit, *facts.guardduty_enabled.as_ref()?).into_iter().collect(),
        Check::MultiRegionTrailLogging => {
            trail(&audit, facts.logging_multi_region_trail.as_ref()?.as_deref()).into_iter().collect()
        }
        Check::RootMfa => root_mfa(&audit, facts.root.as_ref()?.account_mfa_enabled).into_iter().collect(),
        Check::RootAccessKeys => {
            root_keys(&audit, facts.root.as_ref()?.account_access_keys_present).into_iter().collect()
        }
        Check::ConsoleUserMfa => facts.users.as_ref()?.iter().filter_map(|u| console_mfa(&audit, u)).collect(),
        Check::AccessKeyAge => facts.users.as_ref()?.iter().flat_map(|u| key_age(&audit, u)).collect(),
        Check::AccessKeyUnused => facts.users.as_ref()?.iter().flat_map(|u| key_unused(&audit, u)).collect(),
        Check::SecurityGroupOpen => facts.groups.as_ref()?.iter().filter_map(|g| open_group(&audit, g)).collect(),
        Check::BillingAlarm => billing_alarm(&audit, facts.alarms.as_ref()?).into_iter().collect(),
        Check::NetworkOutAlarm => network_out_alarm(&audit, facts.alarms.as_ref()?).into_iter().collect(),
    })
}

fn guardduty(audit: &Audit, enabled: bool) -> Option<Gap> {
    (!enabled).then(|| audit.gap(
        Check::GuarddutyEnabled,
        audit.account(),
        "HIGH",
        format!("GuardDuty is not enabled in {}", audit.facts.region),
        "No enabled GuardDuty detector in this region: a compromised instance raises no finding, and nothing triggers containment.".into(),
        "Enable GuardDuty in every region you use (aws guardduty create-detector --enable).",
    ))
}

fn trail(audit: &Audit, logging: Option<&str>) -> Option<Gap> {
    logging.is_none().then(|| audit.gap(
        Check::MultiRegionTrailLogging,
        audit.account(),
        "HIGH",
        "No multi-region CloudTrail trail is logging".into(),
        "Without a logging multi-region trail, API calls in other regions (where an attacker starts instances) leave no record.".into(),
        "Create a multi-region trail (aws cloudtrail create-trail --is-multi-region-trail) and start logging.",
    ))
}

fn root_mfa(audit: &Audit, mfa_enabled: bool) -> Option<Gap> {
    (!mfa_enabled).then(|| {
        audit.gap(
            Check::RootMfa,
            audit.account(),
            "CRITICAL",
            "The root user has no MFA".into(),
            "GetAccountSummary reports AccountMFAEnabled = 0: the root password alone opens the whole account.".into(),
            "Enable an MFA device on the root user.",
        )
    })
}

fn root_keys(audit: &Audit, keys_present: bool) -> Option<Gap> {
    keys_present.then(|| audit.gap(
        Check::RootAccessKeys,
        audit.account(),
        "CRITICAL",
        "The root user has access keys".into(),
        "GetAccountSummary reports AccountAccessKeysPresent = 1: a leaked root key cannot be restricted by any policy.".into(),
        "Delete the root user's access keys; use IAM roles instead.",
    ))
}

fn console_mfa(audit: &Audit, user: &UserFacts) -> Option<Gap> {
    (user.console_access && user.mfa_devices == 0).then(|| {
        audit.gap(
            Check::ConsoleUserMfa,
            ("AwsIamUser", user.arn.clone()),
            "HIGH",
            format!("IAM user {} can sign in to the console without MFA", user.user_name),
            format!("{} has a console password (login profile) and no MFA device.", user.user_name),
            "Require MFA for the user, or remove the console password if it is not needed.",
        )
    })
}

fn key_age(audit: &Audit, user: &UserFacts) -> Vec<Gap> {
    let limit = audit.config.access_key_max_age_days;
    user.access_keys
        .iter()
        .filter(|k| k.active && audit.now - k.created >= i64::from(limit) * DAY)
        .map(|key| {
            let age_days = (audit.now - key.created) / DAY;
            audit.gap(
                Check::AccessKeyAge,
                ("AwsIamAccessKey", key.access_key_id.clone()),
                "MEDIUM",
                format!("Access key {} of {} is {age_days} days old", key.access_key_id, user.user_name),
                format!("The active key was created {age_days} days ago; the limit is {limit} days."),
                "Rotate the key: create a new one, move its users to it, deactivate and delete the old one.",
            )
        })
        .collect()
}

fn key_unused(audit: &Audit, user: &UserFacts) -> Vec<Gap> {
    let limit = audit.config.access_key_unused_days;
    user.access_keys
        .iter()
        .filter(|k| k.active && audit.now - k.last_used.unwrap_or(k.created) >= i64::from(limit) * DAY)
        .map(|key| {
            let used = match key.last_used {
                Some(at) => format!("last used {} days ago", (audit.now - at) / DAY),
                None => "never used".to_string(),
            };
            audit.gap(
                Check::AccessKeyUnused,
                ("AwsIamAccessKey", key.access_key_id.clone()),
                "MEDIUM",
                format!("Access key {} of {} is unused ({used})", key.access_key_id, user.user_name),
                format!("The active key is {used}; keys unused for {limit} days should not exist."),
                "Deactivate and delete keys nobody uses.",
            )
        })
        .collect()
}

/// A group exposing admin ports to the internet. Firebreak's own untracking group is open to
/// everything by design (and never holds an instance for long): not a gap. A group carrying the
/// exemption tag is still one (auditing touches nothing), and its finding says that
/// close-open-ports leaves it alone.
fn open_group(audit: &Audit, group: &GroupFacts) -> Option<Gap> {
    if group.tags.contains_key(tags::ROLE) {
        return None;
    }
    let exposing = exposing_rules(&group.ingress, &audit.config.admin_ports);
    if exposing.is_empty() {
        return None;
    }
    let mut exposed: Vec<u16> = exposing.iter().flat_map(|e| e.exposed_ports.iter().copied()).collect();
    exposed.sort_unstable();
    exposed.dedup();
    let list = exposed.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
    let rules = exposing.iter().map(|e| e.rule.to_string()).collect::<Vec<_>>().join("; ");
    let (description, recommendation) = match triage::exempt(&audit.config.common, &group.group_id, &group.tags) {
        None => (
            format!("Rules open to 0.0.0.0/0 or ::/0: {rules}."),
            "Allow administrative and data ports only from known CIDRs (close-open-ports does this automatically).",
        ),
        Some(exempt) => (
            format!("Rules open to 0.0.0.0/0 or ::/0: {rules}. {exempt}: close-open-ports leaves it alone."),
            "Allow administrative and data ports only from known CIDRs, by hand: the group is exempt from close-open-ports.",
        ),
    };
    Some(audit.gap(
        Check::SecurityGroupOpen,
        ("AwsEc2SecurityGroup", group.group_id.clone()),
        "HIGH",
        format!("Security group {} ({}) is open to the internet on port(s) {list}", group.group_id, group.group_name),
        description,
        recommendation,
    ))
}

fn watches(alarms: &[AlarmFacts], metrics: &[&str]) -> bool {
    alarms.iter().any(|a| a.metric_names.iter().any(|m| metrics.contains(&m.as_str())))
}

fn billing_alarm(audit: &Audit, alarms: &[AlarmFacts]) -> Option<Gap> {
    (!watches(alarms, &["EstimatedCharges"])).then(|| {
        audit.gap(
            Check::BillingAlarm,
            audit.account(),
            "MEDIUM",
            "No billing alarm (EstimatedCharges)".into(),
            format!(
                "No CloudWatch alarm on AWS/Billing EstimatedCharges in {}: a hijacked account runs up costs unseen.",
                audit.facts.region
            ),
            "Create a CloudWatch alarm on EstimatedCharges (billing metrics live in us-east-1).",
        )
    })
}

fn network_out_alarm(audit: &Audit, alarms: &[AlarmFacts]) -> Option<Gap> {
    (!watches(alarms, &["NetworkOut", "NetworkPacketsOut"])).then(|| audit.gap(
        Check::NetworkOutAlarm,
        audit.account(),
        "MEDIUM",
        "No outbound-traffic alarm (NetworkOut)".into(),
        format!("No CloudWatch alarm on EC2 NetworkOut or NetworkPacketsOut in {}: an instance used as a DoS relay goes unnoticed.", audit.facts.region),
        "Create a CloudWatch alarm on NetworkOut (per instance or Auto Scaling group) and route it to abuse-report.",
    ))
}

#[cfg(test)]
pub mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::exposure::IngressRule;
    use crate::posture::observe::{AccessKeyFacts, AccountSummary};

    pub const NOW: i64 = 1_800_000_000;

    pub fn clean() -> PostureFacts {
        PostureFacts {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            guardduty_enabled: Ok(true),
            logging_multi_region_trail: Ok(Some("arn:aws:cloudtrail:us-east-1:123456789012:trail/org".into())),
            root: Ok(AccountSummary { account_mfa_enabled: true, account_access_keys_present: false }),
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

    fn ssh_open(group_id: &str, tags: BTreeMap<String, String>) -> GroupFacts {
        GroupFacts {
            group_id: group_id.into(),
            group_name: "web-ssh-open".into(),
            vpc_id: None,
            tags,
            ingress: vec![IngressRule {
                rule_id: "sgr-1".into(),
                protocol: "tcp".into(),
                from_port: 22,
                to_port: 22,
                cidr: Some("0.0.0.0/0".into()),
            }],
        }
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
        facts.root = Ok(AccountSummary { account_mfa_enabled: false, account_access_keys_present: true });
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
        let mut untracking =
            ssh_open("sg-0fedcba9876543210", [(tags::ROLE.to_string(), tags::ROLE_UNTRACKING.to_string())].into());
        untracking.group_name = "firebreak-isolation-untracking".into();
        untracking.ingress[0].protocol = "-1".into();
        facts.groups = Ok(vec![ssh_open("sg-0123456789abcdef0", BTreeMap::new()), untracking]);
        let config = PostureConfig { access_key_unused_days: 5, ..PostureConfig::default() };
        let (gaps, _) = evaluate(&facts, &config, NOW);
        let mut found: Vec<Check> = gaps.iter().map(|g| g.check).collect();
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
        let config = PostureConfig::default();
        assert!(gaps_of(Check::GuarddutyEnabled, &facts, &config, NOW).is_err_and(|e| e.code == "AccessDenied"));
        let unread = PostureFacts::unread("123456789012", "us-east-1");
        assert!(evaluate(&unread, &PostureConfig::default(), NOW).1.is_empty(), "nothing read, nothing decided");
    }

    #[test]
    fn an_exempt_group_is_still_reported_and_its_finding_says_it_is_left_alone() {
        let config = PostureConfig::default();
        let exempt_tags: BTreeMap<String, String> = [(config.common.exempt_tag_key.clone(), String::new())].into();
        let mut facts = clean();
        facts.groups = Ok(vec![ssh_open("sg-1", BTreeMap::new()), ssh_open("sg-2", exempt_tags)]);
        let (gaps, _) = evaluate(&facts, &config, NOW);
        assert_eq!(gaps.iter().map(|g| g.resource_id.as_str()).collect::<Vec<_>>(), ["sg-1", "sg-2"]);
        assert!(gaps[0].recommendation.contains("does this automatically"), "{:#?}", gaps[0]);
        assert!(gaps[1].description.contains("sg-2 carries the exemption tag firebreak:exempt"), "{:#?}", gaps[1]);
        assert!(gaps[1].recommendation.contains("exempt from close-open-ports"), "{:#?}", gaps[1]);
    }
}
