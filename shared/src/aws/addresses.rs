//! Who holds an IP address in this account and region: an Elastic IP (DescribeAddresses), an
//! instance's public address (DescribeInstances), a network interface's private address
//! (DescribeNetworkInterfaces). Deciding which answer counts is the abuse report's business.

use std::collections::BTreeSet;

use aws_sdk_ec2::Client;

use crate::aws::ec2::filter;
use crate::aws::{AwsError, AwsResultExt};

/// An Elastic IP as DescribeAddresses returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct ElasticIp {
    pub allocation_id: Option<String>,
    /// Empty or absent when the address is associated with an interface rather than an instance.
    pub instance_id: Option<String>,
    pub network_interface_id: Option<String>,
}

/// The Elastic IP whose public address is `ip`, if the account has one.
pub async fn find_elastic_ip(ec2: &Client, ip: &str) -> Result<Option<ElasticIp>, AwsError> {
    let addresses =
        ec2.describe_addresses().filters(filter("public-ip", [ip])).send().await.aws("DescribeAddresses")?;
    Ok(addresses.addresses().first().map(|address| ElasticIp {
        allocation_id: address.allocation_id().map(str::to_string),
        instance_id: address.instance_id().map(str::to_string),
        network_interface_id: address.network_interface_id().map(str::to_string),
    }))
}

/// The instances whose public IPv4 address is `ip` (DescribeInstances `ip-address`).
pub async fn instances_with_public_ip(ec2: &Client, ip: &str) -> Result<BTreeSet<String>, AwsError> {
    let public = ec2.describe_instances().filters(filter("ip-address", [ip])).send().await.aws("DescribeInstances")?;
    Ok(public
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect())
}

/// The network interfaces holding private address `ip`, each with the instance it is attached
/// to (none when detached or attached to something else).
pub async fn interfaces_with_private_ip(ec2: &Client, ip: &str) -> Result<Vec<(String, Option<String>)>, AwsError> {
    let private = ec2
        .describe_network_interfaces()
        .filters(filter("addresses.private-ip-address", [ip]))
        .send()
        .await
        .aws("DescribeNetworkInterfaces")?;
    Ok(private
        .network_interfaces()
        .iter()
        .map(|eni| {
            (
                eni.network_interface_id().unwrap_or_default().to_string(),
                eni.attachment().and_then(|a| a.instance_id()).map(str::to_string),
            )
        })
        .collect())
}

/// The instance a network interface is attached to, if any.
pub async fn interface_instance(ec2: &Client, eni_id: &str) -> Result<Option<String>, AwsError> {
    let described = ec2
        .describe_network_interfaces()
        .network_interface_ids(eni_id)
        .send()
        .await
        .aws("DescribeNetworkInterfaces")?;
    Ok(described
        .network_interfaces()
        .first()
        .and_then(|eni| eni.attachment())
        .and_then(|a| a.instance_id())
        .map(str::to_string))
}
