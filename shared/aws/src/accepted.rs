//! Accepted complaints, kept from the moment the api gives the borrower a reference
//! until intake has made the ticket: if the queue message is ever lost (expired,
//! dead-lettered and dropped, deleted by hand), `redress reconcile` finds the record and
//! queues the message again.
//!
//! | item               | pk                          | sk            |
//! |--------------------|-----------------------------|---------------|
//! | accepted complaint | `ACCEPTED#<yymmdd>#<shard>` | `<reference>` |
//!
//! The record holds the complaint message as queued (personal data: the table is
//! encrypted with the stack's own KMS key) and expires after `ACCEPTED_RECORD_DAYS`
//! (30 by default), well past the 14 days a dead-letter queue keeps a message. Intake
//! deletes it once the ticket exists, so what is left is exactly what still lacks a
//! ticket (reconcile checks each one against the ticket anyway).

use crate::attr::{get_s, n, s, Item};
use crate::env::{self, EnvError, VarSource};
use crate::errors::store_error;
use crate::keys::{self, EXPIRES_AT, PK, SK};
use crate::store::DynamoStore;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use redress_domain::assess::ComplaintMessage;
use redress_domain::ports::{AcceptedLog, StoreError};

/// How long an accepted complaint's record is kept when nothing else is said.
pub const DEFAULT_ACCEPTED_DAYS: i64 = 30;
/// The shortest allowed: longer than a dead-letter queue keeps a message (14 days), so a
/// message that is dropped from one can still be rebuilt.
pub const MIN_ACCEPTED_DAYS: i64 = 15;
/// The longest allowed.
pub const MAX_ACCEPTED_DAYS: i64 = 365;

/// An accepted complaint that has no ticket yet.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedComplaint {
    pub reference: String,
    pub accepted_at: DateTime<Utc>,
    /// The message as it was queued.
    pub message: ComplaintMessage,
}

/// `ACCEPTED_RECORD_DAYS` (the stack's `AcceptedRecordDays` parameter), required, in
/// 15..=365.
pub fn accepted_days_from_env(vars: &dyn VarSource) -> Result<i64, EnvError> {
    let days = env::required_number(vars, "ACCEPTED_RECORD_DAYS")?;
    if !(MIN_ACCEPTED_DAYS..=MAX_ACCEPTED_DAYS).contains(&days) {
        return Err(EnvError {
            name: "ACCEPTED_RECORD_DAYS",
            problem: "must be a number of days between 15 and 365 (longer than the 14 days a dead-letter queue keeps a message)",
        });
    }
    Ok(days)
}

/// The days (UTC) from `from` to `until`, both included; none if `until` is earlier.
fn days(from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut day = from.date_naive();
    while day <= until.date_naive() {
        out.push(day);
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

fn accepted_from(item: &Item) -> Result<AcceptedComplaint, StoreError> {
    let field = |name: &str| {
        get_s(item, name)
            .ok_or_else(|| StoreError::corrupt("read accepted complaint", format!("lacks {name}")))
    };
    Ok(AcceptedComplaint {
        reference: field("reference")?.to_string(),
        accepted_at: field("accepted_at")?
            .parse()
            .map_err(|e| StoreError::corrupt("read accepted complaint", e))?,
        message: serde_json::from_str(field("message")?)
            .map_err(|e| StoreError::corrupt("read accepted complaint", e))?,
    })
}

impl DynamoStore {
    /// Keeps accepted complaints' records for `days`.
    pub fn with_accepted_days(mut self, days: i64) -> Self {
        self.accepted_ttl = Duration::days(days);
        self
    }

    /// Writes the record of an accepted complaint, unless one exists for its reference
    /// (a resubmission with the same key): the first one stands.
    pub async fn put_accepted(
        &self,
        message: &ComplaintMessage,
        accepted_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(message)
            .map_err(|e| StoreError::invalid_request("record accepted complaint", e))?;
        let item = Item::from([
            (PK.to_string(), s(keys::accepted_pk(&message.reference))),
            (SK.to_string(), s(&message.reference)),
            ("entity".to_string(), s("accepted")),
            ("reference".to_string(), s(&message.reference)),
            ("accepted_at".to_string(), s(keys::timestamp(accepted_at))),
            ("message".to_string(), s(body)),
            (
                EXPIRES_AT.to_string(),
                n((accepted_at + self.accepted_ttl).timestamp()),
            ),
        ]);
        self.put_once(item, "record accepted complaint").await
    }

    /// The accepted complaints still on record that were accepted in `[since, until]`,
    /// oldest first: one query per day and shard.
    pub async fn accepted_between(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<AcceptedComplaint>, StoreError> {
        let mut found = Vec::new();
        for day in days(since, until) {
            let yymmdd = day.format("%y%m%d").to_string();
            for shard in 0..keys::DUE_SHARDS {
                let pk = keys::accepted_day_pk(&yymmdd, shard);
                for item in self
                    .query_partition(&pk, "query accepted complaints")
                    .await?
                {
                    let accepted = accepted_from(&item)?;
                    if (since..=until).contains(&accepted.accepted_at) {
                        found.push(accepted);
                    }
                }
            }
        }
        found.sort_by(|a, b| (a.accepted_at, &a.reference).cmp(&(b.accepted_at, &b.reference)));
        Ok(found)
    }

    /// True if intake has written the ticket of `reference`.
    pub async fn has_ticket(&self, reference: &str) -> Result<bool, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key(PK, s(keys::ticket_pk(reference)))
            .key(SK, s(keys::TICKET_SK))
            .projection_expression("#pk")
            .expression_attribute_names("#pk", PK)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("read ticket", e))?;
        Ok(out.item.is_some())
    }
}

impl AcceptedLog for DynamoStore {
    async fn clear_accepted(&self, reference: &str) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .key(PK, s(keys::accepted_pk(reference)))
            .key(SK, s(reference))
            .send()
            .await
            .map_err(|e| store_error("clear accepted complaint", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_days_of_a_window_include_both_ends() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let d = days(at("2026-11-30T23:00:00Z"), at("2026-12-02T00:10:00Z"));
        assert_eq!(
            d.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            ["2026-11-30", "2026-12-01", "2026-12-02"]
        );
        assert!(days(at("2026-12-02T00:00:00Z"), at("2026-12-01T00:00:00Z")).is_empty());
    }

    #[test]
    fn the_record_days_must_outlast_the_dead_letter_queue() {
        let vars = |v: &str| BTreeMap::from([("ACCEPTED_RECORD_DAYS".to_string(), v.to_string())]);
        assert_eq!(accepted_days_from_env(&vars("30")).unwrap(), 30);
        for bad in ["14", "0", "366", "thirty"] {
            assert!(accepted_days_from_env(&vars(bad)).is_err(), "{bad}");
        }
        assert!(accepted_days_from_env(&BTreeMap::<String, String>::new()).is_err());
    }
}
