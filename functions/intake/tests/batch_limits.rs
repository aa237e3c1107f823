//! What intake does when things go wrong around a message rather than in it: a
//! configuration fault, a transient conflict, and the invocation's deadline. In-memory
//! store, a clock the test moves, and real SQS event JSON.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, Duration, Utc};
use redress_domain::assess::ComplaintMessage;
use redress_domain::borrower::BorrowerKeyer;
use redress_domain::config::DomainConfig;
use redress_domain::ports::{Clock, StoreFailure, SubmissionLog, TestClock};
use redress_intake::{handle_within, IntakeDeps, Invocation, RetryPolicy};
use redress_memory::{MemoryQueues, MemoryStore};
use serde_json::json;
use std::sync::{Arc, Mutex};

fn deps() -> IntakeDeps<MemoryStore, MemoryQueues> {
    let config = Arc::new(DomainConfig::bundled().unwrap());
    IntakeDeps {
        store: MemoryStore::new().with_config(&config),
        keyer: BorrowerKeyer::new(b"borrower-key"),
        notifier: MemoryQueues::new(),
        config,
    }
}

fn t0() -> DateTime<Utc> {
    "2026-12-02T02:00:00Z".parse().unwrap()
}

fn complaint(i: usize) -> ComplaintMessage {
    ComplaintMessage {
        reference: format!("RD-261202-7KQ2M9{:02}", i),
        received_at: t0(),
        form: json!({
            "borrower": {"name": "Li Na", "phone": format!("139123456{:02}", i)},
            "product": "personal_loan",
            "text": "I was charged a hidden service fee that the contract never mentioned.",
            "consent_to_contact": true
        }),
    }
}

/// A batch of `n` good complaints, as the event source delivers it.
fn batch(n: usize) -> SqsEvent {
    let mut event = SqsEvent::default();
    for i in 0..n {
        let mut m = SqsMessage::default();
        m.message_id = Some(format!("m{i}"));
        m.body = Some(serde_json::to_string(&complaint(i)).unwrap());
        event.records.push(m);
    }
    event
}

fn failed_ids(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// Quick pauses, so a test retries in milliseconds.
fn quick(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        base: std::time::Duration::from_millis(2),
        max_delay: std::time::Duration::from_millis(8),
        budget: std::time::Duration::from_millis(50),
    }
}

fn invocation(
    clock: &dyn Clock,
    deadline: Option<DateTime<Utc>>,
    retry: RetryPolicy,
) -> Invocation<'_> {
    Invocation {
        deadline,
        margin: Duration::seconds(5),
        retry,
        clock,
    }
}

fn contention() -> StoreFailure {
    StoreFailure::Contention
}

#[tokio::test]
async fn a_configuration_fault_fails_the_whole_invocation_and_dead_letters_nothing() {
    let deps = deps();
    let clock = TestClock::at(t0());
    deps.store.fail_next_call_to(
        "create ticket",
        StoreFailure::Misconfigured {
            code: "AccessDeniedException".into(),
            message: "not authorized to perform dynamodb:TransactWriteItems".into(),
        },
    );
    let fault = handle_within(&deps, &batch(3), &invocation(&clock, None, quick(4)))
        .await
        .expect_err("the invocation fails");
    assert!(fault.reason.contains("AccessDeniedException"), "{fault}");
    assert!(deps.store.tickets().is_empty());
    // It stopped at the first message: the others would only meet the same fault.
    let creates = deps
        .store
        .calls()
        .iter()
        .filter(|c| **c == "create ticket")
        .count();
    assert_eq!(creates, 1);

    // Outside Lambda, `handle` reports every message as failed: what SQS makes of a
    // failed invocation. None was judged poison.
    deps.store.fail_next_call_to(
        "create ticket",
        StoreFailure::Misconfigured {
            code: "ResourceNotFoundException".into(),
            message: "table not found".into(),
        },
    );
    let response = redress_intake::handle(&deps, batch(3)).await;
    assert_eq!(failed_ids(&response), ["m0", "m1", "m2"]);

    // Once the fault is fixed, the same messages succeed.
    let report = handle_within(&deps, &batch(3), &invocation(&clock, None, quick(4)))
        .await
        .unwrap();
    assert!(report.response.batch_item_failures.is_empty());
    assert_eq!(deps.store.tickets().len(), 3);
}

#[tokio::test]
async fn a_conflict_on_the_counters_is_retried_in_the_function_not_handed_to_sqs() {
    let deps = deps();
    let clock = TestClock::at(t0());
    deps.store.fail_next_call_to("create ticket", contention());
    deps.store.fail_next_call_to("create ticket", contention());
    let report = handle_within(&deps, &batch(2), &invocation(&clock, None, quick(4)))
        .await
        .unwrap();
    assert!(report.response.batch_item_failures.is_empty());
    assert_eq!(
        (report.retries, report.retried_messages, report.transient),
        (2, 1, 0)
    );
    assert_eq!(deps.store.tickets().len(), 2);
    let (_, events) = deps.store.stored_ticket(&complaint(0).reference).unwrap();
    assert_eq!(events.len(), 1, "one first event, however many attempts");
}

#[tokio::test]
async fn a_conflict_that_outlasts_the_retry_budget_goes_back_to_sqs() {
    let deps = deps();
    let clock = TestClock::at(t0());
    for _ in 0..5 {
        deps.store.fail_next_call_to("create ticket", contention());
    }
    let report = handle_within(&deps, &batch(2), &invocation(&clock, None, quick(3)))
        .await
        .unwrap();
    // Three attempts for m0 (two retries), then SQS's turn; m1 meets the last two
    // conflicts and succeeds on its third attempt.
    assert_eq!(failed_ids(&report.response), ["m0"]);
    assert_eq!((report.retries, report.transient), (4, 1));
    assert!(deps.store.stored_ticket(&complaint(0).reference).is_none());
    assert!(deps.store.stored_ticket(&complaint(1).reference).is_some());
}

#[tokio::test]
async fn no_retry_pause_runs_into_the_deadline_margin() {
    let deps = deps();
    let clock = TestClock::at(t0());
    deps.store.fail_next_call_to("create ticket", contention());
    // 5 s margin + 1 ms: a message may start, but no pause fits before the margin.
    let deadline = t0() + Duration::seconds(5) + Duration::milliseconds(1);
    let report = handle_within(
        &deps,
        &batch(1),
        &invocation(&clock, Some(deadline), quick(4)),
    )
    .await
    .unwrap();
    assert_eq!(failed_ids(&report.response), ["m0"]);
    assert_eq!(report.retries, 0);
}

/// A clock that moves on by `step` every time it is read: each message "takes" a step.
struct SteppingClock {
    now: Mutex<DateTime<Utc>>,
    step: Duration,
}

impl Clock for SteppingClock {
    fn now(&self) -> DateTime<Utc> {
        let mut now = self.now.lock().unwrap();
        let shown = *now;
        *now += self.step;
        shown
    }
}

#[tokio::test]
async fn near_the_deadline_intake_starts_no_new_message_and_reports_only_the_unstarted() {
    let deps = deps();
    // Bad message m1 fails by itself; the deadline stops the batch after m5.
    let mut event = batch(10);
    event.records[1].body = Some("not a complaint".into());
    let clock = SteppingClock {
        now: Mutex::new(t0()),
        step: Duration::seconds(1),
    };
    // Read at t0, t0+1s …: 11 s to go and a 5 s margin, so m0..m5 start (at t0..t0+5s)
    // and m6 (at t0+6s) would start inside the margin.
    let deadline = t0() + Duration::seconds(11);
    let report = handle_within(&deps, &event, &invocation(&clock, Some(deadline), quick(4)))
        .await
        .unwrap();
    assert_eq!(report.processed, 6);
    assert_eq!(report.not_started, 4);
    assert_eq!(failed_ids(&report.response), ["m1", "m6", "m7", "m8", "m9"]);
    let stored: Vec<String> = deps
        .store
        .tickets()
        .iter()
        .map(|t| t.reference.to_string())
        .collect();
    assert_eq!(stored.len(), 5, "{stored:?}");
    for i in [0, 2, 3, 4, 5] {
        assert!(stored.contains(&complaint(i).reference), "{i}");
    }

    // With the deadline already inside the margin, nothing starts and nothing is lost.
    let late = SteppingClock {
        now: Mutex::new(deadline),
        step: Duration::zero(),
    };
    let report = handle_within(
        &deps,
        &batch(3),
        &invocation(&late, Some(deadline), quick(4)),
    )
    .await
    .unwrap();
    assert_eq!((report.processed, report.not_started), (0, 3));
    assert_eq!(failed_ids(&report.response), ["m0", "m1", "m2"]);
}

#[tokio::test]
async fn the_ticket_clears_the_accepted_record_and_a_failed_clear_fails_nothing() {
    let deps = deps();
    let clock = TestClock::at(t0());
    for i in 0..2 {
        deps.store
            .record_accepted(&complaint(i), t0())
            .await
            .unwrap();
    }
    deps.store.fail_next_call_to(
        "clear accepted",
        StoreFailure::Unavailable {
            code: "InternalServerError".into(),
        },
    );
    let report = handle_within(&deps, &batch(2), &invocation(&clock, None, quick(4)))
        .await
        .unwrap();
    assert!(report.response.batch_item_failures.is_empty());
    // m0's clear failed: its record stays for reconcile, which finds the ticket.
    let left: Vec<String> = deps.store.accepted().into_keys().collect();
    assert_eq!(left, [complaint(0).reference]);

    // A redelivery of m0 finds the ticket and clears the record.
    let mut again = batch(1);
    again.records[0].message_id = Some("m0-again".into());
    handle_within(&deps, &again, &invocation(&clock, None, quick(4)))
        .await
        .unwrap();
    assert!(deps.store.accepted().is_empty());
}
