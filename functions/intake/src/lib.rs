//! The intake function: turns each complaint message from SQS into a routed ticket.
//!
//! For every message: parse (trusting nothing the API did), classify, check the
//! borrower's history for repeats, route, set deadlines, and write the ticket, its first
//! audit event and its borrower-index entries in one transaction keyed on the reference.
//! A redelivered message finds the ticket already there and changes nothing.
//!
//! Failures are reported per message (`ReportBatchItemFailures`), so one bad message
//! never fails its batch:
//! - *poison* (cannot ever succeed: unreadable JSON, invalid complaint, a bad reference):
//!   reported as failed every time, so after `maxReceiveCount` receives SQS moves it to
//!   the dead-letter queue, where `redress dlq` shows it. Logged by message id at error.
//! - *transient* (throttling, a transaction conflict on the shared counter rows,
//!   timeouts, a lost connection): first retried here, with jittered exponential backoff
//!   within a budget ([`RetryPolicy`]) and never past the invocation's deadline; only if
//!   that does not clear it, reported as failed and retried by SQS after the visibility
//!   timeout. Logged at warn.
//! - *configuration* (access denied, a missing table or queue, a KMS key it may not use,
//!   bad credentials): not the message's fault, and the same for every message, so the
//!   whole invocation fails ([`BatchFault`]): SQS keeps every message of the batch, the
//!   function's error metric raises `IntakeErrorsAlarm`, and nothing is dead-lettered
//!   for a fault an operator must fix. Logged at error with `fault = "configuration"`.
//!
//! The batch watches the invocation's deadline ([`Invocation`]): it starts no message
//! with less than [`Invocation::margin`] left, and reports the ones it did not start as
//! failed (they come back after the visibility timeout, their receive count one higher,
//! which `maxReceiveCount` allows for).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Duration, Utc};
use redress_aws::env::{self, EnvError, VarSource};
use redress_aws::outbox::relay;
use redress_aws::{DynamoStore, SdkConfig, SqsQueue};
use redress_domain::assess::{assess, open_ticket, BorrowerIndexEntry, ComplaintMessage};
use redress_domain::borrower::BorrowerKeyer;
use redress_domain::complaint::{Complaint, ParseMode};
use redress_domain::config::DomainConfig;
use redress_domain::notify;
use redress_domain::ports::{
    AcceptedLog, BorrowerHistory, Clock, CreateOutcome, Notifier, Outbox, StoreError, SystemClock,
    TicketWriter,
};
use redress_domain::reference::Reference;
use redress_domain::repeat::PriorComplaint;
pub use redress_domain::retry::RetryPolicy;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use tracing::{error, info, instrument, warn};

/// What the intake handler needs, built once per cold start.
pub struct IntakeDeps<S, N = SqsQueue> {
    pub config: Arc<DomainConfig>,
    pub keyer: BorrowerKeyer,
    pub store: S,
    /// The notifications queue (the acknowledgement, relayed from the outbox).
    pub notifier: N,
}

impl IntakeDeps<DynamoStore> {
    /// Builds the dependencies from the function's environment (`TICKETS_TABLE`,
    /// `BORROWER_HMAC_KEY`, `RETENTION_DAYS`, `NOTIFICATIONS_QUEUE_URL`).
    pub fn from_env(
        vars: &dyn VarSource,
        aws: &SdkConfig,
        config: Arc<DomainConfig>,
    ) -> Result<Self, EnvError> {
        let keyer = BorrowerKeyer::new(&env::required_key(vars, "BORROWER_HMAC_KEY")?);
        let store = DynamoStore::from_env(vars, aws, &config)?;
        let notifier = SqsQueue::new(
            aws_sdk_sqs::Client::new(aws),
            env::required(vars, "NOTIFICATIONS_QUEUE_URL")?,
        );
        Ok(Self {
            config,
            keyer,
            store,
            notifier,
        })
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new ticket was written.
    Stored { reference: String },
    /// The ticket already existed: a redelivery. Nothing changed.
    Duplicate { reference: String },
    /// The message can never succeed; it is left to go to the dead-letter queue.
    Poison { reason: String },
    /// A retry may succeed.
    Transient { reason: String },
    /// The deployment is set up wrong (permissions, a missing table, KMS): the batch
    /// fails as a whole.
    Misconfigured { reason: String },
}

impl Outcome {
    /// True if SQS should see this message again.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Outcome::Poison { .. } | Outcome::Transient { .. } | Outcome::Misconfigured { .. }
        )
    }
}

/// The invocation's limits as the batch loop sees them.
pub struct Invocation<'a> {
    /// When the invocation is stopped (Lambda's `Context::deadline`); `None`: no limit.
    pub deadline: Option<DateTime<Utc>>,
    /// Start no message, and begin no retry pause, with less than this left: room for
    /// the message in hand to finish and for the answer to reach Lambda.
    pub margin: Duration,
    /// In-function retries of transient failures.
    pub retry: RetryPolicy,
    pub clock: &'a dyn Clock,
}

impl Invocation<'static> {
    /// The safety margin before the deadline: a message takes tens of milliseconds, but
    /// one that meets slow DynamoDB calls (the SDK's own retries and timeouts) takes
    /// seconds.
    pub const DEFAULT_MARGIN_SECS: i64 = 5;

    /// An invocation that must answer by `deadline`, on the system clock.
    pub fn until(deadline: DateTime<Utc>) -> Self {
        Self {
            deadline: Some(deadline),
            margin: Duration::seconds(Self::DEFAULT_MARGIN_SECS),
            retry: RetryPolicy::default(),
            clock: &SystemClock,
        }
    }

    /// An invocation with no deadline (tools and tests), on the system clock.
    pub fn unlimited() -> Self {
        Self {
            deadline: None,
            ..Self::until(Utc::now())
        }
    }
}

impl Invocation<'_> {
    /// The time left before the margin, or `None` with no deadline.
    fn time_left(&self) -> Option<Duration> {
        self.deadline.map(|d| d - self.margin - self.clock.now())
    }

    /// True while a new message may be started.
    fn may_start(&self) -> bool {
        self.time_left().is_none_or(|left| left > Duration::zero())
    }
}

/// A fault of the deployment that fails the whole batch (the invocation returns an
/// error): SQS keeps every message, and the function's error alarm fires.
#[derive(Debug, thiserror::Error)]
#[error("configuration fault; the whole batch is left for SQS to retry: {reason}")]
pub struct BatchFault {
    pub reason: String,
}

/// What a batch came to, with the figures a benchmark or a log wants.
#[derive(Debug, Default)]
pub struct BatchReport {
    /// The messages SQS should deliver again.
    pub response: SqsBatchResponse,
    /// Messages processed to an outcome (stored, duplicate or failed).
    pub processed: usize,
    /// Retries made inside the function (attempts after a first transient failure).
    pub retries: u32,
    /// Messages that needed at least one such retry.
    pub retried_messages: usize,
    /// Messages handed back to SQS as transient after the retries.
    pub transient: usize,
    /// Messages not started because the deadline was near.
    pub not_started: usize,
}

/// Handles one SQS batch and reports the messages to retry, with no deadline (callers
/// that are not a Lambda invocation). A configuration fault reports every message not
/// yet settled as failed, which SQS treats as [`handle_within`]'s failed invocation.
pub async fn handle<S, N>(deps: &IntakeDeps<S, N>, event: SqsEvent) -> SqsBatchResponse
where
    S: TicketWriter + BorrowerHistory + Outbox + AcceptedLog + Sync,
    N: Notifier + Sync,
{
    match handle_within(deps, &event, &Invocation::unlimited()).await {
        Ok(report) => report.response,
        Err(_) => every_message_failed(&event),
    }
}

/// Every message of `event` as a batch item failure.
pub fn every_message_failed(event: &SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in &event.records {
        response.add_failure(message.message_id.clone().unwrap_or_default());
    }
    response
}

/// Handles one SQS batch within `invocation`'s deadline: messages in order, each with
/// in-function retries of transient failures; stops starting messages when the deadline
/// is near and reports those not started (and the failed ones) as batch item failures.
/// A configuration fault stops the batch and fails the invocation.
pub async fn handle_within<S, N>(
    deps: &IntakeDeps<S, N>,
    event: &SqsEvent,
    invocation: &Invocation<'_>,
) -> Result<BatchReport, BatchFault>
where
    S: TicketWriter + BorrowerHistory + Outbox + AcceptedLog + Sync,
    N: Notifier + Sync,
{
    let mut report = BatchReport::default();
    for (i, message) in event.records.iter().enumerate() {
        if !invocation.may_start() {
            let left = event.records.len() - i;
            warn!(
                not_started = left,
                "deadline near; leaving the rest of the batch to SQS"
            );
            report.not_started = left;
            for rest in &event.records[i..] {
                report
                    .response
                    .add_failure(rest.message_id.clone().unwrap_or_default());
            }
            break;
        }
        let (outcome, retries) = process_with_retries(deps, message, invocation).await;
        report.processed += 1;
        report.retries += retries;
        report.retried_messages += usize::from(retries > 0);
        match &outcome {
            Outcome::Misconfigured { reason } => {
                error!(
                    fault = "configuration",
                    reason,
                    batch_size = event.records.len(),
                    "configuration fault; failing the whole batch"
                );
                return Err(BatchFault {
                    reason: reason.clone(),
                });
            }
            Outcome::Transient { .. } => report.transient += 1,
            _ => {}
        }
        if outcome.is_failure() {
            report
                .response
                .add_failure(message.message_id.clone().unwrap_or_default());
        }
    }
    Ok(report)
}

/// Processes one message, retrying a transient failure with backoff while the policy's
/// attempts and budget and the invocation's time allow. Returns the last outcome and
/// how many retries it took.
pub async fn process_with_retries<S, N>(
    deps: &IntakeDeps<S, N>,
    message: &SqsMessage,
    invocation: &Invocation<'_>,
) -> (Outcome, u32)
where
    S: TicketWriter + BorrowerHistory + Outbox + AcceptedLog + Sync,
    N: Notifier + Sync,
{
    let mut retries = 0;
    let mut paused = std::time::Duration::ZERO;
    loop {
        let outcome = process(deps, message).await;
        if !matches!(outcome, Outcome::Transient { .. }) {
            return (outcome, retries);
        }
        let time_left = match invocation.time_left() {
            Some(left) => left.to_std().unwrap_or_default(),
            None => std::time::Duration::MAX,
        };
        let Some(pause) = invocation
            .retry
            .backoff(retries + 1, paused, jitter(), time_left)
        else {
            return (outcome, retries);
        };
        tokio::time::sleep(pause).await;
        paused += pause;
        retries += 1;
    }
}

/// A random number for the backoff's jitter (std's per-instance random hash keys).
fn jitter() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}

/// Processes one message once (no retry); never panics, and logs ids only.
#[instrument(skip_all, fields(message_id = message.message_id.as_deref().unwrap_or("-"), reference))]
pub async fn process<S, N>(deps: &IntakeDeps<S, N>, message: &SqsMessage) -> Outcome
where
    S: TicketWriter + BorrowerHistory + Outbox + AcceptedLog + Sync,
    N: Notifier + Sync,
{
    let outcome = match try_process(deps, message).await {
        Ok(outcome) => outcome,
        Err(IntakeError::Poison(reason)) => Outcome::Poison { reason },
        Err(IntakeError::Store(e)) if e.is_transient() => Outcome::Transient {
            reason: e.to_string(),
        },
        // Not the message's fault: dead-lettering it would only lose time.
        Err(IntakeError::Store(e)) if e.is_configuration() => Outcome::Misconfigured {
            reason: e.to_string(),
        },
        // Refused for good (too large, invalid): every retry would fail the same way.
        Err(IntakeError::Store(e)) => Outcome::Poison {
            reason: e.to_string(),
        },
    };
    match &outcome {
        Outcome::Stored { reference } => info!(reference, "ticket created"),
        Outcome::Duplicate { reference } => {
            info!(reference, "duplicate delivery; ticket already exists")
        }
        Outcome::Poison { reason } => error!(
            reason,
            "poison message; leaving it for the dead-letter queue"
        ),
        Outcome::Transient { reason } => warn!(reason, "transient failure; will be retried"),
        Outcome::Misconfigured { reason } => error!(
            fault = "configuration",
            reason, "configuration fault; the message is not at fault"
        ),
    }
    outcome
}

#[derive(Debug, thiserror::Error)]
enum IntakeError {
    #[error("{0}")]
    Poison(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn try_process<S, N>(
    deps: &IntakeDeps<S, N>,
    message: &SqsMessage,
) -> Result<Outcome, IntakeError>
where
    S: TicketWriter + BorrowerHistory + Outbox + AcceptedLog + Sync,
    N: Notifier + Sync,
{
    let body = message
        .body
        .as_deref()
        .ok_or_else(|| IntakeError::Poison("message has no body".into()))?;
    // serde_json's messages give a position, never the content.
    let msg: ComplaintMessage = serde_json::from_str(body)
        .map_err(|e| IntakeError::Poison(format!("body is not a complaint message: {e}")))?;
    let reference = Reference::parse(&msg.reference)
        .map_err(|e| IntakeError::Poison(format!("bad reference: {e}")))?;
    tracing::Span::current().record("reference", reference.as_str());
    let complaint = Complaint::parse(
        &msg.form,
        &deps.config,
        ParseMode::Submission,
        msg.received_at,
    )
    .map_err(|e| IntakeError::Poison(format!("invalid complaint: {e}")))?;

    let keys = deps.keyer.keys(&complaint.borrower);
    let window = Duration::days(i64::from(deps.config.routing.repeat_window_days()));
    let priors = deps
        .store
        .earlier_complaints(&keys, msg.received_at - window, msg.received_at)
        .await?;
    let assessment = assess(
        &deps.config,
        &complaint,
        reference.as_str(),
        msg.received_at,
        &priors,
    );
    let (ticket, event) = open_ticket(&complaint, &reference, msg.received_at, &assessment);
    let index: Vec<BorrowerIndexEntry> = keys
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
    let reference = ticket.reference.to_string();
    // The borrower's acknowledgement goes to the outbox with the ticket; the notifier
    // decides from the ticket whether the borrower may be told.
    let outbox = [notify::acknowledgement(&ticket, &event)];
    match deps
        .store
        .create_ticket(&ticket, &event, &index, &outbox)
        .await?
    {
        CreateOutcome::Created => {
            // Right after the commit; a failure leaves it for the sweeper's relay run.
            relay(&deps.store, &deps.notifier, &outbox).await;
            clear_accepted(deps, &reference).await;
            Ok(Outcome::Stored { reference })
        }
        CreateOutcome::AlreadyExists => {
            clear_accepted(deps, &reference).await;
            Ok(Outcome::Duplicate { reference })
        }
    }
}

/// The ticket exists: the api's record of the accepted complaint is no longer needed.
/// A failure leaves the record for `redress reconcile`, which finds the ticket and
/// clears it; the message is handled either way.
async fn clear_accepted<S: AcceptedLog + Sync, N>(deps: &IntakeDeps<S, N>, reference: &str) {
    if let Err(e) = deps.store.clear_accepted(reference).await {
        warn!(reference, error = %e, "could not clear the accepted record; reconcile will");
    }
}
