//! The SQS adapter: the queues the api writes to.

use crate::errors::store_error;
use aws_sdk_sqs::Client;
use redress_domain::assess::ComplaintMessage;
use redress_domain::ports::{
    ComplaintQueue, Notification, Notifier, StoreError, SurveyMessage, SurveyQueue,
};
use serde::Serialize;

/// Sends JSON messages to one queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// Sends one message with `body` serialised as JSON.
    pub async fn send_json(
        &self,
        what: &'static str,
        body: &impl Serialize,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(body).map_err(|e| StoreError::invalid_request(what, e))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| store_error(what, e))?;
        Ok(())
    }
}

/// The api's queues: complaints in, survey answers in, notifications out.
#[derive(Debug, Clone)]
pub struct SqsQueues {
    pub complaints: SqsQueue,
    pub surveys: SqsQueue,
    pub notifications: SqsQueue,
}

impl ComplaintQueue for SqsQueues {
    async fn enqueue(&self, message: &ComplaintMessage) -> Result<(), StoreError> {
        self.complaints
            .send_json("send complaint message", message)
            .await
    }
}

impl SurveyQueue for SqsQueues {
    async fn enqueue_survey(&self, message: &SurveyMessage) -> Result<(), StoreError> {
        self.surveys.send_json("send survey message", message).await
    }
}

impl Notifier for SqsQueue {
    async fn notify(&self, notification: &Notification) -> Result<(), StoreError> {
        self.send_json("send notification", notification).await
    }
}

impl Notifier for SqsQueues {
    async fn notify(&self, notification: &Notification) -> Result<(), StoreError> {
        self.notifications.notify(notification).await
    }
}
