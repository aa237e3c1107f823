//! Lambda entry point for the sweeper: build clients once, then sweep on each scheduled
//! event.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use chrono::Utc;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use redress_aws::env::{fail_cold_start, PendingConfig, ProcessEnv};
use redress_aws::{load_aws_config, telemetry};
use redress_sweeper::{handle, ScheduledEvent, SweepReport, SweeperDeps};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    // Parsed on a blocking thread while the SDK loads its configuration.
    let config = PendingConfig::rules_only();
    let aws = load_aws_config().await;
    let config = Arc::new(config.ready().await);
    let deps = Arc::new(
        SweeperDeps::from_env(&ProcessEnv, &aws, config).unwrap_or_else(|e| fail_cold_start(&e)),
    );

    run(service_fn(move |_event: LambdaEvent<ScheduledEvent>| {
        let deps = Arc::clone(&deps);
        async move {
            // The clock, not the event's scheduled time: a retried invocation sweeps
            // what is due when it runs.
            let report = handle(&deps, Utc::now()).await?;
            println!("{}", metrics_line(&report, Utc::now().timestamp_millis()));
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

/// One CloudWatch embedded-metric-format line (namespace `Redress`): CloudWatch Logs
/// turns it into the metrics that the dashboard shows and the
/// `NotificationsNotSentAlarm` watches. Counts only, no ids.
fn metrics_line(report: &SweepReport, timestamp_ms: i64) -> serde_json::Value {
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": "Redress",
                "Dimensions": [[]],
                "Metrics": [
                    {"Name": "DeadlineAlertsRecorded", "Unit": "Count"},
                    {"Name": "NotificationsNotSent", "Unit": "Count"},
                    {"Name": "SweepFailedTickets", "Unit": "Count"}
                ]
            }]
        },
        "DeadlineAlertsRecorded": report.alerts_recorded,
        "NotificationsNotSent": report.notifications_failed,
        "SweepFailedTickets": report.failed
    })
}
