//! The sweeper's handler against the in-memory store and notifier: what is recorded and
//! sent for a due ticket, once, and how conflicts and failed sends are counted. (The due
//! index itself is a DynamoDB index: the end-to-end tests in `tests/` prove it.)

use chrono::{DateTime, Duration, Utc};
use redress_domain::assess::{assess, open_ticket};
use redress_domain::complaint::{Complaint, ParseMode};
use redress_domain::config::DomainConfig;
use redress_domain::ports::{NotificationKind, StoreFailure};
use redress_domain::reference::Reference;
use redress_domain::taxonomy::Priority;
use redress_domain::ticket::AuditAction;
use redress_memory::{MemoryQueues, MemoryStore};
use redress_sweeper::SweeperDeps;
use serde_json::json;
use std::sync::Arc;

mod common;
use common::Store;

const REFERENCE: &str = "RD-261101-7KQ2M9XA";

fn received() -> DateTime<Utc> {
    "2026-11-01T02:00:00Z".parse().unwrap()
}

fn deps() -> SweeperDeps<Store, MemoryQueues> {
    let config = Arc::new(DomainConfig::bundled().unwrap());
    let store = MemoryStore::new().with_config(&config);
    let form = json!({
        "borrower": {"name": "Li Na", "phone": "13912345678"},
        "product": "personal_loan",
        "text": "I was charged a hidden service fee that the contract never mentioned.",
        "consent_to_contact": true
    });
    let complaint = Complaint::parse(&form, &config, ParseMode::Submission, received()).unwrap();
    let reference = Reference::parse(REFERENCE).unwrap();
    let assessment = assess(&config, &complaint, REFERENCE, received(), &[]);
    let (ticket, event) = open_ticket(&complaint, &reference, received(), &assessment);
    store.insert_ticket(ticket, vec![event]);
    SweeperDeps {
        warning: config.sla.warning(),
        config,
        store: Store(store),
        notifier: MemoryQueues::new(),
        per_shard: 10,
        concurrency: 4,
    }
}

fn actions(deps: &SweeperDeps<Store, MemoryQueues>) -> Vec<AuditAction> {
    let (_, events) = deps.store.0.stored_ticket(REFERENCE).unwrap();
    events.into_iter().map(|e| e.action).collect()
}

#[tokio::test]
async fn nothing_is_due_before_the_warning_window() {
    let deps = deps();
    let report = redress_sweeper::handle(&deps, received() + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!((report.due, report.alerts_recorded), (0, 0));
    assert!(deps.notifier.notifications().is_empty());
    assert_eq!(actions(&deps), [AuditAction::Received]);
}

#[tokio::test]
async fn a_breach_is_recorded_and_notified_once_however_often_the_sweeper_runs() {
    let deps = deps();
    let now = received() + Duration::days(40);
    let first = redress_sweeper::handle(&deps, now).await.unwrap();
    assert_eq!(
        (first.due, first.alerts_recorded, first.notifications_sent),
        (1, 2, 2)
    );
    assert_eq!(
        actions(&deps),
        [
            AuditAction::Received,
            AuditAction::DeadlineBreached,
            AuditAction::DeadlineBreached
        ]
    );
    let sent = deps.notifier.notifications();
    assert_eq!(sent.len(), 2);
    assert!(sent
        .iter()
        .all(|n| n.kind == NotificationKind::DeadlineBreached && n.reference == REFERENCE));
    assert_eq!(sent[0].fields["team"], "billing");
    let text = serde_json::to_string(&sent).unwrap();
    assert!(
        !text.contains("13912345678") && !text.contains("Li Na"),
        "{text}"
    );
    let (ticket, _) = deps.store.0.stored_ticket(REFERENCE).unwrap();
    assert!(
        ticket.priority > Priority::Normal,
        "a breach raises the priority"
    );

    for later in [now, now + Duration::days(1)] {
        let again = redress_sweeper::handle(&deps, later).await.unwrap();
        assert_eq!((again.due, again.alerts_recorded), (0, 0), "{again:?}");
    }
    assert_eq!(deps.notifier.notifications().len(), 2);
}

#[tokio::test]
async fn a_warning_comes_before_its_breach() {
    let deps = deps();
    let ticket = deps.store.0.stored_ticket(REFERENCE).unwrap().0;
    let warn_at = ticket.deadlines.acknowledge_by - deps.warning + Duration::minutes(1);
    let report = redress_sweeper::handle(&deps, warn_at).await.unwrap();
    assert_eq!(report.alerts_recorded, 1, "{report:?}");
    assert_eq!(
        deps.notifier.notifications()[0].kind,
        NotificationKind::DeadlineWarning
    );
    assert_eq!(
        actions(&deps),
        [AuditAction::Received, AuditAction::DeadlineWarning]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_send_is_retried_then_counted_and_the_alert_stays_recorded() {
    let deps = deps();
    for _ in 0..3 {
        deps.notifier.fail_next(StoreFailure::Throttled {
            code: "RequestThrottled".into(),
        });
    }
    let report = redress_sweeper::handle(&deps, received() + Duration::days(40))
        .await
        .unwrap();
    assert_eq!(report.alerts_recorded, 2);
    // Three attempts for the first notification fail; the second goes through.
    assert_eq!(
        (report.notifications_failed, report.notifications_sent),
        (1, 1)
    );
    assert_eq!(deps.notifier.notifications().len(), 1);
}

#[tokio::test]
async fn a_run_that_cannot_read_the_store_fails_and_the_next_run_takes_what_is_due() {
    let deps = deps();
    let now = received() + Duration::days(40);
    deps.store
        .0
        .fail_next(StoreFailure::Unreachable("timed out".into()));
    assert!(redress_sweeper::handle(&deps, now).await.is_err());
    assert!(deps.notifier.notifications().is_empty());
    let retry = redress_sweeper::handle(&deps, now).await.unwrap();
    assert_eq!(retry.alerts_recorded, 2, "the next run takes it");
}
