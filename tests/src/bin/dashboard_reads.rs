//! Benchmark: the management dashboard costs about what the report it shows costs.
//!
//! For each volume it stores N complaints received over the last 30 days (the shared
//! seeding of the benchmarks: the demo complaints on every channel, each written with
//! the intake's `create_ticket`), then asks the api handler itself — the same
//! `redress_api::handle` the Lambda and the local runner call, as a manager — for:
//!
//! - `GET /reports/overview?from&to&by=team` (the report; its `items_read` body field),
//! - `GET /dashboard/view?from&to&by=team&report=overview` (the page's report area; its
//!   `data-items-read` attribute), which now builds every figure and chart from one read,
//! - and, for the record, the eleven report requests the dashboard used to run one after
//!   another (the overview, deadlines by team, overview by category, and one overview per
//!   trend bucket), summed.
//!
//! Each request runs `RUNS` times; the table shows the median time. Against the local
//! stack (like the tests):
//!
//! ```sh
//! eval "$(bash scripts/stack.sh start)"
//! cargo run -p redress-e2e --bin dashboard_reads               # 2000 and 50000
//! cargo run -p redress-e2e --bin dashboard_reads -- 500 5000    # other sizes
//! ```
//!
//! Writes `reports/dashboard-reads.md` and prints it. Fails if the dashboard reads more
//! than 1.5 times the items of the report.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Request, Response};
use redress_domain::config::DomainConfig;
use redress_domain::report::Period;
use redress_e2e::{bench, workspace_root};
use redress_local::LocalPipeline;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

/// Days the dashboard shows (and the complaints are spread over).
const DAYS: i64 = 30;
/// Timed runs of each request.
const RUNS: usize = 5;
/// Timed runs of the old dashboard's eleven requests (slow: shown for the record).
const RUNS_BEFORE: usize = 1;
/// The target: the dashboard costs at most this many times the report.
const TARGET: f64 = 1.5;

/// What one kind of request cost: items read (the same every run) and median time.
#[derive(Clone, Copy)]
struct Cost {
    items: u64,
    ms: f64,
}

struct Row {
    complaints: usize,
    seed_secs: f64,
    report: Cost,
    dashboard: Cost,
    before: Cost,
}

#[tokio::main]
async fn main() -> Result<()> {
    bench::require_local_stack()?;
    let sizes = bench::sizes_from_args(&[2_000, 50_000])?;
    let config = Arc::new(DomainConfig::bundled()?);
    let now = Utc::now();
    let forms = Arc::new(bench::demo_forms(&config, now)?);
    let today = now
        .with_timezone(&config.sla.reporting_time_zone())
        .date_naive();
    let period = Period {
        from: today - Duration::days(DAYS - 1),
        to: today,
    };
    let mut rows = Vec::new();
    for &complaints in &sizes {
        if complaints == 0 {
            bail!("store at least one complaint");
        }
        eprintln!(
            "== {complaints} complaints over {} .. {}",
            period.from, period.to
        );
        rows.push(run(&config, &forms, complaints, &period, now).await?);
    }
    let report = markdown(&rows, &period, now);
    let dir = workspace_root().canonicalize()?.join("reports");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("dashboard-reads.md");
    std::fs::write(&path, &report).with_context(|| format!("writing {}", path.display()))?;
    println!("{report}");
    eprintln!("written to {}", path.display());
    for r in &rows {
        let ratio = r.dashboard.items as f64 / r.report.items.max(1) as f64;
        if ratio > TARGET {
            bail!(
                "{} complaints: the dashboard read {ratio:.2}x the report's items",
                r.complaints
            );
        }
    }
    Ok(())
}

async fn run(
    config: &Arc<DomainConfig>,
    forms: &Arc<Vec<Value>>,
    complaints: usize,
    period: &Period,
    now: DateTime<Utc>,
) -> Result<Row> {
    let (pipeline, store, table) = bench::start_pipeline(config, "dash").await?;
    let started = Instant::now();
    let first = bench::day_start(config, period.from)?;
    let retries = bench::seed(&store, config, forms, complaints, first, now).await?;
    let seed_secs = started.elapsed().as_secs_f64();
    eprintln!("   seeded in {seed_secs:.1} s ({retries} retried transactions)");

    let (from, to) = (period.from.to_string(), period.to.to_string());
    let window = [("from", from.as_str()), ("to", to.as_str()), ("by", "team")];
    let report = timed(&pipeline, RUNS, || {
        manager_get("/reports/overview", &window, &[])
    })
    .await?;
    let dashboard = timed(&pipeline, RUNS, || {
        manager_get("/dashboard/view", &window, &[("report", "overview")])
    })
    .await?;

    // The dashboard as it was: one report request per figure group and trend bucket.
    let mut before = vec![
        ("overview", from.clone(), to.clone(), "team"),
        ("deadlines", from.clone(), to.clone(), "team"),
        ("overview", from.clone(), to.clone(), "category"),
    ];
    for b in period.buckets(8) {
        before.push(("overview", b.from.to_string(), b.to.to_string(), "team"));
    }
    let mut old = Cost { items: 0, ms: 0.0 };
    for (kind, from, to, by) in &before {
        let path = format!("/reports/{kind}");
        let q = [("from", from.as_str()), ("to", to.as_str()), ("by", *by)];
        let c = timed(&pipeline, RUNS_BEFORE, || manager_get(&path, &q, &[])).await?;
        old.items += c.items;
        old.ms += c.ms;
    }
    bench::finish_pipeline(pipeline, &table).await?;
    Ok(Row {
        complaints,
        seed_secs,
        report,
        dashboard,
        before: old,
    })
}

/// Runs a request `runs` times through the api handler: items read and median time.
async fn timed(
    pipeline: &LocalPipeline,
    runs: usize,
    request: impl Fn() -> Result<Request>,
) -> Result<Cost> {
    let mut times = Vec::new();
    let mut items = None;
    for _ in 0..runs {
        let req = request()?;
        let started = Instant::now();
        let response = redress_api::handle(&pipeline.api, req).await;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        let read = items_read(response)?;
        if items.is_some_and(|i| i != read) {
            bail!("the items read changed between runs ({items:?} then {read})");
        }
        items = Some(read);
    }
    times.sort_by(f64::total_cmp);
    Ok(Cost {
        items: items.unwrap_or(0),
        ms: times[times.len() / 2],
    })
}

/// Items read, from a report's JSON (`items_read`) or a dashboard fragment
/// (`data-items-read`).
fn items_read(response: Response<Body>) -> Result<u64> {
    let status = response.status();
    let body = match response.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        Body::Empty => String::new(),
        _ => bail!("an unexpected body"),
    };
    if !status.is_success() {
        bail!("{status}: {body}");
    }
    if let Ok(json) = serde_json::from_str::<Value>(&body) {
        let counters = json["items_read"]["counters"].as_u64();
        let overdue = json["items_read"]["overdue_now"].as_u64();
        return counters
            .zip(overdue)
            .map(|(c, o)| c + o)
            .context("the report has no items_read");
    }
    body.split("data-items-read=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .context("the dashboard fragment has no data-items-read")
}

/// A GET as API Gateway hands it to the function after the JWT authorizer, for a manager.
fn manager_get(path: &str, query: &[(&str, &str)], extra: &[(&str, &str)]) -> Result<Request> {
    let params: serde_json::Map<String, Value> = query
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let raw = query
        .iter()
        .chain(extra)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw,
        "headers": {"accept-language": "en"},
        "queryStringParameters": params,
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "localhost",
            "domainPrefix": "bench", "requestId": "bench", "routeKey": "$default",
            "stage": "$default", "time": "02/Dec/2026:00:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "dashboard_reads"},
            "authorizer": {"jwt": {"claims": {"username": "bench-manager",
                                               "cognito:groups": "[managers]"},
                                   "scopes": null}},
        },
        "isBase64Encoded": false,
    });
    lambda_http::request::from_str(&event.to_string()).context("building the request")
}

fn markdown(rows: &[Row], period: &Period, now: DateTime<Utc>) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Dashboard reads: one pass, about the cost of the report\n"
    );
    let _ = writeln!(
        md,
        "Generated by `cargo run -p redress-e2e --bin dashboard_reads` on {} against the \
         local stack (DynamoDB Local, moto), debug build. Each table holds N complaints \
         received between {} and now, written with the intake's `create_ticket`. Every \
         request goes through `redress_api::handle` as a manager; times are the median of \
         {RUNS} runs ({RUNS_BEFORE} for the old dashboard's requests). Items read = counter items plus the live overdue-now queue entries.\n",
        now.format("%Y-%m-%d %H:%M UTC"),
        period.from,
    );
    let _ = writeln!(
        md,
        "| complaints | **report** items | **dashboard** items | items ratio | report time | dashboard time | time ratio | before: 11 reports, items | before: time |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | **{:.2}×** | {:.0} ms | {:.0} ms | **{:.2}×** | {} | {:.0} ms |",
            r.complaints,
            r.report.items,
            r.dashboard.items,
            r.dashboard.items as f64 / r.report.items.max(1) as f64,
            r.report.ms,
            r.dashboard.ms,
            r.dashboard.ms / r.report.ms.max(1e-9),
            r.before.items,
            r.before.ms,
        );
    }
    let _ = writeln!(
        md,
        "\n- **Report**: `GET /reports/overview` reads the counters of the period and of \
         the previous period (two reads) and the live overdue-now entries."
    );
    let _ = writeln!(
        md,
        "- **Dashboard**: `GET /dashboard/view` reads the counters of the period and its \
         previous period once (`Period::with_previous`, which also holds every trend \
         bucket's previous period), builds the overview, deadlines by team, overview by \
         category and the eight trend points from those rows, and reads overdue-now once \
         for the main report. Target: at most {TARGET}× the report, in items and time."
    );
    let _ = writeln!(
        md,
        "- **Before**: the same page ran the eleven report requests one after another, each \
         reading its counters and its overdue-now entries again; summed here for comparison."
    );
    let _ = writeln!(
        md,
        "- Seeding: {}.",
        rows.iter()
            .map(|r| format!("{} complaints in {:.0} s", r.complaints, r.seed_secs))
            .collect::<Vec<_>>()
            .join(", ")
    );
    md
}
