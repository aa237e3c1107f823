//! What the deadline sweeper reads: the tickets due on the `DueIndex`. (It sends with
//! [`crate::queue::SqsQueue`].)
//!
//! The index is sparse (a ticket carries `due_pk`/`due_sk` only while a warning or a
//! breach is still to be recorded) and sorted by when each ticket next falls due, so a
//! run reads the entries that are due and stops: its reads grow with the number of
//! tickets due, never with the number stored. It is spread over [`keys::DUE_SHARDS`]
//! partitions, and a run queries each one.

use crate::attr::{from_item, get_s, s};
use crate::errors::store_error;
use crate::keys::{self, DUE_PK, DUE_SK, PK, SK};
use crate::store::DynamoStore;
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use chrono::{DateTime, Utc};
use redress_domain::ports::StoreError;
use redress_domain::ticket::Ticket;

/// The index this module reads.
pub const DUE_INDEX: &str = "DueIndex";

/// What a run read from DynamoDB, for the run's report and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reads {
    /// Query requests sent to the index (one per shard, more when a shard pages).
    pub queries: u64,
    /// Index entries those queries returned.
    pub index_items: u64,
    /// Tickets fetched with GetItem.
    pub tickets_fetched: u64,
    /// Read capacity units consumed, when the service reports them (DynamoDB does;
    /// a local engine may not).
    pub read_units: Option<f64>,
}

impl Reads {
    /// Items read: index entries plus tickets.
    pub fn items(&self) -> u64 {
        self.index_items + self.tickets_fetched
    }

    /// Adds another count to this one.
    pub fn add(&mut self, other: &Reads) {
        self.queries += other.queries;
        self.index_items += other.index_items;
        self.tickets_fetched += other.tickets_fetched;
        self.read_units = match (self.read_units, other.read_units) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        };
    }

    fn consumed(&mut self, capacity: Option<&ConsumedCapacity>) {
        if let Some(units) = capacity.and_then(ConsumedCapacity::capacity_units) {
            *self.read_units.get_or_insert(0.0) += units;
        }
    }
}

/// The references due on the index, and what finding them read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DueList {
    /// Earliest due first within each shard; a reference appears at most once.
    pub references: Vec<String>,
    /// True when `per_shard` cut a shard short: more is due than this run takes.
    pub truncated: bool,
    pub reads: Reads,
}

/// The exclusive upper bound of `due_sk` for "due at or before `until`": entries are
/// `<timestamp>#<reference>`, and `~` sorts after every character of a reference, so the
/// entries stamped exactly `until` are included.
pub fn due_sk_bound(until: DateTime<Utc>) -> String {
    format!("{}#~", keys::timestamp(until))
}

impl DynamoStore {
    /// The references of the tickets due at or before `until`, from every shard of the
    /// due index, at most `per_shard` from each (the earliest). The index is eventually
    /// consistent: an entry may be a moment stale, so the caller reads the ticket itself
    /// (consistently) and decides from that.
    pub async fn due_references(
        &self,
        until: DateTime<Utc>,
        per_shard: usize,
    ) -> Result<DueList, StoreError> {
        let bound = due_sk_bound(until);
        let per_shard = per_shard.max(1);
        let mut list = DueList::default();
        for shard in 0..keys::DUE_SHARDS {
            let mut start = None;
            let mut taken = 0usize;
            loop {
                let remaining = per_shard - taken;
                let out = self
                    .client()
                    .query()
                    .table_name(self.table())
                    .index_name(DUE_INDEX)
                    .key_condition_expression("#dpk = :shard AND #dsk < :until")
                    .expression_attribute_names("#dpk", DUE_PK)
                    .expression_attribute_names("#dsk", DUE_SK)
                    .expression_attribute_values(":shard", s(keys::due_pk(shard)))
                    .expression_attribute_values(":until", s(&bound))
                    // Never read more than this run will handle.
                    .limit(i32::try_from(remaining).unwrap_or(i32::MAX))
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| store_error("query due index", e))?;
                list.reads.queries += 1;
                list.reads.consumed(out.consumed_capacity());
                for item in out.items() {
                    list.reads.index_items += 1;
                    taken += 1;
                    // KEYS_ONLY: the base table's pk is `TICKET#<reference>`.
                    if let Some(reference) =
                        get_s(item, PK).and_then(|pk| pk.strip_prefix("TICKET#"))
                    {
                        list.references.push(reference.to_string());
                    }
                }
                match out.last_evaluated_key {
                    Some(k) if !k.is_empty() && taken < per_shard => start = Some(k),
                    Some(k) if !k.is_empty() => {
                        list.truncated = true;
                        break;
                    }
                    _ => break,
                }
            }
        }
        // A ticket lives on one shard, so this only guards against a stale duplicate.
        let mut seen = std::collections::HashSet::new();
        list.references.retain(|r| seen.insert(r.clone()));
        Ok(list)
    }

    /// The ticket as it is now (strongly consistent read of the ticket item only, not its
    /// history), and what reading it cost.
    pub async fn current_ticket(
        &self,
        reference: &str,
    ) -> Result<(Option<Ticket>, Reads), StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key(PK, s(keys::ticket_pk(reference)))
            .key(SK, s(keys::TICKET_SK))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| store_error("get due ticket", e))?;
        let mut reads = Reads {
            tickets_fetched: 1,
            ..Reads::default()
        };
        reads.consumed(out.consumed_capacity());
        let ticket = out
            .item
            .as_ref()
            .map(from_item::<Ticket>)
            .transpose()
            .map_err(|e| StoreError::corrupt("read ticket", e))?;
        Ok((ticket, reads))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_includes_entries_stamped_exactly_now_and_excludes_later_ones() {
        let now: DateTime<Utc> = "2026-11-23T09:00:00Z".parse().unwrap();
        let bound = due_sk_bound(now);
        let at_now = keys::due_sk(now, "RD-261123-ZZZZZZZZ");
        let before = keys::due_sk(
            now - chrono::Duration::milliseconds(1),
            "RD-261123-7KQ2M9XA",
        );
        let after = keys::due_sk(
            now + chrono::Duration::milliseconds(1),
            "RD-261123-0000000A",
        );
        assert!(before < bound);
        assert!(at_now < bound);
        assert!(after > bound);
    }

    #[test]
    fn reads_add_up_and_keep_capacity_unknown_until_reported() {
        let mut total = Reads::default();
        total.add(&Reads {
            queries: 8,
            index_items: 3,
            ..Reads::default()
        });
        assert_eq!(total.read_units, None);
        total.add(&Reads {
            tickets_fetched: 1,
            read_units: Some(1.0),
            ..Reads::default()
        });
        assert_eq!(total.items(), 4);
        assert_eq!(total.read_units, Some(1.0));
    }
}
