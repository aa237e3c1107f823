//! Handler tests against in-memory ports: who gets what, once. (The DynamoDB records,
//! SES and SNS are proven end to end in tests/tests/notifier.rs.)

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, Duration, Utc};
use redress_aws::outbox::{Claim, DeliveryLog};
use redress_domain::assess::{assess, open_ticket};
use redress_domain::complaint::{Complaint, ParseMode};
use redress_domain::config::DomainConfig;
use redress_domain::ports::{StoreError, TestClock};
use redress_domain::taxonomy::Priority;
use redress_domain::ticket::Ticket;
use redress_notifier::config::NotifyConfig;
use redress_notifier::plan::{Channel, Links};
use redress_notifier::{handle, DeliveryRecords, NotifierDeps, SendError, Sender, TicketSource};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const REF: &str = "RD-261120-7KQ2M9XA";

#[derive(Default)]
struct Store {
    tickets: Mutex<HashMap<String, Ticket>>,
    /// delivery id → (status, lease until)
    records: Mutex<HashMap<String, (String, DateTime<Utc>)>>,
    logs: Mutex<Vec<DeliveryLog>>,
}

impl TicketSource for Store {
    async fn ticket_now(&self, reference: &str) -> Result<Option<Ticket>, StoreError> {
        Ok(self.tickets.lock().unwrap().get(reference).cloned())
    }
}

impl DeliveryRecords for Store {
    async fn claim(
        &self,
        id: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let mut records = self.records.lock().unwrap();
        match records.get(id).cloned() {
            None => {
                records.insert(id.to_string(), ("pending".into(), now + lease));
                Ok(Claim::Claimed)
            }
            Some((status, until)) if status == "pending" && now < until => Ok(Claim::InFlight),
            Some((status, _)) if status == "pending" => {
                records.insert(id.to_string(), ("uncertain".into(), until_never()));
                Ok(Claim::Uncertain)
            }
            Some(_) => Ok(Claim::Done),
        }
    }
    async fn complete(&self, log: &DeliveryLog) -> Result<(), StoreError> {
        self.records
            .lock()
            .unwrap()
            .insert(log.delivery_id.clone(), (log.status.clone(), until_never()));
        self.logs.lock().unwrap().push(log.clone());
        Ok(())
    }
    async fn release(&self, id: &str) -> Result<(), StoreError> {
        self.records.lock().unwrap().remove(id);
        Ok(())
    }
}

fn until_never() -> DateTime<Utc> {
    DateTime::<Utc>::MAX_UTC
}

#[derive(Default)]
struct Outbox {
    sent: Mutex<Vec<Channel>>,
    /// Failures to return, first one first.
    failures: Mutex<Vec<SendError>>,
}

impl Sender for Outbox {
    async fn send(&self, channel: &Channel) -> Result<String, SendError> {
        if let Some(e) = self.failures.lock().unwrap().pop() {
            return Err(e);
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push(channel.clone());
        Ok(format!("provider-{}", sent.len()))
    }
}

fn now() -> DateTime<Utc> {
    "2026-11-21T02:00:00Z".parse().unwrap()
}

fn ticket(borrower: Value, language: &str) -> Ticket {
    let config = DomainConfig::bundled().unwrap();
    let at: DateTime<Utc> = "2026-11-20T02:00:00Z".parse().unwrap();
    let text = if language == "zh" {
        "合同里从未提到的服务费被扣了，罚息也不对。"
    } else {
        "I was charged a hidden service fee that the contract never mentioned."
    };
    let form = json!({
        "borrower": borrower,
        "product": "personal_loan",
        "text": text,
        "consent_to_contact": true,
        "language": language
    });
    let complaint = Complaint::parse(&form, &config, ParseMode::Submission, at).unwrap();
    let assessment = assess(&config, &complaint, REF, at, &[]);
    let reference = redress_domain::reference::Reference::parse(REF).unwrap();
    open_ticket(&complaint, &reference, at, &assessment).0
}

fn deps(t: Ticket) -> NotifierDeps<Store, Outbox> {
    let domain = DomainConfig::bundled().unwrap();
    let store = Store::default();
    store
        .tickets
        .lock()
        .unwrap()
        .insert(t.reference.to_string(), t);
    NotifierDeps {
        config: Arc::new(NotifyConfig::bundled(&domain).unwrap()),
        links: Links {
            public_base_url: "https://complaints.redress.example".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        },
        store,
        sender: Outbox::default(),
        clock: Arc::new(TestClock::at(now())),
    }
}

fn event(bodies: &[Value]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut m = SqsMessage::default();
            m.message_id = Some(format!("m{i}"));
            m.body = Some(b.to_string());
            m
        })
        .collect();
    event
}

fn ack() -> Value {
    json!({"kind": "acknowledgement", "reference": REF, "event_seq": 1, "notification_id": format!("{REF}:1:acknowledgement")})
}

fn breach(deadline: &str, seq: u32, priority: &str) -> Value {
    json!({
        "kind": "deadline_breached", "reference": REF, "deadline": deadline, "team": "billing",
        "priority": priority, "due_at": "2026-11-21T01:00:00Z", "regulatory_due_at": "2026-11-22T01:00:00Z",
        "recorded_at": "2026-11-21T02:00:00Z", "event_seq": seq,
        "notification_id": format!("{REF}:{seq}:deadline_breached")
    })
}

fn emails(d: &NotifierDeps<Store, Outbox>) -> Vec<(Vec<String>, String, String)> {
    d.sender
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter_map(|c| match c {
            Channel::Email { to, subject, body } => {
                Some((to.clone(), subject.clone(), body.clone()))
            }
            Channel::Sms { .. } => None,
        })
        .collect()
}

#[tokio::test]
async fn the_same_notification_delivered_twice_sends_one_email() {
    let d = deps(ticket(
        json!({"name": "Li Na", "email": "li.na@mail.example"}),
        "en",
    ));
    let first = handle(&d, event(&[ack()])).await;
    let second = handle(&d, event(&[ack(), ack()])).await;
    assert!(first.batch_item_failures.is_empty() && second.batch_item_failures.is_empty());
    let sent = emails(&d);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, ["li.na@mail.example"]);
    assert!(sent[0].1.contains(REF), "{}", sent[0].1);
    assert!(sent[0].2.contains(
        "https://complaints.redress.example/status?reference=RD-261120-7KQ2M9XA&lang=en"
    ));
    let logs = d.store.logs.lock().unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].to_masked, ["l***@mail.example"]);
    assert_eq!(logs[0].template, "acknowledgement.en");
}

#[tokio::test]
async fn a_borrower_without_consent_gets_nothing_and_the_decision_is_recorded() {
    let mut t = ticket(
        json!({"email": "li.na@mail.example", "phone": "13912345678"}),
        "en",
    );
    t.consent_to_contact = false;
    let d = deps(t);
    let response = handle(&d, event(&[ack()])).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(d.sender.sent.lock().unwrap().is_empty());
    let logs = d.store.logs.lock().unwrap();
    assert_eq!(logs[0].status, "skipped");
    assert_eq!(logs[0].template, "acknowledgement:no_consent");
}

#[tokio::test]
async fn a_borrower_with_only_a_phone_gets_an_sms_in_chinese() {
    let d = deps(ticket(json!({"phone": "13912345678"}), "zh"));
    handle(&d, event(&[ack()])).await;
    let sent = d.sender.sent.lock().unwrap();
    let [Channel::Sms { phone, text }] = sent.as_slice() else {
        panic!("one SMS expected: {sent:?}");
    };
    assert_eq!(phone, "+8613912345678");
    assert!(text.starts_with("投诉RD-261120-7KQ2M9XA已受理"), "{text}");
    assert_eq!(
        d.store.logs.lock().unwrap()[0].to_masked,
        ["+86139****5678"]
    );
}

#[tokio::test]
async fn borrower_messages_follow_the_borrowers_language() {
    let zh = deps(ticket(json!({"email": "li@mail.example"}), "zh"));
    handle(&zh, event(&[ack()])).await;
    assert!(emails(&zh)[0].1.starts_with("我们已收到您的投诉"));
    let en = deps(ticket(json!({"email": "li@mail.example"}), "en"));
    handle(&en, event(&[ack()])).await;
    assert!(emails(&en)[0]
        .1
        .starts_with("We have received your complaint"));
}

#[tokio::test]
async fn a_breach_reaches_the_team_and_a_second_breach_the_lead_and_managers() {
    let mut t = ticket(json!({"email": "li@mail.example"}), "en");
    assert_eq!(t.team.as_str(), "billing");
    t.priority = Priority::High;
    let d = deps(t.clone());
    handle(&d, event(&[breach("acknowledge", 2, "high")])).await;
    let sent = emails(&d);
    assert_eq!(
        sent.len(),
        1,
        "a first breach goes to the team only: {sent:?}"
    );
    assert_eq!(sent[0].0, ["billing@redress.example"]);
    assert!(sent[0].1.contains("BREACHED"));
    for personal in ["li@mail.example", "hidden service fee"] {
        assert!(!sent[0].2.contains(personal));
    }

    // The sweeper has marked the acknowledgement breach; the resolution deadline passes.
    t.deadline_marks.acknowledge_breached_at = Some(now());
    d.store.tickets.lock().unwrap().insert(REF.into(), t);
    handle(&d, event(&[breach("resolve", 3, "high")])).await;
    let sent = emails(&d);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[1].0, ["billing@redress.example"]);
    assert_eq!(
        sent[2].0,
        [
            "billing-lead@redress.example",
            "complaints-managers@redress.example"
        ]
    );
    assert!(
        sent[2].1.contains("second deadline breach"),
        "{}",
        sent[2].1
    );
}

#[tokio::test]
async fn a_breach_of_a_critical_ticket_is_escalated_at_once() {
    let d = deps(ticket(json!({"email": "li@mail.example"}), "en"));
    handle(&d, event(&[breach("acknowledge", 2, "critical")])).await;
    let sent = emails(&d);
    assert_eq!(sent.len(), 2);
    assert!(sent[1]
        .0
        .contains(&"complaints-managers@redress.example".to_string()));
}

#[tokio::test]
async fn a_throttled_send_is_retried_and_then_sent_once() {
    let d = deps(ticket(json!({"email": "li@mail.example"}), "en"));
    d.sender.failures.lock().unwrap().push(SendError {
        transient: true,
        message: "TooManyRequestsException".into(),
    });
    let first = handle(&d, event(&[ack()])).await;
    assert_eq!(first.batch_item_failures.len(), 1, "retried by SQS");
    assert!(
        d.store.records.lock().unwrap().is_empty(),
        "the claim is given back"
    );
    let second = handle(&d, event(&[ack()])).await;
    assert!(second.batch_item_failures.is_empty());
    assert_eq!(emails(&d).len(), 1);
}

#[tokio::test]
async fn a_refused_recipient_and_an_unreadable_message_are_poison() {
    let d = deps(ticket(json!({"email": "li@mail.example"}), "en"));
    d.sender
        .failures
        .lock()
        .unwrap()
        .push(SendError::permanent("MessageRejected"));
    let bad = json!({"kind": "carrier_pigeon", "reference": REF, "event_seq": 1});
    let response = handle(&d, event(&[ack(), json!("not a notification"), bad])).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m0", "m1", "m2"]);
}

#[tokio::test]
async fn a_delivery_in_flight_is_retried_and_an_abandoned_one_is_not_sent_again() {
    let d = deps(ticket(json!({"email": "li@mail.example"}), "en"));
    let id = format!("{REF}:1:acknowledgement/borrower");
    d.store.records.lock().unwrap().insert(
        id.clone(),
        ("pending".into(), now() + Duration::seconds(60)),
    );
    let response = handle(&d, event(&[ack()])).await;
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "in flight: try later"
    );
    d.store
        .records
        .lock()
        .unwrap()
        .insert(id.clone(), ("pending".into(), now() - Duration::seconds(1)));
    let response = handle(&d, event(&[ack()])).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(
        emails(&d).is_empty(),
        "an abandoned claim may have sent: not again"
    );
    assert_eq!(d.store.records.lock().unwrap()[&id].0, "uncertain");
}
