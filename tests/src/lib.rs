//! Test harness: a real moto server on 127.0.0.1, one per test, and a realistic compromised
//! instance built inside it.

pub mod approval;
pub mod faults;
pub mod http;
pub mod incident;
pub mod lambda_endpoint;
pub mod ledger;
pub mod member;
pub mod moto;
pub mod scenario;
pub mod snapshots;
pub mod ssm_shim;

pub use moto::Moto;
pub use scenario::{CompromisedInstance, Scenario};

use std::path::PathBuf;

/// The workspace root (where `events/` and `.venv/` live).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A sample event, `events/<function>/<name>`, parsed: `sample_event("quarantine-instance/x.json")`.
pub fn sample_event(name: &str) -> serde_json::Value {
    let path = workspace_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Runs an async test on a thread with a 16 MiB stack. Deserialising Security Hub findings
/// (AwsSecurityFinding has hundreds of nested optional fields) takes more than a debug test
/// thread's 2 MiB; not an issue for the release binary on Lambda.
pub fn on_large_stack<F: std::future::Future<Output = ()> + 'static>(test: impl FnOnce() -> F + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(test());
        })
        .expect("test thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

/// The clients provider every function holds, acting in moto's default account and region.
pub async fn accounts(moto: &Moto) -> firebreak::accounts::Accounts {
    firebreak::accounts::Accounts::new(&moto.sdk_config().await, firebreak::accounts::AccountsConfig::default())
}

/// The provider around clients already built (some with a mocked service), for tests that act in
/// the home account only: another account or region would have no endpoint to go to.
pub fn home_only(clients: firebreak::Clients) -> firebreak::accounts::Accounts {
    let base = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new(moto::REGION))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    firebreak::accounts::Accounts::with_home(&base, clients, firebreak::accounts::AccountsConfig::default())
}
