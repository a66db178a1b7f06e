//! Seconds from finding to containment, measured: the quarantine-instance `bootstrap` and a
//! Python + boto3 baseline run as real processes behind a local Lambda Runtime API
//! ([`runtime`]), against an AWS endpoint that records every request ([`endpoint`]): canned
//! answers at once, the same with a fixed delay per call, or moto behind it.

pub mod buckets;
pub mod burst;
pub mod burst_report;
pub mod canned;
pub mod endpoint;
pub use firebreak_tests::http;
pub mod process;
pub(crate) use process::{spawn, Killed};
pub mod rounds;
pub mod runtime;
pub mod table;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::endpoint::{Backend, Endpoint};
use crate::runtime::RuntimeApi;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";
pub(crate) const POLL_TIMEOUT: Duration = Duration::from_secs(60);
const INVOKE_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation {
    Rust,
    PythonBaseline,
}

impl Implementation {
    pub fn label(self) -> &'static str {
        match self {
            Self::Rust => "Rust bootstrap",
            Self::PythonBaseline => "Python + boto3 baseline",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub iterations: usize,
    /// The quarantine-instance binary (the release build for real numbers).
    pub bootstrap: PathBuf,
    /// A Python with boto3 (the emulator's venv has it).
    pub python: PathBuf,
    pub baseline_script: PathBuf,
    /// Delay per call of the paced run, which counts round trips.
    pub paced_latency: Duration,
    pub with_moto: bool,
    /// Where the functions' own logs go.
    pub log_dir: PathBuf,
    /// Every function's bootstrap, by function name, for the size table.
    pub function_bootstraps: Vec<(String, PathBuf)>,
    /// Where the results (the tables and the targets' verdicts) are written: `--output PATH`,
    /// else `$FIREBREAK_BENCH_OUTPUT`, else `bench/results.md`.
    pub output: PathBuf,
}

impl Options {
    /// Defaults for this workspace: the release bootstrap, the venv's Python.
    pub fn for_workspace(root: &Path) -> Self {
        let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
        // The emulator's virtual environment (scripts/emulator.sh exports its Python).
        let python = std::env::var_os("FIREBREAK_MOTO_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".venv/bin/python"));
        Self {
            iterations: 5,
            bootstrap: target.join("release/quarantine-instance"),
            python,
            baseline_script: root.join("bench/baseline/quarantine_baseline.py"),
            paced_latency: Duration::from_millis(20),
            with_moto: true,
            log_dir: target.join("bench"),
            function_bootstraps: function_names(root)
                .into_iter()
                .map(|name| {
                    let path = target.join("release").join(&name);
                    (name, path)
                })
                .collect(),
            output: std::env::var_os(OUTPUT_ENV).map(PathBuf::from).unwrap_or_else(|| root.join(DEFAULT_OUTPUT)),
        }
    }
}

/// The environment variable that moves the results file (`--output` wins over it).
pub const OUTPUT_ENV: &str = "FIREBREAK_BENCH_OUTPUT";
/// The results file, relative to the workspace root.
pub const DEFAULT_OUTPUT: &str = "bench/results.md";

/// Writes the rendered results to `path` (creating its directory), so that they are read from a
/// file rather than pasted anywhere.
pub fn write_results(path: &Path, rendered: &str) -> Result<(), BoxError> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, rendered).map_err(|e| format!("writing {}: {e}", path.display()).into())
}

/// The crates under `functions/`: one Lambda each.
fn function_names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("functions"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One function's bootstrap as Lambda receives it.
#[derive(Debug, Clone)]
pub struct BootstrapSize {
    pub function: String,
    /// `None`: not built.
    pub bytes: Option<u64>,
    pub zip_bytes: Option<u64>,
}

/// One invocation, as the runtime API and the endpoint saw it.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Event handed over → every ENI in the isolation group (`None`: not contained).
    pub to_containment: Option<Duration>,
    /// Event handed over → the function posted its answer.
    pub to_done: Duration,
    pub cpu: Duration,
    pub requests: usize,
    pub rounds_to_containment: Option<usize>,
    pub rounds_total: usize,
    /// The report's `outcome`, or the error.
    pub outcome: String,
}

/// One process: its cold start and the invocations it served.
#[derive(Debug, Clone)]
pub struct Run {
    pub cold_start: Duration,
    pub init_cpu: Duration,
    pub rss_after_init_kib: u64,
    pub first: Invocation,
    pub warm: Invocation,
    /// Against the instant endpoint only: a warm invocation with the paced delay per call.
    pub paced: Option<Invocation>,
    pub peak_rss_kib: u64,
}

/// What an invocation must achieve: the event, and where every ENI must end up.
struct Target {
    event: String,
    isolation_group_ids: Vec<String>,
    interfaces: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    Instant,
    Moto,
}

pub struct Results {
    pub options: Options,
    pub runs: Vec<(EndpointKind, Implementation, Vec<Run>)>,
    pub bootstrap_bytes: u64,
    pub bootstrap_zip_bytes: Option<u64>,
    pub sizes: Vec<BootstrapSize>,
}

pub fn run(options: &Options) -> Result<Results, BoxError> {
    std::fs::create_dir_all(&options.log_dir)?;
    let mut runs = Vec::new();
    let sample = firebreak_tests::sample_event(DOS_EVENT);
    let world = canned::World::from_event(&sample);
    let instant = Endpoint::start(Backend::Canned(world.clone()))?;
    for implementation in [Implementation::Rust, Implementation::PythonBaseline] {
        let mut samples = Vec::new();
        for _ in 0..options.iterations {
            let mut prepare = || {
                Ok(Target {
                    event: sample.to_string(),
                    isolation_group_ids: vec![canned::ISOLATION_GROUP_ID.to_string()],
                    interfaces: world.interfaces().map(|(eni, _)| eni.clone()).collect(),
                })
            };
            samples.push(measure(options, implementation, &instant, &mut prepare, true)?);
        }
        runs.push((EndpointKind::Instant, implementation, samples));
    }
    drop(instant);

    if options.with_moto {
        let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let moto = firebreak_tests::Moto::start();
        let forward = Endpoint::start(Backend::Forward(moto.endpoint.trim_start_matches("http://").to_string()))?;
        for implementation in [Implementation::Rust, Implementation::PythonBaseline] {
            let mut samples = Vec::new();
            for _ in 0..options.iterations {
                let mut prepare = || tokio.block_on(moto_target(&moto));
                samples.push(measure(options, implementation, &forward, &mut prepare, false)?);
            }
            runs.push((EndpointKind::Moto, implementation, samples));
        }
    }

    let bootstrap_bytes = std::fs::metadata(&options.bootstrap)?.len();
    let bootstrap_zip_bytes = zipped_size(options, &options.bootstrap).ok();
    let sizes = options
        .function_bootstraps
        .iter()
        .map(|(function, path)| BootstrapSize {
            function: function.clone(),
            bytes: std::fs::metadata(path).ok().map(|m| m.len()),
            zip_bytes: zipped_size(options, path).ok(),
        })
        .collect();
    Ok(Results { options: options.clone(), runs, bootstrap_bytes, bootstrap_zip_bytes, sizes })
}

/// A fresh emulator state: the incident's instance, Firebreak's groups already in its VPC.
async fn moto_target(moto: &firebreak_tests::Moto) -> Result<Target, BoxError> {
    reset_moto(&moto.endpoint)?;
    let scenario = firebreak_tests::Scenario::new(moto).await;
    let instance = scenario.compromised_instance(&firebreak_tests::scenario::Setup::default()).await;
    let groups = firebreak::aws::isolation::ensure_isolation_groups(
        &scenario.clients.ec2,
        &instance.vpc_id,
        "firebreak-isolation",
        true,
    )
    .await?;
    Ok(Target {
        event: scenario.guardduty_event(DOS_EVENT, &instance).to_string(),
        isolation_group_ids: vec![groups.isolation],
        interfaces: instance.interfaces.iter().map(|(eni, _)| eni.clone()).collect(),
    })
}

fn reset_moto(endpoint: &str) -> Result<(), BoxError> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(endpoint.trim_start_matches("http://"))?;
    stream.write_all(
        b"POST /moto-api/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    if !answer.starts_with("HTTP/1.1 200") && !answer.starts_with("HTTP/1.0 200") {
        return Err(format!("moto reset failed: {}", answer.lines().next().unwrap_or_default()).into());
    }
    Ok(())
}

fn measure(
    options: &Options,
    implementation: Implementation,
    endpoint: &Endpoint,
    prepare: &mut dyn FnMut() -> Result<Target, BoxError>,
    paced: bool,
) -> Result<Run, BoxError> {
    let mut runtime = RuntimeApi::start()?;
    let first_target = prepare()?;
    endpoint.take_records();
    let spawned = Instant::now();
    let child = Killed(spawn(options, implementation, &runtime, endpoint, "")?);
    let pid = child.0.id();
    let polled = runtime.wait_for_poll(POLL_TIMEOUT)?;
    let cold_start = polled.duration_since(spawned);
    let init_cpu = process::cpu_time(pid);
    let rss_after_init_kib = process::peak_rss_kib(pid);
    let first = invoke(&mut runtime, endpoint, pid, &first_target)?;
    let warm_target = prepare()?;
    runtime.wait_for_poll(POLL_TIMEOUT)?;
    let warm = invoke(&mut runtime, endpoint, pid, &warm_target)?;
    let paced = if paced {
        let target = prepare()?;
        runtime.wait_for_poll(POLL_TIMEOUT)?;
        endpoint.set_latency(options.paced_latency);
        let result = invoke(&mut runtime, endpoint, pid, &target);
        endpoint.set_latency(Duration::ZERO);
        Some(result?)
    } else {
        None
    };
    let peak_rss_kib = process::peak_rss_kib(pid);
    drop(child);
    Ok(Run { cold_start, init_cpu, rss_after_init_kib, first, warm, paced, peak_rss_kib })
}

fn invoke(runtime: &mut RuntimeApi, endpoint: &Endpoint, pid: u32, target: &Target) -> Result<Invocation, BoxError> {
    endpoint.take_records();
    let cpu_before = process::cpu_time(pid);
    let (handed, answer) = runtime.invoke(&target.event, INVOKE_TIMEOUT)?;
    let cpu = process::cpu_time(pid).saturating_sub(cpu_before);
    // The endpoint files a request just after writing its answer: let the last one land.
    std::thread::sleep(Duration::from_millis(20));
    let records = endpoint.take_records();
    if std::env::var_os("FIREBREAK_BENCH_TIMELINE").is_some() {
        for r in &records {
            eprintln!(
                "{:>8.3} {:>8.3} {}",
                r.start.saturating_duration_since(handed).as_secs_f64() * 1e3,
                r.end.saturating_duration_since(handed).as_secs_f64() * 1e3,
                r.operation
            );
        }
        eprintln!("--");
    }
    let reading = rounds::read(&records, &target.isolation_group_ids, &target.interfaces);
    let outcome = match &answer.body {
        Ok(body) => serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["outcome"].as_str().map(str::to_string))
            .unwrap_or_else(|| "answered without an outcome".into()),
        Err(error) => format!("error: {}", error.chars().take(300).collect::<String>()),
    };
    Ok(Invocation {
        to_containment: reading.contained_at.map(|at| at.saturating_duration_since(handed)),
        to_done: answer.at.saturating_duration_since(handed),
        cpu,
        requests: reading.requests,
        rounds_to_containment: reading.rounds_to_containment,
        rounds_total: reading.rounds_total,
        outcome,
    })
}

/// The bootstrap zipped the way Lambda takes it (one file named `bootstrap`, deflate).
fn zipped_size(options: &Options, bootstrap: &Path) -> Result<u64, BoxError> {
    if !bootstrap.is_file() {
        return Err(format!("{} is not built", bootstrap.display()).into());
    }
    let zip = options.log_dir.join("bootstrap.zip");
    let _ = std::fs::remove_file(&zip);
    let status = Command::new(&options.python)
        .args([
            "-c",
            "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z: z.write(sys.argv[2], 'bootstrap')",
        ])
        .arg(&zip)
        .arg(bootstrap)
        .status()?;
    if !status.success() {
        return Err("zipping the bootstrap failed".into());
    }
    Ok(std::fs::metadata(&zip)?.len())
}
