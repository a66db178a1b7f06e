//! The demo, end to end: the binary replays the night on its own moto server, in order, and says
//! what each function did. Checked on its output, as a person running `scripts/demo.sh` reads it.

use std::process::Command;
use std::time::{Duration, Instant};

/// The six step headers, in the night's order, each with the function it reaches.
const STEPS: [(&str, &str); 6] = [
    ("CloudWatch alarm: NetworkOut on i-", "→ abuse-report"),
    ("AWS Health abuse notice: AWS_ABUSE_DOS_REPORT naming", "→ abuse-report"),
    ("GuardDuty Backdoor:EC2/DenialOfService.Tcp on i-", "→ quarantine-instance"),
    ("GuardDuty Recon:EC2/PortProbeUnprotectedPort on i-", "→ close-open-ports"),
    ("AWS Health: AWS_RISK_CREDENTIALS_EXPOSED, access key", "→ revoke-credentials"),
    ("the daily schedule: posture audit", "→ audit-posture"),
];

#[test]
fn the_demo_replays_the_night_in_order_and_says_what_changed() {
    let started = Instant::now();
    // The demo starts its own moto server the way the harness does: FIREBREAK_MOTO_SERVER (set by
    // scripts/test.sh), else `.venv/`, else the PATH. It is passed on explicitly when set.
    let mut demo = Command::new(env!("CARGO_BIN_EXE_firebreak-demo"));
    demo.env_remove("RUST_LOG");
    if let Some(server) = std::env::var_os("FIREBREAK_MOTO_SERVER") {
        demo.env("FIREBREAK_MOTO_SERVER", server);
    }
    let output = demo.output().expect("the demo binary starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit {}\n{stdout}\n{stderr}", output.status);

    let mut from = 0;
    for (header, function) in STEPS {
        let at =
            stdout[from..].find(header).unwrap_or_else(|| panic!("no step {header:?} after byte {from}:\n{stdout}"));
        let line = stdout[from + at..].lines().next().unwrap();
        assert!(line.ends_with(function), "{line}");
        from += at + line.len();
    }

    // What changed, as the recap reads it back from the emulator.
    let recap = &stdout[stdout.find("── recap ──").expect("a recap")..];
    assert!(recap.contains(": isolated in case fb-"), "{recap}");
    assert!(recap.contains("has no world-open rule left"), "{recap}");
    assert!(recap.contains(": Inactive"), "{recap}");
    assert!(recap.contains("left open by the morning audit"), "{recap}");
    // And as each step's summary reads it from the function's report.
    assert!(stdout.contains("✓ revoke_ingress_rule"), "{stdout}");
    assert!(stdout.contains("✓ deactivate_access_key"), "{stdout}");
    assert!(stdout.contains("already in case fb-") || stdout.matches("· case fb-").count() >= 3, "{stdout}");
    assert!(!stdout.contains("\n       error:"), "every handler answered:\n{stdout}");
    assert!(started.elapsed() < Duration::from_secs(60), "the demo took {:?}", started.elapsed());
}
