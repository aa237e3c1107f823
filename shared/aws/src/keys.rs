//! The single-table key design. Every item's `pk`/`sk`, in one place.
//!
//! | item                | pk                         | sk                          |
//! |---------------------|----------------------------|-----------------------------|
//! | ticket              | `TICKET#<reference>`       | `TICKET`                    |
//! | submission (api)    | `TICKET#<reference>`       | `SUBMISSION`                |
//! | audit event         | `TICKET#<reference>`       | `EVENT#<seq, 6 digits>`     |
//! | borrower index      | `BORROWER#<hmac key>`      | `<received_at>#<reference>` |
//! | idempotency key     | `IDEMPOTENCY#<sha256(key)>`| `IDEMPOTENCY`               |
//!
//! A ticket, its submission and its history share a partition, so one Query reads them
//! all. The borrower index holds only the keyed hash, the reference, the category and
//! the time: no identifier in clear.

use chrono::{DateTime, SecondsFormat, Utc};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// Partition of the `TeamQueue` index: the team's open tickets.
pub const TEAM_QUEUE_PK: &str = "team_queue_pk";
/// Sort key of the `TeamQueue` index: nearest resolution deadline first.
pub const TEAM_QUEUE_SK: &str = "team_queue_sk";
/// Epoch seconds after which DynamoDB may delete the item (retention).
pub const EXPIRES_AT: &str = "expires_at";

pub const TICKET_SK: &str = "TICKET";
pub const SUBMISSION_SK: &str = "SUBMISSION";
pub const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";

pub fn ticket_pk(reference: &str) -> String {
    format!("TICKET#{reference}")
}

pub fn event_sk(seq: u32) -> String {
    format!("EVENT#{seq:06}")
}

pub fn borrower_pk(key: &str) -> String {
    format!("BORROWER#{key}")
}

/// Sorts by time: fixed-width UTC with milliseconds.
pub fn borrower_sk(received_at: DateTime<Utc>, reference: &str) -> String {
    format!("{}#{reference}", timestamp(received_at))
}

pub fn idempotency_pk(key_hash: &str) -> String {
    format!("IDEMPOTENCY#{key_hash}")
}

pub fn team_queue_pk(team: &str) -> String {
    format!("TEAM#{team}")
}

pub fn team_queue_sk(resolve_by: DateTime<Utc>, reference: &str) -> String {
    format!("{}#{reference}", timestamp(resolve_by))
}

/// Fixed-width UTC time that sorts as text.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
