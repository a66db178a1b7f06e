//! Cases and reports as a responder reads them. Pure: strings in, strings out.

use std::fmt::Write as _;

use firebreak::cases::{Case, EntryKind};
use firebreak::engine::Outcome;
use firebreak::Report;

use crate::progress::step_line;

/// One line per case, columns aligned: case id, state, function, resource, account/region,
/// updated_at.
pub fn case_lines(cases: &[Case]) -> String {
    let rows: Vec<[String; 6]> = cases
        .iter()
        .map(|c| {
            [
                c.case_id.clone(),
                c.state.clone(),
                c.function.clone(),
                c.resource.clone(),
                format!("{}/{}", c.account, c.region),
                c.updated_at.clone(),
            ]
        })
        .collect();
    let header = ["CASE", "STATE", "FUNCTION", "RESOURCE", "ACCOUNT/REGION", "UPDATED"].map(str::to_string);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row.iter().zip(widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

/// Everything about one case: header, trigger, every entry, what it recorded, its release.
pub fn case_detail(case: &Case) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Case {}  {}", case.case_id, case.state);
    let field = |out: &mut String, name: &str, value: &str| {
        if !value.is_empty() {
            let _ = writeln!(out, "  {name:<13}{value}");
        }
    };
    field(&mut out, "function", &case.function);
    field(&mut out, "resource", &case.resource);
    field(&mut out, "account", &format!("{} ({})", case.account, case.region));
    field(&mut out, "opened", &case.created_at);
    field(&mut out, "updated", &case.updated_at);
    field(&mut out, "triggered by", &case.triggered_by);
    field(&mut out, "owner", &case.owner);
    if let Some(signal) = &case.signal {
        field(&mut out, "signal", &format!("{} {}", signal.source, signal.kind));
        field(&mut out, "signal id", &signal.id);
        field(&mut out, "signal time", signal.time.as_deref().unwrap_or_default());
    }
    if case.released_by.is_some() || case.released_at.is_some() {
        let _ = writeln!(out, "\nReleased");
        field(&mut out, "by", case.released_by.as_deref().unwrap_or_default());
        field(&mut out, "at", case.released_at.as_deref().unwrap_or_default());
        field(&mut out, "reason", case.release_reason.as_deref().unwrap_or_default());
    }
    if let Some(by) = &case.answered_by {
        let _ = writeln!(out, "\nAnswered");
        field(&mut out, "by", by);
        field(&mut out, "at", case.answered_at.as_deref().unwrap_or_default());
        field(&mut out, "reason", case.answer_reason.as_deref().unwrap_or_default());
    }
    let _ = writeln!(out, "\nEntries");
    for (n, entry) in case.entries.iter().enumerate() {
        let kind = match entry.kind {
            EntryKind::Plan => "plan",
            EntryKind::Outcome => "outcome",
            EntryKind::Release => "release",
            EntryKind::Answer => "answer",
        };
        let outcome = entry.outcome.as_deref().map(|o| format!(" {o}")).unwrap_or_default();
        let _ = writeln!(out, "  {}. {kind}{outcome} at {} by {} ({})", n + 1, entry.at, entry.by, entry.function);
        if let Some(reason) = &entry.reason {
            let _ = writeln!(out, "     reason: {reason}");
        }
        if let Some(policy) = &entry.policy {
            let _ = writeln!(out, "     policy: {policy}");
        }
        for line in &entry.plan {
            let _ = writeln!(out, "     - {line}");
        }
        for step in &entry.steps {
            let _ = writeln!(out, "   {}", step_line(&step.outcome, &step.step, &step.resource, &step.detail));
        }
        if let Some(summarised) = &entry.summarised {
            let _ = writeln!(out, "     ({summarised})");
        }
    }
    if case.entries_dropped > 0 {
        let _ = writeln!(out, "  ({} later entries not kept: the case was full)", case.entries_dropped);
    }
    let recorded = case.recorded();
    if !recorded.is_empty() {
        let _ = writeln!(out, "\nRecorded before changing (what a release restores)");
        for (resource, values) in &recorded {
            let _ = writeln!(out, "  {resource}");
            for (key, value) in values {
                let _ = writeln!(out, "    {key} = {value}");
            }
        }
    }
    out
}

/// The case as JSON: the item, and what it recorded per resource.
pub fn case_json(case: &Case) -> serde_json::Value {
    let mut value = serde_json::to_value(case).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("recorded".into(), serde_json::to_value(case.recorded()).unwrap_or_default());
    }
    value
}

/// The last line of an action: the case, the outcome, why, and how long it took.
pub fn summary(report: &Report) -> String {
    let case = report.case_id.as_deref().map(|c| format!("case {c}: ")).unwrap_or_default();
    let mut line = format!("{case}{} {} ({} ms)", report.resource, report.outcome.as_str(), report.duration_ms);
    if let Some(reason) = &report.reason {
        let _ = write!(line, "\n  {reason}");
    }
    if report.outcome == Outcome::ContainedWithErrors || report.outcome == Outcome::Failed {
        let failed: Vec<String> = report
            .steps
            .iter()
            .filter(|s| s.outcome == firebreak::engine::StepOutcome::Failed)
            .map(|s| format!("{} {}", s.step, s.resource))
            .collect();
        let _ = write!(line, "\n  failed: {}", failed.join(", "));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use firebreak::cases::Entry;

    fn case(id: &str, state: &str) -> Case {
        Case {
            case_id: id.into(),
            state: state.into(),
            function: "quarantine-instance".into(),
            resource: "i-0123".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            signal: None,
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:01Z".into(),
            owner: "run-1".into(),
            triggered_by: "cli:arn:aws:sts::123456789012:user/alice".into(),
            released_by: None,
            released_at: None,
            release_reason: None,
            answered_by: None,
            answered_at: None,
            answer_reason: None,
            trigger: None,
            schedule: None,
            on_timeout: None,
            function_arn: None,
            entries: Vec::new(),
            entries_dropped: 0,
        }
    }

    #[test]
    fn a_listing_has_one_aligned_line_per_case() {
        let text = case_lines(&[case("fb-0000000000000001", "contained"), case("fb-0000000000000002", "released")]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[1].starts_with("fb-0000000000000001  contained "), "{text}");
        assert!(lines[2].contains("123456789012/us-east-1  2026-01-01T00:00:01Z"), "{text}");
        assert_eq!(lines[1].find("quarantine"), lines[0].find("FUNCTION"), "{text}");
    }

    #[test]
    fn a_case_shows_its_entries_and_release() {
        let mut c = case("fb-0000000000000001", "released");
        let mut report = Report::new("quarantine-instance", Default::default(), "i-0123", false);
        report.steps.push(firebreak::engine::StepReport::new(
            "isolate_network_interface",
            "eni-1",
            firebreak::engine::StepOutcome::Done,
            "moved",
        ));
        c.entries.push(Entry::outcome(&report, "run-1"));
        c.released_by = Some("arn:aws:sts::123456789012:user/bob".into());
        c.release_reason = Some("false positive".into());
        let text = case_detail(&c);
        assert!(text.contains("triggered by cli:arn:aws:sts::123456789012:user/alice"), "{text}");
        assert!(text.contains("done     isolate_network_interface eni-1: moved"), "{text}");
        assert!(text.contains("reason       false positive"), "{text}");
    }
}
