//! Starts and stops a moto server (the AWS API emulator, from PyPI) on a free loopback port.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::Credentials;

pub const REGION: &str = "us-east-1";
/// moto's default account: resources created with the harness credentials live here.
pub const ACCOUNT_ID: &str = "123456789012";

/// A running moto server. Dropping it kills the server, so each test gets fresh state.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

/// Which moto server to run: `FIREBREAK_MOTO_SERVER`, else the project's `.venv` (created by
/// `scripts/test.sh`), else `moto_server` on the PATH.
fn moto_server_command() -> PathBuf {
    if let Ok(path) = std::env::var("FIREBREAK_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = crate::workspace_root().join(".venv/bin/moto_server");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("moto_server")
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free loopback port")
}

impl Moto {
    pub fn start() -> Self {
        let command = moto_server_command();
        // A port picked then released can be taken by a parallel test before moto binds it; a
        // few attempts make that race harmless.
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(&command)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start {} ({e}); run scripts/test.sh, which installs it", command.display())
                });
            let address: SocketAddr = ([127, 0, 0, 1], port).into();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if is_ready(address) {
                    return Self { child, endpoint: format!("http://127.0.0.1:{port}") };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("moto server ({}) did not start on 127.0.0.1", command.display());
    }

    /// SDK configuration aimed at this server: fixed region, dummy credentials, nothing read
    /// from the machine, so no request can leave the loopback interface.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_for(&self.endpoint).await
    }

    /// What SNS received on a topic: `GET /moto-api/data.json` lists every SNS topic with the
    /// notifications published to it (message id, message, subject, attributes, group).
    pub fn sns_messages(&self, topic_arn: &str) -> Vec<serde_json::Value> {
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("moto is up");
        write!(stream, "GET /moto-api/data.json HTTP/1.0\r\nHost: {address}\r\n\r\n").expect("request sent");
        let mut text = String::new();
        stream.read_to_string(&mut text).expect("response read");
        let body = &text[text.find("\r\n\r\n").map(|i| i + 4).unwrap_or(0)..];
        let data: serde_json::Value = serde_json::from_str(body).expect("moto's data.json");
        data["sns"]["Topic"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["arn"] == topic_arn)
            .flat_map(|t| t["sent_notifications"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    pub async fn clients(&self) -> firebreak::Clients {
        firebreak::Clients::new(&self.sdk_config().await)
    }
}

/// SDK configuration for any loopback endpoint (the emulator, or a fault proxy in front of it).
pub async fn sdk_config_for(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

fn is_ready(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
