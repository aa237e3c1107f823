//! The deadline sweeper: on a schedule, records every deadline warning and breach that
//! has fallen due, once, and tells the team through the notifications queue. Each run
//! first relays what the outbox still holds (notifications committed with a change but
//! not yet queued, by any writer).
//!
//! A run never scans the table. It reads the `DueIndex` (sparse: only tickets with a
//! warning or breach still to record carry its keys, sorted by when the next one falls
//! due), then each due ticket itself with a consistent read, and lets the domain
//! (`watch::sweep`) decide what is due.
//!
//! Exactly once: a recorded alert is marked on the ticket in the same transaction as its
//! audit event, conditioned on the ticket's version. A second run (or two overlapping
//! runs) finds the mark and records nothing; a team member acting at the same moment
//! wins, and this run leaves the ticket to the next, which sees the fresh state. The
//! notifications are written to the outbox in that transaction and queued after it
//! commits.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt};
use redress_aws::env::{self, EnvError, VarSource};
use redress_aws::outbox::relay;
use redress_aws::sweep::{DueList, Reads};
use redress_aws::{DynamoStore, SdkConfig, SqsQueue};
use redress_domain::config::DomainConfig;
use redress_domain::ports::{
    Notification, NotificationKind, Notifier, Outbox, OutboxEntry, SaveOutcome, StoreError,
    TicketChange, TicketStore,
};
use redress_domain::reference::Reference;
use redress_domain::taxonomy::{Priority, TeamId};
use redress_domain::ticket::{AuditEvent, Ticket};
use redress_domain::watch::{self, DeadlineAlert};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use tracing::{error, info, instrument};

/// At most this many due tickets are taken from each due-index shard per run (the
/// earliest first): 8 × 250 = 2,000 tickets, well inside the function's 60 s timeout.
/// Whatever is left stays due and the next run takes it.
pub const PER_SHARD_PER_RUN: usize = 250;
/// Tickets swept at once.
pub const CONCURRENCY: usize = 16;
/// Outbox entries older than this are relayed by the sweep (younger ones are still
/// being relayed by the writer that committed them).
pub const OUTBOX_GRACE: Duration = Duration::minutes(1);
/// At most this many leftover outbox entries are relayed per run.
pub const OUTBOX_PER_RUN: usize = 500;

/// The scheduled event that starts a run (EventBridge, `rate(5 minutes)`).
pub type ScheduledEvent = CloudWatchEvent<serde_json::Value>;

/// Finds due tickets (the sweeper's read port).
pub trait DueTickets {
    /// References due at or before `until`, at most `per_shard` per shard.
    fn due(
        &self,
        until: DateTime<Utc>,
        per_shard: usize,
    ) -> impl Future<Output = Result<DueList, StoreError>> + Send;

    /// The ticket as it is now (consistent), and what reading it cost.
    fn current(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<(Option<Ticket>, Reads), StoreError>> + Send;
}

impl DueTickets for DynamoStore {
    async fn due(&self, until: DateTime<Utc>, per_shard: usize) -> Result<DueList, StoreError> {
        self.due_references(until, per_shard).await
    }

    async fn current(&self, reference: &str) -> Result<(Option<Ticket>, Reads), StoreError> {
        self.current_ticket(reference).await
    }
}

/// What the sweeper needs, built once per cold start.
pub struct SweeperDeps<S, N> {
    pub config: Arc<DomainConfig>,
    pub store: S,
    pub notifier: N,
    /// How long before a deadline the warning falls due (`sla.warning_hours`).
    pub warning: Duration,
    pub per_shard: usize,
    pub concurrency: usize,
}

impl SweeperDeps<DynamoStore, SqsQueue> {
    /// Builds the dependencies from the function's environment (`TICKETS_TABLE`,
    /// `NOTIFICATIONS_QUEUE_URL`, `RETENTION_DAYS`).
    pub fn from_env(
        vars: &dyn VarSource,
        aws: &SdkConfig,
        config: Arc<DomainConfig>,
    ) -> Result<Self, EnvError> {
        let queue_url = env::required(vars, "NOTIFICATIONS_QUEUE_URL")?;
        let warning = config.sla.warning();
        // The store computes each ticket's next due time with the same warning window the
        // sweep uses, and files metric counters in the configured reporting time zone.
        let store = DynamoStore::from_env(vars, aws, &config)?;
        let notifier = SqsQueue::new(aws_sdk_sqs::Client::new(aws), queue_url);
        Ok(Self {
            config,
            store,
            notifier,
            warning,
            per_shard: PER_SHARD_PER_RUN,
            concurrency: CONCURRENCY,
        })
    }
}

/// Which of the ticket's two deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    Acknowledge,
    Resolve,
}

/// The message a team lead gets. Ids, team, priority and times only: no name, contact
/// detail or complaint text, so it is safe in any queue, log or chat channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineNotification {
    /// A warning (the deadline is near) or a breach (it has passed).
    pub kind: NotificationKind,
    pub deadline: Deadline,
    pub reference: Reference,
    pub team: TeamId,
    /// The ticket's priority after the alert (a breach raises it).
    pub priority: Priority,
    /// The internal deadline the alert is about.
    pub due_at: DateTime<Utc>,
    /// The regulatory deadline behind it.
    pub regulatory_due_at: DateTime<Utc>,
    /// When the alert was recorded (its audit event's time).
    pub recorded_at: DateTime<Utc>,
    /// The audit event's sequence number: with the reference, a key a consumer can use
    /// to ignore a duplicate delivery (SQS delivers at least once).
    pub event_seq: u32,
}

impl DeadlineNotification {
    /// As the message the notifications queue carries: the same JSON object.
    pub fn message(&self) -> Notification {
        let fields = [
            ("deadline", json!(self.deadline)),
            ("team", json!(self.team)),
            ("priority", json!(self.priority)),
            ("due_at", json!(self.due_at)),
            ("regulatory_due_at", json!(self.regulatory_due_at)),
            ("recorded_at", json!(self.recorded_at)),
            ("event_seq", json!(self.event_seq)),
        ];
        Notification {
            kind: self.kind,
            reference: self.reference.to_string(),
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }
}

/// The notification for one recorded alert, from the ticket as saved.
pub fn notification(
    ticket: &Ticket,
    alert: DeadlineAlert,
    event: &AuditEvent,
) -> DeadlineNotification {
    let (kind, deadline) = match alert {
        DeadlineAlert::AcknowledgeSoon => {
            (NotificationKind::DeadlineWarning, Deadline::Acknowledge)
        }
        DeadlineAlert::AcknowledgeBreached => {
            (NotificationKind::DeadlineBreached, Deadline::Acknowledge)
        }
        DeadlineAlert::ResolveSoon => (NotificationKind::DeadlineWarning, Deadline::Resolve),
        DeadlineAlert::ResolveBreached => (NotificationKind::DeadlineBreached, Deadline::Resolve),
    };
    let d = &ticket.deadlines;
    let (due_at, regulatory_due_at) = match deadline {
        Deadline::Acknowledge => (d.acknowledge_by, d.regulatory_acknowledge_by),
        Deadline::Resolve => (d.resolve_by, d.regulatory_resolve_by),
    };
    DeadlineNotification {
        kind,
        deadline,
        reference: ticket.reference.clone(),
        team: ticket.team.clone(),
        priority: ticket.priority,
        due_at,
        regulatory_due_at,
        recorded_at: event.at,
        event_seq: event.seq,
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SweepReport {
    /// Tickets the due index named (each read once).
    pub due: usize,
    /// Tickets that had something recorded.
    pub tickets_changed: usize,
    /// Warnings and breaches recorded (one audit event each).
    pub alerts_recorded: usize,
    pub notifications_sent: usize,
    /// Notifications that could not be queued after retries (their alerts are recorded,
    /// the notifications stay in the outbox for the next run's relay).
    pub notifications_failed: usize,
    /// Outbox entries left by earlier writers that this run put on the queue.
    pub outbox_relayed: usize,
    /// Outbox entries this run could not put on the queue (they stay for the next run).
    pub outbox_failed: usize,
    /// Tickets changed by someone else while being swept: left for the next run.
    pub conflicts: usize,
    /// Tickets the index named that had nothing due once read (the index lags a moment
    /// behind a change) or no longer exist.
    pub stale: usize,
    /// Tickets that could not be read or saved (logged by reference).
    pub failed: usize,
    /// True when more was due than one run takes; the next run continues.
    pub more_due: bool,
    /// DynamoDB items read: due-index entries plus tickets fetched.
    pub items_read: u64,
    pub index_queries: u64,
    pub index_items: u64,
    pub tickets_fetched: u64,
    /// Read capacity units, when the service reports them.
    pub read_units: Option<f64>,
}

impl SweepReport {
    /// Why this run must count as failed, if it must: tickets that could not be swept,
    /// or notifications that could not be queued. Failing the invocation puts it in the
    /// function's error metric and alarm; a log line alone would go unseen.
    pub fn failure(&self) -> Option<String> {
        let unqueued = self.notifications_failed + self.outbox_failed;
        match (self.failed, unqueued) {
            (0, 0) => None,
            (0, n) => Some(format!(
                "{n} notifications could not be queued (kept in the outbox for the next run)"
            )),
            (t, 0) => Some(format!("{t} due tickets could not be swept")),
            (t, n) => Some(format!(
                "{t} due tickets could not be swept and {n} notifications could not be queued"
            )),
        }
    }
}

/// What became of one due ticket.
#[derive(Debug, Default)]
struct TicketOutcome {
    reads: Reads,
    alerts: usize,
    sent: usize,
    send_failed: usize,
    conflict: bool,
    stale: bool,
    failed: bool,
}

/// Runs one sweep at `now`. Fails only when the due index cannot be read at all; a ticket
/// that fails is counted in the report and retried by the next run (it stays due).
#[instrument(skip_all, fields(now = %now))]
pub async fn handle<S, N>(
    deps: &SweeperDeps<S, N>,
    now: DateTime<Utc>,
) -> Result<SweepReport, StoreError>
where
    S: DueTickets + TicketStore + Outbox + Sync,
    N: Notifier + Sync,
{
    // First the outbox: notifications a writer committed but could not queue (or
    // stopped before queueing). Entries younger than the grace period are left to the
    // writer that is relaying them right now; a copy sent twice is delivered once.
    let leftovers = deps
        .store
        .pending_outbox(now - OUTBOX_GRACE, OUTBOX_PER_RUN)
        .await?;
    let relayed = relay(&deps.store, &deps.notifier, &leftovers).await;
    let due = deps.store.due(now, deps.per_shard).await?;
    let mut reads = due.reads;
    let mut report = SweepReport {
        due: due.references.len(),
        more_due: due.truncated,
        outbox_relayed: relayed.sent,
        outbox_failed: relayed.failed,
        ..SweepReport::default()
    };
    // The futures are built before they are streamed: a closure in the stream would
    // make the whole run's future lose `Send` (a higher-ranked lifetime), and the local
    // runner spawns it.
    let sweeps: Vec<_> = due
        .references
        .iter()
        .map(|reference| sweep_ticket(deps, reference, now))
        .collect();
    let outcomes: Vec<TicketOutcome> = stream::iter(sweeps)
        .buffer_unordered(deps.concurrency.max(1))
        .collect()
        .await;
    for o in outcomes {
        reads.add(&o.reads);
        report.alerts_recorded += o.alerts;
        report.tickets_changed += usize::from(o.alerts > 0);
        report.notifications_sent += o.sent;
        report.notifications_failed += o.send_failed;
        report.conflicts += usize::from(o.conflict);
        report.stale += usize::from(o.stale);
        report.failed += usize::from(o.failed);
    }
    report.items_read = reads.items();
    report.index_queries = reads.queries;
    report.index_items = reads.index_items;
    report.tickets_fetched = reads.tickets_fetched;
    report.read_units = reads.read_units;
    info!(
        due = report.due,
        tickets_changed = report.tickets_changed,
        alerts_recorded = report.alerts_recorded,
        notifications_sent = report.notifications_sent,
        notifications_failed = report.notifications_failed,
        outbox_relayed = report.outbox_relayed,
        outbox_failed = report.outbox_failed,
        conflicts = report.conflicts,
        stale = report.stale,
        failed = report.failed,
        more_due = report.more_due,
        items_read = report.items_read,
        "sweep finished"
    );
    Ok(report)
}

#[instrument(skip_all, fields(reference = %reference))]
async fn sweep_ticket<S, N>(
    deps: &SweeperDeps<S, N>,
    reference: &str,
    now: DateTime<Utc>,
) -> TicketOutcome
where
    S: DueTickets + TicketStore + Outbox + Sync,
    N: Notifier + Sync,
{
    let mut outcome = TicketOutcome::default();
    let ticket = match deps.store.current(reference).await {
        Ok((ticket, reads)) => {
            outcome.reads = reads;
            ticket
        }
        Err(e) => {
            error!(error = %e, "could not read a due ticket; the next run retries it");
            outcome.failed = true;
            return outcome;
        }
    };
    // Gone (retention), or nothing due any more: the index entry was a moment stale.
    let Some((ticket, (changed, alerts))) = ticket.and_then(|t| {
        watch::sweep(&t, now, deps.warning)
            .filter(|(_, alerts)| !alerts.is_empty())
            .map(|swept| (t, swept))
    }) else {
        outcome.stale = true;
        return outcome;
    };
    let events: Vec<AuditEvent> = alerts.iter().map(|(_, event)| event.clone()).collect();
    // The notifications are written with the alerts (the outbox), so a send that fails
    // now is not lost: the relay run at the start of every sweep sends it.
    let outbox: Vec<OutboxEntry> = alerts
        .iter()
        .map(|(alert, event)| {
            OutboxEntry::new(
                notification(&changed, *alert, event).message(),
                event.seq,
                event.at,
            )
        })
        .collect();
    let change = TicketChange {
        before: &ticket,
        after: &changed,
        events: &events,
        survey: None,
        now,
        outbox: &outbox,
    };
    match deps.store.record_change(&change).await {
        Ok(SaveOutcome::Saved) => {}
        // A survey answer is never part of a sweep; the arm only keeps the match whole.
        Ok(SaveOutcome::Conflict { .. } | SaveOutcome::AlreadyAnswered) => {
            info!("ticket changed while being swept; the next run sees its new state");
            outcome.conflict = true;
            return outcome;
        }
        Err(e) => {
            error!(error = %e, "could not record deadline alerts; the next run retries");
            outcome.failed = true;
            return outcome;
        }
    }
    outcome.alerts = alerts.len();
    let recorded: Vec<&str> = alerts.iter().map(|(a, _)| a.as_str()).collect();
    info!(alerts = ?recorded, priority = %changed.priority, "deadline alerts recorded");

    // Only now, with the alerts committed, does the team hear of them. An entry that
    // cannot be queued after a few quick retries stays in the outbox; this run counts it
    // as failed (the invocation fails, so the error alarm sees it) and the next run's
    // relay sends it.
    let relayed = relay(&deps.store, &deps.notifier, &outbox).await;
    outcome.sent = relayed.sent;
    outcome.send_failed = relayed.failed;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use redress_domain::assess::{assess, open_ticket};
    use redress_domain::complaint::{Complaint, ParseMode};
    use serde_json::json;

    fn ticket() -> (Ticket, AuditEvent) {
        let config = DomainConfig::bundled().unwrap();
        let at: DateTime<Utc> = "2026-11-20T02:00:00Z".parse().unwrap();
        let form = json!({
            "borrower": {"name": "Li Na", "phone": "13912345678"},
            "product": "personal_loan",
            "text": "I was charged a hidden service fee that the contract never mentioned.",
            "consent_to_contact": true
        });
        let complaint = Complaint::parse(&form, &config, ParseMode::Submission, at).unwrap();
        let assessment = assess(&config, &complaint, "RD-261120-7KQ2M9XA", at, &[]);
        let reference = Reference::parse("RD-261120-7KQ2M9XA").unwrap();
        open_ticket(&complaint, &reference, at, &assessment)
    }

    #[test]
    fn the_scheduled_event_eventbridge_sends_is_accepted() {
        // The "Scheduled Event" sample from the EventBridge documentation.
        let event: ScheduledEvent = serde_json::from_value(json!({
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2015-10-08T16:53:06Z",
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],
            "detail": {}
        }))
        .unwrap();
        assert_eq!(event.detail_type.as_deref(), Some("Scheduled Event"));
    }

    #[test]
    fn a_breach_notification_names_the_deadline_and_carries_no_personal_data() {
        let (ticket, mut event) = ticket();
        event.seq = 2;
        let n = notification(&ticket, DeadlineAlert::ResolveBreached, &event);
        assert_eq!(n.kind, NotificationKind::DeadlineBreached);
        assert_eq!(n.deadline, Deadline::Resolve);
        assert_eq!(n.due_at, ticket.deadlines.resolve_by);
        assert_eq!(n.regulatory_due_at, ticket.deadlines.regulatory_resolve_by);
        let body = serde_json::to_value(n.message()).unwrap();
        assert_eq!(
            body,
            serde_json::to_value(&n).unwrap(),
            "the message is the typed shape"
        );
        let parsed: DeadlineNotification = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(parsed, n);
        assert_eq!(body["kind"], "deadline_breached");
        assert_eq!(body["deadline"], "resolve");
        assert_eq!(body["reference"], "RD-261120-7KQ2M9XA");
        assert_eq!(body["event_seq"], 2);
        let text = body.to_string();
        for personal in ["Li Na", "13912345678", "hidden service fee"] {
            assert!(!text.contains(personal), "{text}");
        }
    }

    #[test]
    fn a_run_that_could_not_queue_a_notification_fails() {
        let ok = SweepReport {
            notifications_sent: 2,
            ..SweepReport::default()
        };
        assert_eq!(ok.failure(), None);
        let unqueued = SweepReport {
            notifications_failed: 1,
            outbox_failed: 2,
            ..SweepReport::default()
        };
        assert!(unqueued.failure().unwrap().contains("3 notifications"));
        let both = SweepReport {
            failed: 1,
            outbox_failed: 1,
            ..SweepReport::default()
        };
        assert!(both.failure().unwrap().contains("1 due tickets"));
    }

    #[test]
    fn a_warning_notification_is_about_the_acknowledgement_deadline() {
        let (ticket, event) = ticket();
        let n = notification(&ticket, DeadlineAlert::AcknowledgeSoon, &event);
        assert_eq!(
            serde_json::to_value(&n).unwrap()["kind"],
            "deadline_warning"
        );
        assert_eq!(n.deadline, Deadline::Acknowledge);
        assert_eq!(n.due_at, ticket.deadlines.acknowledge_by);
    }
}
