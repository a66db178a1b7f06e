//! The checks every function makes before acting, the same way: sample findings, severity and
//! the exemption tag.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::config::CommonConfig;

/// Why a signal is left alone by the common rules. Each is reported, never silent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Skip {
    SampleFinding,
    BelowSeverity { severity: f64, minimum: f64 },
    Exempt { resource: String, tag_key: String },
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SampleFinding => {
                write!(f, "GuardDuty sample finding (set FIREBREAK_ACT_ON_SAMPLE_FINDINGS to act on these)")
            }
            Self::BelowSeverity { severity, minimum } => {
                write!(f, "severity {severity} is below the configured minimum {minimum}")
            }
            Self::Exempt { resource, tag_key } => write!(f, "{resource} carries the exemption tag {tag_key}"),
        }
    }
}

/// A finding's sample mark and severity against the configuration (signals that are not
/// findings have neither).
pub fn triage(config: &CommonConfig, sample: bool, severity: Option<f64>) -> Option<Skip> {
    if sample && !config.act_on_sample_findings {
        return Some(Skip::SampleFinding);
    }
    severity
        .filter(|s| *s < config.min_severity)
        .map(|severity| Skip::BelowSeverity { severity, minimum: config.min_severity })
}

/// A resource whose tags carry the exemption key is never touched.
pub fn exempt(config: &CommonConfig, resource: &str, tags: &BTreeMap<String, String>) -> Option<Skip> {
    tags.contains_key(&config.exempt_tag_key)
        .then(|| Skip::Exempt { resource: resource.to_string(), tag_key: config.exempt_tag_key.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_severity_and_exemption() {
        let config = CommonConfig::default();
        assert_eq!(triage(&config, true, Some(8.0)), Some(Skip::SampleFinding));
        assert_eq!(triage(&config, false, Some(2.0)), Some(Skip::BelowSeverity { severity: 2.0, minimum: 4.0 }));
        assert_eq!(triage(&config, false, None), None);
        let acting = CommonConfig { act_on_sample_findings: true, ..CommonConfig::default() };
        assert_eq!(triage(&acting, true, Some(8.0)), None);
        let tags = BTreeMap::from([("firebreak:exempt".to_string(), String::new())]);
        assert!(exempt(&config, "i-1", &tags).is_some_and(|s| s.to_string().contains("i-1 carries")));
        assert_eq!(exempt(&config, "i-1", &BTreeMap::new()), None);
    }
}
