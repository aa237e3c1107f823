//! Lambda entry point for the api function: build clients once, then serve requests.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use lambda_http::{run, service_fn, Error, Request};
use redress_api::{handle, ApiDeps};
use redress_aws::env::ProcessEnv;
use redress_aws::{load_aws_config, telemetry};
use redress_domain::config::DomainConfig;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Arc::new(DomainConfig::from_env()?);
    let aws = load_aws_config().await;
    let deps = Arc::new(ApiDeps::from_env(&ProcessEnv, &aws, config)?);

    run(service_fn(move |request: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle(&deps, request).await) }
    }))
    .await
}
