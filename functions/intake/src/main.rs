//! Lambda entry point for the intake function: build clients once, then serve batches.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use redress_aws::{env, load_aws_config, telemetry, DynamoStore};
use redress_domain::borrower::BorrowerKeyer;
use redress_domain::config::DomainConfig;
use redress_intake::{handle, IntakeDeps};
use std::sync::Arc;
use aws_lambda_events::event::sqs::SqsEvent;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let table = env::required("TICKETS_TABLE")?;
    let keyer = BorrowerKeyer::new(&env::required_key("BORROWER_HMAC_KEY")?);
    let retention_days: i64 = env::required("RETENTION_DAYS")?.parse()?;
    let config = Arc::new(DomainConfig::from_env()?);
    let aws = load_aws_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table).with_retention_days(retention_days);
    let deps = Arc::new(IntakeDeps { config, keyer, store });

    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle(&deps, event.payload).await) }
    }))
    .await
}
