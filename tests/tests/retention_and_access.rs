//! Retention, legal hold and the access audit log on the local stack (DynamoDB Local):
//! the TTLs DynamoDB would act on, as stored, and the records of who saw what.

use chrono::{DateTime, Duration, Utc};
use redress_domain::ports::{AccessKind, AccessLog, SaveOutcome, TicketChange, TicketStore};
use redress_domain::ticket::{Actor, AuditAction, AuditEvent, TicketStatus};
use redress_e2e::{complaint_form, spawn_app, TestApp};
use serde_json::json;

/// `expires_at` of every item of the ticket's partition, by sort key.
async fn expiries(app: &TestApp, reference: &str) -> Vec<(String, Option<i64>)> {
    let mut items: Vec<(String, Option<i64>)> = app
        .items_with_pk_prefix(&format!("TICKET#{reference}"))
        .await
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["sk"].as_s().unwrap().clone(),
                item.get("expires_at")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok()),
            )
        })
        .filter(|(sk, _)| sk == "TICKET" || sk.starts_with("EVENT#"))
        .collect();
    items.sort();
    items
}

fn all(expiries: &[(String, Option<i64>)], expected: Option<i64>) -> bool {
    !expiries.is_empty() && expiries.iter().all(|(_, e)| *e == expected)
}

#[tokio::test]
async fn retention_counts_from_closure_and_a_legal_hold_stops_it() {
    let app = spawn_app().await;
    let (reference, _) = app.submit_ok(&complaint_form()).await;
    app.wait_for_ticket(&reference).await;
    let open = expiries(&app, &reference).await;
    assert!(
        all(&open, None),
        "an open ticket and its history never expire: {open:?}"
    );

    let alice = app.token("alice", &["billing"], false).await;
    let mut v = 1;
    for action in [
        json!({"action": "acknowledge"}),
        json!({"action": "start_analysis"}),
        json!({"action": "resolve", "code": "upheld", "summary": "Refunded."}),
    ] {
        v = app.act_ok(&alice, &reference, v, action).await;
    }
    assert!(
        all(&expiries(&app, &reference).await, None),
        "resolved is not closed"
    );
    v = app
        .act_ok(
            &alice,
            &reference,
            v,
            json!({"action": "close", "reason": "confirmed"}),
        )
        .await;
    let (ticket, _) = app.wait_for_ticket(&reference).await;
    let closed_at: DateTime<Utc> = ticket.closed_at.expect("closed");
    let due = (closed_at + Duration::days(2555)).timestamp();
    let closed = expiries(&app, &reference).await;
    assert!(
        all(&closed, Some(due)),
        "closure + RETENTION_DAYS, history included: {closed:?}"
    );

    // Reopened (as a "not solved" survey answer does): open again, no expiry.
    let (closed_ticket, _) = app.wait_for_ticket(&reference).await;
    assert_eq!(closed_ticket.version, v);
    let mut reopened = closed_ticket.clone();
    reopened.status = TicketStatus::Reopened;
    reopened.version += 1;
    let event = AuditEvent {
        reference: reopened.reference.clone(),
        seq: reopened.version,
        at: Utc::now(),
        actor: Actor::system("surveys"),
        action: AuditAction::SurveyNotSolvedReopened,
        from_status: Some(TicketStatus::Closed),
        to_status: TicketStatus::Reopened,
        detail: "not solved".into(),
        correction: None,
    };
    let change = TicketChange {
        before: &closed_ticket,
        after: &reopened,
        events: std::slice::from_ref(&event),
        survey: None,
        now: Utc::now(),
        outbox: &[],
    };
    assert_eq!(
        app.store.record_change(&change).await.unwrap(),
        SaveOutcome::Saved
    );
    v = reopened.version;
    assert!(
        all(&expiries(&app, &reference).await, None),
        "reopened: open again"
    );
    v = app
        .act_ok(&alice, &reference, v, json!({"action": "start_analysis"}))
        .await;
    v = app
        .act_ok(
            &alice,
            &reference,
            v,
            json!({"action": "resolve", "code": "upheld", "summary": "Again."}),
        )
        .await;
    v = app
        .act_ok(
            &alice,
            &reference,
            v,
            json!({"action": "close", "reason": "done"}),
        )
        .await;
    let reclosed = app.wait_for_ticket(&reference).await.0.closed_at.unwrap();
    assert!(reclosed > closed_at);
    let due = (reclosed + Duration::days(2555)).timestamp();
    assert!(
        all(&expiries(&app, &reference).await, Some(due)),
        "from the last closure"
    );

    // `redress hold set` (the CLI's own code, on the same table).
    let now = Utc::now();
    let held = redress_cli::hold::apply(&app.store, &reference, true, "lex", "court order 17", now)
        .await
        .unwrap();
    assert_eq!(
        held,
        redress_cli::hold::HoldOutcome::Changed {
            version: v + 1,
            expires_at: None
        }
    );
    assert!(
        all(&expiries(&app, &reference).await, None),
        "held: nothing expires"
    );
    let again = redress_cli::hold::apply(&app.store, &reference, true, "lex", "again", now)
        .await
        .unwrap();
    assert_eq!(again, redress_cli::hold::HoldOutcome::Unchanged);
    redress_cli::hold::apply(&app.store, &reference, false, "lex", "settled", now)
        .await
        .unwrap();
    assert!(
        all(&expiries(&app, &reference).await, Some(due)),
        "released: from closure again"
    );

    let (_, events) = app.wait_for_ticket(&reference).await;
    let holds: Vec<(String, String)> = events
        .iter()
        .filter(|e| e.action.as_str().starts_with("legal_hold"))
        .map(|e| (e.action.as_str().to_string(), e.actor.id.clone()))
        .collect();
    assert_eq!(
        holds,
        [
            ("legal_hold_set".to_string(), "lex".to_string()),
            ("legal_hold_cleared".to_string(), "lex".to_string())
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn staff_entries_and_unmasked_views_are_in_the_access_log() {
    let app = spawn_app().await;
    let alice = app.token("alice", &["billing"], false).await;
    let mut letter = complaint_form();
    letter["channel"] = json!("letter");
    let earlier = Utc::now() - Duration::days(2);
    letter["submitted_at"] = json!(earlier.to_rfc3339());
    // The public route refuses it; the staff route takes it.
    let (status, body) = app.submit(&letter).await;
    assert_eq!(status, 422, "{body}");
    let response = reqwest::Client::new()
        .post(app.url("/tickets/entered"))
        .bearer_auth(&alice)
        .header("Idempotency-Key", "letter-1")
        .json(&letter)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    assert!(response.headers().contains_key("strict-transport-security"));
    let body: serde_json::Value = response.json().await.unwrap();
    let reference = body["reference"].as_str().unwrap().to_string();
    let (ticket, _) = app.wait_for_ticket(&reference).await;
    assert_eq!(ticket.channel, redress_domain::Channel::Letter);
    assert_eq!(ticket.received_at.timestamp(), earlier.timestamp());

    let carl = app
        .token_in("carl", &["team-billing".into(), "contact-access".into()])
        .await;
    let (status, masked) = app.get_as(&alice, &format!("/tickets/{reference}")).await;
    assert_eq!(status, 200);
    assert!(!masked.to_string().contains("C100234"), "{masked}");
    let (status, shown) = app.get_as(&carl, &format!("/tickets/{reference}")).await;
    assert_eq!(status, 200);
    assert!(shown.to_string().contains("C100234"));

    let records = app.store.access_records(&reference).await.unwrap();
    let seen: Vec<(AccessKind, String)> = records
        .iter()
        .map(|r| (r.kind, r.actor.id.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (AccessKind::Entered, "alice".to_string()),
            (AccessKind::ContactViewed, "carl".to_string())
        ]
    );
    app.stop().await;
}
