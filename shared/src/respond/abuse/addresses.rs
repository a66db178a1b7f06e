//! What an abuse report names, turned into instances: an instance id as it is, an IP address
//! into the instance that holds it (Elastic, public or private), never a guess.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::Serialize;

use crate::aws::addresses::{
    find_elastic_ip, instances_with_public_ip, interface_instance, interfaces_with_private_ip,
};
use crate::aws::AwsError;
use crate::events::validate_instance_id;

/// What an AWS Health affected entity is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entity {
    Instance(String),
    Ip(IpAddr),
    /// Anything else (a domain, an S3 bucket, an ARN of another service): reported, not acted on.
    Other(String),
}

pub fn classify_entity(value: &str) -> Entity {
    let value = value.trim();
    // Health names instances by id or by ARN.
    let id = value.rsplit('/').next().unwrap_or(value);
    if id.starts_with("i-") && validate_instance_id(id).is_ok() {
        return Entity::Instance(id.to_string());
    }
    match value.parse::<IpAddr>() {
        Ok(ip) => Entity::Ip(ip),
        Err(_) => Entity::Other(value.chars().take(200).collect()),
    }
}

/// How an IP address was found on an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    Elastic,
    Public,
    Private,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedAddress {
    pub ip: String,
    pub kind: AddressKind,
    pub instance_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_interface_id: Option<String>,
}

/// Finds the one instance holding `ip` in this account and region: an Elastic IP, an instance's
/// public IP, else a private IP. Private addresses repeat across VPCs: when more than one
/// instance holds it, that is reported (the inner `Err`), not guessed.
pub async fn resolve_ip(ec2: &aws_sdk_ec2::Client, ip: IpAddr) -> Result<Result<ResolvedAddress, String>, AwsError> {
    let text = ip.to_string();

    if let Some(address) = find_elastic_ip(ec2, &text).await? {
        let eni = address.network_interface_id;
        let instance = match address.instance_id.filter(|i| !i.is_empty()) {
            Some(id) => Some(id),
            None => match &eni {
                Some(eni_id) => interface_instance(ec2, eni_id).await?,
                None => None,
            },
        };
        return Ok(match instance {
            Some(instance_id) => {
                Ok(ResolvedAddress { ip: text, kind: AddressKind::Elastic, instance_id, network_interface_id: eni })
            }
            None => Err(format!(
                "Elastic IP {text} ({}) is not associated with an instance",
                address.allocation_id.as_deref().unwrap_or("no allocation id")
            )),
        });
    }

    let public_ids = instances_with_public_ip(ec2, &text).await?;
    if let Some(ambiguous) = ambiguity(&text, &public_ids) {
        return Ok(Err(ambiguous));
    }
    if let Some(instance_id) = public_ids.into_iter().next() {
        return Ok(Ok(ResolvedAddress {
            ip: text,
            kind: AddressKind::Public,
            instance_id,
            network_interface_id: None,
        }));
    }

    let holders = interfaces_with_private_ip(ec2, &text).await?;
    let instances: BTreeSet<String> = holders.iter().filter_map(|(_, i)| i.clone()).collect();
    if let Some(ambiguous) = ambiguity(&text, &instances) {
        return Ok(Err(ambiguous));
    }
    Ok(match (instances.into_iter().next(), holders.first()) {
        (Some(instance_id), _) => Ok(ResolvedAddress {
            network_interface_id: holders
                .iter()
                .find(|(_, i)| i.as_deref() == Some(&instance_id))
                .map(|(e, _)| e.clone()),
            ip: text,
            kind: AddressKind::Private,
            instance_id,
        }),
        (None, Some((eni, _))) => {
            Err(format!("{text} is on network interface {eni}, which is not attached to an instance"))
        }
        (None, None) => Err(format!("no Elastic, public or private address {text} in this account and region")),
    })
}

fn ambiguity(ip: &str, instances: &BTreeSet<String>) -> Option<String> {
    (instances.len() > 1).then(|| {
        format!(
            "{ip} is held by more than one instance ({}): not guessing which",
            instances.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_are_classified_without_guessing() {
        assert_eq!(classify_entity("i-0a1b2c3d4e5f60718"), Entity::Instance("i-0a1b2c3d4e5f60718".into()));
        assert_eq!(
            classify_entity("arn:aws:ec2:us-east-1:123456789012:instance/i-0a1b2c3d4e5f60718"),
            Entity::Instance("i-0a1b2c3d4e5f60718".into())
        );
        assert_eq!(classify_entity("203.0.113.24"), Entity::Ip("203.0.113.24".parse().unwrap()));
        assert_eq!(classify_entity("2001:db8::1"), Entity::Ip("2001:db8::1".parse().unwrap()));
        assert_eq!(classify_entity("i-zzz"), Entity::Other("i-zzz".into()));
        assert_eq!(classify_entity("example.com"), Entity::Other("example.com".into()));
    }
}
