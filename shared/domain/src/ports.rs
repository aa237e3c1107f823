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
}

/// Reads and changes tickets (api team actions, sweeper).
pub trait TicketStore {
    /// A ticket with its whole history, oldest event first.
    fn ticket(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<(Ticket, Vec<AuditEvent>)>, StoreError>> + Send;

    /// Writes a changed ticket and its new events in one transaction, only if the stored
    /// ticket still has `expected_version` (optimistic concurrency). Events are never
    /// overwritten.
    fn save_change(
        &self,
        expected_version: u32,
        ticket: &Ticket,
        events: &[AuditEvent],
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
