//! Load run: many concurrent intake writers, and the metric counters still agree with the
//! tickets stored — nothing lost, nothing counted twice.
//!
//! It builds M complaint messages (the demo complaints on every channel, received over
//! the last week), delivers about 10% of them twice (the same reference, as SQS's
//! at-least-once delivery or a resent message would), adds a handful of poison messages,
//! shuffles everything into SQS batches of the template's size and hands them to the
//! intake handler (`redress_intake::handle`, built from the `IntakeFunction` environment
//! as in AWS) from [`WRITERS`] tasks at once. Messages the handler reports as failed are
//! delivered again in the next round, as SQS would after the visibility timeout, until
//! they succeed; poison messages stop after `maxReceiveCount` receives (the dead-letter
//! queue). Then it scans the table and compares the tickets and audit events stored with
//! the counters (RECEIVED for every dimension value, repeats, deadlines due). Any
//! difference fails the run (exit code 1).
//!
//! It runs twice: once on DynamoDB Local as it is, and once with DynamoDB's rule for
//! concurrent transactions emulated in front of it ([`Contended`]), because DynamoDB
//! Local never cancels a transaction for a conflict. The second run measures what the
//! intake's in-function retries (jittered backoff within a budget) make of conflicts on
//! the shared counter rows: how many retries, and how many deliveries still go back to
//! SQS.
//!
//! Against the local stack (like the tests):
//!
//! ```sh
//! eval "$(bash scripts/stack.sh start)"
//! cargo run --release -p redress-e2e --bin concurrent_counts          # M = 2000
//! cargo run --release -p redress-e2e --bin concurrent_counts -- 500   # another M
//! ```
//!
//! Writes `reports/concurrent-counts.md` and prints it. Self-check of the comparison:
//! with `REDRESS_BENCH_TAMPER=1` it adds one RECEIVED to a counter row behind the
//! pipeline's back before comparing, and the run must then fail.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use anyhow::{bail, Context, Result};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use redress_aws::DynamoStore;
use redress_domain::assess::ComplaintMessage;

use redress_domain::assess::BorrowerIndexEntry;
use redress_domain::borrower::BorrowerKey;
use redress_domain::config::DomainConfig;
use redress_domain::metrics::{
    Dimension, ACK_DUE, ALL_VALUE, RECEIVED, REPEAT_ANY, REPEAT_SAME_CATEGORY, RESOLVE_DUE,
};
use redress_domain::ports::{
    AcceptedLog, BorrowerHistory, CreateOutcome, MetricsReader, Outbox, OutboxEntry, StoreError,
    StoreFailure, TicketWriter,
};
use redress_domain::reference::Reference;
use redress_domain::repeat::PriorComplaint;
use redress_domain::report::Period;
use redress_domain::ticket::AuditEvent;
use redress_domain::ticket::Ticket;
use redress_e2e::{bench, workspace_root};
use redress_intake::{IntakeDeps, Invocation};
use redress_local::{LocalOptions, LocalPipeline};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tracing_subscriber::layer::SubscriberExt as _;

/// Handler invocations in flight.
const WRITERS: usize = 64;

/// Handler invocations in flight: [`WRITERS`], or `REDRESS_BENCH_WRITERS`. Fewer on a
/// loaded machine, so that a batch finishes well within the function's deadline (each
/// writer waits its turn at the one DynamoDB Local).
fn writers() -> usize {
    std::env::var("REDRESS_BENCH_WRITERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .filter(|w| *w > 0)
        .unwrap_or(WRITERS)
}
/// One message in this many is delivered twice.
const DUPLICATE_EVERY: u64 = 10;
/// The template's `BatchSize` for the intake function's queue.
const BATCH_SIZE: usize = 10;
/// The template's `maxReceiveCount` for the complaints queue.
const MAX_RECEIVES: u32 = 6;
/// The template's `Timeout` of the intake function: each batch's deadline.
const FUNCTION_TIMEOUT_SECS: i64 = 30;
/// Give up (and fail) after this many rounds of redelivery.
const MAX_ROUNDS: u32 = 30;

/// One delivery of one message.
#[derive(Clone)]
struct Delivery {
    id: String,
    /// Index of the message it delivers.
    message: usize,
    receives: u32,
}

struct Message {
    reference: Option<String>,
    body: String,
    poison: bool,
}

/// What the intake logged: transient failures (at warn, with a `reason`) by kind, and
/// duplicate deliveries (at info).
#[derive(Clone, Default)]
struct Reasons(Arc<Mutex<BTreeMap<String, u64>>>, Arc<AtomicU64>);

#[derive(Default)]
struct Fields {
    reason: Option<String>,
    message: Option<String>,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "reason" => self.reason = Some(value.to_string()),
            "message" => self.message = Some(value.to_string()),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "reason" => self.reason = Some(format!("{value:?}")),
            "message" => self.message = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Reasons {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        if *event.metadata().level() == tracing::Level::INFO
            && fields
                .message
                .is_some_and(|m| m.starts_with("duplicate delivery"))
        {
            self.1.fetch_add(1, Ordering::Relaxed);
        }
        if *event.metadata().level() != tracing::Level::WARN {
            return;
        }
        let Some(reason) = fields.reason else { return };
        let kind = if reason.contains("TransactionConflict") {
            "TransactionConflict (transaction cancelled)".to_string()
        } else if reason.contains("Throttl") || reason.contains("ThroughputExceeded") {
            "throttled".to_string()
        } else {
            reason.chars().take(100).collect()
        };
        *self
            .0
            .lock()
            .expect("not poisoned")
            .entry(kind)
            .or_default() += 1;
    }
}

/// DynamoDB's rule for concurrent transactions, which DynamoDB Local does not apply
/// (it runs transactions one at a time): a transaction that writes an item another
/// transaction is writing at that moment is cancelled with `TransactionConflict`.
/// Every ticket creation adds to its shard's counter rows of the day (in production all
/// of one day's complaints share the shard's `all` row), so here a creation is cancelled
/// while another creation in the same shard is in flight. Pessimistic: "in flight" is the
/// whole round trip to DynamoDB Local, far longer than DynamoDB's commit of the items.
#[derive(Clone)]
struct Contended {
    inner: DynamoStore,
    emulate: bool,
    in_flight: Arc<Mutex<BTreeSet<u32>>>,
    conflicts: Arc<AtomicU64>,
}

impl Contended {
    fn new(inner: DynamoStore, emulate: bool) -> Self {
        Self {
            inner,
            emulate,
            in_flight: Arc::default(),
            conflicts: Arc::default(),
        }
    }
}

impl TicketWriter for Contended {
    async fn create_ticket(
        &self,
        ticket: &Ticket,
        first_event: &AuditEvent,
        index: &[BorrowerIndexEntry],
        outbox: &[OutboxEntry],
    ) -> Result<CreateOutcome, StoreError> {
        if !self.emulate {
            return self
                .inner
                .create_ticket(ticket, first_event, index, outbox)
                .await;
        }
        let shard = redress_aws::keys::due_shard(ticket.reference.as_str())
            % redress_aws::metrics::METRIC_SHARDS;
        if !self.in_flight.lock().expect("not poisoned").insert(shard) {
            self.conflicts.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError::new("create ticket", StoreFailure::Contention));
        }
        let result = self
            .inner
            .create_ticket(ticket, first_event, index, outbox)
            .await;
        self.in_flight.lock().expect("not poisoned").remove(&shard);
        result
    }
}

impl BorrowerHistory for Contended {
    async fn earlier_complaints(
        &self,
        keys: &[BorrowerKey],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<PriorComplaint>, StoreError> {
        self.inner.earlier_complaints(keys, since, until).await
    }
}

impl Outbox for Contended {
    async fn pending_outbox(
        &self,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.inner.pending_outbox(until, limit).await
    }

    async fn remove_outbox(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.inner.remove_outbox(entry).await
    }
}

impl AcceptedLog for Contended {
    async fn clear_accepted(&self, reference: &str) -> Result<(), StoreError> {
        self.inner.clear_accepted(reference).await
    }
}

/// What the intake's own retries did, summed over every batch.
#[derive(Default)]
struct InFunction {
    retries: AtomicU64,
    retried_messages: AtomicU64,
    handed_back: AtomicU64,
    not_started: AtomicU64,
    failed_invocations: AtomicU64,
}

struct Outcome {
    emulated: bool,
    conflicts: u64,
    in_function_retries: u64,
    in_function_retried_messages: u64,
    handed_back: u64,
    not_started: u64,
    failed_invocations: u64,
    messages: usize,
    poison: usize,
    duplicated: usize,
    deliveries_first_round: usize,
    first_round_secs: f64,
    total_secs: f64,
    rounds: u32,
    retried_deliveries: usize,
    retries: u64,
    max_receives: u32,
    over_max_receives: usize,
    dead_lettered: usize,
    reasons: BTreeMap<String, u64>,
    duplicates_seen: u64,
    stored: usize,
    events: usize,
    checks: Vec<Check>,
    teams: Vec<(String, i64, i64)>,
    mismatches: Vec<String>,
}

/// One comparison of tickets stored and a counter.
struct Check {
    what: String,
    tickets: i64,
    counter: i64,
}

#[tokio::main]
async fn main() -> Result<()> {
    redress_e2e::bench::require_local_stack()?;
    let messages: usize = match std::env::args().nth(1) {
        None => 2_000,
        Some(a) => a.parse().context("M must be a whole number")?,
    };
    if messages < 100 {
        bail!("send at least 100 messages");
    }
    let reasons = Reasons::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(reasons.clone()))
        .context("installing the log counter")?;

    let now = Utc::now();
    let outcome = run(messages, now, &reasons, false).await?;
    let contended = run(messages, now, &reasons, true).await?;
    let report = markdown(&outcome, &contended, now);
    let dir = workspace_root().canonicalize()?.join("reports");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("concurrent-counts.md");
    std::fs::write(&path, &report).with_context(|| format!("writing {}", path.display()))?;
    println!("{report}");
    eprintln!("written to {}", path.display());
    let mismatches: Vec<&String> = outcome
        .mismatches
        .iter()
        .chain(&contended.mismatches)
        .collect();
    if !mismatches.is_empty() {
        eprintln!("LOST OR DOUBLE COUNTS:");
        for m in mismatches {
            eprintln!("  {m}");
        }
        std::process::exit(1);
    }
    Ok(())
}

/// A well-mixed 64-bit hash of `n` (splitmix64).
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `count` complaint messages received over the last week; the last few are poison.
fn messages(config: &DomainConfig, count: usize, now: DateTime<Utc>) -> Result<Vec<Message>> {
    let forms = redress_e2e::bench::demo_forms(config, now)?;
    let salt = mix(now.timestamp_nanos_opt().unwrap_or_default() as u64);
    let week = Duration::days(7).num_seconds() as u64;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let h = mix(salt ^ i as u64);
        let at = now - Duration::seconds((h % week) as i64) - Duration::minutes(1);
        let b = (salt.wrapping_add(i as u64)).to_be_bytes();
        let reference = Reference::generate(at, [b[3], b[4], b[5], b[6], b[7]])
            .as_str()
            .to_string();
        let form = forms[(h >> 32) as usize % forms.len()].clone();
        let message = ComplaintMessage {
            reference: reference.clone(),
            received_at: at,
            form,
        };
        out.push(Message {
            reference: Some(reference),
            body: serde_json::to_string(&message)?,
            poison: false,
        });
    }
    // Poison: never valid, whatever the retries.
    let good = &out[0].body;
    let mut unreadable: Value = serde_json::from_str(good)?;
    unreadable["form"]["borrower"] = json!({});
    let mut too_short: Value = serde_json::from_str(good)?;
    too_short["form"]["text"] = json!("short");
    let mut bad_reference: Value = serde_json::from_str(good)?;
    bad_reference["reference"] = json!("RD-NOT-A-REFERENCE");
    let mut no_product: Value = serde_json::from_str(good)?;
    no_product["form"]
        .as_object_mut()
        .context("form is an object")?
        .remove("product");
    let poison = [
        "this is not JSON at all".to_string(),
        "{\"reference\": 42}".to_string(),
        unreadable.to_string(),
        too_short.to_string(),
        bad_reference.to_string(),
        no_product.to_string(),
        String::new(),
        "{}".to_string(),
    ];
    let n = poison.len();
    for (slot, body) in out.iter_mut().rev().take(n).zip(poison) {
        *slot = Message {
            reference: None,
            body,
            poison: true,
        };
    }
    Ok(out)
}

fn sqs_message(delivery: &Delivery, body: &str) -> Result<SqsMessage> {
    Ok(serde_json::from_value(json!({
        "messageId": delivery.id,
        "receiptHandle": format!("bench-{}-{}", delivery.id, delivery.receives),
        "body": body,
        "attributes": {"ApproximateReceiveCount": delivery.receives.to_string()},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:bench-ComplaintsQueue",
        "awsRegion": "us-east-1"
    }))?)
}

/// Delivers `deliveries` in batches from [`WRITERS`] tasks; returns the ids reported failed.
async fn deliver(
    deps: &Arc<IntakeDeps<Contended>>,
    messages: &Arc<Vec<Message>>,
    deliveries: &[Delivery],
    stats: &Arc<InFunction>,
) -> Result<BTreeSet<String>> {
    let batches: Vec<SqsEvent> = deliveries
        .chunks(BATCH_SIZE)
        .map(|chunk| {
            let mut event = SqsEvent::default();
            event.records = chunk
                .iter()
                .map(|d| sqs_message(d, &messages[d.message].body))
                .collect::<Result<_>>()?;
            Ok(event)
        })
        .collect::<Result<_>>()?;
    let batches = Arc::new(batches);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..writers() {
        let (deps, batches, next) = (Arc::clone(deps), Arc::clone(&batches), Arc::clone(&next));
        let stats = Arc::clone(stats);
        tasks.spawn(async move {
            let mut failed = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(event) = batches.get(i) else {
                    return failed;
                };
                // One Lambda invocation: the function's timeout as its deadline.
                let deadline = Utc::now() + Duration::seconds(FUNCTION_TIMEOUT_SECS);
                let response =
                    match redress_intake::handle_within(&deps, event, &Invocation::until(deadline))
                        .await
                    {
                        Ok(report) => {
                            let add = |a: &AtomicU64, n: u64| a.fetch_add(n, Ordering::Relaxed);
                            add(&stats.retries, u64::from(report.retries));
                            add(&stats.retried_messages, report.retried_messages as u64);
                            add(&stats.handed_back, report.transient as u64);
                            add(&stats.not_started, report.not_started as u64);
                            report.response
                        }
                        Err(_) => {
                            stats.failed_invocations.fetch_add(1, Ordering::Relaxed);
                            redress_intake::every_message_failed(event)
                        }
                    };
                failed.extend(
                    response
                        .batch_item_failures
                        .into_iter()
                        .map(|f| f.item_identifier),
                );
            }
        });
    }
    let mut failed = BTreeSet::new();
    while let Some(result) = tasks.join_next().await {
        failed.extend(result?);
    }
    Ok(failed)
}

async fn run(
    count: usize,
    now: DateTime<Utc>,
    reasons: &Reasons,
    emulate_conflicts: bool,
) -> Result<Outcome> {
    // Each run counts its own log lines.
    reasons.0.lock().expect("not poisoned").clear();
    reasons.1.store(0, Ordering::Relaxed);
    let config = Arc::new(DomainConfig::bundled()?);
    let prefix = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let pipeline = LocalPipeline::start(LocalOptions::new(workspace_root(), prefix))
        .await
        .context("starting the pipeline (is the local stack up?)")?;
    let table = pipeline.resources.table("TicketsTable")?.to_string();
    let aws = redress_aws::load_aws_config().await;
    let built = IntakeDeps::from_env(
        &pipeline.environments["IntakeFunction"],
        &aws,
        Arc::clone(&config),
    )
    .context("building the intake function's dependencies")?;
    let deps = Arc::new(IntakeDeps {
        config: built.config,
        keyer: built.keyer,
        store: Contended::new(built.store, emulate_conflicts),
        notifier: built.notifier,
    });
    let stats = Arc::new(InFunction::default());

    let messages = Arc::new(messages(&config, count, now)?);
    let poison = messages.iter().filter(|m| m.poison).count();
    // Every message once, about one in ten of the good ones twice (in the same shuffle,
    // so a copy may be handled at the same moment as the original).
    let mut deliveries: Vec<Delivery> = Vec::new();
    let mut duplicated = 0;
    for (i, m) in messages.iter().enumerate() {
        deliveries.push(Delivery {
            id: format!("m{i}-a"),
            message: i,
            receives: 1,
        });
        if !m.poison && mix(i as u64 ^ 0x5eed).is_multiple_of(DUPLICATE_EVERY) {
            duplicated += 1;
            deliveries.push(Delivery {
                id: format!("m{i}-b"),
                message: i,
                receives: 1,
            });
        }
    }
    deliveries.sort_by_key(|d| {
        mix(d
            .id
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31) ^ u64::from(b)))
    });
    let deliveries_first_round = deliveries.len();
    eprintln!(
        "== {count} messages ({poison} poison, {duplicated} delivered twice): {deliveries_first_round} deliveries, {} writers{}",
        writers(),
        if emulate_conflicts { ", DynamoDB's conflict rule emulated" } else { "" }
    );

    let started = Instant::now();
    let mut first_round_secs = 0.0;
    let mut pending = deliveries;
    let mut rounds = 0;
    let mut retries = 0u64;
    let mut retried: BTreeSet<String> = BTreeSet::new();
    let mut max_receives = 1;
    let mut over_max_receives: BTreeSet<String> = BTreeSet::new();
    let mut dead_lettered = 0;
    while !pending.is_empty() {
        rounds += 1;
        if rounds > MAX_ROUNDS {
            bail!(
                "{} deliveries still failing after {MAX_ROUNDS} rounds",
                pending.len()
            );
        }
        let failed = deliver(&deps, &messages, &pending, &stats).await?;
        if rounds == 1 {
            first_round_secs = started.elapsed().as_secs_f64();
        }
        let mut again = Vec::new();
        for mut d in pending.into_iter().filter(|d| failed.contains(&d.id)) {
            if messages[d.message].poison {
                if d.receives >= MAX_RECEIVES {
                    dead_lettered += 1;
                    continue;
                }
            } else {
                retries += 1;
                retried.insert(d.id.clone());
                if d.receives >= MAX_RECEIVES {
                    over_max_receives.insert(d.id.clone());
                }
            }
            d.receives += 1;
            max_receives = max_receives.max(d.receives);
            again.push(d);
        }
        eprintln!(
            "   round {rounds}: {} failed, {} to deliver again ({:.1} s)",
            failed.len(),
            again.len(),
            started.elapsed().as_secs_f64()
        );
        pending = again;
        if !pending.is_empty() {
            // The visibility timeout, shortened.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    let total_secs = started.elapsed().as_secs_f64();
    if dead_lettered != poison {
        bail!("{dead_lettered} messages reached the dead-letter queue, {poison} are poison");
    }

    // What is stored.
    let (tickets, events) = bench::tickets_and_events(&pipeline.ddb, &table).await?;
    let events: HashMap<String, usize> = events
        .into_iter()
        .map(|(reference, list)| (reference, list.len()))
        .collect();
    let mut mismatches = Vec::new();
    let expected: BTreeSet<&str> = messages
        .iter()
        .filter_map(|m| m.reference.as_deref())
        .collect();
    let stored: BTreeSet<&str> = tickets.iter().map(|t| t.reference.as_str()).collect();
    if stored != expected {
        mismatches.push(format!(
            "tickets: {} expected, {} stored, {} missing, {} unexpected",
            expected.len(),
            stored.len(),
            expected.difference(&stored).count(),
            stored.difference(&expected).count()
        ));
    }
    if tickets.len() != stored.len() {
        mismatches.push(format!(
            "{} ticket items for {} references",
            tickets.len(),
            stored.len()
        ));
    }
    let event_total: usize = events.values().sum();
    for (reference, n) in &events {
        if *n != 1 {
            mismatches.push(format!("{reference} has {n} audit events"));
        }
    }
    if events.len() != tickets.len() {
        mismatches.push(format!(
            "{} tickets have events, {} tickets stored",
            events.len(),
            tickets.len()
        ));
    }

    let tz = config.sla.reporting_time_zone();
    if std::env::var_os("REDRESS_BENCH_TAMPER").is_some() {
        let day = now.with_timezone(&tz).date_naive().to_string();
        eprintln!("   tampering: one extra RECEIVED on {day}, shard 0");
        pipeline
            .ddb
            .update_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("METRICS#0".into()))
            .key("sk", AttributeValue::S(format!("{day}#all#all")))
            .update_expression("SET #day = :day, #dim = :dim, #val = :val ADD #r :one")
            .expression_attribute_names("#day", "day")
            .expression_attribute_names("#dim", "dimension")
            .expression_attribute_names("#val", "value")
            .expression_attribute_names("#r", RECEIVED)
            .expression_attribute_values(":day", AttributeValue::S(day))
            .expression_attribute_values(":dim", AttributeValue::S("all".into()))
            .expression_attribute_values(":val", AttributeValue::S(ALL_VALUE.into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await
            .context("tampering")?;
    }

    // What the counters say: every day the messages were received on, and every day a
    // deadline falls on.
    let period = Period {
        from: (now - Duration::days(8)).with_timezone(&tz).date_naive(),
        to: (now + Duration::days(400)).with_timezone(&tz).date_naive(),
    };
    let (rows, _) = deps.store.inner.metric_rows(&period).await?;
    let mut counters: BTreeMap<(Dimension, String, &str), i64> = BTreeMap::new();
    for row in &rows {
        for (name, value) in &row.counters {
            if let Some(counter) = [
                RECEIVED,
                REPEAT_ANY,
                REPEAT_SAME_CATEGORY,
                ACK_DUE,
                RESOLVE_DUE,
            ]
            .into_iter()
            .find(|c| c == name)
            {
                *counters
                    .entry((row.dimension, row.value.clone(), counter))
                    .or_default() += value;
            }
        }
    }
    let mut from_tickets: BTreeMap<(Dimension, String, &str), i64> = BTreeMap::new();
    for t in &tickets {
        let mut add = |d: Dimension, v: &str, c: &'static str| {
            *from_tickets.entry((d, v.to_string(), c)).or_default() += 1;
        };
        let values = [
            (Dimension::All, ALL_VALUE.to_string()),
            (Dimension::Team, t.team.to_string()),
            (Dimension::Category, t.category.to_string()),
            (Dimension::Channel, t.channel.as_str().to_string()),
            (Dimension::Priority, t.priority.as_str().to_string()),
        ];
        for (d, v) in &values {
            add(*d, v, RECEIVED);
            add(*d, v, ACK_DUE);
            add(*d, v, RESOLVE_DUE);
            if t.repeat.previous_any.is_some() {
                add(*d, v, REPEAT_ANY);
            }
            if t.repeat.previous_same_category.is_some() {
                add(*d, v, REPEAT_SAME_CATEGORY);
            }
        }
        for s in &t.signals {
            add(Dimension::Signal, s.as_str(), RECEIVED);
        }
    }
    let keys: BTreeSet<_> = counters
        .keys()
        .chain(from_tickets.keys())
        .cloned()
        .collect();
    let mut checks = Vec::new();
    let mut teams = Vec::new();
    for key in keys {
        let tickets_n = from_tickets.get(&key).copied().unwrap_or(0);
        let counter_n = counters.get(&key).copied().unwrap_or(0);
        let (dimension, value, counter) = &key;
        if tickets_n != counter_n {
            mismatches.push(format!(
                "{counter} for {dimension}={value}: {tickets_n} tickets, counter {counter_n}"
            ));
        }
        if *dimension == Dimension::All {
            checks.push(Check {
                what: (*counter).to_string(),
                tickets: tickets_n,
                counter: counter_n,
            });
        }
        if *dimension == Dimension::Team && *counter == RECEIVED {
            teams.push((value.clone(), tickets_n, counter_n));
        }
    }
    let pairs = |d: Dimension| {
        from_tickets
            .keys()
            .chain(counters.keys())
            .filter(|(dim, _, c)| *dim == d && *c == RECEIVED)
            .map(|(_, v, _)| v)
            .collect::<BTreeSet<_>>()
            .len()
    };
    for d in [
        Dimension::Category,
        Dimension::Channel,
        Dimension::Priority,
        Dimension::Signal,
    ] {
        checks.push(Check {
            what: format!("received, per {d} ({} values)", pairs(d)),
            tickets: from_tickets
                .iter()
                .filter(|((dim, _, c), _)| *dim == d && *c == RECEIVED)
                .map(|(_, n)| *n)
                .sum(),
            counter: counters
                .iter()
                .filter(|((dim, _, c), _)| *dim == d && *c == RECEIVED)
                .map(|(_, n)| *n)
                .sum(),
        });
    }
    let reasons_duplicates = reasons.1.load(Ordering::Relaxed);
    let reasons = reasons.0.lock().expect("not poisoned").clone();

    pipeline
        .ddb
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .context("deleting the benchmark table")?;
    pipeline.stop().await;
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Ok(Outcome {
        emulated: emulate_conflicts,
        conflicts: load(&deps.store.conflicts),
        in_function_retries: load(&stats.retries),
        in_function_retried_messages: load(&stats.retried_messages),
        handed_back: load(&stats.handed_back),
        not_started: load(&stats.not_started),
        failed_invocations: load(&stats.failed_invocations),
        messages: count,
        poison,
        duplicated,
        deliveries_first_round,
        first_round_secs,
        total_secs,
        rounds,
        retried_deliveries: retried.len(),
        retries,
        max_receives,
        over_max_receives: over_max_receives.len(),
        dead_lettered,
        reasons,
        duplicates_seen: reasons_duplicates,
        stored: tickets.len(),
        events: event_total,
        checks,
        teams,
        mismatches,
    })
}

/// The command that produced the report, with the build profile it ran in.
fn command(messages: usize) -> String {
    let release = if cfg!(debug_assertions) {
        ""
    } else {
        " --release"
    };
    let writers = match writers() {
        WRITERS => String::new(),
        n => format!("REDRESS_BENCH_WRITERS={n} "),
    };
    format!("{writers}cargo run{release} -p redress-e2e --bin concurrent_counts -- {messages}")
}

/// The throughput and retry figures of one run.
fn retry_rows(o: &Outcome) -> Vec<(&'static str, String)> {
    let attempts = o.deliveries_first_round as u64 + o.retries + o.in_function_retries;
    vec![
        (
            "deliveries in the first round",
            o.deliveries_first_round.to_string(),
        ),
        (
            "first round, wall time",
            format!("{:.1} s", o.first_round_secs),
        ),
        (
            "first round, deliveries/s",
            format!(
                "{:.0}",
                o.deliveries_first_round as f64 / o.first_round_secs.max(1e-9)
            ),
        ),
        (
            "complaints stored / total wall time (all rounds)",
            format!(
                "{} / {:.1} s = {:.0} complaints/s",
                o.stored,
                o.total_secs,
                o.stored as f64 / o.total_secs.max(1e-9)
            ),
        ),
        (
            "transactions cancelled by a conflict",
            if o.emulated {
                format!("{} (emulated)", o.conflicts)
            } else {
                "0 (DynamoDB Local cancels none)".to_string()
            },
        ),
        (
            "retries inside the function (backoff, within the budget)",
            format!(
                "{} for {} deliveries: {:.1}% of all attempts",
                o.in_function_retries,
                o.in_function_retried_messages,
                100.0 * o.in_function_retries as f64 / attempts.max(1) as f64
            ),
        ),
        (
            "deliveries handed back to SQS as transient after the retry budget",
            o.handed_back.to_string(),
        ),
        (
            "redeliveries of good messages (SQS, after the visibility timeout)",
            format!("{} ({} deliveries)", o.retries, o.retried_deliveries),
        ),
        (
            "messages not started for the deadline / failed invocations",
            format!("{} / {}", o.not_started, o.failed_invocations),
        ),
        ("rounds (1 + SQS redeliveries)", o.rounds.to_string()),
        ("most receives of one delivery", o.max_receives.to_string()),
        (
            "good deliveries failing a MAX_RECEIVES-th time (would be in the DLQ in AWS)",
            o.over_max_receives.to_string(),
        ),
        (
            "deliveries the handler found already stored (duplicates)",
            format!("{} (expected {})", o.duplicates_seen, o.duplicated),
        ),
        (
            "poison messages dead-lettered",
            format!("{} of {}", o.dead_lettered, o.poison),
        ),
    ]
}

fn reasons(md: &mut String, o: &Outcome) {
    if o.reasons.is_empty() {
        let _ = writeln!(md, "Transient failures logged by intake: none.\n");
    } else {
        let _ = writeln!(
            md,
            "Transient failures logged by intake (each failed attempt), by kind:\n"
        );
        for (k, n) in &o.reasons {
            let _ = writeln!(md, "- {k}: {n}");
        }
        let _ = writeln!(md);
    }
}

fn markdown(o: &Outcome, contended: &Outcome, now: DateTime<Utc>) -> String {
    let mut md = String::new();
    let verdict = if o.mismatches.is_empty() && contended.mismatches.is_empty() {
        "no lost and no double counts"
    } else {
        "COUNTS DO NOT MATCH"
    };
    let _ = writeln!(md, "# Concurrent intake writers: {verdict}\n");
    let _ = writeln!(
        md,
        "Generated by `{}` on {} against the local stack (DynamoDB Local, moto). {} \
         complaint messages (the demo complaints on every channel, received over the last 7 \
         days), {} of them delivered twice with the same reference and {} poison, shuffled \
         into batches of {BATCH_SIZE} and handed to `redress_intake::handle_within` (built \
         with `IntakeDeps::from_env` from the `IntakeFunction` environment; each batch one \
         invocation with the function's {FUNCTION_TIMEOUT_SECS} s deadline) by {} \
         concurrent tasks. Intake retries a transient failure itself (jittered exponential \
         backoff: 6 attempts, pauses 25–50 ms doubling to 400–800 ms, at most 1.5 s in all, \
         never into the deadline's 5 s margin); what still fails was delivered again in the \
         next round (as SQS does after the visibility timeout) until it succeeded; poison \
         messages stopped after maxReceiveCount = {MAX_RECEIVES} receives. Then the table \
         was scanned and the tickets compared with the counters. The whole run is done \
         twice: on DynamoDB Local as it is, then with DynamoDB's conflict rule emulated.\n",
        command(o.messages),
        now.format("%Y-%m-%d %H:%M UTC"),
        o.messages,
        o.duplicated,
        o.poison,
        writers(),
    );
    let _ = writeln!(md, "## Throughput and retries\n");
    let _ = writeln!(
        md,
        "| figure | DynamoDB Local | with conflicts emulated |\n|---|---:|---:|"
    );
    for ((k, plain), (_, emulated)) in retry_rows(o).into_iter().zip(retry_rows(contended)) {
        let _ = writeln!(md, "| {k} | {plain} | {emulated} |");
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "DynamoDB Local:\n");
    reasons(&mut md, o);
    let _ = writeln!(md, "With conflicts emulated:\n");
    reasons(&mut md, contended);
    let _ = writeln!(
        md,
        "Why two runs: DynamoDB Local returns no `TransactionConflict` cancellation, although \
         the writers keep updating the same counter rows (it applies transactions one at a \
         time); real DynamoDB cancels a transaction that writes an item another transaction \
         is writing at that moment (here: a shard's counter rows of the day). The second run \
         puts that rule in front of DynamoDB Local: a ticket creation is cancelled while \
         another creation in the same counter shard is in flight (in production all of one \
         day's complaints share the shard's `all` row). That is pessimistic — the window is \
         the whole round trip to DynamoDB Local, far longer than DynamoDB's commit — so its \
         conflict rate is an upper bound for {} concurrent writers, not a forecast of \
         AWS's. What it shows is that conflicts on the counter rows are absorbed by the \
         function's own retries, not turned into visibility-timeout waits and dead letters, \
         and that the counts stay exact ({}). A batch that waits at the one DynamoDB Local \
         longer than its deadline allows (too many writers for the machine) leaves the rest \
         of the batch to SQS: the row \"not started for the deadline\" counts those, and each \
         costs a receive.\n",
        writers(),
        if contended.mismatches.is_empty() {
            "every counter equal to the tickets stored in the second run as well"
        } else {
            "**NOT in the second run: see below**"
        }
    );
    if !contended.mismatches.is_empty() {
        let _ = writeln!(md, "Differences with conflicts emulated:\n");
        for m in &contended.mismatches {
            let _ = writeln!(md, "- {m}");
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(md, "The tables below are from the first run.\n");
    let _ = writeln!(md, "## Tickets stored against counters\n");
    let _ = writeln!(
        md,
        "Stored: {} tickets, {} audit events (one per ticket expected), for {} distinct good \
         messages.\n",
        o.stored,
        o.events,
        o.messages - o.poison
    );
    let _ = writeln!(
        md,
        "| counted | from the tickets | counters (all shards) | equal |\n|---|---:|---:|:-:|"
    );
    for c in &o.checks {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            c.what,
            c.tickets,
            c.counter,
            if c.tickets == c.counter {
                "yes"
            } else {
                "**NO**"
            }
        );
    }
    let _ = writeln!(md, "\nReceived per team:\n");
    let _ = writeln!(
        md,
        "| team | tickets | counter | equal |\n|---|---:|---:|:-:|"
    );
    for (team, t, c) in &o.teams {
        let _ = writeln!(
            md,
            "| {team} | {t} | {c} | {} |",
            if t == c { "yes" } else { "**NO**" }
        );
    }
    let _ = writeln!(md);
    if o.mismatches.is_empty() {
        let _ = writeln!(
            md,
            "Every (dimension, value, counter) pair compared — received per all/team/category/\
             channel/priority/signal, repeat (any, same category), acknowledgement and \
             resolution deadlines due — equals the count from the stored tickets. Duplicated \
             deliveries (shuffled in among the originals, {} batches at a time) were \
             counted once: the counter updates are in the ticket's transaction, conditional \
             on the ticket not existing.",
            writers()
        );
    } else {
        let _ = writeln!(md, "Differences:\n");
        for m in &o.mismatches {
            let _ = writeln!(md, "- {m}");
        }
    }
    md
}
