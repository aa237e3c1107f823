//! The notifier function: delivers what the notifications queue carries.
//!
//! - To teams: deadline warnings and breaches by e-mail to the team's addresses, and an
//!   escalation to the team's lead and the managers on the ticket's second breach or a
//!   breach of a critical ticket (`config/notifications.toml`).
//! - To borrowers, only with consent and a contact on file, in their language: the
//!   acknowledgement, the resolution summary and the survey invitation, by SES e-mail,
//!   or by SNS SMS when only a phone is on file.
//!
//! The queue message carries ids only; contact details are read from the ticket, and
//! no log line holds an address, a phone number, a name or a message text.
//!
//! Exactly one delivery per notification: each delivery (`<notification id>/<audience>`)
//! has a record, claimed before sending and completed after. A redelivered message finds
//! it and sends nothing; one delivered while the first is still sending is retried later.
//!
//! Failures are reported per message (`ReportBatchItemFailures`):
//! - *transient* (throttling, timeouts, a claim still in flight, a store error worth
//!   retrying): the message comes back after the visibility timeout; deliveries already
//!   made are not made again.
//! - *poison* (unreadable message, unknown kind, no such ticket, a recipient the
//!   provider refuses): failed every time, so after `maxReceiveCount` receives SQS moves
//!   it to the dead-letter queue, whose alarm tells on-call.

pub mod config;
pub mod plan;
pub mod senders;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Duration, Utc};
use config::NotifyConfig;
use plan::{plan, Channel, Links, Planned};
use redress_aws::env::{self, EnvError, VarSource};
use redress_aws::outbox::{Claim, DeliveryLog};
use redress_aws::{DynamoStore, SdkConfig};
use redress_domain::config::DomainConfig;
use redress_domain::ports::{Clock, Notification, StoreError, SystemClock};
use redress_domain::ticket::Ticket;
use senders::AwsSenders;
use std::future::Future;
use std::sync::Arc;
use tracing::{error, info, instrument, warn};

/// How long a claim may stay pending before it counts as abandoned: well over the
/// function's 30 s timeout, well under the queue's 180 s visibility timeout.
pub const CLAIM_LEASE_SECONDS: i64 = 120;

/// A failed send, sorted by what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub transient: bool,
    pub message: String,
}

impl SendError {
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            transient: false,
            message: message.into(),
        }
    }
}

/// Sends one message; returns the provider's message id.
pub trait Sender {
    fn send(&self, channel: &Channel) -> impl Future<Output = Result<String, SendError>> + Send;
}

/// Reads the ticket a notification is about.
pub trait TicketSource {
    fn ticket_now(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<Ticket>, StoreError>> + Send;
}

/// The delivery records (claim before sending, complete after).
pub trait DeliveryRecords {
    fn claim(
        &self,
        delivery_id: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;
    fn complete(&self, log: &DeliveryLog) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn release(&self, delivery_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl TicketSource for DynamoStore {
    async fn ticket_now(&self, reference: &str) -> Result<Option<Ticket>, StoreError> {
        Ok(self.current_ticket(reference).await?.0)
    }
}

impl DeliveryRecords for DynamoStore {
    async fn claim(
        &self,
        delivery_id: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        self.claim_delivery(delivery_id, now, lease).await
    }
    async fn complete(&self, log: &DeliveryLog) -> Result<(), StoreError> {
        self.complete_delivery(log).await
    }
    async fn release(&self, delivery_id: &str) -> Result<(), StoreError> {
        self.release_delivery(delivery_id).await
    }
}

/// What the notifier needs, built once per cold start.
pub struct NotifierDeps<S, M> {
    pub config: Arc<NotifyConfig>,
    pub links: Links,
    pub store: S,
    pub sender: M,
    /// The clock (a port, so tests set and move it).
    pub clock: Arc<dyn Clock>,
}

impl NotifierDeps<DynamoStore, AwsSenders> {
    /// Builds the dependencies from the function's environment: `TICKETS_TABLE`,
    /// `SES_FROM_ADDRESS`, `PUBLIC_BASE_URL`, and optionally `SES_CONFIGURATION_SET`
    /// and `SMS_SENDER_ID` (empty means none).
    pub fn from_env(
        vars: &dyn VarSource,
        aws: &SdkConfig,
        domain: &DomainConfig,
        config: Arc<NotifyConfig>,
    ) -> Result<Self, EnvError> {
        let optional = |name: &str| vars.var(name).filter(|v| !v.trim().is_empty());
        let from = env::required(vars, "SES_FROM_ADDRESS")?;
        let base = env::required(vars, "PUBLIC_BASE_URL")?;
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(EnvError {
                name: "PUBLIC_BASE_URL",
                problem: "must be an http(s) URL",
            });
        }
        Ok(Self {
            config,
            links: Links {
                public_base_url: base.trim_end_matches('/').to_string(),
                time_zone: domain.sla.reporting_time_zone(),
            },
            store: DynamoStore::from_env(vars, aws, domain)?,
            sender: AwsSenders {
                ses: aws_sdk_sesv2::Client::new(aws),
                sns: aws_sdk_sns::Client::new(aws),
                from,
                configuration_set: optional("SES_CONFIGURATION_SET"),
                sms_sender_id: optional("SMS_SENDER_ID"),
            },
            clock: Arc::new(SystemClock),
        })
    }
}

/// What became of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    /// Decided not to send (no consent, no contact …), recorded.
    pub skipped: usize,
    /// Delivered (or decided) before: a redelivery.
    pub already: usize,
    /// Claimed once and never completed: not sent again.
    pub uncertain: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done(Delivered),
    Poison { reason: String },
    Transient { reason: String },
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        !matches!(self, Outcome::Done(_))
    }
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Poison(String),
    #[error("{0}")]
    Transient(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            Failure::Transient(e.to_string())
        } else {
            Failure::Poison(e.to_string())
        }
    }
}

/// Handles one SQS batch and reports the messages to retry.
pub async fn handle<S, M>(deps: &NotifierDeps<S, M>, event: SqsEvent) -> SqsBatchResponse
where
    S: TicketSource + DeliveryRecords + Sync,
    M: Sender + Sync,
{
    let mut response = SqsBatchResponse::default();
    for message in &event.records {
        if process(deps, message).await.is_failure() {
            response.add_failure(message.message_id.clone().unwrap_or_default());
        }
    }
    response
}

/// Processes one message; never panics, and logs ids only.
#[instrument(skip_all, fields(message_id = message.message_id.as_deref().unwrap_or("-"), notification_id))]
pub async fn process<S, M>(deps: &NotifierDeps<S, M>, message: &SqsMessage) -> Outcome
where
    S: TicketSource + DeliveryRecords + Sync,
    M: Sender + Sync,
{
    let outcome = match try_process(deps, message).await {
        Ok(done) => Outcome::Done(done),
        Err(Failure::Poison(reason)) => Outcome::Poison { reason },
        Err(Failure::Transient(reason)) => Outcome::Transient { reason },
    };
    match &outcome {
        Outcome::Done(d) => info!(
            sent = d.sent,
            skipped = d.skipped,
            already = d.already,
            uncertain = d.uncertain,
            "notification handled"
        ),
        Outcome::Poison { reason } => {
            error!(
                reason,
                "undeliverable notification; leaving it for the dead-letter queue"
            )
        }
        Outcome::Transient { reason } => warn!(reason, "delivery failed; will be retried"),
    }
    outcome
}

async fn try_process<S, M>(
    deps: &NotifierDeps<S, M>,
    message: &SqsMessage,
) -> Result<Delivered, Failure>
where
    S: TicketSource + DeliveryRecords + Sync,
    M: Sender + Sync,
{
    let body = message
        .body
        .as_deref()
        .ok_or_else(|| Failure::Poison("message has no body".into()))?;
    // serde_json's messages give a position, never the content.
    let notification: Notification = serde_json::from_str(body)
        .map_err(|e| Failure::Poison(format!("body is not a notification: {e}")))?;
    let id = plan::notification_id(&notification).map_err(|e| Failure::Poison(e.0))?;
    tracing::Span::current().record("notification_id", id.as_str());
    redress_domain::reference::Reference::parse(&notification.reference)
        .map_err(|e| Failure::Poison(format!("bad reference: {e}")))?;
    let ticket = deps
        .store
        .ticket_now(&notification.reference)
        .await?
        .ok_or_else(|| Failure::Poison("no ticket with this reference".into()))?;
    let planned = plan(&notification, &ticket, &deps.config, &deps.links)
        .map_err(|e| Failure::Poison(e.0))?;

    let mut done = Delivered::default();
    // Each delivery stands alone: one that fails does not undo the others, and a
    // redelivery of the message skips those already made.
    let mut failure = None;
    for p in &planned {
        match deliver(deps, &id, &notification, p).await {
            Ok(Step::Sent) => done.sent += 1,
            Ok(Step::Skipped) => done.skipped += 1,
            Ok(Step::Already) => done.already += 1,
            Ok(Step::Uncertain) => done.uncertain += 1,
            // A poison failure outranks a transient one: retrying cannot help it.
            Err(e @ Failure::Poison(_)) => failure = Some(e),
            Err(e) => {
                if failure.is_none() {
                    failure = Some(e);
                }
            }
        }
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(done),
    }
}

enum Step {
    Sent,
    Skipped,
    Already,
    Uncertain,
}

async fn deliver<S, M>(
    deps: &NotifierDeps<S, M>,
    notification_id: &str,
    notification: &Notification,
    planned: &Planned,
) -> Result<Step, Failure>
where
    S: TicketSource + DeliveryRecords + Sync,
    M: Sender + Sync,
{
    let (delivery_id, audience) = match planned {
        Planned::Send(d) => (d.id.as_str(), d.audience),
        Planned::Skip { id, audience, .. } => (id.as_str(), *audience),
    };
    let now = deps.clock.now();
    match deps
        .store
        .claim(delivery_id, now, Duration::seconds(CLAIM_LEASE_SECONDS))
        .await?
    {
        Claim::Claimed => {}
        Claim::Done => return Ok(Step::Already),
        Claim::InFlight => {
            return Err(Failure::Transient(format!(
                "{} delivery is being sent by another invocation",
                audience.as_str()
            )))
        }
        Claim::Uncertain => {
            error!(
                audience = audience.as_str(),
                "a delivery was claimed and never completed; not sending it again (see redress outbox)"
            );
            return Ok(Step::Uncertain);
        }
    }
    let mut log = DeliveryLog {
        delivery_id: delivery_id.to_string(),
        notification_id: notification_id.to_string(),
        reference: notification.reference.clone(),
        status: String::new(),
        channel: String::new(),
        audience: audience.as_str().to_string(),
        template: String::new(),
        to_masked: Vec::new(),
        provider_id: None,
        at: now,
    };
    let step = match planned {
        Planned::Skip { reason, .. } => {
            log.status = "skipped".into();
            log.template = format!("{}:{reason}", notification.kind);
            info!(audience = audience.as_str(), reason, "nothing sent");
            Step::Skipped
        }
        Planned::Send(d) => match deps.sender.send(&d.channel).await {
            Ok(provider_id) => {
                log.status = "sent".into();
                log.channel = d.channel.name().to_string();
                log.template = d.template.clone();
                log.to_masked = d.channel.masked_recipients();
                log.provider_id = Some(provider_id);
                log.at = deps.clock.now();
                info!(audience = audience.as_str(), channel = d.channel.name(), template = %d.template, "sent");
                Step::Sent
            }
            Err(e) => {
                // Certainly not sent (the provider said no, or nothing reached it): give
                // the claim back so the retry may send.
                if let Err(release) = deps.store.release(delivery_id).await {
                    warn!(error = %release, "could not release the claim; it lapses after its lease");
                }
                return Err(if e.transient {
                    Failure::Transient(e.message)
                } else {
                    Failure::Poison(e.message)
                });
            }
        },
    };
    // Sent but not recorded: a few quick tries, since a lost completion leaves the
    // record pending and a later redelivery would have to call it uncertain.
    let mut attempt = 0;
    loop {
        match deps.store.complete(&log).await {
            Ok(()) => return Ok(step),
            Err(e) if e.is_transient() && attempt < 3 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
            }
            Err(e) => {
                error!(error = %e, "delivery made but its record not completed");
                return Err(Failure::Transient(e.to_string()));
            }
        }
    }
}
