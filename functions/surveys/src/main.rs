//! Lambda entry point for the surveys function: build clients once, then serve batches.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use redress_aws::env::ProcessEnv;
use redress_aws::{load_aws_config, telemetry};
use redress_domain::config::DomainConfig;
use redress_surveys::{handle, SurveysDeps};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Arc::new(DomainConfig::from_env()?);
    let aws = load_aws_config().await;
    let deps = Arc::new(SurveysDeps::from_env(&ProcessEnv, &aws, config)?);

    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deps = Arc::clone(&deps);
        async move { Ok::<_, Error>(handle(&deps, event.payload).await) }
    }))
    .await
}
