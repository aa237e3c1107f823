//! Lambda entry point for the sweeper: build clients once, then sweep on each scheduled
//! event.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use chrono::Utc;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use redress_aws::env::ProcessEnv;
use redress_aws::{load_aws_config, telemetry};
use redress_domain::config::DomainConfig;
use redress_sweeper::{handle, ScheduledEvent, SweepReport, SweeperDeps};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Arc::new(DomainConfig::from_env()?);
    let aws = load_aws_config().await;
    let deps = Arc::new(SweeperDeps::from_env(&ProcessEnv, &aws, config)?);

    run(service_fn(move |_event: LambdaEvent<ScheduledEvent>| {
        let deps = Arc::clone(&deps);
        async move {
            // The clock, not the event's scheduled time: a retried invocation sweeps
            // what is due when it runs.
            let report = handle(&deps, Utc::now()).await?;
            // Tickets that failed stay due, and notifications not queued stay in the
            // outbox, for the next run; failing the invocation makes them visible in
            // the function's error metric (and its alarm).
            if let Some(failure) = report.failure() {
                return Err(Error::from(failure));
            }
            Ok::<SweepReport, Error>(report)
        }
    }))
    .await
}
