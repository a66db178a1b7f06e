//! close-open-ports under fire: throttling and a lost response between the SDK and moto (the
//! fault proxy of `firebreak_tests::faults`), with every retried call reported on its step.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, Ipv6Range};
use firebreak::deadline::Deadline;
use firebreak::engine::{Outcome, Report, StepOutcome};
use firebreak::ports::{self, PortsConfig, PortsTrigger, REVOKED_INGRESS_TAG};
use firebreak::{tags, Clients};
use firebreak_tests::faults::{Fault, FaultProxy};
use firebreak_tests::moto::sdk_config_for;
use firebreak_tests::{sample_event, Moto, Scenario};

const SWEEP_EVENT: &str = "close-open-ports/schedule-sweep.json";
const ALLOWED: &str = "203.0.113.0/24";

/// An ingress rule as read back: (protocol, from, to, cidr).
type Rule = (String, i32, i32, String);

struct Bench {
    _moto: Moto,
    proxy: FaultProxy,
    scenario: Scenario,
    /// SSH open to both families and HTTPS open to the world.
    web: String,
    /// MySQL open to the world.
    db: String,
    /// Clients whose every request passes through the fault proxy.
    clients: Clients,
}

fn world(protocol: &str, port: i32) -> IpPermission {
    IpPermission::builder()
        .ip_protocol(protocol)
        .from_port(port)
        .to_port(port)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
        .build()
}

async fn bench() -> Bench {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let vpc = scenario.ec2.create_vpc().cidr_block("10.40.0.0/16").send().await.unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let mut ids = Vec::new();
    for (name, rules) in [("web", vec![world("tcp", 22), world("tcp", 443)]), ("db", vec![world("tcp", 3306)])] {
        let created = scenario
            .ec2
            .create_security_group()
            .group_name(name)
            .description(name)
            .vpc_id(&vpc_id)
            .send()
            .await
            .unwrap();
        let group_id = created.group_id().unwrap().to_string();
        scenario
            .ec2
            .authorize_security_group_ingress()
            .group_id(&group_id)
            .set_ip_permissions(Some(rules))
            .send()
            .await
            .unwrap();
        ids.push(group_id);
    }
    let proxy = FaultProxy::start(&moto.endpoint);
    let clients = Clients::new(&sdk_config_for(&proxy.endpoint).await);
    let db = ids.pop().unwrap();
    let web = ids.pop().unwrap();
    Bench { _moto: moto, proxy, scenario, web, db, clients }
}

impl Bench {
    async fn sweep(&self) -> Report {
        let config = PortsConfig { allowed_cidrs: vec![ALLOWED.into()], ..PortsConfig::default() };
        let trigger = PortsTrigger::from_event(&sample_event(SWEEP_EVENT)).unwrap();
        ports::close_open_ports(&firebreak_tests::home_only(self.clients.clone()), &config, &trigger, Deadline::NONE)
            .await
            .unwrap()
    }

    /// Read straight from moto, past the proxy.
    async fn ingress(&self, group_id: &str) -> Vec<Rule> {
        let rules = self
            .scenario
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
                let cidr = r.cidr_ipv4().or(r.cidr_ipv6()).unwrap_or("-").to_string();
                (r.ip_protocol().unwrap().to_string(), r.from_port().unwrap_or(-1), r.to_port().unwrap_or(-1), cidr)
            })
            .collect();
        found.sort();
        found
    }

    async fn group_tags(&self, group_id: &str) -> BTreeMap<String, String> {
        let groups = self.scenario.ec2.describe_security_groups().group_ids(group_id).send().await.unwrap();
        groups.security_groups()[0]
            .tags()
            .iter()
            .map(|t| (t.key().unwrap().to_string(), t.value().unwrap_or_default().to_string()))
            .collect()
    }

    /// What an uninterrupted run leaves: the world-open admin ports closed, HTTPS still open, the
    /// allowed CIDR let in on each closed port, and every revoked rule recorded on its group.
    async fn assert_closed(&self) {
        let rule = |protocol: &str, port: i32, cidr: &str| (protocol.to_string(), port, port, cidr.to_string());
        assert_eq!(
            self.ingress(&self.web).await,
            vec![rule("tcp", 22, ALLOWED), rule("tcp", 443, "0.0.0.0/0"), rule("tcp", 443, "::/0")]
        );
        assert_eq!(self.ingress(&self.db).await, vec![rule("tcp", 3306, ALLOWED)]);
        let mut records = tags::read_list(&self.group_tags(&self.web).await, REVOKED_INGRESS_TAG).unwrap();
        records.sort();
        assert_eq!(records, ["tcp 22-22 0.0.0.0/0", "tcp 22-22 ::/0"]);
        let records = tags::read_list(&self.group_tags(&self.db).await, REVOKED_INGRESS_TAG).unwrap();
        assert_eq!(records.len(), 2, "{records:?}");
    }
}

fn retries_of<'a>(report: &'a Report, step: &'a str) -> Vec<&'a str> {
    report.steps_named(step).flat_map(|s| s.retries.iter().map(String::as_str)).collect()
}

#[tokio::test]
async fn closes_every_world_open_port_under_thirty_percent_throttling_and_names_the_retries() {
    let bench = bench().await;
    // The first read and the first revoke are always throttled, so the report must name a retry
    // whatever the share below draws; the share (a fixed sequence) throttles about 30 % of the rest.
    bench.proxy.fail_nth("DescribeSecurityGroups", 1, Fault::Throttle);
    bench.proxy.fail_nth("RevokeSecurityGroupIngress", 1, Fault::Throttle);
    bench.proxy.fail_share(0.3, Fault::Throttle);
    let report = bench.sweep().await;

    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    bench.assert_closed().await;
    assert!(bench.proxy.injected().len() > 2, "the share throttled more than the two pinned calls");
    let revokes: Vec<_> = report.steps_named("revoke_ingress_rule").collect();
    assert_eq!(revokes.len(), 4, "{report:#?}");
    assert!(revokes.iter().all(|s| s.outcome == StepOutcome::Done && s.resource.starts_with("sgr-")));
    assert!(
        retries_of(&report, "revoke_ingress_rule").contains(&"RevokeSecurityGroupIngress (attempt 2)"),
        "the revoke that was throttled says so: {report:#?}"
    );
    assert!(
        retries_of(&report, "read_security_groups").contains(&"DescribeSecurityGroups (attempt 2)"),
        "so does the read: {report:#?}"
    );
    assert!(report.steps.iter().all(|s| s.outcome != StepOutcome::Failed), "{report:#?}");

    // Every record and every allowed CIDR went in before the first revoke (throttled attempts included).
    let calls = bench.proxy.mutating_calls();
    let first_revoke = calls.iter().position(|c| c == "RevokeSecurityGroupIngress").unwrap();
    let last = |operation: &str| calls.iter().rposition(|c| c == operation).unwrap();
    assert!(last("CreateTags") < first_revoke, "recorded before revoked: {calls:?}");
    assert!(last("AuthorizeSecurityGroupIngress") < first_revoke, "admins keep access: {calls:?}");

    let again = bench.sweep().await;
    assert_eq!(again.outcome, Outcome::Skipped, "{again:#?}");
    bench.assert_closed().await;
}

#[tokio::test]
async fn a_lost_revoke_response_is_retried_and_found_done() {
    let bench = bench().await;
    // The revoke reaches moto, the answer is lost: the SDK's retry finds the rule gone.
    bench.proxy.fail_nth("RevokeSecurityGroupIngress", 1, Fault::ResetAfterForwarding);
    let report = bench.sweep().await;

    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    assert_eq!(bench.proxy.injected().len(), 1, "the fault fired: {:?}", bench.proxy.calls());
    bench.assert_closed().await;
    let retried: Vec<_> = report.steps_named("revoke_ingress_rule").filter(|s| !s.retries.is_empty()).collect();
    assert_eq!(retried.len(), 1, "{report:#?}");
    assert_eq!(retried[0].outcome, StepOutcome::Skipped, "already revoked by the lost call: {report:#?}");
    assert!(retried[0].detail.contains("already revoked"), "{report:#?}");
}
