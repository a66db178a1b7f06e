//! Deciding, apart from doing: the groups read and the configuration become a [`PortsDecision`],
//! a plain value that prints, compares and can be carried out later. No AWS call.

use std::fmt;

use serde::Serialize;

use super::action::{PortsAction, Replacement};
use super::config::PortsConfig;
use super::{PORTS_CLOSED_AT_TAG, REVOKED_INGRESS_TAG};
use crate::case::case_id_for;
use crate::engine::{triage, Decision, Plan, Planned, Signal};
use crate::exposure::{exposing_rules, GroupFacts};
use crate::tags;

pub type PortsPlan = Plan<PortsAction>;
pub type PortsDecision = Decision<PortsAction, PortsSkip>;

/// Why a run changes nothing. Each is reported, never silent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum PortsSkip {
    /// The CloudTrail record is of a call AWS refused: nothing was opened.
    CallFailed {
        call: String,
        code: String,
    },
    GroupGone {
        message: String,
    },
    /// No group exposes an admin or data port, or every one that does is left alone.
    NothingExposed {
        checked: usize,
        /// The groups that expose one but are exempt or Firebreak's own, with why.
        left_alone: Vec<String>,
    },
    /// The common rules: a sample finding, or below the minimum severity.
    #[serde(untagged)]
    Triage(triage::Skip),
}

impl fmt::Display for PortsSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Triage(skip) => skip.fmt(f),
            Self::CallFailed { call, code } => write!(f, "{call} failed ({code}): nothing was opened"),
            Self::GroupGone { message } => write!(f, "the security group no longer exists ({message})"),
            Self::NothingExposed { checked, left_alone } => {
                write!(
                    f,
                    "no security group among the {checked} checked exposes an admin or data port to the internet (or every one that does is exempt)"
                )?;
                if !left_alone.is_empty() {
                    write!(f, "; left alone: {}", left_alone.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// Turns the groups read into a decision. Pure: the same groups and configuration give the same
/// plan, and groups whose world-open rules are gone plan nothing, which makes a second run a no-op.
pub fn decide(signal: &Signal, groups: &[GroupFacts], config: &PortsConfig, now: &str) -> PortsDecision {
    let steps: Vec<Planned<PortsAction>> = groups.iter().flat_map(|group| plan_group(group, config, now)).collect();
    if steps.iter().all(|step| step.skip.is_some()) {
        let left_alone = groups
            .iter()
            .filter(|g| !exposing_rules(&g.ingress, &config.admin_ports).is_empty())
            .map(|g| format!("{} ({})", g.group_id, left_alone_because(g, config).unwrap_or_default()))
            .collect();
        return Decision::Skip(PortsSkip::NothingExposed { checked: groups.len(), left_alone });
    }
    Decision::Act(Plan {
        title: format!("close open ports in {} group(s)", groups.len()),
        case_id: case_id_for(&signal.id),
        steps,
    })
}

/// Why a group is never changed: Firebreak's own groups (their rules are what isolation needs)
/// and exempt ones.
fn left_alone_because(group: &GroupFacts, config: &PortsConfig) -> Option<String> {
    if let Some(role) = group.tags.get(tags::ROLE) {
        return Some(format!(
            "Firebreak's own {role} group ({}={role}): its rules are what isolation needs",
            tags::ROLE
        ));
    }
    triage::exempt(&config.common, &group.group_id, &group.tags).map(|skip| skip.to_string())
}

/// The steps for one group: record, authorize the allowed CIDRs, revoke; or one skipped check
/// saying why it is left alone.
pub fn plan_group(group: &GroupFacts, config: &PortsConfig, now: &str) -> Vec<Planned<PortsAction>> {
    let exposing = exposing_rules(&group.ingress, &config.admin_ports);
    let check = || PortsAction::CheckGroup { group_id: group.group_id.clone(), group_name: group.group_name.clone() };
    if let Some(why) = left_alone_because(group, config) {
        let exposed = if exposing.is_empty() {
            String::new()
        } else {
            format!("; it exposes {}", exposing.iter().map(|e| e.rule.to_string()).collect::<Vec<_>>().join(", "))
        };
        return vec![Planned::skip(check(), format!("{why}{exposed}"))];
    }
    if exposing.is_empty() {
        return vec![Planned::skip(check(), "no ingress rule exposes an admin or data port to the internet")];
    }

    let mut recorded = tags::read_list(&group.tags, REVOKED_INGRESS_TAG).unwrap_or_default();
    for exposing_rule in &exposing {
        let record = exposing_rule.rule.record();
        if !recorded.contains(&record) {
            recorded.push(record);
        }
    }
    let mut record_tags = tags::list_tags(REVOKED_INGRESS_TAG, &recorded);
    record_tags.push((PORTS_CLOSED_AT_TAG.into(), now.into()));
    let mut steps =
        vec![Planned::act(PortsAction::RecordRevokedRules { group_id: group.group_id.clone(), tags: record_tags })];

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
    steps.extend(authorize.into_iter().map(|replacement| {
        Planned::act(PortsAction::AuthorizeAllowedCidr { group_id: group.group_id.clone(), replacement })
    }));
    steps.extend(
        exposing.into_iter().map(|exposing| {
            Planned::act(PortsAction::RevokeIngressRule { group_id: group.group_id.clone(), exposing })
        }),
    );
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;
    use crate::exposure::{rule, IngressRule};
    use std::collections::BTreeMap;

    fn group(rules: Vec<IngressRule>, tags: &[(&str, &str)]) -> GroupFacts {
        GroupFacts {
            group_id: "sg-0123456789abcdef0".into(),
            group_name: "web".into(),
            vpc_id: Some("vpc-01234567".into()),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ingress: rules,
        }
    }

    fn revoked(steps: &[Planned<PortsAction>]) -> Vec<&str> {
        steps
            .iter()
            .filter_map(|s| match &s.action {
                PortsAction::RevokeIngressRule { exposing, .. } => Some(exposing.rule.rule_id.as_str()),
                _ => None,
            })
            .collect()
    }

    fn authorized(steps: &[Planned<PortsAction>]) -> Vec<&Replacement> {
        steps
            .iter()
            .filter_map(|s| match &s.action {
                PortsAction::AuthorizeAllowedCidr { replacement, .. } => Some(replacement),
                _ => None,
            })
            .collect()
    }

    fn record_tags(steps: &[Planned<PortsAction>]) -> Vec<(String, String)> {
        steps
            .iter()
            .find_map(|s| match &s.action {
                PortsAction::RecordRevokedRules { tags, .. } => Some(tags.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    fn has_work(steps: &[Planned<PortsAction>]) -> bool {
        steps.iter().any(|s| s.skip.is_none())
    }

    fn signal() -> Signal {
        Signal { id: "event-1".into(), ..Signal::default() }
    }

    #[test]
    fn plan_revokes_only_exposing_rules_and_records_them_first() {
        let facts = group(
            vec![
                rule("sgr-a", "tcp", 22, 22, "0.0.0.0/0"),
                rule("sgr-b", "tcp", 22, 22, "::/0"),
                rule("sgr-c", "tcp", 443, 443, "0.0.0.0/0"),
            ],
            &[],
        );
        let steps = plan_group(&facts, &PortsConfig::default(), "2026-11-24T02:14:00Z");
        assert!(has_work(&steps));
        assert_eq!(revoked(&steps), ["sgr-a", "sgr-b"]);
        assert!(authorized(&steps).is_empty(), "no allowed CIDRs configured");
        let tags = record_tags(&steps);
        assert_eq!(tags[0], (REVOKED_INGRESS_TAG.to_string(), "tcp 22-22 0.0.0.0/0,tcp 22-22 ::/0".to_string()));
        assert_eq!(tags.last().unwrap().0, PORTS_CLOSED_AT_TAG);
        let stage =
            |name: &str| steps.iter().find(|s| s.action.name() == name).map(|s| engine_stage(&s.action)).unwrap();
        assert!(stage("record_revoked_rules") < stage("revoke_ingress_rule"), "recorded before it is revoked");
        let Decision::Act(plan) = decide(&signal(), &[facts], &PortsConfig::default(), "now") else {
            panic!("a world-open SSH rule is acted on");
        };
        let printed = plan.to_string();
        assert!(printed.contains("revoke sgr-a") && !printed.contains("sgr-c"), "{printed}");
        assert_eq!(plan.case_id, case_id_for("event-1"));
    }

    fn engine_stage(action: &PortsAction) -> u8 {
        crate::engine::Phase::stage(action.phase())
    }

    #[test]
    fn allowed_cidrs_replace_each_exposed_port_unless_already_allowed_and_before_the_revoke() {
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
        let steps = plan_group(&facts, &config, "now");
        assert_eq!(
            authorized(&steps),
            [&Replacement { protocol: "tcp".into(), port: 22, cidr: "203.0.113.0/24".into() }]
        );
        let authorize = steps.iter().find(|s| s.action.name() == "authorize_allowed_cidr").unwrap();
        let revoke = steps.iter().find(|s| s.action.name() == "revoke_ingress_rule").unwrap();
        assert!(engine_stage(&authorize.action) < engine_stage(&revoke.action), "admins keep access throughout");
        assert!(revoke.action.is_containment() && !authorize.action.is_containment());
    }

    #[test]
    fn exempt_and_firebreak_groups_and_clean_groups_are_skipped_with_a_reason() {
        let open = vec![rule("sgr-a", "-1", -1, -1, "0.0.0.0/0")];
        let exempt = plan_group(&group(open.clone(), &[("firebreak:exempt", "")]), &PortsConfig::default(), "now");
        assert!(!has_work(&exempt));
        assert!(exempt[0].skip.as_deref().unwrap().contains("exempt"), "{exempt:?}");
        let own =
            plan_group(&group(open.clone(), &[(tags::ROLE, tags::ROLE_UNTRACKING)]), &PortsConfig::default(), "now");
        assert!(!has_work(&own));
        assert!(own[0].skip.as_deref().unwrap().contains("untracking"), "{own:?}");
        let clean =
            plan_group(&group(vec![rule("sgr-c", "tcp", 443, 443, "0.0.0.0/0")], &[]), &PortsConfig::default(), "now");
        assert!(!has_work(&clean) && revoked(&clean).is_empty());
        assert_eq!(clean[0].action.name(), "check_group");

        let groups = [group(open, &[("firebreak:exempt", "")])];
        let Decision::Skip(skip) = decide(&signal(), &groups, &PortsConfig::default(), "now") else {
            panic!("nothing to do");
        };
        let said = skip.to_string();
        assert!(said.contains("among the 1 checked") && said.contains("exemption tag"), "{said}");
    }

    #[test]
    fn earlier_records_are_kept_and_long_records_spill_into_more_tags() {
        let earlier: Vec<String> = (0..12).map(|i| format!("tcp {i}000-{i}999 0.0.0.0/0")).collect();
        let tags_before: BTreeMap<String, String> =
            tags::list_tags(REVOKED_INGRESS_TAG, &earlier).into_iter().collect();
        let mut facts = group(vec![rule("sgr-a", "tcp", 0, 65535, "::/0")], &[]);
        facts.tags = tags_before;
        let written = record_tags(&plan_group(&facts, &PortsConfig::default(), "now"));
        assert!(written.iter().all(|(_, v)| v.len() <= tags::MAX_VALUE_LEN));
        let written: BTreeMap<String, String> = written.into_iter().collect();
        let recorded = tags::read_list(&written, REVOKED_INGRESS_TAG).unwrap();
        assert_eq!(recorded.len(), 13);
        assert_eq!(recorded.last().unwrap(), "tcp 0-65535 ::/0");
    }
}
