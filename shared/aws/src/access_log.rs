//! The access audit log on DynamoDB: one item per staff access that changes no ticket
//! (contact details shown unmasked, a complaint entered on a borrower's behalf).
//!
//! Items live in their own partition per ticket (`ACCESS#<reference>`), so reading a
//! ticket's history never reads them, and are written with `attribute_not_exists`: a
//! record is never overwritten. They carry no personal data of the borrower.

use crate::attr::{from_item, get_s, n, s, to_item};
use crate::keys::{self, PK, SK};
use crate::store::DynamoStore;
use redress_domain::ports::{AccessLog, AccessRecord, StoreError};
use sha2::{Digest, Sha256};

/// The partition of a ticket's access records.
pub fn access_pk(reference: &str) -> String {
    format!("ACCESS#{reference}")
}

impl AccessLog for DynamoStore {
    async fn record_access(&self, record: &AccessRecord) -> Result<(), StoreError> {
        let mut item = to_item(record).map_err(|e| StoreError::corrupt("map access record", e))?;
        // Time first (they read in order), to the nanosecond, then the kind and who: the
        // same key can only be the same access written twice.
        let who = hex::encode(&Sha256::digest(record.actor.id.as_bytes())[..6]);
        let kind = serde_json::to_value(record.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let sk = format!(
            "{}#{:09}#{kind}#{who}",
            keys::timestamp(record.at),
            record.at.timestamp_subsec_nanos()
        );
        item.insert(PK.into(), s(access_pk(&record.reference)));
        item.insert(SK.into(), s(sk));
        item.insert("entity".into(), s("access"));
        item.insert(
            keys::EXPIRES_AT.into(),
            n((record.at + self.retention()).timestamp()),
        );
        // The very same record may already be there (a retried write).
        self.put_once(item, "record access").await
    }

    async fn access_records(&self, reference: &str) -> Result<Vec<AccessRecord>, StoreError> {
        let items = self
            .query_partition(&access_pk(reference), "read access records")
            .await?;
        items
            .iter()
            .filter(|item| get_s(item, "entity") == Some("access"))
            .map(|item| {
                from_item::<AccessRecord>(item)
                    .map_err(|e| StoreError::corrupt("map access record", e))
            })
            .collect()
    }
}
