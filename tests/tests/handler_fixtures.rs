//! The handlers called directly with real Lambda event JSON, against the local stack.

use aws_lambda_events::event::sqs::SqsEvent;
use redress_e2e::spawn_app;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        redress_e2e::workspace_root()
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

#[tokio::test]
async fn intake_reports_only_the_bad_messages_of_a_batch_as_failures() {
    let app = spawn_app().await;
    let event: SqsEvent = serde_json::from_str(&fixture("sqs_batch_mixed.json")).unwrap();
    let aws = redress_aws::load_aws_config().await;
    let deps = redress_intake::IntakeDeps::from_env(
        &app.pipeline.environments["IntakeFunction"],
        &aws,
        std::sync::Arc::new(redress_domain::config::DomainConfig::bundled().unwrap()),
    )
    .unwrap();

    let response = redress_intake::handle(&deps, event.clone()).await;
    let mut failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    failed.sort();
    // Record 2 is not JSON and record 3 names no borrower: poison. Record 4 is a
    // redelivery of record 1 in the same batch: a success that changes nothing.
    assert_eq!(
        failed,
        [
            "0c3f8a52-2d7e-4c5b-9a1e-000000000002",
            "0c3f8a52-2d7e-4c5b-9a1e-000000000003"
        ]
    );
    let (ticket, events) = app.wait_for_ticket("RD-261120-F1XTVRE1").await;
    assert_eq!(ticket.team, "billing");
    assert_eq!(ticket.category, "payments");
    assert_eq!(events.len(), 1);

    // The whole batch again (SQS redelivers): the same failures, still one ticket.
    let again = redress_intake::handle(&deps, event).await;
    assert_eq!(again.batch_item_failures.len(), 2);
    let (_, events) = app.wait_for_ticket("RD-261120-F1XTVRE1").await;
    assert_eq!(events.len(), 1);
    assert!(app
        .store
        .ticket_with_history("RD-261120-F1XTVRE3")
        .await
        .unwrap()
        .is_none());
    app.stop().await;
}

#[tokio::test]
async fn the_api_accepts_an_api_gateway_v2_event_and_enqueues_the_complaint() {
    let app = spawn_app().await;
    let request = lambda_http::request::from_str(&fixture("apigw_v2_post_complaint.json")).unwrap();
    let response = redress_api::handle(&app.pipeline.api, request).await;
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = match response.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    let reference = body["reference"].as_str().unwrap();
    let (ticket, _) = app.wait_for_ticket(reference).await;
    assert_eq!(ticket.category, "marketing");
    assert_eq!(ticket.team, "conduct_compliance");
    assert_eq!(ticket.channel, redress_domain::Channel::Web);
    app.stop().await;
}
