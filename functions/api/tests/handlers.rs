//! The api handler, called with API Gateway v2 events, on the in-memory store and queues
//! and a test clock: milliseconds per test, no DynamoDB Local or moto. (The DynamoDB and
//! SQS adapters and the whole deployed pipeline are proven by the end-to-end tests in
//! `tests/`.)

use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Request, Response};
use redress_api::auth::StaffAuth;
use redress_api::ApiDeps;
use redress_aws::jwks::testing;
use redress_domain::borrower::BorrowerKeyer;
use redress_domain::config::DomainConfig;
use redress_domain::ports::{AccessLog, NotificationKind, StoreFailure, TestClock};
use redress_domain::reference::StatusSecrets;
use redress_domain::survey::SurveyTokens;
use redress_domain::ticket::{AuditAction, Ticket, TicketStatus};
use redress_intake::IntakeDeps;
use redress_memory::{MemoryQueues, MemorySignIn, MemoryStore, MemoryThrottle};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The api, intake and their shared in-memory store, queues and clock.
struct App {
    api: ApiDeps<MemoryStore, MemoryQueues>,
    intake: IntakeDeps<MemoryStore, MemoryQueues>,
    store: MemoryStore,
    queues: MemoryQueues,
    clock: TestClock,
}

fn t0() -> DateTime<Utc> {
    "2026-11-23T02:00:00Z".parse().unwrap()
}

fn app() -> App {
    let config = Arc::new(DomainConfig::bundled().unwrap());
    let store = MemoryStore::new().with_config(&config);
    let queues = MemoryQueues::new();
    let clock = TestClock::at(t0());
    App {
        api: ApiDeps {
            config: Arc::clone(&config),
            store: store.clone(),
            queue: queues.clone(),
            secrets: StatusSecrets::new(b"status-key"),
            survey_tokens: SurveyTokens::new(b"survey-key"),
            auth: staff_auth(),
            clock: Arc::new(clock.clone()),
        },
        intake: IntakeDeps {
            config,
            keyer: BorrowerKeyer::new(b"borrower-key"),
            store: store.clone(),
            notifier: queues.clone(),
        },
        store,
        queues,
        clock,
    }
}

/// Staff authentication against the test pool: tokens are RS256-signed with its key and
/// checked by the api exactly as Cognito's are.
fn staff_auth() -> StaffAuth {
    let mint: redress_memory::signin::Mint = Arc::new(|user: &str, groups: &[String]| {
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        testing::access_token(user, &groups)
    });
    StaffAuth::new(
        Arc::new(testing::verifier()),
        Arc::new(MemorySignIn::new(mint)),
        Arc::new(MemoryThrottle::new()),
        &StatusSecrets::new(b"status-key"),
    )
}

/// A valid complaint form (routed to billing); tests change what they need.
fn complaint_form() -> Value {
    json!({
        "borrower": {"name": "Li Na", "phone": "13912345678", "customer_id": "C100234"},
        "product": "personal_loan",
        "channel": "web",
        "text": "I was charged a hidden service fee and penalty interest that the contract never mentioned.",
        "desired_outcome": "Refund the fee",
        "consent_to_contact": true,
        "language": "en"
    })
}

/// Who calls: a team member, a manager, or nobody.
#[derive(Clone, Copy)]
enum Caller<'a> {
    Anonymous,
    Member(&'a str, &'a str),
    Manager(&'a str),
    ContactAccess(&'a str, &'a str),
}

/// An API Gateway v2 event as the HTTP API sends it, with the caller's access token.
fn event(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    caller: Caller<'_>,
) -> Request {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
        .collect();
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "test",
            "domainName": "localhost",
            "domainPrefix": "test",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "handler-test"},
            "requestId": "test-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:02:00:00 +0000",
            "timeEpoch": 0
        },
        "isBase64Encoded": false
    });
    if let Some(body) = body {
        event["body"] = json!(String::from_utf8_lossy(body));
    }
    if !query.is_empty() {
        let params: Map<String, Value> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), json!(v)))
            .collect();
        event["queryStringParameters"] = Value::Object(params);
    }
    // The caller shows a test-pool access token, as the console and scripts do.
    let groups: Vec<String> = match caller {
        Caller::Anonymous => vec![],
        Caller::Member(_, team) => vec![format!("team-{team}")],
        Caller::Manager(_) => vec!["managers".to_string()],
        Caller::ContactAccess(_, team) => vec![format!("team-{team}"), "contact-access".into()],
    };
    let user = match caller {
        Caller::Anonymous => None,
        Caller::Member(user, _) | Caller::Manager(user) | Caller::ContactAccess(user, _) => {
            Some(user)
        }
    };
    if let Some(user) = user {
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        event["headers"]["authorization"] =
            json!(format!("Bearer {}", testing::access_token(user, &groups)));
    }
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

fn body_json(response: &Response<Body>) -> Value {
    match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        Body::Empty => Value::Null,
        _ => Value::Null,
    }
}

impl App {
    async fn call(&self, request: Request) -> (u16, Value) {
        let response = redress_api::handle(&self.api, request).await;
        (response.status().as_u16(), body_json(&response))
    }

    /// Submits a complaint as a JSON client does, with `key` as its Idempotency-Key, or
    /// a fresh one when `None`.
    async fn submit(&self, form: &Value, key: Option<&str>) -> (u16, Value) {
        let body = serde_json::to_vec(form).unwrap();
        let fresh = uuid::Uuid::new_v4().to_string();
        let headers = vec![
            ("content-type", "application/json"),
            ("idempotency-key", key.unwrap_or(&fresh)),
        ];
        self.call(event(
            "POST",
            "/complaints",
            &headers,
            Some(&body),
            Caller::Anonymous,
        ))
        .await
    }

    /// Hands every queued complaint message to intake, as the SQS event source would.
    async fn run_intake(&self) {
        for (i, message) in self.queues.take_complaints().into_iter().enumerate() {
            let mut sqs = aws_lambda_events::event::sqs::SqsMessage::default();
            sqs.message_id = Some(format!("m{i}"));
            sqs.body = Some(serde_json::to_string(&message).unwrap());
            let outcome = redress_intake::process(&self.intake, &sqs).await;
            assert!(!outcome.is_failure(), "{outcome:?}");
        }
    }

    /// Submits the standard complaint and lets intake route it; returns its reference.
    async fn billing_ticket(&self) -> String {
        let (status, body) = self.submit(&complaint_form(), None).await;
        assert_eq!(status, 202, "{body}");
        self.run_intake().await;
        let reference = body["reference"].as_str().unwrap().to_string();
        assert_eq!(self.ticket(&reference).team, "billing");
        reference
    }

    fn ticket(&self, reference: &str) -> Ticket {
        self.store
            .stored_ticket(reference)
            .expect("ticket stored")
            .0
    }

    fn actions(&self, reference: &str) -> Vec<AuditAction> {
        let (_, events) = self.store.stored_ticket(reference).unwrap();
        events.into_iter().map(|e| e.action).collect()
    }

    async fn act(
        &self,
        caller: Caller<'_>,
        reference: &str,
        version: u32,
        mut action: Value,
    ) -> (u16, Value) {
        action["expected_version"] = json!(version);
        let body = serde_json::to_vec(&action).unwrap();
        self.call(event(
            "POST",
            &format!("/tickets/{reference}/actions"),
            &[("content-type", "application/json")],
            Some(&body),
            caller,
        ))
        .await
    }

    async fn act_ok(
        &self,
        caller: Caller<'_>,
        reference: &str,
        version: u32,
        action: Value,
    ) -> u32 {
        let (status, body) = self.act(caller, reference, version, action.clone()).await;
        assert_eq!(status, 200, "{action} → {body}");
        body["ticket"]["version"].as_u64().unwrap() as u32
    }

    async fn get(&self, caller: Caller<'_>, target: &str) -> (u16, Value) {
        self.call(event("GET", target, &[], None, caller)).await
    }
}

const ALICE: Caller<'static> = Caller::Member("alice", "billing");

// --- Submitting a complaint -------------------------------------------------------

#[tokio::test]
async fn a_complaint_is_accepted_enqueued_and_readable_with_its_secret() {
    let app = app();
    let (status, body) = app.submit(&complaint_form(), None).await;
    assert_eq!(status, 202, "{body}");
    let reference = body["reference"].as_str().unwrap();
    let secret = body["status_secret"].as_str().unwrap();
    let sent = app.queues.complaints();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].reference, reference);
    assert_eq!(
        sent[0].received_at,
        t0(),
        "the clock decides the receipt time"
    );
    assert!(app.store.submission(reference).unwrap().enqueued);

    let status_of = |secret: &str| {
        event(
            "GET",
            &format!("/complaints/{reference}"),
            &[("x-status-secret", secret)],
            None,
            Caller::Anonymous,
        )
    };
    let (status, before) = app.call(status_of(secret)).await;
    assert_eq!((status, before["status"].as_str()), (200, Some("received")));
    assert!(before["team"].is_null(), "not routed yet");
    app.run_intake().await;
    let (status, after) = app.call(status_of(secret)).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["status"], "received");
    assert!(
        after["team"].is_object() || after["team"].is_string(),
        "{after}"
    );
    assert!(
        !after.to_string().contains("13912345678"),
        "no contact details"
    );

    let (status, body) = app.call(status_of("AAAA-BBBB-CCCC-DDDD")).await;
    assert_eq!(
        status, 404,
        "a wrong secret looks like an unknown complaint: {body}"
    );
}

#[tokio::test]
async fn the_api_accepts_an_api_gateway_v2_event_and_intake_routes_it() {
    let app = app();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/apigw_v2_post_complaint.json");
    let request = lambda_http::request::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (status, body) = app.call(request).await;
    assert_eq!(status, 202, "{body}");
    app.run_intake().await;
    let ticket = app.ticket(body["reference"].as_str().unwrap());
    assert_eq!(ticket.category, "marketing");
    assert_eq!(ticket.team, "conduct_compliance");
    assert_eq!(ticket.channel, redress_domain::Channel::Web);
}

#[tokio::test]
async fn a_resubmission_with_the_same_idempotency_key_gets_the_same_reference() {
    let app = app();
    let (s1, first) = app.submit(&complaint_form(), Some("key-1")).await;
    let (s2, second) = app.submit(&complaint_form(), Some("key-1")).await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(first["reference"], second["reference"]);
    assert_eq!(first["status_secret"], second["status_secret"]);
    assert_eq!(app.queues.complaints().len(), 1, "enqueued once");

    let mut other = complaint_form();
    other["text"] = json!("A different complaint about a collector calling my employer every day.");
    let (status, body) = app.submit(&other, Some("key-1")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "idempotency_key_reused");
    assert_eq!(app.queues.complaints().len(), 1);
}

#[tokio::test]
async fn a_queue_outage_answers_503_and_the_same_key_later_enqueues_the_complaint() {
    let app = app();
    app.queues.fail_next(StoreFailure::Unavailable {
        code: "ServiceUnavailable".into(),
    });
    let (status, body) = app.submit(&complaint_form(), Some("retry-me")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "unavailable");
    assert!(app.queues.complaints().is_empty());

    let (status, retried) = app.submit(&complaint_form(), Some("retry-me")).await;
    assert_eq!(status, 202, "{retried}");
    let sent = app.queues.complaints();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].reference, retried["reference"].as_str().unwrap());
    assert!(app.store.submission(&sent[0].reference).unwrap().enqueued);
}

#[tokio::test]
async fn an_accepted_complaint_is_on_record_as_queued_once_per_key_until_its_ticket_exists() {
    let app = app();
    let (status, first) = app.submit(&complaint_form(), Some("durable-1")).await;
    assert_eq!(status, 202, "{first}");
    let reference = first["reference"].as_str().unwrap().to_string();
    let accepted = app.store.accepted();
    assert_eq!(accepted.len(), 1);
    // The record is the very message intake gets, so a lost one can be queued again.
    assert_eq!(accepted[&reference], app.queues.complaints()[0]);
    let calls = app.store.calls();
    let recorded = calls.iter().position(|c| *c == "record accepted").unwrap();
    let marked = calls.iter().position(|c| *c == "mark enqueued").unwrap();
    assert!(
        recorded < marked,
        "recorded before it was queued: {calls:?}"
    );

    // A resubmission with the same key: the same reference, still one record.
    let (status, again) = app.submit(&complaint_form(), Some("durable-1")).await;
    assert_eq!((status, &again["reference"]), (202, &first["reference"]));
    assert_eq!(app.store.accepted().len(), 1);
    assert_eq!(app.queues.complaints().len(), 1);

    // Intake makes the ticket and clears the record.
    app.run_intake().await;
    assert!(app.store.accepted().is_empty());
    assert!(app.store.stored_ticket(&reference).is_some());
}

#[tokio::test]
async fn a_complaint_that_cannot_be_put_on_record_is_not_queued_and_the_same_key_retries_it() {
    let app = app();
    app.store.fail_next_call_to(
        "record accepted",
        StoreFailure::Unavailable {
            code: "InternalServerError".into(),
        },
    );
    let (status, body) = app.submit(&complaint_form(), Some("durable-2")).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        app.queues.complaints().is_empty(),
        "no reference, no message"
    );
    assert!(app.store.accepted().is_empty());

    let (status, body) = app.submit(&complaint_form(), Some("durable-2")).await;
    assert_eq!(status, 202, "{body}");
    let reference = body["reference"].as_str().unwrap();
    assert_eq!(app.queues.complaints().len(), 1);
    assert!(app.store.accepted().contains_key(reference));
}

#[tokio::test]
async fn a_store_outage_answers_503_and_a_broken_store_500_without_details() {
    let app = app();
    app.store.fail_next(StoreFailure::Throttled {
        code: "ThrottlingException".into(),
    });
    let (status, body) = app.submit(&complaint_form(), None).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("unavailable")));

    app.store
        .fail_next(StoreFailure::Corrupt("item lacks received_at".into()));
    let (status, body) = app.submit(&complaint_form(), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (500, Some("internal_error"))
    );
    assert!(
        !body.to_string().contains("received_at"),
        "no internal detail: {body}"
    );
    assert!(app.queues.complaints().is_empty());
}

/// A bad request: name, headers, body, expected status, error code and field.
type Case<'a> = (
    &'a str,
    &'a [(&'a str, &'a str)],
    Vec<u8>,
    u16,
    &'a str,
    Option<&'a str>,
);

#[tokio::test]
async fn every_kind_of_bad_input_gets_its_4xx_and_nothing_is_enqueued() {
    let app = app();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut form = complaint_form();
        f(&mut form);
        serde_json::to_vec(&form).unwrap()
    };
    let json_ct: &[(&str, &str)] = &[
        ("content-type", "application/json"),
        ("idempotency-key", "bad-input"),
    ];
    let long_key = "a".repeat(300);
    let cases: Vec<Case<'_>> = vec![
        (
            "malformed JSON",
            json_ct,
            b"{\"text\": ".to_vec(),
            400,
            "malformed_json",
            None,
        ),
        ("empty body", json_ct, vec![], 400, "malformed_json", None),
        (
            "wrong content type",
            &[("content-type", "text/plain")],
            with(&|_| {}),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "form-encoded",
            &[("content-type", "application/x-www-form-urlencoded")],
            b"text=hi".to_vec(),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "no content type",
            &[],
            with(&|_| {}),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "oversized body",
            json_ct,
            vec![b' '; 70 * 1024],
            413,
            "payload_too_large",
            None,
        ),
        (
            "unknown field",
            json_ct,
            with(&|f| f["coupon"] = json!("x")),
            422,
            "validation_failed",
            Some("coupon"),
        ),
        (
            "unknown borrower field",
            json_ct,
            with(&|f| f["borrower"]["age"] = json!(3)),
            422,
            "validation_failed",
            Some("borrower.age"),
        ),
        (
            "missing text",
            json_ct,
            with(&|f| {
                f.as_object_mut().unwrap().remove("text");
            }),
            422,
            "validation_failed",
            Some("text"),
        ),
        (
            "missing borrower",
            json_ct,
            with(&|f| {
                f.as_object_mut().unwrap().remove("borrower");
            }),
            422,
            "validation_failed",
            Some("borrower"),
        ),
        (
            "bad phone",
            json_ct,
            with(&|f| f["borrower"]["phone"] = json!("12345")),
            422,
            "validation_failed",
            Some("borrower.phone"),
        ),
        (
            "bad national id",
            json_ct,
            with(&|f| f["borrower"]["national_id"] = json!("110105194912310021")),
            422,
            "validation_failed",
            Some("borrower.national_id"),
        ),
        (
            "text too long",
            json_ct,
            with(&|f| f["text"] = json!("x".repeat(5001))),
            422,
            "validation_failed",
            Some("text"),
        ),
        (
            "wrong type",
            json_ct,
            with(&|f| f["consent_to_contact"] = json!("yes")),
            422,
            "validation_failed",
            Some("consent_to_contact"),
        ),
        (
            "unknown category",
            json_ct,
            with(&|f| f["category"] = json!("weather")),
            422,
            "validation_failed",
            Some("category"),
        ),
        (
            "array body",
            json_ct,
            b"[1,2]".to_vec(),
            422,
            "validation_failed",
            Some(""),
        ),
    ];
    for (name, headers, body, status, code, field) in cases {
        let (got, body) = app
            .call(event(
                "POST",
                "/complaints",
                headers,
                Some(&body),
                Caller::Anonymous,
            ))
            .await;
        assert_eq!(got, status, "{name}: {body}");
        assert_eq!(body["error"], code, "{name}: {body}");
        assert!(
            body["message"]["en"].is_string() && body["message"]["zh"].is_string(),
            "{name}: {body}"
        );
        if let Some(field) = field {
            let fields: Vec<&str> = body["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["field"].as_str().unwrap())
                .collect();
            assert!(fields.contains(&field), "{name}: {fields:?}");
        }
    }
    let (got, body) = app
        .call(event(
            "POST",
            "/complaints",
            &[
                ("content-type", "application/json"),
                ("idempotency-key", &long_key),
            ],
            Some(&with(&|_| {})),
            Caller::Anonymous,
        ))
        .await;
    assert_eq!(
        (got, body["error"].as_str()),
        (400, Some("invalid_idempotency_key"))
    );

    let (got, _) = app
        .call(event(
            "GET",
            "/complaints/not-a-ref",
            &[("x-status-secret", "x")],
            None,
            Caller::Anonymous,
        ))
        .await;
    assert_eq!(got, 400, "a malformed reference");
    let (got, _) = app
        .call(event(
            "GET",
            "/complaints/RD-261123-7KQ2M9XA",
            &[],
            None,
            Caller::Anonymous,
        ))
        .await;
    assert_eq!(got, 400, "no secret");
    let (got, _) = app
        .call(event("DELETE", "/complaints", &[], None, Caller::Anonymous))
        .await;
    assert_eq!(got, 405);

    assert!(app.queues.complaints().is_empty(), "nothing was enqueued");
    assert!(app.store.tickets().is_empty(), "nothing was stored");
}

// --- Team actions -----------------------------------------------------------------

#[tokio::test]
async fn an_invalid_transition_gets_409_with_the_reason_and_changes_nothing() {
    let app = app();
    let reference = app.billing_ticket().await;
    let (status, body) = app
        .act(
            ALICE,
            &reference,
            1,
            json!({"action": "resolve", "code": "upheld", "summary": "done"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "invalid_transition");
    assert!(
        body["message"]["en"].as_str().unwrap().contains("received"),
        "{body}"
    );
    assert_eq!(body["current"]["version"], 1);

    let (status, body) = app
        .act(
            ALICE,
            &reference,
            1,
            json!({"action": "add_note", "text": "  "}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = app
        .act(ALICE, &reference, 1, json!({"action": "fly"}))
        .await;
    assert_eq!(status, 422);
    let (status, body) = app
        .act(ALICE, &reference, 7, json!({"action": "acknowledge"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("version_conflict"))
    );
    assert_eq!(
        app.actions(&reference),
        [AuditAction::Received],
        "nothing was recorded"
    );
}

#[tokio::test]
async fn another_teams_ticket_answers_exactly_like_a_missing_one_and_no_caller_gets_401() {
    let app = app();
    let reference = app.billing_ticket().await;
    let missing = "RD-261123-ZZZZZZZZ";
    let bob = Caller::Member("bob", "hardship");
    for (target, unknown) in [
        (
            format!("/tickets/{reference}"),
            format!("/tickets/{missing}"),
        ),
        (
            format!("/tickets/{reference}/history"),
            format!("/tickets/{missing}/history"),
        ),
    ] {
        let (status, body) = app.get(bob, &target).await;
        assert_eq!(
            (status, body.clone()),
            app.get(bob, &unknown).await,
            "{target}: the same answer as for a ticket that does not exist"
        );
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("ticket_not_found"))
        );
        let (status, _) = app.get(Caller::Anonymous, &target).await;
        assert_eq!(status, 401, "{target}");
    }
    let (status, body) = app
        .act(bob, &reference, 1, json!({"action": "acknowledge"}))
        .await;
    assert_eq!(
        (status, body),
        app.act(bob, missing, 1, json!({"action": "acknowledge"}))
            .await
    );
    assert_eq!(status, 404);
    let (status, _) = app.get(bob, "/reports/overview").await;
    assert_eq!(status, 403, "reports are for managers");
    let (status, body) = app
        .get(Caller::Manager("mia"), &format!("/tickets/{reference}"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.actions(&reference), [AuditAction::Received]);
}

#[tokio::test]
async fn pause_then_resume_moves_the_deadline_by_exactly_the_paused_time() {
    let app = app();
    let reference = app.billing_ticket().await;
    let v = app
        .act_ok(ALICE, &reference, 1, json!({"action": "acknowledge"}))
        .await;
    let before = app.ticket(&reference);
    let v = app
        .act_ok(
            ALICE,
            &reference,
            v,
            json!({"action": "pause", "reason": "waiting for bank statement"}),
        )
        .await;
    // The clock is moved, not waited for.
    let paused = Duration::hours(26) + Duration::minutes(17) + Duration::seconds(3);
    app.clock.advance(paused);
    app.act_ok(ALICE, &reference, v, json!({"action": "resume"}))
        .await;

    let after = app.ticket(&reference);
    assert_eq!(
        after.deadlines.resolve_by - before.deadlines.resolve_by,
        paused
    );
    assert_eq!(after.paused_seconds, paused.num_seconds());
    assert!(after.paused_since.is_none());
    assert_eq!(
        app.actions(&reference),
        [
            AuditAction::Received,
            AuditAction::Acknowledged,
            AuditAction::Paused,
            AuditAction::Resumed
        ]
    );
}

#[tokio::test]
async fn one_extension_is_granted_within_the_policy_and_a_second_is_refused() {
    let app = app();
    let reference = app.billing_ticket().await;
    let v = app
        .act_ok(ALICE, &reference, 1, json!({"action": "acknowledge"}))
        .await;
    let before = app.ticket(&reference);
    let v = app
        .act_ok(
            ALICE,
            &reference,
            v,
            json!({"action": "extend", "reason": "complex case: needs the bank's records"}),
        )
        .await;
    let after = app.ticket(&reference);
    // cn-2020: 15 days from receipt, extendable to 30.
    assert_eq!(
        after.deadlines.regulatory_resolve_by - before.deadlines.regulatory_resolve_by,
        Duration::days(15)
    );
    let (status, body) = app
        .act(
            ALICE,
            &reference,
            v,
            json!({"action": "extend", "reason": "again"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "extension_used");
    assert!(body["message"]["zh"].is_string());
}

#[tokio::test]
async fn a_transfer_keeps_the_deadlines_and_hands_the_ticket_to_the_other_team() {
    let app = app();
    let reference = app.billing_ticket().await;
    let before = app.ticket(&reference);
    app.act_ok(
        ALICE,
        &reference,
        1,
        json!({"action": "transfer", "to_team": "hardship", "reason": "borrower lost their job"}),
    )
    .await;
    let after = app.ticket(&reference);
    assert_eq!(after.team, "hardship");
    assert_eq!(after.deadlines, before.deadlines);
    let (status, _) = app.get(ALICE, &format!("/tickets/{reference}")).await;
    assert_eq!(
        status, 404,
        "billing no longer has it: it answers as missing"
    );
    let (status, _) = app
        .get(
            Caller::Member("hana", "hardship"),
            &format!("/tickets/{reference}"),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn contact_details_are_masked_unless_the_role_needs_them() {
    let app = app();
    let reference = app.billing_ticket().await;
    let (_, masked) = app.get(ALICE, &format!("/tickets/{reference}")).await;
    assert!(!masked.to_string().contains("13912345678"), "{masked}");
    let (_, shown) = app
        .get(
            Caller::ContactAccess("carl", "billing"),
            &format!("/tickets/{reference}"),
        )
        .await;
    assert!(shown.to_string().contains("13912345678"), "{shown}");
}

#[tokio::test]
async fn resolving_invites_the_borrower_to_the_survey_and_the_answer_is_queued_once() {
    let app = app();
    let reference = app.billing_ticket().await;
    let mut v = 1;
    for action in [
        json!({"action": "acknowledge"}),
        json!({"action": "start_analysis"}),
        json!({"action": "resolve", "code": "upheld", "summary": "The fee is refunded."}),
    ] {
        v = app.act_ok(ALICE, &reference, v, action).await;
    }
    // Acknowledgement (intake), resolution and survey invitation (the api).
    let sent: Vec<_> = app.queues.notifications();
    let kinds: Vec<NotificationKind> = sent.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        [
            NotificationKind::Acknowledgement,
            NotificationKind::Resolution,
            NotificationKind::SurveyInvitation
        ]
    );
    let sent = [sent[2].clone()];
    assert_eq!(sent[0].reference, reference);
    assert!(!serde_json::to_string(&sent[0])
        .unwrap()
        .contains("13912345678"));
    let token = sent[0].fields["token"].as_str().unwrap().to_string();

    let answer = json!({"token": token, "csat": 4, "nps": 8, "solved": "yes"});
    let body = serde_json::to_vec(&answer).unwrap();
    let post = || {
        event(
            "POST",
            "/surveys",
            &[("content-type", "application/json")],
            Some(&body),
            Caller::Anonymous,
        )
    };
    let (status, accepted) = app.call(post()).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(app.queues.surveys().len(), 1);
    assert_eq!(app.queues.surveys()[0].received_at, t0());

    // Once the token's validity has passed, the same token is refused.
    app.clock.advance(Duration::days(400));
    let (status, body) = app.call(post()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(app.queues.surveys().len(), 1);
    assert_eq!(app.ticket(&reference).status, TicketStatus::Resolved);
}

// --- The borrower's pages ------------------------------------------------------------

/// A page's answer: status, HTML, and the cookies it sets (`name=value` parts).
struct Page {
    status: u16,
    html: String,
    cookies: Vec<String>,
}

impl Page {
    /// The value of a hidden input (`csrf_token`, `submission_id`).
    fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.html.find(&marker).expect("hidden input") + marker.len();
        let end = self.html[start..].find('"').unwrap();
        self.html[start..start + end].to_string()
    }

    /// The text of the element with this id.
    fn text_of(&self, id: &str) -> String {
        let marker = format!("id=\"{id}\">");
        let start = self.html.find(&marker).expect("element") + marker.len();
        let end = self.html[start..].find('<').unwrap();
        self.html[start..start + end].to_string()
    }
}

impl App {
    async fn page(&self, method: &str, target: &str, cookie: &str, form: &[(&str, &str)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        if !cookie.is_empty() {
            headers.push(("cookie", cookie));
        }
        let request = event(
            method,
            target,
            &headers,
            (method == "POST").then_some(body.as_bytes()),
            Caller::Anonymous,
        );
        let response = redress_api::handle(&self.api, request).await;
        let cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").to_string())
            .collect();
        let html = match response.body() {
            Body::Text(t) => t.clone(),
            _ => String::new(),
        };
        Page {
            status: response.status().as_u16(),
            html,
            cookies,
        }
    }
}

/// The complaint form's fields for a valid English complaint, with the page's tokens.
fn filled_form<'a>(token: &'a str, id: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", token),
        ("submission_id", id),
        ("lang", "en"),
        ("category", "fees_interest"),
        ("product", "personal_loan"),
        (
            "text",
            "A <b>hidden</b> service fee was charged that the contract never mentioned.",
        ),
        ("phone", "13912345678"),
        ("consent", "yes"),
    ]
}

#[tokio::test]
async fn the_complaint_form_speaks_the_visitors_language_and_sets_its_csrf_cookie() {
    let app = app();
    let en = app.page("GET", "/complain?lang=en", "", &[]).await;
    assert_eq!(en.status, 200);
    assert!(en.html.contains("<html lang=\"en\">"), "{}", en.html);
    assert!(en.html.contains("What happened?") && en.html.contains("Send complaint"));
    assert!(
        en.html.contains("Up to 5000 characters"),
        "the text limit is shown"
    );
    assert_eq!(en.cookies.len(), 1, "a fresh CSRF cookie");
    assert!(!en.hidden("csrf_token").is_empty());

    let zh = app.page("GET", "/complain?lang=zh", "", &[]).await;
    assert!(zh.html.contains("<html lang=\"zh-CN\">"));
    assert!(zh.html.contains("发生了什么？") && zh.html.contains("提交投诉"));
    assert!(
        !zh.html.contains("What happened?"),
        "no English on the Chinese page"
    );
}

#[tokio::test]
async fn a_form_with_errors_comes_back_escaped_with_each_error_beside_its_field() {
    let app = app();
    let form = app.page("GET", "/complain?lang=en", "", &[]).await;
    let (token, cookie) = (form.hidden("csrf_token"), form.cookies[0].clone());
    let answer = app
        .page(
            "POST",
            "/complain",
            &cookie,
            &[
                ("csrf_token", &token),
                ("submission_id", "web-test-1"),
                ("lang", "en"),
                ("text", "<script>x</script>"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(answer.status, 422);
    assert!(answer.html.contains("id=\"error-summary\""));
    assert!(
        answer.html.contains("&lt;script&gt;x&lt;/script&gt;"),
        "kept, escaped"
    );
    assert!(!answer.html.contains("<script>x"), "never raw");
    assert!(answer.html.contains("aria-describedby=\"err-product\""));
    assert!(
        answer.html.contains("value=\"yes\" checked"),
        "the consent answer is kept"
    );
    assert!(app.queues.complaints().is_empty(), "nothing enqueued");
}

#[tokio::test]
async fn a_form_without_its_csrf_cookie_is_refused_and_nothing_is_enqueued() {
    let app = app();
    let form = app.page("GET", "/complain?lang=en", "", &[]).await;
    let token = form.hidden("csrf_token");
    let answer = app
        .page("POST", "/complain", "", &filled_form(&token, "web-t2"))
        .await;
    assert_eq!(answer.status, 403);
    assert!(answer.html.contains("This form had expired"));
    assert!(app.queues.complaints().is_empty());
}

#[tokio::test]
async fn a_sent_form_gives_the_codes_and_the_status_page_shows_the_complaint_in_local_time() {
    let app = app();
    let form = app.page("GET", "/complain?lang=en", "", &[]).await;
    let (token, cookie) = (form.hidden("csrf_token"), form.cookies[0].clone());
    let fields = filled_form(&token, "web-t3");
    let sent = app.page("POST", "/complain", &cookie, &fields).await;
    assert_eq!(sent.status, 200, "{}", sent.html);
    let reference = sent.text_of("reference");
    let secret = sent.text_of("status-secret");
    // 02:00 UTC is 10:00 in the configured zone (Asia/Shanghai).
    assert!(
        sent.html.contains("2026-11-23 10:00 (Beijing time)"),
        "{}",
        sent.html
    );
    // Pressing send again gives the same complaint.
    let again = app.page("POST", "/complain", &cookie, &fields).await;
    assert_eq!(again.text_of("reference"), reference);
    assert_eq!(app.queues.complaints().len(), 1);
    app.run_intake().await;

    let look_up = |secret: &str| {
        let form = [
            ("csrf_token", token.clone()),
            ("lang", "en".to_string()),
            ("reference", reference.clone()),
            ("secret", secret.to_string()),
        ];
        let (app, cookie) = (&app, cookie.clone());
        async move {
            let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.page("POST", "/status", &cookie, &fields).await
        }
    };
    let status = look_up(&secret).await;
    assert_eq!(status.status, 200, "{}", status.html);
    assert!(status
        .html
        .contains("A &lt;b&gt;hidden&lt;/b&gt; service fee"));
    assert!(status.html.contains("We answer it by"));

    let wrong = look_up("AAAA-BBBB-CCCC-DDDD").await;
    assert_eq!(wrong.status, 404);
    assert!(wrong.html.contains("No complaint matches"));
    assert!(
        !wrong.html.contains("service fee"),
        "nothing of the complaint without its secret"
    );
}

// --- Public and staff entry -------------------------------------------------------

/// The codes of a 422's field errors, by field.
fn field_codes(body: &Value) -> Vec<(String, String)> {
    body["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|f| {
                    assert!(
                        f["message"]["en"].is_string() && f["message"]["zh"].is_string(),
                        "{f}"
                    );
                    (
                        f["field"].as_str().unwrap_or("").to_string(),
                        f["code"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

impl App {
    /// `POST /tickets/entered` as `caller`, with a fresh Idempotency-Key.
    async fn enter(&self, caller: Caller<'_>, form: &Value) -> (u16, Value) {
        let key = uuid::Uuid::new_v4().to_string();
        self.call(event(
            "POST",
            "/tickets/entered",
            &[
                ("content-type", "application/json"),
                ("idempotency-key", &key),
            ],
            Some(&serde_json::to_vec(form).unwrap()),
            caller,
        ))
        .await
    }
}

#[tokio::test]
async fn the_public_route_refuses_backdating_and_staff_channels() {
    let app = app();
    let earlier = (t0() - Duration::days(3)).to_rfc3339();
    let mut backdated = complaint_form();
    backdated["submitted_at"] = json!(earlier);
    let (status, body) = app.submit(&backdated, None).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        field_codes(&body),
        [("submitted_at".to_string(), "staff_only".to_string())]
    );
    for channel in ["phone", "letter", "agent"] {
        let mut form = complaint_form();
        form["channel"] = json!(channel);
        let (status, body) = app.submit(&form, None).await;
        assert_eq!(status, 422, "{channel}: {body}");
        assert_eq!(
            field_codes(&body),
            [("channel".to_string(), "staff_only".to_string())],
            "{channel}"
        );
    }
    // Other errors are reported with it, all at once.
    let mut both = backdated.clone();
    both["channel"] = json!("letter");
    both["borrower"]["phone"] = json!("12345");
    let (_, body) = app.submit(&both, None).await;
    let fields: Vec<String> = field_codes(&body).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["submitted_at", "channel", "borrower.phone"]);
    // The borrower's own channels still pass.
    for channel in ["web", "app", "email"] {
        let mut form = complaint_form();
        form["channel"] = json!(channel);
        assert_eq!(app.submit(&form, None).await.0, 202, "{channel}");
    }
    assert_eq!(app.queues.complaints().len(), 3, "only the three accepted");
}

#[tokio::test]
async fn staff_enter_a_call_with_its_channel_and_time_and_who_entered_it_is_recorded() {
    let app = app();
    let earlier = t0() - Duration::days(3);
    let mut call = complaint_form();
    call["channel"] = json!("phone");
    call["submitted_at"] = json!(earlier.to_rfc3339());

    let (status, _) = app.enter(Caller::Anonymous, &call).await;
    assert_eq!(status, 401, "staff only");
    let no_key = event(
        "POST",
        "/tickets/entered",
        &[("content-type", "application/json")],
        Some(&serde_json::to_vec(&call).unwrap()),
        ALICE,
    );
    let (status, body) = app.call(no_key).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("idempotency_key_required"))
    );
    assert!(app.queues.complaints().is_empty());

    let (status, body) = app.enter(ALICE, &call).await;
    assert_eq!(status, 202, "{body}");
    let reference = body["reference"].as_str().unwrap().to_string();
    let sent = app.queues.complaints();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].received_at, earlier, "deadlines run from the call");
    let records = app.store.access_records(&reference).await.unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].kind, redress_domain::ports::AccessKind::Entered);
    assert_eq!(records[0].actor.id, "alice");
    app.run_intake().await;
    let ticket = app.ticket(&reference);
    assert_eq!(ticket.channel, redress_domain::Channel::Phone);
    assert_eq!(ticket.received_at, earlier);
    // Still bounded: no entry from the future.
    let mut future = call.clone();
    future["submitted_at"] = json!((t0() + Duration::hours(1)).to_rfc3339());
    let (status, body) = app.enter(ALICE, &future).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(field_codes(&body)[0].0, "submitted_at");
}

#[tokio::test]
async fn a_json_client_without_an_idempotency_key_is_told_to_send_one() {
    let app = app();
    let (status, body) = app
        .call(event(
            "POST",
            "/complaints",
            &[("content-type", "application/json")],
            Some(&serde_json::to_vec(&complaint_form()).unwrap()),
            Caller::Anonymous,
        ))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "idempotency_key_required");
    assert!(body["message"]["en"]
        .as_str()
        .unwrap()
        .contains("Idempotency-Key"));
    assert!(body["message"]["zh"]
        .as_str()
        .unwrap()
        .contains("Idempotency-Key"));
    assert!(app.queues.complaints().is_empty(), "nothing was enqueued");
    assert!(
        !app.store.calls().contains(&"record submission"),
        "nothing was recorded"
    );
}

#[tokio::test]
async fn the_status_secret_is_read_from_the_header_never_from_the_url() {
    let app = app();
    let (_, body) = app.submit(&complaint_form(), None).await;
    let reference = body["reference"].as_str().unwrap();
    let secret = body["status_secret"].as_str().unwrap();
    let (status, body) = app
        .get(
            Caller::Anonymous,
            &format!("/complaints/{reference}?secret={secret}"),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("secret_required"))
    );
    let (status, _) = app
        .call(event(
            "GET",
            &format!("/complaints/{reference}"),
            &[("x-status-secret", secret)],
            None,
            Caller::Anonymous,
        ))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn every_answer_carries_strict_transport_security() {
    let app = app();
    let requests = [
        event("GET", "/", &[], None, Caller::Anonymous),
        event("GET", "/complain", &[], None, Caller::Anonymous),
        event("GET", "/signin", &[], None, Caller::Anonymous),
        event("GET", "/signin/session", &[], None, Caller::Anonymous),
        event("GET", "/assets/app.js", &[], None, Caller::Anonymous),
        event("GET", "/tickets", &[], None, Caller::Anonymous),
        event("GET", "/tickets?team=billing", &[], None, ALICE),
        event("GET", "/nowhere", &[], None, Caller::Anonymous),
        event("POST", "/complaints", &[], Some(b"x"), Caller::Anonymous),
    ];
    for request in requests {
        let path = request.uri().path().to_string();
        let response = redress_api::handle(&app.api, request).await;
        let hsts = response
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok());
        assert_eq!(hsts, Some(redress_api::HSTS), "{path}");
        assert!(redress_api::HSTS.contains("max-age=63072000"));
    }
}

// --- Access is never leaked -------------------------------------------------------

#[tokio::test]
async fn a_conflict_rechecks_that_the_caller_may_still_see_the_ticket() {
    let app = app();
    let reference = app.billing_ticket().await;
    // Someone else acknowledges first: a 409 with the ticket as it is now, masked.
    let mut acknowledged = app.ticket(&reference);
    acknowledged.version = 2;
    acknowledged.status = TicketStatus::Acknowledged;
    app.store.interleave_change(acknowledged);
    let carl = Caller::ContactAccess("carl", "billing");
    let (status, body) = app
        .act(carl, &reference, 1, json!({"action": "acknowledge"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("version_conflict")),
        "{body}"
    );
    assert_eq!(body["current"]["version"], 2);
    assert!(!body.to_string().contains("13912345678"), "{body}");
    // Someone else transfers it to hardship first: it is no longer the caller's to see.
    let mut transferred = app.ticket(&reference);
    transferred.version = 3;
    transferred.team = "hardship".into();
    app.store.interleave_change(transferred);
    let (status, body) = app
        .act(ALICE, &reference, 2, json!({"action": "start_analysis"}))
        .await;
    assert_eq!(
        (status, body.clone()),
        app.act(
            ALICE,
            "RD-261123-ZZZZZZZZ",
            2,
            json!({"action": "start_analysis"})
        )
        .await,
        "exactly like a missing ticket"
    );
    assert_eq!(status, 404);
    assert!(!body.to_string().contains("hardship"));
}

#[tokio::test]
async fn queue_cursors_are_signed_and_bound_to_the_team_and_the_filters() {
    let app = app();
    for _ in 0..3 {
        app.billing_ticket().await;
    }
    let (status, first) = app.get(ALICE, "/tickets?team=billing&limit=1").await;
    assert_eq!(status, 200, "{first}");
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let encoded: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
    let (status, second) = app
        .get(
            ALICE,
            &format!("/tickets?team=billing&limit=1&cursor={encoded}"),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(
        first["tickets"][0]["reference"],
        second["tickets"][0]["reference"]
    );

    let app = &app;
    let refused = |target: String| async move {
        let (status, body) = app.get(Caller::Manager("mia"), &target).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_cursor")),
            "{target}"
        );
    };
    // Swapped to another team's queue or other filters.
    refused(format!("/tickets?team=hardship&cursor={encoded}")).await;
    refused(format!(
        "/tickets?team=billing&priority=high&cursor={encoded}"
    ))
    .await;
    refused(format!(
        "/tickets?team=billing&overdue=true&cursor={encoded}"
    ))
    .await;
    // Edited, or the store's own cursor without the signature.
    let (tag, inner) = cursor.split_once('.').unwrap();
    let edited: String = form_urlencoded::byte_serialize(
        format!(
            "{tag}.{}{}",
            &inner[..inner.len() - 1],
            if inner.ends_with('0') { '1' } else { '0' }
        )
        .as_bytes(),
    )
    .collect();
    refused(format!("/tickets?team=billing&cursor={edited}")).await;
    let bare: String = form_urlencoded::byte_serialize(inner.as_bytes()).collect();
    refused(format!("/tickets?team=billing&cursor={bare}")).await;
    refused("/tickets?team=billing&cursor=ffff".to_string()).await;
}

#[tokio::test]
async fn made_up_claims_in_the_request_context_get_nothing() {
    // A direct invocation (no API Gateway in front) with authorizer claims but no token.
    let app = app();
    let reference = app.billing_ticket().await;
    for target in [
        format!("/tickets/{reference}"),
        "/reports/overview".to_string(),
    ] {
        let request = lambda_http::request::from_str(
            &json!({
                "version": "2.0", "routeKey": "$default", "rawPath": target,
                "rawQueryString": "", "headers": {},
                "requestContext": {
                    "accountId": "000000000000", "apiId": "test", "domainName": "localhost",
                    "domainPrefix": "test", "requestId": "r", "routeKey": "$default",
                    "stage": "$default", "time": "23/Nov/2026:02:00:00 +0000", "timeEpoch": 0,
                    "http": {"method": "GET", "path": target, "protocol": "HTTP/1.1",
                             "sourceIp": "127.0.0.1", "userAgent": "x"},
                    "authorizer": {"jwt": {"claims": {
                        "username": "mallory", "cognito:groups": "[managers contact-access]",
                        "iss": testing::settings().issuer, "client_id": testing::CLIENT_ID,
                        "token_use": "access"}, "scopes": null}}
                },
                "isBase64Encoded": false
            })
            .to_string(),
        )
        .unwrap();
        let (status, body) = app.call(request).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("unauthorized")),
            "{target}"
        );
    }
}

#[tokio::test]
async fn customer_and_loan_numbers_are_masked_and_every_unmasked_view_is_audited() {
    let app = app();
    let mut form = complaint_form();
    form["borrower"]["loan_number"] = json!("LN20261123007");
    let (_, body) = app.submit(&form, None).await;
    app.run_intake().await;
    let reference = body["reference"].as_str().unwrap().to_string();

    for target in [
        format!("/tickets/{reference}"),
        format!("/console/tickets/{reference}"),
    ] {
        let response = redress_api::handle(&app.api, event("GET", &target, &[], None, ALICE)).await;
        let text = match response.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        assert_eq!(response.status(), 200, "{target}");
        for secret in ["C100234", "LN20261123007", "13912345678"] {
            assert!(!text.contains(secret), "{target} shows {secret}");
        }
        assert!(
            text.contains("C****34"),
            "{target}: the customer id, masked"
        );
        assert!(
            text.contains("LN********007"),
            "{target}: the loan number, masked"
        );
    }
    assert!(
        app.store
            .access_records(&reference)
            .await
            .unwrap()
            .is_empty(),
        "masked views are not access events"
    );

    let carl = Caller::ContactAccess("carl", "billing");
    let (status, shown) = app.get(carl, &format!("/tickets/{reference}")).await;
    assert_eq!(status, 200);
    assert!(shown.to_string().contains("C100234") && shown.to_string().contains("LN20261123007"));
    app.clock.advance(Duration::minutes(5));
    let (status, _) = app
        .get(carl, &format!("/console/tickets/{reference}"))
        .await;
    assert_eq!(status, 200);
    let (status, acted) = app
        .act(carl, &reference, 1, json!({"action": "acknowledge"}))
        .await;
    assert_eq!(status, 200, "{acted}");
    let records = app.store.access_records(&reference).await.unwrap();
    let seen: Vec<(String, DateTime<Utc>)> =
        records.iter().map(|r| (r.actor.id.clone(), r.at)).collect();
    assert_eq!(
        seen,
        [
            ("carl".to_string(), t0()),
            ("carl".to_string(), t0() + Duration::minutes(5)),
            ("carl".to_string(), t0() + Duration::minutes(5)),
        ],
        "one record per unmasked view: the ticket, the console page, the action's answer"
    );
    assert!(records
        .iter()
        .all(|r| r.kind == redress_domain::ports::AccessKind::ContactViewed));
    // No record, no unmasked view.
    app.store.fail_next_call_to(
        "record access",
        StoreFailure::Unavailable { code: "x".into() },
    );
    let (status, body) = app.get(carl, &format!("/tickets/{reference}")).await;
    assert_eq!(status, 503, "{body}");
    assert!(!body.to_string().contains("C100234"));
}

// --- The authorization matrix -----------------------------------------------------

/// The callers of the matrix, in column order.
const CALLERS: [&str; 8] = [
    "no token",
    "forged signature",
    "expired",
    "other pool",
    "member of the ticket's team",
    "member of another team",
    "manager",
    "contact-access",
];

/// How a route expects its token: the JSON routes as a bearer token, the console and
/// dashboard fragments as the session cookie the sign-in page sets.
#[derive(Clone, Copy, Debug)]
enum Carrier {
    Bearer,
    Cookie,
}

/// What a route requires, and what each caller gets.
#[derive(Clone, Copy, Debug)]
enum Access {
    /// Anyone: borrowers' routes and pages, sign-in.
    Public,
    /// Staff only: the status each caller of [`CALLERS`] gets.
    Staff(Carrier, [u16; 8]),
}

/// Every route of the api with the status each caller gets. A route of the template
/// without a row here (or a row without a route) fails the test.
fn matrix() -> Vec<(&'static str, &'static str, Access)> {
    use Access::*;
    use Carrier::*;
    const TICKET: [u16; 8] = [401, 401, 401, 401, 200, 404, 200, 200];
    const QUEUE: [u16; 8] = [401, 401, 401, 401, 200, 403, 200, 200];
    const MANAGERS: [u16; 8] = [401, 401, 401, 401, 403, 403, 200, 403];
    const ANY_STAFF: [u16; 8] = [401, 401, 401, 401, 202, 202, 202, 202];
    const SIGNED_IN: [u16; 8] = [401, 401, 401, 401, 200, 200, 200, 200];
    vec![
        ("GET", "/tickets", Staff(Bearer, QUEUE)),
        ("GET", "/tickets/{reference}", Staff(Bearer, TICKET)),
        ("GET", "/tickets/{reference}/history", Staff(Bearer, TICKET)),
        (
            "POST",
            "/tickets/{reference}/actions",
            Staff(Bearer, TICKET),
        ),
        ("POST", "/tickets/entered", Staff(Bearer, ANY_STAFF)),
        ("GET", "/reports/{kind}", Staff(Bearer, MANAGERS)),
        ("GET", "/console/queue", Staff(Cookie, QUEUE)),
        ("GET", "/console/tickets/{reference}", Staff(Cookie, TICKET)),
        (
            "POST",
            "/console/tickets/{reference}/actions",
            Staff(Cookie, TICKET),
        ),
        ("GET", "/dashboard/view", Staff(Cookie, MANAGERS)),
        ("GET", "/signin/session", Staff(Cookie, SIGNED_IN)),
        ("POST", "/complaints", Public),
        ("GET", "/complaints/{reference}", Public),
        ("POST", "/surveys", Public),
        ("GET", "/", Public),
        ("GET", "/complain", Public),
        ("POST", "/complain", Public),
        ("GET", "/status", Public),
        ("POST", "/status", Public),
        ("GET", "/survey", Public),
        ("POST", "/survey", Public),
        ("GET", "/assets/{name}", Public),
        ("GET", "/console", Public),
        ("GET", "/console/callback", Public),
        ("GET", "/dashboard", Public),
        ("GET", "/signin", Public),
        ("POST", "/signin", Public),
        ("POST", "/signout", Public),
    ]
}

/// The api's routes as the template declares them to API Gateway (and the local runner
/// serves them): method, path, and whether the JWT authorizer guards it.
fn template_routes() -> Vec<(String, String, bool)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
    let template: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let api = &template["Resources"]["ApiFunction"]["Properties"]["Events"];
    let events = api.as_mapping().expect("the api function's events");
    events
        .values()
        .filter(|e| e["Type"].as_str() == Some("HttpApi"))
        .map(|e| {
            let p = &e["Properties"];
            (
                p["Method"].as_str().unwrap().to_ascii_uppercase(),
                p["Path"].as_str().unwrap().to_string(),
                p["Auth"]["Authorizer"].as_str() != Some("NONE"),
            )
        })
        .collect()
}

/// The access token each caller shows (`None`: no token). The refused ones carry the
/// most powerful groups, so only the token itself can be why they are refused.
fn matrix_token(caller: usize) -> Option<String> {
    let all = ["managers", "contact-access", "team-billing"];
    let now = Utc::now().timestamp();
    match caller {
        0 => None,
        1 => Some(testing::sign(
            &testing::access_claims("mallory", &all),
            testing::OTHER_KEY,
            testing::POOL_KID,
        )),
        2 => {
            let mut claims = testing::access_claims("mallory", &all);
            claims["iat"] = json!(now - 7200);
            claims["exp"] = json!(now - 3600);
            Some(testing::sign(&claims, testing::POOL_KEY, testing::POOL_KID))
        }
        3 => {
            let mut claims = testing::access_claims("mallory", &all);
            claims["iss"] =
                json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool");
            Some(testing::sign(&claims, testing::POOL_KEY, testing::POOL_KID))
        }
        4 => Some(testing::access_token("alice", &["team-billing"])),
        5 => Some(testing::access_token("bob", &["team-hardship"])),
        6 => Some(testing::access_token("mia", &["managers"])),
        _ => Some(testing::access_token(
            "carl",
            &["team-billing", "contact-access"],
        )),
    }
}

#[tokio::test]
async fn the_authorization_matrix_holds_for_every_route_and_caller() {
    let routes = template_routes();
    let rows = matrix();
    for (method, path, guarded) in &routes {
        let row = rows.iter().find(|(m, p, _)| m == method && p == path);
        let Some((_, _, access)) = row else {
            panic!("{method} {path} is in the template but has no row in the authorization matrix");
        };
        // The JWT authorizer guards exactly the bearer routes; cookie routes and public
        // ones are open at the gateway and checked (or not needed) by the api.
        let bearer = matches!(access, Access::Staff(Carrier::Bearer, _));
        assert_eq!(
            *guarded, bearer,
            "{method} {path}: the template's authorizer"
        );
    }
    for (method, path, _) in &rows {
        assert!(
            routes.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} has a row but is not in the template"
        );
    }

    let app = app();
    let reference = app.billing_ticket().await;
    let csrf =
        redress_api::web::csrf::CsrfKey::from_status_secrets(&StatusSecrets::new(b"status-key"))
            .issue(t0(), [7; 16]);
    let mut failures = Vec::new();
    for (method, path, access) in rows {
        let Access::Staff(carrier, expected) = access else {
            // Public: no token needed, and never a 401 or a server error.
            let target = path
                .replace("{reference}", &reference)
                .replace("{name}", "app.js");
            let (status, body) = app
                .call(event(method, &target, &[], None, Caller::Anonymous))
                .await;
            assert!(
                status != 401 && status < 500,
                "{method} {path}: {status} {body}"
            );
            continue;
        };
        for (caller, expected) in expected.into_iter().enumerate() {
            let version = app.ticket(&reference).version;
            let target = match path {
                "/tickets" | "/console/queue" => format!("{path}?team=billing"),
                "/reports/{kind}" => "/reports/overview?from=2026-11-01&to=2026-11-30".into(),
                "/dashboard/view" => "/dashboard/view?from=2026-11-01&to=2026-11-30".into(),
                _ => path.replace("{reference}", &reference),
            };
            let body = match path {
                "/tickets/entered" => {
                    let mut form = complaint_form();
                    form["channel"] = json!("letter");
                    Some(serde_json::to_vec(&form).unwrap())
                }
                p if p.ends_with("/actions") => Some(
                    serde_json::to_vec(&json!({
                        "action": "add_note", "text": "matrix", "expected_version": version
                    }))
                    .unwrap(),
                ),
                _ => None,
            };
            let key = format!("matrix-{caller}-{path}");
            let mut cookies = format!("redress_csrf={csrf}");
            let mut headers: Vec<(&str, String)> = vec![
                ("content-type", "application/json".into()),
                ("idempotency-key", key),
                ("x-csrf-token", csrf.clone()),
            ];
            if let Some(token) = matrix_token(caller) {
                match carrier {
                    Carrier::Bearer => headers.push(("authorization", format!("Bearer {token}"))),
                    Carrier::Cookie => cookies.push_str(&format!("; redress_session={token}")),
                }
            }
            headers.push(("cookie", cookies));
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, answer) = app
                .call(event(
                    method,
                    &target,
                    &headers,
                    body.as_deref(),
                    Caller::Anonymous,
                ))
                .await;
            if status != expected {
                failures.push(format!(
                    "{method} {path} × {}: expected {expected}, got {status} {answer}",
                    CALLERS[caller]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The dashboard's default period ends today where the reports count days (Shanghai by
/// default), not in UTC: after 16:00 UTC a Shanghai-day answer is already tomorrow's.
#[tokio::test]
async fn the_dashboard_period_ends_today_in_the_reporting_time_zone() {
    let app = app();
    app.clock.set("2026-12-02T17:40:00Z".parse().unwrap());
    let page = app.page("GET", "/dashboard?lang=en", "", &[]).await;
    assert_eq!(page.status, 200);
    assert!(
        page.html.contains("name=\"to\" value=\"2026-12-03\""),
        "the period ends on the Shanghai date"
    );
    assert!(page.html.contains("name=\"from\" value=\"2026-11-04\""));
    app.clock.set("2026-12-02T10:00:00Z".parse().unwrap());
    let page = app.page("GET", "/dashboard?lang=en", "", &[]).await;
    assert!(page.html.contains("name=\"to\" value=\"2026-12-02\""));
}
