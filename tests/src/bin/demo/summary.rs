//! What the demo prints: a few human lines read from a function's JSON report (looked up key by
//! key: a missing key prints "-", never panics), the instance as a responder sees it, the recap.

use aws_sdk_ec2::types::Filter;
use firebreak_tests::scenario::{CompromisedInstance, InstanceView};
use firebreak_tests::Scenario;
use serde_json::Value;

/// Most lines a step's summary takes; `--json` shows the whole report.
const MAX_LINES: usize = 6;
/// The steps that change something a responder looks for first, by a word of their name; the
/// other done steps follow in report order.
const FIRST: [&str; 9] =
    ["isolate", "snapshot", "revoke", "deactivate", "detach", "deregister", "disassociate", "delete", "authorize"];

/// A JSON value as text: strings unquoted, missing or null as "-".
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn items(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Cuts a detail to one readable line.
fn short(detail: &str) -> String {
    const WIDTH: usize = 100;
    let line = detail.lines().next().unwrap_or_default();
    if line.chars().count() <= WIDTH {
        line.to_string()
    } else {
        format!("{}…", line.chars().take(WIDTH).collect::<String>())
    }
}

/// The cases seen so far and when each was opened: a later report naming one is "already in" it.
#[derive(Default)]
pub struct Cases(Vec<(String, String)>);

impl Cases {
    /// "case X" the first time (remembered with `at`), "already in case X (opened at …)" after.
    fn name(&mut self, case: &str, at: &str) -> String {
        match self.0.iter().find(|(c, _)| c == case) {
            Some((_, opened)) if opened != at => format!("already in case {case} (opened at {opened})"),
            Some(_) => format!("case {case}"),
            None => {
                self.0.push((case.to_string(), at.to_string()));
                format!("case {case}")
            }
        }
    }

    /// When a case was opened.
    fn opened(&self, case: &str) -> Option<&str> {
        self.0.iter().find(|(c, _)| c == case).map(|(_, at)| at.as_str())
    }
}

/// "outcome · case … — reason" of a report or response.
fn headline(report: &Value, at: &str, cases: &mut Cases) -> String {
    let mut line = text(&report["outcome"]);
    if let Some(case) = report["case_id"].as_str() {
        line.push_str(&format!(" · {}", cases.name(case, at)));
    }
    if let Some(reason) = report["reason"].as_str() {
        line.push_str(&format!(" — {}", short(reason)));
    }
    line
}

/// "resource: 9 done, 1 skipped" and, for a report inside a response, its own outcome when it differs.
fn tally(report: &Value, parent: Option<&Value>) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for step in items(&report["steps"]) {
        let outcome = text(&step["outcome"]);
        match counts.iter_mut().find(|(o, _)| *o == outcome) {
            Some((_, n)) => *n += 1,
            None => counts.push((outcome, 1)),
        }
    }
    let mut line = format!("{}: ", text(&report["resource"]));
    if let Some(parent) = parent {
        if report["outcome"] != parent["outcome"] || report["reason"].is_string() {
            line.push_str(&format!("{} — {}; ", text(&report["outcome"]), short(&text(&report["reason"]))));
        }
    }
    let counted: Vec<String> = counts.iter().map(|(outcome, n)| format!("{n} {outcome}")).collect();
    line.push_str(&if counted.is_empty() { "no steps".to_string() } else { counted.join(", ") });
    line
}

/// Steps of one outcome, same-named ones together: (name, how many, first detail).
fn grouped<'a>(steps: impl Iterator<Item = &'a Value>) -> Vec<(String, usize, String)> {
    let mut groups: Vec<(String, usize, String)> = Vec::new();
    for step in steps {
        let name = text(&step["step"]);
        match groups.iter_mut().find(|(n, ..)| *n == name) {
            Some((_, count, _)) => *count += 1,
            None => groups.push((name, 1, text(&step["detail"]))),
        }
    }
    groups
}

fn quoted(mark: &str, (name, count, detail): &(String, usize, String)) -> String {
    let times = if *count > 1 { format!(" ×{count}") } else { String::new() };
    format!("{mark} {name}{times}: {}", short(detail))
}

/// Two to six lines about what a function did, read from its JSON report: the outcome and case,
/// the addresses it resolved, each report's steps counted, what failed, the gaps, and then as many
/// of the changes made as fit (`--json` shows the rest).
pub fn lines(report: &Value, at: &str, cases: &mut Cases) -> Vec<String> {
    let mut lines = vec![headline(report, at, cases)];
    for address in items(&report["resolved"]) {
        let ip = if address["entity"].is_string() { &address["entity"] } else { &address["ip"] };
        lines.push(format!("{} ({} address) → {}", text(ip), text(&address["kind"]), text(&address["instance_id"])));
    }
    for address in items(&report["unresolved"]) {
        lines.push(format!("{}: not resolved ({})", text(&address["entity"]), text(&address["reason"])));
    }
    let nested = items(&report["reports"]);
    let reports: Vec<(&Value, Option<&Value>)> =
        if nested.is_empty() { vec![(report, None)] } else { nested.iter().map(|r| (r, Some(report))).collect() };
    let steps = || reports.iter().flat_map(|(r, _)| items(&r["steps"]));
    for (r, parent) in &reports {
        if !items(&r["steps"]).is_empty() {
            lines.push(tally(r, *parent));
        }
    }
    lines.extend(grouped(steps().filter(|s| s["outcome"] == "failed")).iter().map(|g| quoted("✗", g)));
    for gap in reports.iter().flat_map(|(r, _)| items(&r["gaps"])) {
        lines.push(format!("gap ({}): {}", text(&gap["severity"]).to_lowercase(), short(&text(&gap["title"]))));
    }
    for error in items(&report["errors"]) {
        // A response's errors are sentences; an audit's are per account.
        let message = if error.is_object() {
            format!("{}: {}", text(&error["account"]), text(&error["message"]))
        } else {
            text(error)
        };
        lines.push(format!("error: {}", short(&message)));
    }
    if lines.len() > MAX_LINES {
        let hidden = lines.len() - (MAX_LINES - 1);
        lines.truncate(MAX_LINES - 1);
        lines.push(format!("… {hidden} more line(s): --json shows the whole report"));
        return lines;
    }
    // Then the changes made, those a responder looks for first.
    let rank = |name: &str| FIRST.iter().position(|word| name.contains(word)).unwrap_or(FIRST.len());
    let mut done = grouped(steps().filter(|s| s["outcome"] == "done" && !text(&s["step"]).starts_with("read_")));
    done.sort_by_key(|(name, ..)| rank(name));
    let room = MAX_LINES - lines.len();
    if done.len() <= room {
        lines.extend(done.iter().map(|g| quoted("✓", g)));
    } else if room > 0 {
        lines.extend(done[..room - 1].iter().map(|g| quoted("✓", g)));
        let rest: Vec<&str> = done[room - 1..].iter().map(|(name, ..)| name.as_str()).collect();
        lines.push(short(&format!("✓ and {}", rest.join(", "))));
    }
    lines
}

/// The instance as a responder would check it.
pub fn show(title: &str, view: &InstanceView) {
    println!("── {title} ──");
    println!("  state                 {}", view.state);
    for (eni, groups) in &view.interface_groups {
        println!("  {eni:<22}  security groups [{}]", groups.join(", "));
        if let Some(original) = view.interface_tags[eni].get("firebreak:original-groups") {
            println!("  {:<22}  recorded original groups [{original}]", "");
        }
    }
    println!("  termination protected {}", view.termination_protected);
    println!(
        "  shutdown behaviour    {}",
        if view.shutdown_behavior.is_empty() { "-" } else { &view.shutdown_behavior }
    );
    println!("  Auto Scaling group    {}", view.autoscaling_group.as_deref().unwrap_or("-"));
    println!("  in target group       {}", view.in_target_group);
    println!("  instance profile      {}", view.instance_profile.as_deref().unwrap_or("-"));
    println!(
        "  evidence snapshots    {}",
        view.snapshots.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>().join(", ")
    );
    let case: Vec<String> =
        view.tags.iter().filter(|(k, _)| k.starts_with("firebreak:")).map(|(k, v)| format!("{k}={v}")).collect();
    println!(
        "  case tags             {}",
        if case.is_empty() { "-".to_string() } else { case.join("\n                        ") }
    );
    println!();
}

/// The world-open ingress rules of a group, as `tcp 22-22 0.0.0.0/0`.
async fn world_open_rules(scenario: &Scenario, group_id: &str) -> Vec<String> {
    let rules = scenario
        .ec2
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(group_id).build())
        .send()
        .await;
    let rules = rules.map(|r| r.security_group_rules().to_vec()).unwrap_or_default();
    rules
        .iter()
        .filter(|r| r.is_egress() == Some(false))
        .filter(|r| matches!(r.cidr_ipv4().or(r.cidr_ipv6()), Some("0.0.0.0/0" | "::/0")))
        .map(|r| {
            format!(
                "{} {}-{} {}",
                r.ip_protocol().unwrap_or("-"),
                r.from_port().unwrap_or(-1),
                r.to_port().unwrap_or(-1),
                r.cidr_ipv4().or(r.cidr_ipv6()).unwrap_or("-")
            )
        })
        .collect()
}

/// Three lines: the instance, the door and the key, what is left — read back from the emulator
/// and the audit's report.
pub async fn recap(
    scenario: &Scenario,
    instance: &CompromisedInstance,
    user: &str,
    key: &str,
    after: &InstanceView,
    reports: &[Value],
    cases: &Cases,
) -> Vec<String> {
    let case = after.tags.get("firebreak:case").map(String::as_str).unwrap_or("-");
    let mut groups: Vec<&str> = after.interface_groups.values().flatten().map(String::as_str).collect();
    groups.sort_unstable();
    groups.dedup();
    let isolated = if after.tags.contains_key("firebreak:case") {
        format!(
            "isolated in case {case} (opened at {}), ENIs now in [{}], {} evidence snapshot(s)",
            cases.opened(case).unwrap_or("-"),
            groups.join(", "),
            after.snapshots.len()
        )
    } else {
        "NOT isolated".to_string()
    };
    let open = world_open_rules(scenario, &instance.ssh_open_group_id).await;
    let door = if open.is_empty() {
        format!("{} has no world-open rule left", instance.ssh_open_group_id)
    } else {
        format!("{} is still open to the world: {}", instance.ssh_open_group_id, open.join(", "))
    };
    let keys = scenario.iam.list_access_keys().user_name(user).send().await;
    let status = keys
        .ok()
        .and_then(|k| {
            k.access_key_metadata()
                .iter()
                .find(|m| m.access_key_id() == Some(key))
                .and_then(|m| m.status().map(|s| s.as_str().to_string()))
        })
        .unwrap_or_else(|| "-".into());
    let audit = reports.last().unwrap_or(&Value::Null);
    // audit-posture reports per account; the demo has one.
    let audit = &audit["reports"][0];
    let gaps: Vec<String> = items(&audit["gaps"]).iter().map(|g| text(&g["check"])).collect();
    let unread = items(&audit["steps"]).iter().filter(|s| s["outcome"] == "failed").count();
    vec![
        "── recap ──".into(),
        format!("  {}: {isolated}", instance.instance_id),
        format!("  {door}; access key {key} of {user}: {status}"),
        format!(
            "  left open by the morning audit: {} gap(s) [{}]; {unread} check(s) could not be read",
            gaps.len(),
            gaps.join(", ")
        ),
    ]
}
