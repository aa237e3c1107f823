//! Benchmark: the DynamoDB items read to build a 30-day report depend on days × groups ×
//! counter shards, not on how many complaints there were.
//!
//! For each volume it stores N complaints received over the last 30 days (the 76 demo
//! complaints, each sent on every channel, so teams, categories, channels, priorities
//! and signals vary), each with `DynamoStore::create_ticket` — the intake's write: ticket,
//! first audit event, borrower-index entries and metric counters in one transaction —
//! many in flight. Then it builds the 30-day overview report exactly as the api's
//! `GET /reports/overview` does (the counter rows of the period and of the previous
//! period, `report::build`) and counts what that read. The report's RECEIVED total must
//! equal N. The live "overdue now" figure the api adds to the deadlines and overview
//! reports reads the team queues, not the counters; it is measured on its own.
//!
//! Against the local stack (like the tests):
//!
//! ```sh
//! eval "$(bash scripts/stack.sh start)"
//! cargo run --release -p redress-e2e --bin report_reads             # 1000 and 50000
//! cargo run --release -p redress-e2e --bin report_reads -- 500 5000  # other sizes
//! ```
//!
//! Writes `reports/report-reads.md` and prints it.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, Utc};
use redress_domain::config::DomainConfig;
use redress_domain::metrics::{Dimension, ALL_VALUE, RECEIVED};
use redress_domain::ports::{MetricsReader, ReadCost};
use redress_domain::report::{self, Period, ReportKind};
use redress_domain::Bilingual;
use redress_e2e::{bench, workspace_root};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

/// Days the report covers (and the complaints are spread over).
const DAYS: i64 = 30;
struct Row {
    complaints: usize,
    seed_secs: f64,
    seed_retries: u64,
    received: i64,
    current: ReadCost,
    previous: ReadCost,
    rows: usize,
    groups: usize,
    report_ms: f64,
    overdue: ReadCost,
    overdue_count: i64,
    overdue_ms: f64,
}

#[tokio::main]
async fn main() -> Result<()> {
    redress_e2e::bench::require_local_stack()?;
    let sizes = redress_e2e::bench::sizes_from_args(&[1_000, 50_000])?;
    let config = Arc::new(DomainConfig::bundled()?);
    let now = Utc::now();
    let forms = Arc::new(redress_e2e::bench::demo_forms(&config, now)?);
    let tz = config.sla.reporting_time_zone();
    let today = now.with_timezone(&tz).date_naive();
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
    let report = markdown(&rows, &period, forms.len(), now);
    let dir = workspace_root().canonicalize()?.join("reports");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("report-reads.md");
    std::fs::write(&path, &report).with_context(|| format!("writing {}", path.display()))?;
    println!("{report}");
    eprintln!("written to {}", path.display());
    Ok(())
}

async fn run(
    config: &Arc<DomainConfig>,
    forms: &Arc<Vec<Value>>,
    complaints: usize,
    period: &Period,
    now: DateTime<Utc>,
) -> Result<Row> {
    let (pipeline, store, table) = bench::start_pipeline(config, "bench").await?;

    let started = Instant::now();
    let first = bench::day_start(config, period.from)?;
    let seed_retries = bench::seed(&store, config, forms, complaints, first, now).await?;
    let seed_secs = started.elapsed().as_secs_f64();
    eprintln!("   seeded in {seed_secs:.1} s ({seed_retries} retried transactions)");

    // As the api's GET /reports/overview?from=…&to=…&by=team: the counter rows of the
    // period and of the previous one, then the pure build.
    let started = Instant::now();
    let (current_rows, current) = store.metric_rows(period).await?;
    let (previous_rows, previous) = store.metric_rows(&period.previous()).await?;
    let labels = |dimension: Dimension, key: &str| -> Option<Bilingual> {
        match dimension {
            Dimension::Team => config.routing.team(key).map(|t| t.name.clone()),
            Dimension::Category => config.classifier.category(key).map(|c| c.label.clone()),
            _ => None,
        }
    };
    let built = report::build(
        ReportKind::Overview,
        Dimension::Team,
        period,
        &current_rows,
        &previous_rows,
        &labels,
        None,
    );
    let report_ms = started.elapsed().as_secs_f64() * 1e3;

    let received = built
        .totals
        .figures
        .iter()
        .find(|f| f.name == "received")
        .map(|f| f.numerator)
        .context("the overview has no received figure")?;
    if received != complaints as i64 {
        bail!("the report counts {received} received, {complaints} were stored");
    }
    let by_team: i64 = built
        .groups
        .iter()
        .filter_map(|g| g.figures.iter().find(|f| f.name == "received"))
        .map(|f| f.numerator)
        .sum();
    if by_team != received {
        bail!("the teams' received add up to {by_team}, the total is {received}");
    }

    // The live figure the api adds to the deadlines and overview reports.
    let teams: Vec<String> = config
        .routing
        .teams()
        .iter()
        .map(|t| t.id.to_string())
        .collect();
    let started = Instant::now();
    let (overdue_counts, overdue) = store.overdue_now(&teams, Dimension::Team, now).await?;
    let overdue_ms = started.elapsed().as_secs_f64() * 1e3;
    let overdue_count = overdue_counts.get(ALL_VALUE).copied().unwrap_or(0);

    let groups: BTreeSet<(Dimension, &str)> = current_rows
        .iter()
        .filter(|r| r.counters.get(RECEIVED).is_some_and(|n| *n > 0))
        .map(|r| (r.dimension, r.value.as_str()))
        .collect();
    eprintln!(
        "   report: {} + {} items in {} + {} queries, {received} received; overdue now: {} items",
        current.items, previous.items, current.queries, previous.queries, overdue.items
    );

    bench::finish_pipeline(pipeline, &table).await?;
    Ok(Row {
        complaints,
        seed_secs,
        seed_retries,
        received,
        current,
        previous,
        rows: current_rows.len() + previous_rows.len(),
        groups: groups.len(),
        report_ms,
        overdue,
        overdue_count,
        overdue_ms,
    })
}

fn markdown(rows: &[Row], period: &Period, forms: usize, now: DateTime<Utc>) -> String {
    let previous = period.previous();
    let mut md = String::new();
    let _ = writeln!(md, "# Report reads: days and groups, not complaints\n");
    let _ = writeln!(
        md,
        "Generated by `cargo run --release -p redress-e2e --bin report_reads` on {} against \
         the local stack (DynamoDB Local, moto). Each table holds N complaints received \
         between {} and now (reporting time zone), built from {forms} forms (the demo \
         complaints on every channel) with `assess` + `open_ticket` and written with \
         `DynamoStore::create_ticket` (ticket, first event, borrower index and counters in \
         one transaction). The report is the 30-day overview by team, {} .. {}, built as \
         `GET /reports/overview` builds it: `metric_rows` for the period and for the \
         previous period ({} .. {}), then `report::build`.\n",
        now.format("%Y-%m-%d %H:%M UTC"),
        period.from,
        period.from,
        period.to,
        previous.from,
        previous.to,
    );
    let _ = writeln!(
        md,
        "| complaints | report RECEIVED | queries (period + previous) | **items read** (period + previous) | counter rows after summing shards | groups with complaints | report time | overdue-now queries | overdue-now items | overdue now | overdue-now time |"
    );
    let _ = writeln!(
        md,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} ({} + {}) | **{}** ({} + {}) | {} | {} | {:.0} ms | {} | {} | {} | {:.0} ms |",
            r.complaints,
            r.received,
            r.current.queries + r.previous.queries,
            r.current.queries,
            r.previous.queries,
            r.current.items + r.previous.items,
            r.current.items,
            r.previous.items,
            r.rows,
            r.groups,
            r.report_ms,
            r.overdue.queries,
            r.overdue.items,
            r.overdue_count,
            r.overdue_ms,
        );
    }
    let _ = writeln!(md);
    if let (Some(small), Some(large)) = (rows.first(), rows.last()) {
        if rows.len() > 1 {
            let items = |r: &Row| (r.current.items + r.previous.items).max(1) as f64;
            let _ = writeln!(
                md,
                "- **Items read** are the same order at every volume: {} complaints → {} items, \
                 {} complaints → {} items ({:.0}× the complaints, {:.2}× the items). A report \
                 reads one counter row per (day, dimension, value, shard) that exists — at \
                 most {DAYS} days × the dimension values × {} shards per period — and never a \
                 ticket. At low volume some (day, value, shard) rows do not exist yet, so the \
                 small table reads somewhat fewer; once every value has been seen on every \
                 day in every shard the figure stops growing.",
                small.complaints,
                small.current.items + small.previous.items,
                large.complaints,
                large.current.items + large.previous.items,
                large.complaints as f64 / small.complaints as f64,
                items(large) / items(small),
                redress_aws::metrics::METRIC_SHARDS,
            );
        }
    }
    let _ = writeln!(
        md,
        "- **Queries**: one per counter shard per period ({} shards × 2 periods), plus one \
         per extra 1 MB page; the previous period holds no complaints here (everything was \
         received in the last {DAYS} days), so its queries return nothing.",
        redress_aws::metrics::METRIC_SHARDS
    );
    let _ = writeln!(
        md,
        "- **RECEIVED** in the report equals the number of complaints stored, and the \
         per-team figures add up to it (checked; the run fails otherwise)."
    );
    let _ = writeln!(
        md,
        "- **Overdue now** (deadlines and overview reports only) is a live snapshot, not a \
         counter: the api queries each team's queue index for open tickets whose next \
         deadline has passed, so its items read grow with the open overdue backlog. Here \
         nobody works the tickets, so every ticket past its acknowledgement deadline is \
         overdue — the worst case. The satisfaction and repeat-complaints reports do not \
         read it."
    );
    let _ = writeln!(
        md,
        "- Times are local-stack times on this machine. Seeding ({} transactions in \
         flight): {}.",
        bench::WRITERS,
        rows.iter()
            .map(|r| format!(
                "{} complaints in {:.1} s ({:.0}/s, {} transactions retried)",
                r.complaints,
                r.seed_secs,
                r.complaints as f64 / r.seed_secs.max(1e-9),
                r.seed_retries
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    md
}
