//! A local Lambda Runtime API (the 2018-06-01 interface a `provided.al2023` bootstrap and the
//! Python runtime's bootstrap poll): hands out one event at a time and takes back the answer.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::http::{read_request, response, Server};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:quarantine-instance";

/// What the function answered to one event.
#[derive(Debug, Clone)]
pub struct Answer {
    pub request_id: String,
    /// The response body, or the error body the function posted.
    pub body: Result<String, String>,
    pub at: Instant,
}

struct Shared {
    events: Mutex<Receiver<(String, String)>>,
    polled: Mutex<Sender<Instant>>,
    handed: Mutex<Sender<Instant>>,
    answers: Mutex<Sender<Answer>>,
}

pub struct RuntimeApi {
    /// `127.0.0.1:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    _server: Server,
    events: Sender<(String, String)>,
    polled: Receiver<Instant>,
    handed: Receiver<Instant>,
    answers: Receiver<Answer>,
    sequence: u64,
}

#[derive(Debug)]
pub struct RuntimeError(pub String);

impl std::fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuntimeError {}

impl RuntimeApi {
    pub fn start() -> std::io::Result<Self> {
        let (events, events_rx) = channel();
        let (polled_tx, polled) = channel();
        let (handed_tx, handed) = channel();
        let (answers_tx, answers) = channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(events_rx),
            polled: Mutex::new(polled_tx),
            handed: Mutex::new(handed_tx),
            answers: Mutex::new(answers_tx),
        });
        let server = Server::start(shared, serve)?;
        Ok(Self {
            address: format!("127.0.0.1:{}", server.port),
            _server: server,
            events,
            polled,
            handed,
            answers,
            sequence: 0,
        })
    }

    /// Waits for the function to ask for an event; returns when it asked.
    pub fn wait_for_poll(&self, timeout: Duration) -> Result<Instant, RuntimeError> {
        self.polled.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => {
                RuntimeError(format!("the function did not ask for an event within {timeout:?}"))
            }
            RecvTimeoutError::Disconnected => RuntimeError("the runtime API stopped".into()),
        })
    }

    /// Queues `event` for whichever function asks next; returns its request id.
    pub fn queue(&mut self, event: &str) -> Result<String, RuntimeError> {
        self.sequence += 1;
        let request_id = format!("bench-{:08}", self.sequence);
        self.events
            .send((request_id.clone(), event.to_string()))
            .map_err(|_| RuntimeError("the runtime API stopped".into()))?;
        Ok(request_id)
    }

    /// The next answer any function posts.
    pub fn next_answer(&self, timeout: Duration) -> Result<Answer, RuntimeError> {
        self.answers.recv_timeout(timeout).map_err(|_| RuntimeError(format!("no answer within {timeout:?}")))
    }

    /// Hands `event` to the waiting function; returns when it was handed over and the answer.
    pub fn invoke(&mut self, event: &str, timeout: Duration) -> Result<(Instant, Answer), RuntimeError> {
        self.sequence += 1;
        let request_id = format!("bench-{:08}", self.sequence);
        self.events
            .send((request_id.clone(), event.to_string()))
            .map_err(|_| RuntimeError("the runtime API stopped".into()))?;
        let handed = self.handed.recv_timeout(timeout).map_err(|_| RuntimeError("the event was not taken".into()))?;
        loop {
            let answer = self
                .answers
                .recv_timeout(timeout)
                .map_err(|_| RuntimeError(format!("no answer to {request_id} within {timeout:?}")))?;
            if answer.request_id == request_id {
                return Ok((handed, answer));
            }
        }
    }
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut client = stream;
    while let Some(request) = read_request(&mut reader)? {
        let path = request.path.split('?').next().unwrap_or_default().to_string();
        if request.method == "GET" && path == NEXT {
            if let Ok(polled) = shared.polled.lock() {
                let _ = polled.send(Instant::now());
            }
            // Blocks until the bench has an event; a stopped bench ends the connection.
            let next = shared.events.lock().ok().and_then(|events| events.recv().ok());
            let Some((request_id, event)) = next else { return Ok(()) };
            let deadline_ms =
                SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0) + 900_000;
            let headers = [
                ("Lambda-Runtime-Aws-Request-Id", request_id),
                ("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string()),
                ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN.to_string()),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0".to_string()),
            ];
            let handed = Instant::now();
            client.write_all(&response(200, "application/json", &headers, &event))?;
            client.flush()?;
            if let Ok(tx) = shared.handed.lock() {
                let _ = tx.send(handed);
            }
            continue;
        }
        let at = Instant::now();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        // 2018-06-01/runtime/invocation/{id}/response|error, or 2018-06-01/runtime/init/error
        let answer = match parts.as_slice() {
            [_, "runtime", "invocation", id, "response"] => {
                Some(Answer { request_id: id.to_string(), body: Ok(String::from_utf8_lossy(&request.body).into()), at })
            }
            [_, "runtime", "invocation", id, "error"] => Some(Answer {
                request_id: id.to_string(),
                body: Err(String::from_utf8_lossy(&request.body).into()),
                at,
            }),
            [_, "runtime", "init", "error"] => {
                Some(Answer { request_id: "init".into(), body: Err(String::from_utf8_lossy(&request.body).into()), at })
            }
            _ => None,
        };
        let status = if answer.is_some() { 202 } else { 404 };
        client.write_all(&response(status, "application/json", &[], "{\"status\":\"OK\"}"))?;
        client.flush()?;
        if let (Some(answer), Ok(tx)) = (answer, shared.answers.lock()) {
            let _ = tx.send(answer);
        }
    }
    Ok(())
}
