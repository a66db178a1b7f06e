//! EC2 reads and changes of instances: the instance, its interfaces, termination settings,
//! instance profile, tags and stop. Isolation groups are in [`super::isolation`], snapshots in
//! [`super::snapshots`].

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{AttributeBooleanValue, AttributeValue, Filter, InstanceAttributeName, Tag};
use aws_sdk_ec2::Client;

use super::throttle::{persist, Priority};
use crate::aws::{AwsError, AwsResultExt};
use serde::Serialize;

pub(crate) fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    let mut builder = Filter::builder().name(name);
    for value in values {
        builder = builder.values(value);
    }
    builder.build()
}

pub(crate) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
}

pub(crate) fn to_tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterfaceFacts {
    pub id: String,
    pub vpc_id: String,
    pub group_ids: Vec<String>,
    pub tags: BTreeMap<String, String>,
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
    // Filtered, not by id: EC2 gives unfiltered DescribeInstances a bucket half the size.
    let described = ec2.describe_instances().filters(filter("instance-id", [instance_id])).send().await;
    let response = match described.aws("DescribeInstances") {
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
    Ok(interface_facts(response.network_interfaces()))
}

fn interface_facts(interfaces: &[aws_sdk_ec2::types::NetworkInterface]) -> Vec<InterfaceFacts> {
    let mut interfaces: Vec<InterfaceFacts> = interfaces
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
    interfaces
}

/// ENIs by id (an ECS task's, a case's), with their groups and tags; an id EC2 does not know is
/// left out, not an error.
pub async fn describe_interfaces_by_id(ec2: &Client, eni_ids: &[String]) -> Result<Vec<InterfaceFacts>, AwsError> {
    if eni_ids.is_empty() {
        return Ok(Vec::new());
    }
    let response = ec2
        .describe_network_interfaces()
        .filters(filter("network-interface-id", eni_ids))
        .send()
        .await
        .aws("DescribeNetworkInterfaces")?;
    Ok(interface_facts(response.network_interfaces()))
}

/// Termination protection on, and shutdown from inside the instance stops rather than terminates.
pub async fn termination_settings(ec2: &Client, instance_id: &str) -> Result<(bool, bool), AwsError> {
    // In a burst the process's retry quota may be spent on the moves: a throttled read waits too.
    let read = |attribute: InstanceAttributeName| {
        persist(Priority::Preservation, move || {
            let attribute = attribute.clone();
            async move {
                ec2.describe_instance_attribute()
                    .instance_id(instance_id)
                    .attribute(attribute)
                    .send()
                    .await
                    .aws("DescribeInstanceAttribute")
            }
        })
    };
    let (protection, shutdown) = tokio::join!(
        read(InstanceAttributeName::DisableApiTermination),
        read(InstanceAttributeName::InstanceInitiatedShutdownBehavior),
    );
    let protected = protection?.disable_api_termination().and_then(|v| v.value()).unwrap_or(false);
    let stops = shutdown?.instance_initiated_shutdown_behavior().and_then(|v| v.value()).is_some_and(|v| v == "stop");
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

/// Sets what [`termination_settings`] finds missing. Returns false when nothing was.
/// Turns termination protection on and makes shutdown stop, given the settings read before
/// (`(protected, stops)` from [`termination_settings`]); true when something changed.
pub async fn protect_from_termination(
    ec2: &Client,
    instance_id: &str,
    (protected, stops): (bool, bool),
) -> Result<bool, AwsError> {
    let protect = async {
        if protected {
            return Ok(());
        }
        persist(Priority::Preservation, || async {
            ec2.modify_instance_attribute()
                .instance_id(instance_id)
                .disable_api_termination(AttributeBooleanValue::builder().value(true).build())
                .send()
                .await
                .aws("ModifyInstanceAttribute")
        })
        .await
        .map(|_| ())
    };
    let stop_on_shutdown = async {
        if stops {
            return Ok(());
        }
        persist(Priority::Preservation, || async {
            ec2.modify_instance_attribute()
                .instance_id(instance_id)
                .instance_initiated_shutdown_behavior(AttributeValue::builder().value("stop").build())
                .send()
                .await
                .aws("ModifyInstanceAttribute")
        })
        .await
        .map(|_| ())
    };
    let (protect, stop_on_shutdown) = tokio::join!(protect, stop_on_shutdown);
    protect?;
    stop_on_shutdown?;
    Ok(!(protected && stops))
}

pub async fn disassociate_instance_profile(ec2: &Client, association_id: &str) -> Result<(), AwsError> {
    // Already gone (a retried call whose first answer was lost, a concurrent delivery): done.
    ignoring(
        "InvalidAssociationID.NotFound",
        persist(Priority::Preservation, || async {
            ec2.disassociate_iam_instance_profile()
                .association_id(association_id)
                .send()
                .await
                .aws("DisassociateIamInstanceProfile")
        })
        .await,
    )
}

/// Tags one resource; a throttled call waits for EC2's bucket to refill. An ENI's tags are the
/// record its isolation move waits for: they go first, at once. Other resources' tags (an
/// instance's records and case tags) go with those other steps write at the same moment.
pub async fn create_tags(ec2: &Client, resource_id: &str, pairs: &[(String, String)]) -> Result<(), AwsError> {
    let send = |tags: Vec<(String, String)>, priority| async move {
        persist(priority, || async {
            ec2.create_tags().resources(resource_id).set_tags(Some(to_tags(&tags))).send().await.aws("CreateTags")
        })
        .await
        .map(|_| ())
    };
    if resource_id.starts_with("eni-") {
        return send(pairs.to_vec(), Priority::Containment).await;
    }
    super::tag_batch::tag_together(resource_id, pairs, |tags| send(tags, Priority::Preservation)).await
}

pub async fn stop_instance(ec2: &Client, instance_id: &str) -> Result<(), AwsError> {
    ec2.stop_instances().instance_ids(instance_id).send().await.aws("StopInstances")?;
    Ok(())
}

/// Treats one AWS error code as success: the state the call wanted is already there.
pub(crate) fn ignoring<T>(code: &str, result: Result<T, AwsError>) -> Result<(), AwsError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_code(code) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Associates an instance profile by ARN (a release puts back the one the case removed). A
/// refusal because that very profile is associated already (a retried call whose first answer
/// was lost) counts as done.
pub async fn associate_instance_profile(ec2: &Client, instance_id: &str, profile_arn: &str) -> Result<(), AwsError> {
    let associated = ec2
        .associate_iam_instance_profile()
        .instance_id(instance_id)
        .iam_instance_profile(aws_sdk_ec2::types::IamInstanceProfileSpecification::builder().arn(profile_arn).build())
        .send()
        .await
        .aws("AssociateIamInstanceProfile");
    match associated {
        Ok(_) => Ok(()),
        Err(e) => match instance_profile_association(ec2, instance_id).await? {
            Some(now) if now.profile_arn == profile_arn => Ok(()),
            _ => Err(e),
        },
    }
}

/// Sets termination protection and the shutdown behaviour (`stop` / `terminate`), both at once.
pub async fn set_termination_settings(
    ec2: &Client,
    instance_id: &str,
    protected: bool,
    shutdown_behavior: &str,
) -> Result<(), AwsError> {
    let protection = ec2
        .modify_instance_attribute()
        .instance_id(instance_id)
        .disable_api_termination(AttributeBooleanValue::builder().value(protected).build())
        .send();
    let shutdown = ec2
        .modify_instance_attribute()
        .instance_id(instance_id)
        .instance_initiated_shutdown_behavior(AttributeValue::builder().value(shutdown_behavior).build())
        .send();
    let (protection, shutdown) = tokio::join!(protection, shutdown);
    protection.aws("ModifyInstanceAttribute")?;
    shutdown.aws("ModifyInstanceAttribute")?;
    Ok(())
}
