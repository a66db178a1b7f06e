//! The burst (issue 19): N compromised instances at once, against EC2's request token buckets
//! ([`crate::buckets`]). Delivered as N findings to up to [`CONCURRENCY`] function processes
//! (Lambda's reserved concurrency), and as attack sequences naming them (one per 100 instances,
//! the most one sequence may name), for the Rust bootstrap and the Python baseline alike.
//! Measured: time until every ENI is isolated, until every answer is posted, calls and throttled
//! calls per API; and the floor: the least time any client could take, given the mutating calls
//! containment needs and the buckets' sizes and refill rates.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::buckets::limit_of;
use crate::canned::World;
use crate::endpoint::{Backend, Endpoint, Recorded};
use crate::runtime::RuntimeApi;
use crate::{spawn, BoxError, Implementation, Killed, Options, POLL_TIMEOUT};

/// Lambda's reserved concurrency in the templates: at most this many processes at once.
pub const CONCURRENCY: usize = 10;
pub const SIZES: [usize; 4] = [1, 10, 50, 100];
/// `MAX_SEQUENCE_INSTANCES`: a larger sequence is refused whole.
const PER_SEQUENCE: usize = firebreak::events::sequence::MAX_SEQUENCE_INSTANCES;
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);
/// Containment's sequential round trips (read; record and untracking; isolation).
const CONTAINMENT_ROUNDS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// One GuardDuty finding per instance.
    Findings,
    /// `AttackSequence:EC2/CompromisedInstanceGroup` naming them (≤ 100 each).
    Sequence,
}

impl Delivery {
    pub fn label(self) -> &'static str {
        match self {
            Self::Findings => "N findings",
            Self::Sequence => "attack sequence",
        }
    }
}

#[derive(Debug, Clone)]
pub struct BurstOptions {
    pub sizes: Vec<usize>,
    pub latency: Duration,
    pub deliveries: Vec<Delivery>,
    pub implementations: Vec<Implementation>,
}

impl Default for BurstOptions {
    fn default() -> Self {
        Self {
            sizes: SIZES.to_vec(),
            latency: Duration::from_millis(20),
            deliveries: vec![Delivery::Findings, Delivery::Sequence],
            implementations: vec![Implementation::Rust, Implementation::PythonBaseline],
        }
    }
}

/// Calls of one API: all, and those answered `RequestLimitExceeded`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    pub all: usize,
    pub throttled: usize,
}

#[derive(Debug, Clone)]
pub struct BurstRun {
    pub delivery: Delivery,
    pub implementation: Implementation,
    pub instances: usize,
    pub interfaces: usize,
    pub processes: usize,
    /// Burst queued → the last ENI's move into the isolation group answered (`None`: some never).
    pub to_isolate: Option<Duration>,
    /// Burst queued → the last answer posted.
    pub to_done: Duration,
    /// Answers, and how many said `contained`.
    pub answers: usize,
    pub contained: usize,
    /// The first answer that did not say `contained`, if any.
    pub other_outcome: Option<String>,
    pub calls: BTreeMap<String, Calls>,
    pub floor: Duration,
}

impl BurstRun {
    pub fn throttled(&self) -> usize {
        self.calls.values().map(|c| c.throttled).sum()
    }
    pub fn requests(&self) -> usize {
        self.calls.values().map(|c| c.all).sum()
    }
}

/// What the floor depends on: the ENIs to isolate, how many of them are their instance's only
/// one, and how many events one process must take in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub interfaces: usize,
    pub sole: usize,
    pub events_in_turn: usize,
}

/// The floor: containment needs two moves per ENI (through the untracking group, into isolation);
/// each is a ModifyNetworkInterfaceAttribute (bucket 100, 5 a second), or, for an instance's only
/// ENI, a ModifyInstanceAttribute `GroupId.N` (the mutating actions' bucket, 50, 5 a second; the
/// termination settings can wait for the moves). With `x` moves on the second bucket the last
/// move cannot be sent before `t` such that `2E - x ≤ 100 + 5t` and `x ≤ 50 + 5t`, `x ≤ 2 sole`:
/// `t ≥ (2E - 150) / 10` and `t ≥ (2E - 2 sole - 100) / 5`; it is answered one latency later.
/// The record of each ENI's groups is not counted: it needs no CreateTags of its own (one call can
/// tag many ENIs; a case ledger can hold it). And nothing is contained in fewer than the
/// technique's 3 round trips, which a Lambda process spends on each event it takes in turn.
pub fn floor(need: Need, latency: Duration) -> Duration {
    let (interface, instance) = (limit_of("ModifyNetworkInterfaceAttribute"), limit_of("ModifyInstanceAttribute"));
    let moves = 2.0 * need.interfaces as f64;
    let balanced = (moves - interface.size - instance.size) / (interface.refill + instance.refill);
    let interface_only = (moves - 2.0 * need.sole as f64 - interface.size) / interface.refill;
    let wait = balanced.max(interface_only).max(0.0);
    let rounds = latency * CONTAINMENT_ROUNDS * need.events_in_turn.max(1) as u32;
    (Duration::from_secs_f64(wait) + latency).max(rounds)
}

pub fn run_burst(options: &Options, burst: &BurstOptions) -> Result<Vec<BurstRun>, BoxError> {
    std::fs::create_dir_all(&options.log_dir)?;
    let mut runs = Vec::new();
    for &delivery in &burst.deliveries {
        for &n in &burst.sizes {
            for &implementation in &burst.implementations {
                let run = measure(options, burst, delivery, implementation, n)?;
                eprintln!(
                    "burst: {} {} N={n}: isolated in {:?}, done in {:?}, {} requests, {} throttled (floor {:?})",
                    delivery.label(),
                    implementation.label(),
                    run.to_isolate,
                    run.to_done,
                    run.requests(),
                    run.throttled(),
                    run.floor
                );
                runs.push(run);
            }
        }
    }
    Ok(runs)
}

fn measure(
    options: &Options,
    burst: &BurstOptions,
    delivery: Delivery,
    implementation: Implementation,
    n: usize,
) -> Result<BurstRun, BoxError> {
    let world = World::fleet(n);
    let events = match delivery {
        Delivery::Findings => world.machines.iter().enumerate().map(|(i, _)| finding(&world, i)).collect::<Vec<_>>(),
        Delivery::Sequence => (0..n.div_ceil(PER_SEQUENCE)).map(|chunk| sequence(&world, chunk)).collect(),
    };
    let interfaces: Vec<String> = world.interfaces().map(|(eni, _)| eni.clone()).collect();
    let endpoint = Endpoint::start(Backend::Canned(world.clone()))?;
    let mut runtime = RuntimeApi::start()?;
    let processes = events.len().min(CONCURRENCY);
    let mut children = Vec::new();
    for p in 0..processes {
        children.push(Killed(spawn(options, implementation, &runtime, &endpoint, &format!("-burst-{p}"))?));
    }
    for _ in 0..processes {
        runtime.wait_for_poll(POLL_TIMEOUT)?;
    }
    // Every process is up and waiting: the burst meets warm functions and full buckets.
    endpoint.set_latency(burst.latency);
    endpoint.set_throttling(true);
    endpoint.take_records();
    let queued = Instant::now();
    for event in &events {
        runtime.queue(&event.to_string())?;
    }
    let (mut answers, mut contained, mut other_outcome, mut last) = (0, 0, None, queued);
    while answers < events.len() {
        let Ok(answer) = runtime.next_answer(ANSWER_TIMEOUT) else { break };
        answers += 1;
        last = answer.at;
        let outcome = match &answer.body {
            Ok(body) => {
                serde_json::from_str::<Value>(body).ok().and_then(|v| v["outcome"].as_str().map(str::to_string))
            }
            Err(error) => Some(format!("error: {}", error.chars().take(200).collect::<String>())),
        }
        .unwrap_or_else(|| "answered without an outcome".into());
        if outcome == "contained" {
            contained += 1;
        } else {
            other_outcome.get_or_insert(outcome);
        }
    }
    std::thread::sleep(Duration::from_millis(20));
    let records = endpoint.take_records();
    drop(children);
    Ok(BurstRun {
        delivery,
        implementation,
        instances: n,
        interfaces: interfaces.len(),
        processes,
        to_isolate: isolated_at(&records, &world).map(|at| at.saturating_duration_since(queued)),
        to_done: last.saturating_duration_since(queued),
        answers,
        contained,
        other_outcome,
        calls: calls(&records),
        floor: floor(
            Need {
                interfaces: interfaces.len(),
                sole: world.machines.iter().filter(|m| m.interfaces.len() == 1).count(),
                events_in_turn: events.len().div_ceil(processes.max(1)),
            },
            burst.latency,
        ),
    })
}

/// When the last of `interfaces` was first moved into the isolation group alone (an answered
/// move, not a throttled or refused one): by ModifyNetworkInterfaceAttribute, or by
/// ModifyInstanceAttribute on the instance whose only ENI it is. `None` when some never was.
fn isolated_at(records: &[Recorded], world: &World) -> Option<Instant> {
    let mut first: BTreeMap<&str, Instant> = BTreeMap::new();
    for r in records.iter().filter(|r| !r.throttled && r.ok) {
        let eni = match r.operation.as_str() {
            "ModifyNetworkInterfaceAttribute" => r.params.get("NetworkInterfaceId").map(String::as_str),
            "ModifyInstanceAttribute" => r.params.get("InstanceId").and_then(|id| {
                let machine = world.machines.iter().find(|m| &m.instance_id == id)?;
                match machine.interfaces.as_slice() {
                    [(eni, _)] => Some(eni.as_str()),
                    _ => None,
                }
            }),
            _ => None,
        };
        let groups: Vec<&String> = r
            .params
            .iter()
            .filter(|(k, _)| k.starts_with("SecurityGroupId") || k.starts_with("GroupId"))
            .map(|(_, v)| v)
            .collect();
        if let (Some(eni), [group]) = (eni, groups.as_slice()) {
            if *group == crate::canned::ISOLATION_GROUP_ID {
                let at = first.entry(eni).or_insert(r.end);
                *at = (*at).min(r.end);
            }
        }
    }
    world.interfaces().map(|(eni, _)| first.get(eni.as_str()).copied()).collect::<Option<Vec<_>>>()?.into_iter().max()
}

fn calls(records: &[Recorded]) -> BTreeMap<String, Calls> {
    let mut calls: BTreeMap<String, Calls> = BTreeMap::new();
    for r in records {
        let c = calls.entry(r.operation.clone()).or_default();
        c.all += 1;
        c.throttled += usize::from(r.throttled);
    }
    calls
}

const FINDING: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";
const SEQUENCE: &str = "quarantine-instance/guardduty-attack-sequence-ec2-instance-group.json";

/// The sample finding, about instance `i` of the fleet (its own id, ENIs and groups).
fn finding(world: &World, i: usize) -> Value {
    let mut event = firebreak_tests::sample_event(FINDING);
    let machine = &world.machines[i];
    let detail = &mut event["detail"];
    detail["id"] = json!(format!("b0257{i:027x}"));
    let details = &mut detail["resource"]["instanceDetails"];
    let template = details["networkInterfaces"][0].clone();
    details["instanceId"] = json!(machine.instance_id);
    details["networkInterfaces"] = machine
        .interfaces
        .iter()
        .map(|(eni, groups)| {
            let mut item = template.clone();
            item["networkInterfaceId"] = json!(eni);
            item["vpcId"] = json!(world.vpc_id);
            item["securityGroups"] = groups.iter().map(|g| json!({"groupId": g, "groupName": g})).collect();
            item
        })
        .collect();
    event
}

/// The sample attack sequence, naming the fleet's instances of chunk `chunk` (100 at most).
fn sequence(world: &World, chunk: usize) -> Value {
    let mut event = firebreak_tests::sample_event(SEQUENCE);
    let detail = &mut event["detail"];
    detail["id"] = json!(format!("b0257e9{chunk:025x}"));
    let account = detail["accountId"].clone();
    let region = detail["region"].clone();
    detail["service"]["detection"]["sequence"]["resources"] = world
        .machines
        .iter()
        .skip(chunk * PER_SEQUENCE)
        .take(PER_SEQUENCE)
        .map(|m| json!({"uid": m.instance_id, "name": m.instance_id, "accountId": account, "region": region, "resourceType": "EC2_INSTANCE"}))
        .collect();
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_is_the_isolation_moves_beyond_both_buckets_at_their_refill_rates() {
        let latency = Duration::from_millis(20);
        let need = |interfaces, sole, events_in_turn| Need { interfaces, sole, events_in_turn };
        assert_eq!(floor(need(1, 1, 1), latency), latency * 3, "a few ENIs: the round trips");
        assert_eq!(floor(need(75, 25, 5), latency), latency * 15, "150 moves fit both buckets");
        // 150 ENIs, 50 of them sole: 200 moves only the ENIs' bucket takes, 100 at once.
        assert_eq!(floor(need(150, 50, 1), latency), Duration::from_secs(20) + latency);
        // All sole: 300 moves shared by both buckets, 150 at once, 10 a second.
        assert_eq!(floor(need(150, 150, 1), latency), Duration::from_secs(15) + latency);
    }
}
