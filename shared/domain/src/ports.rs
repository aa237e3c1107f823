//! The narrow capabilities the handlers need from storage and queues. Adapters for
//! DynamoDB and SQS live in `redress-aws`; each handler asks only for what it uses.

use crate::assess::{BorrowerIndexEntry, ComplaintMessage};
use crate::borrower::BorrowerKey;
use crate::repeat::PriorComplaint;
use crate::ticket::{AuditEvent, Ticket};
use chrono::{DateTime, Utc};
use std::future::Future;

/// A storage or queue failure, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Worth retrying: throttling, timeouts, service errors, connection trouble.
    #[error("transient: {0}")]
    Transient(String),
    /// Will fail the same way every time: the request or the stored data is wrong.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl StoreError {
    /// True if a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Transient(_))
    }
}

/// What happened when a ticket was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The ticket, its first event and its index entries were written.
    Created,
    /// A ticket with this reference already existed; nothing was written.
    AlreadyExists,
}

/// Creates tickets (intake).
pub trait TicketWriter {
    /// Writes the ticket, its first audit event and its borrower-index entries in one
    /// transaction that cannot create a second ticket for the same reference.
    fn create_ticket(
        &self,
        ticket: &Ticket,
        first_event: &AuditEvent,
        index: &[BorrowerIndexEntry],
    ) -> impl Future<Output = Result<CreateOutcome, StoreError>> + Send;
}

/// Reads a borrower's earlier complaints (intake).
pub trait BorrowerHistory {
    /// Complaints indexed under any of `keys` received in `[since, until]`.
    fn earlier_complaints(
        &self,
        keys: &[BorrowerKey],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<PriorComplaint>, StoreError>> + Send;
}

/// What the API keeps of a submission before intake has routed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub reference: String,
    pub received_at: DateTime<Utc>,
    /// SHA-256 of the canonical form, to tell a resubmission from a different complaint
    /// sent with the same idempotency key.
    pub fingerprint: String,
    /// True once the message is known to be on the queue.
    pub enqueued: bool,
}

/// Records submissions and idempotency keys (api).
pub trait SubmissionLog {
    /// Records a new submission, and binds `idempotency_key` (hashed) to it when given.
    /// Returns the submission already bound to that key instead, if there is one.
    fn record_submission(
        &self,
        submission: &Submission,
        idempotency_key: Option<&str>,
    ) -> impl Future<Output = Result<Option<Submission>, StoreError>> + Send;

    /// Marks a submission as safely on the queue.
    fn mark_enqueued(&self, reference: &str)
        -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Where a complaint stands, as far as its borrower may know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComplaintState {
    /// Accepted by the API, not yet routed.
    Submitted { received_at: DateTime<Utc> },
    /// Routed to a team.
    Ticketed(Box<Ticket>),
}

/// Reads a complaint by reference (api).
pub trait ComplaintLookup {
    fn complaint_state(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<ComplaintState>, StoreError>> + Send;
}

/// Puts complaints on the complaints queue (api).
pub trait ComplaintQueue {
    fn enqueue(
        &self,
        message: &ComplaintMessage,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What happened when a change to a ticket was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOutcome {
    /// The ticket and its new events were written.
    Saved,
    /// Someone else changed the ticket first (its version moved on); nothing was written.
    /// Holds the ticket as it now is, if it still exists.
    Conflict { current: Option<Box<Ticket>> },
    /// The ticket already has a survey answer; nothing was written.
    AlreadyAnswered,
}

/// A borrower's survey answer, as stored (one per ticket: the storage refuses a second).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SurveyRecord {
    pub reference: String,
    pub answer: crate::survey::SurveyAnswer,
    pub answered_at: DateTime<Utc>,
    /// The nonce of the invitation token that was used.
    pub nonce: String,
}

/// One change to a ticket, with everything that must be written with it.
#[derive(Debug, Clone, Copy)]
pub struct TicketChange<'a> {
    /// The ticket as it was read; its version must still be the stored one.
    pub before: &'a Ticket,
    /// The ticket after the change (version + number of events).
    pub after: &'a Ticket,
    /// The audit events recording the change.
    pub events: &'a [AuditEvent],
    /// A survey answer that caused the change, stored once per ticket.
    pub survey: Option<&'a SurveyRecord>,
    /// When the change happened (the day metric counters are filed under).
    pub now: DateTime<Utc>,
}

/// Reads and changes tickets (api team actions, surveys, sweeper).
pub trait TicketStore {
    /// A ticket with its whole history, oldest event first.
    fn ticket(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<(Ticket, Vec<AuditEvent>)>, StoreError>> + Send;

    /// Writes a change in one transaction: the ticket (only if the stored ticket still
    /// has `before.version` — optimistic concurrency), its new events (never
    /// overwritten), the survey answer if any (only if none is stored yet), and the
    /// metric counters the change moves. Because the counters are in the same
    /// transaction, a change is counted exactly when it is written: once.
    fn record_change(
        &self,
        change: &TicketChange<'_>,
    ) -> impl Future<Output = Result<SaveOutcome, StoreError>> + Send;
}

/// Which of a team's open tickets to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    pub status: Option<crate::ticket::TicketStatus>,
    pub priority: Option<crate::taxonomy::Priority>,
    pub category: Option<String>,
    /// Only tickets whose next deadline is before this time.
    pub due_before: Option<DateTime<Utc>>,
}

/// One page of a team's queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuePage {
    /// Open tickets, nearest deadline first, as the queue index holds them (no contact
    /// details or complaint text).
    pub tickets: Vec<serde_json::Value>,
    /// Opaque cursor for the next page, if there is one.
    pub next_cursor: Option<String>,
}

/// Lists a team's open tickets (api).
pub trait TeamQueue {
    fn team_queue(
        &self,
        team: &str,
        filter: &QueueFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<QueuePage, StoreError>> + Send;
}

/// A survey answer on its way from the api to the surveys function.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyMessage {
    /// The submission as the borrower sent it (`SurveySubmission::to_form`); the surveys
    /// function parses and verifies it again.
    pub submission: serde_json::Value,
    pub received_at: DateTime<Utc>,
}

/// Puts survey answers on the surveys queue (api).
pub trait SurveyQueue {
    fn enqueue_survey(
        &self,
        message: &SurveyMessage,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Something to tell a person outside the system (SMS, e-mail, a team lead's inbox):
/// ids and facts only, never personal data — the delivery service looks the contact up.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Notification {
    /// `survey_invitation`, `deadline_warning`, `deadline_breached` …
    pub kind: String,
    pub reference: String,
    /// The rest, by kind.
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// Sends notifications (api, sweeper).
pub trait Notifier {
    fn notify(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Reads whether a ticket's survey was answered (api, to refuse a second answer at once).
pub trait SurveyLookup {
    fn survey_answered(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What a read cost, for reports that show it and benchmarks that measure it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReadCost {
    pub queries: u32,
    pub items: u64,
}

/// Reads the metric counters and the live overdue figures (api reports, CLI).
pub trait MetricsReader {
    /// Every counter row for the days of `period`.
    fn metric_rows(
        &self,
        period: &crate::report::Period,
    ) -> impl Future<Output = Result<(Vec<crate::report::MetricRow>, ReadCost), StoreError>> + Send;

    /// Open tickets past their next deadline at `now`, counted under "all" and by the
    /// values of `by` (team, category, channel or priority).
    fn overdue_now(
        &self,
        teams: &[String],
        by: crate::metrics::Dimension,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(std::collections::BTreeMap<String, i64>, ReadCost), StoreError>>
           + Send;
}
