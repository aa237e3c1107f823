//! Arbitrary SQS message bodies through the notifier, with a fake store and sender that
//! never fail: no panic, every message is handled (sent, skipped or already done) or
//! poison — never a transient failure — and a poison message sends nothing. Fixed seed
//! and case count: reproducible, a few seconds.

use aws_lambda_events::event::sqs::SqsMessage;
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use redress_aws::outbox::{Claim, DeliveryLog};
use redress_domain::assess::{assess, open_ticket};
use redress_domain::complaint::{Complaint, ParseMode};
use redress_domain::config::DomainConfig;
use redress_domain::ports::{StoreError, TestClock};
use redress_domain::ticket::Ticket;
use redress_memory::fuzz;
use redress_notifier::config::NotifyConfig;
use redress_notifier::plan::{Channel, Links};
use redress_notifier::{DeliveryRecords, NotifierDeps, Outcome, SendError, Sender, TicketSource};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const CASES: u32 = 800;
const SEED: [u8; 32] = *b"redress-notify-fuzz-seed-2026-12";
const REF: &str = "RD-261120-7KQ2M9XA";

/// Tickets and delivery records in memory; never fails.
#[derive(Default)]
struct Store {
    tickets: HashMap<String, Ticket>,
    records: Mutex<HashMap<String, String>>,
}

impl TicketSource for Store {
    async fn ticket_now(&self, reference: &str) -> Result<Option<Ticket>, StoreError> {
        Ok(self.tickets.get(reference).cloned())
    }
}

impl DeliveryRecords for Store {
    async fn claim(&self, id: &str, _: DateTime<Utc>, _: Duration) -> Result<Claim, StoreError> {
        let mut records = self.records.lock().unwrap();
        if records.contains_key(id) {
            return Ok(Claim::Done);
        }
        records.insert(id.to_string(), "pending".into());
        Ok(Claim::Claimed)
    }
    async fn complete(&self, log: &DeliveryLog) -> Result<(), StoreError> {
        self.records
            .lock()
            .unwrap()
            .insert(log.delivery_id.clone(), log.status.clone());
        Ok(())
    }
    async fn release(&self, id: &str) -> Result<(), StoreError> {
        self.records.lock().unwrap().remove(id);
        Ok(())
    }
}

/// Records what would have been sent; never fails.
#[derive(Default)]
struct Sent(Mutex<Vec<Channel>>);

impl Sender for Sent {
    async fn send(&self, channel: &Channel) -> Result<String, SendError> {
        let mut sent = self.0.lock().unwrap();
        sent.push(channel.clone());
        Ok(format!("provider-{}", sent.len()))
    }
}

fn ticket(config: &DomainConfig) -> Ticket {
    let at: DateTime<Utc> = "2026-11-20T02:00:00Z".parse().unwrap();
    let form = json!({
        "borrower": {"name": "Li Na", "email": "li.na@mail.example", "phone": "13912345678"},
        "product": "personal_loan",
        "text": "I was charged a hidden service fee that the contract never mentioned.",
        "consent_to_contact": true,
        "language": "en"
    });
    let complaint = Complaint::parse(&form, config, ParseMode::Submission, at).unwrap();
    let assessment = assess(config, &complaint, REF, at, &[]);
    let reference = redress_domain::reference::Reference::parse(REF).unwrap();
    open_ticket(&complaint, &reference, at, &assessment).0
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_./:+-]{0,24}",
        "\\PC{0,40}",
        (0u32..20).prop_map(|n| n.to_string()),
    ]
}

/// RFC 3339 times across chrono's whole range (where a time zone conversion could
/// overflow), and not-quite times.
fn time() -> impl Strategy<Value = String> {
    prop_oneof![
        (1990i32..2110, 1u32..13, 1u32..29)
            .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}T02:00:00Z")),
        fuzz::edge_time(),
        text(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    fuzz::json_value(
        text().boxed(),
        vec![
            (0i64..10).prop_map(Value::from).boxed(),
            text().prop_map(Value::from).boxed(),
            time().prop_map(Value::from).boxed(),
        ],
        2,
        12,
        4,
    )
}

/// Every kind of notification as its writers send it.
fn templates() -> Vec<Value> {
    let alert = |kind: &str, deadline: &str| {
        json!({
            "kind": kind, "reference": REF, "deadline": deadline, "team": "billing",
            "priority": "high", "due_at": "2026-11-21T01:00:00Z",
            "regulatory_due_at": "2026-11-22T01:00:00Z", "recorded_at": "2026-11-21T02:00:00Z",
            "event_seq": 2
        })
    };
    vec![
        json!({"kind": "acknowledgement", "reference": REF, "event_seq": 1,
               "notification_id": format!("{REF}:1:acknowledgement")}),
        json!({"kind": "resolution", "reference": REF, "event_seq": 4}),
        json!({"kind": "survey_invitation", "reference": REF, "event_seq": 4,
               "token": "t", "survey_path": "/survey?token=t",
               "expires_at": "2026-12-20T02:00:00Z", "language": "en"}),
        alert("deadline_warning", "acknowledge"),
        alert("deadline_breached", "resolve"),
    ]
}

const FIELDS: &[&str] = &[
    "kind",
    "reference",
    "event_seq",
    "notification_id",
    "deadline",
    "team",
    "priority",
    "due_at",
    "regulatory_due_at",
    "recorded_at",
    "token",
    "survey_path",
    "expires_at",
    "language",
];

fn body() -> impl Strategy<Value = Option<String>> {
    let changed = (
        prop::sample::select(templates()),
        prop::collection::vec((prop::sample::select(FIELDS), json_value()), 0..3),
        (0u32..1_000_000).prop_map(|n| format!("{REF}:{n}:fuzz")),
    )
        .prop_map(|(mut n, changes, id)| {
            // A fresh id each case, so each message is delivered, not found done.
            n["notification_id"] = json!(id);
            for (field, value) in changes {
                n[field] = value;
            }
            n.to_string()
        });
    prop_oneof![
        1 => Just(None),
        6 => changed.prop_map(Some),
        2 => json_value().prop_map(|v| Some(v.to_string())),
        1 => prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| Some(String::from_utf8_lossy(&b).into_owned())),
    ]
}

#[test]
fn no_message_body_panics_and_each_is_delivered_or_poison() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let domain = DomainConfig::bundled().unwrap();
    let mut store = Store::default();
    store.tickets.insert(REF.to_string(), ticket(&domain));
    let deps = NotifierDeps {
        config: Arc::new(NotifyConfig::bundled(&domain).unwrap()),
        links: Links {
            public_base_url: "https://complaints.redress.example".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        },
        store,
        sender: Sent::default(),
        clock: Arc::new(TestClock::at("2026-11-21T02:00:00Z".parse().unwrap())),
    };
    let mut runner = fuzz::runner(CASES, &SEED);
    let (done, poison) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    let result = runner.run(&body(), |body| {
        let mut message = SqsMessage::default();
        message.message_id = Some("fuzz".into());
        message.body = body.clone();
        let sent_before = deps.sender.0.lock().unwrap().len();
        let outcome = runtime.block_on(redress_notifier::process(&deps, &message));
        match &outcome {
            Outcome::Done(_) => done.set(done.get() + 1),
            Outcome::Poison { .. } => {
                poison.set(poison.get() + 1);
                let sent_after = deps.sender.0.lock().unwrap().len();
                prop_assert_eq!(sent_before, sent_after, "a poison message sent something");
            }
            Outcome::Transient { reason } => {
                return Err(TestCaseError::fail(format!(
                    "transient failure without a failing store or sender: {reason} for {body:?}"
                )))
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (done, poison) = (done.get(), poison.get());
    assert!(done > 50 && poison > 50, "done {done}, poison {poison}");
}
