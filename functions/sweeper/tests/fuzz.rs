//! Arbitrary scheduled events and run times for the sweeper, on the in-memory store
//! holding one open ticket: the event either reads as EventBridge's scheduled event or is
//! refused by the runtime's deserializer (no panic either way), and a sweep at any time
//! in the supported range (2000–2100) succeeds, records each alert once, and a second
//! run at the same time records nothing. Fixed seed and case count.

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use redress_domain::assess::{assess, open_ticket};
use redress_domain::complaint::{Complaint, ParseMode};
use redress_domain::config::DomainConfig;
use redress_domain::dates;
use redress_domain::reference::Reference;
use redress_domain::ticket::{AuditEvent, Ticket};
use redress_memory::fuzz;
use redress_memory::{MemoryQueues, MemoryStore};
use redress_sweeper::{ScheduledEvent, SweeperDeps};
use serde_json::{json, Value};
use std::sync::Arc;

mod common;
use common::Store;

const CASES: u32 = 300;
const SEED: [u8; 32] = *b"redress-sweeper-fuzz-seed-2026-1";
const REFERENCE: &str = "RD-261101-7KQ2M9XA";

fn open(config: &DomainConfig) -> (Ticket, AuditEvent) {
    let received: DateTime<Utc> = "2026-11-01T02:00:00Z".parse().unwrap();
    let form = json!({
        "borrower": {"name": "Li Na", "phone": "13912345678"},
        "product": "personal_loan",
        "text": "I was charged a hidden service fee that the contract never mentioned.",
        "consent_to_contact": true
    });
    let complaint = Complaint::parse(&form, config, ParseMode::Submission, received).unwrap();
    let reference = Reference::parse(REFERENCE).unwrap();
    let assessment = assess(config, &complaint, REFERENCE, received, &[]);
    open_ticket(&complaint, &reference, received, &assessment)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9_.:+-]{0,24}", "\\PC{0,40}"]
}

fn json_value() -> impl Strategy<Value = Value> {
    fuzz::json_value(
        text().boxed(),
        vec![
            text().prop_map(Value::from).boxed(),
            fuzz::edge_time().prop_map(Value::from).boxed(),
        ],
        2,
        12,
        4,
    )
}

/// EventBridge's scheduled event with some fields replaced, or anything at all.
fn event() -> impl Strategy<Value = Value> {
    let fields = prop::sample::select(vec![
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
        "other",
    ]);
    let scheduled = prop::collection::vec((fields, json_value()), 0..4).prop_map(|changes| {
        let mut e = json!({
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2026-11-21T02:00:00Z",
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/redress-sweep"],
            "detail": {}
        });
        for (field, value) in changes {
            e[field] = value;
        }
        e
    });
    prop_oneof![4 => scheduled, 1 => json_value()]
}

/// Any second from 2000-01-01 to 2100-12-31.
fn now() -> impl Strategy<Value = DateTime<Utc>> {
    let start = dates::EARLIEST
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    let end = dates::LATEST
        .and_hms_opt(23, 59, 59)
        .unwrap()
        .and_utc()
        .timestamp();
    (start..=end).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
}

#[test]
fn no_scheduled_event_or_run_time_panics_and_alerts_are_recorded_once() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Arc::new(DomainConfig::bundled().unwrap());
    let (ticket, first) = open(&config);
    let mut runner = fuzz::runner(CASES, &SEED);
    let recorded = std::cell::Cell::new(0usize);
    let result = runner.run(&(event(), now()), |(event, now)| {
        // The runtime deserializes the event before the handler sees it; the handler
        // ignores its contents and sweeps at the clock's time.
        let _ = serde_json::from_value::<ScheduledEvent>(event);
        let store = MemoryStore::new().with_config(&config);
        store.insert_ticket(ticket.clone(), vec![first.clone()]);
        let deps = SweeperDeps {
            warning: config.sla.warning(),
            config: Arc::clone(&config),
            store: Store(store),
            notifier: MemoryQueues::new(),
            per_shard: 10,
            concurrency: 4,
        };
        let report = runtime
            .block_on(redress_sweeper::handle(&deps, now))
            .map_err(|e| TestCaseError::fail(format!("sweep at {now} failed: {e}")))?;
        prop_assert_eq!(report.failed, 0);
        prop_assert_eq!(report.notifications_failed, 0);
        prop_assert_eq!(report.notifications_sent, report.alerts_recorded);
        recorded.set(recorded.get() + report.alerts_recorded);
        let again = runtime
            .block_on(redress_sweeper::handle(&deps, now))
            .map_err(|e| TestCaseError::fail(format!("second sweep at {now} failed: {e}")))?;
        prop_assert_eq!(
            again.alerts_recorded,
            0,
            "a second run at {} recorded again",
            now
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(recorded.get() > 0, "no run found anything due");
}
