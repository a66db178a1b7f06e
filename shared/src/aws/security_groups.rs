//! Security groups with their ingress rules, as close-open-ports and audit-posture read them, and
//! the ingress changes close-open-ports makes.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, SecurityGroupRule};

use super::ec2::{describe_interfaces, filter, tag_map};
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

/// The groups of every ENI attached to the instance, each once; `None` when it has no interface
/// (it does not exist, or no longer does, in this account and region).
pub async fn groups_of_instance(ec2: &aws_sdk_ec2::Client, instance_id: &str) -> Result<Option<Vec<String>>, AwsError> {
    let interfaces = describe_interfaces(ec2, instance_id).await?;
    if interfaces.is_empty() {
        return Ok(None);
    }
    // Its groups, and those it had before Firebreak isolated it (recorded on each ENI): a
    // quarantined instance sits in the isolation group, but the group that exposed it is still
    // open to the world for every other instance in it, and comes back on release.
    let mut ids: Vec<String> = interfaces
        .into_iter()
        .flat_map(|eni| {
            let recorded = crate::tags::read_list(&eni.tags, crate::tags::ORIGINAL_GROUPS).unwrap_or_default();
            eni.group_ids.into_iter().chain(recorded)
        })
        .collect();
    ids.sort();
    ids.dedup();
    Ok(Some(ids))
}

/// Allows one TCP/UDP port from one IPv4 or IPv6 CIDR. False when the group already had that
/// rule (a retry, or an administrator was quicker).
pub async fn authorize_ingress(
    ec2: &aws_sdk_ec2::Client,
    group_id: &str,
    protocol: &str,
    port: u16,
    cidr: &str,
    description: &str,
) -> Result<bool, AwsError> {
    let permission = IpPermission::builder().ip_protocol(protocol).from_port(port.into()).to_port(port.into());
    let permission = if cidr.contains(':') {
        permission.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).description(description).build())
    } else {
        permission.ip_ranges(IpRange::builder().cidr_ip(cidr).description(description).build())
    };
    match ec2
        .authorize_security_group_ingress()
        .group_id(group_id)
        .ip_permissions(permission.build())
        .send()
        .await
        .aws("AuthorizeSecurityGroupIngress")
    {
        Ok(_) => Ok(true),
        Err(e) if e.is_code("InvalidPermission.Duplicate") => Ok(false),
        Err(e) => Err(e),
    }
}

/// Puts back a revoked ingress rule exactly (protocol, port range, CIDR). False when the group
/// already has it (a second release, or someone restored it by hand).
pub async fn reauthorize_ingress(
    ec2: &aws_sdk_ec2::Client,
    group_id: &str,
    rule: &crate::exposure::IngressRule,
) -> Result<bool, AwsError> {
    let cidr = rule.cidr.as_deref().unwrap_or_default();
    let permission =
        IpPermission::builder().ip_protocol(&rule.protocol).from_port(rule.from_port).to_port(rule.to_port);
    let permission = if cidr.contains(':') {
        permission.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build())
    } else {
        permission.ip_ranges(IpRange::builder().cidr_ip(cidr).build())
    };
    match ec2
        .authorize_security_group_ingress()
        .group_id(group_id)
        .ip_permissions(permission.build())
        .send()
        .await
        .aws("AuthorizeSecurityGroupIngress")
    {
        Ok(_) => Ok(true),
        Err(e) if e.is_code("InvalidPermission.Duplicate") => Ok(false),
        Err(e) => Err(e),
    }
}

/// Revokes one ingress rule by its rule id. False when the rule is gone already (a retried call
/// whose first answer was lost, a concurrent delivery): EC2 answers
/// `InvalidSecurityGroupRuleId.NotFound`, the emulator `InvalidPermission.NotFound`.
pub async fn revoke_ingress(ec2: &aws_sdk_ec2::Client, group_id: &str, rule_id: &str) -> Result<bool, AwsError> {
    match ec2
        .revoke_security_group_ingress()
        .group_id(group_id)
        .security_group_rule_ids(rule_id)
        .send()
        .await
        .aws("RevokeSecurityGroupIngress")
    {
        Ok(_) => Ok(true),
        Err(e) if e.is_code("InvalidSecurityGroupRuleId.NotFound") || e.is_code("InvalidPermission.NotFound") => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}
