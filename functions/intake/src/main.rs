//! Lambda entry point for the intake function: build clients once, then serve batches.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use redress_aws::env::{fail_cold_start, PendingConfig, ProcessEnv};
use redress_aws::{load_aws_config, secrets, telemetry};
use redress_intake::{handle_within, IntakeDeps, Invocation};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    // Parsed on a blocking thread while the SDK set-up and the secret's round trip wait.
    let config = PendingConfig::with_model();
    let aws = load_aws_config().await;
    // The borrower key comes from Secrets Manager (KEYS_SECRET_ID).
    let vars = secrets::with_keys(&ProcessEnv, &aws)
        .await
        .unwrap_or_else(|e| fail_cold_start(&e));
    let config = Arc::new(config.ready().await);
    let deps =
        Arc::new(IntakeDeps::from_env(&vars, &aws, config).unwrap_or_else(|e| fail_cold_start(&e)));

    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deps = Arc::clone(&deps);
        async move {
            let deadline = chrono::DateTime::<chrono::Utc>::from(event.context.deadline());
            // A configuration fault fails the invocation: SQS keeps the whole batch and
            // the Errors metric raises the alarm.
            let report = handle_within(&deps, &event.payload, &Invocation::until(deadline)).await?;
            Ok::<_, Error>(report.response)
        }
    }))
    .await
}
