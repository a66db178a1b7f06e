//! contain-lambda's settings: the common ones only (dry run, severity, exemption tag, samples,
//! ledger); what it does is fixed and undone by a release.

use crate::engine::config::{CommonConfig, ConfigError};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainLambdaConfig {
    pub common: CommonConfig,
}

impl ContainLambdaConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self { common: CommonConfig::from_lookup(lookup)? })
    }
}
