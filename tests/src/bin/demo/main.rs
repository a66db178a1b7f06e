//! The night Firebreak exists for, replayed on a local emulator in its real order. A web server
//! with SSH open to the world is hijacked as a DoS relay; six signals reach the real handlers of
//! the five functions, one after the other:
//!
//! 1. CloudWatch's NetworkOut alarm on the instance → abuse-report
//! 2. AWS Health's abuse notice naming its Elastic IP → abuse-report
//! 3. GuardDuty's `Backdoor:EC2/DenialOfService.Tcp` → quarantine-instance
//! 4. GuardDuty's `Recon:EC2/PortProbeUnprotectedPort` on its world-open SSH group → close-open-ports
//! 5. AWS Health's notice that an access key leaked → revoke-credentials
//! 6. the daily schedule → audit-posture, listing what was left open
//!
//! Each step prints a short summary read from the function's JSON report (the audit's two alarm
//! checks show as failed: moto does not serve CloudWatch's CBOR protocol); `--json` prints the
//! reports too, and `RUST_LOG=info` the functions' JSON log lines, as on Lambda. With `--keep` the
//! emulator stays up afterwards (its endpoint is printed) with a fresh compromised instance and
//! its GuardDuty event in `target/demo/`, for `cargo lambda`. `scripts/demo.sh` runs it.

mod summary;

use std::process::ExitCode;
use std::time::Duration;

use firebreak::engine::FunctionError;
use firebreak_tests::incident;
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::{Moto, Scenario};
use lambda_runtime::{Context, Error, LambdaEvent};
use serde_json::{json, Value};

const USER: &str = "deploy-bot";

#[derive(Clone, Copy)]
struct Options {
    keep: bool,
    json: bool,
}

/// The five functions, each configured exactly as its `main.rs` does on Lambda.
struct Functions {
    abuse: abuse_report::Function,
    quarantine: quarantine_instance::Function,
    ports: close_open_ports::Function,
    revoke: revoke_credentials::Function,
    posture: audit_posture::Function,
}

/// The one place that builds the `Function` values: from the environment (`AWS_ENDPOINT_URL`
/// included), through each crate's own constructors, as the functions' `main.rs` do.
async fn functions() -> Result<Functions, Error> {
    Ok(Functions {
        abuse: abuse_report::Function::from_env().await?,
        quarantine: quarantine_instance::Function::from_env().await?,
        ports: close_open_ports::Function::from_env().await?,
        revoke: revoke_credentials::Function::from_env().await?,
        posture: audit_posture::Function::from_env().await?,
    })
}

#[derive(Clone, Copy)]
enum Target {
    Abuse,
    Quarantine,
    Ports,
    Revoke,
    Posture,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Self::Abuse => "abuse-report",
            Self::Quarantine => "quarantine-instance",
            Self::Ports => "close-open-ports",
            Self::Revoke => "revoke-credentials",
            Self::Posture => "audit-posture",
        }
    }
}

impl Functions {
    /// The function's real handler, as the Lambda runtime calls it.
    async fn handle(&self, target: Target, event: Value) -> Result<Value, FunctionError> {
        let event = LambdaEvent::new(event, Context::default());
        match target {
            Target::Abuse => Box::pin(abuse_report::handle(&self.abuse, event)).await,
            Target::Quarantine => Box::pin(quarantine_instance::handle(&self.quarantine, event)).await,
            Target::Ports => Box::pin(close_open_ports::handle(&self.ports, event)).await,
            Target::Revoke => Box::pin(revoke_credentials::handle(&self.revoke, event)).await,
            Target::Posture => Box::pin(audit_posture::handle(&self.posture, event)).await,
        }
    }
}

/// One signal of the night: when it came (UTC), what it says, which function gets it.
struct Signal {
    at: &'static str,
    what: String,
    target: Target,
    event: Value,
}

impl Signal {
    fn new(at: &'static str, what: String, target: Target, mut event: Value) -> Self {
        event["time"] = json!(format!("2026-11-24T{at}:00Z"));
        Self { at, what, target, event }
    }
}

/// The night's signals, in the order they came, filled with the scenario's ids.
fn the_night(instance: &CompromisedInstance, elastic_ip: &str, key: &str, scenario: &Scenario) -> Vec<Signal> {
    let id = &instance.instance_id;
    let finding = |template: &str| scenario.guardduty_event(template, instance);
    let dos = finding("quarantine-instance/guardduty-ec2-dos-actor.json");
    let mut probe = finding("close-open-ports/guardduty-ec2-port-probe-target.json");
    // The probe is on the port the group leaves open to the world: SSH.
    let probed = &mut probe["detail"]["service"]["action"]["portProbeAction"]["portProbeDetails"][0];
    probed["localPortDetails"] = json!({ "port": 22, "portName": "SSH" });
    let gd = |event: &Value| {
        let d = &event["detail"];
        format!(
            "GuardDuty {} on {id} ({}, severity {})",
            text(&d["type"]),
            text(&d["service"]["resourceRole"]),
            d["severity"]
        )
    };
    let mut alarm = incident::network_out_alarm(id);
    alarm["detail"]["state"]["timestamp"] = json!("2026-11-24T01:12:00.000+0000");
    vec![
        Signal::new("01:12", format!("CloudWatch alarm: NetworkOut on {id}"), Target::Abuse, alarm),
        Signal::new(
            "01:47",
            format!("AWS Health abuse notice: AWS_ABUSE_DOS_REPORT naming {elastic_ip} (its Elastic IP)"),
            Target::Abuse,
            incident::abuse_notice(&[elastic_ip]),
        ),
        Signal::new("02:05", gd(&dos), Target::Quarantine, dos),
        Signal::new("02:13", format!("{}, SSH probed", gd(&probe)), Target::Ports, probe),
        Signal::new(
            "04:40",
            format!("AWS Health: AWS_RISK_CREDENTIALS_EXPOSED, access key {key} of {USER} is public"),
            Target::Revoke,
            incident::credentials_exposed(USER, key),
        ),
        Signal::new("06:00", "the daily schedule: posture audit".into(), Target::Posture, incident::daily_schedule()),
    ]
}

fn text(value: &Value) -> String {
    summary::text(value)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(unknown) = args.iter().find(|a| !["--keep", "--json"].contains(&a.as_str())) {
        eprintln!("unknown argument {unknown}; usage: firebreak-demo [--json] [--keep]");
        return ExitCode::from(2);
    }
    let options = Options { keep: args.iter().any(|a| a == "--keep"), json: args.iter().any(|a| a == "--json") };
    // A 16 MiB stack and the current-thread runtime of the functions' main.rs: deserialising
    // Security Hub findings takes more than 2 MiB in a debug build (see `on_large_stack`).
    let night = std::thread::Builder::new().stack_size(16 << 20).spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Error::from)?.block_on(run(options))
    });
    match night.map(|thread| thread.join()) {
        Ok(Ok(Ok(true))) => ExitCode::SUCCESS,
        Ok(Ok(Ok(false))) => ExitCode::FAILURE,
        Ok(Ok(Err(e))) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
        _ => ExitCode::FAILURE,
    }
}

/// Replays the night; true when every handler answered.
async fn run(options: Options) -> Result<bool, Error> {
    let moto = Moto::start();
    println!("emulator: moto server at {}\n", moto.endpoint);
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::default()).await;
    let elastic_ip = scenario.elastic_ip(&instance.instance_id).await;
    let key = scenario.user_with_key(USER).await;
    scenario.guardduty_detector().await;
    println!(
        "scenario: web-1 {} in {}, Elastic IP {elastic_ip}, SSH open to 0.0.0.0/0 ({}), {} ENIs, {} volumes,\n          \
         Auto Scaling group {}, target group, instance profile; IAM user {USER} with access key {key}; GuardDuty on\n",
        instance.instance_id,
        instance.vpc_id,
        instance.ssh_open_group_id,
        instance.interfaces.len(),
        instance.volume_ids.len(),
        instance.autoscaling_group.as_deref().unwrap_or("-"),
    );
    let before = scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    summary::show("before", &before);

    // The functions are configured exactly as on Lambda: from the environment, endpoint included.
    std::env::set_var("AWS_ENDPOINT_URL", &moto.endpoint);
    std::env::set_var("AWS_REGION", firebreak_tests::moto::REGION);
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::remove_var("AWS_PROFILE");
    if std::env::var_os("RUST_LOG").is_some() {
        firebreak::logging::init();
    }
    let functions = functions().await?;

    println!("the night of 24 November 2026, UTC; the functions act now, on the emulator\n");
    let mut answered = true;
    let mut reports = Vec::new();
    let mut cases = summary::Cases::default();
    for signal in the_night(&instance, &elastic_ip, &key, &scenario) {
        println!("{}  {} → {}", signal.at, signal.what, signal.target.name());
        match functions.handle(signal.target, signal.event).await {
            Ok(report) => {
                for line in summary::lines(&report, signal.at, &mut cases) {
                    println!("       {line}");
                }
                if options.json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                }
                reports.push(report);
            }
            Err(e) => {
                answered = false;
                println!("       error: {e}");
                reports.push(Value::Null);
            }
        }
        println!();
    }

    let after = scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    summary::show("after", &after);
    for line in summary::recap(&scenario, &instance, USER, &key, &after, &reports, &cases).await {
        println!("{line}");
    }

    if options.keep {
        keep(&moto, &scenario).await?;
    }
    Ok(answered)
}

/// Leaves the emulator up with a fresh compromised instance and its GuardDuty event on disk.
async fn keep(moto: &Moto, scenario: &Scenario) -> Result<(), Error> {
    let fresh = scenario.compromised_instance(&Setup::bare()).await;
    let event = scenario.guardduty_event("quarantine-instance/guardduty-ec2-dos-actor.json", &fresh);
    let dir = firebreak_tests::workspace_root().join("target/demo");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("guardduty-event.json");
    std::fs::write(&path, serde_json::to_string_pretty(&event)?)?;
    println!();
    println!("emulator kept running at {} with instance {} still compromised", moto.endpoint, fresh.instance_id);
    println!("its GuardDuty event: {}", path.display());
    println!("press Ctrl-C to stop");
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}
