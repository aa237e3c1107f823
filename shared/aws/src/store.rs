//! The DynamoDB adapter: one table holds tickets, their history, submissions, idempotency
//! keys and the borrower index (key design in [`crate::keys`]).

use crate::attr::{from_item, get_s, n, s, to_item, Item};
use crate::env::{self, EnvError, VarSource};
use crate::errors::store_error;
use crate::keys::{self, PK, SK};
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, Utc};
use redress_domain::assess::BorrowerIndexEntry;
use redress_domain::borrower::BorrowerKey;
use redress_domain::config::DomainConfig;
use redress_domain::metrics;
use redress_domain::ports::{
    BorrowerHistory, ComplaintLookup, ComplaintState, CreateOutcome, OutboxEntry, QueueFilter,
    QueuePage, SaveOutcome, StoreError, StoreFailure, Submission, SubmissionLog, TeamQueue,
    TicketChange, TicketStore, TicketWriter,
};
use redress_domain::repeat::PriorComplaint;
use redress_domain::ticket::{AuditEvent, Ticket};
use redress_domain::watch;
use sha2::{Digest, Sha256};

/// How long submission and idempotency records live: long enough for any client retry.
const SUBMISSION_TTL_DAYS: i64 = 30;
/// Default record retention (7 years, a common floor for complaint records).
pub const DEFAULT_RETENTION_DAYS: i64 = 2555;
/// The longest retention `RETENTION_DAYS` may ask for (a hundred years).
pub const MAX_RETENTION_DAYS: i64 = 36_500;

/// DynamoDB implementation of the storage ports.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    retention: Duration,
    warning: Duration,
    reporting_tz: chrono_tz::Tz,
    /// How long an accepted complaint's record is kept (`crate::accepted`).
    pub(crate) accepted_ttl: Duration,
}

impl DynamoStore {
    /// A store on `table`, keeping records for [`DEFAULT_RETENTION_DAYS`].
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            retention: Duration::days(DEFAULT_RETENTION_DAYS),
            warning: Duration::hours(24),
            reporting_tz: chrono_tz::Asia::Shanghai,
            accepted_ttl: Duration::days(crate::accepted::DEFAULT_ACCEPTED_DAYS),
        }
    }

    /// The store every function uses: the table `TICKETS_TABLE`, records kept for
    /// `RETENTION_DAYS` (the stack's `RetentionDays` parameter), and the warning window
    /// and reporting time zone of the domain configuration.
    pub fn from_env(
        vars: &dyn VarSource,
        aws: &aws_config::SdkConfig,
        config: &DomainConfig,
    ) -> Result<Self, EnvError> {
        let table = env::required(vars, "TICKETS_TABLE")?;
        let retention_days = env::required_number(vars, "RETENTION_DAYS")?;
        if !(1..=MAX_RETENTION_DAYS).contains(&retention_days) {
            return Err(EnvError {
                name: "RETENTION_DAYS",
                problem: "must be a number of days between 1 and 36500",
            });
        }
        Ok(Self::new(Client::new(aws), table)
            .with_retention_days(retention_days)
            .with_config(config))
    }

    /// Takes the sweeper's warning window and the reporting time zone from the domain
    /// configuration (they decide the due index and the days counters are filed under).
    pub fn with_config(mut self, config: &DomainConfig) -> Self {
        self.warning = config.sla.warning();
        self.reporting_tz = config.sla.reporting_time_zone();
        self
    }

    /// Sets how long before a deadline the sweeper warns (it decides when a ticket
    /// enters the due index).
    pub fn with_warning(mut self, warning: Duration) -> Self {
        self.warning = warning;
        self
    }

    /// Sets how long tickets, events and index entries are kept.
    pub fn with_retention_days(mut self, days: i64) -> Self {
        self.retention = Duration::days(days);
        self
    }

    /// How long records are kept (after closure, for a ticket and its history).
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The SDK client (for tests and tools).
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(|e| StoreError::invalid_request("build put", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Reads a ticket and its whole history (consistent).
    pub async fn ticket_with_history(
        &self,
        reference: &str,
    ) -> Result<Option<(Ticket, Vec<AuditEvent>)>, StoreError> {
        let items = self
            .query_partition(&keys::ticket_pk(reference), "query")
            .await?;
        let mut ticket = None;
        let mut events = Vec::new();
        for item in &items {
            match get_s(item, SK) {
                Some(keys::TICKET_SK) => ticket = Some(map(from_item::<Ticket>(item))?),
                Some(sk) if sk.starts_with("EVENT#") => {
                    events.push(map(from_item::<AuditEvent>(item))?)
                }
                _ => {}
            }
        }
        Ok(ticket.map(|t| (t, events)))
    }

    /// Writes `item` unless an item with its key is already there, which counts as done:
    /// for records written once and never changed, whose retry may find them written.
    /// `operation` names a failure.
    pub(crate) async fn put_once(
        &self,
        item: Item,
        operation: &'static str,
    ) -> Result<(), StoreError> {
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(store_error(operation, e)),
        }
    }

    /// Every item of one partition, page by page (consistent reads); `operation` names a
    /// failure.
    pub(crate) async fn query_partition(
        &self,
        pk: &str,
        operation: &'static str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", s(pk))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error(operation, e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    fn expiry(&self, from: DateTime<Utc>) -> AttributeValue {
        n((from + self.retention).timestamp())
    }

    /// The TTL of a ticket and its history: retention after closure, none while it is
    /// open or under legal hold (a Null value: the attribute is left out).
    fn ticket_expiry(&self, ticket: &Ticket) -> AttributeValue {
        match ticket.expires_at(self.retention) {
            Some(at) => n(at.timestamp()),
            None => AttributeValue::Null(true),
        }
    }

    /// Gives every record of a ticket's history (events, survey answer) the ticket's
    /// TTL, after a change that moved it (closed, reopened, legal hold set or lifted).
    /// Each batch also checks that the ticket is still at `ticket.version`, so a late
    /// pass never undoes a newer change's.
    pub async fn sync_history_expiry(&self, ticket: &Ticket) -> Result<(), StoreError> {
        let reference = ticket.reference.as_str();
        let expiry = self.ticket_expiry(ticket);
        let keys_: Vec<String> = self
            .query_partition(&keys::ticket_pk(reference), "query")
            .await?
            .iter()
            .filter_map(|item| get_s(item, SK))
            .filter(|sk| sk.starts_with("EVENT#") || *sk == keys::SURVEY_SK)
            .map(str::to_string)
            .collect();
        // 99 items at most per transaction: the ticket's check and 98 updates.
        for chunk in keys_.chunks(98) {
            let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
                .table_name(&self.table)
                .key(PK, s(keys::ticket_pk(reference)))
                .key(SK, s(keys::TICKET_SK))
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", n(ticket.version))
                .build()
                .map_err(|e| StoreError::invalid_request("build check", e))?;
            let mut writes = vec![TransactWriteItem::builder().condition_check(check).build()];
            for sk in chunk {
                let mut update = aws_sdk_dynamodb::types::Update::builder()
                    .table_name(&self.table)
                    .key(PK, s(keys::ticket_pk(reference)))
                    .key(SK, s(sk))
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_names("#exp", keys::EXPIRES_AT);
                update = match &expiry {
                    AttributeValue::Null(_) => update.update_expression("REMOVE #exp"),
                    at => update
                        .update_expression("SET #exp = :exp")
                        .expression_attribute_values(":exp", at.clone()),
                };
                let update = update
                    .build()
                    .map_err(|e| StoreError::invalid_request("build update", e))?;
                writes.push(TransactWriteItem::builder().update(update).build());
            }
            self.client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await
                .map_err(|e| store_error("set history expiry", e))?;
        }
        Ok(())
    }
}

fn map<T>(r: Result<T, crate::attr::MappingError>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::corrupt("map stored item", e))
}

/// The ticket as stored: its fields plus keys, the index keys that apply to it, and the
/// retention TTL.
///
/// - `TeamQueue` keys while it is open, sorted by its next deadline (acknowledgement
///   until acknowledged, then resolution);
/// - `DueIndex` keys while the sweeper still has a warning or breach to record, sorted
///   by when that falls due.
pub fn ticket_item(
    ticket: &Ticket,
    expires_at: AttributeValue,
    warning: Duration,
) -> Result<Item, StoreError> {
    let mut item = map(to_item(ticket))?;
    let reference = ticket.reference.as_str();
    item.insert(PK.into(), s(keys::ticket_pk(reference)));
    item.insert(SK.into(), s(keys::TICKET_SK));
    item.insert("entity".into(), s("ticket"));
    if ticket.status.is_open() {
        item.insert(
            keys::TEAM_QUEUE_PK.into(),
            s(keys::team_queue_pk(ticket.team.as_str())),
        );
        item.insert(
            keys::TEAM_QUEUE_SK.into(),
            s(keys::team_queue_sk(next_deadline(ticket), reference)),
        );
    }
    if let Some(due) = watch::next_check_at(ticket, warning) {
        item.insert(
            keys::DUE_PK.into(),
            s(keys::due_pk(keys::due_shard(reference))),
        );
        item.insert(keys::DUE_SK.into(), s(keys::due_sk(due, reference)));
    }
    // Null: no expiry (an open ticket, or one under legal hold).
    if !matches!(expires_at, AttributeValue::Null(_)) {
        item.insert(keys::EXPIRES_AT.into(), expires_at);
    }
    Ok(item)
}

/// The deadline a team works towards next.
pub fn next_deadline(ticket: &Ticket) -> DateTime<Utc> {
    // The lifecycle's rule, so the queue's order and the pages' labels agree.
    redress_domain::lifecycle::next_deadline(ticket.status, &ticket.deadlines).1
}

fn event_item(event: &AuditEvent, expires: AttributeValue) -> Result<Item, StoreError> {
    let mut item = map(to_item(event))?;
    item.insert(PK.into(), s(keys::ticket_pk(event.reference.as_str())));
    item.insert(SK.into(), s(keys::event_sk(event.seq)));
    item.insert("entity".into(), s("event"));
    if !matches!(expires, AttributeValue::Null(_)) {
        item.insert(keys::EXPIRES_AT.into(), expires);
    }
    Ok(item)
}

fn is_condition_failure(reason: &CancellationReason) -> bool {
    reason.code() == Some("ConditionalCheckFailed")
}

/// Sorts a cancelled transaction: did the first item's condition fail, and is there a
/// cause worth retrying (contention or throttling)?
fn cancellation(reasons: &[CancellationReason]) -> (bool, Option<StoreFailure>) {
    let first_conflict = reasons.first().is_some_and(is_condition_failure);
    let codes = || reasons.iter().filter_map(CancellationReason::code);
    let transient = if codes().any(|c| c == "TransactionConflict") {
        Some(StoreFailure::Contention)
    } else {
        codes()
            .find(|c| matches!(*c, "ThrottlingError" | "ProvisionedThroughputExceeded"))
            .map(|code| StoreFailure::Throttled { code: code.into() })
    };
    (first_conflict, transient)
}

impl TicketWriter for DynamoStore {
    async fn create_ticket(
        &self,
        ticket: &Ticket,
        first_event: &AuditEvent,
        index: &[BorrowerIndexEntry],
        outbox: &[OutboxEntry],
    ) -> Result<CreateOutcome, StoreError> {
        // The ticket and its history expire only once closed; the borrower index (keyed
        // hashes, for the repeat window) from receipt.
        let expires = self.ticket_expiry(ticket);
        let index_expires = self.expiry(ticket.received_at);
        let mut writes = vec![self.put(
            ticket_item(ticket, expires.clone(), self.warning)?,
            Some("attribute_not_exists(pk)"),
        )?];
        // Events are never overwritten: the condition makes a rewrite fail.
        writes.push(self.put(
            event_item(first_event, expires.clone())?,
            Some("attribute_not_exists(pk)"),
        )?);

        let rows = metrics::merge(metrics::deltas(
            None,
            ticket,
            None,
            ticket.received_at,
            self.reporting_tz,
        ));
        writes.extend(crate::metrics::counter_updates(
            &self.table,
            ticket.reference.as_str(),
            &rows,
        )?);
        for entry in index {
            let mut item = map(to_item(&entry.prior))?;
            item.insert(PK.into(), s(keys::borrower_pk(entry.key.as_str())));
            item.insert(
                SK.into(),
                s(keys::borrower_sk(
                    entry.prior.received_at,
                    &entry.prior.reference,
                )),
            );
            item.insert("entity".into(), s("borrower_index"));
            item.insert(keys::EXPIRES_AT.into(), index_expires.clone());
            writes.push(self.put(item, None)?);
        }
        writes.extend(crate::outbox::outbox_writes(&self.table, outbox)?);

        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            // No ClientRequestToken: a redelivery may compute a different repeat finding,
            // which DynamoDB would refuse as a parameter mismatch. The condition on the
            // ticket is what makes a second write impossible.
            .send()
            .await;
        match result {
            Ok(_) => Ok(CreateOutcome::Created),
            Err(err) => {
                if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(tc)) =
                    err.as_service_error()
                {
                    let (exists, transient) = cancellation(tc.cancellation_reasons());
                    if exists {
                        return Ok(CreateOutcome::AlreadyExists);
                    }
                    if let Some(cause) = transient {
                        return Err(StoreError::new("create ticket", cause));
                    }
                }
                Err(store_error("create ticket", err))
            }
        }
    }
}

impl BorrowerHistory for DynamoStore {
    async fn earlier_complaints(
        &self,
        keys_: &[BorrowerKey],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<PriorComplaint>, StoreError> {
        let mut found = Vec::new();
        for key in keys_ {
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                    .expression_attribute_names("#pk", PK)
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":pk", s(keys::borrower_pk(key.as_str())))
                    .expression_attribute_values(":from", s(keys::timestamp(since)))
                    // '~' sorts after every reference character.
                    .expression_attribute_values(":to", s(format!("{}#~", keys::timestamp(until))))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| store_error("query borrower index", e))?;
                for item in out.items() {
                    found.push(map(from_item::<PriorComplaint>(item))?);
                }
                match out.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => break,
                }
            }
        }
        Ok(found)
    }
}

fn idempotency_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn submission_from(item: &Item) -> Result<Submission, StoreError> {
    let field = |name: &str| {
        get_s(item, name)
            .ok_or_else(|| StoreError::corrupt("read submission", format!("lacks {name}")))
    };
    Ok(Submission {
        reference: field("reference")?.to_string(),
        received_at: field("received_at")?
            .parse()
            .map_err(|e| StoreError::corrupt("read submission", e))?,
        fingerprint: field("fingerprint")?.to_string(),
        enqueued: item
            .get("enqueued")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
    })
}

impl DynamoStore {
    fn submission_item(&self, sub: &Submission, pk: String, sk: &str) -> Item {
        Item::from([
            (PK.to_string(), s(pk)),
            (SK.to_string(), s(sk)),
            ("entity".to_string(), s(sk.to_ascii_lowercase())),
            ("reference".to_string(), s(&sub.reference)),
            (
                "received_at".to_string(),
                s(keys::timestamp(sub.received_at)),
            ),
            ("fingerprint".to_string(), s(&sub.fingerprint)),
            ("enqueued".to_string(), AttributeValue::Bool(sub.enqueued)),
            (
                keys::EXPIRES_AT.to_string(),
                n((sub.received_at + Duration::days(SUBMISSION_TTL_DAYS)).timestamp()),
            ),
        ])
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("get item", e))?;
        Ok(out.item)
    }

    async fn bound_submission(&self, key_hash: &str) -> Result<Option<Submission>, StoreError> {
        let Some(idem) = self
            .get(keys::idempotency_pk(key_hash), keys::IDEMPOTENCY_SK)
            .await?
        else {
            return Ok(None);
        };
        let mut bound = submission_from(&idem)?;
        // The submission record knows whether the message reached the queue.
        if let Some(sub) = self
            .get(keys::ticket_pk(&bound.reference), keys::SUBMISSION_SK)
            .await?
        {
            bound.enqueued = submission_from(&sub)?.enqueued;
        }
        Ok(Some(bound))
    }
}

impl SubmissionLog for DynamoStore {
    async fn record_submission(
        &self,
        submission: &Submission,
        idempotency_key: Option<&str>,
    ) -> Result<Option<Submission>, StoreError> {
        let sub_item = self.submission_item(
            submission,
            keys::ticket_pk(&submission.reference),
            keys::SUBMISSION_SK,
        );
        let Some(key) = idempotency_key else {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(sub_item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await
                .map_err(|e| store_error("record submission", e))?;
            return Ok(None);
        };
        let key_hash = idempotency_hash(key);
        if let Some(existing) = self.bound_submission(&key_hash).await? {
            return Ok(Some(existing));
        }
        let idem_item = self.submission_item(
            submission,
            keys::idempotency_pk(&key_hash),
            keys::IDEMPOTENCY_SK,
        );
        let writes = vec![
            self.put(idem_item, Some("attribute_not_exists(pk)"))?,
            self.put(sub_item, Some("attribute_not_exists(pk)"))?,
        ];
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(err) => {
                if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(tc)) =
                    err.as_service_error()
                {
                    // Two identical requests raced; the other one bound the key first.
                    if cancellation(tc.cancellation_reasons()).0 {
                        if let Some(existing) = self.bound_submission(&key_hash).await? {
                            return Ok(Some(existing));
                        }
                    }
                }
                Err(store_error("record submission", err))
            }
        }
    }

    async fn mark_enqueued(&self, reference: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(keys::ticket_pk(reference)))
            .key(SK, s(keys::SUBMISSION_SK))
            .update_expression("SET enqueued = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(|e| store_error("mark enqueued", e))?;
        Ok(())
    }

    async fn record_accepted(
        &self,
        message: &redress_domain::assess::ComplaintMessage,
        accepted_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.put_accepted(message, accepted_at).await
    }
}

impl ComplaintLookup for DynamoStore {
    async fn complaint_state(&self, reference: &str) -> Result<Option<ComplaintState>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            // SUBMISSION < TICKET, and EVENT# sorts before both: this reads just the two.
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :a AND :b")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(keys::ticket_pk(reference)))
            .expression_attribute_values(":a", s(keys::SUBMISSION_SK))
            .expression_attribute_values(":b", s(keys::TICKET_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("read complaint", e))?;
        let items = out.items();
        if let Some(t) = items.iter().find(|i| get_s(i, SK) == Some(keys::TICKET_SK)) {
            return Ok(Some(ComplaintState::Ticketed(Box::new(map(from_item::<
                Ticket,
            >(
                t
            ))?))));
        }
        if let Some(sub) = items
            .iter()
            .find(|i| get_s(i, SK) == Some(keys::SUBMISSION_SK))
        {
            return Ok(Some(ComplaintState::Submitted {
                received_at: submission_from(sub)?.received_at,
            }));
        }
        Ok(None)
    }
}

impl TicketStore for DynamoStore {
    async fn ticket(
        &self,
        reference: &str,
    ) -> Result<Option<(Ticket, Vec<AuditEvent>)>, StoreError> {
        self.ticket_with_history(reference).await
    }

    async fn record_change(&self, change: &TicketChange<'_>) -> Result<SaveOutcome, StoreError> {
        let TicketChange {
            before,
            after,
            events,
            survey,
            now,
            outbox,
        } = *change;
        let expires = self.ticket_expiry(after);
        let mut item = ticket_item(after, expires.clone(), self.warning)?;
        // Put replaces the whole item: index keys that no longer apply disappear with it.
        item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", n(before.version))
            .build()
            .map_err(|e| StoreError::invalid_request("build put", e))?;
        let mut writes = vec![TransactWriteItem::builder().put(put).build()];
        for event in events {
            writes.push(self.put(
                event_item(event, expires.clone())?,
                Some("attribute_not_exists(pk)"),
            )?);
        }
        let survey_index = survey.map(|_| writes.len());
        if let Some(record) = survey {
            let mut item = map(to_item(record))?;
            item.insert(PK.into(), s(keys::ticket_pk(&record.reference)));
            item.insert(SK.into(), s(keys::SURVEY_SK));
            item.insert("entity".into(), s("survey"));
            if !matches!(expires, AttributeValue::Null(_)) {
                item.insert(keys::EXPIRES_AT.into(), expires.clone());
            }
            // One answer per ticket, whatever token or delivery brings a second.
            writes.push(self.put(item, Some("attribute_not_exists(pk)"))?);
        }
        let answer = survey.map(|r| &r.answer);
        let rows = metrics::merge(metrics::deltas(
            Some(before),
            after,
            answer,
            now,
            self.reporting_tz,
        ));
        writes.extend(crate::metrics::counter_updates(
            &self.table,
            after.reference.as_str(),
            &rows,
        )?);
        writes.extend(crate::outbox::outbox_writes(&self.table, outbox)?);

        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => {
                // Closed, reopened, held or released: the history follows the ticket's
                // TTL. Best effort here (the change is committed); until it runs the
                // history keeps its earlier TTL, and `redress hold` runs it again.
                if before.expires_at(self.retention) != after.expires_at(self.retention) {
                    if let Err(e) = self.sync_history_expiry(after).await {
                        tracing::warn!(reference = %after.reference, error = %e, "could not move the history's expiry");
                    }
                }
                Ok(SaveOutcome::Saved)
            }
            Err(err) => {
                if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(tc)) =
                    err.as_service_error()
                {
                    let reasons = tc.cancellation_reasons();
                    if survey_index.is_some_and(|i| reasons.get(i).is_some_and(is_condition_failure)) {
                        return Ok(SaveOutcome::AlreadyAnswered);
                    }
                    let (version_moved, transient) = cancellation(reasons);
                    // An event that already exists means another writer got there first.
                    let event_taken = reasons.iter().skip(1).take(events.len()).any(is_condition_failure);
                    if version_moved || event_taken {
                        let current = self.ticket_with_history(after.reference.as_str()).await?.map(|(t, _)| Box::new(t));
                        return Ok(SaveOutcome::Conflict { current });
                    }
                    if let Some(cause) = transient {
                        return Err(StoreError::new("record change", cause));
                    }
                }
                Err(store_error("record change", err))
            }
        }
    }
}

/// A queue page cursor: the index's last evaluated key, as URL-safe text.
fn encode_cursor(key: &Item) -> String {
    let pairs: Vec<String> = [PK, SK, keys::TEAM_QUEUE_PK, keys::TEAM_QUEUE_SK]
        .iter()
        .filter_map(|k| get_s(key, k).map(|v| format!("{k}={}", hex::encode(v))))
        .collect();
    pairs.join(".")
}

fn decode_cursor(cursor: &str) -> Result<Item, StoreError> {
    let bad = || StoreError::new("decode cursor", StoreFailure::InvalidCursor);
    let mut item = Item::new();
    for pair in cursor.split('.') {
        let (k, v) = pair.split_once('=').ok_or_else(bad)?;
        if ![PK, SK, keys::TEAM_QUEUE_PK, keys::TEAM_QUEUE_SK].contains(&k) {
            return Err(bad());
        }
        let v = String::from_utf8(hex::decode(v).map_err(|_| bad())?).map_err(|_| bad())?;
        item.insert(k.to_string(), s(v));
    }
    if item.len() != 4 {
        return Err(bad());
    }
    Ok(item)
}

/// True if a cursor could have come from [`TeamQueue::team_queue`].
pub fn is_valid_cursor(cursor: &str) -> bool {
    decode_cursor(cursor).is_ok()
}

impl TeamQueue for DynamoStore {
    async fn team_queue(
        &self,
        team: &str,
        filter: &QueueFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<QueuePage, StoreError> {
        let mut filters = Vec::new();
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("TeamQueue")
            .key_condition_expression("#qpk = :team")
            .expression_attribute_names("#qpk", keys::TEAM_QUEUE_PK)
            .expression_attribute_values(":team", s(keys::team_queue_pk(team)));
        if let Some(status) = filter.status {
            filters.push("#status = :status");
            request = request
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()));
        }
        if let Some(priority) = filter.priority {
            filters.push("#priority = :priority");
            request = request
                .expression_attribute_names("#priority", "priority")
                .expression_attribute_values(":priority", s(priority.as_str()));
        }
        if let Some(category) = &filter.category {
            filters.push("#category = :category");
            request = request
                .expression_attribute_names("#category", "category")
                .expression_attribute_values(":category", s(category));
        }
        if let Some(before) = filter.due_before {
            // The sort key starts with the next deadline, so "overdue" is a key range.
            request = request
                .key_condition_expression("#qpk = :team AND #qsk < :before")
                .expression_attribute_names("#qsk", keys::TEAM_QUEUE_SK)
                .expression_attribute_values(":before", s(keys::timestamp(before)));
        }
        if !filters.is_empty() {
            request = request.filter_expression(filters.join(" AND "));
        }
        let mut start = cursor.map(decode_cursor).transpose()?;
        let mut tickets = Vec::new();
        // A filter can leave a page short: keep reading until it is full or the queue ends.
        loop {
            let out = request
                .clone()
                // Never read past what the page can hold, so the cursor loses nothing.
                .limit((limit as usize - tickets.len()) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error("query team queue", e))?;
            for item in out.items() {
                let mut value: serde_json::Value = map(from_item(item))?;
                if let Some(obj) = value.as_object_mut() {
                    obj.retain(|k, _| {
                        !k.contains("_pk") && !k.contains("_sk") && k != PK && k != SK
                    });
                }
                tickets.push(value);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() && tickets.len() < limit as usize => start = Some(k),
                Some(k) if !k.is_empty() => {
                    return Ok(QueuePage {
                        tickets,
                        next_cursor: Some(encode_cursor(&k)),
                    });
                }
                _ => {
                    return Ok(QueuePage {
                        tickets,
                        next_cursor: None,
                    })
                }
            }
        }
    }
}

impl redress_domain::ports::SurveyLookup for DynamoStore {
    async fn survey_answered(&self, reference: &str) -> Result<bool, StoreError> {
        Ok(self
            .get(keys::ticket_pk(reference), keys::SURVEY_SK)
            .await?
            .is_some())
    }
}
