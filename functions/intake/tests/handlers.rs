//! The intake handler on real SQS event JSON, against the in-memory store: which
//! messages fail, what is stored, and what a redelivery does. (The DynamoDB adapter's
//! transaction is proven against DynamoDB Local by the end-to-end tests in `tests/`.)

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use redress_domain::assess::ComplaintMessage;
use redress_domain::borrower::BorrowerKeyer;
use redress_domain::config::DomainConfig;
use redress_domain::ports::StoreFailure;
use redress_domain::ticket::AuditAction;
use redress_intake::{IntakeDeps, Outcome};
use redress_memory::{MemoryQueues, MemoryStore};
use serde_json::json;
use std::sync::Arc;

fn deps() -> IntakeDeps<MemoryStore, MemoryQueues> {
    let config = Arc::new(DomainConfig::bundled().unwrap());
    IntakeDeps {
        store: MemoryStore::new().with_config(&config),
        keyer: BorrowerKeyer::new(b"borrower-key"),
        notifier: MemoryQueues::new(),
        config,
    }
}

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn message(id: &str, reference: &str, received_at: DateTime<Utc>, text: &str) -> SqsMessage {
    let body = ComplaintMessage {
        reference: reference.into(),
        received_at,
        form: json!({
            "borrower": {"name": "Li Na", "phone": "13912345678"},
            "product": "personal_loan",
            "text": text,
            "consent_to_contact": true
        }),
    };
    sqs_message(id, Some(serde_json::to_string(&body).unwrap()))
}

/// An SQS message as the event source delivers it.
fn sqs_message(id: &str, body: Option<String>) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(id.into());
    message.body = body;
    message
}

#[tokio::test]
async fn only_the_bad_messages_of_a_batch_are_reported_and_a_redelivery_changes_nothing() {
    let deps = deps();
    let event: SqsEvent = serde_json::from_str(&fixture("sqs_batch_mixed.json")).unwrap();
    let response = redress_intake::handle(&deps, event.clone()).await;
    let mut failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    failed.sort();
    // Record 2 is not JSON and record 3 names no borrower: poison. Record 4 is a
    // redelivery of record 1 in the same batch: a success that changes nothing.
    assert_eq!(
        failed,
        [
            "0c3f8a52-2d7e-4c5b-9a1e-000000000002",
            "0c3f8a52-2d7e-4c5b-9a1e-000000000003"
        ]
    );
    let (ticket, events) = deps.store.stored_ticket("RD-261120-F1XTVRE1").unwrap();
    assert_eq!(ticket.team, "billing");
    assert_eq!(ticket.category, "payments");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, AuditAction::Received);

    // The whole batch again (SQS redelivers): the same failures, still one ticket.
    let again = redress_intake::handle(&deps, event).await;
    assert_eq!(again.batch_item_failures.len(), 2);
    let (_, events) = deps.store.stored_ticket("RD-261120-F1XTVRE1").unwrap();
    assert_eq!(events.len(), 1);
    assert!(deps.store.stored_ticket("RD-261120-F1XTVRE3").is_none());
    assert_eq!(deps.store.tickets().len(), 1);
}

#[tokio::test]
async fn poison_and_transient_failures_are_told_apart() {
    let deps = deps();
    let at: DateTime<Utc> = "2026-11-20T02:00:00Z".parse().unwrap();
    let text = "I was charged a hidden service fee that the contract never mentioned.";

    let bad_reference = message("m1", "not-a-reference", at, text);
    assert!(matches!(
        redress_intake::process(&deps, &bad_reference).await,
        Outcome::Poison { .. }
    ));
    let no_body = sqs_message("m2", None);
    assert!(matches!(
        redress_intake::process(&deps, &no_body).await,
        Outcome::Poison { .. }
    ));

    let good = message("m3", "RD-261120-7KQ2M9XA", at, text);
    deps.store.fail_next(StoreFailure::Throttled {
        code: "ThrottlingException".into(),
    });
    let outcome = redress_intake::process(&deps, &good).await;
    assert!(matches!(outcome, Outcome::Transient { .. }), "{outcome:?}");
    assert!(deps.store.tickets().is_empty());

    // A request DynamoDB refuses for good will fail the same way on every retry.
    deps.store.fail_next(StoreFailure::Rejected {
        code: "ValidationException".into(),
        message: "item too large".into(),
    });
    let outcome = redress_intake::process(&deps, &good).await;
    assert!(matches!(outcome, Outcome::Poison { .. }), "{outcome:?}");

    // The retry after the throttling succeeds.
    let outcome = redress_intake::process(&deps, &good).await;
    assert_eq!(
        outcome,
        Outcome::Stored {
            reference: "RD-261120-7KQ2M9XA".into()
        }
    );
}

#[tokio::test]
async fn a_second_complaint_from_the_same_borrower_is_flagged_as_a_repeat() {
    let deps = deps();
    let first: DateTime<Utc> = "2026-11-01T02:00:00Z".parse().unwrap();
    let second: DateTime<Utc> = "2026-11-20T02:00:00Z".parse().unwrap();
    let text = "I was charged a hidden service fee that the contract never mentioned.";
    for (id, reference, at) in [
        ("m1", "RD-261101-7KQ2M9XA", first),
        ("m2", "RD-261120-7KQ2M9XB", second),
    ] {
        let outcome = redress_intake::process(&deps, &message(id, reference, at, text)).await;
        assert!(matches!(outcome, Outcome::Stored { .. }), "{outcome:?}");
    }
    let (earlier, _) = deps.store.stored_ticket("RD-261101-7KQ2M9XA").unwrap();
    let (later, _) = deps.store.stored_ticket("RD-261120-7KQ2M9XB").unwrap();
    assert!(!earlier.repeat.is_repeat());
    assert!(later.repeat.is_repeat(), "{:?}", later.repeat);
    assert!(
        serde_json::to_string(&later.repeat)
            .unwrap()
            .contains("RD-261101-7KQ2M9XA"),
        "linked to the earlier complaint"
    );
}
