//! In-memory implementations of every storage and queue port of
//! [`redress_domain::ports`], so the handlers are tested in milliseconds without
//! DynamoDB Local or moto.
//!
//! They keep the contracts the DynamoDB and SQS adapters keep — one ticket per
//! reference, optimistic concurrency on the version, events never overwritten, one
//! survey answer per ticket, counters moved in the same "transaction" as the change,
//! the queue index sorted by next deadline — so a handler test that passes here means
//! the same thing it would against the real store. The adapters themselves are proven
//! against the local stack by the end-to-end tests in `tests/`.
//!
//! Failures can be injected ([`MemoryStore::fail_next`], [`MemoryQueues::fail_next`])
//! to test how handlers answer a throttled or broken dependency.

pub mod fuzz;
pub mod signin;
pub use signin::{MemorySignIn, MemoryThrottle};

use chrono::{DateTime, Duration, Utc};
use redress_domain::assess::{BorrowerIndexEntry, ComplaintMessage};
use redress_domain::borrower::BorrowerKey;
use redress_domain::config::DomainConfig;
use redress_domain::metrics::{self, Dimension, RowKey, ALL_VALUE};
use redress_domain::ports::{
    AcceptedLog, AccessLog, AccessRecord, BorrowerHistory, ComplaintLookup, ComplaintQueue,
    ComplaintState, CreateOutcome, MetricsReader, Notification, Notifier, Outbox, OutboxEntry,
    QueueFilter, QueuePage, ReadCost, SaveOutcome, StoreError, StoreFailure, Submission,
    SubmissionLog, SurveyLookup, SurveyMessage, SurveyQueue, SurveyRecord, TeamQueue, TicketChange,
    TicketStore, TicketWriter,
};
use redress_domain::repeat::PriorComplaint;
use redress_domain::report::{MetricRow, Period};
use redress_domain::ticket::{AuditEvent, Ticket};
use redress_domain::watch;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// Everything the store holds.
#[derive(Debug, Default)]
struct State {
    tickets: BTreeMap<String, Ticket>,
    events: BTreeMap<String, Vec<AuditEvent>>,
    submissions: HashMap<String, Submission>,
    /// Accepted complaints not yet ticketed: reference → (message, accepted at).
    accepted: BTreeMap<String, (ComplaintMessage, DateTime<Utc>)>,
    /// SHA-256 of the idempotency key → the submission bound to it.
    idempotency: HashMap<String, Submission>,
    borrower_index: Vec<(BorrowerKey, PriorComplaint)>,
    surveys: HashMap<String, SurveyRecord>,
    counters: BTreeMap<RowKey, BTreeMap<String, i64>>,
    /// Notifications written with their change and not yet relayed, by id.
    outbox: BTreeMap<String, OutboxEntry>,
    /// Failures to return from the next calls, oldest first.
    failures: VecDeque<StoreFailure>,
    /// Failures to return from the next calls of one operation, oldest first.
    failures_of: HashMap<&'static str, VecDeque<StoreFailure>>,
    /// Calls made, for tests that count reads or writes.
    calls: Vec<&'static str>,
    /// The access audit log, in the order written.
    access: Vec<AccessRecord>,
    /// A ticket another writer commits just before the next change to it.
    interleaved: Option<Ticket>,
}

/// An in-memory store implementing every storage port. Clones share one state.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    warning: Duration,
    reporting_tz: chrono_tz::Tz,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store (warning window 24 h, reporting in Asia/Shanghai, like
    /// `DynamoStore::new`).
    pub fn new() -> Self {
        Self {
            state: Arc::default(),
            warning: Duration::hours(24),
            reporting_tz: chrono_tz::Asia::Shanghai,
        }
    }

    /// Takes the warning window and reporting time zone from the configuration.
    pub fn with_config(mut self, config: &DomainConfig) -> Self {
        self.warning = config.sla.warning();
        self.reporting_tz = config.sla.reporting_time_zone();
        self
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock leaves consistent data behind:
        // every write below completes before it returns.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the next call to any port method fail with `cause` (queued: call again to
    /// fail several calls).
    pub fn fail_next(&self, cause: StoreFailure) {
        self.state().failures.push_back(cause);
    }

    /// Makes the next call of `operation` (its name in [`MemoryStore::calls`], e.g.
    /// `create ticket`) fail with `cause`, whatever other calls come first (queued).
    pub fn fail_next_call_to(&self, operation: &'static str, cause: StoreFailure) {
        self.state()
            .failures_of
            .entry(operation)
            .or_default()
            .push_back(cause);
    }

    /// Records the call and returns the injected failure, if any.
    fn enter(&self, operation: &'static str) -> Result<MutexGuard<'_, State>, StoreError> {
        let mut state = self.state();
        state.calls.push(operation);
        if let Some(cause) = state
            .failures_of
            .get_mut(operation)
            .and_then(VecDeque::pop_front)
        {
            return Err(StoreError::new(operation, cause));
        }
        match state.failures.pop_front() {
            Some(cause) => Err(StoreError::new(operation, cause)),
            None => Ok(state),
        }
    }

    /// The names of the port methods called so far, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.state().calls.clone()
    }

    /// The accepted complaints whose record intake has not cleared, by reference.
    pub fn accepted(&self) -> BTreeMap<String, ComplaintMessage> {
        self.state()
            .accepted
            .iter()
            .map(|(k, (m, _))| (k.clone(), m.clone()))
            .collect()
    }

    /// Stores a ticket and its history as they are (test set-up), replacing any.
    pub fn insert_ticket(&self, ticket: Ticket, events: Vec<AuditEvent>) {
        let mut state = self.state();
        let reference = ticket.reference.to_string();
        state.tickets.insert(reference.clone(), ticket);
        state.events.insert(reference, events);
    }

    /// Makes another writer win the race: just before the next change to this ticket is
    /// written, `ticket` is stored in its place (say, a transfer by someone else), so
    /// that change meets a moved version.
    pub fn interleave_change(&self, ticket: Ticket) {
        self.state().interleaved = Some(ticket);
    }

    /// A ticket and its history, as stored.
    pub fn stored_ticket(&self, reference: &str) -> Option<(Ticket, Vec<AuditEvent>)> {
        let state = self.state();
        let ticket = state.tickets.get(reference)?.clone();
        let events = state.events.get(reference).cloned().unwrap_or_default();
        Some((ticket, events))
    }

    /// Everything the store holds (not the calls made), as text that compares equal
    /// exactly when the contents are equal: tests check that a refused request changed
    /// nothing.
    pub fn fingerprint(&self) -> String {
        let state = self.state();
        let sorted = |items: Vec<String>| {
            let mut items = items;
            items.sort();
            items
        };
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            state.tickets,
            state.events,
            sorted(state.submissions.iter().map(|e| format!("{e:?}")).collect()),
            sorted(state.idempotency.iter().map(|e| format!("{e:?}")).collect()),
            state.borrower_index,
            sorted(state.surveys.iter().map(|e| format!("{e:?}")).collect()),
            state.counters,
            state.outbox,
            state.accepted,
            state.access,
        )
    }

    /// Every stored ticket.
    pub fn tickets(&self) -> Vec<Ticket> {
        self.state().tickets.values().cloned().collect()
    }

    /// The submission recorded under a reference.
    pub fn submission(&self, reference: &str) -> Option<Submission> {
        self.state().submissions.get(reference).cloned()
    }

    /// The survey answer stored for a ticket.
    pub fn survey(&self, reference: &str) -> Option<SurveyRecord> {
        self.state().surveys.get(reference).cloned()
    }

    /// The borrower-index entries written so far.
    pub fn borrower_index(&self) -> Vec<(BorrowerKey, PriorComplaint)> {
        self.state().borrower_index.clone()
    }

    /// The sum of one counter over every day, for a dimension value.
    pub fn counter_total(&self, dimension: Dimension, value: &str, counter: &str) -> i64 {
        self.state()
            .counters
            .iter()
            .filter(|((_, d, v), _)| *d == dimension && v == value)
            .filter_map(|(_, counters)| counters.get(counter))
            .sum()
    }

    /// References whose next warning or breach falls due at or before `until`, earliest
    /// first, at most `limit` (what the DynamoDB due index answers).
    pub fn due_references(&self, until: DateTime<Utc>, limit: usize) -> (Vec<String>, bool) {
        let state = self.state();
        let mut due: Vec<(DateTime<Utc>, &String)> = state
            .tickets
            .iter()
            .filter_map(|(r, t)| watch::next_check_at(t, self.warning).map(|at| (at, r)))
            .filter(|(at, _)| *at <= until)
            .collect();
        due.sort();
        let more = due.len() > limit;
        (
            due.into_iter()
                .take(limit)
                .map(|(_, r)| r.clone())
                .collect(),
            more,
        )
    }

    fn count(&self, state: &mut State, rows: BTreeMap<RowKey, BTreeMap<String, i64>>) {
        for (key, counters) in rows {
            let row = state.counters.entry(key).or_default();
            for (counter, amount) in counters {
                *row.entry(counter).or_default() += amount;
            }
        }
    }
}

/// The deadline a team works towards next (the queue index's sort key).
fn next_deadline(ticket: &Ticket) -> DateTime<Utc> {
    if ticket.acknowledged_at.is_none() {
        ticket.deadlines.acknowledge_by
    } else {
        ticket.deadlines.resolve_by
    }
}

fn idempotency_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl TicketWriter for MemoryStore {
    async fn create_ticket(
        &self,
        ticket: &Ticket,
        first_event: &AuditEvent,
        index: &[BorrowerIndexEntry],
        outbox: &[OutboxEntry],
    ) -> Result<CreateOutcome, StoreError> {
        let mut state = self.enter("create ticket")?;
        let reference = ticket.reference.to_string();
        if state.tickets.contains_key(&reference) {
            return Ok(CreateOutcome::AlreadyExists);
        }
        state.tickets.insert(reference.clone(), ticket.clone());
        state.events.insert(reference, vec![first_event.clone()]);
        for entry in outbox {
            state.outbox.insert(entry.id.clone(), entry.clone());
        }
        state.borrower_index.extend(
            index
                .iter()
                .map(|entry| (entry.key.clone(), entry.prior.clone())),
        );
        let rows = metrics::merge(metrics::deltas(
            None,
            ticket,
            None,
            ticket.received_at,
            self.reporting_tz,
        ));
        self.count(&mut state, rows);
        Ok(CreateOutcome::Created)
    }
}

impl BorrowerHistory for MemoryStore {
    async fn earlier_complaints(
        &self,
        keys: &[BorrowerKey],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<PriorComplaint>, StoreError> {
        let state = self.enter("query borrower index")?;
        // One entry per key it was indexed under, as the DynamoDB adapter returns them.
        Ok(keys
            .iter()
            .flat_map(|key| {
                state
                    .borrower_index
                    .iter()
                    .filter(move |(k, p)| {
                        k == key && p.received_at >= since && p.received_at <= until
                    })
                    .map(|(_, p)| p.clone())
            })
            .collect())
    }
}

impl SubmissionLog for MemoryStore {
    async fn record_submission(
        &self,
        submission: &Submission,
        idempotency_key: Option<&str>,
    ) -> Result<Option<Submission>, StoreError> {
        let mut state = self.enter("record submission")?;
        if let Some(key) = idempotency_key {
            let hash = idempotency_hash(key);
            if let Some(bound) = state.idempotency.get(&hash) {
                let mut bound = bound.clone();
                // The submission record knows whether the message reached the queue.
                if let Some(sub) = state.submissions.get(&bound.reference) {
                    bound.enqueued = sub.enqueued;
                }
                return Ok(Some(bound));
            }
            state.idempotency.insert(hash, submission.clone());
        }
        if state.submissions.contains_key(&submission.reference) {
            return Err(StoreError::new(
                "record submission",
                StoreFailure::Rejected {
                    code: "ConditionalCheckFailedException".into(),
                    message: "the submission exists".into(),
                },
            ));
        }
        state
            .submissions
            .insert(submission.reference.clone(), submission.clone());
        Ok(None)
    }

    async fn mark_enqueued(&self, reference: &str) -> Result<(), StoreError> {
        let mut state = self.enter("mark enqueued")?;
        match state.submissions.get_mut(reference) {
            Some(sub) => {
                sub.enqueued = true;
                Ok(())
            }
            None => Err(StoreError::new(
                "mark enqueued",
                StoreFailure::Rejected {
                    code: "ConditionalCheckFailedException".into(),
                    message: "no such submission".into(),
                },
            )),
        }
    }

    async fn record_accepted(
        &self,
        message: &ComplaintMessage,
        accepted_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.enter("record accepted")?;
        // The first record of a reference stands, as the DynamoDB condition keeps it.
        state
            .accepted
            .entry(message.reference.clone())
            .or_insert_with(|| (message.clone(), accepted_at));
        Ok(())
    }
}

impl AcceptedLog for MemoryStore {
    async fn clear_accepted(&self, reference: &str) -> Result<(), StoreError> {
        self.enter("clear accepted")?.accepted.remove(reference);
        Ok(())
    }
}

impl ComplaintLookup for MemoryStore {
    async fn complaint_state(&self, reference: &str) -> Result<Option<ComplaintState>, StoreError> {
        let state = self.enter("read complaint")?;
        if let Some(ticket) = state.tickets.get(reference) {
            return Ok(Some(ComplaintState::Ticketed(Box::new(ticket.clone()))));
        }
        Ok(state
            .submissions
            .get(reference)
            .map(|s| ComplaintState::Submitted {
                received_at: s.received_at,
            }))
    }
}

impl TicketStore for MemoryStore {
    async fn ticket(
        &self,
        reference: &str,
    ) -> Result<Option<(Ticket, Vec<AuditEvent>)>, StoreError> {
        let state = self.enter("read ticket")?;
        Ok(state.tickets.get(reference).map(|t| {
            let events = state.events.get(reference).cloned().unwrap_or_default();
            (t.clone(), events)
        }))
    }

    async fn record_change(&self, change: &TicketChange<'_>) -> Result<SaveOutcome, StoreError> {
        let mut state = self.enter("record change")?;
        let reference = change.after.reference.to_string();
        if state
            .interleaved
            .as_ref()
            .is_some_and(|t| t.reference.as_str() == reference)
        {
            if let Some(t) = state.interleaved.take() {
                state.tickets.insert(reference.clone(), t);
            }
        }
        let current = state.tickets.get(&reference).cloned();
        // The same conditions as the DynamoDB transaction, checked before anything is
        // written: the survey answer first (its own refusal), then the version, then
        // the events.
        if change.survey.is_some() && state.surveys.contains_key(&reference) {
            return Ok(SaveOutcome::AlreadyAnswered);
        }
        let stored_events = state.events.get(&reference).cloned().unwrap_or_default();
        let version_moved = current
            .as_ref()
            .is_none_or(|t| t.version != change.before.version);
        let event_taken = change
            .events
            .iter()
            .any(|e| stored_events.iter().any(|s| s.seq == e.seq));
        if version_moved || event_taken {
            return Ok(SaveOutcome::Conflict {
                current: current.map(Box::new),
            });
        }
        state
            .tickets
            .insert(reference.clone(), change.after.clone());
        state
            .events
            .entry(reference.clone())
            .or_default()
            .extend(change.events.iter().cloned());
        if let Some(record) = change.survey {
            state.surveys.insert(reference, record.clone());
        }
        for entry in change.outbox {
            state.outbox.insert(entry.id.clone(), entry.clone());
        }
        let rows = metrics::merge(metrics::deltas(
            Some(change.before),
            change.after,
            change.survey.map(|r| &r.answer),
            change.now,
            self.reporting_tz,
        ));
        self.count(&mut state, rows);
        Ok(SaveOutcome::Saved)
    }
}

impl Outbox for MemoryStore {
    async fn pending_outbox(
        &self,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let state = self.enter("read outbox")?;
        let mut pending: Vec<OutboxEntry> = state
            .outbox
            .values()
            .filter(|e| e.at <= until)
            .cloned()
            .collect();
        pending.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        pending.truncate(limit);
        Ok(pending)
    }

    async fn remove_outbox(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.enter("remove outbox entry")?.outbox.remove(&entry.id);
        Ok(())
    }
}

impl MemoryStore {
    /// The outbox entries not yet relayed.
    pub fn outbox(&self) -> Vec<OutboxEntry> {
        self.state().outbox.values().cloned().collect()
    }
}

/// A page cursor: the reference of the last ticket on the page.
const CURSOR_PREFIX: &str = "mem.";

impl TeamQueue for MemoryStore {
    async fn team_queue(
        &self,
        team: &str,
        filter: &QueueFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<QueuePage, StoreError> {
        let state = self.enter("query team queue")?;
        let after = match cursor {
            None => None,
            Some(c) => Some(
                c.strip_prefix(CURSOR_PREFIX)
                    .filter(|r| state.tickets.contains_key(*r))
                    .ok_or_else(|| StoreError::new("decode cursor", StoreFailure::InvalidCursor))?
                    .to_string(),
            ),
        };
        let mut open: Vec<&Ticket> = state
            .tickets
            .values()
            .filter(|t| t.status.is_open() && t.team == team)
            .collect();
        open.sort_by(|a, b| {
            (next_deadline(a), a.reference.as_str()).cmp(&(next_deadline(b), b.reference.as_str()))
        });
        let start = match &after {
            Some(r) => open
                .iter()
                .position(|t| t.reference == r.as_str())
                .map_or(open.len(), |i| i + 1),
            None => 0,
        };
        let matching: Vec<&Ticket> = open[start..]
            .iter()
            .copied()
            .filter(|t| filter.status.is_none_or(|s| t.status == s))
            .filter(|t| filter.priority.is_none_or(|p| t.priority == p))
            .filter(|t| {
                filter
                    .category
                    .as_ref()
                    .is_none_or(|c| t.category == c.as_str())
            })
            .filter(|t| filter.due_before.is_none_or(|d| next_deadline(t) < d))
            .collect();
        let limit = limit as usize;
        let page: Vec<&Ticket> = matching.iter().copied().take(limit).collect();
        let next_cursor = (matching.len() > limit)
            .then(|| {
                page.last()
                    .map(|t| format!("{CURSOR_PREFIX}{}", t.reference))
            })
            .flatten();
        let tickets = page
            .into_iter()
            .map(queue_entry)
            .collect::<Result<_, _>>()?;
        Ok(QueuePage {
            tickets,
            next_cursor,
        })
    }
}

/// The ticket fields the queue index projects (`TeamQueue` in infra/template.yaml):
/// contact details and complaint text stay out of it.
const QUEUE_PROJECTION: &[&str] = &[
    "reference",
    "status",
    "received_at",
    "channel",
    "product",
    "language",
    "category",
    "signals",
    "team",
    "priority",
    "deadlines",
    "repeat",
    "version",
    "paused_since",
    "deadline_marks",
    "extension",
];

/// A ticket as the queue index holds it.
fn queue_entry(ticket: &Ticket) -> Result<serde_json::Value, StoreError> {
    let mut value =
        serde_json::to_value(ticket).map_err(|e| StoreError::corrupt("map queue entry", e))?;
    if let Some(fields) = value.as_object_mut() {
        // DynamoDB stores no nulls: an absent optional field is not in the item.
        fields.retain(|k, v| QUEUE_PROJECTION.contains(&k.as_str()) && !v.is_null());
    }
    Ok(value)
}

impl AccessLog for MemoryStore {
    async fn record_access(&self, record: &AccessRecord) -> Result<(), StoreError> {
        let mut state = self.enter("record access")?;
        state.access.push(record.clone());
        Ok(())
    }

    async fn access_records(&self, reference: &str) -> Result<Vec<AccessRecord>, StoreError> {
        let state = self.enter("read access records")?;
        Ok(state
            .access
            .iter()
            .filter(|r| r.reference == reference)
            .cloned()
            .collect())
    }
}

impl SurveyLookup for MemoryStore {
    async fn survey_answered(&self, reference: &str) -> Result<bool, StoreError> {
        let state = self.enter("read survey")?;
        Ok(state.surveys.contains_key(reference))
    }
}

impl MetricsReader for MemoryStore {
    async fn metric_rows(&self, period: &Period) -> Result<(Vec<MetricRow>, ReadCost), StoreError> {
        let state = self.enter("read metrics")?;
        let rows: Vec<MetricRow> = state
            .counters
            .iter()
            .filter(|((day, _, _), _)| *day >= period.from && *day <= period.to)
            .map(|((day, dimension, value), counters)| MetricRow {
                day: *day,
                dimension: *dimension,
                value: value.clone(),
                counters: counters.clone(),
            })
            .collect();
        let cost = ReadCost {
            queries: 1,
            items: rows.len() as u64,
        };
        Ok((rows, cost))
    }

    async fn overdue_now(
        &self,
        teams: &[String],
        by: Dimension,
        now: DateTime<Utc>,
    ) -> Result<(BTreeMap<String, i64>, ReadCost), StoreError> {
        let state = self.enter("read overdue tickets")?;
        let mut counts = BTreeMap::from([(ALL_VALUE.to_string(), 0)]);
        let mut items = 0;
        for t in state.tickets.values() {
            let overdue = t.status.is_open()
                && teams.iter().any(|team| t.team == team.as_str())
                && next_deadline(t) < now;
            if !overdue {
                continue;
            }
            items += 1;
            *counts.entry(ALL_VALUE.to_string()).or_default() += 1;
            let value = match by {
                Dimension::Team => Some(t.team.to_string()),
                Dimension::Category => Some(t.category.to_string()),
                Dimension::Channel => Some(t.channel.as_str().to_string()),
                Dimension::Priority => Some(t.priority.as_str().to_string()),
                Dimension::All | Dimension::Signal => None,
            };
            if let Some(v) = value {
                *counts.entry(v).or_default() += 1;
            }
        }
        let cost = ReadCost {
            queries: teams.len() as u32,
            items,
        };
        Ok((counts, cost))
    }
}

/// What was sent to the in-memory queues.
#[derive(Debug, Default)]
struct Sent {
    complaints: Vec<ComplaintMessage>,
    surveys: Vec<SurveyMessage>,
    notifications: Vec<Notification>,
    failures: VecDeque<StoreFailure>,
}

/// In-memory queues implementing every queue port (complaints, surveys,
/// notifications). Clones share what was sent.
#[derive(Debug, Clone, Default)]
pub struct MemoryQueues {
    sent: Arc<Mutex<Sent>>,
}

impl MemoryQueues {
    /// Empty queues.
    pub fn new() -> Self {
        Self::default()
    }

    fn sent(&self) -> MutexGuard<'_, Sent> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the next send (to any queue) fail with `cause`.
    pub fn fail_next(&self, cause: StoreFailure) {
        self.sent().failures.push_back(cause);
    }

    fn enter(&self, operation: &'static str) -> Result<MutexGuard<'_, Sent>, StoreError> {
        let mut sent = self.sent();
        match sent.failures.pop_front() {
            Some(cause) => Err(StoreError::new(operation, cause)),
            None => Ok(sent),
        }
    }

    /// How many messages were sent to each queue (complaints, surveys, notifications).
    pub fn sent_counts(&self) -> (usize, usize, usize) {
        let sent = self.sent();
        (
            sent.complaints.len(),
            sent.surveys.len(),
            sent.notifications.len(),
        )
    }

    /// The complaint messages sent, oldest first.
    pub fn complaints(&self) -> Vec<ComplaintMessage> {
        self.sent().complaints.clone()
    }

    /// The survey messages sent, oldest first.
    pub fn surveys(&self) -> Vec<SurveyMessage> {
        self.sent().surveys.clone()
    }

    /// The notifications sent, oldest first.
    pub fn notifications(&self) -> Vec<Notification> {
        self.sent().notifications.clone()
    }

    /// Takes the complaint messages sent so far (to hand them to intake).
    pub fn take_complaints(&self) -> Vec<ComplaintMessage> {
        std::mem::take(&mut self.sent().complaints)
    }

    /// Takes the survey messages sent so far (to hand them to the surveys function).
    pub fn take_surveys(&self) -> Vec<SurveyMessage> {
        std::mem::take(&mut self.sent().surveys)
    }
}

impl ComplaintQueue for MemoryQueues {
    async fn enqueue(&self, message: &ComplaintMessage) -> Result<(), StoreError> {
        self.enter("send complaint message")?
            .complaints
            .push(message.clone());
        Ok(())
    }
}

impl SurveyQueue for MemoryQueues {
    async fn enqueue_survey(&self, message: &SurveyMessage) -> Result<(), StoreError> {
        self.enter("send survey message")?
            .surveys
            .push(message.clone());
        Ok(())
    }
}

impl Notifier for MemoryQueues {
    async fn notify(&self, notification: &Notification) -> Result<(), StoreError> {
        self.enter("send notification")?
            .notifications
            .push(notification.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redress_domain::assess::{assess, open_ticket};
    use redress_domain::complaint::{Complaint, ParseMode};
    use redress_domain::reference::Reference;
    use redress_domain::ticket::TicketStatus;
    use serde_json::json;

    /// A routed ticket received `hours` after a fixed time (later = later deadline).
    fn ticket(n: u8, hours: i64) -> (Ticket, AuditEvent) {
        let config = DomainConfig::bundled().unwrap();
        let at = "2026-11-02T02:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::hours(hours);
        let form = json!({
            "borrower": {"name": "Li Na", "phone": "13912345678"},
            "product": "personal_loan",
            "text": "I was charged a hidden service fee that the contract never mentioned.",
            "consent_to_contact": true
        });
        let complaint = Complaint::parse(&form, &config, ParseMode::Submission, at).unwrap();
        let reference = Reference::generate(at, [n; 5]);
        let assessment = assess(&config, &complaint, reference.as_str(), at, &[]);
        open_ticket(&complaint, &reference, at, &assessment)
    }

    #[tokio::test]
    async fn a_ticket_is_created_once() {
        let store = MemoryStore::new();
        let (t, e) = ticket(1, 0);
        assert_eq!(
            store.create_ticket(&t, &e, &[], &[]).await.unwrap(),
            CreateOutcome::Created
        );
        assert_eq!(
            store.create_ticket(&t, &e, &[], &[]).await.unwrap(),
            CreateOutcome::AlreadyExists
        );
        assert_eq!(
            store.counter_total(Dimension::All, ALL_VALUE, metrics::RECEIVED),
            1
        );
    }

    #[tokio::test]
    async fn a_change_from_a_stale_version_is_a_conflict_and_writes_nothing() {
        let store = MemoryStore::new();
        let (t, e) = ticket(1, 0);
        store.create_ticket(&t, &e, &[], &[]).await.unwrap();
        let mut moved = t.clone();
        moved.version = 2;
        moved.status = TicketStatus::Acknowledged;
        let mut event = e.clone();
        event.seq = 2;
        let change = TicketChange {
            before: &t,
            after: &moved,
            events: std::slice::from_ref(&event),
            survey: None,
            now: t.received_at,
            outbox: &[],
        };
        assert_eq!(
            store.record_change(&change).await.unwrap(),
            SaveOutcome::Saved
        );
        // The same change again: the stored version has moved on.
        let again = store.record_change(&change).await.unwrap();
        assert!(matches!(again, SaveOutcome::Conflict { current: Some(c) } if c.version == 2));
        assert_eq!(
            store.stored_ticket(t.reference.as_str()).unwrap().1.len(),
            2
        );
    }

    #[tokio::test]
    async fn the_queue_pages_by_nearest_deadline_and_refuses_a_foreign_cursor() {
        let store = MemoryStore::new();
        for (n, hours) in [(1, 30), (2, 10), (3, 20)] {
            let (t, e) = ticket(n, hours);
            store.create_ticket(&t, &e, &[], &[]).await.unwrap();
        }
        let team = store.tickets()[0].team.to_string();
        let filter = QueueFilter::default();
        let first = store.team_queue(&team, &filter, None, 2).await.unwrap();
        let received = |page: &QueuePage| -> Vec<String> {
            page.tickets
                .iter()
                .map(|t| t["received_at"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(first.tickets.len(), 2);
        let firsts = received(&first);
        assert!(firsts[0] < firsts[1], "nearest deadline first: {firsts:?}");
        assert!(first
            .tickets
            .iter()
            .all(|t| t.get("contact").is_none() && t.get("text").is_none()));
        let cursor = first.next_cursor.expect("a second page");
        let second = store
            .team_queue(&team, &filter, Some(&cursor), 2)
            .await
            .unwrap();
        assert_eq!(second.tickets.len(), 1);
        assert!(second.next_cursor.is_none());
        assert!(received(&second)[0] > firsts[1]);

        let err = store
            .team_queue(&team, &filter, Some("garbage"), 2)
            .await
            .unwrap_err();
        assert!(matches!(err.cause, StoreFailure::InvalidCursor));
    }

    #[tokio::test]
    async fn an_injected_failure_fails_one_call() {
        let store = MemoryStore::new();
        store.fail_next(StoreFailure::Contention);
        assert!(store
            .survey_answered("RD-261102-AAAAAAAA")
            .await
            .unwrap_err()
            .is_transient());
        assert!(!store.survey_answered("RD-261102-AAAAAAAA").await.unwrap());
        let queues = MemoryQueues::new();
        queues.fail_next(StoreFailure::InvalidRequest("too big".into()));
        let n = Notification {
            kind: redress_domain::ports::NotificationKind::DeadlineWarning,
            reference: "RD-261102-AAAAAAAA".into(),
            fields: Default::default(),
        };
        assert!(!queues.notify(&n).await.unwrap_err().is_transient());
        queues.notify(&n).await.unwrap();
        assert_eq!(queues.notifications(), [n]);
    }
}
