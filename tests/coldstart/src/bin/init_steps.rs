//! Times, in one fresh process, each step a function's `main` takes before its first
//! `/next` (the cold start), so the benchmark can say what dominates. Run by `cold_start`
//! with a function's environment; prints one JSON object of milliseconds per step. The
//! steps run one after the other here, even those the functions overlap, so that each
//! is timed alone.

use redress_aws::env::{self, ProcessEnv};
use redress_aws::{load_aws_config, secrets, telemetry};
use redress_domain::config::DomainConfig;
use redress_domain::model::TextModel;
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
    let id = env::required(&ProcessEnv, secrets::KEYS_SECRET_ID)?;
    let client = aws_sdk_secretsmanager::Client::new(&aws);
    lap("first_client");
    let (document, _) = secrets::read_document(&client, &id).await?;
    secrets::variables(&document)?;
    // The first request opens the connection; the second is the round trip alone.
    lap("secret_first_request");
    secrets::read_document(&client, &id).await?;
    lap("secret_second_request");
    let _dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    lap("another_client");
    DomainConfig::rules_only_from_env()?;
    lap("domain_rules");
    TextModel::bundled()?;
    lap("classifier_model");
    println!("{}", serde_json::Value::Object(steps));
    Ok(())
}
