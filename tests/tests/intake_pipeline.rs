//! The intake pipeline end to end on the local stack: HTTP → SQS → intake → DynamoDB.

use redress_domain::assess::ComplaintMessage;
use redress_domain::taxonomy::{Priority, Signal};
use redress_domain::ticket::AuditAction;
use redress_domain::ticket::TicketStatus;
use redress_e2e::{complaint_form, spawn_app};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_complaint_is_routed_to_the_right_team_with_correct_deadlines() {
    let app = spawn_app().await;
    let mut form = complaint_form();
    form["language"] = json!("zh");
    form["channel"] = json!("phone");
    // An agent enters a phone complaint received on Friday 20 November 2026, 10:00 Beijing time.
    form["submitted_at"] = json!("2026-11-20T10:00:00+08:00");
    form["text"] =
        json!("催收员每天打电话骚扰我的家人和同事，还威胁说要上门，我要求停止这种暴力催收。");
    // The public route refuses both fields; the staff route takes them.
    let (status, body) = app.submit(&form).await;
    assert_eq!(status, 422, "{body}");
    let agent = app.token("agnes", &["customer_care"], false).await;
    let (reference, _) = app.enter_ok(&agent, &form).await;

    let (ticket, events) = app.wait_for_ticket(&reference).await;
    assert_eq!(ticket.channel, redress_domain::Channel::Phone);
    assert_eq!(ticket.category, "collection_conduct");
    assert_eq!(ticket.team, "conduct_compliance");
    assert_eq!(ticket.priority, Priority::High);
    assert!(
        ticket.signals.contains(&Signal::Threat),
        "{:?}",
        ticket.signals
    );
    assert_eq!(ticket.status, TicketStatus::Received);
    assert_eq!(ticket.deadlines.policy, "cn-2020");
    // cn-2020: decision within 15 calendar days of receipt, ending 23:59:59 Beijing time
    // on 5 December (= 15:59:59 UTC); acknowledgement within 2 calendar days.
    assert_eq!(
        ticket.deadlines.regulatory_resolve_by.to_rfc3339(),
        "2026-12-05T15:59:59+00:00"
    );
    assert_eq!(
        ticket.deadlines.regulatory_acknowledge_by.to_rfc3339(),
        "2026-11-22T15:59:59+00:00"
    );
    // High priority shortens the internal targets, never past the regulatory ones.
    assert!(ticket.deadlines.resolve_by < ticket.deadlines.regulatory_resolve_by);
    assert!(ticket.deadlines.acknowledge_by <= ticket.deadlines.regulatory_acknowledge_by);
    assert!(ticket.deadlines.acknowledge_by > ticket.received_at);
    assert!(!ticket.repeat.is_repeat());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, AuditAction::Received);
    app.stop().await;
}

#[tokio::test]
async fn the_borrower_sees_status_team_and_deadlines_with_the_secret_only() {
    let app = spawn_app().await;
    let (reference, secret) = app.submit_ok(&complaint_form()).await;
    app.wait_for_ticket(&reference).await;

    let response = app
        .http
        .get(app.url(&format!("/complaints/{reference}")))
        .header("X-Status-Secret", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "deadlines",
            "received_at",
            "reference",
            "status",
            "status_label",
            "team"
        ]
    );
    assert_eq!(body["team"]["en"], "Billing");
    assert_eq!(body["status"], "received");
    assert!(body["deadlines"]["resolve_by"].is_string());
    assert!(
        !body.to_string().contains("Li Na"),
        "no personal data in the status"
    );

    // Never in a URL (logs, histories, Referer keep it), and a wrong one finds nothing.
    let by_query = app
        .http
        .get(app.url(&format!("/complaints/{reference}")))
        .query(&[("secret", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 400);
    let wrong = app
        .http
        .get(app.url(&format!("/complaints/{reference}")))
        .header("X-Status-Secret", "AAAA-BBBB-CCCC-DDDD")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn the_same_message_delivered_twice_creates_one_ticket_and_one_audit_event() {
    let app = spawn_app().await;
    let message = ComplaintMessage {
        reference: "RD-261123-D0PE11CA".to_string(),
        received_at: chrono::Utc::now(),
        form: complaint_form(),
    };
    let body = serde_json::to_string(&message).unwrap();
    for _ in 0..2 {
        app.pipeline
            .sqs
            .send_message()
            .queue_url(app.queue_url("ComplaintsQueue"))
            .message_body(&body)
            .send()
            .await
            .unwrap();
    }
    let (_, events) = app.wait_for_ticket(&message.reference).await;
    // Both deliveries are consumed (neither is retried) …
    app.wait_for_depth("ComplaintsQueue", 0, Duration::from_secs(15))
        .await
        .unwrap();
    // … and only one ticket, one event and one index entry per identifier exist.
    let (_, events_after) = app.wait_for_ticket(&message.reference).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events_after.len(), 1);
    let tickets = app.items_with_pk_prefix("TICKET#").await.unwrap();
    assert_eq!(
        tickets
            .iter()
            .filter(|i| i["sk"].as_s().unwrap() == "TICKET")
            .count(),
        1
    );
    let index = app.items_with_pk_prefix("BORROWER#").await.unwrap();
    assert_eq!(
        index.len(),
        2,
        "one entry for the phone, one for the customer id"
    );
    assert_eq!(
        app.queue_depth("ComplaintsDeadLetterQueue").await.unwrap(),
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_poison_message_ends_in_the_dead_letter_queue_while_the_rest_of_its_batch_is_stored() {
    let app = spawn_app().await;
    let good = |reference: &str| {
        serde_json::to_string(&ComplaintMessage {
            reference: reference.to_string(),
            received_at: chrono::Utc::now(),
            form: complaint_form(),
        })
        .unwrap()
    };
    let mut invalid_form = complaint_form();
    invalid_form["borrower"]["phone"] = json!("not a phone");
    let invalid = serde_json::to_string(&ComplaintMessage {
        reference: "RD-261123-1NVA11D0".to_string(),
        received_at: chrono::Utc::now(),
        form: invalid_form,
    })
    .unwrap();
    let bodies = [
        good("RD-261123-600D0001"),
        "{not json".to_string(),
        invalid,
        good("RD-261123-600D0002"),
    ];
    let mut batch = app
        .pipeline
        .sqs
        .send_message_batch()
        .queue_url(app.queue_url("ComplaintsQueue"));
    for (i, body) in bodies.iter().enumerate() {
        batch = batch.entries(
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .build()
                .unwrap(),
        );
    }
    batch.send().await.unwrap();

    app.wait_for_ticket("RD-261123-600D0001").await;
    app.wait_for_ticket("RD-261123-600D0002").await;
    // maxReceiveCount is 6 and failures are retried after 1 s: both bad messages are
    // dead-lettered within seconds, and nothing is left on the main queue.
    app.wait_for_depth("ComplaintsDeadLetterQueue", 2, Duration::from_secs(30))
        .await
        .unwrap();
    app.wait_for_depth("ComplaintsQueue", 0, Duration::from_secs(10))
        .await
        .unwrap();
    let tickets = app.items_with_pk_prefix("TICKET#").await.unwrap();
    assert_eq!(
        tickets
            .iter()
            .filter(|i| i["sk"].as_s().unwrap() == "TICKET")
            .count(),
        2
    );
    app.stop().await;
}

#[tokio::test]
async fn a_repeat_complaint_is_flagged_and_linked_to_the_earlier_one() {
    let app = spawn_app().await;
    let mut first = complaint_form();
    first["borrower"] = json!({"name": "王芳", "national_id": "11010519491231002X"});
    let (first_ref, _) = app.submit_ok(&first).await;
    let (first_ticket, _) = app.wait_for_ticket(&first_ref).await;
    assert!(!first_ticket.repeat.is_repeat());
    assert_eq!(first_ticket.category, "fees_interest");

    // Same person, identified by the same id typed in lower case, plus a phone this time.
    let mut second = complaint_form();
    second["borrower"] = json!({"national_id": "11010519491231002x", "phone": "+86 139 8765 4321"});
    second["category"] = json!("fees_interest");
    second["text"] =
        json!("The fee problem is still not fixed and now there is another hidden service charge.");
    let (second_ref, _) = app.submit_ok(&second).await;
    let (ticket, _) = app.wait_for_ticket(&second_ref).await;
    assert!(ticket.repeat.is_repeat());
    assert_eq!(
        ticket.repeat.previous_any.as_deref(),
        Some(first_ref.as_str())
    );
    assert_eq!(
        ticket.repeat.previous_same_category.as_deref(),
        Some(first_ref.as_str())
    );
    assert!(ticket.signals.contains(&Signal::Repeat));
    assert!(
        ticket.priority >= Priority::High,
        "a repeat raises priority"
    );

    // A different category from the same borrower is a repeat of any category only.
    let mut third = complaint_form();
    third["borrower"] = json!({"phone": "13987654321"});
    third["category"] = json!("service_quality");
    third["text"] = json!("The customer service agent was rude and hung up on me twice.");
    let (third_ref, _) = app.submit_ok(&third).await;
    let (ticket, _) = app.wait_for_ticket(&third_ref).await;
    assert_eq!(ticket.category, "service_quality");
    assert_eq!(
        ticket.repeat.previous_any.as_deref(),
        Some(second_ref.as_str())
    );
    assert_eq!(ticket.repeat.previous_same_category, None);

    // No identifier is stored in clear in any index key.
    for item in app.items_with_pk_prefix("BORROWER#").await.unwrap() {
        let pk = item["pk"].as_s().unwrap();
        for secret in ["11010519491231002X", "13987654321", "8613987654321"] {
            assert!(!pk.contains(secret), "{pk}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn an_idempotency_key_gives_a_resubmitted_form_the_same_reference() {
    let app = spawn_app().await;
    let form = complaint_form();
    // A JSON client must send a key: without one it is told so, and nothing is filed.
    let (s0, b0) = app.submit_with_key(&form, None).await;
    assert_eq!(
        (s0, b0["error"].as_str()),
        (400, Some("idempotency_key_required")),
        "{b0}"
    );
    let (s1, b1) = app.submit_with_key(&form, Some("form-42")).await;
    let (s2, b2) = app.submit_with_key(&form, Some("form-42")).await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(b1["reference"], b2["reference"]);
    assert_eq!(b1["status_secret"], b2["status_secret"]);
    let reference = b1["reference"].as_str().unwrap();
    app.wait_for_ticket(reference).await;

    let mut other = form.clone();
    other["text"] = json!("A completely different complaint about my credit report being wrong.");
    let (s3, b3) = app.submit_with_key(&other, Some("form-42")).await;
    assert_eq!(s3, 422, "{b3}");
    assert_eq!(b3["error"], "idempotency_key_reused");

    app.wait_for_depth("ComplaintsQueue", 0, Duration::from_secs(10))
        .await
        .unwrap();
    let tickets = app.items_with_pk_prefix("TICKET#").await.unwrap();
    assert_eq!(
        tickets
            .iter()
            .filter(|i| i["sk"].as_s().unwrap() == "TICKET")
            .count(),
        1
    );
    app.stop().await;
}
