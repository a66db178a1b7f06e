//! What serde cannot check: globs, durations, ranges, names, and rules that can never be reached.
//! Each error names the line and column of the rule's offending key (or of the rule itself).

use std::time::Duration;

use super::locate::{self, RuleText};
use super::{glob, Match, Mode, PolicyError, Rule, FUNCTIONS};
use crate::events::{validate_account_id, validate_region};

/// The shortest and longest approval window: EventBridge Scheduler's one-time schedules have
/// minute precision, and a week unanswered is no longer a decision.
const MIN_WINDOW: Duration = Duration::from_secs(60);
const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// Validates every rule; returns each rule's parsed `approve_within`.
pub(super) fn validate(text: &str, rules: &[Rule]) -> Result<Vec<Option<Duration>>, PolicyError> {
    let texts = locate::rules(text);
    let mut windows = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let fallback = RuleText::default();
        let at = texts.get(i).unwrap_or(&fallback);
        let fail = |key: &str, message: String| {
            let (line, column) = at.key(key);
            PolicyError::Rule { index: i + 1, name: rule.name.clone(), line, column, message }
        };
        if rule.name.trim().is_empty() {
            return Err(fail("name", "a rule needs a name (it explains every decision)".into()));
        }
        if let Some((j, _)) = rules[..i].iter().enumerate().find(|(_, r)| r.name == rule.name) {
            return Err(fail("name", format!("the name is already rule {}'s", j + 1)));
        }
        check_match(&rule.matches).map_err(|(key, why)| fail(key, why))?;
        windows.push(check_window(rule).map_err(|(key, why)| fail(key, why))?);
        let o = &rule.overrides;
        if o.stop_instance == Some(true) && o.snapshot == Some(false) {
            return Err(fail(
                "stop_instance",
                "stop_instance needs snapshot: an instance is never stopped before its volumes are snapshotted".into(),
            ));
        }
        let normal = normalised(&rule.matches);
        for (j, earlier) in rules[..i].iter().enumerate() {
            let why = if earlier.matches == Match::default() {
                "matches every signal"
            } else if normalised(&earlier.matches) == normal {
                "has the same match"
            } else {
                continue;
            };
            return Err(fail(
                "match",
                format!("unreachable: rule {} {:?} before it {why}, and the first match wins", j + 1, earlier.name),
            ));
        }
    }
    Ok(windows)
}

fn check_match(m: &Match) -> Result<(), (&'static str, String)> {
    let lists = [
        ("source", &m.source),
        ("type", &m.finding_type),
        ("account", &m.account),
        ("region", &m.region),
        ("tags", &m.tags),
        ("function", &m.function),
    ];
    for (key, list) in lists {
        if list.as_ref().is_some_and(Vec::is_empty) {
            return Err((key, format!("an empty {key} list matches nothing: leave {key} out to match any")));
        }
    }
    for source in m.source.iter().flatten() {
        if !source.starts_with("aws.") || source.len() > 64 {
            return Err((
                "source",
                format!("{source:?} is not an EventBridge source (aws.guardduty, aws.securityhub, ...)"),
            ));
        }
    }
    for pattern in m.finding_type.iter().flatten() {
        glob::check(pattern).map_err(|why| ("type", format!("{pattern:?}: {why}")))?;
    }
    if let Some(s) = m.severity {
        let in_range = |v: Option<f64>| v.is_none_or(|v| (0.0..=10.0).contains(&v));
        if s.min.is_none() && s.max.is_none() {
            return Err(("severity", "a severity range needs min, max or both".into()));
        }
        if !in_range(s.min) || !in_range(s.max) {
            return Err(("severity", "severity is 0 to 10 (GuardDuty's scale)".into()));
        }
        if let (Some(min), Some(max)) = (s.min, s.max) {
            if min > max {
                return Err(("severity", format!("min {min} is above max {max}: nothing would match")));
            }
        }
    }
    for account in m.account.iter().flatten() {
        validate_account_id("account", account).map_err(|e| ("account", e.to_string()))?;
    }
    for region in m.region.iter().flatten() {
        validate_region("region", region).map_err(|e| ("region", e.to_string()))?;
    }
    for tag in m.tags.iter().flatten() {
        let key = tag.split_once('=').map_or(tag.as_str(), |(k, _)| k);
        if key.is_empty() || key.len() > 128 {
            return Err(("tags", format!("{tag:?}: a tag is key or key=value, the key 1-128 characters")));
        }
    }
    for function in m.function.iter().flatten() {
        if !FUNCTIONS.contains(&function.as_str()) {
            return Err(("function", format!("{function:?} is not a Firebreak function ({})", FUNCTIONS.join(", "))));
        }
    }
    Ok(())
}

fn check_window(rule: &Rule) -> Result<Option<Duration>, (&'static str, String)> {
    match (&rule.approve_within, rule.on_timeout) {
        (None, None) => Ok(None),
        (Some(_), _) if rule.mode != Mode::Approve => {
            Err(("approve_within", format!("approve_within applies to mode approve, not {}", rule.mode.as_str())))
        }
        (None, Some(_)) => Err(("on_timeout", "on_timeout needs approve_within".into())),
        (Some(_), None) => Err((
            "approve_within",
            "approve_within needs on_timeout (contain or observe): say which side is safe".into(),
        )),
        (Some(text), Some(_)) => {
            let window = duration(text).ok_or_else(|| {
                ("approve_within", format!("{text:?} is not a duration: a whole number then s, m, h or d (15m)"))
            })?;
            if !(MIN_WINDOW..=MAX_WINDOW).contains(&window) {
                return Err(("approve_within", format!("{text:?} is outside 1m to 7d")));
            }
            Ok(Some(window))
        }
    }
}

/// `90s`, `15m`, `2h`, `1d`.
pub(super) fn duration(text: &str) -> Option<Duration> {
    let unit = text.chars().last()?;
    let number: u64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86400,
        _ => return None,
    };
    number.checked_mul(seconds).map(Duration::from_secs)
}

/// The same match written in another order is the same match.
fn normalised(m: &Match) -> Match {
    let sort = |list: &Option<Vec<String>>| {
        list.clone().map(|mut l| {
            l.sort();
            l.dedup();
            l
        })
    };
    Match {
        source: sort(&m.source),
        finding_type: sort(&m.finding_type),
        severity: m.severity,
        account: sort(&m.account),
        region: sort(&m.region),
        tags: sort(&m.tags),
        function: sort(&m.function),
    }
}
