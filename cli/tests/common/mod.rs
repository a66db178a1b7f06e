//! Running the built `firebreak` as a responder would: a process, against moto through
//! `AWS_ENDPOINT_URL`, with nothing read from the machine's own AWS configuration.

#![allow(dead_code)] // each test file uses its own part

use std::path::PathBuf;
use std::process::{Command, Stdio};

use firebreak_tests::ledger;
use firebreak_tests::scenario::{CompromisedInstance, Setup};
use firebreak_tests::{Moto, Scenario};
use serde_json::Value;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs `firebreak ARGS` against the emulator, with no terminal on stdin.
pub fn firebreak(moto: &Moto, table: Option<&str>, args: &[&str]) -> Run {
    firebreak_with(moto, table, &[], args)
}

/// [`firebreak`] with more variables (`AWS_ENDPOINT_URL_LAMBDA`: a loopback Lambda endpoint).
pub fn firebreak_with(moto: &Moto, table: Option<&str>, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_firebreak"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("FIREBREAK_") || n.starts_with("AWS_")) {
        command.env_remove(name);
    }
    let nowhere = std::env::temp_dir().join("firebreak-cli-test-no-aws-config");
    command
        .args(args)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", &nowhere)
        .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    if let Some(table) = table {
        command.env("FIREBREAK_CASES_TABLE", table);
    }
    command.envs(env.iter().copied());
    let output = command.output().expect("firebreak runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A compromised instance (with what `setup` puts around it) and the ledger table.
pub async fn setup(setup: Setup) -> (Moto, Scenario, CompromisedInstance, aws_sdk_dynamodb::Client) {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&setup).await;
    let dynamodb = ledger::create_table(&moto).await;
    (moto, scenario, instance, dynamodb)
}

/// An event file for `firebreak plan`, removed when dropped.
pub struct EventFile(PathBuf);

impl EventFile {
    pub fn new(event: &Value) -> Self {
        let path = std::env::temp_dir().join(format!(
            "firebreak-cli-{}-{:?}.json",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        ));
        std::fs::write(&path, event.to_string()).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for EventFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
