//! Which security group rules expose administrative and data ports to the whole internet: the
//! one definition close-open-ports closes and audit-posture reports. No AWS call.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::engine::config::ConfigError;

pub const ADMIN_PORTS: &str = "FIREBREAK_ADMIN_PORTS";
/// SSH, RDP, MySQL, PostgreSQL, SQL Server, Redis, Elasticsearch, MongoDB.
pub const DEFAULT_ADMIN_PORTS: [u16; 8] = [22, 3389, 3306, 5432, 1433, 6379, 9200, 27017];
pub const ANYWHERE_V4: &str = "0.0.0.0/0";
pub const ANYWHERE_V6: &str = "::/0";

/// A comma-separated list of TCP/UDP ports, 1-65535, at least one.
pub fn admin_ports(name: &'static str, value: &str) -> Result<Vec<u16>, ConfigError> {
    let invalid = || ConfigError::Invalid {
        name,
        value: value.to_string(),
        why: "expected a comma-separated list of ports from 1 to 65535",
    };
    let mut ports = value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u16>().ok().filter(|&n| n > 0).ok_or_else(invalid))
        .collect::<Result<Vec<u16>, _>>()?;
    ports.sort_unstable();
    ports.dedup();
    if ports.is_empty() {
        return Err(invalid());
    }
    Ok(ports)
}

/// One ingress rule as DescribeSecurityGroupRules returns it: one source per rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngressRule {
    pub rule_id: String,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all traffic) or a protocol number.
    pub protocol: String,
    /// -1 when the protocol has no ports (all traffic, ICMP).
    pub from_port: i32,
    pub to_port: i32,
    /// The IPv4 or IPv6 CIDR the rule admits; `None` for a prefix list or a group reference.
    pub cidr: Option<String>,
}

impl IngressRule {
    pub fn ports(&self) -> String {
        if self.is_all_traffic() || self.from_port < 0 {
            "all".into()
        } else {
            format!("{}-{}", self.from_port, self.to_port)
        }
    }

    pub fn is_all_traffic(&self) -> bool {
        matches!(self.protocol.as_str(), "-1" | "all")
    }

    /// A rule back from its record (`tcp 22-22 0.0.0.0/0`, `-1 all ::/0`), for a release; the
    /// rule id is gone with the rule.
    pub fn from_record(record: &str) -> Option<Self> {
        let mut parts = record.split(' ');
        let (protocol, ports, cidr) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || cidr == "-" || protocol.is_empty() {
            return None;
        }
        let (from_port, to_port) = match ports {
            "all" => (-1, -1),
            range => {
                let (from, to) = range.split_once('-')?;
                (from.parse().ok()?, to.parse().ok()?)
            }
        };
        Some(Self { rule_id: String::new(), protocol: protocol.into(), from_port, to_port, cidr: Some(cidr.into()) })
    }

    /// The restorable record written in the group's tag: `tcp 22-22 0.0.0.0/0`.
    pub fn record(&self) -> String {
        format!("{} {} {}", self.protocol, self.ports(), self.cidr.as_deref().unwrap_or("-"))
    }
}

impl fmt::Display for IngressRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let protocol = if self.is_all_traffic() { "all traffic" } else { self.protocol.as_str() };
        write!(f, "{} ({protocol} ports {} from {})", self.rule_id, self.ports(), self.cidr.as_deref().unwrap_or("-"))
    }
}

pub fn is_anywhere(cidr: &str) -> bool {
    cidr == ANYWHERE_V4 || cidr == ANYWHERE_V6
}

/// The configured ports this rule opens to the whole internet (IPv4 or IPv6), in order. Empty for
/// a rule with a narrower source, for ICMP, or for a port range that covers none of them.
pub fn exposing_ports(rule: &IngressRule, admin_ports: &[u16]) -> Vec<u16> {
    if !rule.cidr.as_deref().is_some_and(is_anywhere) {
        return Vec::new();
    }
    let covers = |port: u16| -> bool {
        if rule.is_all_traffic() {
            return true;
        }
        if !matches!(rule.protocol.as_str(), "tcp" | "udp" | "6" | "17") {
            return false;
        }
        // tcp/udp with no ports given means every port.
        rule.from_port < 0 || (rule.from_port..=rule.to_port).contains(&i32::from(port))
    };
    admin_ports.iter().copied().filter(|&port| covers(port)).collect()
}

/// A rule to revoke and the admin ports it exposed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExposingRule {
    #[serde(flatten)]
    pub rule: IngressRule,
    pub exposed_ports: Vec<u16>,
}

pub fn exposing_rules(rules: &[IngressRule], admin_ports: &[u16]) -> Vec<ExposingRule> {
    rules
        .iter()
        .filter_map(|rule| {
            let exposed_ports = exposing_ports(rule, admin_ports);
            (!exposed_ports.is_empty()).then(|| ExposingRule { rule: rule.clone(), exposed_ports })
        })
        .collect()
}

/// A security group as read: its tags and its ingress rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupFacts {
    pub group_id: String,
    pub group_name: String,
    pub vpc_id: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub ingress: Vec<IngressRule>,
}

/// A rule as the tests of exposure and close-open-ports' plan write it.
#[cfg(test)]
pub(crate) fn rule(id: &str, protocol: &str, from: i32, to: i32, cidr: &str) -> IngressRule {
    IngressRule { rule_id: id.into(), protocol: protocol.into(), from_port: from, to_port: to, cidr: Some(cidr.into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: [u16; 8] = DEFAULT_ADMIN_PORTS;

    #[test]
    fn ssh_open_to_the_world_on_both_families_is_exposing_and_https_is_not() {
        assert_eq!(exposing_ports(&rule("sgr-1", "tcp", 22, 22, "0.0.0.0/0"), &ADMIN), vec![22]);
        assert_eq!(exposing_ports(&rule("sgr-2", "tcp", 22, 22, "::/0"), &ADMIN), vec![22]);
        assert!(exposing_ports(&rule("sgr-3", "tcp", 443, 443, "0.0.0.0/0"), &ADMIN).is_empty());
        assert!(exposing_ports(&rule("sgr-4", "tcp", 22, 22, "10.0.0.0/8"), &ADMIN).is_empty());
    }

    #[test]
    fn ranges_and_all_traffic_cover_every_admin_port_inside_them() {
        let mut sorted = ADMIN.to_vec();
        sorted.sort_unstable();
        let mut whole = exposing_ports(&rule("sgr-1", "tcp", 0, 65535, "0.0.0.0/0"), &ADMIN);
        whole.sort_unstable();
        assert_eq!(whole, sorted);
        let mut all = exposing_ports(&rule("sgr-2", "-1", -1, -1, "::/0"), &ADMIN);
        all.sort_unstable();
        assert_eq!(all, sorted);
        assert_eq!(exposing_ports(&rule("sgr-3", "tcp", 3000, 3400, "0.0.0.0/0"), &ADMIN), vec![3389, 3306]);
        assert_eq!(exposing_ports(&rule("sgr-4", "6", 20, 23, "0.0.0.0/0"), &ADMIN), vec![22]);
        assert!(exposing_ports(&rule("sgr-5", "icmp", -1, -1, "0.0.0.0/0"), &ADMIN).is_empty());
        assert!(exposing_ports(&rule("sgr-6", "tcp", 8000, 9000, "0.0.0.0/0"), &ADMIN).is_empty());
        let group_reference = IngressRule { cidr: None, ..rule("sgr-7", "-1", -1, -1, "") };
        assert!(exposing_ports(&group_reference, &ADMIN).is_empty());
    }
}
