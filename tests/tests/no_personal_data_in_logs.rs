//! Personal data never reaches the logs: everything the pipeline logs while handling good,
//! bad and poison input is captured and searched for the borrowers' details.

use redress_domain::assess::ComplaintMessage;
use redress_e2e::{complaint_form, spawn_app};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_name_phone_identifier_or_complaint_text_appears_in_any_log_line() {
    let captured = Captured::default();
    let writer = captured.clone();
    // Everything at debug and above, from every crate, the SDKs included.
    tracing_subscriber::fmt()
        .with_env_filter("debug,hyper=info,h2=info")
        .json()
        .with_writer(move || writer.clone())
        .init();

    let app = spawn_app().await;
    let name = "Zhuge Kongming";
    let phone = "13811112222";
    let email = "kongming.zhuge@example.cn";
    let national_id = "11010519491231002X";
    let loan = "LN2026099991";
    let text = "Collectors phoned my sister at midnight and threatened to visit my office; secret marker QX7.";

    let mut form = complaint_form();
    form["borrower"] = json!({"name": name, "phone": phone, "email": email, "national_id": national_id, "loan_number": loan});
    form["text"] = json!(text);
    let (reference, secret) = app.submit_ok(&form).await;
    app.wait_for_ticket(&reference).await;
    // A repeat from the same borrower, a status lookup, invalid input and a poison message.
    let (second, _) = app.submit_ok(&form).await;
    app.wait_for_ticket(&second).await;
    let status = app
        .http
        .get(app.url(&format!("/complaints/{reference}")))
        .header("X-Status-Secret", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    let mut bad = form.clone();
    bad["borrower"]["phone"] = json!("1381111222299999");
    assert_eq!(app.submit(&bad).await.0, 422);
    let mut poison_form = form.clone();
    poison_form["borrower"]["email"] = json!("broken@");
    let poison = ComplaintMessage {
        reference: "RD-261123-P0150N00".into(),
        received_at: chrono::Utc::now(),
        form: poison_form,
    };
    app.pipeline
        .sqs
        .send_message()
        .queue_url(app.queue_url("ComplaintsQueue"))
        .message_body(serde_json::to_string(&poison).unwrap())
        .send()
        .await
        .unwrap();
    app.wait_for_depth("ComplaintsDeadLetterQueue", 1, Duration::from_secs(30))
        .await
        .unwrap();
    app.stop().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains(&reference),
        "the logs were captured (they name the reference)"
    );
    assert!(logs.contains("poison"), "the poison message was logged");
    for secret_value in [
        name,
        "Zhuge",
        phone,
        "8613811112222",
        "1381111222299999",
        email,
        "kongming",
        national_id,
        loan,
        "secret marker QX7",
        "midnight",
        &secret,
    ] {
        assert!(
            !logs.contains(secret_value),
            "'{secret_value}' appears in the logs"
        );
    }
}
