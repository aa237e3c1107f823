//! The smallest `lambda_runtime` function (echoes its event): the baseline of the
//! cold-start benchmark (`cold_start`), built the same way as the real functions.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
