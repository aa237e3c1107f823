//! The SQS adapter for the complaints queue.

use crate::errors::store_error;
use aws_sdk_sqs::Client;
use redress_domain::assess::ComplaintMessage;
use redress_domain::ports::{ComplaintQueue, StoreError};

/// Sends complaint messages to one queue.
#[derive(Debug, Clone)]
pub struct SqsComplaintQueue {
    client: Client,
    url: String,
}

impl SqsComplaintQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

impl ComplaintQueue for SqsComplaintQueue {
    async fn enqueue(&self, message: &ComplaintMessage) -> Result<(), StoreError> {
        let body = serde_json::to_string(message)
            .map_err(|e| StoreError::Permanent(format!("serialising message: {e}")))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| store_error("send complaint message", e))?;
        Ok(())
    }
}
