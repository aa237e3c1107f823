//! The single-table key design. Every item's `pk`/`sk`, in one place.
//!
//! | item                | pk                         | sk                          |
//! |---------------------|----------------------------|-----------------------------|
//! | ticket              | `TICKET#<reference>`       | `TICKET`                    |
//! | submission (api)    | `TICKET#<reference>`       | `SUBMISSION`                |
//! | audit event         | `TICKET#<reference>`       | `EVENT#<seq, 6 digits>`     |
//! | borrower index      | `BORROWER#<hmac key>`      | `<received_at>#<reference>` |
//! | idempotency key     | `IDEMPOTENCY#<sha256(key)>`| `IDEMPOTENCY`               |
//! | survey answer       | `TICKET#<reference>`       | `SURVEY`                    |
//! | metric counters     | `METRICS#<shard>`          | `<day>#<dimension>#<value>` |
//! | accepted complaint  | `ACCEPTED#<yymmdd>#<shard>`| `<reference>`               |
//! | access record (api) | `ACCESS#<reference>`       | `<at>#<nanos>#<kind>#<who>` |
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
pub const SURVEY_SK: &str = "SURVEY";

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

/// Partition of the `DueIndex`: one of [`DUE_SHARDS`] shards.
pub const DUE_PK: &str = "due_pk";
/// Sort key of the `DueIndex`: when the ticket next needs the sweeper.
pub const DUE_SK: &str = "due_sk";
/// How many partitions the due index spreads tickets over. Eight keeps every partition
/// far below DynamoDB's per-partition write limit at hundreds of complaints a second,
/// and costs the sweeper eight small queries a run.
pub const DUE_SHARDS: u32 = 8;

/// The due-index shard of a ticket: a stable hash (FNV-1a) of its reference.
pub fn due_shard(reference: &str) -> u32 {
    let hash = reference.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % u64::from(DUE_SHARDS)) as u32
}

pub fn due_pk(shard: u32) -> String {
    format!("DUE#{shard}")
}

pub fn due_sk(at: DateTime<Utc>, reference: &str) -> String {
    format!("{}#{reference}", timestamp(at))
}

/// Partition of an accepted complaint's record: the day of acceptance (the reference's
/// `yymmdd`, UTC) and a shard, so the records are read day by day and intake finds a
/// record from the reference alone.
pub fn accepted_pk(reference: &str) -> String {
    accepted_day_pk(
        reference.get(3..9).unwrap_or("000000"),
        due_shard(reference),
    )
}

/// The partition of the accepted complaints of day `yymmdd` in `shard`.
pub fn accepted_day_pk(yymmdd: &str, shard: u32) -> String {
    format!("ACCEPTED#{yymmdd}#{shard}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_shards_are_stable_and_spread() {
        assert_eq!(
            due_shard("RD-261123-7KQ2M9XA"),
            due_shard("RD-261123-7KQ2M9XA")
        );
        let mut counts = [0u32; DUE_SHARDS as usize];
        for i in 0..8000 {
            counts[due_shard(&format!("RD-261123-{i:08}")) as usize] += 1;
        }
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
    }

    #[test]
    fn an_accepted_record_is_filed_under_its_reference_day() {
        let r = "RD-261202-7KQ2M9XA";
        assert_eq!(accepted_pk(r), format!("ACCEPTED#261202#{}", due_shard(r)));
    }

    #[test]
    fn timestamps_sort_as_text() {
        let a: DateTime<Utc> = "2026-11-23T09:00:00Z".parse().unwrap();
        let b: DateTime<Utc> = "2026-11-23T10:00:00.5Z".parse().unwrap();
        assert!(timestamp(a) < timestamp(b));
        assert_eq!(timestamp(a), "2026-11-23T09:00:00.000Z");
    }
}
