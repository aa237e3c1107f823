//! End to end on the local stack: intake / sweeper → outbox → notifications queue →
//! notifier → moto's SES and SNS, with the delivery records in DynamoDB Local.
//!
//! moto is shared by the tests running in parallel, so each test looks only at the
//! messages about its own ticket (the reference is in every subject and SMS).

use chrono::{Duration as ChronoDuration, Utc};
use redress_aws::outbox::DeliveryLog;
use redress_domain::ports::{NotificationKind, Outbox, TicketWriter};
use redress_e2e::{complaint_form, spawn_app, spawn_delivering_app, TestApp};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A recipient no other test uses.
fn unique_address(tag: &str) -> String {
    format!(
        "{tag}-{}@mail.redress.example",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Everything moto's SES and SNS have "sent": (to, subject or "", body or text).
async fn moto_messages(app: &TestApp) -> Vec<(Vec<String>, String, String)> {
    let url = format!(
        "{}/moto-api/data.json",
        app.pipeline.moto_url.as_deref().unwrap()
    );
    // moto builds this dump while other tests change its state, and then and again
    // answers with an error page instead of JSON: read it again, a bounded number of times.
    let mut data = Value::Null;
    for attempt in 1..=20 {
        let answer = reqwest::get(&url).await.expect("moto answers");
        match answer.json::<Value>().await {
            Ok(v) => {
                data = v;
                break;
            }
            Err(e) if attempt < 20 => {
                eprintln!("moto-api/data.json was not JSON ({e}); reading it again");
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(e) => panic!("moto-api/data.json was not JSON 20 times: {e}"),
        }
    }
    let mut out = Vec::new();
    for m in data["ses"]["Message"].as_array().into_iter().flatten() {
        let to = m["destinations"]["ToAddresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        out.push((
            to,
            m["subject"].as_str().unwrap_or_default().into(),
            m["body"].as_str().unwrap_or_default().into(),
        ));
    }
    for m in data["sns"]["SMS"].as_array().into_iter().flatten() {
        out.push((
            vec![m["phone_number"].as_str().unwrap_or_default().to_string()],
            String::new(),
            m["message"].as_str().unwrap_or_default().to_string(),
        ));
    }
    out
}

/// The messages about one ticket.
async fn messages_about(app: &TestApp, reference: &str) -> Vec<(Vec<String>, String, String)> {
    moto_messages(app)
        .await
        .into_iter()
        .filter(|(_, subject, body)| subject.contains(reference) || body.contains(reference))
        .collect()
}

/// Today's and yesterday's sent log entries about one ticket.
async fn deliveries(app: &TestApp, reference: &str) -> Vec<DeliveryLog> {
    let today = Utc::now().date_naive();
    let mut logs = app.store.sent_log(today).await.unwrap();
    logs.extend(app.store.sent_log(today.succ_opt().unwrap()).await.unwrap());
    logs.retain(|l| l.reference == reference);
    logs
}

/// Waits (up to 20 s) until `n` deliveries about the ticket are logged.
async fn wait_for_deliveries(app: &TestApp, reference: &str, n: usize) -> Vec<DeliveryLog> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let logs = deliveries(app, reference).await;
        if logs.len() >= n {
            return logs;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} deliveries logged: {logs:?}",
            logs.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_same_notification_delivered_twice_sends_one_email() {
    let app = spawn_delivering_app().await;
    let address = unique_address("once");
    let mut form = complaint_form();
    form["borrower"]["email"] = json!(address);
    let (reference, _) = app.submit_ok(&form).await;
    app.wait_for_ticket(&reference).await;
    let logs = wait_for_deliveries(&app, &reference, 1).await;
    assert_eq!(logs[0].status, "sent");
    assert_eq!(logs[0].template, "acknowledgement.en");
    assert_eq!(logs[0].channel, "email");
    assert!(
        logs[0].to_masked[0].starts_with("o***@"),
        "{:?}",
        logs[0].to_masked
    );

    // SQS delivers at least once: the same message arrives again.
    let again = json!({
        "kind": "acknowledgement", "reference": reference, "event_seq": 1,
        "notification_id": format!("{reference}:1:acknowledgement")
    });
    for _ in 0..2 {
        app.pipeline
            .sqs
            .send_message()
            .queue_url(app.queue_url("NotificationsQueue"))
            .message_body(again.to_string())
            .send()
            .await
            .unwrap();
    }
    app.wait_for_depth("NotificationsQueue", 0, Duration::from_secs(20))
        .await
        .unwrap();
    let sent = messages_about(&app, &reference).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, [address]);
    assert!(
        sent[0]
            .2
            .contains(&format!("/status?reference={reference}&lang=en")),
        "{}",
        sent[0].2
    );
    assert_eq!(deliveries(&app, &reference).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_borrower_without_consent_gets_nothing() {
    let app = spawn_delivering_app().await;
    let address = unique_address("noconsent");
    let mut form = complaint_form();
    form["borrower"]["email"] = json!(address);
    form["consent_to_contact"] = json!(false);
    let (reference, _) = app.submit_ok(&form).await;
    let logs = wait_for_deliveries(&app, &reference, 1).await;
    assert_eq!(logs[0].status, "skipped");
    assert_eq!(logs[0].template, "acknowledgement:no_consent");
    assert!(logs[0].to_masked.is_empty());
    assert!(messages_about(&app, &reference).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_borrower_with_only_a_phone_gets_a_chinese_sms() {
    let app = spawn_delivering_app().await;
    let form = json!({
        "borrower": {"name": "王芳", "phone": "13800138000"},
        "product": "personal_loan",
        "channel": "web",
        "text": "合同里从未提到的服务费被扣了，罚息也算错了，请退还。",
        "consent_to_contact": true,
        "language": "zh"
    });
    let (reference, _) = app.submit_ok(&form).await;
    let logs = wait_for_deliveries(&app, &reference, 1).await;
    assert_eq!(
        (logs[0].channel.as_str(), logs[0].template.as_str()),
        ("sms", "acknowledgement.zh")
    );
    assert_eq!(logs[0].to_masked, ["+86138****8000"]);
    let sent = messages_about(&app, &reference).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, ["+8613800138000"]);
    assert!(
        sent[0].2.starts_with(&format!("投诉{reference}已受理")),
        "{}",
        sent[0].2
    );
    app.stop().await;
}

#[tokio::test]
async fn a_breach_reaches_the_team_and_the_second_breach_the_escalation_address() {
    let app = spawn_delivering_app().await;
    let (reference, _) = app.submit_ok(&complaint_form()).await;
    let (ticket, _) = app.wait_for_ticket(&reference).await;
    assert_eq!(ticket.team.as_str(), "billing");

    // Past the acknowledgement deadline only: the first breach.
    let first = app
        .pipeline
        .sweep_now(ticket.deadlines.acknowledge_by + ChronoDuration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        (first.notifications_sent, first.notifications_failed),
        (1, 0),
        "{first:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let team = loop {
        let team: Vec<_> = messages_about(&app, &reference)
            .await
            .into_iter()
            .filter(|(to, _, _)| to.contains(&"billing@redress.example".to_string()))
            .collect();
        if !team.is_empty() || Instant::now() > deadline {
            break team;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(team.len(), 1, "{team:?}");
    assert!(team[0].1.contains("BREACHED"), "{}", team[0].1);
    for personal in ["Li Na", "13912345678", "C100234", "hidden service fee"] {
        assert!(
            !team[0].2.contains(personal),
            "personal data in a team alert"
        );
    }
    let managers = |messages: &[(Vec<String>, String, String)]| {
        messages
            .iter()
            .filter(|(to, _, _)| to.contains(&"complaints-managers@redress.example".to_string()))
            .count()
    };
    assert_eq!(
        managers(&messages_about(&app, &reference).await),
        0,
        "no escalation yet"
    );

    // Past the resolution deadline too: the second breach is escalated.
    let second = app
        .pipeline
        .sweep_now(ticket.deadlines.resolve_by + ChronoDuration::minutes(1))
        .await
        .unwrap();
    assert_eq!(second.notifications_sent, 1, "{second:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let messages = messages_about(&app, &reference).await;
        if managers(&messages) == 1 {
            let escalation = messages
                .iter()
                .find(|(to, _, _)| to.contains(&"complaints-managers@redress.example".to_string()))
                .unwrap();
            assert!(escalation
                .0
                .contains(&"billing-lead@redress.example".to_string()));
            assert!(escalation.1.contains("ESCALATION"), "{}", escalation.1);
            break;
        }
        assert!(Instant::now() < deadline, "no escalation: {messages:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn a_notification_left_in_the_outbox_is_relayed_by_the_next_sweep() {
    let app = spawn_delivering_app().await;
    // A writer that committed a ticket and stopped before queueing its acknowledgement:
    // the ticket and the outbox entry are written, nothing is sent.
    let (reference, _) = app.submit_ok(&complaint_form()).await;
    let (mut ticket, events) = app.wait_for_ticket(&reference).await;
    let address = unique_address("relay");
    let random: [u8; 5] = uuid::Uuid::new_v4().as_bytes()[..5].try_into().unwrap();
    ticket.reference = redress_domain::reference::Reference::generate(Utc::now(), random);
    let other = ticket.reference.to_string();
    ticket.contact.email = Some(address.clone());
    let mut event = events[0].clone();
    event.reference = ticket.reference.clone();
    let entry = redress_domain::notify::acknowledgement(&ticket, &event);
    app.store
        .create_ticket(&ticket, &event, &[], std::slice::from_ref(&entry))
        .await
        .unwrap();
    let now = Utc::now();
    assert_eq!(app.store.pending_outbox(now, 100).await.unwrap().len(), 1);
    assert!(messages_about(&app, &other).await.is_empty());

    // A sweep within the grace period leaves it to its writer; a later one relays it.
    let early = app.pipeline.sweep_now(now).await.unwrap();
    assert_eq!(early.outbox_relayed, 0);
    let later = app
        .pipeline
        .sweep_now(now + ChronoDuration::minutes(2))
        .await
        .unwrap();
    assert_eq!(
        (later.outbox_relayed, later.outbox_failed),
        (1, 0),
        "{later:?}"
    );
    assert!(app
        .store
        .pending_outbox(now + ChronoDuration::minutes(2), 100)
        .await
        .unwrap()
        .is_empty());
    let logs = wait_for_deliveries(&app, &other, 1).await;
    assert_eq!(logs[0].status, "sent");
    let sent = messages_about(&app, &other).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, [address]);
    app.stop().await;
}

#[tokio::test]
async fn a_sweep_that_cannot_queue_its_notifications_fails_and_keeps_them_in_the_outbox() {
    let app = spawn_app().await;
    let (reference, _) = app.submit_ok(&complaint_form()).await;
    let (ticket, _) = app.wait_for_ticket(&reference).await;
    let env = &app.pipeline.environments["SweeperFunction"];
    let mut broken = env.clone();
    broken.insert(
        "NOTIFICATIONS_QUEUE_URL".into(),
        format!("{}-gone", env["NOTIFICATIONS_QUEUE_URL"]),
    );
    let aws = redress_aws::load_aws_config().await;
    let config = std::sync::Arc::new(redress_domain::config::DomainConfig::bundled().unwrap());
    let deps = redress_sweeper::SweeperDeps::from_env(&broken, &aws, config).unwrap();
    let at = ticket.deadlines.acknowledge_by + ChronoDuration::minutes(1);
    let report = redress_sweeper::handle(&deps, at).await.unwrap();
    assert_eq!(
        (report.alerts_recorded, report.notifications_failed),
        (1, 1),
        "{report:?}"
    );
    let failure = report.failure().expect("the run counts as failed");
    assert!(
        failure.contains("1 notifications could not be queued"),
        "{failure}"
    );
    let kept = app.store.pending_outbox(at, 100).await.unwrap();
    assert!(
        kept.iter().any(|e| e.notification.reference == reference
            && e.notification.kind == NotificationKind::DeadlineBreached),
        "{kept:?}"
    );

    // The next run, with the queue back, relays it.
    let next = app
        .pipeline
        .sweep_now(at + ChronoDuration::minutes(5))
        .await
        .unwrap();
    assert!(next.outbox_relayed >= 1, "{next:?}");
    assert!(next.failure().is_none());
    app.stop().await;
}
