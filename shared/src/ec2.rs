//! EC2 reads and changes used by the quarantine: the instance, its interfaces, the isolation
//! groups, snapshots and tags.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_ec2::types::{
    AttributeBooleanValue, AttributeValue, Filter, InstanceAttributeName, InstanceSpecification, IpPermission, IpRange,
    Ipv6Range, ResourceType, SecurityGroup, Tag, TagSpecification,
};
use aws_sdk_ec2::Client;

use crate::aws::{AwsError, AwsResultExt};
use crate::quarantine::{FoundGroup, InterfaceFacts, VpcGroups};
use crate::tags;

const ANYWHERE_V4: &str = "0.0.0.0/0";
const ANYWHERE_V6: &str = "::/0";

fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    let mut builder = Filter::builder().name(name);
    for value in values {
        builder = builder.values(value);
    }
    builder.build()
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
}

fn to_tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// The instance as DescribeInstances sees it; `None` when EC2 does not know the id.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRecord {
    pub state: String,
    pub volume_ids: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub instance_profile_arn: Option<String>,
}

pub async fn describe_instance(ec2: &Client, instance_id: &str) -> Result<Option<InstanceRecord>, AwsError> {
    let response = match ec2.describe_instances().instance_ids(instance_id).send().await.aws("DescribeInstances") {
        Ok(response) => response,
        Err(e) if e.is_code("InvalidInstanceID.NotFound") => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(instance) =
        response.reservations().iter().flat_map(|r| r.instances()).find(|i| i.instance_id() == Some(instance_id))
    else {
        return Ok(None);
    };
    Ok(Some(InstanceRecord {
        state: instance
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_string())
            .unwrap_or_else(|| "unknown".into()),
        volume_ids: instance
            .block_device_mappings()
            .iter()
            .filter_map(|m| m.ebs()?.volume_id().map(str::to_string))
            .collect(),
        tags: tag_map(instance.tags()),
        instance_profile_arn: instance.iam_instance_profile().and_then(|p| p.arn()).map(str::to_string),
    }))
}

/// Every ENI attached to the instance, with its groups and tags (DescribeInstances omits ENI tags).
pub async fn describe_interfaces(ec2: &Client, instance_id: &str) -> Result<Vec<InterfaceFacts>, AwsError> {
    let response = ec2
        .describe_network_interfaces()
        .filters(filter("attachment.instance-id", [instance_id]))
        .send()
        .await
        .aws("DescribeNetworkInterfaces")?;
    let mut interfaces: Vec<InterfaceFacts> = response
        .network_interfaces()
        .iter()
        .filter_map(|eni| {
            Some(InterfaceFacts {
                id: eni.network_interface_id()?.to_string(),
                vpc_id: eni.vpc_id()?.to_string(),
                group_ids: eni.groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect(),
                tags: tag_map(eni.tag_set()),
            })
        })
        .collect();
    interfaces.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(interfaces)
}

/// Termination protection on, and shutdown from inside the instance stops rather than terminates.
pub async fn termination_settings(ec2: &Client, instance_id: &str) -> Result<(bool, bool), AwsError> {
    let (protection, shutdown) = tokio::join!(
        ec2.describe_instance_attribute()
            .instance_id(instance_id)
            .attribute(InstanceAttributeName::DisableApiTermination)
            .send(),
        ec2.describe_instance_attribute()
            .instance_id(instance_id)
            .attribute(InstanceAttributeName::InstanceInitiatedShutdownBehavior)
            .send(),
    );
    let protected =
        protection.aws("DescribeInstanceAttribute")?.disable_api_termination().and_then(|v| v.value()).unwrap_or(false);
    let stops = shutdown
        .aws("DescribeInstanceAttribute")?
        .instance_initiated_shutdown_behavior()
        .and_then(|v| v.value())
        .is_some_and(|v| v == "stop");
    Ok((protected, stops))
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProfileAssociation {
    pub association_id: String,
    pub profile_arn: String,
}

pub async fn instance_profile_association(
    ec2: &Client,
    instance_id: &str,
) -> Result<Option<ProfileAssociation>, AwsError> {
    let response = ec2
        .describe_iam_instance_profile_associations()
        .filters(filter("instance-id", [instance_id]))
        .filters(filter("state", ["associated", "associating"]))
        .send()
        .await
        .aws("DescribeIamInstanceProfileAssociations")?;
    Ok(response.iam_instance_profile_associations().iter().find_map(|a| {
        Some(ProfileAssociation {
            association_id: a.association_id()?.to_string(),
            profile_arn: a.iam_instance_profile()?.arn().unwrap_or_default().to_string(),
        })
    }))
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
    let untracking_name = crate::quarantine::untracking_group_name(isolation_group_name);
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

fn is_empty_group(group: &SecurityGroup) -> bool {
    group.ip_permissions().is_empty() && group.ip_permissions_egress().is_empty()
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
    let untracking_name = crate::quarantine::untracking_group_name(isolation_group_name);
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
        if !group.ip_permissions_egress().is_empty() {
            ignoring(
                "InvalidPermission.NotFound",
                ec2.revoke_security_group_egress()
                    .group_id(&group_id)
                    .set_ip_permissions(Some(group.ip_permissions_egress().to_vec()))
                    .send()
                    .await
                    .aws("RevokeSecurityGroupEgress"),
            )?;
        }
    }
    Ok(group_id)
}

/// Treats one AWS error code as success: the state the call wanted is already there.
fn ignoring<T>(code: &str, result: Result<T, AwsError>) -> Result<(), AwsError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_code(code) => Ok(()),
        Err(e) => Err(e),
    }
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
pub async fn isolate_interface(
    ec2: &Client,
    eni_id: &str,
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
            let (recorded, passed) = tokio::join!(record, set_interface_groups(ec2, eni_id, &pass_through));
            if let Err(e) = recorded {
                // No record, no move: the ENI must not stay in the all-open untracking group.
                if passed.is_ok() {
                    set_interface_groups(ec2, eni_id, current_group_ids).await?;
                }
                return Err(e);
            }
            if passed.is_err() {
                // Typically the ENI already has as many groups as its quota allows. With the
                // record written, it can pass through the untracking group alone.
                set_interface_groups(ec2, eni_id, std::slice::from_ref(untracking)).await?;
            }
        }
        None => record.await?,
    }
    let isolation = std::slice::from_ref(&groups.isolation);
    let mut move_to_isolation = std::pin::pin!(set_interface_groups(ec2, eni_id, isolation));
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
    if interface_group_ids(ec2, eni_id).await? != isolation {
        set_interface_groups(ec2, eni_id, isolation).await?;
    }
    Ok(())
}

async fn interface_group_ids(ec2: &Client, eni_id: &str) -> Result<Vec<String>, AwsError> {
    let response = ec2
        .describe_network_interfaces()
        .network_interface_ids(eni_id)
        .send()
        .await
        .aws("DescribeNetworkInterfaces")?;
    Ok(response
        .network_interfaces()
        .iter()
        .flat_map(|eni| eni.groups())
        .filter_map(|g| g.group_id().map(str::to_string))
        .collect())
}

async fn set_interface_groups(ec2: &Client, eni_id: &str, group_ids: &[String]) -> Result<(), AwsError> {
    ec2.modify_network_interface_attribute()
        .network_interface_id(eni_id)
        .set_groups(Some(group_ids.to_vec()))
        .send()
        .await
        .aws("ModifyNetworkInterfaceAttribute")?;
    Ok(())
}

/// Sets what [`termination_settings`] finds missing. Returns false when nothing was.
pub async fn protect_from_termination(ec2: &Client, instance_id: &str) -> Result<bool, AwsError> {
    let (protected, stops) = termination_settings(ec2, instance_id).await?;
    let protect = async {
        if protected {
            return Ok(());
        }
        ec2.modify_instance_attribute()
            .instance_id(instance_id)
            .disable_api_termination(AttributeBooleanValue::builder().value(true).build())
            .send()
            .await
            .aws("ModifyInstanceAttribute")
            .map(|_| ())
    };
    let stop_on_shutdown = async {
        if stops {
            return Ok(());
        }
        ec2.modify_instance_attribute()
            .instance_id(instance_id)
            .instance_initiated_shutdown_behavior(AttributeValue::builder().value("stop").build())
            .send()
            .await
            .aws("ModifyInstanceAttribute")
            .map(|_| ())
    };
    let (protect, stop_on_shutdown) = tokio::join!(protect, stop_on_shutdown);
    protect?;
    stop_on_shutdown?;
    Ok(!(protected && stops))
}

/// What a snapshot step left behind.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotOutcome {
    Created(Vec<String>),
    /// The case already had a set (an earlier delivery or finding): nothing was taken.
    AlreadyTaken(Vec<String>),
    /// Another delivery of the same case snapshotted the instance at the same moment: its set was
    /// kept and this one's duplicate set removed.
    DuplicateRemoved {
        kept: Vec<String>,
        removed: Vec<String>,
    },
}

/// One CreateSnapshots call: every volume at the same instant (crash-consistent), tagged with the
/// case. CreateSnapshots takes no client token, so two deliveries racing past the "already
/// snapshotted?" check each create a set; afterwards every racer lists the case's sets and all
/// keep the same one (earliest start, then lowest set id) and delete only their own duplicate.
pub async fn snapshot_volumes(
    ec2: &Client,
    instance_id: &str,
    snapshot_tags: &[(String, String)],
) -> Result<SnapshotOutcome, AwsError> {
    let case_id = snapshot_tags.iter().find(|(k, _)| k == tags::CASE).map(|(_, v)| v.as_str());
    if let Some(case_id) = case_id {
        let earlier: Vec<String> =
            case_snapshot_sets(ec2, instance_id, case_id).await?.into_values().flat_map(|(_, ids)| ids).collect();
        if !earlier.is_empty() {
            return Ok(SnapshotOutcome::AlreadyTaken(earlier));
        }
    }
    let set_id = unique_set_id(instance_id);
    let mut all_tags = snapshot_tags.to_vec();
    all_tags.push((tags::SNAPSHOT_SET.to_string(), set_id.clone()));
    let response = ec2
        .create_snapshots()
        .instance_specification(
            InstanceSpecification::builder().instance_id(instance_id).exclude_boot_volume(false).build(),
        )
        .description(format!("Firebreak evidence of {instance_id}"))
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Snapshot)
                .set_tags(Some(to_tags(&all_tags)))
                .build(),
        )
        .send()
        .await
        .aws("CreateSnapshots")?;
    let ours: Vec<String> = response.snapshots().iter().filter_map(|s| s.snapshot_id().map(str::to_string)).collect();
    let Some(case_id) = case_id else {
        return Ok(SnapshotOutcome::Created(ours));
    };
    // One look, after a pause: by then every set created in a race is listed, so every racer
    // sees the same sets and agrees which one to keep.
    tokio::time::sleep(SNAPSHOT_RACE_SETTLE).await;
    let sets = case_snapshot_sets(ec2, instance_id, case_id).await?;
    // A CreateSnapshots retried after its first answer was lost leaves a second, unreported copy
    // under the same set id: those copies are duplicates of ours.
    let orphans: Vec<String> = sets
        .get(&set_id)
        .map(|(_, ids)| ids.iter().filter(|id| !ours.contains(id)).cloned().collect())
        .unwrap_or_default();
    let keeper = sets
        .iter()
        .min_by_key(|(set, (start, _))| (*start, set.to_string()))
        .map(|(set, (_, ids))| (set.clone(), ids.clone()));
    if let Some((_, kept)) = keeper.filter(|(kept_set, _)| *kept_set != set_id) {
        let removed: Vec<String> = ours.iter().chain(&orphans).cloned().collect();
        delete_snapshots(ec2, &removed).await?;
        return Ok(SnapshotOutcome::DuplicateRemoved { kept, removed });
    }
    delete_snapshots(ec2, &orphans).await?;
    if orphans.is_empty() {
        Ok(SnapshotOutcome::Created(ours))
    } else {
        Ok(SnapshotOutcome::DuplicateRemoved { kept: ours, removed: orphans })
    }
}

/// How long the snapshot step waits before it looks for racing sets. Off the containment path:
/// the instance is isolated by then.
pub const SNAPSHOT_RACE_SETTLE: Duration = Duration::from_millis(300);

/// The case's snapshot sets of an instance: set id -> (earliest start in nanoseconds, ids).
async fn case_snapshot_sets(
    ec2: &Client,
    instance_id: &str,
    case_id: &str,
) -> Result<BTreeMap<String, (i128, Vec<String>)>, AwsError> {
    let listed = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(filter(&format!("tag:{}", tags::INSTANCE_ID), [instance_id]))
        .filters(filter(&format!("tag:{}", tags::CASE), [case_id]))
        .send()
        .await
        .aws("DescribeSnapshots")?;
    let mut sets: BTreeMap<String, (i128, Vec<String>)> = BTreeMap::new();
    for snapshot in listed.snapshots() {
        let set = tag_map(snapshot.tags()).remove(tags::SNAPSHOT_SET).unwrap_or_default();
        let start = snapshot.start_time().map(|t| t.as_nanos()).unwrap_or(i128::MAX);
        let entry = sets.entry(set).or_insert((i128::MAX, Vec::new()));
        entry.0 = entry.0.min(start);
        entry.1.extend(snapshot.snapshot_id().map(str::to_string));
    }
    Ok(sets)
}

/// Deletes duplicate snapshots Firebreak itself just made; never any other snapshot.
async fn delete_snapshots(ec2: &Client, snapshot_ids: &[String]) -> Result<(), AwsError> {
    futures::future::try_join_all(snapshot_ids.iter().map(|snapshot_id| async move {
        ignoring(
            "InvalidSnapshot.NotFound",
            ec2.delete_snapshot().snapshot_id(snapshot_id).send().await.aws("DeleteSnapshot"),
        )
    }))
    .await?;
    Ok(())
}

/// Distinct for every invocation, also across warm containers and accounts.
fn unique_set_id(instance_id: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let seed = format!("{instance_id}:{nanos}:{}:{}", std::process::id(), SEQUENCE.fetch_add(1, Ordering::Relaxed));
    crate::case::case_id_for(&seed).replacen("fb-", "set-", 1)
}

pub async fn disassociate_instance_profile(ec2: &Client, association_id: &str) -> Result<(), AwsError> {
    // Already gone (a retried call whose first answer was lost, a concurrent delivery): done.
    ignoring(
        "InvalidAssociationID.NotFound",
        ec2.disassociate_iam_instance_profile()
            .association_id(association_id)
            .send()
            .await
            .aws("DisassociateIamInstanceProfile"),
    )
}

pub async fn create_tags(ec2: &Client, resource_id: &str, pairs: &[(String, String)]) -> Result<(), AwsError> {
    ec2.create_tags().resources(resource_id).set_tags(Some(to_tags(pairs))).send().await.aws("CreateTags")?;
    Ok(())
}

pub async fn stop_instance(ec2: &Client, instance_id: &str) -> Result<(), AwsError> {
    ec2.stop_instances().instance_ids(instance_id).send().await.aws("StopInstances")?;
    Ok(())
}
