//! Cold start and size of each function's real binary, beside a hello-world
//! `lambda_runtime` binary built the same way (`hello_lambda`), under the Runtime API
//! emulator, against the local stack. Writes reports/cold-start.md.
//!
//!   # the subjects, for this machine, size-optimised code as shipped but without the
//!   # slow fat-LTO links (the shipped arm64 sizes come from scripts/build.sh), in a
//!   # target dir of their own so they do not wait on an arm64 build's lock:
//!   CARGO_TARGET_DIR=target/bench-x86 CARGO_PROFILE_RELEASE_OPT_LEVEL=s \
//!     CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
//!     cargo build --release -p redress-api -p redress-intake -p redress-surveys \
//!     -p redress-sweeper -p redress-notifier -p redress-coldstart --bins
//!   # the runner itself needs no optimisation (it only starts processes and waits):
//!   COLD_START_BIN_DIR=target/bench-x86/release \
//!     cargo run -p redress-e2e --bin cold_start -- [runs, default 10]
//!
//! Init duration: process start to its first `GET /runtime/invocation/next` (what Lambda
//! reports as Init Duration). Peak memory: the process's VmHWM read right then. Then
//! `init_steps` (tests/coldstart) times each step of a function's init in one process,
//! with the api's environment, to show what dominates.

use anyhow::{Context, Result};
use redress_e2e::runtime_api::{binary, lambda_variables, spawn, RuntimeApi};
use redress_local::{LocalOptions, LocalPipeline};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const FUNCTIONS: [(&str, &str); 6] = [
    ("hello_lambda", ""),
    ("redress-api", "ApiFunction"),
    ("redress-intake", "IntakeFunction"),
    ("redress-surveys", "SurveysFunction"),
    ("redress-sweeper", "SweeperFunction"),
    ("redress-notifier", "NotifierFunction"),
];

/// The steps `init_steps` times, in its order, with what each stands for.
const STEPS: [(&str, &str); 9] = [
    ("telemetry", "tracing subscriber"),
    (
        "aws_config",
        "`aws_config::load_defaults` (region, credential and endpoint chains; its HTTP client loads the system's CA roots, once per process)",
    ),
    (
        "first_client",
        "the first SDK client (`Client::new`: its HTTP client, a rustls configuration from the roots already loaded)",
    ),
    (
        "secret_first_request",
        "first request: connection, then the Secrets Manager round trip",
    ),
    (
        "secret_second_request",
        "the same request again: the round trip alone",
    ),
    (
        "another_client",
        "each further SDK client (a DynamoDB `Client::new`)",
    ),
    (
        "domain_rules",
        "the TOML rules, routing table and SLA policies (`DomainConfig::rules_only_from_env`)",
    ),
    (
        "classifier_model",
        "the classifier's model (`TextModel::bundled`, ~1.95 MB of text; intake only)",
    ),
    (
        "domain_config",
        "`DomainConfig::from_env`: the TOML rules and the classifier model (before they were timed apart)",
    ),
];

/// What follows this line in reports/cold-start.md is written by hand, and kept.
const HAND_WRITTEN: &str = "<!-- written by hand below; cold_start keeps it -->";

/// CPU time the process has used so far, all threads, in ms (the scheduler's own
/// nanosecond account): unlike the wall-clock init, it hardly moves with the machine's
/// load, and it is what a Lambda's fractional vCPU (at 256 MB) has to pay for.
fn cpu_ms(pid: u32) -> Option<f64> {
    let mut ns = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 / 1e6)
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A subject binary: in `COLD_START_BIN_DIR` if set, else in target/release.
fn subject(name: &str) -> Result<PathBuf> {
    match std::env::var_os("COLD_START_BIN_DIR") {
        Some(dir) => {
            let path = PathBuf::from(dir).join(name);
            anyhow::ensure!(path.is_file(), "{} is not built", path.display());
            Ok(path)
        }
        None => binary(name, "release"),
    }
}

/// A function's environment as the template gives it, without the keys (which the
/// function must read from Secrets Manager itself, as in Lambda).
fn environment_of(pipeline: &LocalPipeline, function: &str) -> Vec<(String, String)> {
    if function.is_empty() {
        return vec![];
    }
    pipeline.environments[function]
        .iter()
        .filter(|(k, _)| !redress_aws::secrets::KEY_FIELDS.iter().any(|(_, v)| v == k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The 1-minute load average, as /proc/loadavg has it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> Result<()> {
    redress_e2e::bench::require_local_stack()?;
    let runs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10);
    let prefix = format!("cold{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let pipeline = LocalPipeline::start(LocalOptions::new(redress_e2e::workspace_root(), prefix))
        .await
        .context("starting the local pipeline for the functions' resources")?;
    let load_before = load_average();
    let mut rows = Vec::new();
    for (bin, function) in FUNCTIONS {
        let path = subject(bin)?;
        let size = std::fs::metadata(&path)?.len();
        let environment = environment_of(&pipeline, function);
        let (mut inits, mut peaks, mut cpus) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let api = RuntimeApi::start().await?;
            let mut variables = lambda_variables(
                api.addr,
                if function.is_empty() {
                    "hello"
                } else {
                    function
                },
            );
            variables.extend(environment.iter().cloned());
            let started = Instant::now();
            let mut child = spawn(&path, &variables)?;
            let ready = api.wait_ready(Duration::from_secs(30)).await?;
            inits.push((ready - started).as_secs_f64() * 1000.0);
            if let Some(kib) = child.id().and_then(peak_rss_kib) {
                peaks.push(kib as f64 / 1024.0);
            }
            if let Some(ms) = child.id().and_then(cpu_ms) {
                cpus.push(ms);
            }
            child.kill().await?;
        }
        println!(
            "{bin}: init {:.1} ms, CPU {:.1} ms, peak {:.1} MiB, {:.1} MB",
            median(inits.clone()),
            median(cpus.clone()),
            median(peaks.clone()),
            size as f64 / 1e6
        );
        let fastest = inits.iter().copied().fold(f64::INFINITY, f64::min);
        rows.push((
            bin,
            median(inits),
            fastest,
            median(cpus),
            median(peaks),
            size,
        ));
    }

    // What the api's init spends its time on, step by step, in fresh processes.
    let steps_bin = subject("init_steps")?;
    let mut variables = lambda_variables("127.0.0.1:9".parse()?, "ApiFunction");
    variables.extend(environment_of(&pipeline, "ApiFunction"));
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); STEPS.len()];
    for _ in 0..runs {
        let output = spawn(&steps_bin, &variables)?.wait_with_output().await?;
        anyhow::ensure!(
            output.status.success(),
            "init_steps failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let line = String::from_utf8_lossy(&output.stdout);
        let times: serde_json::Value = serde_json::from_str(line.trim())
            .with_context(|| format!("init_steps printed {line:?}"))?;
        for (i, (step, _)) in STEPS.iter().enumerate() {
            // A step this build of init_steps does not time stays out of the table.
            if let Some(ms) = times.get(step).and_then(|t| t.as_f64()) {
                samples[i].push(ms);
            }
        }
    }
    let steps: Vec<Option<f64>> = samples
        .into_iter()
        .map(|s| (!s.is_empty()).then(|| median(s)))
        .collect();
    pipeline.stop().await;

    let hello = rows[0].1;
    let mut md = String::new();
    writeln!(md, "# Cold start and size\n")?;
    writeln!(
        md,
        "Generated by `cargo run -p redress-e2e --bin cold_start -- {runs}` on {} against the local stack: \
         each binary built for this machine (x86_64) with opt-level s and no LTO (the build command is in the header of \
         tests/src/bin/cold_start.rs; the sizes of the shipped, fat-LTO arm64 bootstraps are in docs/deploy.md), started {runs} times \
         under the Runtime API emulator (tests/src/runtime_api.rs) with its template environment; medians. The functions' \
         init of api, intake and surveys includes reading the keys secret from Secrets Manager (moto, over loopback HTTP). \
         Machine load (1-minute load average, 2 cores shared with other builds): {load_before} at the start, {} at the end.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        load_average()
    )?;
    writeln!(
        md,
        "| binary | init (ms) | × hello-world | fastest init (ms) | CPU time to first `/next` (ms) | × hello-world | peak memory (MiB) | stripped size, this build (MB) |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
    let hello_cpu = rows[0].3;
    for (bin, init, fastest, cpu, peak, size) in &rows {
        writeln!(
            md,
            "| {bin} | {init:.1} | {:.1} | {fastest:.1} | {cpu:.1} | {:.1} | {peak:.1} | {:.1} |",
            init / hello,
            cpu / hello_cpu,
            *size as f64 / 1e6
        )?;
    }
    writeln!(
        md,
        "\nWhere the api's init goes (`init_steps`: the same steps as its `main`, timed in one \
         fresh process each run, medians of {runs}; the process start itself is the \
         hello-world's row):\n"
    )?;
    writeln!(md, "| step | ms |")?;
    writeln!(md, "|---|---:|")?;
    for ((_, what), ms) in STEPS.iter().zip(&steps) {
        let Some(ms) = ms else { continue };
        writeln!(md, "| {what} | {ms:.2} |")?;
    }
    let out = redress_e2e::workspace_root().join("reports/cold-start.md");
    if let Ok(previous) = std::fs::read_to_string(&out) {
        if let Some(at) = previous.find(HAND_WRITTEN) {
            md.push('\n');
            md.push_str(&previous[at..]);
        }
    }
    std::fs::write(&out, md)?;
    println!("wrote {}", out.display());
    Ok(())
}
