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

/// The floor for `interfaces` ENIs: containment needs, per ENI, one CreateTags (the record of its
/// groups, a value of its own) and two ModifyNetworkInterfaceAttribute (untracking, isolation).
/// The last of each action's calls cannot be sent before its bucket has refilled the calls beyond
/// its size; it is answered one latency later; and nothing is contained in fewer than the
/// technique's 3 round trips.
pub fn floor(interfaces: usize, latency: Duration) -> Duration {
    let needs = [("CreateTags", interfaces), ("ModifyNetworkInterfaceAttribute", 2 * interfaces)];
    let wait = needs
        .iter()
        .map(|(action, calls)| {
            let l = limit_of(action);
            ((*calls as f64 - l.size) / l.refill).max(0.0)
        })
        .fold(0.0, f64::max);
    (Duration::from_secs_f64(wait) + latency).max(latency * CONTAINMENT_ROUNDS)
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
        to_isolate: isolated_at(&records, &interfaces).map(|at| at.saturating_duration_since(queued)),
        to_done: last.saturating_duration_since(queued),
        answers,
        contained,
        other_outcome,
        calls: calls(&records),
        floor: floor(interfaces.len(), burst.latency),
    })
}

/// When the last of `interfaces` was first moved into the isolation group (an answered move, not
/// a throttled one); `None` when some never was.
fn isolated_at(records: &[Recorded], interfaces: &[String]) -> Option<Instant> {
    let mut first: BTreeMap<&str, Instant> = BTreeMap::new();
    for r in records.iter().filter(|r| r.operation == "ModifyNetworkInterfaceAttribute" && !r.throttled) {
        let isolated =
            r.params.iter().any(|(k, v)| k.starts_with("SecurityGroupId") && v == crate::canned::ISOLATION_GROUP_ID);
        let only = r.params.keys().filter(|k| k.starts_with("SecurityGroupId")).count() == 1;
        if let (true, true, Some(eni)) = (isolated, only, r.params.get("NetworkInterfaceId")) {
            let at = first.entry(eni.as_str()).or_insert(r.end);
            *at = (*at).min(r.end);
        }
    }
    interfaces.iter().map(|eni| first.get(eni.as_str()).copied()).collect::<Option<Vec<_>>>()?.into_iter().max()
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
    fn the_floor_is_the_isolation_moves_beyond_the_bucket_at_its_refill_rate() {
        let latency = Duration::from_millis(20);
        assert_eq!(floor(1, latency), latency * 3, "a few ENIs: the round trips");
        // 150 ENIs: 300 moves, 100 at once, 200 more at 5 a second.
        assert_eq!(floor(150, latency), Duration::from_secs(40) + latency);
    }
}
