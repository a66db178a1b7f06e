//! The incident, start to finish, on a local emulator: a web server with SSH open to the world is
//! hijacked as a DoS relay; GuardDuty's finding reaches the real quarantine-instance handler.
//!
//! `scripts/demo.sh` runs it. With `--keep` the emulator stays up afterwards (its endpoint is
//! printed) with a fresh compromised instance and its event in `target/demo/`, for `cargo lambda`.

use std::time::Duration;

use firebreak_tests::scenario::{InstanceView, Setup};
use firebreak_tests::{Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};

fn show(title: &str, view: &InstanceView) {
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

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let keep = std::env::args().any(|a| a == "--keep");
    let moto = Moto::start();
    println!("emulator: moto server at {}\n", moto.endpoint);
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::default()).await;
    println!(
        "scenario: {} in {} — SSH open to 0.0.0.0/0 ({}), {} ENIs, {} volumes, Auto Scaling group {}, target group, instance profile\n",
        instance.instance_id,
        instance.vpc_id,
        instance.ssh_open_group_id,
        instance.interfaces.len(),
        instance.volume_ids.len(),
        instance.autoscaling_group.as_deref().unwrap_or("-"),
    );
    let before = scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    show("before", &before);

    // The handler is configured exactly as on Lambda: from the environment, endpoint included.
    std::env::set_var("AWS_ENDPOINT_URL", &moto.endpoint);
    std::env::set_var("AWS_REGION", firebreak_tests::moto::REGION);
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::remove_var("AWS_PROFILE");
    firebreak::logging::init();
    let function = quarantine_instance::Function::from_env().await?;
    let event = scenario.guardduty_event("quarantine-instance/guardduty-ec2-dos-actor.json", &instance);
    println!(
        "── GuardDuty: {} (severity {}) → quarantine-instance ──",
        event["detail"]["type"], event["detail"]["severity"]
    );
    let report = quarantine_instance::handle(&function, LambdaEvent::new(event, Context::default())).await?;
    println!();
    println!("── report ──\n{}\n", serde_json::to_string_pretty(&report)?);

    let after = scenario.view(&instance.instance_id, instance.target_group_arn.as_deref()).await;
    show("after", &after);

    if keep {
        let fresh = scenario.compromised_instance(&Setup::bare()).await;
        let event = scenario.guardduty_event("quarantine-instance/guardduty-ec2-dos-actor.json", &fresh);
        let dir = firebreak_tests::workspace_root().join("target/demo");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("guardduty-event.json");
        std::fs::write(&path, serde_json::to_string_pretty(&event)?)?;
        println!("emulator kept running at {} with instance {} still compromised", moto.endpoint, fresh.instance_id);
        println!("its GuardDuty event: {}", path.display());
        println!("press Ctrl-C to stop");
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    Ok(())
}
