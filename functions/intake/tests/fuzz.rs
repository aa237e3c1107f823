//! Arbitrary SQS message bodies through intake, on the in-memory store: no panic, every
//! message is either stored (or found stored) or poison — never a transient failure,
//! since the store never fails here — and a poison message changes nothing and sends
//! nothing. Fixed seed and case count: reproducible, a few seconds.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use redress_domain::borrower::BorrowerKeyer;
use redress_domain::config::DomainConfig;
use redress_intake::{IntakeDeps, Outcome};
use redress_memory::fuzz;
use redress_memory::{MemoryQueues, MemoryStore};
use serde_json::{json, Value};
use std::sync::Arc;

const CASES: u32 = 800;
const SEED: [u8; 32] = *b"redress-intake-fuzz-seed-2026-12";

fn form() -> Value {
    json!({
        "borrower": {"name": "Li Na", "phone": "13912345678", "national_id": "11010519491231002X"},
        "product": "personal_loan",
        "text": "I was charged a hidden service fee that the contract never mentioned.",
        "consent_to_contact": true,
        "category": "fees_interest",
        "channel": "app"
    })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_.:+-]{0,24}",
        "\\PC{0,60}",
        (1u32..9000).prop_map(|n| n.to_string()),
    ]
}

/// RFC 3339 times across chrono's whole range, and not-quite times.
fn time() -> impl Strategy<Value = String> {
    prop_oneof![
        (1990i32..2110, 1u32..13, 1u32..29, 0u32..24)
            .prop_map(|(y, m, d, h)| format!("{y:04}-{m:02}-{d:02}T{h:02}:00:00Z")),
        fuzz::edge_time(),
        text(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    fuzz::json_value(
        text().boxed(),
        vec![
            text().prop_map(Value::from).boxed(),
            time().prop_map(Value::from).boxed(),
        ],
        3,
        24,
        6,
    )
}

const FORM_FIELDS: &[&str] = &[
    "borrower",
    "product",
    "text",
    "consent_to_contact",
    "category",
    "channel",
    "desired_outcome",
    "language",
    "submitted_at",
    "name",
    "phone",
    "email",
    "national_id",
    "customer_id",
    "loan_number",
];

/// A complaint message with its reference, time or one form field replaced.
fn message_body() -> impl Strategy<Value = String> {
    let reference = prop_oneof![
        3 => (0u32..1000).prop_map(|n| format!("RD-261120-7KQ2M{n:03}")),
        1 => Just("RD-261120-7KQ2M9XA".to_string()),
        1 => text(),
    ];
    let field = (
        prop::sample::select(FORM_FIELDS),
        json_value(),
        any::<bool>(),
    );
    let valid_time = (1u32..28).prop_map(|d| format!("2026-11-{d:02}T02:00:00Z"));
    (
        reference,
        prop_oneof![3 => valid_time, 2 => time()],
        prop::option::of(field),
        any::<bool>(),
    )
        .prop_map(|(reference, received_at, field, extra)| {
            let mut form = form();
            if let Some((name, value, nested)) = field {
                if nested && name != "borrower" {
                    form["borrower"][name] = value;
                } else {
                    form[name] = value;
                }
            }
            let mut message = json!({
                "reference": reference,
                "received_at": received_at,
                "form": form,
            });
            if extra {
                message["unexpected"] = json!(1);
            }
            message.to_string()
        })
}

fn body() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        6 => message_body().prop_map(Some),
        2 => json_value().prop_map(|v| Some(v.to_string())),
        1 => prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| Some(String::from_utf8_lossy(&b).into_owned())),
    ]
}

#[test]
fn no_message_body_panics_and_each_is_stored_or_poison() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Arc::new(DomainConfig::bundled().unwrap());
    let store = MemoryStore::new().with_config(&config);
    let queues = MemoryQueues::new();
    let deps = IntakeDeps {
        config,
        keyer: BorrowerKeyer::new(b"borrower-key"),
        store: store.clone(),
        notifier: queues.clone(),
    };
    let mut runner = fuzz::runner(CASES, &SEED);
    let (stored, poison) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    let result = runner.run(&body(), |body| {
        let mut message = SqsMessage::default();
        message.message_id = Some("fuzz".into());
        message.body = body.clone();
        let before = (store.fingerprint(), queues.sent_counts());
        let outcome = runtime.block_on(redress_intake::process(&deps, &message));
        match &outcome {
            Outcome::Stored { .. } | Outcome::Duplicate { .. } => stored.set(stored.get() + 1),
            Outcome::Poison { .. } => {
                poison.set(poison.get() + 1);
                let after = (store.fingerprint(), queues.sent_counts());
                prop_assert!(before == after, "a poison message changed the store");
            }
            Outcome::Transient { reason } | Outcome::Misconfigured { reason } => {
                return Err(TestCaseError::fail(format!(
                    "store fault without a store failure: {reason} for {body:?}"
                )))
            }
        }
        // The batch handler agrees: the message fails exactly when it is poison.
        let mut event = SqsEvent::default();
        event.records = vec![message];
        let response = runtime.block_on(redress_intake::handle(&deps, event));
        prop_assert_eq!(
            response.batch_item_failures.len(),
            usize::from(matches!(outcome, Outcome::Poison { .. }))
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (stored, poison) = (stored.get(), poison.get());
    assert!(
        stored > 50 && poison > 50,
        "stored {stored}, poison {poison}"
    );
}

#[tokio::test]
async fn a_receipt_time_at_the_ends_of_chronos_calendar_is_poison() {
    let config = Arc::new(DomainConfig::bundled().unwrap());
    let deps = IntakeDeps {
        store: MemoryStore::new().with_config(&config),
        config,
        keyer: BorrowerKeyer::new(b"borrower-key"),
        notifier: MemoryQueues::new(),
    };
    for at in [
        "-262143-01-01T00:00:00Z",
        "+262142-12-31T23:59:59Z",
        "1999-12-31T23:59:59Z",
        "2101-01-01T00:00:00Z",
    ] {
        let mut message = SqsMessage::default();
        message.message_id = Some("m".into());
        message.body = Some(
            json!({"reference": "RD-261120-7KQ2M9XA", "received_at": at, "form": form()})
                .to_string(),
        );
        let outcome = redress_intake::process(&deps, &message).await;
        assert!(
            matches!(outcome, Outcome::Poison { .. }),
            "{at}: {outcome:?}"
        );
    }
    assert!(deps.store.tickets().is_empty());
}
