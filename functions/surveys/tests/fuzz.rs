//! Arbitrary SQS message bodies through the surveys function, on the in-memory store
//! holding a resolved ticket: no panic, every message is recorded, a duplicate, or
//! poison — never a transient failure, since the store never fails here — and a poison
//! message changes nothing. Fixed seed and case count: reproducible, a few seconds.

use aws_lambda_events::event::sqs::SqsMessage;
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use redress_domain::assess::{assess, open_ticket};
use redress_domain::complaint::{Complaint, ParseMode};
use redress_domain::config::DomainConfig;
use redress_domain::lifecycle::{apply, Action, ActionContext};
use redress_domain::reference::Reference;
use redress_domain::survey::SurveyTokens;
use redress_domain::ticket::{Actor, AuditEvent, ResolutionCode, Ticket};
use redress_memory::fuzz;
use redress_memory::MemoryStore;
use redress_surveys::{Outcome, SurveysDeps};
use serde_json::{json, Value};
use std::sync::Arc;

const CASES: u32 = 600;
const SEED: [u8; 32] = *b"redress-survey-fuzz-seed-2026-12";
const REFERENCE: &str = "RD-261101-7KQ2M9XA";

fn received() -> DateTime<Utc> {
    "2026-11-01T02:00:00Z".parse().unwrap()
}

fn resolved_at() -> DateTime<Utc> {
    received() + Duration::days(3)
}

/// A resolved ticket waiting for its answer, with its history.
fn resolved_ticket(config: &DomainConfig) -> (Ticket, Vec<AuditEvent>) {
    let form = json!({
        "borrower": {"name": "Li Na", "phone": "13912345678"},
        "product": "personal_loan",
        "text": "I was charged a hidden service fee that the contract never mentioned.",
        "consent_to_contact": true
    });
    let complaint = Complaint::parse(&form, config, ParseMode::Submission, received()).unwrap();
    let reference = Reference::parse(REFERENCE).unwrap();
    let assessment = assess(config, &complaint, REFERENCE, received(), &[]);
    let (mut ticket, first) = open_ticket(&complaint, &reference, received(), &assessment);
    let mut events = vec![first];
    let actor = Actor {
        id: "alice".into(),
        role: "member".into(),
    };
    let actions = [
        Action::Acknowledge,
        Action::StartAnalysis,
        Action::Resolve {
            code: ResolutionCode::Upheld,
            summary: "The fee is refunded.".into(),
        },
    ];
    for (i, action) in actions.iter().enumerate() {
        let ctx = ActionContext {
            actor: &actor,
            now: resolved_at() - Duration::hours(2 - i as i64),
            config,
        };
        let (next, event) = apply(&ticket, action, &ctx).unwrap();
        ticket = next;
        events.push(event);
    }
    (ticket, events)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_.:+-]{0,24}",
        "\\PC{0,60}",
        (0u32..20).prop_map(|n| n.to_string()),
    ]
}

/// RFC 3339 times across chrono's whole range, and not-quite times.
fn time() -> impl Strategy<Value = String> {
    prop_oneof![
        (1990i32..2110, 1u32..13, 1u32..29)
            .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}T02:00:00Z")),
        fuzz::edge_time(),
        text(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    fuzz::json_value(
        text().boxed(),
        vec![
            (-2i64..12).prop_map(Value::from).boxed(),
            text().prop_map(Value::from).boxed(),
            time().prop_map(Value::from).boxed(),
        ],
        2,
        12,
        4,
    )
}

/// A token: ours for the ticket (valid, expired, for another ticket), or altered.
fn token(tokens: Arc<SurveyTokens>) -> impl Strategy<Value = String> {
    let ours = (
        prop_oneof![
            4 => Just(REFERENCE),
            1 => prop::sample::select(vec!["RD-261101-AAAAAAAA", "x"]),
        ],
        prop_oneof![4 => 31i64..60, 1 => -40i64..31],
        "[a-z0-9]{1,8}",
    )
        .prop_map(move |(reference, days, nonce)| {
            tokens.issue(reference, resolved_at() + Duration::days(days), &nonce)
        });
    prop_oneof![
        3 => ours.clone(),
        1 => (ours, any::<prop::sample::Index>(), any::<char>()).prop_map(|(t, at, c)| {
            let mut chars: Vec<char> = t.chars().collect();
            let i = at.index(chars.len());
            chars[i] = c;
            chars.into_iter().collect()
        }),
        1 => text(),
    ]
}

fn body(tokens: Arc<SurveyTokens>) -> impl Strategy<Value = Option<String>> {
    let field = prop::sample::select(vec!["token", "csat", "nps", "solved", "comment", "other"]);
    let at = prop_oneof![
        3 => (0i64..40).prop_map(|d| (resolved_at() + Duration::days(d)).to_rfc3339()),
        1 => time(),
    ];
    let message = (token(tokens), prop::option::of((field, json_value())), at).prop_map(
        |(token, change, at)| {
            let mut submission =
                json!({"token": token, "csat": 4, "nps": 9, "solved": "no", "comment": "ok"});
            if let Some((field, value)) = change {
                submission[field] = value;
            }
            json!({"submission": submission, "received_at": at}).to_string()
        },
    );
    prop_oneof![
        1 => Just(None),
        6 => message.prop_map(Some),
        2 => json_value().prop_map(|v| Some(v.to_string())),
        1 => prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| Some(String::from_utf8_lossy(&b).into_owned())),
    ]
}

#[test]
fn no_message_body_panics_and_each_is_recorded_once_or_poison() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Arc::new(DomainConfig::bundled().unwrap());
    let (ticket, events) = resolved_ticket(&config);
    let tokens = Arc::new(SurveyTokens::new(b"survey-key"));
    let mut runner = fuzz::runner(CASES, &SEED);
    let (recorded, poison) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    let result = runner.run(&body(Arc::clone(&tokens)), |body| {
        // A fresh store each case, so valid answers are recorded, not only duplicates.
        let store = MemoryStore::new().with_config(&config);
        store.insert_ticket(ticket.clone(), events.clone());
        let deps = SurveysDeps {
            config: Arc::clone(&config),
            tokens: SurveyTokens::new(b"survey-key"),
            store: store.clone(),
        };
        let mut message = SqsMessage::default();
        message.message_id = Some("fuzz".into());
        message.body = body.clone();
        let before = store.fingerprint();
        let outcome = runtime.block_on(redress_surveys::process(&deps, &message));
        match &outcome {
            Outcome::Recorded { .. } => {
                recorded.set(recorded.get() + 1);
                // Delivered again: nothing more.
                let after = store.fingerprint();
                let again = runtime.block_on(redress_surveys::process(&deps, &message));
                prop_assert!(matches!(again, Outcome::Duplicate { .. }), "{again:?}");
                prop_assert!(
                    after == store.fingerprint(),
                    "a redelivery changed the store"
                );
            }
            Outcome::Duplicate { .. } => {}
            Outcome::Poison { .. } => {
                poison.set(poison.get() + 1);
                prop_assert!(
                    before == store.fingerprint(),
                    "a poison message changed the store"
                );
            }
            Outcome::Transient { reason } | Outcome::Misconfigured { reason } => {
                return Err(TestCaseError::fail(format!(
                    "store fault without a store failure: {reason} for {body:?}"
                )))
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (recorded, poison) = (recorded.get(), poison.get());
    assert!(
        recorded > 30 && poison > 100,
        "recorded {recorded}, poison {poison}"
    );
}

#[tokio::test]
async fn a_redelivered_not_solved_answer_is_a_duplicate_not_poison() {
    let config = Arc::new(DomainConfig::bundled().unwrap());
    let (ticket, events) = resolved_ticket(&config);
    let store = MemoryStore::new().with_config(&config);
    store.insert_ticket(ticket, events);
    let deps = SurveysDeps {
        config,
        tokens: SurveyTokens::new(b"survey-key"),
        store: store.clone(),
    };
    let token = deps
        .tokens
        .issue(REFERENCE, resolved_at() + Duration::days(30), "n1");
    let mut message = SqsMessage::default();
    message.message_id = Some("m1".into());
    message.body = Some(
        json!({
            "submission": {"token": token, "csat": 2, "nps": 3, "solved": "no"},
            "received_at": resolved_at() + Duration::days(1),
        })
        .to_string(),
    );
    let first = redress_surveys::process(&deps, &message).await;
    assert!(
        matches!(first, Outcome::Recorded { reopened: true, .. }),
        "{first:?}"
    );
    let stored = store.fingerprint();
    // SQS delivers it again (the delete was lost): the ticket is reopened, not closed.
    let again = redress_surveys::process(&deps, &message).await;
    assert!(matches!(again, Outcome::Duplicate { .. }), "{again:?}");
    assert_eq!(store.fingerprint(), stored);
}
