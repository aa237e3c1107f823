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
//! - *transient* (throttling, timeouts, a lost connection): reported as failed and
//!   retried after the visibility timeout. Logged at warn.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Duration;
use redress_aws::env::{self, EnvError, VarSource};
use redress_aws::outbox::relay;
use redress_aws::{DynamoStore, SdkConfig, SqsQueue};
use redress_domain::assess::{assess, open_ticket, BorrowerIndexEntry, ComplaintMessage};
use redress_domain::borrower::BorrowerKeyer;
use redress_domain::complaint::{Complaint, ParseMode};
use redress_domain::config::DomainConfig;
use redress_domain::notify;
use redress_domain::ports::{
    BorrowerHistory, CreateOutcome, Notifier, Outbox, StoreError, TicketWriter,
};
use redress_domain::reference::Reference;
use redress_domain::repeat::PriorComplaint;
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
}

impl Outcome {
    /// True if SQS should see this message again.
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Poison { .. } | Outcome::Transient { .. })
    }
}

/// Handles one SQS batch and reports the messages to retry.
pub async fn handle<S, N>(deps: &IntakeDeps<S, N>, event: SqsEvent) -> SqsBatchResponse
where
    S: TicketWriter + BorrowerHistory + Outbox + Sync,
    N: Notifier + Sync,
{
    let mut response = SqsBatchResponse::default();
    for message in &event.records {
        let outcome = process(deps, message).await;
        if outcome.is_failure() {
            response.add_failure(message.message_id.clone().unwrap_or_default());
        }
    }
    response
}

/// Processes one message; never panics, and logs ids only.
#[instrument(skip_all, fields(message_id = message.message_id.as_deref().unwrap_or("-"), reference))]
pub async fn process<S, N>(deps: &IntakeDeps<S, N>, message: &SqsMessage) -> Outcome
where
    S: TicketWriter + BorrowerHistory + Outbox + Sync,
    N: Notifier + Sync,
{
    let outcome = match try_process(deps, message).await {
        Ok(outcome) => outcome,
        Err(IntakeError::Poison(reason)) => Outcome::Poison { reason },
        Err(IntakeError::Store(e)) if e.is_transient() => Outcome::Transient {
            reason: e.to_string(),
        },
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
    S: TicketWriter + BorrowerHistory + Outbox + Sync,
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
            Ok(Outcome::Stored { reference })
        }
        CreateOutcome::AlreadyExists => Ok(Outcome::Duplicate { reference }),
    }
}
