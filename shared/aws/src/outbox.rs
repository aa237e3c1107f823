//! The notification outbox and the notifier's delivery records, in the tickets table.
//!
//! | item            | pk                          | sk                              |
//! |-----------------|-----------------------------|---------------------------------|
//! | outbox entry    | `OUTBOX#<shard>`            | `<at>#<notification id>`        |
//! | delivery record | `DELIVERY#<delivery id>`    | `DELIVERY`                      |
//! | sent log        | `SENT#<yyyy-mm-dd>`         | `<at>#<delivery id>`            |
//!
//! An outbox entry is written in the same transaction as the ticket change that causes
//! it, put on the notifications queue right after the commit and then removed; the
//! sweeper's relay run sends whatever a writer left behind (oldest first, per shard),
//! so nothing is lost between a change and its notification.
//!
//! A delivery record is written before a message is sent (the claim) and completed
//! after: a redelivered notification finds it and sends nothing. The sent log lists
//! deliveries by day for `redress outbox`: masked recipient, template, channel, time,
//! never a message body.

use crate::attr::{get_s, n, s, Item};
use crate::errors::store_error;
use crate::keys::{self, PK, SK};
use crate::store::DynamoStore;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use redress_domain::ports::{Notification, Notifier, Outbox, OutboxEntry, StoreError};
use serde::{Deserialize, Serialize};
use tracing::{error, warn};

/// Outbox entries are spread over this many partitions (like the due index).
pub const OUTBOX_SHARDS: u32 = keys::DUE_SHARDS;
/// An entry never relayed is kept this long (the relay run alarms long before).
const OUTBOX_TTL_DAYS: i64 = 14;
/// Delivery records and the sent log are kept this long: longer than any redelivery.
const DELIVERY_TTL_DAYS: i64 = 90;
/// Attempts to put one entry on the queue before leaving it to the relay run.
const RELAY_ATTEMPTS: u32 = 3;

pub fn outbox_pk(shard: u32) -> String {
    format!("OUTBOX#{shard}")
}

pub fn outbox_sk(at: DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", keys::timestamp(at))
}

pub fn delivery_pk(delivery_id: &str) -> String {
    format!("DELIVERY#{delivery_id}")
}

pub const DELIVERY_SK: &str = "DELIVERY";

pub fn sent_log_pk(day: NaiveDate) -> String {
    format!("SENT#{}", day.format("%Y-%m-%d"))
}

/// The outbox item for an entry (written in the change's transaction).
pub fn outbox_item(entry: &OutboxEntry) -> Result<Item, StoreError> {
    let body = serde_json::to_string(&entry.notification)
        .map_err(|e| StoreError::invalid_request("write outbox entry", e))?;
    Ok(Item::from([
        (
            PK.to_string(),
            s(outbox_pk(keys::due_shard(&entry.notification.reference))),
        ),
        (SK.to_string(), s(outbox_sk(entry.at, &entry.id))),
        ("entity".to_string(), s("outbox")),
        ("notification_id".to_string(), s(&entry.id)),
        ("at".to_string(), s(keys::timestamp(entry.at))),
        ("notification".to_string(), s(body)),
        (
            keys::EXPIRES_AT.to_string(),
            n((entry.at + Duration::days(OUTBOX_TTL_DAYS)).timestamp()),
        ),
    ]))
}

/// The outbox puts for a transaction. The condition keeps a retried transaction from
/// writing an entry twice (the ticket's own condition already refuses the retry).
pub fn outbox_writes(
    table: &str,
    entries: &[OutboxEntry],
) -> Result<Vec<TransactWriteItem>, StoreError> {
    entries
        .iter()
        .map(|entry| {
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(outbox_item(entry)?))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(|e| StoreError::invalid_request("write outbox entry", e))?;
            Ok(TransactWriteItem::builder().put(put).build())
        })
        .collect()
}

fn entry_from(item: &Item) -> Result<OutboxEntry, StoreError> {
    let bad = |what: &str| StoreError::corrupt("read outbox", format!("outbox item lacks {what}"));
    let id = get_s(item, "notification_id").ok_or_else(|| bad("notification_id"))?;
    let at = get_s(item, "at")
        .ok_or_else(|| bad("at"))?
        .parse()
        .map_err(|e: chrono::ParseError| StoreError::corrupt("read outbox", e))?;
    let notification: Notification =
        serde_json::from_str(get_s(item, "notification").ok_or_else(|| bad("notification"))?)
            .map_err(|e| StoreError::corrupt("read outbox", e))?;
    Ok(OutboxEntry {
        id: id.to_string(),
        at,
        notification,
    })
}

impl Outbox for DynamoStore {
    async fn pending_outbox(
        &self,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let bound = format!("{}#~", keys::timestamp(until));
        let mut entries = Vec::new();
        for shard in 0..OUTBOX_SHARDS {
            let mut start = None;
            loop {
                let remaining = limit.saturating_sub(entries.len());
                if remaining == 0 {
                    return Ok(entries);
                }
                let out = self
                    .client()
                    .query()
                    .table_name(self.table())
                    .key_condition_expression("#pk = :pk AND #sk < :until")
                    .expression_attribute_names("#pk", PK)
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":pk", s(outbox_pk(shard)))
                    .expression_attribute_values(":until", s(&bound))
                    .consistent_read(true)
                    .limit(i32::try_from(remaining).unwrap_or(i32::MAX))
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| store_error("query outbox", e))?;
                for item in out.items() {
                    entries.push(entry_from(item)?);
                }
                match out.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => break,
                }
            }
        }
        Ok(entries)
    }

    async fn remove_outbox(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .key(
                PK,
                s(outbox_pk(keys::due_shard(&entry.notification.reference))),
            )
            .key(SK, s(outbox_sk(entry.at, &entry.id)))
            .send()
            .await
            .map_err(|e| store_error("remove outbox entry", e))?;
        Ok(())
    }
}

/// What relaying did: put on the queue, or left in the outbox for the relay run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RelayCount {
    pub sent: usize,
    pub failed: usize,
}

/// Puts each entry on the queue (retrying a transient failure a few times), then removes
/// it from the outbox. An entry that cannot be sent stays for the relay run; one sent but
/// not removed is sent again by that run, and the notifier's delivery record turns the
/// second copy into nothing.
pub async fn relay<O, N>(outbox: &O, notifier: &N, entries: &[OutboxEntry]) -> RelayCount
where
    O: Outbox + Sync,
    N: Notifier + Sync,
{
    let mut count = RelayCount::default();
    for entry in entries {
        let message = entry.message();
        let mut attempt = 1;
        let sent = loop {
            match notifier.notify(&message).await {
                Ok(()) => break Ok(()),
                Err(e) if e.is_transient() && attempt < RELAY_ATTEMPTS => {
                    warn!(notification_id = %entry.id, error = %e, attempt, "queueing a notification failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(
                        100 * 4u64.pow(attempt - 1),
                    ))
                    .await;
                    attempt += 1;
                }
                Err(e) => break Err(e),
            }
        };
        match sent {
            Ok(()) => {
                count.sent += 1;
                if let Err(e) = outbox.remove_outbox(entry).await {
                    warn!(notification_id = %entry.id, error = %e, "queued but still in the outbox; the relay run queues it again (delivered once)");
                }
            }
            Err(e) => {
                count.failed += 1;
                error!(notification_id = %entry.id, error = %e, "notification not queued; it stays in the outbox for the relay run");
            }
        }
    }
    count
}

/// What the delivery record says about a delivery about to be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours to send now.
    Claimed,
    /// Already delivered (or decided not to be): nothing to do.
    Done,
    /// Another invocation is sending it right now: retry later.
    InFlight,
    /// A claim was taken and never completed (the sender stopped mid-send): whether it
    /// went out is unknown. It is marked `uncertain` and not sent again, because a
    /// borrower or a lead getting the same message twice is the greater harm; the
    /// sent log shows it for follow-up.
    Uncertain,
}

/// A finished delivery, as the sent log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryLog {
    pub delivery_id: String,
    pub notification_id: String,
    pub reference: String,
    /// `sent`, `skipped`, `uncertain`.
    pub status: String,
    /// `email` or `sms`; empty when nothing was sent.
    pub channel: String,
    /// `borrower`, `team`, `escalation`.
    pub audience: String,
    /// The template used (`<kind>.<language>`), or the reason nothing was sent.
    pub template: String,
    /// Recipients, masked (`l***@example.com`, `139****5678`).
    pub to_masked: Vec<String>,
    /// The provider's message id (SES or SNS), for finding the message there.
    pub provider_id: Option<String>,
    pub at: DateTime<Utc>,
}

impl DynamoStore {
    /// Takes the delivery record for `delivery_id` before sending. `lease` is how long a
    /// claim may stay pending before it counts as abandoned (longer than the function's
    /// timeout).
    pub async fn claim_delivery(
        &self,
        delivery_id: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        for _ in 0..2 {
            let existing = self
                .client()
                .get_item()
                .table_name(self.table())
                .key(PK, s(delivery_pk(delivery_id)))
                .key(SK, s(DELIVERY_SK))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| store_error("read delivery record", e))?
                .item;
            if let Some(item) = existing {
                return match get_s(&item, "status") {
                    Some("pending") => {
                        let lease_until = item
                            .get("lease_until")
                            .and_then(|v| v.as_n().ok())
                            .and_then(|v| v.parse::<i64>().ok())
                            .unwrap_or(0);
                        if now.timestamp() < lease_until {
                            Ok(Claim::InFlight)
                        } else {
                            self.mark_uncertain(delivery_id, lease_until).await
                        }
                    }
                    _ => Ok(Claim::Done),
                };
            }
            let put = self
                .client()
                .put_item()
                .table_name(self.table())
                .item(PK, s(delivery_pk(delivery_id)))
                .item(SK, s(DELIVERY_SK))
                .item("entity", s("delivery"))
                .item("status", s("pending"))
                .item("claimed_at", s(keys::timestamp(now)))
                .item("lease_until", n((now + lease).timestamp()))
                .item(
                    keys::EXPIRES_AT,
                    n((now + Duration::days(DELIVERY_TTL_DAYS)).timestamp()),
                )
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            match put {
                Ok(_) => return Ok(Claim::Claimed),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
                {
                    // Another invocation claimed it between our read and write: read again.
                    continue;
                }
                Err(e) => return Err(store_error("claim delivery", e)),
            }
        }
        Ok(Claim::InFlight)
    }

    async fn mark_uncertain(
        &self,
        delivery_id: &str,
        lease_until: i64,
    ) -> Result<Claim, StoreError> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PK, s(delivery_pk(delivery_id)))
            .key(SK, s(DELIVERY_SK))
            .update_expression("SET #st = :uncertain")
            .condition_expression("#st = :pending AND lease_until = :lease")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":uncertain", s("uncertain"))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":lease", n(lease_until))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Uncertain),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(Claim::Done)
            }
            Err(e) => Err(store_error("mark delivery uncertain", e)),
        }
    }

    /// Completes a claimed delivery (`sent`), or records one decided without sending
    /// (`skipped`, no claim needed: deciding again gives the same answer), and adds it to
    /// the day's sent log, in one transaction.
    pub async fn complete_delivery(&self, log: &DeliveryLog) -> Result<(), StoreError> {
        let expires = n((log.at + Duration::days(DELIVERY_TTL_DAYS)).timestamp());
        let update = Update::builder()
            .table_name(self.table())
            .key(PK, s(delivery_pk(&log.delivery_id)))
            .key(SK, s(DELIVERY_SK))
            .update_expression(
                "SET #st = :status, entity = :entity, completed_at = :at, provider_id = :pid, expires_at = :exp",
            )
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":status", s(&log.status))
            .expression_attribute_values(":entity", s("delivery"))
            .expression_attribute_values(":at", s(keys::timestamp(log.at)))
            .expression_attribute_values(
                ":pid",
                log.provider_id
                    .as_deref()
                    .map(s)
                    .unwrap_or(AttributeValue::Null(true)),
            )
            .expression_attribute_values(":exp", expires.clone())
            .build()
            .map_err(|e| StoreError::invalid_request("complete delivery", e))?;
        let mut item = crate::attr::to_item(log)
            .map_err(|e| StoreError::invalid_request("complete delivery", e))?;
        item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
        item.insert(PK.into(), s(sent_log_pk(log.at.date_naive())));
        item.insert(
            SK.into(),
            s(format!("{}#{}", keys::timestamp(log.at), log.delivery_id)),
        );
        item.insert("entity".into(), s("sent_log"));
        item.insert(keys::EXPIRES_AT.into(), expires);
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .build()
            .map_err(|e| StoreError::invalid_request("complete delivery", e))?;
        self.client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await
            .map_err(|e| store_error("complete delivery", e))?;
        Ok(())
    }

    /// Gives a claim back after a send that certainly failed, so a retry may send.
    pub async fn release_delivery(&self, delivery_id: &str) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(self.table())
            .key(PK, s(delivery_pk(delivery_id)))
            .key(SK, s(DELIVERY_SK))
            .condition_expression("#st = :pending")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":pending", s("pending"))
            .build()
            .map_err(|e| StoreError::invalid_request("release delivery", e))?;
        self.client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .send()
            .await
            .map_err(|e| store_error("release delivery", e))?;
        Ok(())
    }

    /// The sent log of one UTC day, oldest first.
    pub async fn sent_log(&self, day: NaiveDate) -> Result<Vec<DeliveryLog>, StoreError> {
        let mut logs = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", s(sent_log_pk(day)))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error("query sent log", e))?;
            for item in out.items() {
                logs.push(
                    crate::attr::from_item::<DeliveryLog>(item)
                        .map_err(|e| StoreError::corrupt("query sent log", e))?,
                );
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(logs),
            }
        }
    }
}
