//! The deadline sweeper end to end on the local stack: due index → consistent read →
//! alert recorded with its audit event in one transaction → notification on the queue.

use chrono::{Duration, Utc};
use redress_domain::config::DomainConfig;
use redress_domain::lifecycle::{apply, Action, ActionContext};
use redress_domain::ports::{SaveOutcome, TicketChange, TicketStore};
use redress_domain::ticket::AuditAction;
use redress_domain::ticket::{Actor, AuditEvent, ResolutionCode, Ticket};
use redress_domain::watch;
use redress_e2e::{complaint_form, spawn_app, TestApp};
use serde_json::{json, Value};

/// A complaint an agent enters `days_ago` days after it arrived by letter.
fn letter_received(days_ago: i64) -> Value {
    let mut form = complaint_form();
    form["channel"] = json!("letter");
    form["submitted_at"] = json!((Utc::now() - Duration::days(days_ago)).to_rfc3339());
    form
}

/// Receives (and deletes) every message on the notifications queue, and returns the
/// deadline notifications (intake's acknowledgements to borrowers are there too).
async fn take_notifications(app: &TestApp) -> Vec<Value> {
    let url = app.queue_url("NotificationsQueue");
    let mut bodies = Vec::new();
    loop {
        let out = app
            .pipeline
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive notifications");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            bodies.retain(|b: &Value| {
                b["kind"]
                    .as_str()
                    .is_some_and(|k| k.starts_with("deadline_"))
            });
            return bodies;
        }
        for m in messages {
            bodies.push(serde_json::from_str(m.body().unwrap()).expect("a JSON notification"));
            app.pipeline
                .sqs
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// Saves a team member's change to a ticket.
async fn save(app: &TestApp, before: &Ticket, after: &Ticket, event: AuditEvent) -> SaveOutcome {
    let events = [event];
    app.store
        .record_change(&TicketChange {
            before,
            after,
            events: &events,
            survey: None,
            now: Utc::now(),
            outbox: &[],
        })
        .await
        .expect("the change is saved")
}

/// True if the stored ticket item still carries due-index keys (consistent read).
async fn in_due_index(app: &TestApp, reference: &str) -> bool {
    let item = app
        .pipeline
        .ddb
        .get_item()
        .table_name(app.table())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("TICKET#{reference}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("TICKET".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("ticket item");
    item.contains_key("due_pk") || item.contains_key("due_sk")
}

#[tokio::test]
async fn a_breached_ticket_is_recorded_and_notified_once_however_often_the_sweeper_runs() {
    let app = spawn_app().await;
    let agent = app.token("agnes", &["customer_care"], false).await;
    let (reference, _) = app.enter_ok(&agent, &letter_received(20)).await;
    let (before, events) = app.wait_for_ticket(&reference).await;
    assert_eq!(events.len(), 1);
    assert!(in_due_index(&app, &reference).await);

    let now = Utc::now();
    assert!(
        before.deadlines.resolve_by < now,
        "both deadlines have passed"
    );
    let first = app.pipeline.sweep_now(now).await.unwrap();
    assert_eq!(first.due, 1, "{first:?}");
    assert_eq!(first.alerts_recorded, 2, "{first:?}");
    assert_eq!(first.notifications_sent, 2, "{first:?}");
    assert_eq!(
        (first.conflicts, first.failed, first.notifications_failed),
        (0, 0, 0)
    );
    assert_eq!(first.tickets_fetched, 1);

    let (after, history) = app.wait_for_ticket(&reference).await;
    let breaches: Vec<_> = history
        .iter()
        .filter(|e| e.action == AuditAction::DeadlineBreached)
        .collect();
    assert_eq!(breaches.len(), 2, "one breach per deadline: {history:?}");
    assert!(
        breaches[0]
            .detail
            .starts_with("acknowledgement deadline passed"),
        "{}",
        breaches[0].detail
    );
    assert!(
        breaches[1].detail.starts_with("resolution deadline passed"),
        "{}",
        breaches[1].detail
    );
    assert!(breaches.iter().all(|e| e.actor == Actor::system("sweeper")));
    assert!(
        history
            .iter()
            .all(|e| e.action != AuditAction::DeadlineWarning),
        "a warning is not sent once its breach is due"
    );
    assert_eq!(
        after.priority,
        watch::raised(watch::raised(before.priority))
    );
    assert_eq!(after.version, 3);
    assert!(after.deadline_marks.acknowledge_breached_at.is_some());
    assert!(after.deadline_marks.resolve_breached_at.is_some());
    assert!(
        !in_due_index(&app, &reference).await,
        "nothing more can fall due"
    );

    let notifications = take_notifications(&app).await;
    assert_eq!(notifications.len(), 2, "{notifications:?}");
    let mut deadlines: Vec<&str> = notifications
        .iter()
        .map(|n| n["deadline"].as_str().unwrap())
        .collect();
    deadlines.sort();
    assert_eq!(deadlines, ["acknowledge", "resolve"]);
    for n in &notifications {
        assert_eq!(n["kind"], "deadline_breached");
        assert_eq!(n["reference"], reference.as_str());
        assert_eq!(n["team"], after.team.as_str());
        assert_eq!(n["priority"], after.priority.as_str());
        assert!(n["due_at"].is_string() && n["recorded_at"].is_string());
        let text = n.to_string();
        for personal in [
            "Li Na",
            "13912345678",
            "C100234",
            "hidden service fee",
            "Refund",
        ] {
            assert!(
                !text.contains(personal),
                "personal data in a notification: {text}"
            );
        }
    }

    // Again at the same time and an hour later: nothing recorded, nothing sent.
    for later in [now, now + Duration::hours(1)] {
        let again = app.pipeline.sweep_now(later).await.unwrap();
        assert_eq!(
            (again.alerts_recorded, again.notifications_sent),
            (0, 0),
            "{again:?}"
        );
    }
    let (_, history_after) = app.wait_for_ticket(&reference).await;
    assert_eq!(history_after.len(), history.len());
    assert_eq!(app.queue_depth("NotificationsQueue").await.unwrap(), 0);
    app.stop().await;
}

#[tokio::test]
async fn the_sweep_reads_only_the_tickets_that_are_due() {
    let app = spawn_app().await;
    let agent = app.token("agnes", &["customer_care"], false).await;
    let (due_ref, _) = app.enter_ok(&agent, &letter_received(20)).await;
    let (fresh_ref, _) = app.submit_ok(&complaint_form()).await;
    app.wait_for_ticket(&due_ref).await;
    let (fresh, _) = app.wait_for_ticket(&fresh_ref).await;

    let now = Utc::now();
    let warning = DomainConfig::bundled().unwrap().sla.warning();
    let first_check = watch::next_check_at(&fresh, warning).expect("an open ticket is watched");
    assert!(first_check > now, "the fresh ticket has nothing due yet");
    assert!(in_due_index(&app, &fresh_ref).await);

    let report = app.pipeline.sweep_now(now).await.unwrap();
    assert_eq!(report.due, 1, "{report:?}");
    assert_eq!(
        report.index_items, 1,
        "the fresh ticket's entry is not even read"
    );
    assert_eq!(report.tickets_fetched, 1);
    assert_eq!(report.items_read, 2);
    let (unchanged, history) = app.wait_for_ticket(&fresh_ref).await;
    assert_eq!(unchanged.version, 1);
    assert_eq!(history.len(), 1);

    // Once its warning falls due, it is read, warned about, and notified once.
    let report = app.pipeline.sweep_now(first_check).await.unwrap();
    assert_eq!((report.due, report.alerts_recorded), (1, 1), "{report:?}");
    let notifications = take_notifications(&app).await;
    let warnings: Vec<_> = notifications
        .iter()
        .filter(|n| n["reference"] == fresh_ref.as_str())
        .collect();
    assert_eq!(warnings.len(), 1, "{notifications:?}");
    assert_eq!(warnings[0]["kind"], "deadline_warning");
    assert_eq!(warnings[0]["deadline"], "acknowledge");
    app.stop().await;
}

#[tokio::test]
async fn a_paused_or_resolved_ticket_leaves_the_due_index_and_is_not_swept() {
    let app = spawn_app().await;
    let config = DomainConfig::bundled().unwrap();
    let actor = Actor {
        id: "alice".into(),
        role: "member".into(),
    };
    let act = |ticket: &Ticket, action: Action| {
        apply(
            ticket,
            &action,
            &ActionContext {
                actor: &actor,
                now: Utc::now(),
                config: &config,
            },
        )
        .expect("a valid action")
    };
    let (paused_ref, _) = app.submit_ok(&complaint_form()).await;
    let (resolved_ref, _) = app.submit_ok(&complaint_form()).await;
    let (open_ref, _) = app.submit_ok(&complaint_form()).await;
    let (ticket, _) = app.wait_for_ticket(&paused_ref).await;
    let (paused, event) = act(
        &ticket,
        Action::Pause {
            reason: "waiting for bank statements".into(),
        },
    );
    assert_eq!(
        save(&app, &ticket, &paused, event).await,
        SaveOutcome::Saved
    );

    let (mut ticket, _) = app.wait_for_ticket(&resolved_ref).await;
    for action in [
        Action::Acknowledge,
        Action::StartAnalysis,
        Action::Resolve {
            code: ResolutionCode::Upheld,
            summary: "The fee is refunded.".into(),
        },
    ] {
        let (next, event) = act(&ticket, action);
        assert_eq!(save(&app, &ticket, &next, event).await, SaveOutcome::Saved);
        ticket = next;
    }
    app.wait_for_ticket(&open_ref).await;

    assert!(!in_due_index(&app, &paused_ref).await);
    assert!(!in_due_index(&app, &resolved_ref).await);
    assert!(in_due_index(&app, &open_ref).await);

    // Two months on, every deadline of the open ticket has passed; the other two are
    // neither read nor changed.
    let report = app
        .pipeline
        .sweep_now(Utc::now() + Duration::days(60))
        .await
        .unwrap();
    assert_eq!((report.due, report.tickets_fetched), (1, 1), "{report:?}");
    for (reference, version) in [(&paused_ref, 2), (&resolved_ref, 4)] {
        let (t, _) = app.wait_for_ticket(reference).await;
        assert_eq!(t.version, version, "{reference} untouched");
    }
    let notifications = take_notifications(&app).await;
    assert!(notifications
        .iter()
        .all(|n| n["reference"] == open_ref.as_str()));
    app.stop().await;
}
