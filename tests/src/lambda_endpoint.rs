//! A loopback endpoint in front of moto that answers Lambda Invoke by running a handler in
//! process: moto's Invoke would run the function in a container (not available here), and the
//! calls under test (release forwarding a Security Hub answer, `firebreak approve`) must reach
//! the real handler. Every other request goes to moto unchanged. Point an SDK at it (or the cli
//! through `AWS_ENDPOINT_URL_LAMBDA`); the handler runs on the given multi-thread runtime.

use std::future::Future;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use firebreak::engine::FunctionError;
use serde_json::{json, Value};

use crate::http::{forward, percent_decode, read_request, response, Server};

/// Not `Send`: it is driven by `block_on` on the connection's own thread.
pub type Invoked = Pin<Box<dyn Future<Output = Result<Value, FunctionError>>>>;
/// The function behind every Invoke: its name (or ARN) as invoked, and the payload.
pub type Handler = Arc<dyn Fn(String, Value) -> Invoked + Send + Sync>;

pub struct LambdaEndpoint {
    pub endpoint: String,
    shared: Arc<Shared>,
    _server: Server,
}

struct Shared {
    upstream: String,
    runtime: tokio::runtime::Handle,
    handler: Handler,
    invoked: Mutex<Vec<(String, Value)>>,
}

impl LambdaEndpoint {
    /// `runtime` must be a multi-thread runtime's (the handler is driven from the connection's
    /// thread while the caller waits on its own).
    pub fn start(upstream: &str, runtime: tokio::runtime::Handle, handler: Handler) -> Self {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_start_matches("http://").to_string(),
            runtime,
            handler,
            invoked: Mutex::new(Vec::new()),
        });
        let server = Server::start(shared.clone(), serve).expect("start the Lambda endpoint");
        Self { endpoint: format!("http://127.0.0.1:{}", server.port), shared, _server: server }
    }

    /// Every Invoke so far: the function as named, and the payload.
    pub fn invocations(&self) -> Vec<(String, Value)> {
        self.shared.invoked.lock().expect("invocations").clone()
    }
}

/// `POST /2015-03-31/functions/{FunctionName}/invocations`: the function's name, else `None`.
fn invoked_function(method: &str, path: &str) -> Option<String> {
    let rest = path.strip_prefix("/2015-03-31/functions/")?;
    let (name, _) = rest.split_once("/invocations")?;
    (method == "POST").then(|| percent_decode(name))
}

fn serve(client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    while let Some(request) = read_request(&mut reader)? {
        let Some(function) = invoked_function(&request.method, &request.path) else {
            client.write_all(&forward(&request, &shared.upstream)?)?;
            continue;
        };
        let payload: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        shared.invoked.lock().expect("invocations").push((function.clone(), payload.clone()));
        let answered = shared.runtime.block_on((shared.handler)(function, payload));
        // As Lambda answers: 200 either way, a function error flagged in a header.
        let reply = match answered {
            Ok(value) => response(200, "application/json", &[], &value.to_string()),
            Err(error) => {
                let body = json!({ "errorType": error.kind, "errorMessage": error.message }).to_string();
                response(200, "application/json", &[("X-Amz-Function-Error", "Unhandled".to_string())], &body)
            }
        };
        client.write_all(&reply)?;
    }
    Ok(())
}
