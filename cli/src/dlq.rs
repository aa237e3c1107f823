//! `redress dlq list` and `redress dlq redrive`: look at and move complaint messages that
//! intake dead-lettered.
//!
//! The bodies hold personal data (names, phone numbers, identity numbers, complaint
//! text), so nothing here ever prints a body or a value taken from it, only the
//! reference, the size and a diagnosis written from the *shape* of the body.

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use chrono::{DateTime, SecondsFormat, Utc};
use redress_domain::complaint::{Complaint, ParseMode};
use redress_domain::config::DomainConfig;
use redress_domain::reference::Reference;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashSet;
use std::io::Write;

/// How long `list` hides the messages it receives (they are made visible again at once
/// after listing; this only bounds the hiding if the tool is interrupted).
pub const LIST_VISIBILITY_SECS: i32 = 5;
/// How long `redrive` holds a message between receiving it and deleting it.
const REDRIVE_VISIBILITY_SECS: i32 = 60;
/// SQS's largest batch.
const BATCH: usize = 10;

/// What can be said about a dead-lettered body without showing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// The complaint's reference, when the body carries a well-formed one.
    pub reference: Option<String>,
    /// A short account of what is wrong (or that nothing obvious is).
    pub problem: String,
}

/// Diagnoses a message body as intake would read it: a `ComplaintMessage`
/// (`{reference, received_at, form}`) whose form must be a valid submission.
///
/// Says which part fails, by field name and error code only: never a value.
pub fn diagnose(body: &str, config: &DomainConfig) -> Diagnosis {
    let mut d = Diagnosis {
        reference: None,
        problem: String::new(),
    };
    if body.trim().is_empty() {
        d.problem = "empty body".into();
        return d;
    }
    let value: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            // Syntax and EOF errors carry a position and no content.
            let what = if e.is_eof() {
                "truncated"
            } else {
                "syntax error"
            };
            d.problem = format!(
                "not JSON ({what} at line {} column {})",
                e.line(),
                e.column()
            );
            return d;
        }
    };
    let Some(obj) = value.as_object() else {
        d.problem = format!("not a JSON object (a JSON {})", json_type(&value));
        return d;
    };
    let mut problems = Vec::new();
    match obj.get("reference") {
        None => problems.push("missing field reference".to_string()),
        Some(Value::String(r)) => match Reference::parse(r) {
            Ok(r) => d.reference = Some(r.as_str().to_string()),
            Err(_) => problems.push("reference is malformed".into()),
        },
        Some(v) => problems.push(format!("reference is a {}, not a string", json_type(v))),
    }
    let received_at = match obj.get("received_at") {
        None => {
            problems.push("missing field received_at".into());
            None
        }
        Some(Value::String(t)) => match DateTime::parse_from_rfc3339(t) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                problems.push("received_at is not an RFC 3339 time".into());
                None
            }
        },
        Some(v) => {
            problems.push(format!("received_at is a {}, not a string", json_type(v)));
            None
        }
    };
    let form = match obj.get("form") {
        None => {
            problems.push("missing field form".into());
            None
        }
        Some(f @ Value::Object(_)) => Some(f),
        Some(v) => {
            problems.push(format!("form is a {}, not an object", json_type(v)));
            None
        }
    };
    let mut unknown: Vec<String> = obj
        .keys()
        .filter(|k| !["reference", "received_at", "form"].contains(&k.as_str()))
        .map(|k| format!("unknown field {}", printable(k, 30)))
        .collect();
    unknown.sort();
    problems.extend(unknown);
    if let (Some(form), Some(received_at)) = (form, received_at) {
        // The validation error names fields and codes, never the values.
        if let Err(e) = Complaint::parse(form, config, ParseMode::Submission, received_at) {
            problems.push(format!("invalid complaint: {e}"));
        }
    }
    d.problem = if problems.is_empty() {
        "valid complaint message: failed for another reason (see intake logs by message id)".into()
    } else {
        problems.join("; ")
    };
    d
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A field name from the body, shortened and stripped of control characters.
fn printable(s: &str, max: usize) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    format!("'{out}'")
}

/// One dead-lettered message, as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedMessage {
    pub message_id: String,
    /// When the message was first sent (to the complaints queue, by the API).
    pub sent_at: Option<String>,
    /// Receives so far, in the source queue and here.
    pub receive_count: Option<u32>,
    pub reference: Option<String>,
    pub body_bytes: usize,
    pub diagnosis: String,
}

impl ListedMessage {
    /// Describes a received message without its body.
    pub fn from_message(m: &Message, config: &DomainConfig) -> Self {
        let body = m.body().unwrap_or_default();
        let d = diagnose(body, config);
        let attr = |name: MessageSystemAttributeName| m.attributes().and_then(|a| a.get(&name));
        Self {
            message_id: m.message_id().unwrap_or("-").to_string(),
            sent_at: attr(MessageSystemAttributeName::SentTimestamp)
                .and_then(|ms| ms.parse::<i64>().ok())
                .and_then(DateTime::<Utc>::from_timestamp_millis)
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            receive_count: attr(MessageSystemAttributeName::ApproximateReceiveCount)
                .and_then(|n| n.parse().ok()),
            reference: d.reference,
            body_bytes: body.len(),
            diagnosis: d.problem,
        }
    }
}

/// Writes the listing as an aligned table.
pub fn write_table(out: &mut impl Write, messages: &[ListedMessage]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<36}  {:<20}  {:>8}  {:<18}  {:>7}  DIAGNOSIS",
        "MESSAGE ID", "SENT", "RECEIVES", "REFERENCE", "BYTES"
    )?;
    for m in messages {
        writeln!(
            out,
            "{:<36}  {:<20}  {:>8}  {:<18}  {:>7}  {}",
            m.message_id,
            m.sent_at.as_deref().unwrap_or("-"),
            m.receive_count.map_or("-".to_string(), |n| n.to_string()),
            m.reference.as_deref().unwrap_or("-"),
            m.body_bytes,
            m.diagnosis
        )?;
    }
    Ok(())
}

/// Turns an SQS error into a message a person can act on.
fn sqs_error<E, R>(what: &str, url: &str, err: SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = err.code().unwrap_or_default();
    if code.contains("NonExistentQueue") || code.contains("QueueDoesNotExist") {
        return anyhow!(
            "queue does not exist: {url} (check the URL, the region and AWS_ENDPOINT_URL_SQS)"
        );
    }
    if matches!(
        err,
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
    ) {
        return anyhow!(
            "{what}: cannot reach SQS for {url} (is the local stack running, or AWS_ENDPOINT_URL_SQS right?): {}",
            DisplayErrorContext(&err)
        );
    }
    anyhow!("{what} ({url}): {}", DisplayErrorContext(&err))
}

/// Fails clearly when the queue is missing or unreachable, and returns its approximate depth.
pub async fn check_queue(client: &Client, url: &str) -> Result<Option<u64>> {
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(|e| sqs_error("checking the queue", url, e))?;
    Ok(out
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|n| n.parse().ok()))
}

async fn receive(client: &Client, url: &str, max: usize, visibility: i32) -> Result<Vec<Message>> {
    let out = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max.clamp(1, BATCH) as i32)
        .visibility_timeout(visibility)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|e| sqs_error("receiving messages", url, e))?;
    Ok(out.messages.unwrap_or_default())
}

/// Receives up to `max` distinct messages, hiding each for `visibility` seconds.
async fn receive_up_to(
    client: &Client,
    url: &str,
    max: usize,
    visibility: i32,
) -> Result<Vec<Message>> {
    let mut seen = HashSet::new();
    let mut messages = Vec::new();
    while messages.len() < max {
        let batch = receive(client, url, max - messages.len(), visibility).await?;
        let before = messages.len();
        for m in batch {
            // A message seen twice means the visibility ran out while listing: stop there.
            if seen.insert(m.message_id().unwrap_or_default().to_string()) {
                messages.push(m);
            }
        }
        if messages.len() == before {
            break;
        }
    }
    Ok(messages)
}

/// Makes messages visible again at once. Returns how many could not be reset.
async fn release(client: &Client, url: &str, messages: &[Message]) -> Result<usize> {
    let mut failed = 0;
    for chunk in messages.chunks(BATCH) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .visibility_timeout(0)
                    .build()
                    .context("building a visibility change")
            })
            .collect::<Result<Vec<_>>>()?;
        let out = client
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| sqs_error("making messages visible again", url, e))?;
        failed += out.failed().len();
    }
    Ok(failed)
}

/// Reads up to `max` dead-lettered messages without removing them: returns the queue's
/// approximate depth, the messages described (never their bodies), and how many could
/// not be made visible again at once.
pub async fn peek(
    client: &Client,
    dlq_url: &str,
    max: usize,
    config: &DomainConfig,
) -> Result<(Option<u64>, Vec<ListedMessage>, usize)> {
    let depth = check_queue(client, dlq_url).await?;
    let messages = receive_up_to(client, dlq_url, max, LIST_VISIBILITY_SECS).await?;
    let listed: Vec<ListedMessage> = messages
        .iter()
        .map(|m| ListedMessage::from_message(m, config))
        .collect();
    let not_released = release(client, dlq_url, &messages).await?;
    Ok((depth, listed, not_released))
}

/// `redress dlq list`.
pub async fn list(
    client: &Client,
    dlq_url: &str,
    max: usize,
    json: bool,
    config: &DomainConfig,
) -> Result<()> {
    let (depth, listed, not_released) = peek(client, dlq_url, max, config).await?;

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if json {
        for m in &listed {
            serde_json::to_writer(&mut out, m)?;
            writeln!(out)?;
        }
    } else {
        write_table(&mut out, &listed)?;
    }
    out.flush()?;
    eprintln!(
        "listed {} message(s){}",
        listed.len(),
        depth.map_or(String::new(), |d| format!(
            " of about {d} in the dead-letter queue"
        ))
    );
    if not_released > 0 {
        eprintln!(
            "warning: {not_released} message(s) stay hidden for up to {LIST_VISIBILITY_SECS} s"
        );
    }
    Ok(())
}

/// What a redrive did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Redriven {
    /// Sent to the queue and deleted from the dead-letter queue.
    pub moved: usize,
    /// Sent to the queue but not deleted: they will be delivered twice (intake is
    /// idempotent on the reference, so the second delivery changes nothing).
    pub sent_not_deleted: usize,
    /// Not sent: still in the dead-letter queue.
    pub failed: usize,
}

/// `redress dlq redrive`.
pub async fn redrive(
    client: &Client,
    dlq_url: &str,
    queue_url: &str,
    max: Option<usize>,
    dry_run: bool,
) -> Result<Redriven> {
    if dlq_url == queue_url {
        bail!("the dead-letter queue and the queue are the same: {dlq_url}");
    }
    check_queue(client, dlq_url).await?;
    check_queue(client, queue_url).await?;
    let max = max.unwrap_or(usize::MAX);
    let mut result = Redriven::default();
    if dry_run {
        let messages = receive_up_to(client, dlq_url, max, LIST_VISIBILITY_SECS).await?;
        release(client, dlq_url, &messages).await?;
        result.moved = messages.len();
        return Ok(result);
    }
    while result.moved + result.sent_not_deleted < max {
        let remaining = max - result.moved - result.sent_not_deleted;
        let batch = receive(client, dlq_url, remaining, REDRIVE_VISIBILITY_SECS).await?;
        if batch.is_empty() {
            break;
        }
        let entries = batch
            .iter()
            .enumerate()
            .map(|(i, m)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(m.body().unwrap_or_default())
                    .set_message_attributes(m.message_attributes().cloned())
                    .build()
                    .context("building a send entry")
            })
            .collect::<Result<Vec<_>>>()?;
        let sent = client
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        let sent = match sent {
            Ok(sent) => sent,
            Err(e) => {
                release(client, dlq_url, &batch).await.ok();
                return Err(sqs_error("sending to the queue", queue_url, e))
                    .context(format!("stopped after moving {} message(s)", result.moved));
            }
        };
        // Only what was sent is deleted; what was not goes back into view and stops the run.
        let ok: HashSet<&str> = sent.successful().iter().map(|s| s.id()).collect();
        let (to_delete, unsent): (Vec<_>, Vec<_>) = batch
            .iter()
            .enumerate()
            .partition(|(i, _)| ok.contains(i.to_string().as_str()));
        let deleted = delete(client, dlq_url, to_delete.iter().map(|(_, m)| *m)).await?;
        result.moved += deleted;
        result.sent_not_deleted += to_delete.len() - deleted;
        if !unsent.is_empty() {
            let unsent: Vec<Message> = unsent.into_iter().map(|(_, m)| m.clone()).collect();
            release(client, dlq_url, &unsent).await.ok();
            result.failed += unsent.len();
            let reasons: Vec<String> = sent
                .failed()
                .iter()
                .map(|f| format!("{}: {}", f.code(), f.message().unwrap_or_default()))
                .collect();
            eprintln!(
                "could not send {} message(s): {}",
                unsent.len(),
                reasons.join("; ")
            );
            break;
        }
    }
    Ok(result)
}

async fn delete<'a>(
    client: &Client,
    url: &str,
    messages: impl Iterator<Item = &'a Message>,
) -> Result<usize> {
    let entries = messages
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .build()
                .context("building a delete entry")
        })
        .collect::<Result<Vec<_>>>()?;
    if entries.is_empty() {
        return Ok(0);
    }
    let out = client
        .delete_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| {
            sqs_error(
                "deleting redriven messages from the dead-letter queue",
                url,
                e,
            )
        })?;
    Ok(out.successful().len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::OnceLock;

    fn config() -> &'static DomainConfig {
        static CONFIG: OnceLock<DomainConfig> = OnceLock::new();
        CONFIG.get_or_init(|| DomainConfig::bundled().unwrap())
    }

    fn valid_form() -> Value {
        json!({
            "borrower": {"name": "张伟", "phone": "13812345678"},
            "product": "personal_loan",
            "text": "借款时被收取了合同里没有写明的服务费，实际年化利率远超36%。",
            "consent_to_contact": true
        })
    }

    fn message(form: Value) -> String {
        json!({"reference": "RD-261123-7KQ2M9XA", "received_at": "2026-11-23T10:00:00Z", "form": form}).to_string()
    }

    #[test]
    fn a_valid_message_gives_its_reference_and_points_to_the_logs() {
        let d = diagnose(&message(valid_form()), config());
        assert_eq!(d.reference.as_deref(), Some("RD-261123-7KQ2M9XA"));
        assert!(
            d.problem.starts_with("valid complaint message"),
            "{}",
            d.problem
        );
    }

    #[test]
    fn a_body_that_is_not_json_says_so_with_a_position_only() {
        let d = diagnose("張偉 13812345678 {", config());
        assert_eq!(d.reference, None);
        assert!(
            d.problem.starts_with("not JSON (syntax error at line 1"),
            "{}",
            d.problem
        );
        assert!(!d.problem.contains("138"));
        assert!(diagnose(r#"{"reference": "RD-"#, config())
            .problem
            .starts_with("not JSON (truncated"));
        assert_eq!(diagnose("  ", config()).problem, "empty body");
        assert_eq!(
            diagnose("[1]", config()).problem,
            "not a JSON object (a JSON array)"
        );
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        let d = diagnose(
            r#"{"reference": "RD-261123-7KQ2M9XA", "received_at": "2026-11-23T10:00:00Z"}"#,
            config(),
        );
        assert_eq!(d.problem, "missing field form");
        assert_eq!(d.reference.as_deref(), Some("RD-261123-7KQ2M9XA"));
        let d = diagnose(
            r#"{"reference": 7, "received_at": "yesterday", "form": "x", "extra": 1}"#,
            config(),
        );
        assert_eq!(
            d.problem,
            "reference is a number, not a string; received_at is not an RFC 3339 time; \
             form is a string, not an object; unknown field 'extra'"
        );
    }

    #[test]
    fn a_malformed_reference_is_not_echoed() {
        let d = diagnose(
            &json!({"reference": "13812345678", "received_at": "2026-11-23T10:00:00Z", "form": valid_form()}).to_string(),
            config(),
        );
        assert_eq!(d.reference, None);
        assert_eq!(d.problem, "reference is malformed");
    }

    #[test]
    fn an_invalid_complaint_names_fields_and_codes_but_no_values() {
        let mut form = valid_form();
        form["borrower"]["phone"] = json!("12345");
        form["text"] = json!("太短");
        let d = diagnose(&message(form), config());
        assert!(
            d.problem
                .starts_with("invalid complaint: 2 invalid field(s)"),
            "{}",
            d.problem
        );
        assert!(
            d.problem.contains("borrower.phone (invalid_phone)"),
            "{}",
            d.problem
        );
        assert!(
            !d.problem.contains("12345") && !d.problem.contains("太短"),
            "{}",
            d.problem
        );
    }

    #[test]
    fn the_table_never_holds_a_body() {
        let body = message(valid_form());
        let m = Message::builder()
            .message_id("5fea7756-0ea4-451a-a703-a558b933e274")
            .body(&body)
            .attributes(MessageSystemAttributeName::SentTimestamp, "1795428000000")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "4")
            .build();
        let listed = ListedMessage::from_message(&m, config());
        assert_eq!(listed.sent_at.as_deref(), Some("2026-11-23T10:00:00Z"));
        assert_eq!(listed.receive_count, Some(4));
        assert_eq!(listed.body_bytes, body.len());
        let mut out = Vec::new();
        write_table(&mut out, &[listed]).unwrap();
        let table = String::from_utf8(out).unwrap();
        assert!(
            table.contains("RD-261123-7KQ2M9XA") && table.contains("5fea7756"),
            "{table}"
        );
        assert!(
            !table.contains("张伟") && !table.contains("13812345678") && !table.contains("服务费"),
            "{table}"
        );
    }
}
