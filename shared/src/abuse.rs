//! What abuse reports and traffic alarms name, turned into instances: an IP address becomes the
//! instance that holds it (Elastic, public or private), never a guess; a billing alarm becomes
//! the list of instances sending the most.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_sdk_ec2::types::Filter;
use serde::Serialize;

use crate::aws::{AwsError, AwsResultExt};
use crate::engine::config::{flag, ConfigError};
use crate::events::validate_instance_id;

pub const QUARANTINE_ON_BILLING_ALARM: &str = "FIREBREAK_QUARANTINE_ON_BILLING_ALARM";
pub const TOP_TALKERS: &str = "FIREBREAK_TOP_TALKERS";
pub const TRAFFIC_WINDOW_HOURS: &str = "FIREBREAK_TRAFFIC_WINDOW_HOURS";

/// GetMetricData takes at most 500 queries per call; more instances than that are not ranked.
const MAX_RANKED_INSTANCES: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub struct AbuseConfig {
    /// On a billing alarm, quarantine the instance with the most outbound traffic. Off by default:
    /// a bill says money is being spent, not which instance is compromised.
    pub quarantine_on_billing_alarm: bool,
    /// How many instances a billing alarm's report lists.
    pub top_talkers: usize,
    /// How far back outbound traffic is summed.
    pub traffic_window: Duration,
}

impl Default for AbuseConfig {
    fn default() -> Self {
        Self { quarantine_on_billing_alarm: false, top_talkers: 5, traffic_window: Duration::from_secs(3 * 3600) }
    }
}

impl AbuseConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let number = |name: &'static str, max: u64, why: &'static str| -> Result<Option<u64>, ConfigError> {
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(value) => match value.trim().parse::<u64>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
                    _ => Err(ConfigError::Invalid { name, value, why }),
                },
            }
        };
        Ok(Self {
            quarantine_on_billing_alarm: flag(
                QUARANTINE_ON_BILLING_ALARM,
                lookup(QUARANTINE_ON_BILLING_ALARM),
                defaults.quarantine_on_billing_alarm,
            )?,
            top_talkers: number(TOP_TALKERS, 50, "expected a number of instances from 1 to 50")?
                .map_or(defaults.top_talkers, |n| n as usize),
            traffic_window: number(TRAFFIC_WINDOW_HOURS, 24 * 14, "expected hours from 1 to 336")?
                .map_or(defaults.traffic_window, |h| Duration::from_secs(h * 3600)),
        })
    }
}

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

/// Why an entity led to no quarantine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unresolved {
    pub entity: String,
    pub reason: String,
}

/// Finds the one instance holding `ip` in this account and region: an Elastic IP (DescribeAddresses),
/// an instance's public IP (DescribeInstances `ip-address`), else a private IP
/// (DescribeNetworkInterfaces `addresses.private-ip-address`). Private addresses repeat across VPCs:
/// when more than one instance holds it, that is reported, not guessed.
pub async fn resolve_ip(ec2: &aws_sdk_ec2::Client, ip: IpAddr) -> Result<Result<ResolvedAddress, String>, AwsError> {
    let text = ip.to_string();
    let filter = |name: &str| Filter::builder().name(name).values(&text).build();

    let addresses = ec2.describe_addresses().filters(filter("public-ip")).send().await.aws("DescribeAddresses")?;
    if let Some(address) = addresses.addresses().first() {
        let eni = address.network_interface_id().map(str::to_string);
        let instance = match address.instance_id().filter(|i| !i.is_empty()) {
            Some(id) => Some(id.to_string()),
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
                address.allocation_id().unwrap_or("no allocation id")
            )),
        });
    }

    let public = ec2.describe_instances().filters(filter("ip-address")).send().await.aws("DescribeInstances")?;
    let public_ids: BTreeSet<String> = public
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
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

    let private = ec2
        .describe_network_interfaces()
        .filters(filter("addresses.private-ip-address"))
        .send()
        .await
        .aws("DescribeNetworkInterfaces")?;
    let holders: Vec<(String, Option<String>)> = private
        .network_interfaces()
        .iter()
        .map(|eni| {
            (
                eni.network_interface_id().unwrap_or_default().to_string(),
                eni.attachment().and_then(|a| a.instance_id()).map(str::to_string),
            )
        })
        .collect();
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

async fn interface_instance(ec2: &aws_sdk_ec2::Client, eni_id: &str) -> Result<Option<String>, AwsError> {
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

/// One instance's outbound traffic over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopTalker {
    pub instance_id: String,
    pub network_out_bytes: f64,
}

/// The running instances that sent the most bytes (`AWS/EC2 NetworkOut`, summed over the window),
/// highest first, at most `count`. Instances with no data are left out.
pub async fn top_talkers(
    ec2: &aws_sdk_ec2::Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    window: Duration,
    count: usize,
) -> Result<Vec<TopTalker>, AwsError> {
    let mut instance_ids = Vec::new();
    let mut pages = ec2
        .describe_instances()
        .filters(Filter::builder().name("instance-state-name").values("running").values("stopping").build())
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.aws("DescribeInstances")?;
        instance_ids.extend(
            page.reservations().iter().flat_map(|r| r.instances()).filter_map(|i| i.instance_id().map(str::to_string)),
        );
        if instance_ids.len() >= MAX_RANKED_INSTANCES {
            instance_ids.truncate(MAX_RANKED_INSTANCES);
            break;
        }
    }
    if instance_ids.is_empty() {
        return Ok(Vec::new());
    }
    let now = SystemTime::now();
    let period = i32::try_from(window.as_secs()).unwrap_or(i32::MAX).max(60) / 60 * 60;
    let queries: Vec<MetricDataQuery> = instance_ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            MetricDataQuery::builder()
                .id(format!("i{n}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/EC2")
                                .metric_name("NetworkOut")
                                .dimensions(Dimension::builder().name("InstanceId").value(id).build())
                                .build(),
                        )
                        .period(period)
                        .stat("Sum")
                        .build(),
                )
                .return_data(true)
                .build()
        })
        .collect();
    let mut sums: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut next_token = None;
    loop {
        let data = cloudwatch
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time((now - window).into())
            .end_time(now.into())
            .set_next_token(next_token)
            .send()
            .await
            .aws("GetMetricData")?;
        for result in data.metric_data_results() {
            if let Some(index) = result.id().and_then(|id| id.strip_prefix('i')).and_then(|n| n.parse::<usize>().ok()) {
                sums.push((index, result.values().to_vec()));
            }
        }
        next_token = data.next_token().map(str::to_string);
        if next_token.is_none() {
            break;
        }
    }
    Ok(rank(&instance_ids, &sums, count))
}

/// Sums each instance's datapoints (results may come in several pages), highest first, at most
/// `count`; instances without datapoints are left out.
pub fn rank(instance_ids: &[String], results: &[(usize, Vec<f64>)], count: usize) -> Vec<TopTalker> {
    let mut talkers: Vec<TopTalker> = Vec::new();
    for (index, values) in results {
        let Some(instance_id) = instance_ids.get(*index) else { continue };
        if values.is_empty() {
            continue;
        }
        let bytes: f64 = values.iter().sum();
        match talkers.iter_mut().find(|t| &t.instance_id == instance_id) {
            Some(known) => known.network_out_bytes += bytes,
            None => talkers.push(TopTalker { instance_id: instance_id.clone(), network_out_bytes: bytes }),
        }
    }
    talkers.sort_by(|a, b| b.network_out_bytes.total_cmp(&a.network_out_bytes));
    talkers.truncate(count);
    talkers
}

/// Bytes as a person reads them: `209.3 GB`.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
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

    #[test]
    fn config_defaults_and_limits() {
        let config = AbuseConfig::from_lookup(|_| None).unwrap();
        assert!(!config.quarantine_on_billing_alarm);
        assert_eq!(config.top_talkers, 5);
        assert!(AbuseConfig::from_lookup(|n| (n == TOP_TALKERS).then(|| "0".into())).is_err());
        assert!(AbuseConfig::from_lookup(|n| (n == QUARANTINE_ON_BILLING_ALARM).then(|| "sure".into())).is_err());
    }

    #[test]
    fn top_talkers_are_summed_across_pages_and_ranked() {
        let ids: Vec<String> = ["i-0000000a", "i-0000000b", "i-0000000c"].map(String::from).to_vec();
        let results = vec![(0, vec![1.0e6]), (1, vec![98.4e9, 2.0e9]), (2, vec![]), (0, vec![5.0e6]), (7, vec![1.0])];
        let ranked = rank(&ids, &results, 5);
        assert_eq!(ranked.len(), 2, "no data, no entry; unknown ids ignored");
        assert_eq!(ranked[0], TopTalker { instance_id: "i-0000000b".into(), network_out_bytes: 100.4e9 });
        assert_eq!(ranked[1].network_out_bytes, 6.0e6);
        assert_eq!(rank(&ids, &results, 1).len(), 1);
    }

    #[test]
    fn bytes_read_like_a_bill() {
        assert_eq!(human_bytes(209.3e9), "209.3 GB");
        assert_eq!(human_bytes(512.0), "512.0 B");
    }
}
