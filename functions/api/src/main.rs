//! Lambda entry point for the api function: build clients once, then serve requests.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use lambda_http::{run, service_fn, Error, Request};
use redress_api::{handle, ApiDeps};
use redress_aws::{env, load_aws_config, telemetry, DynamoStore, SqsComplaintQueue};
use redress_domain::config::DomainConfig;
use redress_domain::reference::StatusSecrets;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let table = env::required("TICKETS_TABLE")?;
    let queue_url = env::required("COMPLAINTS_QUEUE_URL")?;
    let secrets = StatusSecrets::new(&env::required_key("STATUS_HMAC_KEY")?);
    let config = Arc::new(DomainConfig::from_env()?);
    let aws = load_aws_config().await;
    let deps = Arc::new(ApiDeps {
        config,
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table),
        queue: SqsComplaintQueue::new(aws_sdk_sqs::Client::new(&aws), queue_url),
        secrets,
        now: chrono::Utc::now,
    });

    run(service_fn(move |request: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle(&deps, request).await) }
    }))
    .await
}
