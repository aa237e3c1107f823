//! The narrow capabilities the handlers need from storage and queues. Adapters for
//! DynamoDB and SQS live in `redress-aws`; each handler asks only for what it uses.

use crate::assess::{BorrowerIndexEntry, ComplaintMessage};
use crate::borrower::BorrowerKey;
use crate::repeat::PriorComplaint;
use crate::ticket::{AuditEvent, Ticket};
use chrono::{DateTime, Duration, Utc};
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Any error, as the cause of a [`StoreError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A storage or queue failure: what was being done and why it failed. Whether a retry
/// may help follows from the cause ([`StoreError::is_transient`]).
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {cause}")]
pub struct StoreError {
    /// What was being done, as a fixed phrase (`create ticket`, `send notification` …).
    pub operation: &'static str,
    #[source]
    pub cause: StoreFailure,
}

/// Why a storage or queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreFailure {
    /// The service refused for load: throttling, exceeded capacity. `code` is the
    /// service's error code.
    #[error("throttled ({code})")]
    Throttled { code: String },
    /// The service failed on its side (internal error, unavailable).
    #[error("service unavailable ({code})")]
    Unavailable { code: String },
    /// No answer in time, or the connection failed.
    #[error("no answer from the service")]
    Unreachable(#[source] BoxError),
    /// A transaction lost to a concurrent one touching the same items.
    #[error("transaction cancelled by contention")]
    Contention,
    /// The service refused the request for good: `code` and `message` are its own.
    #[error("refused ({code}): {message}")]
    Rejected { code: String, message: String },
    /// A stored item (or message) does not map to the domain type.
    #[error("stored data does not map")]
    Corrupt(#[source] BoxError),
    /// The request could not be built or serialised (a bug, not bad input).
    #[error("request could not be built")]
    InvalidRequest(#[source] BoxError),
    /// A page cursor that this store did not issue.
    #[error("invalid cursor")]
    InvalidCursor,
    /// The service refused because of how the deployment is set up, not because of the
    /// request: access denied, a missing table or queue, a KMS key it may not use, bad
    /// or expired credentials. No retry within minutes helps, but once an operator fixes
    /// it the same request succeeds, so a message that met it is not poison.
    #[error("configuration fault ({code}): {message}")]
    Misconfigured { code: String, message: String },
}

impl StoreFailure {
    /// True if a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreFailure::Throttled { .. }
                | StoreFailure::Unavailable { .. }
                | StoreFailure::Unreachable(_)
                | StoreFailure::Contention
        )
    }

    /// True for a fault of the deployment (permissions, a missing resource, KMS,
    /// credentials): it fails every message alike, so it must fail the whole batch
    /// (and raise the alarm) rather than dead-letter messages one by one.
    pub fn is_configuration(&self) -> bool {
        matches!(self, StoreFailure::Misconfigured { .. })
    }
}

impl StoreError {
    /// `operation` failed because of `cause`.
    pub fn new(operation: &'static str, cause: StoreFailure) -> Self {
        Self { operation, cause }
    }

    /// A stored item of `operation` that does not map.
    pub fn corrupt(operation: &'static str, e: impl Into<BoxError>) -> Self {
        Self::new(operation, StoreFailure::Corrupt(e.into()))
    }

    /// A request of `operation` that could not be built.
    pub fn invalid_request(operation: &'static str, e: impl Into<BoxError>) -> Self {
        Self::new(operation, StoreFailure::InvalidRequest(e.into()))
    }

    /// True if a retry may succeed.
    pub fn is_transient(&self) -> bool {
        self.cause.is_transient()
    }

    /// True for a fault of the deployment ([`StoreFailure::is_configuration`]).
    pub fn is_configuration(&self) -> bool {
        self.cause.is_configuration()
    }
}

/// The time now. A port, so that tests set and move the clock instead of waiting.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is set or advanced; clones share one time.
#[derive(Debug, Clone)]
pub struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    /// A clock showing `at`.
    pub fn at(at: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    /// Sets the time.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    /// Moves the time on by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
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
    /// `outbox` holds the notifications the new ticket causes (its acknowledgement),
    /// written in the same transaction.
    fn create_ticket(
        &self,
        ticket: &Ticket,
        first_event: &AuditEvent,
        index: &[BorrowerIndexEntry],
        outbox: &[OutboxEntry],
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

    /// Keeps the accepted complaint's message (before it is queued), so that it can be
    /// queued again if the message is ever lost; kept until intake has made its ticket
    /// ([`AcceptedLog::clear_accepted`]) or its own expiry. Recording a reference that
    /// is already recorded changes nothing.
    fn record_accepted(
        &self,
        message: &ComplaintMessage,
        accepted_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Clears an accepted complaint's record once its ticket exists (intake).
pub trait AcceptedLog {
    /// Removes the record of `reference` (removing one already gone is not an error).
    fn clear_accepted(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Why a staff member's access to a ticket was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    /// The borrower's contact details and identifiers were shown unmasked.
    ContactViewed,
    /// The complaint was entered by staff on the borrower's behalf (a call, a letter).
    Entered,
}

/// A staff member's access to a ticket that changes nothing on it, kept for audit:
/// who, which ticket, when, and why. Never personal data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessRecord {
    pub reference: String,
    pub at: DateTime<Utc>,
    pub actor: crate::ticket::Actor,
    pub kind: AccessKind,
}

/// The access audit log (api): append-only, one record per access.
pub trait AccessLog {
    /// Appends a record (never overwrites one).
    fn record_access(
        &self,
        record: &AccessRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A ticket's access records, oldest first.
    fn access_records(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Vec<AccessRecord>, StoreError>> + Send;
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
    /// Notifications the change causes, written to the outbox in the same transaction
    /// (so none is lost if the writer stops before it reaches the queue).
    pub outbox: &'a [OutboxEntry],
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
    /// A time outside [`crate::dates`]'s range makes the message unreadable.
    #[serde(deserialize_with = "crate::dates::bounded_time")]
    pub received_at: DateTime<Utc>,
}

/// Puts survey answers on the surveys queue (api).
pub trait SurveyQueue {
    fn enqueue_survey(
        &self,
        message: &SurveyMessage,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What a notification is about. Serialised as its snake_case identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A new ticket's borrower is told it was received: reference, how to check its
    /// status, the deadlines.
    Acknowledgement,
    /// A resolved ticket's borrower is told the outcome and its summary.
    Resolution,
    /// A resolved ticket's borrower is invited to the satisfaction survey.
    SurveyInvitation,
    /// A deadline is near (to the team lead).
    DeadlineWarning,
    /// A deadline has passed (to the team lead).
    DeadlineBreached,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [NotificationKind; 5] = [
        NotificationKind::Acknowledgement,
        NotificationKind::Resolution,
        NotificationKind::SurveyInvitation,
        NotificationKind::DeadlineWarning,
        NotificationKind::DeadlineBreached,
    ];

    /// The identifier in messages (`survey_invitation`, `deadline_warning` …).
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Acknowledgement => "acknowledgement",
            NotificationKind::Resolution => "resolution",
            NotificationKind::SurveyInvitation => "survey_invitation",
            NotificationKind::DeadlineWarning => "deadline_warning",
            NotificationKind::DeadlineBreached => "deadline_breached",
        }
    }

    /// Parses [`NotificationKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// True for the messages to the borrower (sent only with consent).
    pub fn is_for_borrower(self) -> bool {
        matches!(
            self,
            NotificationKind::Acknowledgement
                | NotificationKind::Resolution
                | NotificationKind::SurveyInvitation
        )
    }
}

impl std::fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something to tell a person outside the system (SMS, e-mail, a team lead's inbox):
/// ids and facts only, never personal data — the delivery service looks the contact up.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Notification {
    pub kind: NotificationKind,
    pub reference: String,
    /// The rest, by kind.
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// A notification waiting in the outbox: written in the transaction of the change that
/// caused it, removed once it is on the notifications queue.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OutboxEntry {
    /// Stable for the change and kind (`<reference>:<event seq>:<kind>`): the notifier's
    /// idempotency key, so a notification relayed twice is delivered once.
    pub id: String,
    /// When the change happened.
    pub at: DateTime<Utc>,
    pub notification: Notification,
}

impl OutboxEntry {
    /// The entry for `notification`, caused by the audit event `seq` at `at`.
    pub fn new(notification: Notification, seq: u32, at: DateTime<Utc>) -> Self {
        let id = format!(
            "{}:{seq}:{}",
            notification.reference,
            notification.kind.as_str()
        );
        Self {
            id,
            at,
            notification,
        }
    }

    /// The message for the queue: the notification with its id (`notification_id`).
    pub fn message(&self) -> Notification {
        let mut message = self.notification.clone();
        message.fields.insert(
            "notification_id".into(),
            serde_json::Value::from(self.id.clone()),
        );
        message
    }
}

/// Reads and clears the outbox (the writers after commit, the sweeper's relay run).
pub trait Outbox {
    /// Entries written at or before `until`, oldest first within each shard, at most
    /// `limit` in all.
    fn pending_outbox(
        &self,
        until: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, StoreError>> + Send;

    /// Removes an entry once its notification is on the queue (removing one already gone
    /// is not an error).
    fn remove_outbox(
        &self,
        entry: &OutboxEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_causes_are_retried_and_permanent_ones_are_not() {
        let transient = [
            StoreFailure::Throttled {
                code: "ThrottlingException".into(),
            },
            StoreFailure::Unavailable {
                code: "InternalServerError".into(),
            },
            StoreFailure::Unreachable("timed out".into()),
            StoreFailure::Contention,
        ];
        for cause in transient {
            assert!(StoreError::new("op", cause).is_transient());
        }
        let permanent = [
            StoreFailure::Rejected {
                code: "ValidationException".into(),
                message: "bad key".into(),
            },
            StoreFailure::Corrupt("missing field".into()),
            StoreFailure::InvalidRequest("no table".into()),
            StoreFailure::InvalidCursor,
            StoreFailure::Misconfigured {
                code: "AccessDeniedException".into(),
                message: "not authorized".into(),
            },
        ];
        for cause in permanent {
            let e = StoreError::new("op", cause);
            assert!(!e.is_transient());
            assert_eq!(
                e.is_configuration(),
                matches!(e.cause, StoreFailure::Misconfigured { .. })
            );
        }
    }

    #[test]
    fn a_store_error_names_its_operation_and_keeps_its_cause() {
        let e = StoreError::corrupt("read ticket", "missing field `status`");
        assert_eq!(e.to_string(), "read ticket: stored data does not map");
        let source = std::error::Error::source(&e).expect("cause");
        let inner = source.source().expect("the mapping error");
        assert_eq!(inner.to_string(), "missing field `status`");
    }

    #[test]
    fn the_test_clock_moves_only_when_told() {
        let t0: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().unwrap();
        let clock = TestClock::at(t0);
        let shared = clock.clone();
        assert_eq!(clock.now(), t0);
        shared.advance(Duration::seconds(90));
        assert_eq!(clock.now(), t0 + Duration::seconds(90));
        clock.set(t0);
        assert_eq!(shared.now(), t0);
    }

    #[test]
    fn notification_kinds_serialise_as_their_identifiers() {
        for kind in NotificationKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
