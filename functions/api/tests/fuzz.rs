//! Every route of the api with arbitrary input: method, path, query, headers and body,
//! on the in-memory store and queues. Whatever the caller sends, the handler answers (no
//! panic), never with a 5xx (the fakes never fail, so nothing but input is at play), and
//! a refused request (4xx) changes nothing stored and queues nothing.
//!
//! Fixed seed and case count, so a run is reproducible and takes a few seconds; a
//! failure prints the smallest request found.

use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Request};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use redress_api::auth::StaffAuth;
use redress_api::ApiDeps;
use redress_aws::jwks::testing;
use redress_domain::borrower::BorrowerKeyer;
use redress_domain::config::DomainConfig;
use redress_domain::ports::TestClock;
use redress_domain::reference::StatusSecrets;
use redress_domain::survey::SurveyTokens;
use redress_intake::IntakeDeps;
use redress_memory::fuzz;
use redress_memory::{MemoryQueues, MemorySignIn, MemoryStore, MemoryThrottle};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Requests tried per run.
const CASES: u32 = 800;
/// The generator's seed: change it to explore further, keep it fixed in CI.
const SEED: [u8; 32] = *b"redress-api-fuzz-seed-2026-12-02";

fn t0() -> DateTime<Utc> {
    "2026-11-23T02:00:00Z".parse().unwrap()
}

struct App {
    api: ApiDeps<MemoryStore, MemoryQueues>,
    store: MemoryStore,
    queues: MemoryQueues,
    /// A stored ticket (billing team) and a survey token for it.
    reference: String,
    survey_token: String,
}

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

async fn app() -> App {
    let config = Arc::new(DomainConfig::bundled().unwrap());
    let store = MemoryStore::new().with_config(&config);
    let queues = MemoryQueues::new();
    let mint: redress_memory::signin::Mint = Arc::new(|user: &str, groups: &[String]| {
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        testing::access_token(user, &groups)
    });
    let auth = StaffAuth::new(
        Arc::new(testing::verifier()),
        Arc::new(MemorySignIn::new(mint)),
        Arc::new(MemoryThrottle::new()),
        &StatusSecrets::new(b"status-key"),
    );
    let api = ApiDeps {
        config: Arc::clone(&config),
        store: store.clone(),
        queue: queues.clone(),
        secrets: StatusSecrets::new(b"status-key"),
        survey_tokens: SurveyTokens::new(b"survey-key"),
        auth,
        clock: Arc::new(TestClock::at(t0())),
    };
    let intake = IntakeDeps {
        config,
        keyer: BorrowerKeyer::new(b"borrower-key"),
        store: store.clone(),
        notifier: queues.clone(),
    };
    // One ticket through the real submit and intake path.
    let body = serde_json::to_string(&complaint_form()).unwrap();
    let request = event(&Wire {
        method: "POST".into(),
        path: "/complaints".into(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("idempotency-key".into(), "fuzz-seed-1".into()),
        ],
        caller: Caller::Anonymous,
        body: Some(body),
    })
    .unwrap();
    let response = redress_api::handle(&api, request).await;
    assert_eq!(response.status(), 202);
    let reference = body_json(response.body())["reference"]
        .as_str()
        .unwrap()
        .to_string();
    for (i, message) in queues.take_complaints().into_iter().enumerate() {
        let mut sqs = aws_lambda_events::event::sqs::SqsMessage::default();
        sqs.message_id = Some(format!("seed-{i}"));
        sqs.body = Some(serde_json::to_string(&message).unwrap());
        assert!(!redress_intake::process(&intake, &sqs).await.is_failure());
    }
    let survey_token = api
        .survey_tokens
        .issue(&reference, t0() + Duration::days(30), "fuzznonce");
    App {
        api,
        store,
        queues,
        reference,
        survey_token,
    }
}

fn body_json(body: &Body) -> Value {
    match body {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

#[derive(Debug, Clone, Copy)]
enum Caller {
    Anonymous,
    /// A token that is not a token.
    Garbage,
    Member(&'static str),
    Manager,
    ContactAccess(&'static str),
}

/// One request as it arrives on the wire.
#[derive(Debug, Clone)]
struct Wire {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    caller: Caller,
    body: Option<String>,
}

/// The API Gateway v2 event for `wire`, or `None` if no gateway could deliver it (a
/// header value HTTP does not allow).
fn event(wire: &Wire) -> Option<Request> {
    let mut headers = Map::new();
    for (k, v) in &wire.headers {
        headers.insert(k.to_ascii_lowercase(), json!(v));
    }
    match wire.caller {
        Caller::Anonymous => {}
        Caller::Garbage => {
            headers.insert("authorization".into(), json!("Bearer eyJhbGciOi.x.y"));
        }
        Caller::Member(team) => {
            let group = format!("team-{team}");
            headers.insert(
                "authorization".into(),
                json!(format!(
                    "Bearer {}",
                    testing::access_token("ann", &[&group])
                )),
            );
        }
        Caller::Manager => {
            headers.insert(
                "authorization".into(),
                json!(format!(
                    "Bearer {}",
                    testing::access_token("max", &["managers"])
                )),
            );
        }
        Caller::ContactAccess(team) => {
            let group = format!("team-{team}");
            headers.insert(
                "authorization".into(),
                json!(format!(
                    "Bearer {}",
                    testing::access_token("cat", &[&group, "contact-access"])
                )),
            );
        }
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": wire.path,
        "rawQueryString": wire.query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "fuzz",
            "domainName": "localhost",
            "domainPrefix": "fuzz",
            "http": {"method": wire.method, "path": wire.path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "fuzz"},
            "requestId": "fuzz-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:02:00:00 +0000",
            "timeEpoch": 0
        },
        "isBase64Encoded": false
    });
    if let Some(body) = &wire.body {
        event["body"] = json!(body);
    }
    if !wire.query.is_empty() {
        let mut params = Map::new();
        for (k, v) in form_urlencoded::parse(wire.query.as_bytes()) {
            params.insert(k.into_owned(), json!(v));
        }
        event["queryStringParameters"] = Value::Object(params);
    }
    lambda_http::request::from_str(&event.to_string()).ok()
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A date as a client might send one: ordinary, at the bounds, or at chrono's ends.
fn date() -> impl Strategy<Value = String> {
    prop_oneof![
        (1990i32..2110, 1u32..13, 1u32..32).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        (-262_144i32..262_144, 0u32..14, 0u32..33)
            .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        prop::sample::select(vec![
            "-262143-01-01",
            "+262142-12-31",
            "262142-12-31",
            "0000-01-01",
            "9999-12-31",
            "1999-12-31",
            "2000-01-01",
            "2100-12-31",
            "2101-01-01",
            "2026-02-30",
        ])
        .prop_map(String::from),
    ]
}

/// A time as a client might send one (RFC 3339 or not).
fn time() -> impl Strategy<Value = String> {
    prop_oneof![
        (date(), 0u32..25, 0u32..61).prop_map(|(d, h, m)| format!("{d}T{h:02}:{m:02}:00Z")),
        date().prop_map(|d| format!("{d}T00:00:00+14:00")),
        "\\PC{0,30}",
    ]
}

/// Any short text, printable or not.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_.~-]{0,24}",
        "\\PC{0,40}",
        any::<String>().prop_map(|s| s.chars().take(40).collect()),
        (1u32..9000).prop_map(|n| n.to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
    ]
}

/// Any JSON value, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    fuzz::json_value(
        text().boxed(),
        vec![
            text().prop_map(Value::from).boxed(),
            time().prop_map(Value::from).boxed(),
        ],
        3,
        24,
        6,
    )
}

/// Field names the handlers read, so arbitrary values land where they matter.
const FIELDS: &[&str] = &[
    "borrower",
    "name",
    "phone",
    "email",
    "national_id",
    "customer_id",
    "loan_number",
    "product",
    "text",
    "consent_to_contact",
    "category",
    "channel",
    "desired_outcome",
    "language",
    "submitted_at",
    "action",
    "expected_version",
    "reason",
    "code",
    "summary",
    "to_team",
    "token",
    "csat",
    "nps",
    "solved",
    "comment",
    "reference",
    "secret",
    "csrf_token",
    "submission_id",
    "username",
    "password",
    "new_password",
    "totp",
    "session",
];

/// A valid body of some route with one field replaced or added.
fn mutated_body(reference: String, token: String) -> impl Strategy<Value = Value> {
    let bases = vec![
        complaint_form(),
        json!({"action": "acknowledge", "expected_version": 1}),
        json!({"action": "add_note", "text": "Called the borrower back.", "expected_version": 1}),
        json!({"action": "resolve", "code": "upheld", "summary": "Refunded.", "expected_version": 1}),
        json!({"action": "transfer", "to_team": "hardship", "reason": "hardship case", "expected_version": 1}),
        json!({"action": "extend", "reason": "complex", "expected_version": 1}),
        json!({"token": token, "csat": 4, "nps": 9, "solved": "yes", "comment": "ok"}),
        json!({"reference": reference, "secret": "AAAA-BBBB-CCCC-DDDD"}),
    ];
    (
        prop::sample::select(bases),
        prop::sample::select(FIELDS),
        json_value(),
        any::<bool>(),
    )
        .prop_map(|(mut base, field, value, nested)| {
            if nested && field != "borrower" && base.get("borrower").is_some() {
                base["borrower"][field] = value;
            } else {
                base[field] = value;
            }
            base
        })
}

fn body(reference: String, token: String) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        2 => mutated_body(reference, token).prop_map(|v| Some(v.to_string())),
        1 => json_value().prop_map(|v| Some(v.to_string())),
        1 => prop::collection::vec((prop::sample::select(FIELDS), text()), 0..8).prop_map(|kv| {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in kv {
                form.append_pair(k, &v);
            }
            Some(form.finish())
        }),
        1 => prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| Some(String::from_utf8_lossy(&b).into_owned())),
        // Over the size limit.
        1 => (70_000usize..80_000).prop_map(|n| Some("x".repeat(n))),
    ]
}

fn path(reference: String) -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        3 => Just(reference),
        1 => Just("RD-261123-7KQ2M9XA".to_string()),
        2 => text().prop_map(|s| encode(&s)),
        1 => Just("..".to_string()),
    ];
    let known = prop::sample::select(vec![
        "/complaints",
        "/complaints/{}",
        "/tickets",
        "/tickets/{}",
        "/tickets/{}/history",
        "/tickets/{}/actions",
        "/surveys",
        "/reports/satisfaction",
        "/reports/repeat-complaints",
        "/reports/deadlines",
        "/reports/overview",
        "/reports/{}",
        "/",
        "/complain",
        "/status",
        "/survey",
        "/console",
        "/console/callback",
        "/console/queue",
        "/console/tickets/{}",
        "/console/tickets/{}/actions",
        "/dashboard",
        "/dashboard/view",
        "/assets/{}",
        "/signin",
        "/signin/session",
        "/signout",
        "/{}",
        "/{}/{}/{}",
    ]);
    (known, segment.clone(), segment, any::<bool>()).prop_map(|(p, a, b, slash)| {
        let mut p = p.replacen("{}", &a, 1).replacen("{}", &b, 1);
        p = p.replace("{}", "x");
        if slash {
            p.push('/');
        }
        p
    })
}

fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        4 => prop::sample::select(vec![
            "from", "to", "by", "tz", "format", "limit", "cursor", "status", "priority",
            "category", "overdue", "lang", "token", "secret", "reference", "kind", "code",
            "state", "team",
        ])
        .prop_map(String::from),
        1 => text(),
    ];
    let value = prop_oneof![date(), text(), time()];
    prop::collection::vec((key, value), 0..6).prop_map(|kv| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in kv {
            q.append_pair(&k, &v);
        }
        q.finish()
    })
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let content_type = prop::sample::select(vec![
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
    ]);
    (
        prop::option::of(content_type),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(prop_oneof![
            Just("text/csv".to_string()),
            Just("text/html".to_string()),
            text()
        ]),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(
            |(content_type, key, secret, accept, cookie, language, origin)| {
                let mut h = Vec::new();
                let mut put = |k: &str, v: Option<String>| {
                    if let Some(v) = v {
                        h.push((k.to_string(), v));
                    }
                };
                put("content-type", content_type.map(String::from));
                put("idempotency-key", key);
                put("x-status-secret", secret);
                put("accept", accept);
                put(
                    "cookie",
                    cookie.map(|c| format!("redress_session={c}; csrf={c}")),
                );
                put("accept-language", language);
                put("origin", origin);
                h
            },
        )
}

fn caller() -> impl Strategy<Value = Caller> {
    prop_oneof![
        3 => Just(Caller::Anonymous),
        1 => Just(Caller::Garbage),
        2 => Just(Caller::Member("billing")),
        1 => Just(Caller::Member("hardship")),
        2 => Just(Caller::Manager),
        1 => Just(Caller::ContactAccess("billing")),
    ]
}

fn wire(reference: String, token: String) -> impl Strategy<Value = Wire> {
    let method = prop_oneof![
        4 => Just("GET".to_string()),
        4 => Just("POST".to_string()),
        1 => prop::sample::select(vec!["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
            .prop_map(String::from),
    ];
    (
        method,
        path(reference.clone()),
        query(),
        headers(),
        caller(),
        body(reference, token),
    )
        .prop_map(|(method, path, query, headers, caller, body)| Wire {
            method,
            path,
            query,
            headers,
            caller,
            body,
        })
}

#[test]
fn no_request_panics_gets_a_5xx_or_changes_anything_when_refused() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(app());
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &SEED));
    let strategy = wire(app.reference.clone(), app.survey_token.clone());
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u32>::new());
    let result = runner.run(&strategy, |wire| {
        let Some(request) = event(&wire) else {
            return Ok(());
        };
        let before = (app.store.fingerprint(), app.queues.sent_counts());
        let response = runtime.block_on(redress_api::handle(&app.api, request));
        let status = response.status().as_u16();
        *statuses.borrow_mut().entry(status).or_default() += 1;
        if status >= 500 {
            return Err(TestCaseError::fail(format!(
                "{status} for {wire:?}: {}",
                body_json(response.body())
            )));
        }
        if status >= 400 {
            let after = (app.store.fingerprint(), app.queues.sent_counts());
            prop_assert!(
                before == after,
                "a refused request ({status}) changed the store or queues"
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let statuses = statuses.into_inner();
    // The generator reaches the handlers, not only the router's 404: every class of
    // answer shows up.
    let seen = |range: std::ops::Range<u16>| statuses.keys().any(|s| range.contains(s));
    assert!(seen(200..300), "{statuses:?}");
    for s in [400, 401, 403, 404, 405, 415, 422] {
        assert!(statuses.contains_key(&s), "no {s} in {statuses:?}");
    }
}

#[tokio::test]
async fn a_report_at_the_ends_of_chronos_calendar_is_a_4xx_not_a_dropped_connection() {
    let app = app().await;
    for (from, to) in [
        ("-262143-01-01", "-262143-01-01"),
        ("-262143-01-01", "2026-11-01"),
        ("2026-11-01", "+262142-12-31"),
        ("1999-12-31", "2000-01-31"),
        ("2100-12-31", "2101-01-01"),
    ] {
        for page in ["/reports/overview", "/dashboard/view"] {
            let wire = Wire {
                method: "GET".into(),
                path: page.into(),
                query: format!("from={}&to={}", encode(from), encode(to)),
                headers: vec![],
                caller: Caller::Manager,
                body: None,
            };
            let response = redress_api::handle(&app.api, event(&wire).unwrap()).await;
            let status = response.status().as_u16();
            assert!(
                (400..500).contains(&status),
                "{page} {from}..{to}: {status}"
            );
            if page.starts_with("/reports") {
                let body = body_json(response.body());
                assert_eq!(status, 422, "{body}");
                assert!(body.to_string().contains("out_of_range"), "{body}");
            }
        }
    }
    let ok = Wire {
        method: "GET".into(),
        path: "/reports/overview".into(),
        query: "from=2000-01-01&to=2000-01-31".into(),
        headers: vec![],
        caller: Caller::Manager,
        body: None,
    };
    let response = redress_api::handle(&app.api, event(&ok).unwrap()).await;
    assert_eq!(response.status(), 200);
}
