//! EC2 and S3 calls that keep an instance investigable: the forensic instance profile, egress to
//! the VPC's Systems Manager endpoints, and the instance's metadata, console output and screenshot
//! written once to the evidence bucket.

use aws_sdk_ec2::types::{IamInstanceProfileSpecification, Instance, IpPermission, UserIdGroupPair};
use aws_sdk_ec2::Client;
use serde_json::{json, Value};

use super::ec2::{filter, ignoring, tag_map};
use crate::aws::{AwsError, AwsResultExt};

/// The description on every egress rule Firebreak adds to an isolation group for an endpoint:
/// how the isolation group's check tells it from a rule someone else added.
pub const ENDPOINT_RULE_DESCRIPTION: &str = "firebreak: HTTPS to a Systems Manager VPC endpoint";

/// The profile's name from its ARN (`arn:aws:iam::1:instance-profile/path/name`) or a name.
pub fn profile_name(arn_or_name: &str) -> &str {
    arn_or_name.rsplit('/').next().unwrap_or(arn_or_name)
}

/// Puts the profile (an ARN, or a name) in place of the association `association_id`.
pub async fn replace_instance_profile(ec2: &Client, association_id: &str, profile: &str) -> Result<(), AwsError> {
    let spec = IamInstanceProfileSpecification::builder();
    let spec = if profile.starts_with("arn:") { spec.arn(profile) } else { spec.name(profile) };
    ec2.replace_iam_instance_profile_association()
        .association_id(association_id)
        .iam_instance_profile(spec.build())
        .send()
        .await
        .aws("ReplaceIamInstanceProfileAssociation")?;
    Ok(())
}

/// Associates a profile by name with an instance that has none.
pub async fn associate_instance_profile_named(
    ec2: &Client,
    instance_id: &str,
    profile_name: &str,
) -> Result<(), AwsError> {
    ec2.associate_iam_instance_profile()
        .instance_id(instance_id)
        .iam_instance_profile(IamInstanceProfileSpecification::builder().name(profile_name).build())
        .send()
        .await
        .aws("AssociateIamInstanceProfile")?;
    Ok(())
}

/// An interface endpoint of the VPC: its service (`com.amazonaws.us-east-1.ssm`) and groups.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceEndpoint {
    pub service_name: String,
    pub group_ids: Vec<String>,
}

/// The VPC's interface endpoints that are available (or pending).
pub async fn interface_endpoints(ec2: &Client, vpc_id: &str) -> Result<Vec<InterfaceEndpoint>, AwsError> {
    let response = ec2
        .describe_vpc_endpoints()
        .filters(filter("vpc-id", [vpc_id]))
        .filters(filter("vpc-endpoint-type", ["Interface"]))
        .send()
        .await
        .aws("DescribeVpcEndpoints")?;
    Ok(response
        .vpc_endpoints()
        .iter()
        .filter(|e| !matches!(e.state().map(|s| s.as_str()), Some("deleting" | "deleted" | "rejected" | "failed")))
        .map(|e| InterfaceEndpoint {
            service_name: e.service_name().unwrap_or_default().to_string(),
            group_ids: e.groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect(),
        })
        .collect())
}

/// Allows HTTPS from the isolation group to exactly the given groups; a rule already there counts.
pub async fn allow_https_to_groups(ec2: &Client, group_id: &str, to_group_ids: &[String]) -> Result<(), AwsError> {
    for to in to_group_ids {
        let rule = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .user_id_group_pairs(UserIdGroupPair::builder().group_id(to).description(ENDPOINT_RULE_DESCRIPTION).build())
            .build();
        // One rule per request: a request naming a rule that exists fails whole.
        ignoring(
            "InvalidPermission.Duplicate",
            ec2.authorize_security_group_egress()
                .group_id(group_id)
                .ip_permissions(rule)
                .send()
                .await
                .aws("AuthorizeSecurityGroupEgress"),
        )?;
    }
    Ok(())
}

/// The rule is one Firebreak adds for an endpoint: HTTPS to security groups only, marked.
pub fn is_endpoint_rule(rule: &IpPermission) -> bool {
    rule.ip_protocol() == Some("tcp")
        && rule.from_port() == Some(443)
        && rule.to_port() == Some(443)
        && rule.ip_ranges().is_empty()
        && rule.ipv6_ranges().is_empty()
        && rule.prefix_list_ids().is_empty()
        && !rule.user_id_group_pairs().is_empty()
        && rule.user_id_group_pairs().iter().all(|p| p.description() == Some(ENDPOINT_RULE_DESCRIPTION))
}

/// DescribeInstances' record of the instance, as JSON in AWS's field names; `None` when unknown.
pub async fn instance_metadata(ec2: &Client, instance_id: &str) -> Result<Option<Value>, AwsError> {
    let response = ec2.describe_instances().instance_ids(instance_id).send().await.aws("DescribeInstances")?;
    Ok(response
        .reservations()
        .iter()
        .flat_map(|r| r.instances().iter().map(move |i| (r, i)))
        .find(|(_, i)| i.instance_id() == Some(instance_id))
        .map(|(r, i)| instance_json(r.owner_id(), i)))
}

fn instance_json(owner: Option<&str>, i: &Instance) -> Value {
    let text = |v: Option<&str>| v.map(str::to_string);
    json!({
        "OwnerId": owner,
        "InstanceId": i.instance_id(),
        "InstanceType": i.instance_type().map(|t| t.as_str().to_string()),
        "ImageId": i.image_id(),
        "LaunchTime": i.launch_time().map(|t| t.to_string()),
        "State": i.state().and_then(|s| s.name()).map(|n| n.as_str().to_string()),
        "StateTransitionReason": i.state_transition_reason(),
        "Platform": i.platform_details(),
        "Architecture": i.architecture().map(|a| a.as_str().to_string()),
        "KeyName": i.key_name(),
        "VpcId": i.vpc_id(),
        "SubnetId": i.subnet_id(),
        "AvailabilityZone": i.placement().and_then(|p| text(p.availability_zone())),
        "PrivateIpAddress": i.private_ip_address(),
        "PrivateDnsName": i.private_dns_name(),
        "PublicIpAddress": i.public_ip_address(),
        "PublicDnsName": i.public_dns_name(),
        "IamInstanceProfile": i.iam_instance_profile().and_then(|p| text(p.arn())),
        "SecurityGroups": i.security_groups().iter().map(|g| json!({"GroupId": g.group_id(), "GroupName": g.group_name()})).collect::<Vec<_>>(),
        "NetworkInterfaces": i.network_interfaces().iter().map(|n| json!({
            "NetworkInterfaceId": n.network_interface_id(),
            "SubnetId": n.subnet_id(),
            "MacAddress": n.mac_address(),
            "PrivateIpAddresses": n.private_ip_addresses().iter().map(|a| a.private_ip_address()).collect::<Vec<_>>(),
            "PublicIp": n.association().and_then(|a| text(a.public_ip())),
            "Groups": n.groups().iter().map(|g| g.group_id()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "BlockDeviceMappings": i.block_device_mappings().iter().map(|m| json!({
            "DeviceName": m.device_name(),
            "VolumeId": m.ebs().and_then(|e| text(e.volume_id())),
            "DeleteOnTermination": m.ebs().and_then(|e| e.delete_on_termination()),
        })).collect::<Vec<_>>(),
        "MetadataOptions": i.metadata_options().map(|m| json!({
            "HttpTokens": m.http_tokens().map(|t| t.as_str().to_string()),
            "HttpEndpoint": m.http_endpoint().map(|t| t.as_str().to_string()),
        })),
        "Tags": tag_map(i.tags()),
    })
}

/// The instance's console output (the serial console's last 64 KB), decoded; `None` when EC2 has none.
pub async fn console_output(ec2: &Client, instance_id: &str) -> Result<Option<Vec<u8>>, AwsError> {
    let response = ec2.get_console_output().instance_id(instance_id).send().await.aws("GetConsoleOutput")?;
    Ok(response.output().filter(|o| !o.is_empty()).map(decode_base64))
}

/// A JPG screenshot of the instance's console, decoded.
pub async fn console_screenshot(ec2: &Client, instance_id: &str) -> Result<Option<Vec<u8>>, AwsError> {
    let response = ec2.get_console_screenshot().instance_id(instance_id).send().await.aws("GetConsoleScreenshot")?;
    Ok(response.image_data().filter(|o| !o.is_empty()).map(decode_base64))
}

/// EC2 returns console output and screenshots in base64; whatever is not base64 is skipped.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let (mut out, mut bits, mut count) = (Vec::with_capacity(text.len() * 3 / 4), 0u32, 0u8);
    for sextet in text.bytes().filter_map(value) {
        bits = (bits << 6) | u32::from(sextet);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

/// Whether a write landed or the key held an object already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    AlreadyThere,
}

/// Writes an object only if the key holds none (`If-None-Match: *`): evidence is never
/// overwritten, and a redelivery finds its earlier write.
pub async fn put_evidence(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<Written, AwsError> {
    let put = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .if_none_match("*")
        .body(body.into())
        .send()
        .await
        .aws("PutObject");
    match put {
        Ok(_) => Ok(Written::Created),
        Err(e) if e.is_code("PreconditionFailed") || e.is_code("ConditionalRequestConflict") => {
            Ok(Written::AlreadyThere)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_what_ec2_sends() {
        assert_eq!(decode_base64("aGVsbG8gd29ybGQ="), b"hello world");
        assert_eq!(decode_base64("TWFu\nTWE="), b"ManMa");
        assert_eq!(profile_name("arn:aws:iam::111122223333:instance-profile/fb/forensic"), "forensic");
        assert_eq!(profile_name("forensic"), "forensic");
    }
}
