//! A Lambda Runtime API emulator for running the functions' real `bootstrap` binaries
//! (their `main.rs`, environment parsing and all) as Lambda would: the process polls
//! `GET /2018-06-01/runtime/invocation/next`, answers on `/response` or `/error`, and
//! reports a failed cold start on `/runtime/init/error`.
//!
//! Why our own rather than `cargo lambda watch`: watch compiles and starts the function
//! through cargo itself, so neither the test nor the cold-start benchmark could see the
//! process start, the moment of the first `/next` (the init duration Lambda reports),
//! the exit status or the stderr of a failed cold start. This emulator implements the
//! four calls of the Runtime API the functions make, no more.

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// What an invocation ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

#[derive(Default)]
struct State {
    pending: VecDeque<(String, Value)>,
    outcomes: HashMap<String, Outcome>,
    init_error: Option<Value>,
    first_next: Option<Instant>,
}

/// One emulated Runtime API endpoint, for one function process.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Listens on a free loopback port.
    pub async fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let changed = Arc::new(Notify::new());
        let (s, c) = (Arc::clone(&state), Arc::clone(&changed));
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (s, c) = (Arc::clone(&s), Arc::clone(&c));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        serve(req, Arc::clone(&s), Arc::clone(&c))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            state,
            changed,
            server,
        })
    }

    /// When the process first asked for work (end of its init), if it has.
    pub fn first_next(&self) -> Option<Instant> {
        self.state.lock().unwrap().first_next
    }

    /// The init error the process reported, if any.
    pub fn init_error(&self) -> Option<Value> {
        self.state.lock().unwrap().init_error.clone()
    }

    /// Waits (up to `limit`) for the process's first `/next`.
    pub async fn wait_ready(&self, limit: Duration) -> Result<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.changed.notified();
            if let Some(t) = self.first_next() {
                return Ok(t);
            }
            if Instant::now() >= deadline {
                return Err(anyhow!("the function did not call /next within {limit:?}"));
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    /// Hands the process one event and waits (up to `limit`) for its answer.
    pub async fn invoke(&self, event: Value, limit: Duration) -> Result<Outcome> {
        let id = uuid::Uuid::new_v4().to_string();
        self.state
            .lock()
            .unwrap()
            .pending
            .push_back((id.clone(), event));
        self.changed.notify_waiters();
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.changed.notified();
            if let Some(outcome) = self.state.lock().unwrap().outcomes.remove(&id) {
                return Ok(outcome);
            }
            if Instant::now() >= deadline {
                return Err(anyhow!("no answer to invocation {id} within {limit:?}"));
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

type Answer = Response<Full<Bytes>>;

fn answer(status: u16, body: &str) -> Answer {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

async fn serve(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
) -> Result<Answer, std::convert::Infallible> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let json = || serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let result = match (method.as_str(), parts.as_slice()) {
        ("GET", ["2018-06-01", "runtime", "invocation", "next"]) => {
            state
                .lock()
                .unwrap()
                .first_next
                .get_or_insert_with(Instant::now);
            changed.notify_waiters();
            // Long poll, as Lambda does: answer when there is an event.
            loop {
                let notified = changed.notified();
                if let Some((id, event)) = state.lock().unwrap().pending.pop_front() {
                    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
                    break Response::builder()
                        .status(200)
                        .header("lambda-runtime-aws-request-id", id)
                        .header("lambda-runtime-deadline-ms", deadline.to_string())
                        .header(
                            "lambda-runtime-invoked-function-arn",
                            "arn:aws:lambda:us-east-1:000000000000:function:redress-test",
                        )
                        .header(
                            "lambda-runtime-trace-id",
                            "Root=1-00000000-000000000000000000000000",
                        )
                        .body(Full::new(Bytes::from(event.to_string())))
                        .expect("a valid response");
                }
                let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
            }
        }
        ("POST", ["2018-06-01", "runtime", "invocation", id, kind @ ("response" | "error")]) => {
            let outcome = if *kind == "response" {
                Outcome::Response(json())
            } else {
                Outcome::Error(json())
            };
            state
                .lock()
                .unwrap()
                .outcomes
                .insert(id.to_string(), outcome);
            changed.notify_waiters();
            answer(202, r#"{"status":"OK"}"#)
        }
        ("POST", ["2018-06-01", "runtime", "init", "error"]) => {
            state.lock().unwrap().init_error = Some(json());
            changed.notify_waiters();
            answer(202, r#"{"status":"OK"}"#)
        }
        _ => answer(404, r#"{"errorMessage":"not a Runtime API call"}"#),
    };
    Ok(result)
}

/// A function binary built for this machine (`cargo build --bins`), by its name.
pub fn binary(name: &str, profile: &str) -> Result<PathBuf> {
    let path = crate::workspace_root()
        .join("target")
        .join(profile)
        .join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(anyhow!(
            "{} is not built: run `cargo build --workspace --bins` first (scripts/test.sh does)",
            path.display()
        ))
    }
}

/// The variables Lambda sets for every function, pointing it at `api`.
pub fn lambda_variables(api: SocketAddr, function: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/12/02/[$LATEST]test".to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        ),
        ("RUST_LOG", "warn".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Starts `binary` with only `variables` (plus what reaches the local stack: region,
/// dummy credentials, endpoints, PATH), as a Lambda execution environment would.
pub fn spawn(binary: &PathBuf, variables: &[(String, String)]) -> Result<tokio::process::Child> {
    let mut command = tokio::process::Command::new(binary);
    command.env_clear();
    for name in [
        "PATH",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SQS",
    ] {
        if let Ok(v) = std::env::var(name) {
            command.env(name, v);
        }
    }
    command
        .envs(variables.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    command
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))
}
