//! close-open-ports against a real moto server: every trigger on real-shaped events, the exact
//! rules revoked, the allowed-CIDR replacement, exemptions, and a second run that changes nothing.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification};
use close_open_ports::Function;
use firebreak::engine::{CommonConfig, Outcome, Report, StepOutcome};
use firebreak::ports::{self, PortsConfig, PortsTrigger, REVOKED_INGRESS_TAG};
use firebreak::tags;
use firebreak_tests::scenario::Setup;
use firebreak_tests::{sample_event, Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const AUTHORIZE_EVENT: &str = "close-open-ports/cloudtrail-authorize-security-group-ingress-ssh-world.json";
const MODIFY_EVENT: &str = "close-open-ports/cloudtrail-modify-security-group-rules-rdp-world.json";
const SWEEP_EVENT: &str = "close-open-ports/schedule-sweep.json";
const SSH_BRUTEFORCE_EVENT: &str = "close-open-ports/guardduty-ec2-ssh-bruteforce-target.json";

/// An ingress rule as read back: (protocol, from, to, cidr).
type Rule = (String, i32, i32, String);

async fn run(scenario: &Scenario, config: PortsConfig, event: Value) -> Report {
    let trigger = PortsTrigger::from_event(&event).expect("event parses");
    ports::close_open_ports(
        &firebreak_tests::home_only(scenario.clients.clone()),
        &config,
        &trigger,
        firebreak::deadline::Deadline::NONE,
    )
    .await
    .expect("close-open-ports runs")
}

async fn vpc(scenario: &Scenario) -> String {
    scenario.ec2.create_vpc().cidr_block("10.30.0.0/16").send().await.unwrap().vpc().unwrap().vpc_id().unwrap().into()
}

fn world(protocol: &str, from: i32, to: i32, v4: bool, v6: bool) -> IpPermission {
    let mut permission = IpPermission::builder().ip_protocol(protocol).from_port(from).to_port(to);
    if v4 {
        permission = permission.ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build());
    }
    if v6 {
        permission = permission.ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build());
    }
    permission.build()
}

async fn group(
    scenario: &Scenario,
    vpc_id: &str,
    name: &str,
    rules: Vec<IpPermission>,
    tags: &[(&str, &str)],
) -> String {
    let mut spec = TagSpecification::builder()
        .resource_type(ResourceType::SecurityGroup)
        .tags(Tag::builder().key("Name").value(name).build());
    for (k, v) in tags {
        spec = spec.tags(Tag::builder().key(*k).value(*v).build());
    }
    let group_id = scenario
        .ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .vpc_id(vpc_id)
        .tag_specifications(spec.build())
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    if !rules.is_empty() {
        scenario
            .ec2
            .authorize_security_group_ingress()
            .group_id(&group_id)
            .set_ip_permissions(Some(rules))
            .send()
            .await
            .expect("AuthorizeSecurityGroupIngress");
    }
    group_id
}

async fn ingress(scenario: &Scenario, group_id: &str) -> Vec<Rule> {
    let rules = scenario
        .ec2
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(group_id).build())
        .send()
        .await
        .unwrap();
    let mut found: Vec<Rule> = rules
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() == Some(false))
        .map(|r| {
            (
                r.ip_protocol().unwrap().to_string(),
                r.from_port().unwrap_or(-1),
                r.to_port().unwrap_or(-1),
                r.cidr_ipv4().or(r.cidr_ipv6()).unwrap_or("-").to_string(),
            )
        })
        .collect();
    found.sort();
    found
}

fn rule(protocol: &str, from: i32, to: i32, cidr: &str) -> Rule {
    (protocol.to_string(), from, to, cidr.to_string())
}

async fn group_tags(scenario: &Scenario, group_id: &str) -> BTreeMap<String, String> {
    let groups = scenario.ec2.describe_security_groups().group_ids(group_id).send().await.unwrap();
    groups.security_groups()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap_or_default().to_string()))
        .collect()
}

/// The CloudTrail sample, pointed at a group of this emulator.
fn cloudtrail_event(template: &str, group_id: &str) -> Value {
    let mut event = sample_event(template);
    let parameters = &mut event["detail"]["requestParameters"];
    if parameters.get("groupId").is_some() {
        parameters["groupId"] = json!(group_id);
        event["detail"]["responseElements"]["securityGroupRuleSet"]["items"][0]["groupId"] = json!(group_id);
    } else {
        parameters["ModifySecurityGroupRulesRequest"]["GroupId"] = json!(group_id);
    }
    event
}

async fn start() -> (Moto, Scenario) {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    (moto, scenario)
}

#[tokio::test]
async fn cloudtrail_trigger_revokes_exactly_the_world_open_ssh_rules_and_a_second_run_changes_nothing() {
    let (_moto, scenario) = start().await;
    let vpc_id = vpc(&scenario).await;
    let web = group(
        &scenario,
        &vpc_id,
        "web",
        vec![world("tcp", 22, 22, true, true), world("tcp", 443, 443, true, true)],
        &[],
    )
    .await;
    let before = ingress(&scenario, &web).await;
    assert_eq!(before.len(), 4, "moto lists one rule per CIDR, as AWS does: {before:?}");

    let report = run(&scenario, PortsConfig::default(), cloudtrail_event(AUTHORIZE_EVENT, &web)).await;
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    assert_eq!(report.signal.kind, "AuthorizeSecurityGroupIngress");
    let revoked: Vec<_> = report.steps_named("revoke_ingress_rule").collect();
    assert_eq!(revoked.len(), 2, "{report:#?}");
    assert!(revoked.iter().all(|s| s.outcome == StepOutcome::Done && s.resource.starts_with("sgr-")));
    assert!(
        revoked.iter().any(|s| s.detail.contains("0.0.0.0/0")) && revoked.iter().any(|s| s.detail.contains("::/0"))
    );

    assert_eq!(
        ingress(&scenario, &web).await,
        vec![rule("tcp", 443, 443, "0.0.0.0/0"), rule("tcp", 443, 443, "::/0")],
        "only the two SSH rules are gone"
    );
    let recorded = group_tags(&scenario, &web).await;
    let mut records = tags::read_list(&recorded, REVOKED_INGRESS_TAG).expect("the revoked rules are recorded");
    records.sort();
    assert_eq!(records, ["tcp 22-22 0.0.0.0/0", "tcp 22-22 ::/0"], "restorable: protocol, ports, source");
    assert!(recorded.contains_key("firebreak:ports-closed-at"));

    let again = run(&scenario, PortsConfig::default(), cloudtrail_event(AUTHORIZE_EVENT, &web)).await;
    assert_eq!(again.outcome, Outcome::Skipped, "{again:#?}");
    assert!(again.steps.iter().all(|s| s.outcome == StepOutcome::Skipped));
    assert_eq!(ingress(&scenario, &web).await.len(), 2);
    assert_eq!(group_tags(&scenario, &web).await, recorded, "the record is not rewritten");
}

#[tokio::test]
async fn sweep_catches_ranges_and_all_traffic_and_leaves_exempt_and_firebreak_groups_alone() {
    let (_moto, scenario) = start().await;
    let vpc_id = vpc(&scenario).await;
    let range = group(&scenario, &vpc_id, "wide-range", vec![world("tcp", 0, 65535, true, false)], &[]).await;
    let everything = group(&scenario, &vpc_id, "all-traffic", vec![world("-1", -1, -1, false, true)], &[]).await;
    let exempt = group(
        &scenario,
        &vpc_id,
        "bastion",
        vec![world("tcp", 22, 22, true, false)],
        &[("firebreak:exempt", "bastion")],
    )
    .await;
    let firebreak_groups =
        firebreak::aws::isolation::ensure_isolation_groups(&scenario.ec2, &vpc_id, "firebreak-isolation", true)
            .await
            .expect("Firebreak's own groups");
    let untracking = firebreak_groups.untracking.unwrap();
    let untracking_before = ingress(&scenario, &untracking).await;
    assert!(untracking_before.iter().any(|r| r.0 == "-1" && r.3 == "0.0.0.0/0"), "{untracking_before:?}");
    let exempt_before = ingress(&scenario, &exempt).await;

    let report = run(&scenario, PortsConfig::default(), sample_event(SWEEP_EVENT)).await;
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    assert_eq!(report.signal.kind, "Scheduled Event");
    assert!(ingress(&scenario, &range).await.is_empty(), "the 0-65535 range is revoked");
    assert!(ingress(&scenario, &everything).await.is_empty(), "the all-traffic rule is revoked");
    assert_eq!(ingress(&scenario, &exempt).await, exempt_before, "the exempt group is untouched");
    assert_eq!(ingress(&scenario, &untracking).await, untracking_before, "Firebreak's untracking group is untouched");
    assert!(!group_tags(&scenario, &exempt).await.contains_key(REVOKED_INGRESS_TAG));
    let skipped = |group_id: &str| {
        report
            .steps
            .iter()
            .find(|s| s.resource == group_id && s.outcome == StepOutcome::Skipped)
            .map(|s| s.detail.clone())
    };
    assert!(skipped(&exempt).unwrap().contains("exempt"), "{report:#?}");
    assert!(skipped(&untracking).unwrap().contains(tags::ROLE), "{report:#?}");
    assert_eq!(
        group_tags(&scenario, &everything).await.get(REVOKED_INGRESS_TAG).map(String::as_str),
        Some("-1 all ::/0")
    );

    let again = run(&scenario, PortsConfig::default(), sample_event(SWEEP_EVENT)).await;
    assert_eq!(again.outcome, Outcome::Skipped, "{again:#?}");
    assert!(again.steps.iter().all(|s| s.outcome == StepOutcome::Skipped));
}

#[tokio::test]
async fn allowed_cidrs_keep_their_access_after_the_world_rule_goes() {
    let (_moto, scenario) = start().await;
    let vpc_id = vpc(&scenario).await;
    let rdp = group(&scenario, &vpc_id, "windows", vec![world("tcp", 3389, 3389, true, true)], &[]).await;
    let config =
        PortsConfig { allowed_cidrs: vec!["203.0.113.0/24".into(), "2001:db8::/32".into()], ..PortsConfig::default() };
    let report = run(&scenario, config.clone(), cloudtrail_event(MODIFY_EVENT, &rdp)).await;
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    assert_eq!(report.signal.kind, "ModifySecurityGroupRules");
    assert_eq!(report.steps_named("authorize_allowed_cidr").count(), 2, "{report:#?}");
    assert_eq!(
        ingress(&scenario, &rdp).await,
        vec![rule("tcp", 3389, 3389, "2001:db8::/32"), rule("tcp", 3389, 3389, "203.0.113.0/24")]
    );

    let again = run(&scenario, config, cloudtrail_event(MODIFY_EVENT, &rdp)).await;
    assert_eq!(again.outcome, Outcome::Skipped, "{again:#?}");
    assert_eq!(ingress(&scenario, &rdp).await.len(), 2);
}

#[tokio::test]
async fn guardduty_brute_force_finding_closes_the_groups_of_the_attacked_instance() {
    let (moto, scenario) = start().await;
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    assert!(ingress(&scenario, &instance.ssh_open_group_id).await.contains(&rule("tcp", 22, 22, "0.0.0.0/0")));
    let event = scenario.guardduty_event(SSH_BRUTEFORCE_EVENT, &instance);

    let defaults = PortsConfig::default();
    let above_threshold =
        PortsConfig { common: CommonConfig { min_severity: 5.0, ..defaults.common.clone() }, ..defaults };
    let skipped = run(&scenario, above_threshold, event.clone()).await;
    assert_eq!(skipped.outcome, Outcome::Skipped);
    assert!(skipped.reason.unwrap().contains("below the configured minimum"));
    assert!(ingress(&scenario, &instance.ssh_open_group_id).await.contains(&rule("tcp", 22, 22, "0.0.0.0/0")));

    let function = Function { accounts: firebreak_tests::accounts(&moto).await, config: PortsConfig::default() };
    let report = close_open_ports::handle(&function, LambdaEvent::new(event, Context::default())).await.unwrap();
    assert_eq!(report["outcome"], "contained", "{report:#}");
    assert_eq!(report["resource"], instance.instance_id.as_str());
    assert_eq!(report["function"], "close-open-ports");
    assert!(!ingress(&scenario, &instance.ssh_open_group_id).await.iter().any(|r| r.3 == "0.0.0.0/0"));
}

/// The night's order: the instance is quarantined first (its ENIs now only in the isolation
/// group), then the port-probe finding arrives. The group it was exposed through is recorded on
/// its ENIs, still open to the world, and is closed.
#[tokio::test]
async fn port_probe_on_a_quarantined_instance_closes_the_group_it_had_before_isolation() {
    let (moto, scenario) = start().await;
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    let accounts = firebreak::accounts::Accounts::new(&moto.sdk_config().await, Default::default());
    let dos = scenario.guardduty_event("quarantine-instance/guardduty-ec2-dos-actor.json", &instance);
    let trigger = firebreak::respond::InstanceTrigger::from_event(&dos).expect("a DoS finding");
    let quarantined = firebreak::respond::respond_to_instance(
        &accounts,
        &firebreak::respond::Settings::default(),
        &trigger,
        firebreak::deadline::Deadline::NONE,
    )
    .await;
    assert_eq!(quarantined.outcome, Outcome::Contained, "{quarantined:#?}");
    let probe = scenario.guardduty_event("close-open-ports/guardduty-ec2-port-probe-target.json", &instance);

    let report = run(&scenario, PortsConfig::default(), probe.clone()).await;
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    let revoked = report.steps.iter().find(|s| s.step == "revoke_ingress_rule").expect("a rule revoked");
    assert_eq!(revoked.outcome, StepOutcome::Done, "{revoked:#?}");
    assert!(revoked.detail.contains(&instance.ssh_open_group_id), "{revoked:#?}");
    assert!(!ingress(&scenario, &instance.ssh_open_group_id).await.iter().any(|r| r.3 == "0.0.0.0/0"));
    let view = scenario.view(&instance.instance_id, None).await;
    assert!(!view.interface_groups.values().flatten().any(|g| g == &instance.ssh_open_group_id), "still isolated");

    let again = run(&scenario, PortsConfig::default(), probe).await;
    assert_eq!(again.outcome, Outcome::Skipped, "nothing left to close: {again:#?}");
}

#[tokio::test]
async fn dry_run_reports_the_plan_and_changes_nothing() {
    let (_moto, scenario) = start().await;
    let vpc_id = vpc(&scenario).await;
    let web = group(&scenario, &vpc_id, "web", vec![world("tcp", 22, 22, true, false)], &[]).await;
    let defaults = PortsConfig::default();
    let config = PortsConfig {
        common: CommonConfig { dry_run: true, ..defaults.common.clone() },
        allowed_cidrs: vec!["10.0.0.0/8".into()],
        ..defaults
    };
    let report = run(&scenario, config, cloudtrail_event(AUTHORIZE_EVENT, &web)).await;
    assert_eq!(report.outcome, Outcome::Planned, "{report:#?}");
    assert!(report.dry_run);
    assert!(report.steps.iter().any(|s| s.step == "revoke_ingress_rule" && s.outcome == StepOutcome::Planned));
    assert_eq!(ingress(&scenario, &web).await, vec![rule("tcp", 22, 22, "0.0.0.0/0")]);
    assert!(!group_tags(&scenario, &web).await.contains_key(REVOKED_INGRESS_TAG));
}

#[tokio::test]
async fn bad_events_are_refused_before_any_call() {
    let (moto, _scenario) = start().await;
    let function = Function { accounts: firebreak_tests::accounts(&moto).await, config: PortsConfig::default() };
    let mut spoofed = sample_event(AUTHORIZE_EVENT);
    spoofed["detail"]["requestParameters"]["groupId"] = json!("sg-../../x");
    spoofed["detail"]["responseElements"] = Value::Null;
    assert!(close_open_ports::handle(&function, LambdaEvent::new(spoofed, Context::default())).await.is_err());
    let quarantine_finding = sample_event("quarantine-instance/guardduty-ec2-dos-actor.json");
    let err = close_open_ports::handle(&function, LambdaEvent::new(quarantine_finding, Context::default()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unsupported finding type"), "{err}");
}
