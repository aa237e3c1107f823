//! `redress dlq`: what operators use to see and redrive dead-lettered complaints.

use redress_domain::assess::ComplaintMessage;
use redress_domain::config::DomainConfig;
use redress_e2e::{complaint_form, spawn_app};
use std::time::Duration;

#[tokio::test]
async fn dead_letters_are_listed_without_their_bodies_and_a_redrive_completes_intake() {
    let app = spawn_app().await;
    let config = DomainConfig::bundled().unwrap();
    let dlq = app.queue_url("ComplaintsDeadLetterQueue").to_string();
    let queue = app.queue_url("ComplaintsQueue").to_string();

    // A poison message dead-letters by itself.
    app.pipeline
        .sqs
        .send_message()
        .queue_url(&queue)
        .message_body(r#"{"reference": "RD-261123-8AD00000", "secret": "Zhang San 13800001111"}"#)
        .send()
        .await
        .unwrap();
    app.wait_for_depth("ComplaintsDeadLetterQueue", 1, Duration::from_secs(30))
        .await
        .unwrap();
    // A good complaint that was dead-lettered during an outage is placed there directly.
    let good = ComplaintMessage {
        reference: "RD-261123-0VTA6E00".into(),
        received_at: chrono::Utc::now(),
        form: complaint_form(),
    };
    app.pipeline
        .sqs
        .send_message()
        .queue_url(&dlq)
        .message_body(serde_json::to_string(&good).unwrap())
        .send()
        .await
        .unwrap();

    let (_, listed, _) = redress_cli::dlq::peek(&app.pipeline.sqs, &dlq, 10, &config)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    let poison = listed
        .iter()
        .find(|m| m.reference.as_deref() == Some("RD-261123-8AD00000"))
        .unwrap();
    assert!(!poison.diagnosis.is_empty());
    let shown = serde_json::to_string(&listed).unwrap();
    assert!(
        !shown.contains("Zhang San") && !shown.contains("13800001111"),
        "{shown}"
    );
    assert!(!shown.contains("Li Na"), "{shown}");
    // Listing hides nothing for long: both are still there.
    app.wait_for_depth("ComplaintsDeadLetterQueue", 2, Duration::from_secs(10))
        .await
        .unwrap();

    let moved = redress_cli::dlq::redrive(&app.pipeline.sqs, &dlq, &queue, None, false)
        .await
        .unwrap();
    assert_eq!(moved.moved, 2);
    app.wait_for_ticket("RD-261123-0VTA6E00").await;
    // The poison one fails again and returns to the dead-letter queue; nothing is lost.
    app.wait_for_depth("ComplaintsDeadLetterQueue", 1, Duration::from_secs(30))
        .await
        .unwrap();
    app.stop().await;
}
