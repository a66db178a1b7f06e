//! The AWS endpoint the functions under test talk to: it records every request it receives
//! (operation, parameters, when it arrived, when it was answered) and either answers at once from
//! canned responses ([`crate::canned`]) or forwards to moto. An optional delay per answer stands
//! in for the network distance to a regional AWS endpoint; optional token buckets
//! ([`crate::buckets`]) throttle EC2 as EC2 does.

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::buckets::{is_ec2, request_limit_exceeded, Buckets};
use crate::canned::World;
use crate::http::{forward, read_request, Server};

/// One AWS request as the endpoint saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub operation: String,
    pub params: BTreeMap<String, String>,
    /// The request was fully received.
    pub start: Instant,
    /// Its answer was fully written.
    pub end: Instant,
    /// Answered `RequestLimitExceeded`: it changed nothing.
    pub throttled: bool,
    /// Answered with success (2xx): a refused request changed nothing either.
    pub ok: bool,
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
    buckets: Mutex<Option<std::sync::Arc<Buckets>>>,
}

pub struct Endpoint {
    pub url: String,
    shared: Arc<Shared>,
    _server: Server,
}

impl Endpoint {
    pub fn start(backend: Backend) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            backend,
            latency: Mutex::new(Duration::ZERO),
            records: Mutex::new(Vec::new()),
            buckets: Mutex::new(None),
        });
        let server = Server::start(shared.clone(), serve)?;
        Ok(Self { url: format!("http://127.0.0.1:{}", server.port), shared, _server: server })
    }

    /// Every answer is held back this long (zero: answer at once).
    pub fn set_latency(&self, latency: Duration) {
        if let Ok(mut l) = self.shared.latency.lock() {
            *l = latency;
        }
    }

    /// EC2's token buckets, full, from now on (`false`: no throttling).
    pub fn set_throttling(&self, on: bool) {
        if let Ok(mut b) = self.shared.buckets.lock() {
            *b = on.then(|| Arc::new(Buckets::default()));
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
        let buckets = shared.buckets.lock().ok().and_then(|b| b.clone());
        let throttled = buckets.is_some_and(|b| is_ec2(&params) && !b.admit(&operation, &params));
        let answer = match &shared.backend {
            _ if throttled => request_limit_exceeded(),
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
        let ok = answer.starts_with(b"HTTP/1.1 2");
        if let Ok(mut records) = shared.records.lock() {
            records.push(Recorded { operation, params, start, end, throttled, ok });
        }
    }
    Ok(())
}
