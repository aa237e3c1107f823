//! The surveys handler against the in-memory store: an answer is recorded once, closes
//! or reopens the ticket, and bad or replayed messages are sorted into poison and retry.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, Duration, Utc};
use redress_domain::assess::{assess, open_ticket};
use redress_domain::complaint::{Complaint, ParseMode};
use redress_domain::config::DomainConfig;
use redress_domain::lifecycle::{apply, Action, ActionContext};
use redress_domain::metrics::{self, Dimension};
use redress_domain::ports::{StoreFailure, SurveyMessage};
use redress_domain::reference::Reference;
use redress_domain::survey::SurveyTokens;
use redress_domain::ticket::{Actor, AuditAction, ResolutionCode, TicketStatus};
use redress_memory::MemoryStore;
use redress_surveys::{Outcome, SurveysDeps};
use serde_json::json;
use std::sync::Arc;

const REFERENCE: &str = "RD-261101-7KQ2M9XA";

fn received() -> DateTime<Utc> {
    "2026-11-01T02:00:00Z".parse().unwrap()
}

fn resolved_at() -> DateTime<Utc> {
    received() + Duration::days(3)
}

/// The surveys deps and a resolved ticket waiting for its answer.
fn setup() -> SurveysDeps<MemoryStore> {
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
    let (mut ticket, first) = open_ticket(&complaint, &reference, received(), &assessment);
    let mut events = vec![first];
    let actor = Actor {
        id: "alice".into(),
        role: "member".into(),
    };
    for (i, action) in [
        Action::Acknowledge,
        Action::StartAnalysis,
        Action::Resolve {
            code: ResolutionCode::Upheld,
            summary: "The fee is refunded.".into(),
        },
    ]
    .iter()
    .enumerate()
    {
        let ctx = ActionContext {
            actor: &actor,
            now: resolved_at() - Duration::hours(2 - i as i64),
            config: &config,
        };
        let (next, event) = apply(&ticket, action, &ctx).unwrap();
        ticket = next;
        events.push(event);
    }
    assert_eq!(ticket.status, TicketStatus::Resolved);
    store.insert_ticket(ticket, events);
    SurveysDeps {
        config,
        tokens: SurveyTokens::new(b"survey-key"),
        store,
    }
}

fn answer(
    deps: &SurveysDeps<MemoryStore>,
    id: &str,
    solved: &str,
    nonce: &str,
    at: DateTime<Utc>,
) -> SqsMessage {
    let token = deps
        .tokens
        .issue(REFERENCE, resolved_at() + Duration::days(30), nonce);
    let message = SurveyMessage {
        submission: json!({"token": token, "csat": 2, "nps": 3, "solved": solved, "comment": "Still charged."}),
        received_at: at,
    };
    sqs_message(id, Some(serde_json::to_string(&message).unwrap()))
}

/// An SQS message as the event source delivers it.
fn sqs_message(id: &str, body: Option<String>) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(id.into());
    message.body = body;
    message
}

/// An SQS event holding `records`.
fn sqs_event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

#[tokio::test]
async fn an_answer_closes_the_ticket_once_and_counts_once_however_often_it_is_delivered() {
    let deps = setup();
    let message = answer(&deps, "m1", "yes", "n1", resolved_at() + Duration::days(1));
    let outcome = redress_surveys::process(&deps, &message).await;
    assert_eq!(
        outcome,
        Outcome::Recorded {
            reference: REFERENCE.into(),
            reopened: false
        }
    );
    let (ticket, events) = deps.store.stored_ticket(REFERENCE).unwrap();
    assert_eq!(ticket.status, TicketStatus::Closed);
    assert_eq!(events.last().unwrap().action, AuditAction::SurveyAnswered);
    assert!(deps.store.survey(REFERENCE).is_some());
    let counted = |deps: &SurveysDeps<MemoryStore>| {
        deps.store
            .counter_total(Dimension::Team, "billing", metrics::SURVEYS_ANSWERED)
    };
    let responses = counted(&deps);
    assert_eq!(responses, 1);

    // The same delivery again, and a second answer with another token: nothing changes.
    let event = sqs_event(vec![
        message,
        answer(&deps, "m2", "no", "n2", resolved_at() + Duration::days(2)),
    ]);
    let response = redress_surveys::handle(&deps, event).await;
    assert!(response.batch_item_failures.is_empty());
    let (_, after) = deps.store.stored_ticket(REFERENCE).unwrap();
    assert_eq!(after.len(), events.len(), "no new event");
    assert_eq!(counted(&deps), responses, "counted once");
}

#[tokio::test]
async fn not_solved_within_the_window_reopens_the_ticket() {
    let deps = setup();
    let message = answer(&deps, "m1", "no", "n1", resolved_at() + Duration::days(1));
    let outcome = redress_surveys::process(&deps, &message).await;
    assert_eq!(
        outcome,
        Outcome::Recorded {
            reference: REFERENCE.into(),
            reopened: true
        }
    );
    let (ticket, events) = deps.store.stored_ticket(REFERENCE).unwrap();
    assert_eq!(ticket.status, TicketStatus::Reopened);
    assert_eq!(
        events.last().unwrap().action,
        AuditAction::SurveyNotSolvedReopened
    );
}

#[tokio::test]
async fn forged_unreadable_and_unknown_answers_are_poison_and_outages_are_retried() {
    let deps = setup();
    let mut forged = answer(&deps, "m1", "yes", "n1", resolved_at());
    let body: serde_json::Value = serde_json::from_str(forged.body.as_deref().unwrap()).unwrap();
    let mut body = body;
    body["submission"]["token"] = json!(SurveyTokens::new(b"attacker").issue(
        REFERENCE,
        resolved_at() + Duration::days(30),
        "n1"
    ));
    forged.body = Some(body.to_string());
    let unreadable = sqs_message("m2", Some("{not json".into()));
    let event = sqs_event(vec![forged, unreadable]);
    let response = redress_surveys::handle(&deps, event).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m1", "m2"]);
    assert_eq!(
        deps.store.stored_ticket(REFERENCE).unwrap().0.status,
        TicketStatus::Resolved
    );

    let good = answer(&deps, "m3", "yes", "n3", resolved_at());
    deps.store
        .fail_next(StoreFailure::Unreachable("timed out".into()));
    let outcome = redress_surveys::process(&deps, &good).await;
    assert!(matches!(outcome, Outcome::Transient { .. }), "{outcome:?}");
    let outcome = redress_surveys::process(&deps, &good).await;
    assert!(matches!(outcome, Outcome::Recorded { .. }), "{outcome:?}");
}

#[tokio::test]
async fn a_configuration_fault_fails_the_invocation_instead_of_dead_lettering_the_answer() {
    let deps = setup();
    let good = answer(&deps, "m1", "yes", "n1", resolved_at());
    deps.store.fail_next(StoreFailure::Misconfigured {
        code: "AccessDeniedException".into(),
        message: "not authorized to perform dynamodb:Query".into(),
    });
    let event = sqs_event(vec![good.clone()]);
    let fault = redress_surveys::handle_batch(&deps, &event)
        .await
        .expect_err("the invocation fails");
    assert!(fault.reason.contains("AccessDeniedException"), "{fault}");
    assert_eq!(
        deps.store.stored_ticket(REFERENCE).unwrap().0.status,
        TicketStatus::Resolved,
        "nothing changed"
    );

    // Once fixed, the same message is recorded: it was never poison.
    let response = redress_surveys::handle_batch(&deps, &event).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        deps.store.stored_ticket(REFERENCE).unwrap().0.status,
        TicketStatus::Closed
    );
}
