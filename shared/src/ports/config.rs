//! close-open-ports' own settings, on top of the common ones.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::engine::config::{CommonConfig, ConfigError};
use crate::exposure::{admin_ports, ADMIN_PORTS, DEFAULT_ADMIN_PORTS};

pub const ALLOWED_CIDRS: &str = "FIREBREAK_ALLOWED_CIDRS";

/// What close-open-ports closes, and for whom it reopens.
#[derive(Debug, Clone, PartialEq)]
pub struct PortsConfig {
    pub common: CommonConfig,
    pub admin_ports: Vec<u16>,
    /// After revoking a world-open rule, the same port is authorized for each of these CIDRs.
    pub allowed_cidrs: Vec<String>,
}

/// The common settings' defaults, but any severity: the port is open whatever the finding's
/// severity (brute-force findings against a TARGET are low).
fn common_defaults() -> CommonConfig {
    CommonConfig { min_severity: 0.0, ..Default::default() }
}

impl Default for PortsConfig {
    fn default() -> Self {
        Self { common: common_defaults(), admin_ports: DEFAULT_ADMIN_PORTS.to_vec(), allowed_cidrs: Vec::new() }
    }
}

impl PortsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source; unset variables take the defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            common: CommonConfig::from_lookup_or(&lookup, common_defaults())?,
            admin_ports: match lookup(ADMIN_PORTS) {
                None => defaults.admin_ports,
                Some(value) => admin_ports(ADMIN_PORTS, &value)?,
            },
            allowed_cidrs: match lookup(ALLOWED_CIDRS) {
                None => defaults.allowed_cidrs,
                Some(value) => allowed_cidrs(&value)?,
            },
        })
    }
}

fn allowed_cidrs(value: &str) -> Result<Vec<String>, ConfigError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|cidr| {
            if is_valid_cidr(cidr) {
                Ok(cidr.to_string())
            } else {
                Err(ConfigError::Invalid {
                    name: ALLOWED_CIDRS,
                    value: value.to_string(),
                    why: "expected comma-separated IPv4 or IPv6 CIDRs, none of them /0 (that is the whole internet)",
                })
            }
        })
        .collect()
}

fn is_valid_cidr(cidr: &str) -> bool {
    let Some((address, prefix)) = cidr.split_once('/') else {
        return false;
    };
    let Ok(prefix) = prefix.parse::<u8>() else {
        return false;
    };
    let max = if address.parse::<Ipv4Addr>().is_ok() {
        32
    } else if address.parse::<Ipv6Addr>().is_ok() {
        128
    } else {
        return false;
    };
    (1..=max).contains(&prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::config::{DRY_RUN, MIN_SEVERITY};
    use std::collections::BTreeMap;

    #[test]
    fn configuration_is_read_and_validated() {
        let vars = |pairs: &[(&str, &str)]| {
            let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            PortsConfig::from_lookup(move |name| map.get(name).cloned())
        };
        assert_eq!(vars(&[]).unwrap(), PortsConfig::default());
        assert_eq!(PortsConfig::default().common.min_severity, 0.0, "any severity by default");
        let config =
            vars(&[(ADMIN_PORTS, "22, 8080,22"), (ALLOWED_CIDRS, "198.51.100.7/32,2001:db8::/32"), (DRY_RUN, "true")])
                .unwrap();
        assert_eq!(config.admin_ports, vec![22, 8080]);
        assert_eq!(config.allowed_cidrs, vec!["198.51.100.7/32", "2001:db8::/32"]);
        assert!(config.common.dry_run);
        assert!(vars(&[(ADMIN_PORTS, "ssh")]).is_err());
        assert!(vars(&[(ADMIN_PORTS, "0")]).is_err());
        assert!(vars(&[(ADMIN_PORTS, "")]).is_err());
        assert!(vars(&[(ALLOWED_CIDRS, "0.0.0.0/0")]).is_err(), "re-adding the whole internet is refused");
        assert!(vars(&[(ALLOWED_CIDRS, "10.0.0.0")]).is_err());
        assert!(vars(&[(MIN_SEVERITY, "12")]).is_err());
        assert_eq!(vars(&[(MIN_SEVERITY, "5")]).unwrap().common.min_severity, 5.0);
    }
}
