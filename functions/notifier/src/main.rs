//! Lambda entry point for the notifier: build clients once, then deliver each batch.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use redress_aws::env::{PendingConfig, ProcessEnv};
use redress_aws::{load_aws_config, telemetry};
use redress_notifier::config::NotifyConfig;
use redress_notifier::{handle, NotifierDeps};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    // Parsed on a blocking thread while the SDK loads its configuration.
    let domain = PendingConfig::rules_only();
    let aws = load_aws_config().await;
    let domain = domain.ready().await;
    let config = Arc::new(NotifyConfig::from_env(&domain)?);
    let deps = Arc::new(NotifierDeps::from_env(&ProcessEnv, &aws, &domain, config)?);

    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle(&deps, event.payload).await) }
    }))
    .await
}
