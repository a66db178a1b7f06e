//! Configuration from environment variables, read and validated once per cold start: the part
//! every function reads the same way, and the parsers the capabilities' own settings use.

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("{name}={value:?} is not valid: {why}")]
    Invalid { name: &'static str, value: String, why: &'static str },
    #[error("{0}")]
    Conflict(&'static str),
}

pub const MIN_SEVERITY: &str = "FIREBREAK_MIN_SEVERITY";
pub const EXEMPT_TAG_KEY: &str = "FIREBREAK_EXEMPT_TAG_KEY";
pub const DRY_RUN: &str = "FIREBREAK_DRY_RUN";
pub const ACT_ON_SAMPLE_FINDINGS: &str = "FIREBREAK_ACT_ON_SAMPLE_FINDINGS";
/// The DynamoDB table of the case ledger; unset, no case is written (tags still record all).
pub const CASES_TABLE: &str = "FIREBREAK_CASES_TABLE";

/// What every function reads the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct CommonConfig {
    /// Read, plan and report; make no mutating call.
    pub dry_run: bool,
    /// Resources carrying this tag key (any value) are never touched.
    pub exempt_tag_key: String,
    /// Findings below this GuardDuty severity (0-10) are reported and left alone.
    pub min_severity: f64,
    /// GuardDuty's generated sample findings name real-looking but fake resources: ignored unless set.
    pub act_on_sample_findings: bool,
    /// The case ledger's table, when there is one.
    pub cases_table: Option<String>,
}

impl Default for CommonConfig {
    fn default() -> Self {
        Self {
            dry_run: false,
            exempt_tag_key: "firebreak:exempt".into(),
            min_severity: 4.0,
            act_on_sample_findings: false,
            cases_table: None,
        }
    }
}

impl CommonConfig {
    /// Builds the configuration from any variable source; unset variables take the defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_lookup_or(lookup, Self::default())
    }

    /// The same, with a function's own defaults (close-open-ports acts on any severity).
    pub fn from_lookup_or(lookup: impl Fn(&str) -> Option<String>, defaults: Self) -> Result<Self, ConfigError> {
        Ok(Self {
            dry_run: flag(DRY_RUN, lookup(DRY_RUN), defaults.dry_run)?,
            exempt_tag_key: tag_key(EXEMPT_TAG_KEY, lookup(EXEMPT_TAG_KEY), defaults.exempt_tag_key)?,
            min_severity: severity(MIN_SEVERITY, lookup(MIN_SEVERITY), defaults.min_severity)?,
            act_on_sample_findings: flag(
                ACT_ON_SAMPLE_FINDINGS,
                lookup(ACT_ON_SAMPLE_FINDINGS),
                defaults.act_on_sample_findings,
            )?,
            cases_table: match lookup(CASES_TABLE).filter(|v| !v.is_empty()) {
                None => defaults.cases_table,
                Some(v)
                    if (3..=255).contains(&v.len())
                        && v.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) =>
                {
                    Some(v)
                }
                Some(value) => {
                    return Err(ConfigError::Invalid {
                        name: CASES_TABLE,
                        value,
                        why: "a DynamoDB table name is 3-255 characters of letters, digits and _.-",
                    })
                }
            },
        })
    }
}

/// Parses a boolean variable; unset means the default, anything unrecognised is an error rather
/// than a silent default (a typo in DRY_RUN must not arm the function).
pub fn flag(name: &'static str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        "" => Ok(default),
        _ => Err(ConfigError::Invalid { name, value, why: "expected true or false" }),
    }
}

/// A GuardDuty severity, 0 to 10.
pub fn severity(name: &'static str, value: Option<String>, default: f64) -> Result<f64, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.trim().parse::<f64>() {
        Ok(n) if (0.0..=10.0).contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid { name, value, why: "expected a number from 0 to 10 (GuardDuty severity)" }),
    }
}

/// Tag keys: 1-128 characters, not starting with the reserved `aws:` prefix.
pub fn tag_key(name: &'static str, value: Option<String>, default: String) -> Result<String, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if v.is_empty() || v.len() > 128 || v.to_ascii_lowercase().starts_with("aws:") => {
            Err(ConfigError::Invalid {
                name,
                value: v,
                why: "a tag key is 1-128 characters and may not start with aws:",
            })
        }
        Some(v) => Ok(v),
    }
}
