//! Nothing lost: a complaint the api accepted is on record until its ticket exists, so a
//! lost queue message is found by `redress reconcile` and queued again — and intake,
//! being idempotent, makes exactly one ticket of it.

use aws_sdk_sqs::types::Message;
use chrono::{Duration, Utc};
use redress_aws::SqsQueue;
use redress_cli::reconcile::reconcile;
use redress_domain::assess::ComplaintMessage;
use redress_e2e::{complaint_form, spawn_app_without_intake, TestApp};
use std::time::Instant;

/// Receives until `n` messages are in hand (each hidden for the queue's visibility
/// timeout).
async fn receive(app: &TestApp, n: usize) -> Vec<Message> {
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    let mut got = Vec::new();
    while got.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} messages",
            got.len()
        );
        let out = app
            .pipeline
            .sqs
            .receive_message()
            .queue_url(app.queue_url("ComplaintsQueue"))
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        got.extend(out.messages.unwrap_or_default());
    }
    got
}

fn reference_of(m: &Message) -> String {
    serde_json::from_str::<ComplaintMessage>(m.body().unwrap())
        .unwrap()
        .reference
}

/// (tickets, first events) stored for `reference`.
async fn stored(app: &TestApp, reference: &str) -> (usize, usize) {
    let items = app
        .items_with_pk_prefix(&format!("TICKET#{reference}"))
        .await
        .unwrap();
    let sk = |i: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
        i["sk"].as_s().unwrap().clone()
    };
    (
        items.iter().filter(|i| sk(i) == "TICKET").count(),
        items.iter().filter(|i| sk(i) == "EVENT#000001").count(),
    )
}

/// Runs intake until the queue is empty.
async fn drain(app: &TestApp) {
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    loop {
        app.run_intake_once().await.unwrap();
        if app.queue_depth("ComplaintsQueue").await.unwrap() == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "intake did not drain the queue");
    }
}

#[tokio::test]
async fn a_complaint_whose_message_was_lost_is_reconciled_into_exactly_one_ticket() {
    let app = spawn_app_without_intake().await;
    let queue = SqsQueue::new(app.pipeline.sqs.clone(), app.queue_url("ComplaintsQueue"));

    let mut references = Vec::new();
    for i in 0..3 {
        let mut form = complaint_form();
        form["borrower"]["phone"] = format!("1391234567{i}").into();
        references.push(app.submit_ok(&form).await.0);
    }
    let lost = references[1].clone();

    // The lost one's message is deleted before intake ever sees it; the others are put
    // back and go through intake.
    for m in receive(&app, 3).await {
        let sqs = app.pipeline.sqs.change_message_visibility();
        if reference_of(&m) == lost {
            app.pipeline
                .sqs
                .delete_message()
                .queue_url(app.queue_url("ComplaintsQueue"))
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        } else {
            sqs.queue_url(app.queue_url("ComplaintsQueue"))
                .receipt_handle(m.receipt_handle().unwrap())
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
        }
    }
    drain(&app).await;
    assert_eq!(stored(&app, &references[0]).await, (1, 1));
    assert_eq!(stored(&app, &references[2]).await, (1, 1));
    assert_eq!(stored(&app, &lost).await, (0, 0), "its message is gone");

    // Too young to call lost: nothing listed.
    let now = Utc::now();
    let young = reconcile(
        &app.store,
        None,
        now,
        Duration::hours(1),
        Duration::days(30),
    )
    .await
    .unwrap();
    assert!(young.missing.is_empty(), "{young:?}");

    // Listed (only the lost one: intake cleared the others' records), then requeued.
    let found = reconcile(&app.store, None, now, Duration::zero(), Duration::days(30))
        .await
        .unwrap();
    let listed: Vec<&str> = found.missing.iter().map(|m| m.reference.as_str()).collect();
    assert_eq!(listed, [lost.as_str()]);
    assert_eq!((found.checked, found.cleared), (1, 0));
    assert!(!found.missing[0].requeued);
    let text = redress_cli::reconcile::render(&found, now, Duration::zero());
    assert!(text.contains(&lost), "{text}");
    assert!(
        !text.contains("Li Na") && !text.contains("13912345671"),
        "{text}"
    );

    let requeued = reconcile(
        &app.store,
        Some(&queue),
        now,
        Duration::zero(),
        Duration::days(30),
    )
    .await
    .unwrap();
    assert!(requeued.missing[0].requeued);
    drain(&app).await;
    assert_eq!(
        stored(&app, &lost).await,
        (1, 1),
        "exactly one ticket, one first event"
    );
    let (ticket, _) = app.store.ticket_with_history(&lost).await.unwrap().unwrap();
    assert_eq!(ticket.team.as_str(), "billing");

    // Its record is cleared; a requeue of a complaint that has its ticket changes nothing.
    let after = reconcile(
        &app.store,
        Some(&queue),
        Utc::now(),
        Duration::zero(),
        Duration::days(30),
    )
    .await
    .unwrap();
    assert_eq!((after.checked, after.missing.len()), (0, 0), "{after:?}");
    let mut form = complaint_form();
    form["borrower"]["phone"] = "13912345671".into();
    let duplicate = ComplaintMessage {
        reference: lost.clone(),
        received_at: ticket.received_at,
        form,
    };
    queue.send_json("requeue", &duplicate).await.unwrap();
    drain(&app).await;
    assert_eq!(
        stored(&app, &lost).await,
        (1, 1),
        "a duplicate changed nothing"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_stale_record_of_a_ticketed_complaint_is_cleared_not_requeued() {
    let app = spawn_app_without_intake().await;
    let queue = SqsQueue::new(app.pipeline.sqs.clone(), app.queue_url("ComplaintsQueue"));
    let (reference, _) = app.submit_ok(&complaint_form()).await;
    drain(&app).await;
    assert_eq!(stored(&app, &reference).await, (1, 1));

    // As if intake could not clear the record after writing the ticket.
    let message = ComplaintMessage {
        reference: reference.clone(),
        received_at: Utc::now(),
        form: complaint_form(),
    };
    app.store.put_accepted(&message, Utc::now()).await.unwrap();
    let found = reconcile(
        &app.store,
        Some(&queue),
        Utc::now(),
        Duration::zero(),
        Duration::days(1),
    )
    .await
    .unwrap();
    assert_eq!((found.checked, found.cleared), (1, 1));
    assert!(found.missing.is_empty());
    assert_eq!(
        app.queue_depth("ComplaintsQueue").await.unwrap(),
        0,
        "nothing requeued"
    );
    let again = reconcile(
        &app.store,
        None,
        Utc::now(),
        Duration::zero(),
        Duration::days(1),
    )
    .await
    .unwrap();
    assert_eq!(again.checked, 0);
    app.stop().await;
}
