//! Lambda entry point for the api function: build clients once, then serve requests.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use lambda_http::{run, service_fn, Error, Request};
use redress_api::{handle, ApiDeps};
use redress_aws::env::{fail_cold_start, PendingConfig, ProcessEnv};
use redress_aws::{load_aws_config, secrets, telemetry};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    // Parsed on a blocking thread while the SDK set-up and the secret's round trip wait.
    let config = PendingConfig::rules_only();
    let aws = load_aws_config().await;
    // The keys come from Secrets Manager (KEYS_SECRET_ID), laid over the environment.
    let vars = secrets::with_keys(&ProcessEnv, &aws)
        .await
        .unwrap_or_else(|e| fail_cold_start(&e));
    let config = Arc::new(config.ready().await);
    let deps =
        Arc::new(ApiDeps::from_env(&vars, &aws, config).unwrap_or_else(|e| fail_cold_start(&e)));

    run(service_fn(move |request: Request| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle(&deps, request).await) }
    }))
    .await
}
