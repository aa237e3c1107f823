//! Every kind of bad HTTP input gets its specific 4xx, and nothing is stored or enqueued.

use redress_e2e::{complaint_form, spawn_app};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn every_kind_of_bad_input_gets_its_4xx_and_nothing_is_enqueued() {
    let app = spawn_app().await;
    let post = |content_type: Option<&str>, body: Vec<u8>| {
        let mut r = app.http.post(app.url("/complaints")).body(body);
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        r
    };
    let json_ct = Some("application/json");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut form = complaint_form();
        f(&mut form);
        serde_json::to_vec(&form).unwrap()
    };
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str, Option<&str>)> = vec![
        (
            "malformed JSON",
            post(json_ct, b"{\"text\": ".to_vec()),
            400,
            "malformed_json",
            None,
        ),
        (
            "empty body",
            post(json_ct, vec![]),
            400,
            "malformed_json",
            None,
        ),
        (
            "wrong content type",
            post(Some("text/plain"), with(&|_| {})),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "form-encoded",
            post(
                Some("application/x-www-form-urlencoded"),
                b"text=hi".to_vec(),
            ),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "no content type",
            post(None, with(&|_| {})),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "oversized body",
            post(json_ct, vec![b' '; 70 * 1024]),
            413,
            "payload_too_large",
            None,
        ),
        (
            "unknown field",
            post(json_ct, with(&|f| f["coupon"] = json!("x"))),
            422,
            "validation_failed",
            Some("coupon"),
        ),
        (
            "unknown borrower field",
            post(json_ct, with(&|f| f["borrower"]["age"] = json!(3))),
            422,
            "validation_failed",
            Some("borrower.age"),
        ),
        (
            "missing text",
            post(
                json_ct,
                with(&|f| {
                    f.as_object_mut().unwrap().remove("text");
                }),
            ),
            422,
            "validation_failed",
            Some("text"),
        ),
        (
            "missing borrower",
            post(
                json_ct,
                with(&|f| {
                    f.as_object_mut().unwrap().remove("borrower");
                }),
            ),
            422,
            "validation_failed",
            Some("borrower"),
        ),
        (
            "bad phone",
            post(json_ct, with(&|f| f["borrower"]["phone"] = json!("12345"))),
            422,
            "validation_failed",
            Some("borrower.phone"),
        ),
        (
            "bad national id",
            post(
                json_ct,
                with(&|f| f["borrower"]["national_id"] = json!("110105194912310021")),
            ),
            422,
            "validation_failed",
            Some("borrower.national_id"),
        ),
        (
            "text too long",
            post(json_ct, with(&|f| f["text"] = json!("x".repeat(5001)))),
            422,
            "validation_failed",
            Some("text"),
        ),
        (
            "wrong type",
            post(json_ct, with(&|f| f["consent_to_contact"] = json!("yes"))),
            422,
            "validation_failed",
            Some("consent_to_contact"),
        ),
        (
            "unknown category",
            post(json_ct, with(&|f| f["category"] = json!("weather"))),
            422,
            "validation_failed",
            Some("category"),
        ),
        (
            "array body",
            post(json_ct, b"[1,2]".to_vec()),
            422,
            "validation_failed",
            Some(""),
        ),
        (
            "bad idempotency key",
            post(json_ct, with(&|_| {})).header("Idempotency-Key", "a".repeat(300)),
            400,
            "invalid_idempotency_key",
            None,
        ),
    ];
    for (name, request, status, code, field) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{name}");
        let body: Value = response.json().await.unwrap_or(Value::Null);
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

    // Unknown routes are answered by the gateway, and a bad reference by the function.
    let missing = app.http.get(app.url("/nowhere")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let bad_ref = app
        .http
        .get(app.url("/complaints/not-a-ref"))
        .header("X-Status-Secret", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_ref.status(), 400);
    let no_secret = app
        .http
        .get(app.url("/complaints/RD-261123-7KQ2M9XA"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_secret.status(), 400);

    // Nothing reached the queue or the table.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.queue_depth("ComplaintsQueue").await.unwrap(), 0);
    assert!(
        app.items_with_pk_prefix("").await.unwrap().is_empty(),
        "no item was written"
    );
    app.stop().await;
}
