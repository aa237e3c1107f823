//! Polls an SQS queue and hands batches to a handler exactly as the Lambda event source
//! mapping does: the same `SqsEvent` JSON, partial batch failures honoured (only the
//! messages that succeeded are deleted; the rest come back after the visibility timeout,
//! and to the dead-letter queue after `maxReceiveCount` receives).

use anyhow::{Context, Result};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A handler for SQS batches (the intake function's `handle`).
pub type SqsHandler =
    Arc<dyn Fn(SqsEvent) -> Pin<Box<dyn Future<Output = SqsBatchResponse> + Send>> + Send + Sync>;

/// Where to poll and how.
#[derive(Debug, Clone)]
pub struct PollerConfig {
    pub queue_url: String,
    pub queue_arn: String,
    pub region: String,
    pub batch_size: i32,
    /// Long-poll wait per receive.
    pub wait: Duration,
    /// When set, a failed message is made visible again after this long instead of the
    /// queue's visibility timeout (tests use a second to see redrive quickly).
    pub retry_after: Option<Duration>,
}

/// The Lambda event for received messages.
pub fn sqs_event(
    messages: &[aws_sdk_sqs::types::Message],
    queue_arn: &str,
    region: &str,
) -> Result<SqsEvent> {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: Map<String, Value> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_string(), Value::String(v.clone())))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "md5OfBody": m.md5_of_body(),
                "attributes": attributes,
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).context("building the SQS event")
}

/// Receives one batch, handles it, settles it. Returns how many messages were received.
pub async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    config: &PollerConfig,
    handler: &SqsHandler,
) -> Result<usize> {
    let received = sqs
        .receive_message()
        .queue_url(&config.queue_url)
        .max_number_of_messages(config.batch_size)
        .wait_time_seconds(config.wait.as_secs() as i32)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .context("receiving messages")?;
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(0);
    }
    let event = sqs_event(&messages, &config.queue_arn, &config.region)?;
    let response = handler(event).await;
    let failed: HashSet<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();

    let mut deletes = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let (Some(id), Some(handle)) = (m.message_id(), m.receipt_handle()) else {
            continue;
        };
        if failed.contains(id) {
            if let Some(delay) = config.retry_after {
                sqs.change_message_visibility()
                    .queue_url(&config.queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(delay.as_secs() as i32)
                    .send()
                    .await
                    .context("changing visibility of a failed message")?;
            }
        } else {
            deletes.push(
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()?,
            );
        }
    }
    if !deletes.is_empty() {
        let out = sqs
            .delete_message_batch()
            .queue_url(&config.queue_url)
            .set_entries(Some(deletes))
            .send()
            .await
            .context("deleting handled messages")?;
        for f in out.failed() {
            // Left on the queue, it will be delivered again; intake is idempotent.
            tracing::warn!(
                entry = f.id(),
                code = f.code(),
                "could not delete a handled message"
            );
        }
    }
    tracing::debug!(
        received = messages.len(),
        failed = failed.len(),
        "batch settled"
    );
    Ok(messages.len())
}

/// Polls until `shutdown` turns true. Errors are logged and retried after a pause, as the
/// Lambda poller would.
pub async fn run(
    sqs: aws_sdk_sqs::Client,
    config: PollerConfig,
    handler: SqsHandler,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let result = tokio::select! {
            r = poll_once(&sqs, &config, &handler) => r,
            _ = shutdown.changed() => return,
        };
        if let Err(e) = result {
            tracing::warn!(error = format!("{e:#}"), queue = %config.queue_url, "polling failed; retrying");
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
