//! `redress outbox`: what the notifier sent (to whom, masked; which template; when),
//! from its sent log in the tickets table. Message bodies only with `--bodies`, read
//! from moto's record of what SES and SNS "sent" (local stack only: in AWS the bodies
//! are not kept anywhere Redress can read).

use anyhow::{Context, Result};
use chrono::NaiveDate;
use redress_aws::outbox::DeliveryLog;
use redress_aws::DynamoStore;
use serde_json::Value;
use std::collections::HashMap;

/// The deliveries logged on each of `days`, oldest first.
pub async fn deliveries(store: &DynamoStore, days: &[NaiveDate]) -> Result<Vec<DeliveryLog>> {
    let mut all = Vec::new();
    for day in days {
        all.extend(
            store
                .sent_log(*day)
                .await
                .with_context(|| format!("reading the sent log of {day} from {}", store.table()))?,
        );
    }
    all.sort_by_key(|l| l.at);
    Ok(all)
}

/// Message bodies moto recorded, by provider message id (SES e-mail: subject and body;
/// SNS SMS: the text).
pub async fn moto_bodies(moto_url: &str) -> Result<HashMap<String, String>> {
    let url = format!("{}/moto-api/data.json", moto_url.trim_end_matches('/'));
    let data: Value = reqwest::get(&url)
        .await
        .with_context(|| format!("reading {url} (is the local stack running?)"))?
        .json()
        .await
        .context("moto's data.json is not JSON")?;
    Ok(bodies_from(&data))
}

/// Picks SES messages and SNS SMS out of moto's model dump.
pub fn bodies_from(data: &Value) -> HashMap<String, String> {
    let mut bodies = HashMap::new();
    for m in data["ses"]["Message"].as_array().into_iter().flatten() {
        if let (Some(id), Some(subject), Some(body)) =
            (m["id"].as_str(), m["subject"].as_str(), m["body"].as_str())
        {
            bodies.insert(id.to_string(), format!("Subject: {subject}\n\n{body}"));
        }
    }
    for m in data["sns"]["SMS"].as_array().into_iter().flatten() {
        if let (Some(id), Some(text)) = (m["message_id"].as_str(), m["message"].as_str()) {
            bodies.insert(id.to_string(), text.to_string());
        }
    }
    bodies
}

/// The listing: one line per delivery; with `bodies`, each message's text below it.
pub fn render(logs: &[DeliveryLog], bodies: Option<&HashMap<String, String>>) -> String {
    let mut out = format!(
        "{:<24} {:<9} {:<5} {:<10} {:<34} {:<22} {}\n",
        "when (UTC)", "status", "via", "audience", "template", "reference", "to (masked)"
    );
    for log in logs {
        out.push_str(&format!(
            "{:<24} {:<9} {:<5} {:<10} {:<34} {:<22} {}\n",
            log.at.format("%Y-%m-%d %H:%M:%S"),
            log.status,
            if log.channel.is_empty() {
                "-"
            } else {
                &log.channel
            },
            log.audience,
            log.template,
            log.reference,
            if log.to_masked.is_empty() {
                "-".to_string()
            } else {
                log.to_masked.join(", ")
            },
        ));
        if let Some(bodies) = bodies {
            let body = log
                .provider_id
                .as_ref()
                .and_then(|id| bodies.get(id))
                .map(String::as_str)
                .unwrap_or("(no body: nothing sent, or not sent through this moto)");
            for line in body.lines() {
                out.push_str("    | ");
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.push_str(&format!("{} deliveries\n", logs.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn log(status: &str, provider: Option<&str>) -> DeliveryLog {
        DeliveryLog {
            delivery_id: "RD-261120-7KQ2M9XA:1:acknowledgement/borrower".into(),
            notification_id: "RD-261120-7KQ2M9XA:1:acknowledgement".into(),
            reference: "RD-261120-7KQ2M9XA".into(),
            status: status.into(),
            channel: "email".into(),
            audience: "borrower".into(),
            template: "acknowledgement.zh".into(),
            to_masked: vec!["l***@mail.example".into()],
            provider_id: provider.map(str::to_string),
            at: "2026-11-20T02:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn the_listing_shows_masked_recipients_and_no_bodies_unless_asked() {
        let bodies = bodies_from(&json!({
            "ses": {"Message": [{"id": "m-1", "subject": "我们已收到", "body": "您的投诉"}]},
            "sns": {"SMS": [{"message_id": "s-1", "message": "投诉已受理"}]}
        }));
        assert_eq!(bodies["s-1"], "投诉已受理");
        let logs = [log("sent", Some("m-1"))];
        let plain = render(&logs, None);
        assert!(plain.contains("l***@mail.example") && plain.contains("acknowledgement.zh"));
        assert!(!plain.contains("您的投诉"), "{plain}");
        let full = render(&logs, Some(&bodies));
        assert!(full.contains("    | 您的投诉"), "{full}");
    }
}
