//! Logging set-up. JSON in Lambda (CloudWatch parses it), readable text elsewhere.
//! Log ids and outcomes only: never names, phones, identity numbers or complaint text.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `RUST_LOG` filters (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = if in_lambda {
        builder
            .json()
            .with_current_span(false)
            .without_time() // CloudWatch stamps every line
            .try_init()
    } else {
        builder.with_target(false).try_init()
    };
    // A second init (tests, the local runner) keeps the first subscriber.
    let _ = result;
}
