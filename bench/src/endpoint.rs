//! The AWS endpoint the functions under test talk to: it records every request it receives
//! (operation, parameters, when it arrived, when it was answered) and either answers at once from
//! canned responses ([`crate::canned`]) or forwards to moto. An optional delay per answer stands
//! in for the network distance to a regional AWS endpoint.

use std::collections::BTreeMap;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::canned::World;
use crate::http::{read_request, Request, Server};

/// One AWS request as the endpoint saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub operation: String,
    pub params: BTreeMap<String, String>,
    /// The request was fully received.
    pub start: Instant,
    /// Its answer was fully written.
    pub end: Instant,
}

pub enum Backend {
    Canned(World),
    /// `127.0.0.1:PORT` of a moto server.
    Forward(String),
}

struct Shared {
    backend: Backend,
    latency: Mutex<Duration>,
    records: Mutex<Vec<Recorded>>,
}

pub struct Endpoint {
    pub url: String,
    shared: Arc<Shared>,
    _server: Server,
}

impl Endpoint {
    pub fn start(backend: Backend) -> std::io::Result<Self> {
        let shared = Arc::new(Shared { backend, latency: Mutex::new(Duration::ZERO), records: Mutex::new(Vec::new()) });
        let server = Server::start(shared.clone(), serve)?;
        Ok(Self { url: format!("http://127.0.0.1:{}", server.port), shared, _server: server })
    }

    /// Every answer is held back this long (zero: answer at once).
    pub fn set_latency(&self, latency: Duration) {
        if let Ok(mut l) = self.shared.latency.lock() {
            *l = latency;
        }
    }

    /// The requests received since the last call, in order of arrival.
    pub fn take_records(&self) -> Vec<Recorded> {
        let mut records = self.shared.records.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
        records.sort_by_key(|r| r.start);
        records
    }
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut client = stream;
    while let Some(request) = read_request(&mut reader)? {
        let start = Instant::now();
        let params = request.form();
        let operation = params.get("Action").cloned().unwrap_or_else(|| format!("{} {}", request.method, request.path));
        let answer = match &shared.backend {
            Backend::Canned(world) => world.answer(&operation, &params),
            Backend::Forward(upstream) => forward(&request, upstream)?,
        };
        let latency = shared.latency.lock().map(|l| *l).unwrap_or_default();
        if !latency.is_zero() {
            thread::sleep(latency);
        }
        client.write_all(&answer)?;
        client.flush()?;
        let end = Instant::now();
        if let Ok(mut records) = shared.records.lock() {
            records.push(Recorded { operation, params, start, end });
        }
    }
    Ok(())
}

/// Sends one request to moto on a fresh connection and re-frames the answer with a
/// Content-Length, so that the client's connection can stay open.
fn forward(request: &Request, upstream: &str) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream)?;
    let _ = server.set_nodelay(true);
    let mut out = Vec::new();
    for (i, line) in request.head.iter().enumerate() {
        let lower = line.to_ascii_lowercase();
        if i > 0 && (lower.starts_with("connection:") || lower.starts_with("transfer-encoding:")) {
            continue;
        }
        if i > 0 && lower.starts_with("content-length:") {
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\nConnection: close\r\n\r\n", request.body.len()).as_bytes());
    out.extend_from_slice(&request.body);
    server.write_all(&out)?;
    let mut raw = Vec::new();
    server.read_to_end(&mut raw)?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4).unwrap_or(raw.len());
    let (head, body) = raw.split_at(split);
    let mut response = Vec::new();
    for line in String::from_utf8_lossy(head).split("\r\n").filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:")
            || lower.starts_with("content-length:")
            || lower.starts_with("transfer-encoding:")
        {
            continue;
        }
        response.extend_from_slice(line.as_bytes());
        response.extend_from_slice(b"\r\n");
    }
    response.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    response.extend_from_slice(body);
    Ok(response)
}
