//! Failed sign-in attempts, remembered in the tickets table so every api instance sees
//! the same count: one small item per key (`SIGNIN#<key>`), gone by TTL after the
//! throttle's window. Keys are keyed hashes made by the api (never a user name or an
//! address in clear).

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, Utc};
use redress_domain::signin::{BoxFuture, Failures, SignInError, SignInThrottle};

/// The sort key of a throttle item.
const SK: &str = "SIGNIN_FAILURES";

/// [`SignInThrottle`] on DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoSignInThrottle {
    client: Client,
    table: String,
}

impl DynamoSignInThrottle {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoSignInThrottle {
            client,
            table: table.into(),
        }
    }

    fn key(key: &str) -> [(String, AttributeValue); 2] {
        [
            ("pk".into(), AttributeValue::S(format!("SIGNIN#{key}"))),
            ("sk".into(), AttributeValue::S(SK.into())),
        ]
    }
}

fn unavailable<E: ProvideErrorMetadata, R>(e: SdkError<E, R>) -> SignInError {
    // The code only: the raw response stays out of logs.
    SignInError::Unavailable(e.code().unwrap_or("no answer from DynamoDB").to_string())
}

impl SignInThrottle for DynamoSignInThrottle {
    fn failures<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Failures, SignInError>> {
        Box::pin(async move {
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(key).into_iter().collect()))
                .consistent_read(true)
                .send()
                .await
                .map_err(unavailable)?;
            let Some(item) = out.item else {
                return Ok(Failures::default());
            };
            let number = |name: &str| {
                item.get(name)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
            };
            Ok(Failures {
                count: number("failures")
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(0),
                last: number("last_failure").and_then(|t| DateTime::from_timestamp(t, 0)),
            })
        })
    }

    fn store<'a>(
        &'a self,
        key: &'a str,
        failures: Failures,
        keep: Duration,
    ) -> BoxFuture<'a, Result<(), SignInError>> {
        Box::pin(async move {
            let last = failures.last.unwrap_or_else(Utc::now);
            let mut item: std::collections::HashMap<_, _> = Self::key(key).into_iter().collect();
            item.insert(
                "failures".into(),
                AttributeValue::N(failures.count.to_string()),
            );
            item.insert(
                "last_failure".into(),
                AttributeValue::N(last.timestamp().to_string()),
            );
            item.insert(
                crate::keys::EXPIRES_AT.into(),
                AttributeValue::N((last + keep).timestamp().to_string()),
            );
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn clear<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), SignInError>> {
        Box::pin(async move {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(key).into_iter().collect()))
                .send()
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }
}
