//! Security groups with their ingress rules, as close-open-ports and audit-posture read them.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::SecurityGroupRule;

use super::ec2::{filter, tag_map};
use crate::aws::{AwsError, AwsResultExt};
use crate::exposure::{GroupFacts, IngressRule};

/// Filter values per request stay well under EC2's limits.
const IDS_PER_REQUEST: usize = 100;

/// Reads groups with their ingress rules: the named ones, or (`None`) every group in the region.
/// A named group that no longer exists is left out.
pub async fn read_groups(ec2: &aws_sdk_ec2::Client, group_ids: Option<&[String]>) -> Result<Vec<GroupFacts>, AwsError> {
    let mut groups: Vec<GroupFacts> = Vec::new();
    let chunks: Vec<Option<&[String]>> = match group_ids {
        None => vec![None],
        Some(ids) => ids.chunks(IDS_PER_REQUEST).map(Some).collect(),
    };
    for chunk in chunks {
        let mut pages = ec2
            .describe_security_groups()
            .set_filters(chunk.map(|ids| vec![filter("group-id", ids)]))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for group in page.aws("DescribeSecurityGroups")?.security_groups() {
                let Some(group_id) = group.group_id() else { continue };
                groups.push(GroupFacts {
                    group_id: group_id.to_string(),
                    group_name: group.group_name().unwrap_or_default().to_string(),
                    vpc_id: group.vpc_id().map(str::to_string),
                    tags: tag_map(group.tags()),
                    ingress: Vec::new(),
                });
            }
        }
    }
    let ids: Vec<String> = groups.iter().map(|g| g.group_id.clone()).collect();
    let mut rules: BTreeMap<String, Vec<IngressRule>> = BTreeMap::new();
    for chunk in ids.chunks(IDS_PER_REQUEST) {
        let mut pages = ec2.describe_security_group_rules().filters(filter("group-id", chunk)).into_paginator().send();
        while let Some(page) = pages.next().await {
            for rule in page.aws("DescribeSecurityGroupRules")?.security_group_rules() {
                if rule.is_egress() == Some(true) {
                    continue;
                }
                if let (Some(group_id), Some(parsed)) = (rule.group_id(), ingress_rule(rule)) {
                    rules.entry(group_id.to_string()).or_default().push(parsed);
                }
            }
        }
    }
    for group in &mut groups {
        group.ingress = rules.remove(&group.group_id).unwrap_or_default();
        group.ingress.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
    }
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    Ok(groups)
}

/// One ingress rule as DescribeSecurityGroupRules returns it: one source per rule.
fn ingress_rule(rule: &SecurityGroupRule) -> Option<IngressRule> {
    Some(IngressRule {
        rule_id: rule.security_group_rule_id()?.to_string(),
        protocol: rule.ip_protocol().unwrap_or("-1").to_string(),
        from_port: rule.from_port().unwrap_or(-1),
        to_port: rule.to_port().unwrap_or(-1),
        cidr: rule.cidr_ipv4().or(rule.cidr_ipv6()).map(str::to_string),
    })
}
