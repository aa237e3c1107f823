//! Redress's adapters to AWS: DynamoDB and SQS implementations of the domain's ports,
//! the item mapping, error sorting, and the start-up plumbing every function shares.

pub mod accepted;
pub mod access_log;
pub mod attr;
pub mod cognito;
pub mod env;
pub mod errors;
pub mod jwks;
pub mod keys;
pub mod metrics;
pub mod outbox;
pub mod queue;
pub mod secrets;
pub mod signin_throttle;
pub mod store;
pub mod sweep;
pub mod telemetry;

pub use aws_config::SdkConfig;
pub use queue::{SqsQueue, SqsQueues};
pub use store::DynamoStore;

/// Loads the AWS configuration once per process: region, credentials and any
/// `AWS_ENDPOINT_URL_*` override (how the local stack is reached).
pub async fn load_aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
