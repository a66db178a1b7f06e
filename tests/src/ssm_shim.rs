//! moto has no SSM DescribeInstanceInformation: this loopback server answers it for the
//! instances a test declares managed (recording each request, so the test checks it exactly)
//! and forwards every other request to moto (SendCommand, ListCommands are moto's).

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::http::{forward, read_request, response, Server};

pub struct SsmShim {
    pub endpoint: String,
    shared: Arc<Shared>,
    _server: Server,
}

struct Shared {
    upstream: String,
    /// Instance id and platform (`Linux`, `Windows`) of each managed instance.
    managed: Mutex<Vec<(String, String)>>,
    requests: Mutex<Vec<Value>>,
}

impl SsmShim {
    /// Forwards to `upstream` (`http://127.0.0.1:N`: moto); a fault proxy may stand in front.
    pub fn start(upstream: &str) -> Self {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_start_matches("http://").to_string(),
            managed: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
        });
        let server = Server::start(shared.clone(), serve).expect("start the SSM shim");
        Self { endpoint: format!("http://127.0.0.1:{}", server.port), shared, _server: server }
    }

    /// Systems Manager knows the instance from now on (an agent registered, Online).
    pub fn manage(&self, instance_id: &str, platform: &str) {
        self.shared.managed.lock().expect("shim").push((instance_id.to_string(), platform.to_string()));
    }

    /// The bodies of the DescribeInstanceInformation requests received.
    pub fn describe_requests(&self) -> Vec<Value> {
        self.shared.requests.lock().expect("shim").clone()
    }
}

fn serve(client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    while let Some(request) = read_request(&mut reader)? {
        // A proxy in front forwards one request per connection and reads to its end.
        let closing = request.header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
        if request.header("x-amz-target") != Some("AmazonSSM.DescribeInstanceInformation") {
            client.write_all(&forward(&request, &shared.upstream)?)?;
            if closing {
                break;
            }
            continue;
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        shared.requests.lock().expect("shim").push(body.clone());
        let wanted: Vec<&str> = body["Filters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["Key"] == "InstanceIds")
            .flat_map(|f| f["Values"].as_array().into_iter().flatten().filter_map(Value::as_str))
            .collect();
        let list: Vec<Value> = shared
            .managed
            .lock()
            .expect("shim")
            .iter()
            .filter(|(id, _)| wanted.contains(&id.as_str()))
            .map(|(id, platform)| json!({"InstanceId": id, "PingStatus": "Online", "PlatformType": platform}))
            .collect();
        let answer = json!({ "InstanceInformationList": list }).to_string();
        client.write_all(&response(200, "application/x-amz-json-1.1", &[], &answer))?;
        if closing {
            break;
        }
    }
    Ok(())
}
