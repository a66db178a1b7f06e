//! A function's process: started as Lambda would (its environment, its log), killed when
//! dropped, and what the kernel says about it: CPU time (per thread, nanoseconds, from
//! `/proc/<pid>/task/*/schedstat`) and peak resident memory (`VmHWM`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::endpoint::Endpoint;
use crate::runtime::RuntimeApi;
use crate::{BoxError, Implementation, Options};

/// CPU time used so far by every live thread of the process.
pub fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Duration::ZERO };
    let nanos: u64 = tasks
        .filter_map(|task| task.ok())
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// Peak resident set size so far, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:")?.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Starts one function process; `log` names its log file (several run side by side in a burst).
pub(crate) fn spawn(
    options: &Options,
    implementation: Implementation,
    runtime: &RuntimeApi,
    endpoint: &Endpoint,
    log: &str,
) -> Result<Child, BoxError> {
    let mut command = match implementation {
        Implementation::Rust => Command::new(&options.bootstrap),
        Implementation::PythonBaseline => {
            let mut c = Command::new(&options.python);
            c.arg(&options.baseline_script);
            c
        }
    };
    let name = match implementation {
        Implementation::Rust => "rust",
        Implementation::PythonBaseline => "python",
    };
    let log = std::fs::File::create(options.log_dir.join(format!("{name}{log}.log")))?;
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "quarantine-instance")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/quarantine-instance")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", &endpoint.url)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // The baseline retries as the Rust clients do (standard mode, 8 attempts): under EC2's
        // throttling (the burst), boto3's default of 5 legacy attempts would simply fail.
        .env("AWS_RETRY_MODE", "standard")
        .env("AWS_MAX_ATTEMPTS", firebreak::attempts::MAX_ATTEMPTS.to_string())
        .env("AWS_CONFIG_FILE", "/nonexistent/firebreak-bench")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/firebreak-bench")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    Ok(command.spawn()?)
}

pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
