//! Surveys and management reports end to end: a seeded scenario whose expected figures
//! are worked out here, independently, from the scenario's own list.

use chrono::{Duration, Utc};
use redress_domain::metrics::MINUTE_BUCKETS;
use redress_domain::ports::SurveyMessage;
use redress_domain::survey::SurveyTokens;
use redress_e2e::{complaint_form, spawn_app, TestApp};
use serde_json::{json, Value};
use std::collections::HashMap;

/// One complaint of the scenario and what happens to it.
struct Case {
    phone: &'static str,
    days_ago: i64,
    /// Acknowledge, analyse, resolve.
    resolve: bool,
    /// (csat, nps, solved)
    survey: Option<(u8, u8, &'static str)>,
}

const DEV_SURVEY_KEY: &[u8] = b"local-development-survey-key";

async fn invitations(app: &TestApp) -> HashMap<String, String> {
    let mut tokens = HashMap::new();
    for _ in 0..10 {
        let out = app
            .pipeline
            .sqs
            .receive_message()
            .queue_url(app.queue_url("NotificationsQueue"))
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            let body: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            if body["kind"] == "survey_invitation" {
                tokens.insert(
                    body["reference"].as_str().unwrap().to_string(),
                    body["token"].as_str().unwrap().to_string(),
                );
            }
        }
    }
    tokens
}

async fn post_survey(app: &TestApp, token: &str, csat: u8, nps: u8, solved: &str) -> (u16, Value) {
    let response = app
        .http
        .post(app.url("/surveys"))
        .json(
            &json!({"token": token, "csat": csat, "nps": nps, "solved": solved, "comment": "谢谢"}),
        )
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn report(
    app: &TestApp,
    token: &str,
    kind: &str,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Value {
    let (status, body) = app
        .get_as(
            token,
            &format!("/reports/{kind}?from={from}&to={to}&by=team"),
        )
        .await;
    assert_eq!(status, 200, "{kind}: {body}");
    body
}

fn figure(report: &Value, name: &str) -> Value {
    report["totals"]["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no figure {name} in {report}"))
        .clone()
}

fn value(report: &Value, name: &str) -> f64 {
    figure(report, name)["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("{name} has no value: {report}"))
}

/// Nearest-rank quantile of minutes, read as the upper bound of its histogram bucket.
fn bucketed_quantile(minutes: &[i64], num: usize, den: usize) -> f64 {
    let mut bounds: Vec<i64> = minutes
        .iter()
        .map(|m| {
            MINUTE_BUCKETS
                .iter()
                .map(|b| i64::from(*b))
                .find(|b| m <= b)
                .unwrap()
        })
        .collect();
    bounds.sort();
    let rank = (bounds.len() * num).div_ceil(den);
    bounds[rank - 1] as f64
}

#[tokio::test]
async fn reports_match_figures_worked_out_by_hand_and_surveys_count_once() {
    let app = spawn_app().await;
    let alice = app.token("alice", &["billing"], false).await;
    let manager = app.token("mary", &[], true).await;
    let cases = [
        Case {
            phone: "13800000001",
            days_ago: 0,
            resolve: true,
            survey: Some((5, 10, "yes")),
        },
        Case {
            phone: "13800000002",
            days_ago: 0,
            resolve: true,
            survey: Some((4, 8, "partly")),
        },
        Case {
            phone: "13800000003",
            days_ago: 0,
            resolve: true,
            survey: Some((2, 3, "no")),
        },
        Case {
            phone: "13800000004",
            days_ago: 20,
            resolve: true,
            survey: None,
        },
        // The first borrower again: a repeat of the same category.
        Case {
            phone: "13800000001",
            days_ago: 0,
            resolve: false,
            survey: None,
        },
        Case {
            phone: "13800000006",
            days_ago: 20,
            resolve: false,
            survey: None,
        },
    ];

    let mut refs = Vec::new();
    for case in &cases {
        let mut form = complaint_form();
        form["borrower"] = json!({"phone": case.phone});
        form["category"] = json!("fees_interest");
        if case.days_ago > 0 {
            form["submitted_at"] = json!((Utc::now() - Duration::days(case.days_ago)).to_rfc3339());
        }
        // Backdated complaints are entered by staff (the public route refuses the time).
        let (reference, _) = if case.days_ago > 0 {
            app.enter_ok(&alice, &form).await
        } else {
            app.submit_ok(&form).await
        };
        app.wait_for_ticket(&reference).await;
        refs.push(reference);
    }
    for (case, reference) in cases.iter().zip(&refs) {
        if case.resolve {
            let v = app
                .act_ok(&alice, reference, 1, json!({"action": "acknowledge"}))
                .await;
            let v = app
                .act_ok(&alice, reference, v, json!({"action": "start_analysis"}))
                .await;
            app.act_ok(
                &alice,
                reference,
                v,
                json!({"action": "resolve", "code": "upheld", "summary": "Refunded."}),
            )
            .await;
        }
    }
    let tokens = invitations(&app).await;
    assert_eq!(tokens.len(), 4, "one invitation per resolved ticket");
    for (case, reference) in cases.iter().zip(&refs) {
        if let Some((csat, nps, solved)) = case.survey {
            let (status, body) = post_survey(&app, &tokens[reference], csat, nps, solved).await;
            assert_eq!(status, 202, "{body}");
        }
    }
    // Wait for the surveys function: two closed, one reopened.
    for (case, reference) in cases.iter().zip(&refs) {
        if let Some((_, _, solved)) = case.survey {
            let want = if solved == "no" { "reopened" } else { "closed" };
            for _ in 0..100 {
                let (t, _) = app.wait_for_ticket(reference).await;
                if t.status.as_str() == want {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert_eq!(app.wait_for_ticket(reference).await.0.status.as_str(), want);
        }
    }

    // The same answer delivered twice more by SQS counts once.
    let again = SurveyMessage {
        submission: json!({"token": tokens[&refs[1]], "csat": 4, "nps": 8, "solved": "partly"}),
        received_at: Utc::now(),
    };
    for _ in 0..2 {
        app.pipeline
            .sqs
            .send_message()
            .queue_url(app.queue_url("SurveysQueue"))
            .message_body(serde_json::to_string(&again).unwrap())
            .send()
            .await
            .unwrap();
    }
    app.wait_for_depth("SurveysQueue", 0, std::time::Duration::from_secs(15))
        .await
        .unwrap();

    // Forged, reused, expired and cross-ticket tokens are refused and count nothing.
    let signer = SurveyTokens::new(DEV_SURVEY_KEY);
    let good = &tokens[&refs[3]];
    let forged = format!("{}0000", &good[..good.len() - 4]);
    let expired = signer.issue(&refs[3], Utc::now() - Duration::hours(1), "n1");
    let cross = good.replacen(&refs[3], &refs[5], 1);
    for (name, token, status) in [
        ("forged", forged.as_str(), 422),
        ("expired", expired.as_str(), 422),
        ("cross-ticket", cross.as_str(), 422),
        ("reused", tokens[&refs[0]].as_str(), 409),
    ] {
        let (got, body) = post_survey(&app, token, 5, 10, "yes").await;
        assert_eq!(got, status, "{name}: {body}");
    }

    // Period: 30 days back to 20 days ahead, so every deadline of the scenario is due in it.
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let (from, to) = (today - Duration::days(30), today + Duration::days(20));
    // Worked out by hand from `cases`:
    let answers: Vec<(u8, u8)> = cases
        .iter()
        .filter_map(|c| c.survey.map(|(c2, n, _)| (c2, n)))
        .collect();
    let sent = cases.iter().filter(|c| c.resolve).count() as f64;
    let csat =
        100.0 * answers.iter().filter(|(c, _)| *c >= 4).count() as f64 / answers.len() as f64;
    let promoters = answers.iter().filter(|(_, n)| *n >= 9).count() as f64;
    let detractors = answers.iter().filter(|(_, n)| *n <= 6).count() as f64;
    let nps = 100.0 * (promoters - detractors) / answers.len() as f64;
    let satisfaction = report(&app, &manager, "satisfaction", from, to).await;
    assert!(
        (value(&satisfaction, "csat") - csat).abs() < 1e-6,
        "{satisfaction}"
    );
    assert!((value(&satisfaction, "nps") - nps).abs() < 1e-6);
    assert!(
        (value(&satisfaction, "response_rate") - 100.0 * answers.len() as f64 / sent).abs() < 1e-6
    );
    assert_eq!(
        figure(&satisfaction, "response_rate")["numerator"],
        3,
        "the duplicate delivery counted once"
    );

    // Repeats: the returning borrower, plus the "not solved" answer.
    let received = cases.len() as f64;
    let repeats = 1.0
        + cases
            .iter()
            .filter(|c| matches!(c.survey, Some((_, _, "no"))))
            .count() as f64;
    let repeat = report(&app, &manager, "repeat-complaints", from, to).await;
    assert!(
        (value(&repeat, "repeat_rate_any") - 100.0 * repeats / received).abs() < 1e-6,
        "{repeat}"
    );
    assert!(
        (value(&repeat, "repeat_rate_same_category") - 100.0 * repeats / received).abs() < 1e-6
    );

    // Deadlines: those received today were acknowledged and resolved on time; the
    // 20-day-old ones were late or are still open.
    let on_time = cases
        .iter()
        .filter(|c| c.resolve && c.days_ago == 0)
        .count() as f64;
    let deadlines = report(&app, &manager, "deadlines", from, to).await;
    assert!(
        (value(&deadlines, "acknowledged_on_time_rate") - 100.0 * on_time / received).abs() < 1e-6,
        "{deadlines}"
    );
    assert!((value(&deadlines, "resolved_on_time_rate") - 100.0 * on_time / received).abs() < 1e-6);
    let mut minutes = Vec::new();
    for reference in &refs {
        let (t, _) = app.wait_for_ticket(reference).await;
        if let Some(resolved) = t.resolved_at {
            minutes.push((resolved - t.received_at).num_minutes().max(0));
        }
    }
    assert_eq!(
        value(&deadlines, "median_minutes_to_resolve"),
        bucketed_quantile(&minutes, 1, 2)
    );
    assert_eq!(
        value(&deadlines, "p90_minutes_to_resolve"),
        bucketed_quantile(&minutes, 9, 10)
    );
    // Only the open 20-day-old ticket is past its deadline now (the reopened one's
    // deadlines are weeks away).
    assert_eq!(
        figure(&deadlines, "overdue_now")["value"],
        1.0,
        "{deadlines}"
    );
    // Every ticket is billing's: the team group equals the totals.
    let billing = deadlines["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "billing")
        .unwrap();
    assert_eq!(billing["figures"], deadlines["totals"]["figures"]);

    // CSV and access.
    let csv = app
        .http
        .get(app.url(&format!("/reports/overview?from={from}&to={to}&format=csv")))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .starts_with("group_key,label_en"),
        "{text}"
    );
    assert!(text.contains("TOTAL"));
    assert_eq!(
        app.get_as(&alice, &format!("/reports/overview?from={from}&to={to}"))
            .await
            .0,
        403
    );
    app.stop().await;
}
