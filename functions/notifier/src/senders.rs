//! The two ways a message leaves: SES e-mail and SNS SMS.

use crate::plan::Channel;
use crate::{SendError, Sender};
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sns::types::MessageAttributeValue;

/// Error codes of SES and SNS that mean "try again later".
const TRANSIENT_CODES: &[&str] = &[
    "TooManyRequestsException",
    "LimitExceededException",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "InternalFailure",
    "InternalError",
    "InternalErrorException",
    "ServiceUnavailable",
    "KMSThrottlingException",
];

fn send_error<E, R>(what: &str, err: SdkError<E, R>) -> SendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &err {
        // The request was answered with an error: it was not sent.
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("unknown").to_string();
            SendError {
                transient: TRANSIENT_CODES.contains(&code.as_str()),
                message: format!(
                    "{what}: {code} {}",
                    service.err().message().unwrap_or_default()
                ),
            }
        }
        // No answer: retried. A timeout after the provider accepted the message would
        // send it twice; SES and SNS offer no idempotency key to prevent that.
        _ => SendError {
            transient: true,
            message: format!(
                "{what}: {}",
                aws_sdk_sesv2::error::DisplayErrorContext(&err)
            ),
        },
    }
}

/// SES (v2) for e-mail, SNS for SMS.
#[derive(Debug, Clone)]
pub struct AwsSenders {
    pub ses: aws_sdk_sesv2::Client,
    pub sns: aws_sdk_sns::Client,
    /// The verified sender (`Redress <notifications@example.com>`).
    pub from: String,
    /// An SES configuration set (bounce and complaint events), if any.
    pub configuration_set: Option<String>,
    /// The SMS sender id, where the destination country allows one.
    pub sms_sender_id: Option<String>,
}

impl Sender for AwsSenders {
    async fn send(&self, channel: &Channel) -> Result<String, SendError> {
        match channel {
            Channel::Email { to, subject, body } => {
                let text = |s: &str| {
                    Content::builder()
                        .data(s)
                        .charset("UTF-8")
                        .build()
                        .map_err(|e| SendError::permanent(format!("building e-mail: {e}")))
                };
                let message = Message::builder()
                    .subject(text(subject)?)
                    .body(Body::builder().text(text(body)?).build())
                    .build();
                let out = self
                    .ses
                    .send_email()
                    .from_email_address(&self.from)
                    .destination(
                        Destination::builder()
                            .set_to_addresses(Some(to.clone()))
                            .build(),
                    )
                    .content(EmailContent::builder().simple(message).build())
                    .set_configuration_set_name(self.configuration_set.clone())
                    .send()
                    .await
                    .map_err(|e| send_error("SES SendEmail", e))?;
                Ok(out.message_id.unwrap_or_default())
            }
            Channel::Sms { phone, text } => {
                let attribute = |v: &str| {
                    MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(v)
                        .build()
                        .map_err(|e| SendError::permanent(format!("building SMS: {e}")))
                };
                let mut request = self
                    .sns
                    .publish()
                    .phone_number(phone)
                    .message(text)
                    // Transactional: delivered even to numbers that opted out of
                    // marketing, at the higher-reliability route.
                    .message_attributes("AWS.SNS.SMS.SMSType", attribute("Transactional")?);
                if let Some(id) = &self.sms_sender_id {
                    request = request.message_attributes("AWS.SNS.SMS.SenderID", attribute(id)?);
                }
                let out = request
                    .send()
                    .await
                    .map_err(|e| send_error("SNS Publish", e))?;
                Ok(out.message_id.unwrap_or_default())
            }
        }
    }
}
