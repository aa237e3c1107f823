//! `redress corrections export`: the category corrections teams made when transferring
//! tickets, as JSON lines, for the next training run.
//!
//! A correction is the `correction` of a transfer's audit event (written in the
//! transfer's own transaction, so it exists exactly when the transfer happened). The
//! export reads them with a filtered scan: an offline job, never on a request path.
//! Complaint text is personal data: it is left out unless `--with-text` is given.

use anyhow::{Context, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use redress_aws::attr::{from_item, get_s};
use redress_aws::keys;
use redress_domain::ticket::AuditEvent;
use serde_json::{json, Value};
use std::io::Write;

/// One export line for a transfer event with a correction; `None` for any other event.
pub fn correction_line(event: &AuditEvent, text: Option<&str>) -> Option<Value> {
    let c = event.correction.as_ref()?;
    let mut line = json!({
        "reference": event.reference,
        "at": event.at.to_rfc3339(),
        "language": c.language,
        "from_category": c.from_category,
        "to_category": c.to_category,
        "from_source": c.from_source,
        "model_category": c.model_category,
        "from_team": c.from_team,
        "to_team": c.to_team,
    });
    if let Some(t) = text {
        line["text"] = Value::from(t);
    }
    Some(line)
}

/// Writes every correction in `table` to `out`, oldest transfer first per ticket.
/// Returns how many were written.
pub async fn export(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    with_text: bool,
    mut out: impl Write,
) -> Result<usize> {
    let mut events: Vec<AuditEvent> = Vec::new();
    let mut start: Option<std::collections::HashMap<String, AttributeValue>> = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .filter_expression("entity = :e AND attribute_exists(correction)")
            .expression_attribute_values(":e", AttributeValue::S("event".into()))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .with_context(|| format!("scanning {table} for corrections"))?;
        for item in page.items() {
            let event: AuditEvent = from_item(item).with_context(|| {
                format!(
                    "reading the event {} of {}",
                    get_s(item, keys::SK).unwrap_or("?"),
                    get_s(item, keys::PK).unwrap_or("?")
                )
            })?;
            events.push(event);
        }
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => break,
        }
    }
    events.sort_by(|a, b| {
        a.reference
            .as_ref()
            .cmp(b.reference.as_ref())
            .then(a.seq.cmp(&b.seq))
    });
    let mut written = 0;
    for event in &events {
        let text = if with_text {
            ticket_text(client, table, event.reference.as_ref()).await?
        } else {
            None
        };
        if let Some(line) = correction_line(event, text.as_deref()) {
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
            written += 1;
        }
    }
    out.flush()?;
    Ok(written)
}

async fn ticket_text(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    reference: &str,
) -> Result<Option<String>> {
    let got = client
        .get_item()
        .table_name(table)
        .key(keys::PK, AttributeValue::S(keys::ticket_pk(reference)))
        .key(keys::SK, AttributeValue::S(keys::TICKET_SK.into()))
        .projection_expression("#t")
        .expression_attribute_names("#t", "text")
        .send()
        .await
        .with_context(|| format!("reading the text of {reference}"))?;
    Ok(got
        .item()
        .and_then(|i| get_s(i, "text"))
        .map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use redress_domain::classify::{CategorySource, Correction};
    use redress_domain::taxonomy::Language;
    use redress_domain::ticket::{Actor, TicketStatus};

    fn event(correction: Option<Correction>) -> AuditEvent {
        AuditEvent {
            reference: redress_domain::reference::Reference::generate(
                "2026-11-23T10:00:00Z".parse().unwrap(),
                [1, 2, 3, 4, 5],
            ),
            seq: 3,
            at: "2026-11-23T10:00:00Z".parse().unwrap(),
            actor: Actor::system("test"),
            action: redress_domain::ticket::AuditAction::Transferred,
            from_status: Some(TicketStatus::Acknowledged),
            to_status: TicketStatus::Acknowledged,
            detail: "from billing to hardship: r".into(),
            correction,
        }
    }

    #[test]
    fn a_correction_exports_without_text_unless_asked() {
        let e = event(Some(Correction {
            from_category: "fees_interest".into(),
            to_category: "repayment_difficulty".into(),
            from_source: CategorySource::Text,
            model_category: Some("fees_interest".into()),
            from_team: "billing".into(),
            to_team: "hardship".into(),
            language: Language::Chinese,
        }));
        let line = correction_line(&e, None).unwrap();
        assert_eq!(line["to_category"], "repayment_difficulty");
        assert_eq!(line["from_source"], "text");
        assert_eq!(line["language"], "zh");
        assert!(line.get("text").is_none());
        let line = correction_line(&e, Some("我失业了")).unwrap();
        assert_eq!(line["text"], "我失业了");
        assert!(correction_line(&event(None), None).is_none());
    }
}
