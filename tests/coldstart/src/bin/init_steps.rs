//! Times, in one fresh process, each step a function's `main` takes before its first
//! `/next` (the cold start), so the benchmark can say what dominates. Run by `cold_start`
//! with a function's environment; prints one JSON object of milliseconds per step.

use redress_aws::env::ProcessEnv;
use redress_aws::{load_aws_config, secrets, telemetry};
use redress_domain::config::DomainConfig;
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut steps = serde_json::Map::new();
    let mut last = Instant::now();
    let mut lap = |name: &str| {
        let now = Instant::now();
        steps.insert(name.into(), ((now - last).as_secs_f64() * 1000.0).into());
        last = now;
    };
    telemetry::init();
    lap("telemetry");
    let aws = load_aws_config().await;
    lap("aws_config");
    secrets::with_keys(&ProcessEnv, &aws).await?;
    // The first request builds the HTTP client (TLS roots, connection); the second
    // is the round trip alone.
    lap("secret_first_request");
    secrets::with_keys(&ProcessEnv, &aws).await?;
    lap("secret_second_request");
    DomainConfig::from_env()?;
    lap("domain_config");
    println!("{}", serde_json::Value::Object(steps));
    Ok(())
}
