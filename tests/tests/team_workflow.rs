//! Handling teams work their tickets end to end on the local stack: the audit trail as
//! DynamoDB stores it, optimistic concurrency under a real conditional write, and the
//! queue index. (Access control, refusals, pause/extend/transfer and masking are
//! handler logic: functions/api/tests/handlers.rs tests them in memory.)

use redress_domain::ticket::AuditAction;
use redress_e2e::{complaint_form, spawn_app, TestApp};
use serde_json::{json, Value};

/// A billing complaint, routed and ready; returns its reference.
async fn billing_ticket(app: &TestApp) -> String {
    let (reference, _) = app.submit_ok(&complaint_form()).await;
    let (ticket, _) = app.wait_for_ticket(&reference).await;
    assert_eq!(ticket.team, "billing");
    reference
}

fn actions(events: &Value) -> Vec<String> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_ticket_goes_through_every_stage_and_its_history_shows_each_event_once_in_order() {
    let app = spawn_app().await;
    let reference = billing_ticket(&app).await;
    let alice = app.token("alice", &["billing"], false).await;

    let v = app
        .act_ok(&alice, &reference, 1, json!({"action": "acknowledge"}))
        .await;
    let v = app
        .act_ok(&alice, &reference, v, json!({"action": "start_analysis"}))
        .await;
    let v = app
        .act_ok(
            &alice,
            &reference,
            v,
            json!({"action": "add_note", "text": "Called the borrower; fee confirmed."}),
        )
        .await;
    let v = app
        .act_ok(
            &alice,
            &reference,
            v,
            json!({"action": "resolve", "code": "upheld", "summary": "We refund the fee in full."}),
        )
        .await;
    let v = app
        .act_ok(
            &alice,
            &reference,
            v,
            json!({"action": "close", "reason": "borrower confirmed"}),
        )
        .await;
    assert_eq!(v, 6);

    let (status, body) = app
        .get_as(&alice, &format!("/tickets/{reference}/history"))
        .await;
    assert_eq!(status, 200);
    let events = &body["events"];
    assert_eq!(
        actions(events),
        [
            "received",
            "acknowledged",
            "analysis_started",
            "note_added",
            "resolved",
            "closed"
        ]
    );
    let seqs: Vec<u64> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    for e in &events.as_array().unwrap()[1..] {
        assert_eq!(e["actor"]["id"], "alice");
        assert_eq!(e["actor"]["role"], "team_member");
    }
    let ats: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_str().unwrap())
        .collect();
    assert!(
        ats.windows(2).all(|w| w[0] <= w[1]),
        "events in time order: {ats:?}"
    );

    let (_, ticket) = app.get_as(&alice, &format!("/tickets/{reference}")).await;
    assert_eq!(ticket["status"], "closed");
    assert!(
        ticket["acknowledged_at"].is_string()
            && ticket["resolved_at"].is_string()
            && ticket["closed_at"].is_string()
    );
    assert_eq!(ticket["resolution"]["code"], "upheld");
    app.stop().await;
}

#[tokio::test]
async fn of_two_concurrent_resolves_one_wins_and_the_other_gets_409() {
    let app = spawn_app().await;
    let reference = billing_ticket(&app).await;
    let alice = app.token("alice", &["billing"], false).await;
    let carol = app.token("carol", &["billing"], false).await;
    let v = app
        .act_ok(&alice, &reference, 1, json!({"action": "acknowledge"}))
        .await;
    let v = app
        .act_ok(&alice, &reference, v, json!({"action": "start_analysis"}))
        .await;

    let resolve =
        |summary: &str| json!({"action": "resolve", "code": "partly_upheld", "summary": summary});
    let (a, b) = tokio::join!(
        app.act(&alice, &reference, v, resolve("Alice's answer")),
        app.act(&carol, &reference, v, resolve("Carol's answer")),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let loser = if a.0 == 409 { &a.1 } else { &b.1 };
    assert_eq!(loser["error"], "version_conflict");
    assert_eq!(
        loser["current"]["status"], "resolved",
        "the loser sees the current state"
    );

    let (_, events) = app.wait_for_ticket(&reference).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == AuditAction::Resolved)
            .count(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn the_queue_lists_a_teams_open_tickets_by_nearest_deadline_with_filters_and_pages() {
    let app = spawn_app().await;
    let alice = app.token("alice", &["billing"], false).await;
    let mut refs = Vec::new();
    for days_ago in [1, 5, 3] {
        let mut form = complaint_form();
        form["submitted_at"] =
            json!((chrono::Utc::now() - chrono::Duration::days(days_ago)).to_rfc3339());
        // Backdated: entered by staff (the public route refuses submitted_at).
        let (reference, _) = app.enter_ok(&alice, &form).await;
        app.wait_for_ticket(&reference).await;
        refs.push(reference);
    }
    // Oldest receipt = nearest deadline first.
    let expected = [refs[1].clone(), refs[2].clone(), refs[0].clone()];
    let (status, page1) = app.get_as(&alice, "/tickets?limit=2").await;
    assert_eq!(status, 200, "{page1}");
    let cursor = page1["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_string();
    let (_, page2) = app
        .get_as(&alice, &format!("/tickets?limit=2&cursor={cursor}"))
        .await;
    let listed: Vec<&str> = page1["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["tickets"].as_array().unwrap())
        .map(|t| t["reference"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(page2["next_cursor"].is_null());
    // The cursor is signed for this queue and these filters: reused with other filters,
    // or edited, it is refused before DynamoDB sees it.
    for target in [
        format!("/tickets?limit=2&status=received&cursor={cursor}"),
        format!("/tickets?limit=2&cursor={}", &cursor[1..]),
    ] {
        let (status, body) = app.get_as(&alice, &target).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_cursor")),
            "{target}"
        );
    }
    // No contact details or complaint text in the queue.
    assert!(
        !page1.to_string().contains("Li Na") && !page1.to_string().contains("hidden service fee")
    );

    // The 5-day-old one is past its acknowledgement deadline: overdue.
    let (_, overdue) = app.get_as(&alice, "/tickets?overdue=true").await;
    let overdue: Vec<&str> = overdue["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap())
        .collect();
    assert!(overdue.contains(&refs[1].as_str()), "{overdue:?}");
    assert!(!overdue.contains(&refs[0].as_str()));

    let v = app
        .act_ok(&alice, &refs[0], 1, json!({"action": "acknowledge"}))
        .await;
    assert_eq!(v, 2);
    let (_, acked) = app.get_as(&alice, "/tickets?status=acknowledged").await;
    assert_eq!(acked["tickets"].as_array().unwrap().len(), 1);
    assert_eq!(app.get_as(&alice, "/tickets?status=flying").await.0, 400);
    assert_eq!(app.get_as(&alice, "/tickets?cursor=garbage").await.0, 400);
    app.stop().await;
}
