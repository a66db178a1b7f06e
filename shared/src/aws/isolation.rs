//! The per-VPC isolation group (no rules) and untracking group (all traffic both ways), and the
//! moves of an interface through them.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup, Tag, TagSpecification};
use aws_sdk_ec2::Client;
use serde::Serialize;

use super::ec2::{create_tags, filter, ignoring};
use super::interface_moves::move_interface;
use super::throttle::{persist, Priority};
use crate::aws::{AwsError, AwsResultExt};
use crate::exposure::{ANYWHERE_V4, ANYWHERE_V6};
use crate::tags;

/// The two Firebreak groups of one VPC, as found (if at all).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VpcGroups {
    pub isolation: Option<FoundGroup>,
    pub untracking: Option<FoundGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoundGroup {
    pub group_id: String,
    /// The group has exactly the rules it should have (none for isolation; all traffic both ways
    /// for untracking). A group left half-built by an interrupted run is not ready.
    pub ready: bool,
}

/// The isolation and untracking groups of the given VPCs, in one call.
pub async fn find_isolation_groups(
    ec2: &Client,
    vpc_ids: &[String],
    isolation_group_name: &str,
) -> Result<BTreeMap<String, VpcGroups>, AwsError> {
    let mut found: BTreeMap<String, VpcGroups> = vpc_ids.iter().map(|v| (v.clone(), VpcGroups::default())).collect();
    if vpc_ids.is_empty() {
        return Ok(found);
    }
    let untracking_name = untracking_group_name(isolation_group_name);
    let response = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpc_ids))
        .filters(filter("group-name", [isolation_group_name, untracking_name.as_str()]))
        .send()
        .await
        .aws("DescribeSecurityGroups")?;
    for group in response.security_groups() {
        let (Some(vpc_id), Some(group_id), Some(name)) = (group.vpc_id(), group.group_id(), group.group_name()) else {
            continue;
        };
        let entry = found.entry(vpc_id.to_string()).or_default();
        if name == isolation_group_name {
            entry.isolation = Some(FoundGroup { group_id: group_id.to_string(), ready: is_empty_group(group) });
        } else if name == untracking_name {
            entry.untracking = Some(FoundGroup { group_id: group_id.to_string(), ready: is_untracking_group(group) });
        }
    }
    Ok(found)
}

/// No rules, but for Firebreak's own HTTPS rules to Systems Manager endpoints (allowed by
/// FIREBREAK_ISOLATION_ALLOW_SSM_ENDPOINTS, see [`super::forensics`]).
fn is_empty_group(group: &SecurityGroup) -> bool {
    group.ip_permissions().is_empty() && foreign_egress(group).is_empty()
}

fn foreign_egress(group: &SecurityGroup) -> Vec<IpPermission> {
    group.ip_permissions_egress().iter().filter(|r| !super::forensics::is_endpoint_rule(r)).cloned().collect()
}

fn has_all_traffic(rules: &[IpPermission], v4: bool) -> bool {
    rules.iter().filter(|rule| rule.ip_protocol() == Some("-1")).any(|rule| {
        if v4 {
            rule.ip_ranges().iter().any(|r| r.cidr_ip() == Some(ANYWHERE_V4))
        } else {
            rule.ipv6_ranges().iter().any(|r| r.cidr_ipv6() == Some(ANYWHERE_V6))
        }
    })
}

/// All traffic from and to anywhere, IPv4 and IPv6 (AWS may list the two in one permission or in two).
fn allows_all_traffic(rules: &[IpPermission]) -> bool {
    has_all_traffic(rules, true) && has_all_traffic(rules, false)
}

fn is_untracking_group(group: &SecurityGroup) -> bool {
    allows_all_traffic(group.ip_permissions()) && allows_all_traffic(group.ip_permissions_egress())
}

/// The all-traffic ranges `rules` still lacks. Only those are authorized: a request naming a
/// range that exists already fails whole with InvalidPermission.Duplicate.
fn missing_all_traffic(rules: &[IpPermission]) -> Option<IpPermission> {
    let (v4, v6) = (!has_all_traffic(rules, true), !has_all_traffic(rules, false));
    (v4 || v6).then(|| {
        let mut permission = IpPermission::builder().ip_protocol("-1");
        if v4 {
            permission = permission.ip_ranges(IpRange::builder().cidr_ip(ANYWHERE_V4).build());
        }
        if v6 {
            permission = permission.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(ANYWHERE_V6).build());
        }
        permission.build()
    })
}

/// The group ids an isolation uses in one VPC.
#[derive(Debug, Clone, PartialEq)]
pub struct IsolationGroupIds {
    pub isolation: String,
    pub untracking: Option<String>,
}

/// Finds or creates both Firebreak groups of a VPC and brings their rules to what they must be.
/// Safe to run concurrently and after a crash: a duplicate-name error means another run created
/// the group first, and it is looked up again.
pub async fn ensure_isolation_groups(
    ec2: &Client,
    vpc_id: &str,
    isolation_group_name: &str,
    with_untracking: bool,
) -> Result<IsolationGroupIds, AwsError> {
    let untracking_name = untracking_group_name(isolation_group_name);
    // The two groups are independent: built side by side, they cost the round trips of one.
    let (isolation, untracking) =
        tokio::join!(ensure_group(ec2, vpc_id, isolation_group_name, tags::ROLE_ISOLATION), async {
            match with_untracking {
                true => ensure_group(ec2, vpc_id, &untracking_name, tags::ROLE_UNTRACKING).await.map(Some),
                false => Ok(None),
            }
        });
    Ok(IsolationGroupIds { isolation: isolation?, untracking: untracking? })
}

async fn ensure_group(ec2: &Client, vpc_id: &str, name: &str, role: &str) -> Result<String, AwsError> {
    let group = match lookup_group(ec2, vpc_id, name).await? {
        Some(group) => group,
        None => {
            let description = match role {
                tags::ROLE_UNTRACKING => "Firebreak: all traffic, untracked; an interface passes through it for an instant so that isolation ends tracked connections",
                _ => "Firebreak isolation: no rules, no traffic in or out",
            };
            let created = ec2
                .create_security_group()
                .group_name(name)
                .description(description)
                .vpc_id(vpc_id)
                .tag_specifications(
                    TagSpecification::builder()
                        .resource_type(ResourceType::SecurityGroup)
                        .tags(Tag::builder().key(tags::ROLE).value(role).build())
                        .tags(Tag::builder().key("Name").value(name).build())
                        .build(),
                )
                .send()
                .await
                .aws("CreateSecurityGroup");
            match created {
                Ok(_) => {}
                Err(e) if e.is_code("InvalidGroup.Duplicate") => {}
                Err(e) => return Err(e),
            }
            lookup_group(ec2, vpc_id, name).await?.ok_or_else(|| AwsError {
                action: "DescribeSecurityGroups",
                code: "NotFound".into(),
                message: format!("security group {name} in {vpc_id} vanished right after it was created"),
            })?
        }
    };
    let group_id = group.group_id().unwrap_or_default().to_string();
    if role == tags::ROLE_UNTRACKING {
        if let Some(missing) = missing_all_traffic(group.ip_permissions()) {
            ignoring(
                "InvalidPermission.Duplicate",
                ec2.authorize_security_group_ingress()
                    .group_id(&group_id)
                    .ip_permissions(missing)
                    .send()
                    .await
                    .aws("AuthorizeSecurityGroupIngress"),
            )?;
        }
        if let Some(missing) = missing_all_traffic(group.ip_permissions_egress()) {
            ignoring(
                "InvalidPermission.Duplicate",
                ec2.authorize_security_group_egress()
                    .group_id(&group_id)
                    .ip_permissions(missing)
                    .send()
                    .await
                    .aws("AuthorizeSecurityGroupEgress"),
            )?;
        }
    } else {
        // A new group comes with an allow-all egress rule; a group found with any rule was
        // changed by someone or left half-built. Either way every rule goes.
        // A retried revoke whose first answer was lost finds the rule gone: that is success.
        if !group.ip_permissions().is_empty() {
            ignoring(
                "InvalidPermission.NotFound",
                ec2.revoke_security_group_ingress()
                    .group_id(&group_id)
                    .set_ip_permissions(Some(group.ip_permissions().to_vec()))
                    .send()
                    .await
                    .aws("RevokeSecurityGroupIngress"),
            )?;
        }
        let foreign = foreign_egress(&group);
        if !foreign.is_empty() {
            ignoring(
                "InvalidPermission.NotFound",
                ec2.revoke_security_group_egress()
                    .group_id(&group_id)
                    .set_ip_permissions(Some(foreign))
                    .send()
                    .await
                    .aws("RevokeSecurityGroupEgress"),
            )?;
        }
    }
    Ok(group_id)
}

async fn lookup_group(ec2: &Client, vpc_id: &str, name: &str) -> Result<Option<SecurityGroup>, AwsError> {
    let response = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", [vpc_id]))
        .filters(filter("group-name", [name]))
        .send()
        .await
        .aws("DescribeSecurityGroups")?;
    Ok(response.security_groups().first().cloned())
}

/// Moves one ENI into isolation. With an untracking group, the ENI first passes through it:
/// flows allowed by all-traffic rules in both directions are not tracked, so when the ENI then
/// moves to the group with no rules, every flow, including established ones, is cut at once. A
/// network ACL would also cut them, but ACLs belong to the subnet and would cut its other
/// instances too.
///
/// The untracking group is added to the ENI's groups rather than put in their place: the rules of
/// all an ENI's groups apply together, so the all-traffic rules untrack every flow just the same,
/// and the ENI leaves none of its original groups until the isolation move. That lets the record
/// of the original groups (an ENI tag, what a release restores) be written side by side with the
/// first move instead of before it: a crash in between leaves the originals either in the tag or
/// still on the ENI. The isolation move waits for both.
/// `moving` is called once the request moving the ENI into the isolation group has been sent:
/// from then on the quarantine's other steps may take their turn without delaying containment.
/// `sole_interface_of` names the ENI's instance when it is that instance's only ENI: its moves
/// may then go through either of two EC2 buckets ([`super::interface_moves`]).
pub async fn isolate_interface(
    ec2: &Client,
    eni_id: &str,
    sole_interface_of: Option<&str>,
    groups: &IsolationGroupIds,
    current_group_ids: &[String],
    record_original_groups: Option<&[String]>,
    moving: impl FnOnce(),
) -> Result<(), AwsError> {
    let record = async {
        match record_original_groups {
            Some(original) => create_tags(ec2, eni_id, &tags::list_tags(tags::ORIGINAL_GROUPS, original)).await,
            None => Ok(()),
        }
    };
    match &groups.untracking {
        Some(untracking) => {
            let mut pass_through = current_group_ids.to_vec();
            if !pass_through.contains(untracking) {
                pass_through.push(untracking.clone());
            }
            let (recorded, passed) =
                tokio::join!(record, move_interface(ec2, eni_id, sole_interface_of, &pass_through));
            if let Err(e) = recorded {
                // No record, no move: the ENI must not stay in the all-open untracking group.
                if passed.is_ok() {
                    move_interface(ec2, eni_id, sole_interface_of, current_group_ids).await?;
                }
                return Err(e);
            }
            if passed.is_err() {
                // Typically the ENI already has as many groups as its quota allows. With the
                // record written, it can pass through the untracking group alone.
                move_interface(ec2, eni_id, sole_interface_of, std::slice::from_ref(untracking)).await?;
            }
        }
        None => record.await?,
    }
    let isolation = std::slice::from_ref(&groups.isolation);
    let mut move_to_isolation = std::pin::pin!(move_interface(ec2, eni_id, sole_interface_of, isolation));
    let mut moving = Some(moving);
    std::future::poll_fn(|cx| {
        // The first poll serialises and signs the request and hands it to a connection.
        let polled = move_to_isolation.as_mut().poll(cx);
        if let Some(moving) = moving.take() {
            moving();
        }
        polled
    })
    .await?;
    // A slow first attempt of the earlier move, retried after its timeout, can still land after
    // this one: read the ENI back, and put it in isolation once more if it is not there.
    // Put back by the ENI's own action: it cannot be refused for a second ENI attached since.
    if interface_group_ids(ec2, eni_id).await? != isolation {
        move_interface(ec2, eni_id, None, isolation).await?;
    }
    Ok(())
}

async fn interface_group_ids(ec2: &Client, eni_id: &str) -> Result<Vec<String>, AwsError> {
    // Filtered, not by id: EC2 gives unfiltered reads of ENIs a bucket half the size. A throttled
    // read-back waits for a token too: failing it would fail an isolation that was done.
    let response = persist(Priority::Containment, || async {
        ec2.describe_network_interfaces()
            .filters(filter("network-interface-id", [eni_id]))
            .send()
            .await
            .aws("DescribeNetworkInterfaces")
    })
    .await?;
    Ok(response
        .network_interfaces()
        .iter()
        .flat_map(|eni| eni.groups())
        .filter_map(|g| g.group_id().map(str::to_string))
        .collect())
}

/// Sets an ENI's security groups (the isolation moves, and a release putting them back); a
/// throttled move waits for EC2's bucket to refill.
pub async fn set_interface_groups(ec2: &Client, eni_id: &str, group_ids: &[String]) -> Result<(), AwsError> {
    move_interface(ec2, eni_id, None, group_ids).await
}

/// The untracking group's name beside an isolation group's.
pub fn untracking_group_name(isolation_group_name: &str) -> String {
    format!("{isolation_group_name}-untracking")
}
