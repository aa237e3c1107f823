//! Lambda entry point for the api function: build clients once, then serve requests.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use lambda_http::{run, service_fn, Error, Request};
use redress_api::{handle, ApiDeps};
use redress_aws::env::{domain_config_or_exit, fail_cold_start, ProcessEnv};
use redress_aws::{load_aws_config, secrets, telemetry};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let aws = load_aws_config().await;
    // The keys come from Secrets Manager (KEYS_SECRET_ID), laid over the environment.
    let vars = secrets::with_keys(&ProcessEnv, &aws)
        .await
        .unwrap_or_else(|e| fail_cold_start(&e));
    let config = Arc::new(domain_config_or_exit());
    let deps =
        Arc::new(ApiDeps::from_env(&vars, &aws, config).unwrap_or_else(|e| fail_cold_start(&e)));

    run(service_fn(move |request: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle(&deps, request).await) }
    }))
    .await
}
