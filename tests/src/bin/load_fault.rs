//! Load-and-fault benchmark: complaints through the local api at a steady rate while the
//! pipeline is hurt, then a count of what arrived.
//!
//! - N complaints (`--complaints`, default 10,000) are POSTed to the api at a steady
//!   rate (`--rate` per second), each with its own `Idempotency-Key`; 5% are submitted a
//!   second time with the same key and body a little later (a double click, a retry).
//!   A refused (503) or unanswered request is retried with the same key, as a client
//!   should.
//! - 1% poison messages (not JSON, invalid complaints, bad references, an impossible
//!   receipt time) are put straight on the complaints queue.
//! - The api is served in this process (`redress-local`'s gateway, no queue consumers);
//!   intake runs as a child process (this binary with `--intake-worker`: the intake
//!   function behind `redress-local`'s SQS poller, `--pollers` loops at once, batches of
//!   the template's 10), so it can be killed.
//! - At 40% of the load DynamoDB Local is killed (SIGKILL) and started again on its
//!   on-disk data; at 70% the intake process is killed (SIGKILL) in the middle of a
//!   batch (after the batch started and before it settled) and started again.
//! - The generator holds while the complaints queue is deeper than `--max-depth`
//!   (default 300, visible plus in flight): moto walks the whole queue on every receive
//!   and delete, so past a few hundred messages moto, not the pipeline, sets the pace.
//!   For the same reason the notifications queue (a message per complaint, not delivered
//!   here) is emptied as the notifier would.
//! - Then it waits for the complaints queue to drain and checks: every accepted
//!   reference has exactly one ticket and one first audit event (0 lost, 0 doubled), every
//!   key got one reference, every poison message is in the dead-letter queue (and no
//!   complaint is), and the metric counters equal the tickets stored.
//!
//! The local stack must keep DynamoDB's data on disk (it is restarted mid-run):
//!
//! ```sh
//! export REDRESS_DDB_PORT=8130 REDRESS_SQS_PORT=5130 REDRESS_DDB_DATA=/tmp/redress-lf-ddb
//! export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
//! eval "$(bash scripts/stack.sh start)"
//! cargo build -p redress-e2e --bin load_fault
//! target/debug/load_fault --complaints 500                     # quick
//! target/debug/load_fault --complaints 10000 --rate 10         # the full run
//! ```
//!
//! Writes `reports/load-fault.md` (`--out` for another file) and prints it; exits 1 if
//! anything was lost, doubled or miscounted.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use anyhow::{bail, Context, Result};
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{DateTime, Duration, Utc};
use redress_aws::DynamoStore;
use redress_domain::config::DomainConfig;
use redress_domain::metrics::{Dimension, ACK_DUE, ALL_VALUE, RECEIVED, RESOLVE_DUE};
use redress_domain::ports::MetricsReader;
use redress_domain::report::Period;
use redress_domain::ticket::{AuditAction, Ticket};
use redress_e2e::{bench, workspace_root};
use redress_local::pipeline::{run_intake, INTAKE_FUNCTION};
use redress_local::poller::{self, PollerConfig, SqsHandler};
use redress_local::{LocalOptions, LocalPipeline};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// One complaint in this many is submitted a second time (5%).
const RESUBMIT_EVERY: usize = 20;
/// A resubmission follows its first submission by this many complaints.
const RESUBMIT_AFTER: usize = 25;
/// One poison message per this many complaints (1%).
const POISON_EVERY: usize = 100;
/// The template's `maxReceiveCount` for the complaints queue.
const MAX_RECEIVES: u32 = 6;
/// Requests in flight at most; beyond it the generator falls behind (and says so).
const IN_FLIGHT: usize = 128;
/// Attempts per request before the benchmark gives up on it.
const ATTEMPTS: u32 = 60;

/// What the command line asks for.
#[derive(Debug, Clone)]
struct Args {
    complaints: usize,
    rate: f64,
    pollers: usize,
    retry_after: u64,
    /// The generator holds while the complaints queue is deeper than this (visible plus
    /// in flight): moto's receive and delete walk the whole queue, so a deep queue makes
    /// moto, not the pipeline, the bottleneck.
    max_depth: u64,
    out: PathBuf,
}

fn args() -> Result<Args> {
    let mut a = Args {
        complaints: 10_000,
        rate: 40.0,
        pollers: 4,
        retry_after: 30,
        max_depth: 300,
        out: workspace_root().join("reports/load-fault.md"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--complaints" => a.complaints = value()?.parse().context("--complaints")?,
            "--rate" => a.rate = value()?.parse().context("--rate")?,
            "--pollers" => a.pollers = value()?.parse().context("--pollers")?,
            "--retry-after" => a.retry_after = value()?.parse().context("--retry-after")?,
            "--max-depth" => a.max_depth = value()?.parse().context("--max-depth")?,
            "--out" => a.out = PathBuf::from(value()?),
            other => bail!(
                "unknown argument {other}; use --complaints N --rate PER_SECOND --pollers N \
                 --retry-after SECS --max-depth MESSAGES --out FILE"
            ),
        }
    }
    if a.complaints < 100 || a.complaints > 1_000_000 {
        bail!("--complaints must be from 100 to 1,000,000");
    }
    if !(a.rate > 0.0 && a.rate <= 1000.0) {
        bail!("--rate must be above 0 and at most 1000 per second");
    }
    if a.pollers == 0 || a.pollers > 64 {
        bail!("--pollers must be from 1 to 64");
    }
    Ok(a)
}

fn main() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if std::env::args().nth(1).as_deref() == Some("--intake-worker") {
        return runtime.block_on(intake_worker());
    }
    let args = args()?;
    runtime.block_on(run(args))
}

// ------------------------------------------------------------------ the intake process

/// The intake function's `Timeout` in infra/template.yaml: each batch's deadline.
const INTAKE_TIMEOUT: Duration = Duration::seconds(30);

/// The intake function behind `--pollers` SQS pollers, as `redress-local` runs it. Tells
/// the parent on stdout when each batch starts and settles; exits when stdin closes.
async fn intake_worker() -> Result<()> {
    let var = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
    let queue_url = var("LF_QUEUE_URL")?;
    let queue_arn = var("LF_QUEUE_ARN")?;
    let pollers: usize = var("LF_POLLERS")?.parse()?;
    let retry_after: u64 = var("LF_RETRY_AFTER")?.parse()?;
    let aws = redress_aws::load_aws_config().await;
    let config = Arc::new(DomainConfig::from_env().context("loading the configuration")?);
    let deps = Arc::new(
        redress_intake::IntakeDeps::from_env(&redress_aws::env::ProcessEnv, &aws, config)
            .map_err(|e| anyhow::anyhow!("intake environment: {e}"))?,
    );
    let batches = Arc::new(AtomicU64::new(0));
    let handler: SqsHandler = Arc::new(move |event: SqsEvent| {
        let deps = Arc::clone(&deps);
        let id = batches.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            let n = event.records.len();
            println!("start {id} {n}");
            let started = Instant::now();
            // As Lambda runs it: a deadline of the function's Timeout, retries inside.
            let response = run_intake(&deps, event, INTAKE_TIMEOUT).await;
            println!(
                "done {id} {n} {} {}",
                response.batch_item_failures.len(),
                started.elapsed().as_micros()
            );
            response
        })
    });
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let (_shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    for _ in 0..pollers {
        let config = PollerConfig {
            queue_url: queue_url.clone(),
            queue_arn: queue_arn.clone(),
            region: aws
                .region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "us-east-1".into()),
            batch_size: 10,
            wait: StdDuration::from_secs(1),
            retry_after: Some(StdDuration::from_secs(retry_after)),
        };
        tokio::spawn(poller::run(
            sqs.clone(),
            config,
            Arc::clone(&handler),
            shutdown_rx.clone(),
        ));
    }
    println!("ready");
    // The parent holds our stdin: when it goes, so do we.
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(_)) = stdin.next_line().await {}
    Ok(())
}

/// What the parent learns from the intake process's stdout.
#[derive(Default)]
struct IntakeLog {
    started: BTreeMap<(u32, u64), usize>,
    settled: BTreeMap<(u32, u64), (usize, usize, u64)>,
    ready: bool,
}

struct IntakeProcess {
    child: Child,
    generation: u32,
    /// Reads the process's stdout into the log; ends when the process is gone.
    reader: tokio::task::JoinHandle<()>,
}

async fn spawn_intake(
    env: &BTreeMap<String, String>,
    generation: u32,
    log: Arc<Mutex<IntakeLog>>,
) -> Result<IntakeProcess> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--intake-worker")
        .envs(env)
        .env("RUST_LOG", "off")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting the intake process")?;
    let stdout = child.stdout.take().context("intake stdout")?;
    let reader = tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let mut log = log.lock().expect("not poisoned");
            match parts.as_slice() {
                ["ready"] => log.ready = true,
                ["start", id, n] => {
                    if let (Ok(id), Ok(n)) = (id.parse(), n.parse()) {
                        log.started.insert((generation, id), n);
                    }
                }
                ["done", id, n, failed, micros] => {
                    if let (Ok(id), Ok(n), Ok(f), Ok(us)) =
                        (id.parse(), n.parse(), failed.parse(), micros.parse())
                    {
                        log.settled.insert((generation, id), (n, f, us));
                    }
                }
                _ => {}
            }
        }
    });
    Ok(IntakeProcess {
        child,
        generation,
        reader,
    })
}

// ------------------------------------------------------------------ the local stack

/// The stack's DynamoDB Local and moto processes (started by scripts/stack.sh).
struct Stack {
    root: PathBuf,
    ddb_port: String,
    sqs_port: String,
}

impl Stack {
    fn from_env() -> Result<Self> {
        let stack = Self {
            root: workspace_root().canonicalize()?,
            ddb_port: std::env::var("REDRESS_DDB_PORT").unwrap_or_else(|_| "8000".into()),
            sqs_port: std::env::var("REDRESS_SQS_PORT").unwrap_or_else(|_| "5000".into()),
        };
        let data = std::fs::read_to_string(stack.run_dir(&stack.ddb_port).join("dynamodb.data"))
            .unwrap_or_default();
        if !data.contains("-dbPath") {
            bail!(
                "DynamoDB Local on port {} does not keep its data on disk (it is killed and \
                 restarted mid-run): start the stack with REDRESS_DDB_DATA=<dir>",
                stack.ddb_port
            );
        }
        Ok(stack)
    }

    fn run_dir(&self, port: &str) -> PathBuf {
        self.root.join(".local/run").join(port)
    }

    fn pid(&self, port: &str, file: &str, name: &str) -> Result<u32> {
        let path = self.run_dir(port).join(file);
        let pid: u32 = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .trim()
            .parse()
            .context("pid file")?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains(name) {
            bail!("pid {pid} in {} is not {name}", path.display());
        }
        Ok(pid)
    }

    fn ddb_pid(&self) -> Result<u32> {
        self.pid(&self.ddb_port, "dynamodb.pid", "DynamoDB")
    }

    fn moto_pid(&self) -> Result<u32> {
        self.pid(&self.sqs_port, "moto.pid", "moto_server")
    }

    /// Kills DynamoDB Local (SIGKILL: no clean shutdown) and starts it again on the same
    /// data; returns how long it was away.
    async fn kill_and_restart_ddb(&self) -> Result<(StdDuration, Option<f64>)> {
        let pid = self.ddb_pid()?;
        let cpu = cpu_seconds(pid);
        let down = Instant::now();
        let status = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .await?;
        if !status.success() {
            bail!("kill -9 {pid} failed");
        }
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        let out = Command::new("bash")
            .arg(self.root.join("scripts/stack.sh"))
            .arg("start")
            .current_dir(&self.root)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await
            .context("restarting the stack")?;
        if !out.success() {
            bail!("scripts/stack.sh start failed after the kill");
        }
        Ok((down.elapsed(), cpu))
    }
}

/// CPU seconds a process has used (user + system), from /proc.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

// ------------------------------------------------------------------ the load

/// The complaint forms: the demo complaints on the public channels, each with a
/// borrower of its own (one in ten a repeat of an earlier borrower).
fn forms(config: &DomainConfig, count: usize) -> Result<Vec<Value>> {
    let demo: Vec<Value> = bench::demo_forms(config, Utc::now())?
        .into_iter()
        .filter(|f| matches!(f["channel"].as_str(), Some("web" | "app")))
        .collect();
    Ok((0..count)
        .map(|i| {
            let mut form = demo[bench::mix(i as u64) as usize % demo.len()].clone();
            let borrower = if i % 10 == 9 { i / 2 } else { i };
            form["borrower"] = json!({
                "name": "Load Test",
                "phone": format!("139{:08}", borrower),
            });
            form.as_object_mut().map(|o| o.remove("submitted_at"));
            form
        })
        .collect())
}

/// The poison messages: each can never succeed, and carries a marker to find it by.
fn poison(i: usize, valid_form: &Value) -> String {
    let marker = format!("lf-poison-{i}");
    match i % 4 {
        0 => format!("{marker} this is not JSON {{"),
        1 => json!({"reference": "RD-261202-AAAAAAAA", "received_at": Utc::now(),
                     "form": {"text": marker}})
        .to_string(),
        2 => {
            json!({"reference": marker, "received_at": Utc::now(), "form": valid_form}).to_string()
        }
        // Valid but for its receipt time, at the first day chrono knows.
        _ => {
            let mut form = valid_form.clone();
            form["desired_outcome"] = json!(marker);
            json!({"reference": "RD-261202-AAAAAAAB", "received_at": "-262143-01-01T00:00:00Z",
                   "form": form})
            .to_string()
        }
    }
}

/// One HTTP attempt.
struct Attempt {
    /// Since the start of the load.
    at: f64,
    micros: u64,
    /// 0 when no answer came.
    status: u16,
}

#[derive(Default)]
struct LoadState {
    attempts: Vec<Attempt>,
    /// Complaint index → the references it was given (one per 202).
    references: HashMap<usize, Vec<String>>,
    /// Complaints given up on, and answers that were neither 202 nor retryable.
    failures: Vec<String>,
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: &str,
    started: Instant,
    state: &Mutex<LoadState>,
) -> Result<String, String> {
    for attempt in 0..ATTEMPTS {
        let t = Instant::now();
        let result = client
            .post(url)
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body.to_string())
            .send()
            .await;
        let (status, answer) = match result {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.text().await.unwrap_or_default())
            }
            Err(_) => (0, String::new()),
        };
        state.lock().expect("not poisoned").attempts.push(Attempt {
            at: (t - started).as_secs_f64(),
            micros: t.elapsed().as_micros() as u64,
            status,
        });
        match status {
            202 => {
                let v: Value = serde_json::from_str(&answer).map_err(|e| e.to_string())?;
                return v["reference"]
                    .as_str()
                    .map(String::from)
                    .ok_or_else(|| "202 without a reference".to_string());
            }
            // Unanswered, or the api says try again: the same key, after a pause.
            0 | 429 | 500..=599 => {
                let wait = 250u64 << attempt.min(3);
                tokio::time::sleep(StdDuration::from_millis(wait)).await;
            }
            other => return Err(format!("{other}: {answer}")),
        }
    }
    Err(format!("no 202 after {ATTEMPTS} attempts"))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<(u64, u64)> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await?;
    let get = |name: QueueAttributeName| {
        out.attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((
        get(QueueAttributeName::ApproximateNumberOfMessages),
        get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    ))
}

/// Every message on a queue (each received once, then left to reappear).
async fn drain_bodies(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<Vec<String>> {
    let mut bodies = Vec::new();
    let mut empty = 0;
    while empty < 3 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .wait_time_seconds(1)
            .send()
            .await?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            empty += 1;
        }
        bodies.extend(messages.into_iter().filter_map(|m| m.body));
    }
    Ok(bodies)
}

/// What happened to the faults.
#[derive(Default, Clone)]
struct Faults {
    ddb_killed_at: Option<f64>,
    ddb_down_secs: Option<f64>,
    intake_killed_at: Option<f64>,
    /// The batch the kill interrupted: (messages, handled before the kill was known).
    intake_killed_batch: Option<(u64, usize)>,
    intake_batches_unsettled: usize,
    /// Kills that found no batch in flight (the process was restarted and killed again).
    intake_kills_between_batches: usize,
    intake_restarted_after: Option<f64>,
    /// CPU seconds of the first intake process when it was killed.
    intake_cpu_first: Option<f64>,
    /// CPU seconds of DynamoDB Local's first process when it was killed.
    ddb_cpu_first: Option<f64>,
}

async fn run(args: Args) -> Result<()> {
    bench::require_local_stack()?;
    let stack = Stack::from_env()?;
    let load_before = loadavg();
    let cpu_ddb_before = stack.ddb_pid().ok().and_then(cpu_seconds);
    let cpu_moto_before = stack.moto_pid().ok().and_then(cpu_seconds);
    let config = DomainConfig::from_env()?;
    let prefix = format!("lf{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut options = LocalOptions::new(workspace_root(), prefix);
    options.consume_queues = false;
    options.deliver_notifications = false;
    options.sweep_every = None;
    let pipeline = LocalPipeline::start(options)
        .await
        .context("starting the api (is the local stack up?)")?;
    let table = pipeline.resources.table("TicketsTable")?.to_string();
    let (queue_url, queue_arn) = pipeline
        .resources
        .queues
        .get("ComplaintsQueue")
        .cloned()
        .context("no ComplaintsQueue")?;
    let dlq_url = pipeline
        .resources
        .queue_url("ComplaintsDeadLetterQueue")?
        .to_string();
    let mut intake_env = pipeline.environments[INTAKE_FUNCTION].clone();
    intake_env.insert("LF_QUEUE_URL".into(), queue_url.clone());
    intake_env.insert("LF_QUEUE_ARN".into(), queue_arn);
    intake_env.insert("LF_POLLERS".into(), args.pollers.to_string());
    intake_env.insert("LF_RETRY_AFTER".into(), args.retry_after.to_string());
    let intake_log = Arc::new(Mutex::new(IntakeLog::default()));
    let mut intake = spawn_intake(&intake_env, 0, Arc::clone(&intake_log)).await?;
    let wait_ready = Instant::now();
    while !intake_log.lock().expect("not poisoned").ready {
        if wait_ready.elapsed() > StdDuration::from_secs(60) {
            bail!("the intake process did not start");
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }

    let n = args.complaints;
    let forms = Arc::new(forms(&config, n)?);
    let bodies: Arc<Vec<String>> = Arc::new(forms.iter().map(|f| f.to_string()).collect());
    // The schedule: every complaint once, and one in twenty again a little later.
    let mut schedule: Vec<(usize, bool)> = Vec::with_capacity(n + n / RESUBMIT_EVERY + 1);
    let mut later: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        schedule.push((i, false));
        if let Some(again) = later.remove(&i) {
            schedule.extend(again.into_iter().map(|j| (j, true)));
        }
        if i % RESUBMIT_EVERY == 7 {
            later.entry(i + RESUBMIT_AFTER).or_default().push(i);
        }
    }
    for (_, again) in later {
        schedule.extend(again.into_iter().map(|j| (j, true)));
    }
    let resubmits = schedule.iter().filter(|(_, again)| *again).count();

    let url = format!("{}/complaints", pipeline.base_url);
    let client = reqwest::Client::builder()
        .timeout(StdDuration::from_secs(30))
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()?;
    let state = Arc::new(Mutex::new(LoadState::default()));
    let sent = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let run_id = uuid::Uuid::new_v4().simple().to_string();

    // Queue depth, every two seconds.
    let depth_samples: Arc<Mutex<Vec<(f64, u64, u64)>>> = Arc::default();
    let sampler = {
        let (sqs, url, samples, finished) = (
            pipeline.sqs.clone(),
            queue_url.clone(),
            Arc::clone(&depth_samples),
            Arc::clone(&finished),
        );
        tokio::spawn(async move {
            while !finished.load(Ordering::Relaxed) {
                if let Ok((visible, hidden)) = queue_depth(&sqs, &url).await {
                    samples.lock().expect("not poisoned").push((
                        started.elapsed().as_secs_f64(),
                        visible,
                        hidden,
                    ));
                }
                tokio::time::sleep(StdDuration::from_secs(2)).await;
            }
        })
    };

    // The notifier's side of the notifications queue: take its messages off (they are not
    // delivered here). Left to pile up, thousands of them slow every moto call and moto,
    // not the pipeline, sets the pace (measured: moto at 100% of a core, half the rate).
    let notifications_taken = Arc::new(AtomicUsize::new(0));
    let notifications_drain = {
        let (sqs, url, finished, taken) = (
            pipeline.sqs.clone(),
            pipeline
                .resources
                .queue_url("NotificationsQueue")?
                .to_string(),
            Arc::clone(&finished),
            Arc::clone(&notifications_taken),
        );
        tokio::spawn(async move {
            while !finished.load(Ordering::Relaxed) {
                let got = sqs
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .wait_time_seconds(1)
                    .send()
                    .await;
                let Ok(got) = got else {
                    tokio::time::sleep(StdDuration::from_secs(1)).await;
                    continue;
                };
                for m in got.messages() {
                    if let Some(handle) = m.receipt_handle() {
                        let deleted = sqs
                            .delete_message()
                            .queue_url(&url)
                            .receipt_handle(handle)
                            .send()
                            .await;
                        taken.fetch_add(usize::from(deleted.is_ok()), Ordering::Relaxed);
                    }
                }
            }
        })
    };

    // The faults, at 40% and 70% of the schedule.
    let faults = Arc::new(Mutex::new(Faults::default()));
    let ddb_fault = {
        let (sent, faults) = (Arc::clone(&sent), Arc::clone(&faults));
        let total = schedule.len();
        let stack = Stack {
            root: stack.root.clone(),
            ddb_port: stack.ddb_port.clone(),
            sqs_port: stack.sqs_port.clone(),
        };
        tokio::spawn(async move {
            while sent.load(Ordering::Relaxed) < total * 4 / 10 {
                tokio::time::sleep(StdDuration::from_millis(20)).await;
            }
            let at = started.elapsed().as_secs_f64();
            eprintln!("   {at:.1} s: killing DynamoDB Local");
            let down = stack.kill_and_restart_ddb().await;
            let mut f = faults.lock().expect("not poisoned");
            f.ddb_killed_at = Some(at);
            match down {
                Ok((d, cpu)) => {
                    eprintln!("   DynamoDB Local back after {:.1} s", d.as_secs_f64());
                    f.ddb_down_secs = Some(d.as_secs_f64());
                    f.ddb_cpu_first = cpu;
                    Ok(())
                }
                Err(e) => Err(e),
            }
        })
    };

    let semaphore = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let interval = StdDuration::from_secs_f64(1.0 / args.rate);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut requests = tokio::task::JoinSet::new();
    let mut poisoned = 0usize;
    let mut behind = 0usize;
    let (mut held, mut held_secs) = (0usize, 0.0f64);
    let intake_kill_at = schedule.len() * 7 / 10;
    let mut intake_killed = false;
    let mut intake_generation = 0u32;
    let mut last_progress = Instant::now();
    for (k, &(i, again)) in schedule.iter().enumerate() {
        // Backpressure: hold while the last sampled depth is over the bound, then resume
        // the steady rate (the ticker skips what was missed instead of bursting it).
        let depth_now = || {
            depth_samples
                .lock()
                .expect("not poisoned")
                .last()
                .map_or(0, |(_, v, h)| v + h)
        };
        if depth_now() > args.max_depth {
            let from = Instant::now();
            held += 1;
            while depth_now() > args.max_depth {
                tokio::time::sleep(StdDuration::from_millis(250)).await;
            }
            held_secs += from.elapsed().as_secs_f64();
            ticker.reset();
        }
        ticker.tick().await;
        let permit = match Arc::clone(&semaphore).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                behind += 1;
                Arc::clone(&semaphore).acquire_owned().await?
            }
        };
        let (client, url, bodies, st) = (
            client.clone(),
            url.clone(),
            Arc::clone(&bodies),
            Arc::clone(&state),
        );
        let key = format!("lf-{run_id}-{i}");
        requests.spawn(async move {
            let result = post(&client, &url, &key, &bodies[i], started, &st).await;
            let mut s = st.lock().expect("not poisoned");
            match result {
                Ok(reference) => s.references.entry(i).or_default().push(reference),
                Err(e) => s.failures.push(format!(
                    "complaint {i}{}: {e}",
                    if again { " (resubmitted)" } else { "" }
                )),
            }
            drop(permit);
        });
        sent.fetch_add(1, Ordering::Relaxed);
        if !again && i % POISON_EVERY == POISON_EVERY / 2 {
            pipeline
                .sqs
                .send_message()
                .queue_url(&queue_url)
                .message_body(poison(poisoned, &forms[i]))
                .send()
                .await
                .context("sending a poison message")?;
            poisoned += 1;
        }
        if !intake_killed && k >= intake_kill_at {
            intake_killed = true;
            // A kill can land between batches (they settle in tens of milliseconds when
            // the queue is shallow): then restart and kill again, a few times at most.
            for attempt in 1..=5 {
                let (killed, restarted) =
                    kill_intake_mid_batch(&mut intake, &intake_log, started).await?;
                intake_generation += 1;
                intake =
                    spawn_intake(&intake_env, intake_generation, Arc::clone(&intake_log)).await?;
                let mut f = faults.lock().expect("not poisoned");
                f.intake_cpu_first =
                    Some(f.intake_cpu_first.unwrap_or(0.0) + killed.3.unwrap_or(0.0));
                f.intake_restarted_after = Some(restarted.as_secs_f64());
                if let Some(batch) = killed.1 {
                    f.intake_killed_at = Some(killed.0);
                    f.intake_killed_batch = Some(batch);
                    f.intake_batches_unsettled = killed.2;
                    break;
                }
                f.intake_kills_between_batches += 1;
                if attempt == 5 {
                    bail!("five kills of the intake process found no batch in flight");
                }
            }
        }
        if last_progress.elapsed() > StdDuration::from_secs(15) {
            last_progress = Instant::now();
            let s = state.lock().expect("not poisoned");
            eprintln!(
                "   {:.0} s: {k} requests sent, {} complaints accepted",
                started.elapsed().as_secs_f64(),
                s.references.len()
            );
        }
    }
    let send_secs = started.elapsed().as_secs_f64();
    while let Some(r) = requests.join_next().await {
        r?;
    }
    let answered_secs = started.elapsed().as_secs_f64();
    ddb_fault.await??;
    eprintln!("   load sent in {send_secs:.1} s; waiting for the queue to drain");

    // Drained: nothing visible or in flight for 10 s in a row (a killed batch's messages
    // come back after the queue's visibility timeout, 180 s).
    let mut quiet_since: Option<Instant> = None;
    let drain_deadline = Instant::now() + StdDuration::from_secs(900);
    loop {
        let (visible, hidden) = queue_depth(&pipeline.sqs, &queue_url).await?;
        if visible + hidden == 0 {
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if since.elapsed() > StdDuration::from_secs(10) {
                break;
            }
        } else {
            quiet_since = None;
        }
        if Instant::now() > drain_deadline {
            eprintln!(
                "   the queue did not drain in 15 minutes ({visible} visible, {hidden} in flight)"
            );
            break;
        }
        tokio::time::sleep(StdDuration::from_secs(2)).await;
    }
    let drained_secs = started.elapsed().as_secs_f64();
    finished.store(true, Ordering::Relaxed);
    sampler.await?;
    notifications_drain.await?;
    let cpu_intake_last = intake.child.id().and_then(cpu_seconds);
    let _ = intake.child.start_kill();
    let _ = intake.child.wait().await;
    let _ = (&mut intake.reader).await;
    let load_after = loadavg();
    let cpu_ddb_after = stack.ddb_pid().ok().and_then(cpu_seconds);
    let cpu_moto_after = stack.moto_pid().ok().and_then(cpu_seconds);

    // ---------------------------------------------------------------- the count
    let state = std::mem::take(&mut *state.lock().expect("not poisoned"));
    let faults = faults.lock().expect("not poisoned").clone();
    let (tickets, events) = bench::tickets_and_events(&pipeline.ddb, &table).await?;
    let dead: Vec<String> = drain_bodies(&pipeline.sqs, &dlq_url).await?;
    let mut problems: Vec<String> = state.failures.clone();

    let mut accepted: BTreeMap<String, usize> = BTreeMap::new();
    let mut keys_with_two_references = 0;
    for (i, refs) in &state.references {
        let distinct: BTreeSet<&String> = refs.iter().collect();
        if distinct.len() > 1 {
            keys_with_two_references += 1;
            problems.push(format!("complaint {i} got {} references", distinct.len()));
        }
        for r in distinct {
            accepted.insert(r.clone(), *i);
        }
    }
    let stored: BTreeMap<&str, &Ticket> =
        tickets.iter().map(|t| (t.reference.as_str(), t)).collect();
    let lost: Vec<&String> = accepted
        .keys()
        .filter(|r| !stored.contains_key(r.as_str()))
        .collect();
    let unexpected: Vec<&str> = stored
        .keys()
        .filter(|r| !accepted.contains_key(**r))
        .copied()
        .collect();
    let doubled_tickets = tickets.len() - stored.len();
    let mut doubled_first_events = 0;
    let mut missing_first_events = 0;
    for t in &tickets {
        let firsts = events
            .get(t.reference.as_str())
            .map(|e| {
                e.iter()
                    .filter(|e| e.action == AuditAction::Received)
                    .count()
            })
            .unwrap_or(0);
        match firsts {
            1 => {}
            0 => missing_first_events += 1,
            _ => doubled_first_events += 1,
        }
    }
    // The dead-letter queue: every poison message, and any complaint that ended there.
    let poison_found = (0..poisoned)
        .filter(|p| {
            let marker = format!("lf-poison-{p}");
            dead.iter()
                .any(|b| b.contains(&format!("{marker} ")) || b.contains(&format!("\"{marker}\"")))
        })
        .count();
    let complaints_dead: Vec<String> = dead
        .iter()
        .filter(|b| !b.contains("lf-poison-"))
        .filter_map(|b| serde_json::from_str::<Value>(b).ok())
        .filter_map(|v| v["reference"].as_str().map(String::from))
        .collect();
    let lost_in_dlq = lost.iter().filter(|r| complaints_dead.contains(r)).count();
    if !lost.is_empty() {
        problems.push(format!(
            "{} accepted complaints have no ticket ({} of them in the dead-letter queue)",
            lost.len(),
            lost_in_dlq
        ));
    }
    if !unexpected.is_empty() {
        problems.push(format!("{} tickets no client was given", unexpected.len()));
    }
    if doubled_tickets + doubled_first_events + missing_first_events > 0 {
        problems.push(format!(
            "{doubled_tickets} doubled tickets, {doubled_first_events} doubled first events, \
             {missing_first_events} missing first events"
        ));
    }
    if poison_found != poisoned {
        problems.push(format!(
            "{poison_found} of {poisoned} poison messages in the dead-letter queue"
        ));
    }

    // The counters: RECEIVED and both deadlines due, per dimension, against the tickets.
    let store = DynamoStore::new(pipeline.ddb.clone(), table.clone()).with_config(&config);
    let tz = config.sla.reporting_time_zone();
    let now = Utc::now();
    let period = Period {
        from: (now - Duration::days(2)).with_timezone(&tz).date_naive(),
        to: (now + Duration::days(400)).with_timezone(&tz).date_naive(),
    };
    let (rows, _) = store.metric_rows(&period).await?;
    let mut counters: BTreeMap<(Dimension, String, &str), i64> = BTreeMap::new();
    for row in &rows {
        for (name, value) in &row.counters {
            if let Some(c) = [RECEIVED, ACK_DUE, RESOLVE_DUE]
                .into_iter()
                .find(|c| c == name)
            {
                *counters
                    .entry((row.dimension, row.value.clone(), c))
                    .or_default() += value;
            }
        }
    }
    let mut from_tickets: BTreeMap<(Dimension, String, &str), i64> = BTreeMap::new();
    for t in &tickets {
        for (d, v) in [
            (Dimension::All, ALL_VALUE.to_string()),
            (Dimension::Team, t.team.to_string()),
            (Dimension::Category, t.category.to_string()),
            (Dimension::Channel, t.channel.as_str().to_string()),
            (Dimension::Priority, t.priority.as_str().to_string()),
        ] {
            for c in [RECEIVED, ACK_DUE, RESOLVE_DUE] {
                *from_tickets.entry((d, v.clone(), c)).or_default() += 1;
            }
        }
        // Signals count complaints received only.
        for signal in &t.signals {
            *from_tickets
                .entry((Dimension::Signal, signal.as_str().to_string(), RECEIVED))
                .or_default() += 1;
        }
    }
    let counter_keys: BTreeSet<_> = counters
        .keys()
        .chain(from_tickets.keys())
        .cloned()
        .collect();
    let mut counter_mismatches = 0;
    for key in &counter_keys {
        let (a, b) = (
            from_tickets.get(key).copied().unwrap_or(0),
            counters.get(key).copied().unwrap_or(0),
        );
        if a != b {
            counter_mismatches += 1;
            problems.push(format!(
                "{} for {}={}: {a} tickets, counter {b}",
                key.2, key.0, key.1
            ));
        }
    }
    let received_all = counters
        .get(&(Dimension::All, ALL_VALUE.to_string(), RECEIVED))
        .copied()
        .unwrap_or(0);

    // ---------------------------------------------------------------- the figures
    let mut all: Vec<u64> = state.attempts.iter().map(|a| a.micros).collect();
    all.sort_unstable();
    let outage = |a: &Attempt| match (faults.ddb_killed_at, faults.ddb_down_secs) {
        (Some(at), Some(down)) => a.at >= at - 1.0 && a.at <= at + down + 5.0,
        _ => false,
    };
    let mut calm: Vec<u64> = state
        .attempts
        .iter()
        .filter(|a| !outage(a))
        .map(|a| a.micros)
        .collect();
    calm.sort_unstable();
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for a in &state.attempts {
        *by_status.entry(a.status).or_default() += 1;
    }
    let depth = depth_samples.lock().expect("not poisoned").clone();
    let max_depth = depth.iter().map(|(_, v, h)| v + h).max().unwrap_or(0);
    let max_visible = depth.iter().map(|(_, v, _)| *v).max().unwrap_or(0);
    let settled: Vec<(usize, usize, u64)> = intake_log
        .lock()
        .expect("not poisoned")
        .settled
        .values()
        .copied()
        .collect();
    let batch_messages: usize = settled.iter().map(|(n, _, _)| n).sum();
    let batch_failed: usize = settled.iter().map(|(_, f, _)| f).sum();
    let mut per_message: Vec<u64> = settled
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, _, us)| us / *n as u64)
        .collect();
    per_message.sort_unstable();

    // The first process until the kill, and all of the restarted one.
    let cpu_ddb = match (cpu_ddb_before, faults.ddb_cpu_first, cpu_ddb_after) {
        (Some(a), Some(k), Some(b)) => Some(k - a + b),
        (Some(a), None, Some(b)) => Some(b - a),
        _ => None,
    };
    let cpu_intake = match (faults.intake_cpu_first, cpu_intake_last) {
        (Some(a), Some(b)) => Some(a + b),
        (None, b) => b,
        (a, None) => a,
    };
    let figures = Figures {
        args: args.clone(),
        requests: schedule.len(),
        resubmits,
        poison_sent: poisoned,
        poison_found,
        accepted: accepted.len(),
        stored: stored.len(),
        lost: lost.iter().map(|s| s.to_string()).collect(),
        lost_in_dlq,
        complaints_dead: complaints_dead.len(),
        unexpected: unexpected.len(),
        doubled_tickets,
        doubled_first_events,
        missing_first_events,
        keys_with_two_references,
        received_all,
        counter_rows: counter_keys.len(),
        counter_mismatches,
        send_secs,
        answered_secs,
        drained_secs,
        behind,
        held,
        held_secs,
        notifications_taken: notifications_taken.load(Ordering::Relaxed),
        latency_all: [50.0, 95.0, 99.0, 100.0].map(|p| percentile(&all, p)),
        latency_calm: [50.0, 95.0, 99.0, 100.0].map(|p| percentile(&calm, p)),
        attempts: state.attempts.len(),
        by_status,
        max_depth,
        max_visible,
        batches: settled.len(),
        batch_messages,
        batch_failed,
        per_message_ms: [50.0, 95.0].map(|p| percentile(&per_message, p)),
        faults,
        load_before,
        load_after,
        cpu_ddb,
        cpu_intake,
        cpu_moto: cpu_moto_before.zip(cpu_moto_after).map(|(a, b)| b - a),
        cpu_self: cpu_seconds(std::process::id()),
        problems: problems.clone(),
        date: now,
    };
    let report = markdown(&figures);
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &report)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("{report}");
    eprintln!("written to {}", args.out.display());

    // The benchmark's table lives on disk: remove it.
    pipeline
        .ddb
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .context("deleting the benchmark table")?;
    pipeline.stop().await;
    if !problems.is_empty() {
        eprintln!("LOST, DOUBLED OR MISCOUNTED:");
        for p in problems.iter().take(30) {
            eprintln!("  {p}");
        }
        std::process::exit(1);
    }
    Ok(())
}

/// Waits for the intake process to start a batch, lets it work on it a moment, and kills
/// it (SIGKILL) before the batch settles. Returns (when, (batch id, messages), batches
/// started and not settled, its CPU seconds) and how long the restart waited.
async fn kill_intake_mid_batch(
    intake: &mut IntakeProcess,
    log: &Arc<Mutex<IntakeLog>>,
    started: Instant,
) -> Result<((f64, Option<(u64, usize)>, usize, Option<f64>), StdDuration)> {
    let generation = intake.generation;
    let seen = log
        .lock()
        .expect("not poisoned")
        .started
        .keys()
        .filter(|(g, _)| *g == generation)
        .count();
    // A batch of several messages if one comes within 10 s (at a low rate most batches
    // hold one), else the next batch of any size.
    let patient = Instant::now() + StdDuration::from_secs(10);
    let deadline = Instant::now() + StdDuration::from_secs(60);
    let batch = loop {
        let smallest = if Instant::now() < patient { 1 } else { 0 };
        let next = {
            let l = log.lock().expect("not poisoned");
            l.started
                .iter()
                .filter(|((g, _), _)| *g == generation)
                .skip(seen)
                .find(|(_, n)| **n > smallest)
                .map(|((_, id), n)| (*id, *n))
        };
        if let Some(b) = next {
            break b;
        }
        if Instant::now() > deadline {
            bail!("the intake process started no batch in 60 s");
        }
        tokio::time::sleep(StdDuration::from_millis(2)).await;
    };
    // Part of the batch is handled (each message is a few DynamoDB calls), not all. With
    // the queue kept shallow a batch can settle in tens of milliseconds, so kill soon.
    tokio::time::sleep(StdDuration::from_millis(5)).await;
    let cpu = intake.child.id().and_then(cpu_seconds);
    intake
        .child
        .start_kill()
        .context("killing the intake process")?;
    let at = started.elapsed().as_secs_f64();
    intake.child.wait().await?;
    // Every line the process wrote before it died, read: a batch started and not done
    // was caught in flight.
    (&mut intake.reader)
        .await
        .context("reading the intake process's output")?;
    // The batch watched, or if it settled just before the kill another one the kill
    // caught in flight (there are `--pollers` at once).
    let (batch, unsettled) = {
        let l = log.lock().expect("not poisoned");
        let in_flight: Vec<(u64, usize)> = l
            .started
            .iter()
            .filter(|(k, _)| k.0 == generation && !l.settled.contains_key(*k))
            .map(|((_, id), n)| (*id, *n))
            .collect();
        let caught = if in_flight.iter().any(|(id, _)| *id == batch.0) {
            Some(batch)
        } else {
            in_flight.first().copied()
        };
        (caught, in_flight.len())
    };
    match batch {
        Some((id, n)) => eprintln!(
            "   {at:.1} s: intake killed in batch {id} ({n} messages); {unsettled} batches unsettled"
        ),
        None => eprintln!("   {at:.1} s: intake killed between batches; restarting to try again"),
    }
    let restart = Instant::now();
    tokio::time::sleep(StdDuration::from_secs(1)).await;
    Ok(((at, batch, unsettled, cpu), restart.elapsed()))
}

struct Figures {
    args: Args,
    requests: usize,
    resubmits: usize,
    poison_sent: usize,
    poison_found: usize,
    accepted: usize,
    stored: usize,
    lost: Vec<String>,
    lost_in_dlq: usize,
    complaints_dead: usize,
    unexpected: usize,
    doubled_tickets: usize,
    doubled_first_events: usize,
    missing_first_events: usize,
    keys_with_two_references: usize,
    received_all: i64,
    counter_rows: usize,
    counter_mismatches: usize,
    send_secs: f64,
    answered_secs: f64,
    drained_secs: f64,
    behind: usize,
    held: usize,
    held_secs: f64,
    notifications_taken: usize,
    latency_all: [f64; 4],
    latency_calm: [f64; 4],
    attempts: usize,
    by_status: BTreeMap<u16, usize>,
    max_depth: u64,
    max_visible: u64,
    batches: usize,
    batch_messages: usize,
    batch_failed: usize,
    per_message_ms: [f64; 2],
    faults: Faults,
    load_before: String,
    load_after: String,
    cpu_ddb: Option<f64>,
    cpu_moto: Option<f64>,
    cpu_self: Option<f64>,
    cpu_intake: Option<f64>,
    problems: Vec<String>,
    date: DateTime<Utc>,
}

fn markdown(f: &Figures) -> String {
    let mut s = String::new();
    let ok = |b: bool| if b { "yes" } else { "**NO**" };
    let _ = writeln!(
        s,
        "# Load and fault: complaints through the api while the pipeline is hurt\n"
    );
    let _ = writeln!(
        s,
        "Run {} UTC by `target/debug/load_fault --complaints {} --rate {} --pollers {} \
         --retry-after {} --max-depth {}` (`tests/src/bin/load_fault.rs`; how it works is in \
         its header), debug build, against DynamoDB Local (on-disk data) and moto on this \
         machine (2 cores, shared). Load average before: {}; after: {}.\n",
        f.date.format("%Y-%m-%d %H:%M"),
        f.args.complaints,
        f.args.rate,
        f.args.pollers,
        f.args.retry_after,
        f.args.max_depth,
        f.load_before,
        f.load_after
    );
    let _ = writeln!(s, "## Verdict\n");
    let _ = writeln!(s, "| check | result |\n|---|---|");
    let _ = writeln!(
        s,
        "| every accepted reference has a ticket (0 lost) | {} — {} accepted, {} stored, {} lost |",
        ok(f.lost.is_empty()),
        f.accepted,
        f.stored,
        f.lost.len()
    );
    let _ = writeln!(
        s,
        "| no doubled ticket or first event | {} — {} doubled tickets, {} doubled / {} missing first events, {} keys with two references, {} tickets nobody was given |",
        ok(f.doubled_tickets + f.doubled_first_events + f.missing_first_events + f.keys_with_two_references + f.unexpected == 0),
        f.doubled_tickets,
        f.doubled_first_events,
        f.missing_first_events,
        f.keys_with_two_references,
        f.unexpected
    );
    let _ = writeln!(
        s,
        "| every poison message in the dead-letter queue | {} — {} of {}; complaints in the DLQ: {} ({} of the lost) |",
        ok(f.poison_found == f.poison_sent && f.complaints_dead == 0),
        f.poison_found,
        f.poison_sent,
        f.complaints_dead,
        f.lost_in_dlq
    );
    let _ = writeln!(
        s,
        "| counters equal the tickets stored | {} — RECEIVED (all) {} for {} tickets; {} counter/dimension rows compared, {} differ |",
        ok(f.counter_mismatches == 0 && f.received_all == f.stored as i64),
        f.received_all,
        f.stored,
        f.counter_rows,
        f.counter_mismatches
    );
    if !f.lost.is_empty() {
        let _ = writeln!(
            s,
            "\nLost references (first 20): {}",
            f.lost
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !f.problems.is_empty() {
        let _ = writeln!(s, "\nProblems found ({}; first 20):\n", f.problems.len());
        for p in f.problems.iter().take(20) {
            let _ = writeln!(s, "- {p}");
        }
    }
    let _ = writeln!(s, "\n## The load\n");
    let _ = writeln!(
        s,
        "- {} complaints, {} resubmissions with the same key and body (5%), {} requests in all at a target of {} per second; {} poison messages straight on the queue (1%).",
        f.args.complaints, f.resubmits, f.requests, f.args.rate, f.poison_sent
    );
    let _ = writeln!(
        s,
        "- All sent in {:.1} s ({:.1} requests/s; the generator waited for a free slot {} times, {} in flight at most), all answered after {:.1} s; the queue drained {:.1} s after the start.",
        f.send_secs,
        f.requests as f64 / f.send_secs,
        f.behind,
        IN_FLIGHT,
        f.answered_secs,
        f.drained_secs
    );
    let _ = writeln!(
        s,
        "- Backpressure: the generator held {} times, {:.1} s in all, while the complaints queue was deeper than {} messages (`--max-depth`).",
        f.held, f.held_secs, f.args.max_depth
    );
    let _ = writeln!(
        s,
        "- The notifications queue was emptied as the notifier would (not delivered here): {} messages taken off it.",
        f.notifications_taken
    );
    let _ = writeln!(
        s,
        "- Throughput: {:.1} complaints accepted per second by the api; {:.1} tickets stored per second end to end (accepted ÷ time to drain, the faults' pauses included).",
        f.accepted as f64 / f.answered_secs,
        f.stored as f64 / f.drained_secs
    );
    let _ = writeln!(
        s,
        "- HTTP attempts: {} ({}).",
        f.attempts,
        f.by_status
            .iter()
            .map(|(k, v)| if *k == 0 {
                format!("{v} unanswered")
            } else {
                format!("{v} × {k}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(s, "\n## API latency (POST /complaints, per attempt)\n");
    let _ = writeln!(
        s,
        "| attempts | p50 | p95 | p99 | max |\n|---|---|---|---|---|"
    );
    let row = |l: &[f64; 4]| {
        format!(
            "{:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms",
            l[0], l[1], l[2], l[3]
        )
    };
    let _ = writeln!(s, "| all | {} |", row(&f.latency_all));
    let _ = writeln!(
        s,
        "| outside the DynamoDB outage (kill − 1 s to back + 5 s) | {} |",
        row(&f.latency_calm)
    );
    let _ = writeln!(s, "\n## The faults\n");
    match (f.faults.ddb_killed_at, f.faults.ddb_down_secs) {
        (Some(at), Some(down)) => {
            let _ = writeln!(
                s,
                "- DynamoDB Local killed (SIGKILL) at {at:.1} s and answering again {down:.1} s later, on its on-disk data."
            );
        }
        _ => {
            let _ = writeln!(s, "- DynamoDB Local: **not killed** (the run ended first).");
        }
    }
    match (f.faults.intake_killed_at, f.faults.intake_killed_batch) {
        (Some(at), Some((id, n))) => {
            let _ = writeln!(
                s,
                "- The intake process killed (SIGKILL) at {at:.1} s, in batch {id} of {n} messages, which had not settled ({} batches in flight unsettled; {} earlier kills found no batch in flight and were restarted); a new process started {:.1} s later. The killed batches' messages, received and not deleted, came back after the queue's visibility timeout (180 s).",
                f.faults.intake_batches_unsettled,
                f.faults.intake_kills_between_batches,
                f.faults.intake_restarted_after.unwrap_or(0.0)
            );
        }
        _ => {
            let _ = writeln!(s, "- The intake process: **not killed**.");
        }
    }
    let _ = writeln!(
        s,
        "- Failed messages (poison, and transient failures while DynamoDB was away) were made visible again after {} s (the runner's `--retry-after`; AWS waits the visibility timeout, 180 s), and reach the dead-letter queue after {} receives.",
        f.args.retry_after, MAX_RECEIVES
    );
    let _ = writeln!(s, "\n## What limited the rate\n");
    let _ = writeln!(
        s,
        "- Intake: {} batches settled, {} messages, {} reported failed; per message (batch time ÷ size) p50 {:.1} ms, p95 {:.1} ms, with {} pollers of batches of 10.",
        f.batches, f.batch_messages, f.batch_failed, f.per_message_ms[0], f.per_message_ms[1], f.args.pollers
    );
    let _ = writeln!(
        s,
        "- Complaints queue depth (visible + in flight, sampled every 2 s): at most {} ({} visible).",
        f.max_depth, f.max_visible
    );
    let cpu = |v: Option<f64>| {
        v.map(|c| format!("{c:.0} s"))
            .unwrap_or_else(|| "unknown".into())
    };
    let _ = writeln!(
        s,
        "- CPU used during the run: DynamoDB Local {} (both processes), moto {}, intake {} (both processes), this process (api, load generator, start-up) {}; the run took {:.0} s of wall time on 2 cores.",
        cpu(f.cpu_ddb),
        cpu(f.cpu_moto),
        cpu(f.cpu_intake),
        cpu(f.cpu_self),
        f.drained_secs
    );
    s
}
