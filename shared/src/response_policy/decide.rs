//! The decision: the first rule whose every given field matches the signal, and why.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::{glob, Match, Mode, OnTimeout, Overrides, Policy};
use crate::engine::Signal;

/// What a rule can look at: the signal, its severity (findings only) and the resource's tags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyInput {
    pub source: String,
    /// The finding type, or the signal's kind when it is not a finding.
    pub finding_type: String,
    pub severity: Option<f64>,
    pub account: String,
    pub region: String,
    pub tags: BTreeMap<String, String>,
    /// The function deciding (`quarantine-instance`, ...).
    pub function: String,
}

impl PolicyInput {
    pub fn new(signal: &Signal, severity: Option<f64>, tags: BTreeMap<String, String>, function: &str) -> Self {
        Self {
            // Some signals qualify their source (`aws.securityhub (imported)`): rules name the
            // EventBridge source alone.
            source: signal.source.split(" (").next().unwrap_or_default().to_string(),
            finding_type: signal.kind.clone(),
            severity,
            account: signal.account.clone(),
            region: signal.region.clone(),
            tags,
            function: function.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDecision {
    pub mode: Mode,
    /// The rule that matched, numbered from 1, and its name; none: the default mode.
    pub rule: Option<(usize, String)>,
    /// `rule 3 "production needs approval": account 222222222222, tag env=prod`.
    pub because: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approve_within: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<OnTimeout>,
    pub overrides: Overrides,
}

impl Policy {
    pub fn decide(&self, input: &PolicyInput) -> PolicyDecision {
        for (i, rule) in self.rules.iter().enumerate() {
            let Some(reasons) = reasons(&rule.matches, input) else {
                continue;
            };
            let why = if reasons.is_empty() { "matches every signal".to_string() } else { reasons.join(", ") };
            return PolicyDecision {
                mode: rule.mode,
                rule: Some((i + 1, rule.name.clone())),
                because: format!("rule {} {:?}: {why}", i + 1, rule.name),
                approve_within: self.windows.get(i).copied().flatten(),
                on_timeout: rule.on_timeout,
                overrides: rule.overrides,
            };
        }
        let because = if self.rules.is_empty() {
            format!("no policy: {} {}", self.default_from, self.default_mode.as_str())
        } else {
            format!("no rule matches: {} {}", self.default_from, self.default_mode.as_str())
        };
        PolicyDecision {
            mode: self.default_mode,
            rule: None,
            because,
            approve_within: None,
            on_timeout: None,
            overrides: Overrides::default(),
        }
    }
}

/// What matched, in words, when every given field does; `None` as soon as one does not.
fn reasons(m: &Match, input: &PolicyInput) -> Option<Vec<String>> {
    let mut why = Vec::new();
    let any = |list: &Option<Vec<String>>, value: &str| list.as_ref().map(|l| l.iter().any(|v| v == value));
    if let Some(found) = any(&m.source, &input.source) {
        found.then(|| why.push(format!("source {}", input.source)))?;
    }
    if let Some(patterns) = &m.finding_type {
        let pattern = patterns.iter().find(|p| glob::matches(p, &input.finding_type))?;
        why.push(match pattern.contains(['*', '?']) {
            true => format!("type {} ({pattern})", input.finding_type),
            false => format!("type {}", input.finding_type),
        });
    }
    if let Some(range) = m.severity {
        let severity = input.severity?;
        let inside = range.min.is_none_or(|min| severity >= min) && range.max.is_none_or(|max| severity <= max);
        inside.then(|| why.push(format!("severity {severity}")))?;
    }
    if let Some(found) = any(&m.account, &input.account) {
        found.then(|| why.push(format!("account {}", input.account)))?;
    }
    if let Some(found) = any(&m.region, &input.region) {
        found.then(|| why.push(format!("region {}", input.region)))?;
    }
    for tag in m.tags.iter().flatten() {
        let found = match tag.split_once('=') {
            Some((key, value)) => input.tags.get(key).is_some_and(|v| v == value),
            None => input.tags.contains_key(tag),
        };
        found.then(|| why.push(format!("tag {tag}")))?;
    }
    if let Some(found) = any(&m.function, &input.function) {
        found.then(|| why.push(format!("function {}", input.function)))?;
    }
    Some(why)
}
