//! A fault-injecting HTTP proxy between the SDK and moto: throttling errors, 5xx, lost
//! responses, slow responses, "crashes" after a chosen call, and answers rewritten (a state AWS
//! passes through that moto skips, such as a snapshot still `pending`). It also records every
//! AWS operation it saw, so tests can assert that bad input made no call at all.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::http::{forward, read_request, Request, Server};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// `RequestLimitExceeded` (EC2) / `Throttling` (query APIs) / `ThrottlingException` (JSON APIs).
    Throttle,
    /// A bare 500 or 503.
    ServerError(u16),
    /// The request reaches moto, then the connection is reset: the response is lost.
    ResetAfterForwarding,
    /// The connection is reset before anything is forwarded.
    ResetBeforeForwarding,
    /// The response is delayed.
    Slow(Duration),
    /// A client error AWS does not retry, with this code (`UnauthorizedOperation`, a quota, ...).
    Refused(&'static str),
}

#[derive(Debug, Default)]
struct State {
    /// (operation or `*`, 1-based occurrence of that operation) -> fault.
    nth: HashMap<(String, usize), Fault>,
    /// Share of all requests (0..1) answered with a fault, drawn from a fixed-seed generator.
    share: Option<(f64, Fault)>,
    /// After the n-th response of this operation, every later request fails (non-retryable):
    /// the invocation "dies" right after that step.
    crash_after: Option<(String, usize)>,
    crashed: bool,
    /// operation -> (text, replacement) applied to each of its answers.
    rewrites: HashMap<String, (String, String)>,
    seen: HashMap<String, usize>,
    calls: Vec<String>,
    injected: Vec<String>,
    rng: u64,
}

pub struct FaultProxy {
    pub endpoint: String,
    shared: Arc<Shared>,
    _server: Server,
}

struct Shared {
    /// `127.0.0.1:N` of moto.
    upstream: String,
    state: Mutex<State>,
}

impl FaultProxy {
    /// Starts the proxy on a free 127.0.0.1 port, forwarding to `upstream` (`http://127.0.0.1:N`).
    pub fn start(upstream: &str) -> Self {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_start_matches("http://").to_string(),
            state: Mutex::new(State { rng: 0x9e37_79b9_7f4a_7c15, ..State::default() }),
        });
        let server = Server::start(shared.clone(), serve).expect("start the fault proxy");
        Self { endpoint: format!("http://127.0.0.1:{}", server.port), shared, _server: server }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.shared.state.lock().expect("proxy state"))
    }

    /// Answers the n-th call (1-based) of `operation` (or of any operation, with `*`) with `fault`.
    pub fn fail_nth(&self, operation: &str, n: usize, fault: Fault) {
        self.with(|s| s.nth.insert((operation.to_string(), n), fault));
    }

    /// Answers about `share` of all requests with `fault` (deterministic sequence).
    pub fn fail_share(&self, share: f64, fault: Fault) {
        self.with(|s| s.share = Some((share, fault)));
    }

    /// Lets the n-th call of `operation` through, then fails every later request.
    pub fn crash_after(&self, operation: &str, n: usize) {
        self.with(|s| s.crash_after = Some((operation.to_string(), n)));
    }

    /// Rewrites every answer to `operation`: `from` becomes `to` (until [`Self::heal`]).
    pub fn rewrite(&self, operation: &str, from: &str, to: &str) {
        self.with(|s| s.rewrites.insert(operation.to_string(), (from.to_string(), to.to_string())));
    }

    /// Removes every fault; the record of calls is kept.
    pub fn heal(&self) {
        self.with(|s| {
            s.nth.clear();
            s.share = None;
            s.crash_after = None;
            s.crashed = false;
            s.rewrites.clear();
        });
    }

    /// Every operation received, in order (`DescribeInstances`, `CreateSnapshots`, ...).
    pub fn calls(&self) -> Vec<String> {
        self.with(|s| s.calls.clone())
    }

    /// The operations that can change something (not Describe/Get/List).
    pub fn mutating_calls(&self) -> Vec<String> {
        self.calls().into_iter().filter(|c| !["Describe", "Get", "List"].iter().any(|p| c.starts_with(p))).collect()
    }

    /// Each fault injected, as `Operation: fault`.
    pub fn injected(&self) -> Vec<String> {
        self.with(|s| s.injected.clone())
    }

    pub fn reset_record(&self) {
        self.with(|s| {
            s.calls.clear();
            s.injected.clear();
            s.seen.clear();
        });
    }
}

/// The AWS operation: `Action=` of query APIs, `X-Amz-Target` of JSON APIs, else the request line.
fn operation(request: &Request) -> String {
    let body = String::from_utf8_lossy(&request.body);
    if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return action.to_string();
    }
    if let Some(target) = request.header("x-amz-target") {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    if let Some(operation) = s3_operation(request).or_else(|| scheduler_operation(request)) {
        return operation.to_string();
    }
    request.head.first().cloned().unwrap_or_default()
}

/// The S3 bucket-configuration operations Firebreak calls (REST: the method and the
/// subresource of the request line), so faults can be aimed at them by name.
fn s3_operation(request: &Request) -> Option<&'static str> {
    let line = request.head.first()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?, parts.next()?);
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let has = |sub: &str| query.split('&').any(|kv| kv == sub || kv.starts_with(&format!("{sub}=")));
    let subresource = ["policy", "publicAccessBlock", "tagging"].into_iter().find(|s| has(s))?;
    Some(match (method, subresource) {
        ("GET", "policy") => "GetBucketPolicy",
        ("PUT", "policy") => "PutBucketPolicy",
        ("DELETE", "policy") => "DeleteBucketPolicy",
        ("GET", "publicAccessBlock") => "GetPublicAccessBlock",
        ("PUT", "publicAccessBlock") => "PutPublicAccessBlock",
        ("DELETE", "publicAccessBlock") => "DeletePublicAccessBlock",
        ("GET", "tagging") => "GetBucketTagging",
        ("PUT", "tagging") => "PutBucketTagging",
        _ => return None,
    })
}

/// EventBridge Scheduler's schedule operations (REST: the method on `/schedules/<name>`).
fn scheduler_operation(request: &Request) -> Option<&'static str> {
    let line = request.head.first()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?, parts.next()?);
    target.strip_prefix("/schedules/").filter(|name| !name.is_empty())?;
    Some(match method {
        "POST" => "CreateSchedule",
        "GET" => "GetSchedule",
        "DELETE" => "DeleteSchedule",
        "PUT" => "UpdateSchedule",
        _ => return None,
    })
}

fn is_ec2(request: &Request) -> bool {
    String::from_utf8_lossy(&request.body).contains("Version=2016-11-15")
}

fn is_query(request: &Request) -> bool {
    String::from_utf8_lossy(&request.body).contains("Action=")
}

enum Decision {
    Forward,
    Fault(Fault),
    Crash,
}

fn decide(state: &Mutex<State>, operation: &str) -> Decision {
    let mut s = state.lock().expect("proxy state");
    s.calls.push(operation.to_string());
    let count = {
        let seen = s.seen.entry(operation.to_string()).or_default();
        *seen += 1;
        *seen
    };
    let total = s.calls.len();
    if s.crashed {
        s.injected.push(format!("{operation}: crashed"));
        return Decision::Crash;
    }
    if let Some((op, n)) = &s.crash_after {
        if op == operation && *n == count {
            // This call goes through; everything after it fails.
            s.crashed = true;
            return Decision::Forward;
        }
    }
    let fault = s.nth.get(&(operation.to_string(), count)).or_else(|| s.nth.get(&("*".to_string(), total))).copied();
    let fault = fault.or_else(|| {
        let (share, fault) = s.share?;
        // xorshift64: a fixed sequence, so a failing run can be replayed.
        s.rng ^= s.rng << 13;
        s.rng ^= s.rng >> 7;
        s.rng ^= s.rng << 17;
        ((s.rng % 10_000) as f64 / 10_000.0 < share).then_some(fault)
    });
    match fault {
        Some(fault) => {
            s.injected.push(format!("{operation}: {fault:?}"));
            Decision::Fault(fault)
        }
        None => Decision::Forward,
    }
}

fn serve(client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let (upstream, state) = (shared.upstream.as_str(), &shared.state);
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    while let Some(request) = read_request(&mut reader)? {
        let operation = operation(&request);
        match decide(state, &operation) {
            Decision::Forward => {
                let response = forward(&request, upstream)?;
                let rewrite = state.lock().expect("proxy state").rewrites.get(&operation).cloned();
                let response = match rewrite {
                    Some((from, to)) => rewritten(&response, &from, &to),
                    None => response,
                };
                client.write_all(&response)?;
            }
            Decision::Crash => {
                client.write_all(&error_response(
                    &request,
                    400,
                    "InjectedCrash",
                    "the invocation died here (injected)",
                ))?;
            }
            Decision::Fault(Fault::Slow(delay)) => {
                thread::sleep(delay);
                let response = forward(&request, upstream)?;
                client.write_all(&response)?;
            }
            Decision::Fault(Fault::Throttle) => {
                let (status, code) = if is_ec2(&request) {
                    (503, "RequestLimitExceeded")
                } else if s3_operation(&request).is_some() {
                    (503, "SlowDown")
                } else if is_query(&request) {
                    (400, "Throttling")
                } else {
                    (400, "ThrottlingException")
                };
                client.write_all(&error_response(&request, status, code, "Rate exceeded (injected)"))?;
            }
            Decision::Fault(Fault::Refused(code)) => {
                client.write_all(&error_response(&request, 400, code, "refused (injected)"))?;
            }
            Decision::Fault(Fault::ServerError(status)) => {
                client.write_all(&error_response(&request, status, "InternalError", "injected server error"))?;
            }
            Decision::Fault(Fault::ResetBeforeForwarding) => {
                let _ = client.shutdown(Shutdown::Both);
                return Ok(());
            }
            Decision::Fault(Fault::ResetAfterForwarding) => {
                let _ = forward(&request, upstream)?;
                let _ = client.shutdown(Shutdown::Both);
                return Ok(());
            }
        }
        client.flush()?;
    }
    Ok(())
}

/// The answer with `from` replaced by `to` in its body, and its length told again.
fn rewritten(response: &[u8], from: &str, to: &str) -> Vec<u8> {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4).unwrap_or(response.len());
    let (head, body) = response.split_at(split);
    let body = String::from_utf8_lossy(body).replace(from, to);
    let mut out = Vec::new();
    for line in String::from_utf8_lossy(head).split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("content-length:") {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body.as_bytes());
    out
}

fn error_response(request: &Request, status: u16, code: &str, message: &str) -> Vec<u8> {
    let (content_type, body) = if s3_operation(request).is_some() {
        ("application/xml", format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>injected</RequestId></Error>"))
    } else if is_ec2(request) {
        ("text/xml", format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>injected</RequestID></Response>"))
    } else if is_query(request) {
        ("text/xml", format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>injected</RequestId></ErrorResponse>"))
    } else {
        ("application/json", format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"))
    };
    let reason = match status {
        400 => "Bad Request",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nx-amzn-ErrorType: {code}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
