//! Helpers for the end-to-end tests: each test spawns its own pipeline on the local
//! stack, with tables and queues under a unique prefix, on a free port, so tests run in
//! parallel without seeing each other's data.
//!
//! The local stack must be up and `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SQS`
//! set: `scripts/test.sh` does both.

use anyhow::{bail, Context, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use redress_aws::DynamoStore;
use redress_domain::ticket::{AuditEvent, Ticket};
use redress_local::{LocalOptions, LocalPipeline};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub mod runtime_api;

/// A pipeline of one's own, plus an HTTP client for it.
pub struct TestApp {
    pub pipeline: LocalPipeline,
    pub http: reqwest::Client,
    pub store: DynamoStore,
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Starts an isolated pipeline. Failed messages are retried after one second, so a
/// poison message reaches the dead-letter queue within seconds.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(false).await
}

/// Starts an isolated pipeline whose notifier delivers the notifications queue to moto's
/// SES and SNS (tests of delivery). Other tests leave the messages on the queue to read.
pub async fn spawn_delivering_app() -> TestApp {
    spawn_app_with(true).await
}

/// Starts an isolated pipeline that leaves complaint messages on the queue: the test
/// runs intake itself ([`TestApp::run_intake_once`]), e.g. after losing a message.
pub async fn spawn_app_without_intake() -> TestApp {
    spawn_app_with_options(false, false).await
}

async fn spawn_app_with(deliver_notifications: bool) -> TestApp {
    spawn_app_with_options(deliver_notifications, true).await
}

async fn spawn_app_with_options(deliver_notifications: bool, run_intake: bool) -> TestApp {
    // Logs go to the test's output (shown for failures); a test that installed its own
    // subscriber first keeps it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .with_test_writer()
        .try_init();
    for var in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
    ] {
        assert!(
            std::env::var_os(var).is_some(),
            "{var} is not set: run the tests with scripts/test.sh, which starts the local stack"
        );
    }
    let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let mut options = LocalOptions::new(workspace_root(), prefix);
    options.retry_after = Some(Duration::from_secs(1));
    options.deliver_notifications = deliver_notifications;
    options.run_intake = run_intake;
    let pipeline = LocalPipeline::start(options)
        .await
        .expect("pipeline starts on the local stack");
    let table = pipeline
        .resources
        .table("TicketsTable")
        .unwrap()
        .to_string();
    let store = DynamoStore::new(pipeline.ddb.clone(), table);
    TestApp {
        pipeline,
        http: reqwest::Client::new(),
        store,
    }
}

/// A valid complaint form; tests change what they need.
pub fn complaint_form() -> Value {
    json!({
        "borrower": {"name": "Li Na", "phone": "13912345678", "customer_id": "C100234"},
        "product": "personal_loan",
        "channel": "web",
        "text": "I was charged a hidden service fee and penalty interest that the contract never mentioned.",
        "desired_outcome": "Refund the fee",
        "consent_to_contact": true,
        "language": "en"
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.pipeline.base_url)
    }

    pub fn table(&self) -> &str {
        self.pipeline.resources.table("TicketsTable").unwrap()
    }

    pub fn queue_url(&self, logical_id: &str) -> &str {
        self.pipeline.resources.queue_url(logical_id).unwrap()
    }

    /// POSTs a complaint with a fresh Idempotency-Key, as every JSON client must; returns
    /// the status and the JSON body.
    pub async fn submit(&self, form: &Value) -> (u16, Value) {
        let key = uuid::Uuid::new_v4().to_string();
        self.submit_with_key(form, Some(&key)).await
    }

    pub async fn submit_with_key(&self, form: &Value, key: Option<&str>) -> (u16, Value) {
        let mut request = self.http.post(self.url("/complaints")).json(form);
        if let Some(k) = key {
            request = request.header("Idempotency-Key", k);
        }
        let response = request.send().await.expect("api answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A staff member (`token`) enters a complaint that came by phone or letter
    /// (`POST /tickets/entered`) and expects a 202; returns (reference, secret).
    pub async fn enter_ok(&self, token: &str, form: &Value) -> (String, String) {
        let response = self
            .http
            .post(self.url("/tickets/entered"))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(form)
            .send()
            .await
            .expect("api answers");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 202, "{body}");
        (
            body["reference"].as_str().unwrap().to_string(),
            body["status_secret"].as_str().unwrap().to_string(),
        )
    }

    /// Submits and expects a 202; returns (reference, secret).
    pub async fn submit_ok(&self, form: &Value) -> (String, String) {
        let (status, body) = self.submit(form).await;
        assert_eq!(status, 202, "{body}");
        (
            body["reference"].as_str().unwrap().to_string(),
            body["status_secret"].as_str().unwrap().to_string(),
        )
    }

    /// Waits (up to 20 s) for intake to write the ticket.
    pub async fn wait_for_ticket(&self, reference: &str) -> (Ticket, Vec<AuditEvent>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(found) = self
                .store
                .ticket_with_history(reference)
                .await
                .expect("read ticket")
            {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "ticket {reference} was not created within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Receives one batch from the complaints queue and hands it to the intake function,
    /// built from its template environment, as one Lambda invocation (the messages it
    /// settles are deleted, the failed ones left). Returns how many it received.
    pub async fn run_intake_once(&self) -> Result<usize> {
        let aws = redress_aws::load_aws_config().await;
        let config = std::sync::Arc::new(redress_domain::config::DomainConfig::from_env()?);
        let deps = std::sync::Arc::new(redress_intake::IntakeDeps::from_env(
            &self.pipeline.environments[redress_local::pipeline::INTAKE_FUNCTION],
            &aws,
            config,
        )?);
        let handler: redress_local::poller::SqsHandler = std::sync::Arc::new(move |event| {
            let deps = std::sync::Arc::clone(&deps);
            Box::pin(async move {
                redress_local::pipeline::run_intake(&deps, event, chrono::Duration::seconds(30))
                    .await
            })
        });
        let (url, arn) = self.pipeline.resources.queues["ComplaintsQueue"].clone();
        let config = redress_local::poller::PollerConfig {
            queue_url: url,
            queue_arn: arn,
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
            batch_size: 10,
            wait: Duration::from_secs(1),
            retry_after: Some(Duration::from_secs(1)),
        };
        redress_local::poller::poll_once(&self.pipeline.sqs, &config, &handler).await
    }

    /// Messages visible plus in flight on a queue.
    pub async fn queue_depth(&self, logical_id: &str) -> Result<u64> {
        let out = self
            .pipeline
            .sqs
            .get_queue_attributes()
            .queue_url(self.queue_url(logical_id))
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await?;
        let attrs = out.attributes.unwrap_or_default();
        let get = |k: QueueAttributeName| {
            attrs
                .get(&k)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(get(QueueAttributeName::ApproximateNumberOfMessages)
            + get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
    }

    /// Waits until a queue holds `expected` messages (up to `within`).
    pub async fn wait_for_depth(
        &self,
        logical_id: &str,
        expected: u64,
        within: Duration,
    ) -> Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let depth = self.queue_depth(logical_id).await?;
            if depth == expected {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{logical_id} holds {depth} messages, expected {expected}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every item of the test's table whose `pk` starts with `prefix` (a scan: fine on a
    /// test's own small table, never done by the product).
    pub async fn items_with_pk_prefix(
        &self,
        prefix: &str,
    ) -> Result<Vec<std::collections::HashMap<String, AttributeValue>>> {
        let mut scan = self
            .pipeline
            .ddb
            .scan()
            .table_name(self.table())
            .consistent_read(true);
        if !prefix.is_empty() {
            scan = scan
                .filter_expression("begins_with(pk, :p)")
                .expression_attribute_values(":p", AttributeValue::S(prefix.to_string()));
        }
        let out = scan.send().await.context("scan")?;
        Ok(out.items.unwrap_or_default())
    }

    /// An access token from the test's Cognito pool (moto) for a team member (or a
    /// manager with `teams` empty): the user is created in those groups and signed in.
    pub async fn token(&self, user: &str, teams: &[&str], manager: bool) -> String {
        let mut groups: Vec<String> = teams
            .iter()
            .map(|t| redress_local::auth::team_group(t))
            .collect();
        if manager {
            groups.push("managers".into());
        }
        self.token_in(user, &groups).await
    }

    /// An access token for `user` in exactly `groups`.
    pub async fn token_in(&self, user: &str, groups: &[String]) -> String {
        self.pipeline
            .staff
            .token(user, groups)
            .await
            .expect("a test user signs in through Cognito")
    }

    /// GET with a bearer token; returns status and JSON body.
    pub async fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs an action on a ticket; `action` holds `action` and its fields.
    pub async fn act(
        &self,
        token: &str,
        reference: &str,
        version: u32,
        mut action: Value,
    ) -> (u16, Value) {
        action["expected_version"] = json!(version);
        let response = self
            .http
            .post(self.url(&format!("/tickets/{reference}/actions")))
            .bearer_auth(token)
            .json(&action)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Acts and expects success; returns the new version.
    pub async fn act_ok(&self, token: &str, reference: &str, version: u32, action: Value) -> u32 {
        let (status, body) = self.act(token, reference, version, action.clone()).await;
        assert_eq!(status, 200, "{action} → {body}");
        body["ticket"]["version"].as_u64().unwrap() as u32
    }

    pub async fn stop(self) {
        self.pipeline.stop().await;
    }
}

/// What the benchmark binaries (`src/bin/*`) share.
pub mod bench {
    use super::workspace_root;
    use anyhow::{bail, Context, Result};
    use aws_sdk_dynamodb::types::AttributeValue;
    use chrono::{DateTime, Utc};
    use chrono::{Duration, NaiveDate, TimeZone};
    use redress_aws::attr::{from_item, get_s, Item};
    use redress_aws::DynamoStore;
    use redress_domain::assess::{assess, open_ticket, BorrowerIndexEntry};
    use redress_domain::borrower::BorrowerKeyer;
    use redress_domain::complaint::{Complaint, ParseMode};
    use redress_domain::config::DomainConfig;
    use redress_domain::ports::{CreateOutcome, TicketWriter};
    use redress_domain::reference::Reference;
    use redress_domain::repeat::PriorComplaint;
    use redress_domain::ticket::{AuditEvent, Ticket};
    use redress_domain::Channel;
    use serde_json::Value;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    /// Fails with the command to run unless the local stack's endpoints are set.
    pub fn require_local_stack() -> Result<()> {
        for var in [
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ENDPOINT_URL_SQS",
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
        ] {
            if std::env::var_os(var).is_none() {
                bail!("{var} is not set: start the local stack (eval \"$(bash scripts/stack.sh start)\")");
            }
        }
        Ok(())
    }

    /// Table sizes from the command line, or `default` when none are given.
    pub fn sizes_from_args(default: &[usize]) -> Result<Vec<usize>> {
        match std::env::args()
            .skip(1)
            .map(|a| a.parse())
            .collect::<Result<Vec<usize>, _>>()
        {
            Ok(v) if !v.is_empty() => Ok(v),
            Ok(_) => Ok(default.to_vec()),
            Err(e) => bail!("sizes must be whole numbers: {e}"),
        }
    }

    /// The demo complaints, each on every channel, keeping those that parse.
    pub fn demo_forms(config: &DomainConfig, now: DateTime<Utc>) -> Result<Vec<Value>> {
        let path = workspace_root().join("demo/complaints.jsonl");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut forms = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let entry: Value = serde_json::from_str(line).context("a demo line is not JSON")?;
            for channel in Channel::ALL {
                let mut form = entry["complaint"].clone();
                form["channel"] = Value::from(channel.as_str());
                if Complaint::parse(&form, config, ParseMode::Submission, now).is_ok() {
                    forms.push(form);
                }
            }
        }
        if forms.is_empty() {
            bail!("no demo complaint parses");
        }
        Ok(forms)
    }

    /// Transactions in flight while seeding.
    pub const WRITERS: usize = 32;
    /// Attempts per ticket when a transaction is cancelled by a conflict or throttled.
    pub const ATTEMPTS: u32 = 20;

    /// A well-mixed 64-bit hash of `n` (splitmix64), to spread forms and receipt times.
    pub fn mix(n: u64) -> u64 {
        let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The instant the reporting day `day` starts.
    pub fn day_start(config: &DomainConfig, day: NaiveDate) -> Result<DateTime<Utc>> {
        let tz = config.sla.reporting_time_zone();
        let midnight = day.and_hms_opt(0, 0, 0).context("midnight")?;
        Ok(tz
            .from_local_datetime(&midnight)
            .earliest()
            .context("the day has no midnight")?
            .with_timezone(&Utc))
    }

    /// Stores `complaints` tickets received between `first` and `now`, [`WRITERS`] at a
    /// time, each with `create_ticket`. Returns how many transactions were retried.
    pub async fn seed(
        store: &DynamoStore,
        config: &Arc<DomainConfig>,
        forms: &Arc<Vec<Value>>,
        complaints: usize,
        first: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let span = (now - first - Duration::minutes(1)).num_seconds().max(1) as u64;
        let keyer = BorrowerKeyer::new(b"report-reads-benchmark-key");
        let next = Arc::new(AtomicUsize::new(0));
        let retries = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut writers = tokio::task::JoinSet::new();
        for _ in 0..WRITERS {
            let (store, config, forms, keyer) = (
                store.clone(),
                Arc::clone(config),
                Arc::clone(forms),
                keyer.clone(),
            );
            let (next, retries) = (Arc::clone(&next), Arc::clone(&retries));
            writers.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= complaints {
                        return anyhow::Ok(());
                    }
                    if i > 0 && i % 10_000 == 0 {
                        eprintln!("   {i} stored ({:.0} s)", started.elapsed().as_secs_f64());
                    }
                    let h = mix(i as u64);
                    let at = first + Duration::seconds((h % span) as i64);
                    let form = &forms[(h >> 32) as usize % forms.len()];
                    let complaint = Complaint::parse(form, &config, ParseMode::Submission, at)
                        .map_err(|e| anyhow::anyhow!("demo complaint {i} is invalid: {e:?}"))?;
                    let b = (i as u64).to_be_bytes();
                    let reference = Reference::generate(at, [b[3], b[4], b[5], b[6], b[7]]);
                    let assessment = assess(&config, &complaint, reference.as_str(), at, &[]);
                    let (ticket, event) = open_ticket(&complaint, &reference, at, &assessment);
                    let index: Vec<BorrowerIndexEntry> = keyer
                        .keys(&complaint.borrower)
                        .into_iter()
                        .map(|key| BorrowerIndexEntry {
                            key,
                            prior: PriorComplaint {
                                reference: ticket.reference.to_string(),
                                category: ticket.category.clone(),
                                received_at: ticket.received_at,
                            },
                        })
                        .collect();
                    let mut attempt = 0;
                    loop {
                        match store.create_ticket(&ticket, &event, &index, &[]).await {
                            Ok(CreateOutcome::Created) => break,
                            Ok(CreateOutcome::AlreadyExists) => {
                                bail!("ticket {} already exists", ticket.reference)
                            }
                            Err(e) if e.is_transient() && attempt + 1 < ATTEMPTS => {
                                attempt += 1;
                                retries.fetch_add(1, Ordering::Relaxed);
                                let wait = 10u64 << attempt.min(6);
                                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                            }
                            Err(e) => bail!("storing ticket {i}: {e}"),
                        }
                    }
                }
            });
        }
        while let Some(result) = writers.join_next().await {
            result??;
        }
        Ok(retries.load(Ordering::Relaxed))
    }

    /// A benchmark's own pipeline (tables and queues under a fresh `kind…` prefix) and the
    /// store of its tickets table.
    pub async fn start_pipeline(
        config: &DomainConfig,
        kind: &str,
    ) -> Result<(redress_local::LocalPipeline, DynamoStore, String)> {
        let prefix = format!("{kind}{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let pipeline = redress_local::LocalPipeline::start(redress_local::LocalOptions::new(
            workspace_root(),
            prefix,
        ))
        .await
        .context("starting the pipeline (is the local stack up?)")?;
        let table = pipeline.resources.table("TicketsTable")?.to_string();
        let store = DynamoStore::new(pipeline.ddb.clone(), table.clone()).with_config(config);
        Ok((pipeline, store, table))
    }

    /// Deletes the benchmark's table (DynamoDB Local keeps it in memory) and stops the
    /// pipeline.
    pub async fn finish_pipeline(
        pipeline: redress_local::LocalPipeline,
        table: &str,
    ) -> Result<()> {
        pipeline
            .ddb
            .delete_table()
            .table_name(table)
            .send()
            .await
            .context("deleting the benchmark table")?;
        pipeline.stop().await;
        Ok(())
    }

    /// Every ticket stored, and the audit events of each reference (a full scan).
    pub async fn tickets_and_events(
        ddb: &aws_sdk_dynamodb::Client,
        table: &str,
    ) -> Result<(Vec<Ticket>, HashMap<String, Vec<AuditEvent>>)> {
        let mut tickets = Vec::new();
        let mut events: HashMap<String, Vec<AuditEvent>> = HashMap::new();
        let mut start = None;
        loop {
            let out = ddb
                .scan()
                .table_name(table)
                .filter_expression("entity IN (:ticket, :event)")
                .expression_attribute_values(":ticket", AttributeValue::S("ticket".into()))
                .expression_attribute_values(":event", AttributeValue::S("event".into()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .context("scan")?;
            for item in out.items() {
                let item: &Item = item;
                match get_s(item, "entity") {
                    Some("ticket") => tickets.push(
                        from_item::<Ticket>(item)
                            .map_err(|e| anyhow::anyhow!("a ticket does not map: {e}"))?,
                    ),
                    Some("event") => {
                        let pk = get_s(item, "pk").unwrap_or_default();
                        let reference = pk.strip_prefix("TICKET#").unwrap_or(pk).to_string();
                        let event = from_item::<AuditEvent>(item)
                            .map_err(|e| anyhow::anyhow!("an event does not map: {e}"))?;
                        events.entry(reference).or_default().push(event);
                    }
                    _ => {}
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok((tickets, events)),
            }
        }
    }
}
