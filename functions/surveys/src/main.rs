//! Lambda entry point for the surveys function: build clients once, then serve batches.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use redress_aws::env::{fail_cold_start, PendingConfig, ProcessEnv};
use redress_aws::{load_aws_config, secrets, telemetry};
use redress_surveys::{handle_batch, SurveysDeps};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    // Parsed on a blocking thread while the SDK set-up and the secret's round trip wait.
    let config = PendingConfig::rules_only();
    let aws = load_aws_config().await;
    // The survey-link keys come from Secrets Manager (KEYS_SECRET_ID).
    let vars = secrets::with_keys(&ProcessEnv, &aws)
        .await
        .unwrap_or_else(|e| fail_cold_start(&e));
    let config = Arc::new(config.ready().await);
    let deps = Arc::new(
        SurveysDeps::from_env(&vars, &aws, config).unwrap_or_else(|e| fail_cold_start(&e)),
    );

    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deps = Arc::clone(&deps);
        // A configuration fault fails the invocation: SQS keeps the whole batch and the
        // Errors metric raises the alarm.
        async move { Ok::<_, Error>(handle_batch(&deps, &event.payload).await?) }
    }))
    .await
}
